"""The per-channel arithmetic of batch normalization that every compiled backend shares.

After the statistics, batch norm is ``out = x a + b`` per channel; the few values of
``a`` and ``b`` are computed here with NumPy, once, for the numpy, numba and Cython
backends alike (the naive backend spells them out in Python).
"""
import numpy as np


def affine_coefficients(gamma, beta, mean, var, eps, invstd, dtype):
    """Write ``invstd = 1 / sqrt(var + eps)`` (in float64, then stored) and return ``(a, b)`` of ``x a + b``.

    A negative variance (a ``running_var`` the caller set) gives NaN for its channel, and
    ``var + eps == 0`` gives inf, without a RuntimeWarning, as PyTorch.

    Parameters
    ----------
    gamma, beta, mean, var : ndarray of shape (C,)
    eps : float
    invstd : ndarray of shape (C,), written
    dtype : the data's dtype

    Returns
    -------
    a, b : ndarray of shape (C,), of ``dtype``: ``gamma * invstd`` and ``beta - mean * a``
    """
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        invstd[...] = 1.0 / np.sqrt(var.astype(np.float64) + eps)
        a = (gamma * invstd).astype(dtype)
        b = (beta - mean * a).astype(dtype)
    return a, b


def training_gradient_coefficients(total, dot, gamma, invstd, count, dtype):
    """Return ``(k, shift, scale)`` of batch norm's training input gradient
    ``grad_x = (grad_out - shift - (x - mean) k) scale`` per channel, from the float64 per-channel sums
    ``total = sum(grad_out)`` and ``dot = sum(grad_out (x - mean))`` over the ``count`` values of each.

    Parameters
    ----------
    total, dot : ndarray of shape (C,), float64
    gamma, invstd : ndarray of shape (C,)
    count : int
    dtype : the data's dtype

    Returns
    -------
    k, shift, scale : ndarray of shape (C,), of ``dtype``: ``dot invstd^2 / count``, ``total / count`` and
        ``gamma invstd``
    """
    istd = invstd.astype(np.float64)
    k = (dot * istd * istd / count).astype(dtype)
    return k, (total / count).astype(dtype), _input_gradient_scale(gamma, invstd, dtype)


def eval_gradient_coefficients(gamma, invstd, dtype):
    """Return ``(a, b)`` of ``grad_x = grad_out a + b`` for batch norm in evaluation mode.

    In evaluation mode the statistics are constants, so ``grad_x = grad_out * gamma * invstd``.
    ``gamma * invstd`` is rounded once, as the forward's ``a`` is: the result can differ from
    PyTorch's ``(grad_out * invstd) * gamma`` in the last bit, and where ``gamma * invstd`` does
    not fit the dtype it is inf (the forward's ``a`` is inf there too).
    The compiled backends run it through the forward pass's ``x a + b`` loop on ``grad_out``,
    not through the training formula with ``k = 0``: there ``(x - mean) * 0`` is NaN for an
    infinite ``x``, where PyTorch's gradient is finite. ``b = -0.0`` adds nothing, not even
    to the sign of a zero. Parameters as in :func:`training_gradient_coefficients`.

    Returns
    -------
    a, b : ndarray of shape (C,), of ``dtype``: ``gamma * invstd`` and ``-0.0``
    """
    a = _input_gradient_scale(gamma, invstd, dtype)
    return a, np.full(a.shape, -0.0, dtype=dtype)


def _input_gradient_scale(gamma, invstd, dtype):
    """``gamma * invstd`` (in float64, then ``dtype``): the last factor of batch norm's input gradient."""
    with np.errstate(over="ignore"):  # a product beyond float32 is inf, silently, as in affine_coefficients
        return (invstd.astype(np.float64) * gamma).astype(dtype)
