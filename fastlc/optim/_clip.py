"""Gradient clipping over a list of arrays, in place (as ``torch.nn.utils.clip_grad_*_``)."""
import math

import numpy as np

from .._validation import FLOAT_DTYPES, check_bool, check_scalar


def _as_list(grads):
    if isinstance(grads, np.ndarray):
        grads = [grads]
    try:
        grads = list(grads)
    except TypeError:
        raise TypeError(f"grads must be an array or a list of arrays; got {type(grads).__name__}") from None
    for i, g in enumerate(grads):
        if not isinstance(g, np.ndarray):
            raise TypeError(f"grads[{i}] is clipped in place and must be a NumPy array; got {type(g).__name__}")
        if g.dtype not in FLOAT_DTYPES:
            raise TypeError(f"grads[{i}] must have dtype float32 or float64; got dtype {g.dtype}")
        if not g.flags.writeable:
            raise ValueError(f"grads[{i}] is clipped in place and must be writeable; got a read-only array")
    return grads


def clip_grad_value(grads, clip_value):
    """Clamp every gradient element to ``[-clip_value, clip_value]``, in place.

    Parameters
    ----------
    grads : ndarray or iterable of ndarray
        Gradients (float32/float64, writeable, any shape). NaN stays NaN.
    clip_value : float >= 0
    """
    clip_value = check_scalar(clip_value, "clip_value", low=0.0)
    for g in _as_list(grads):
        with np.errstate(over="ignore"):  # a bound beyond float32's range is inf there, as in PyTorch, silently
            bound = g.dtype.type(clip_value)
        np.clip(g, -bound, bound, out=g)


def global_grad_norm(grads, norm_type=2.0):
    """The norm of the concatenated gradients: the ``norm_type``-norm of the per-array norms.

    Each array's norm is taken in its dtype (as PyTorch does), the norm over
    the arrays in float64.

    Returns
    -------
    total_norm : float
    """
    norm_type = _check_norm_type(norm_type)
    with np.errstate(over="ignore"):  # a norm beyond the dtype's range is inf, as in PyTorch, silently
        norms = [float(np.linalg.norm(g.reshape(-1), ord=norm_type)) if g.size else 0.0 for g in _as_list(grads)]
    if not norms:
        return 0.0
    return float(np.linalg.norm(np.array(norms, dtype=np.float64), ord=norm_type))


def _check_norm_type(norm_type):
    norm_type = check_scalar(norm_type, "norm_type", low=0.0, low_inclusive=False, allow_inf=True)
    return math.inf if math.isinf(norm_type) else norm_type


def clip_grad_norm(grads, max_norm, norm_type=2.0, *, error_if_nonfinite=False):
    r"""Rescale the gradients so that their global norm is at most ``max_norm``, in place.

    With the global norm :math:`\|g\|` (see :func:`global_grad_norm`), every
    gradient is multiplied by :math:`c = \min(1, \text{max_norm} / (\|g\| + 10^{-6}))`
    (as ``torch.nn.utils.clip_grad_norm_``). A non-finite norm makes ``c`` NaN or 0
    and so propagates into the gradients, unless ``error_if_nonfinite`` raises first.

    Parameters
    ----------
    grads : ndarray or iterable of ndarray
        Gradients (float32/float64, writeable, any shape).
    max_norm : float >= 0
    norm_type : float > 0 or inf, default=2.0
    error_if_nonfinite : bool, default=False
        Raise ValueError (and modify nothing) when the norm is NaN or infinite.

    Returns
    -------
    total_norm : float
        The global norm before clipping.
    """
    max_norm = check_scalar(max_norm, "max_norm", low=0.0)
    error_if_nonfinite = check_bool(error_if_nonfinite, "error_if_nonfinite")
    grads = _as_list(grads)
    total = global_grad_norm(grads, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise ValueError(f"the global {norm_type}-norm of the gradients is {total}; not clipping (error_if_nonfinite)")
    coef = max_norm / (total + 1e-6) if math.isfinite(total) else (0.0 if math.isinf(total) else math.nan)
    if not coef >= 1.0:  # also true for NaN, which then reaches the gradients
        with np.errstate(invalid="ignore"):  # inf * 0 -> NaN is the documented outcome
            for g in grads:
                g *= g.dtype.type(coef)
    return total
