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
