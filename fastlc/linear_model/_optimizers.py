"""Optimizer state and per-epoch learning-rate schedules for the estimators.

The estimators keep all trainable numbers in one flat array ``params``
(``coef_`` then ``intercept_``) and its gradient in a flat array of the same
shape, so one fused optimizer kernel call per mini-batch updates everything.
The L2 part of the penalty is the step kernels' ``weight_decay`` on the weights
(the head of ``params``; it must skip the intercepts), the L1 part is added to
the gradient by the training loop.
"""
import functools

import numpy as np

from .._config import elementwise_n_threads
from .._dispatch import get_kernel, resolve_backend
from .._validation import check_fits
from ..optim import SCHEDULES, make_schedule

#: The optimizer names an estimator accepts.
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")

#: The learning-rate schedules an estimator accepts.
LR_SCHEDULES = SCHEDULES


def scheduled_learning_rate(learning_rate, schedule, epoch, *, lr_decay, lr_step_size, power_t):
    """Learning rate used during ``epoch`` (0 for the first epoch ever trained).

    The formulas are those of :mod:`fastlc.optim`'s schedules, counted in epochs:
    ``"constant"``: ``learning_rate``; ``"step"``: multiplied by ``lr_decay``
    every ``lr_step_size`` epochs; ``"exponential"``: multiplied by ``lr_decay``
    every epoch; ``"invscaling"``: ``learning_rate / (epoch + 1) ** power_t``.

    Parameters
    ----------
    learning_rate : float
        The initial learning rate.
    schedule : {"constant", "step", "exponential", "invscaling"}
    epoch : int
        Epochs already trained before this one.

    Returns
    -------
    lr : float
    """
    return epoch_schedule(learning_rate, schedule, lr_decay=lr_decay, lr_step_size=lr_step_size,
                          power_t=power_t)(epoch)


def epoch_schedule(learning_rate, schedule, *, lr_decay, lr_step_size, power_t):
    """The schedule of :func:`scheduled_learning_rate` as a callable ``epoch -> lr``, built (and its
    arguments checked) once: a fit calls it every epoch (building it took 15 us)."""
    return make_schedule(schedule, learning_rate, gamma=lr_decay, step_size=lr_step_size, power_t=power_t)


class OptimizerState:
    """The running statistics of one optimizer for one flat parameter array.

    Picklable (it holds only arrays and numbers), so a fitted estimator resumes
    ``partial_fit`` / ``warm_start`` with its moments after a pickle round-trip.

    Parameters
    ----------
    name : str
        One of :data:`OPTIMIZERS`.
    size : int
        Number of trainable values.
    dtype : numpy dtype
        float32 or float64, the dtype of the parameters.
    momentum, beta_1, beta_2, epsilon : float
        Hyper-parameters, see the estimators' docstrings.
    """

    def __init__(self, name, size, dtype, *, momentum, beta_1, beta_2, epsilon):
        self.name = name
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        #: Steps taken so far (Adam's bias correction and Adagrad need t >= 1).
        self.t = 0
        zeros = lambda: np.zeros(size, dtype=dtype)  # noqa: E731
        self.buffers = {}
        if name in ("momentum", "nesterov"):
            self.buffers["momentum_buffer"] = zeros()
        elif name == "adagrad":
            self.buffers["sum_sq"] = zeros()
        elif name == "rmsprop":
            self.buffers["square_avg"] = zeros()
        elif name in ("adam", "adamw"):
            self.buffers["exp_avg"] = zeros()
            self.buffers["exp_avg_sq"] = zeros()

    def astype(self, dtype):
        """Convert the buffers (used when a warm start changes the data's dtype)."""
        for key, value in self.buffers.items():
            self.buffers[key] = value.astype(dtype)
        return self

    def step_backend(self, backend):
        """The backend whose step kernel :meth:`stepper` uses for ``backend``."""
        name = self._kernel_name()
        try:
            chosen = resolve_backend(backend, name)
            get_kernel(name, chosen)
        except ImportError:
            # this backend has no such optimizer kernel (yet): the automatic choice
            chosen = resolve_backend("auto", name)
        return chosen

    def _kernel_name(self):
        return "sgd_step" if self.name in ("sgd", "momentum", "nesterov") else f"{self.name.rstrip('w')}_step"

    def stepper(self, params, backend, n_threads, *, n_decayed=0, weight_decay=0.0, defer=None):
        """Return ``step(grad, lr)`` that updates ``params`` in place.

        The first ``n_decayed`` values (the weights; the intercepts follow them)
        get the L2 penalty ``weight_decay`` inside the step kernel, PyTorch's
        ``weight_decay`` (``grad + weight_decay * param``), or for ``"adamw"`` the
        decoupled decay ``param * (1 - lr * weight_decay)``: one pass over memory
        instead of a separate penalty pass. The rest get none.

        The estimators' arrays are known good (flat, C-contiguous, one dtype,
        no overlap), so the closure calls the private kernel directly (layer 3
        may call layer 1) instead of the public ``fastlc.kernels.*_step``,
        whose checks would cost more than the update of a small model. The
        scalar arguments are prepared exactly as the public functions do
        (step-dependent factors in float64, then cast); a test compares both.
        Everything that does not change between steps is prepared here once:
        the closure is built once per fit call, for that call's ``params``,
        and is not pickled.

        ``defer``: a ``DeferredSteps`` of the Cython backend (which must be
        :meth:`step_backend`), to which ``step`` adds the step instead of
        running it, for the Cython epoch loop to apply (see ``BatchRunner``).
        """
        kernel = get_kernel(self._kernel_name(), self.step_backend(backend))
        if defer is not None:
            kernel = functools.partial(kernel, defer=defer)
        state = self
        cast = params.dtype.type
        size = params.shape[0]
        n_decayed = n_decayed if weight_decay > 0 else 0
        # (lo, hi, weight decay, threads) of each non-empty part of params
        segments = [(lo, hi, decay, elementwise_n_threads(hi - lo, n_threads))
                    for lo, hi, decay in ((0, n_decayed, weight_decay), (n_decayed, size, 0.0)) if hi > lo]
        empty = np.empty(0, dtype=params.dtype)
        zero, one, eps = cast(0.0), cast(1.0), cast(check_fits(float(self.epsilon), "epsilon", params.dtype))
        decoupled = self.name == "adamw"

        def parts(*buffers):
            """Per segment: (lo, hi, coupled decay, threads, params part, buffer parts...)."""
            return [(lo, hi, cast(0.0 if decoupled else decay), decay, threads, params[lo:hi],
                     *(b[lo:hi] if b.shape[0] else b for b in buffers)) for lo, hi, decay, threads in segments]

        if self.name in ("sgd", "momentum", "nesterov"):
            momentum = 0.0 if self.name == "sgd" else self.momentum
            nesterov = self.name == "nesterov" and momentum > 0
            momentum = cast(momentum)
            pieces = parts(self.buffers.get("momentum_buffer", empty))

            def step(grad, lr):
                state.t += 1
                for lo, hi, decay, _, threads, param, buffer in pieces:
                    kernel(grad[lo:hi], cast(lr), momentum, one, decay, nesterov, False, False, param, buffer,
                           threads)
        elif self.name == "adagrad":
            pieces = parts(self.buffers["sum_sq"])

            def step(grad, lr):
                state.t += 1
                for lo, hi, decay, _, threads, param, sum_sq in pieces:
                    kernel(grad[lo:hi], cast(lr), zero, eps, decay, False, param, sum_sq, threads)
        elif self.name == "rmsprop":
            beta_2, one_minus_beta_2 = cast(self.beta_2), cast(1 - self.beta_2)
            pieces = parts(self.buffers["square_avg"])

            def step(grad, lr):
                state.t += 1
                for lo, hi, decay, _, threads, param, square_avg in pieces:
                    kernel(grad[lo:hi], cast(lr), beta_2, one_minus_beta_2, zero, eps, decay, zero, False, False,
                           param, square_avg, empty, empty, threads)
        else:
            beta_1, beta_2 = self.beta_1, self.beta_2
            betas = (cast(beta_1), cast(1 - beta_1), cast(beta_2), cast(1 - beta_2))
            pieces = parts(self.buffers["exp_avg"], self.buffers["exp_avg_sq"])

            def time_scalars(t, lr):
                """Adam's two scalars that change with the step count t."""
                return cast(lr / (1 - beta_1**t)), cast(1 / (1 - beta_2**t) ** 0.5)

            def step(grad, lr):
                state.t += 1
                lr_t, bias_2 = time_scalars(state.t, lr)
                for lo, hi, decay, raw_decay, threads, param, exp_avg, exp_avg_sq in pieces:
                    factor = cast(1 - lr * raw_decay) if decoupled else one
                    kernel(grad[lo:hi], lr_t, bias_2, *betas, eps, decay, factor, False, False, param, exp_avg,
                           exp_avg_sq, empty, threads)

            if defer is not None:

                def repeat_adam(lr, n_steps):
                    first = state.t + 1
                    state.t += n_steps
                    scalars = np.array([time_scalars(t, lr) for t in range(first, first + n_steps)],
                                       dtype=np.float64)  # float32 scalars are exact in float64
                    defer.repeat_adam_each(len(pieces), scalars[:, 0].copy(), scalars[:, 1].copy())

                return self._recording_step(step, defer, repeat_adam)
        if defer is not None:

            def repeat(lr, n_steps):
                state.t += n_steps
                defer.repeat(len(pieces), n_steps)

            return self._recording_step(step, defer, repeat)
        return step

    @staticmethod
    def _recording_step(step, defer, repeat):
        """``step(grad, lr, n_steps=1)`` that adds ``n_steps`` steps to ``defer``: the first in full if
        ``defer`` is empty (after ``defer.clear()``), the rest as copies of the last one with Adam's
        step-count scalars renewed (``repeat(lr, n)``, one call for all of them).

        Between two ``clear()`` the caller (the epoch loop of ``BatchRunner``) passes the same ``grad`` and
        ``lr``: the steps of one epoch's batches differ only in the step count.
        """

        def record(grad, lr, n_steps=1):
            if defer.n_steps == 0:
                step(grad, lr)
                n_steps -= 1
            if n_steps > 0:
                repeat(lr, n_steps)

        return record
