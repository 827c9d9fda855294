r"""Public fused optimizer steps: validate once, then update the arrays in place.

Each function performs one step of the matching ``torch.optim`` optimizer
(single-tensor path) on NumPy arrays of any shape, treated as flat. The
compiled backends make one pass over memory: every element of the parameter
and of the optimizer state is read once and written once, the gradient read once.

Precision follows PyTorch: hyper-parameters are cast to the arrays' dtype, but
step-dependent scalar factors (Adam's bias corrections and step size,
Adagrad's decayed rate, AdamW's ``1 - lr * weight_decay``, ``1 - beta``) are
computed in float64 (Python floats, as PyTorch does) and cast once. Each must
hold in that dtype (a float32 kernel sees 1e300 as inf and 1e-50 as 0: Adam's
``eps=1e-50`` made every parameter NaN), except that a learning rate, or a factor
that scales the step, is only refused when it overflows (see _check_no_overflow).

Nothing is converted for arrays that are written: they must be writeable,
C-contiguous ndarrays of the parameter's dtype and shape (otherwise the kernel
would update a copy and the caller's array would silently stay unchanged).
Every check runs before any array is touched, so a rejected call modifies nothing.
"""
import math

import numpy as np

from .._config import elementwise_n_threads
from .._dispatch import get_kernel, resolve_backend
from .._validation import (
    check_bool,
    check_fits,
    check_float_array,
    check_inplace_array,
    check_n_threads,
    check_no_overlap,
    check_scalar,
    check_step,
)


def _prepare(param, grad, required, optional, n_threads):
    """Check the arrays; return flat views, a zero-length stand-in for absent buffers, and the thread count.

    ``required`` and ``optional`` map argument names to state arrays; an
    optional one is None when this call does not use it.
    """
    for name, buf in required.items():
        if buf is None:
            raise TypeError(f"{name} is required: pass an array of param's shape and dtype (zeros at first)")
    buffers = {**required, **optional}
    param = check_inplace_array(param, "param")
    grad = check_float_array(grad, "grad", dtype=param.dtype)
    if grad.shape != param.shape:
        raise ValueError(f"grad must have shape {param.shape} like param; got {grad.shape}")
    present = {name: check_inplace_array(buf, name, like=param) for name, buf in buffers.items() if buf is not None}
    check_no_overlap({"param": param, "grad": grad, **present})
    n_threads = elementwise_n_threads(param.size, check_n_threads(n_threads))
    absent = np.empty(0, dtype=param.dtype)
    # reshape(-1) of a C-contiguous array is a view: the kernels write the caller's memory.
    flat = {name: present[name].reshape(-1) if name in present else absent for name in buffers}
    return param.reshape(-1), grad.reshape(-1), flat, n_threads


def _check_fit(dtype, **hyperparameters):
    """Check that each hyper-parameter the kernel receives holds in the arrays' dtype (see check_fits)."""
    for name, value in hyperparameters.items():
        check_fits(value, name, dtype)


def _check_no_overflow(value, dtype, name, arguments=None):
    """Refuse a learning rate, or a factor computed in float64 from the hyper-parameters (``arguments``,
    e.g. ``"lr=0.1, beta1=0.9"``), that would be inf in the arrays' dtype.

    Unlike :func:`_check_fit`, a value below the dtype's normal range passes: a decaying schedule
    (``ExponentialDecayLR``) takes the learning rate there within a float32 run, and a factor that
    scales the step that much makes a step below the parameters' resolution anyway, as in PyTorch.
    """
    if abs(value) < 1:  # cannot overflow; check_fits would refuse it as subnormal
        return
    if math.isinf(value):  # the arguments are finite, a factor computed from them need not be
        raise ValueError(f"{arguments}: {name} overflows float64 (it is {value!r})")
    try:
        check_fits(value, name, dtype)
    except ValueError as exc:
        if arguments is None:
            raise
        raise ValueError(f"{arguments}: {exc}") from None


def _check_beta(value, name):
    return check_scalar(value, name, low=0.0, high=1.0, high_inclusive=False)


def _check_eps(value):
    return check_scalar(value, "eps", low=0.0, low_inclusive=False)


def _eps_split(eps, eps_inside_sqrt, dtype):
    """(eps_inside, eps_outside): the kernels compute ``sqrt(s + eps_inside) + eps_outside``."""
    zero, eps = dtype.type(0), dtype.type(eps)
    return (eps, zero) if eps_inside_sqrt else (zero, eps)


def adam_step(param, grad, exp_avg, exp_avg_sq, *, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
              weight_decay=0.0, decoupled_weight_decay=False, amsgrad=False, max_exp_avg_sq=None,
              maximize=False, backend="auto", n_threads=None):
    r"""One Adam / AdamW / AMSGrad step, in place (``torch.optim.Adam`` / ``AdamW``).

    With :math:`g = \pm\nabla` (minus when ``maximize``) and step :math:`t \ge 1`:

    .. math::

        g &\leftarrow g + \lambda\theta \quad\text{(L2 weight decay, when not decoupled)}\\
        \theta &\leftarrow \theta (1 - \eta\lambda) \quad\text{(decoupled weight decay, AdamW)}\\
        m &\leftarrow \beta_1 m + (1-\beta_1) g \quad\text{(as } m + (1-\beta_1)(g - m)\text{, PyTorch's lerp)}\\
        v &\leftarrow \beta_2 v + (1-\beta_2) g^2\\
        \hat v_{\max} &\leftarrow \max(\hat v_{\max}, v),\ v \leftarrow \hat v_{\max} \quad\text{(AMSGrad)}\\
        \theta &\leftarrow \theta - \frac{\eta}{1-\beta_1^t}\,
                 \frac{m}{\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon}

    eps is added after the square root. The step size :math:`\eta/(1-\beta_1^t)`
    and :math:`1/\sqrt{1-\beta_2^t}` are computed in float64, then cast to the
    arrays' dtype (PyTorch computes its factors as Python floats too). One
    difference in the order of operations: PyTorch divides :math:`\sqrt{v}` by
    :math:`\sqrt{1-\beta_2^t}`, we multiply by the reciprocal (one division
    fewer per element, which the SSE2 baseline build feels); the denominator
    differs by at most about one unit in the last place.

    Parameters
    ----------
    param : ndarray of any shape, float32 or float64
        Parameters, updated in place (writeable, C-contiguous).
    grad : array_like of the same shape and dtype
        Gradient of the loss with respect to ``param``; not modified.
    exp_avg, exp_avg_sq : ndarray of the same shape and dtype
        First and second moment estimates m and v, updated in place (zeros before step 1).
    step : int
        Number of this step, from 1 to 2**63 - 1 (it sets the bias corrections).
    lr : float, default=1e-3
        Learning rate eta >= 0.
    beta1, beta2 : float in [0, 1), default=0.9, 0.999
    eps : float > 0, default=1e-8
    weight_decay : float >= 0, default=0.0
        lambda: an L2 term added to the gradient (Adam), or with
        ``decoupled_weight_decay=True`` the decay theta <- theta (1 - lr lambda) (AdamW).
    decoupled_weight_decay : bool, default=False
    amsgrad : bool, default=False
        Use the running maximum of v (``max_exp_avg_sq``, required then).
    max_exp_avg_sq : ndarray of the same shape and dtype, optional
        AMSGrad's running maximum, updated in place (zeros before step 1).
    maximize : bool, default=False
        Ascend instead of descend (uses -grad).
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional
        Threads of the compiled backends; None: as many as the process is allowed.
    """
    step = check_step(step)
    lr = check_scalar(lr, "lr", low=0.0)
    beta1 = _check_beta(beta1, "beta1")
    beta2 = _check_beta(beta2, "beta2")
    eps = _check_eps(eps)
    weight_decay = check_scalar(weight_decay, "weight_decay", low=0.0)
    decoupled = check_bool(decoupled_weight_decay, "decoupled_weight_decay")
    amsgrad = check_bool(amsgrad, "amsgrad")
    maximize = check_bool(maximize, "maximize")
    if amsgrad and max_exp_avg_sq is None:
        raise ValueError("amsgrad=True needs max_exp_avg_sq, the running maximum of exp_avg_sq (zeros at first)")
    kernel = get_kernel("adam_step", resolve_backend(backend, "adam_step"))
    flat_param, flat_grad, buffers, n_threads = _prepare(
        param, grad,
        {"exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}, {"max_exp_avg_sq": max_exp_avg_sq if amsgrad else None},
        n_threads,
    )
    dtype = flat_param.dtype
    _check_no_overflow(lr, dtype, "lr")
    _check_fit(dtype, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay)
    step_size = lr / (1 - beta1 ** step)
    _check_no_overflow(step_size, dtype, "lr / (1 - beta1 ** step)", f"lr={lr!r}, beta1={beta1!r}, step={step}")
    decay_factor = 1 - lr * weight_decay if decoupled else 1.0
    _check_no_overflow(decay_factor, dtype, "1 - lr * weight_decay", f"lr={lr!r}, weight_decay={weight_decay!r}")
    cast = dtype.type
    kernel(
        flat_grad,
        cast(step_size),
        cast(1 / (1 - beta2 ** step) ** 0.5),
        cast(beta1), cast(1 - beta1), cast(beta2), cast(1 - beta2), cast(eps),
        cast(0.0 if decoupled else weight_decay),
        cast(decay_factor),
        amsgrad, maximize,
        flat_param, buffers["exp_avg"], buffers["exp_avg_sq"], buffers["max_exp_avg_sq"],
        n_threads,
    )


def rmsprop_step(param, grad, square_avg, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 momentum_buffer=None, centered=False, grad_avg=None, maximize=False, eps_inside_sqrt=False,
                 backend="auto", n_threads=None):
    r"""One RMSprop step, in place (``torch.optim.RMSprop``).

    With :math:`g = \pm\nabla` (minus when ``maximize``):

    .. math::

        g &\leftarrow g + \lambda\theta \quad\text{(weight decay)}\\
        s &\leftarrow \alpha s + (1-\alpha) g^2\\
        a &\leftarrow \alpha a + (1-\alpha) g,\quad \tilde s = s - a^2 \quad\text{(centered; else } \tilde s = s)\\
        d &= \sqrt{\tilde s} + \epsilon \quad\text{(or } \sqrt{\tilde s + \epsilon}\text{ with eps_inside_sqrt)}\\
        b &\leftarrow \mu b + g / d,\quad \theta \leftarrow \theta - \eta b \quad\text{(momentum } \mu > 0)\\
        \theta &\leftarrow \theta - \eta\, g / d \quad\text{(no momentum)}

    Parameters
    ----------
    param : ndarray of any shape, float32 or float64
        Parameters, updated in place (writeable, C-contiguous).
    grad : array_like of the same shape and dtype
        Gradient; not modified.
    square_avg : ndarray of the same shape and dtype
        Running average s of g^2, updated in place (zeros before the first step).
    lr : float >= 0, default=1e-2
    alpha : float in [0, 1], default=0.99
        Smoothing constant.
    eps : float > 0, default=1e-8
    weight_decay : float >= 0, default=0.0
    momentum : float >= 0, default=0.0
        mu; when > 0, ``momentum_buffer`` is required.
    momentum_buffer : ndarray of the same shape and dtype, optional
        b, updated in place (zeros before the first step).
    centered : bool, default=False
        Normalise by the estimated variance; ``grad_avg`` is required then.
    grad_avg : ndarray of the same shape and dtype, optional
        Running average a of g, updated in place (zeros before the first step).
    maximize : bool, default=False
    eps_inside_sqrt : bool, default=False
        Use ``sqrt(s + eps)`` as Keras/TensorFlow and the d2l tutorials do,
        instead of PyTorch's ``sqrt(s) + eps``.
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional
    """
    lr = check_scalar(lr, "lr", low=0.0)
    alpha = check_scalar(alpha, "alpha", low=0.0, high=1.0)
    eps = _check_eps(eps)
    weight_decay = check_scalar(weight_decay, "weight_decay", low=0.0)
    momentum = check_scalar(momentum, "momentum", low=0.0)
    centered = check_bool(centered, "centered")
    maximize = check_bool(maximize, "maximize")
    eps_inside_sqrt = check_bool(eps_inside_sqrt, "eps_inside_sqrt")
    if momentum > 0 and momentum_buffer is None:
        raise ValueError(f"momentum={momentum!r} needs momentum_buffer (zeros at first)")
    if centered and grad_avg is None:
        raise ValueError("centered=True needs grad_avg, the running average of the gradient (zeros at first)")
    kernel = get_kernel("rmsprop_step", resolve_backend(backend, "rmsprop_step"))
    flat_param, flat_grad, buffers, n_threads = _prepare(
        param, grad,
        {"square_avg": square_avg},
        {"momentum_buffer": momentum_buffer if momentum > 0 else None, "grad_avg": grad_avg if centered else None},
        n_threads,
    )
    _check_no_overflow(lr, flat_param.dtype, "lr")
    _check_fit(flat_param.dtype, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum)
    cast = flat_param.dtype.type
    eps_inside, eps_outside = _eps_split(eps, eps_inside_sqrt, flat_param.dtype)
    kernel(
        flat_grad, cast(lr), cast(alpha), cast(1 - alpha), eps_inside, eps_outside, cast(weight_decay),
        cast(momentum), centered, maximize,
        flat_param, buffers["square_avg"], buffers["momentum_buffer"], buffers["grad_avg"],
        n_threads,
    )


def sgd_step(param, grad, *, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0,
             momentum_buffer=None, first_step=False, maximize=False, backend="auto", n_threads=None):
    r"""One SGD step with optional (Nesterov) momentum, in place (``torch.optim.SGD``).

    With :math:`g = \pm\nabla` (minus when ``maximize``):

    .. math::

        g &\leftarrow g + \lambda\theta \quad\text{(weight decay)}\\
        b &\leftarrow g \ \text{(first step)},\quad
        b \leftarrow \mu b + (1 - \tau) g \ \text{(later steps)} \quad\text{(momentum } \mu \ne 0)\\
        g &\leftarrow g + \mu b \ \text{(Nesterov)},\quad g \leftarrow b \ \text{(otherwise)}\\
        \theta &\leftarrow \theta - \eta g

    PyTorch starts the buffer as a copy of the first gradient (no dampening);
    pass ``first_step=True`` on that step. With ``dampening=0`` a zero buffer
    and ``first_step=False`` give the same result (the tutorials' v <- beta v + g).

    Parameters
    ----------
    param : ndarray of any shape, float32 or float64
        Parameters, updated in place (writeable, C-contiguous).
    grad : array_like of the same shape and dtype
        Gradient; not modified.
    lr : float >= 0
    momentum : float >= 0, default=0.0
        mu; when nonzero, ``momentum_buffer`` is required.
    dampening : float in [0, 1], default=0.0
        tau.
    nesterov : bool, default=False
        Needs momentum > 0 and dampening = 0 (as PyTorch).
    weight_decay : float >= 0, default=0.0
    momentum_buffer : ndarray of the same shape and dtype, optional
        b, updated in place.
    first_step : bool, default=False
        The buffer holds no history yet: set it to g (its content is ignored).
    maximize : bool, default=False
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional
    """
    lr = check_scalar(lr, "lr", low=0.0)
    momentum = check_scalar(momentum, "momentum", low=0.0)
    dampening = check_scalar(dampening, "dampening", low=0.0, high=1.0)
    weight_decay = check_scalar(weight_decay, "weight_decay", low=0.0)
    nesterov = check_bool(nesterov, "nesterov")
    first_step = check_bool(first_step, "first_step")
    maximize = check_bool(maximize, "maximize")
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError(
            f"nesterov=True needs momentum > 0 and dampening = 0; got momentum={momentum!r}, dampening={dampening!r}"
        )
    if momentum != 0 and momentum_buffer is None:
        raise ValueError(f"momentum={momentum!r} needs momentum_buffer")
    kernel = get_kernel("sgd_step", resolve_backend(backend, "sgd_step"))
    flat_param, flat_grad, buffers, n_threads = _prepare(
        param, grad, {}, {"momentum_buffer": momentum_buffer if momentum != 0 else None}, n_threads
    )
    # 1 - dampening, in [0, 1], holds in any float dtype
    _check_no_overflow(lr, flat_param.dtype, "lr")
    _check_fit(flat_param.dtype, momentum=momentum, weight_decay=weight_decay)
    cast = flat_param.dtype.type
    kernel(
        flat_grad, cast(lr), cast(momentum), cast(1 - dampening), cast(weight_decay),
        nesterov, first_step, maximize,
        flat_param, buffers["momentum_buffer"],
        n_threads,
    )


def adagrad_step(param, grad, sum_sq, *, step, lr=1e-2, lr_decay=0.0, eps=1e-10, weight_decay=0.0,
                 maximize=False, eps_inside_sqrt=False, backend="auto", n_threads=None):
    r"""One Adagrad step, in place (``torch.optim.Adagrad``).

    With :math:`g = \pm\nabla` (minus when ``maximize``) and step :math:`t \ge 1`:

    .. math::

        g &\leftarrow g + \lambda\theta \quad\text{(weight decay)}\\
        \tilde\eta &= \eta / (1 + (t - 1)\,\delta) \quad\text{(lr_decay } \delta\text{, in float64)}\\
        s &\leftarrow s + g^2\\
        \theta &\leftarrow \theta - \tilde\eta\, g / (\sqrt{s} + \epsilon)
                 \quad\text{(or } \sqrt{s + \epsilon}\text{ with eps_inside_sqrt)}

    Parameters
    ----------
    param : ndarray of any shape, float32 or float64
        Parameters, updated in place (writeable, C-contiguous).
    grad : array_like of the same shape and dtype
        Gradient; not modified.
    sum_sq : ndarray of the same shape and dtype
        Sum s of squared gradients, updated in place. PyTorch starts it at
        ``initial_accumulator_value`` (0 by default).
    step : int
        Number of this step, from 1 to 2**63 - 1 (it sets the decayed rate).
    lr : float >= 0, default=1e-2
    lr_decay : float >= 0, default=0.0
    eps : float > 0, default=1e-10
    weight_decay : float >= 0, default=0.0
    maximize : bool, default=False
    eps_inside_sqrt : bool, default=False
        Use ``sqrt(s + eps)`` as Keras/TensorFlow and the d2l tutorials do,
        instead of PyTorch's ``sqrt(s) + eps``.
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional
    """
    step = check_step(step)
    lr = check_scalar(lr, "lr", low=0.0)
    lr_decay = check_scalar(lr_decay, "lr_decay", low=0.0)
    eps = _check_eps(eps)
    weight_decay = check_scalar(weight_decay, "weight_decay", low=0.0)
    maximize = check_bool(maximize, "maximize")
    eps_inside_sqrt = check_bool(eps_inside_sqrt, "eps_inside_sqrt")
    kernel = get_kernel("adagrad_step", resolve_backend(backend, "adagrad_step"))
    flat_param, flat_grad, buffers, n_threads = _prepare(param, grad, {"sum_sq": sum_sq}, {}, n_threads)
    # the decayed rate is at most lr; lr_decay itself stays in float64
    _check_no_overflow(lr, flat_param.dtype, "lr")
    _check_fit(flat_param.dtype, eps=eps, weight_decay=weight_decay)
    cast = flat_param.dtype.type
    eps_inside, eps_outside = _eps_split(eps, eps_inside_sqrt, flat_param.dtype)
    kernel(
        flat_grad, cast(lr / (1 + (step - 1) * lr_decay)), eps_inside, eps_outside, cast(weight_decay),
        maximize, flat_param, buffers["sum_sq"],
        n_threads,
    )
