"""Optimizer state and per-epoch learning-rate schedules for the estimators.

The estimators keep all trainable numbers in one flat array ``params``
(``coef_`` then ``intercept_``) and its gradient in a flat array of the same
shape, so one fused optimizer kernel call per mini-batch updates everything.
The penalty is added to the gradient by the training loop (it must skip the
intercept), so the step kernels run with ``weight_decay=0`` here.
"""
import numpy as np

from .. import kernels

if not hasattr(kernels, "adam_step"):  # TEMPORARY until branch optim is merged
    from . import _step_fallback as kernels  # noqa: F811

#: The optimizer names an estimator accepts.
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")

#: The learning-rate schedules an estimator accepts.
LR_SCHEDULES = ("constant", "step", "exponential", "invscaling")


def scheduled_learning_rate(learning_rate, schedule, epoch, *, lr_decay, lr_step_size, power_t):
    """Learning rate used during ``epoch`` (0 for the first epoch ever trained).

    Parameters
    ----------
    learning_rate : float
        The initial learning rate.
    schedule : {"constant", "step", "exponential", "invscaling"}
        ``"constant"``: ``learning_rate``; ``"step"``: multiplied by ``lr_decay``
        every ``lr_step_size`` epochs; ``"exponential"``: multiplied by
        ``lr_decay`` every epoch; ``"invscaling"``: ``learning_rate / (epoch + 1) ** power_t``.
    epoch : int
        Epochs already trained before this one.

    Returns
    -------
    lr : float
    """
    if schedule == "constant":
        return learning_rate
    if schedule == "step":
        return learning_rate * lr_decay ** (epoch // lr_step_size)
    if schedule == "exponential":
        return learning_rate * lr_decay**epoch
    return learning_rate / (epoch + 1) ** power_t


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

    def stepper(self, backend, n_threads):
        """Return ``step(params, grad, lr)`` that updates ``params`` in place.

        The returned closure is built once per fit call (it is not pickled).
        """
        name = self.name
        buffers = self.buffers
        if name in ("sgd", "momentum", "nesterov"):
            momentum = 0.0 if name == "sgd" else self.momentum
            buffer = buffers.get("momentum_buffer")
            nesterov = name == "nesterov"

            def step(params, grad, lr):
                self.t += 1
                kernels.sgd_step(params, grad, lr=lr, momentum=momentum, nesterov=nesterov,
                                 momentum_buffer=buffer, backend=backend, n_threads=n_threads)
        elif name == "adagrad":
            sum_sq = buffers["sum_sq"]
            eps = self.epsilon

            def step(params, grad, lr):
                self.t += 1
                kernels.adagrad_step(params, grad, sum_sq, step=self.t, lr=lr, eps=eps,
                                     backend=backend, n_threads=n_threads)
        elif name == "rmsprop":
            square_avg = buffers["square_avg"]
            beta_2, eps = self.beta_2, self.epsilon

            def step(params, grad, lr):
                self.t += 1
                kernels.rmsprop_step(params, grad, square_avg, lr=lr, alpha=beta_2, eps=eps,
                                     backend=backend, n_threads=n_threads)
        else:
            exp_avg, exp_avg_sq = buffers["exp_avg"], buffers["exp_avg_sq"]
            beta_1, beta_2, eps = self.beta_1, self.beta_2, self.epsilon

            def step(params, grad, lr):
                self.t += 1
                kernels.adam_step(params, grad, exp_avg, exp_avg_sq, step=self.t, lr=lr, beta1=beta_1,
                                  beta2=beta_2, eps=eps, backend=backend, n_threads=n_threads)
        return step


def decoupled_decay_factor(optimizer, lr, alpha_l2):
    """Factor ``1 - lr * alpha_l2`` AdamW multiplies the weights by before a step, or None."""
    if optimizer != "adamw" or alpha_l2 == 0:
        return None
    return 1.0 - lr * alpha_l2


