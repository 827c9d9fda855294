"""Optimizer state and per-epoch learning-rate schedules for the estimators.

The estimators keep all trainable numbers in one flat array ``params``
(``coef_`` then ``intercept_``) and its gradient in a flat array of the same
shape, so one fused optimizer kernel call per mini-batch updates everything.
The penalty is added to the gradient by the training loop (it must skip the
intercept), so the step kernels run with ``weight_decay=0`` here.
"""
import numpy as np

from .._config import elementwise_n_threads
from .._dispatch import get_kernel, resolve_backend
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
    return make_schedule(schedule, learning_rate, gamma=lr_decay, step_size=lr_step_size, power_t=power_t)(epoch)


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

    def stepper(self, params, backend, n_threads):
        """Return ``step(grad, lr)`` that updates ``params`` in place.

        The estimators' arrays are known good (flat, C-contiguous, one dtype,
        no overlap), so the closure calls the private kernel directly (layer 3
        may call layer 1) instead of the public ``fastlc.kernels.*_step``,
        whose checks would cost more than the update of a small model. The
        scalar arguments are prepared exactly as the public functions do
        (step-dependent factors in float64, then cast); a test compares both.
        Everything that does not change between steps is prepared here once:
        the closure is built once per fit call, for that call's ``params``,
        and is not pickled.
        """
        name = "sgd_step" if self.name in ("sgd", "momentum", "nesterov") else f"{self.name.rstrip('w')}_step"
        try:
            kernel = get_kernel(name, resolve_backend(backend, name))
        except ImportError:
            # this backend has no such optimizer kernel (yet): use the automatic choice
            kernel = get_kernel(name, resolve_backend("auto", name))
        buffers = self.buffers
        state = self
        cast = params.dtype.type
        threads = elementwise_n_threads(params.shape[0], n_threads)
        empty = np.empty(0, dtype=params.dtype)
        zero, one, eps = cast(0.0), cast(1.0), cast(self.epsilon)

        if self.name in ("sgd", "momentum", "nesterov"):
            momentum = 0.0 if self.name == "sgd" else self.momentum
            nesterov = self.name == "nesterov" and momentum > 0
            buffer = buffers.get("momentum_buffer", empty)
            momentum = cast(momentum)

            def step(grad, lr):
                state.t += 1
                kernel(grad, cast(lr), momentum, one, zero, nesterov, False, False, params, buffer, threads)
        elif self.name == "adagrad":
            sum_sq = buffers["sum_sq"]

            def step(grad, lr):
                state.t += 1
                kernel(grad, cast(lr), zero, eps, zero, False, params, sum_sq, threads)
        elif self.name == "rmsprop":
            square_avg = buffers["square_avg"]
            beta_2, one_minus_beta_2 = cast(self.beta_2), cast(1 - self.beta_2)

            def step(grad, lr):
                state.t += 1
                kernel(grad, cast(lr), beta_2, one_minus_beta_2, zero, eps, zero, zero, False, False, params,
                       square_avg, empty, empty, threads)
        else:
            exp_avg, exp_avg_sq = buffers["exp_avg"], buffers["exp_avg_sq"]
            beta_1, beta_2 = self.beta_1, self.beta_2
            betas = (cast(beta_1), cast(1 - beta_1), cast(beta_2), cast(1 - beta_2))

            def step(grad, lr):
                state.t += 1
                t = state.t
                kernel(grad, cast(lr / (1 - beta_1**t)), cast(1 / (1 - beta_2**t) ** 0.5), *betas, eps, zero, one,
                       False, False, params, exp_avg, exp_avg_sq, empty, threads)
        return step
