"""Arrays that start on a cache line.

NumPy aligns its arrays to the item size only (large ones start 16 bytes past
a 64-byte boundary), while a vector load that straddles two cache lines costs
about twice as much. Arrays the library owns and hands to its compiled kernels
again and again (an estimator's weights and their gradient) are therefore
allocated with :func:`aligned_zeros`, and a fit trains on a cache-line-aligned
copy of a dense X that fits in scikit-learn's ``working_memory``
(:func:`aligned_for_training`).
"""
from functools import lru_cache

import numpy as np
from sklearn import get_config

#: Bytes: one cache line, one AVX-512 vector.
ALIGNMENT = 64


def _aligned_buffer(shape, dtype, alignment, fill):
    """An uninitialized (``fill=False``) or zero-filled C-contiguous array starting on an ``alignment``-byte
    boundary: a view into a buffer ``alignment`` bytes larger."""
    dtype = np.dtype(dtype)
    n_bytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    buffer = (np.zeros if fill else np.empty)(n_bytes + alignment, dtype=np.uint8)
    start = -buffer.ctypes.data % alignment
    return buffer[start:start + n_bytes].view(dtype).reshape(shape)


def aligned_zeros(shape, dtype, alignment=ALIGNMENT):
    """Return a zero-filled C-contiguous array whose data starts on an ``alignment``-byte boundary.

    Parameters
    ----------
    shape : int or tuple of int
    dtype : dtype
    alignment : int, default=64
        A multiple of the item size.

    Returns
    -------
    array : ndarray of the given shape and dtype (a view into a slightly larger buffer)
    """
    return _aligned_buffer(shape, dtype, alignment, fill=True)


def is_aligned(array, alignment=ALIGNMENT):
    """Whether the data of ``array`` starts on an ``alignment``-byte boundary."""
    return array.ctypes.data % alignment == 0


def aligned_copy(array, alignment=ALIGNMENT):
    """Return a C-contiguous copy of ``array`` that starts on an ``alignment``-byte boundary."""
    out = _aligned_buffer(array.shape, array.dtype, alignment, fill=False)
    out[...] = array
    return out


@lru_cache(maxsize=1)
def _copy_finite():
    try:
        from fastlc._cython._copy import copy_finite
    except ImportError:  # no Cython build: numpy's copy, then the check
        return None
    return copy_finite


def aligned_finite_copy(array, alignment=ALIGNMENT):
    """Return ``(copy, finite)``: an ``alignment``-byte-aligned C-contiguous copy of a float32 / float64
    ``array`` and whether all its values are finite, in one pass over ``array`` where the Cython build is
    there (a fit's check of X and its aligned copy of X read it once instead of twice)."""
    out = _aligned_buffer(array.shape, array.dtype, alignment, fill=False)
    copy_finite = _copy_finite()
    if copy_finite is not None and array.flags.c_contiguous and array.dtype in (np.float32, np.float64):
        return out, copy_finite(array.reshape(-1), out.reshape(-1))
    out[...] = array
    return out, bool(np.isfinite(out).all())


def copy_pays(X):
    """Whether training on ``X`` (C-contiguous) goes better from an aligned copy: ``X`` does not start on a
    cache line and its bytes fit in scikit-learn's ``working_memory`` (see :func:`aligned_for_training`)."""
    return not is_aligned(X) and X.nbytes <= get_config()["working_memory"] * 2**20


def aligned_for_training(X):
    """``X`` itself when it starts on a cache line, else an aligned copy if that fits in memory.

    The fused gradient kernel reads each row of a batch once per tile of classes, and copies a row
    that does not start on a cache line to an aligned scratch row first (a straddling vector load
    costs two). NumPy's large arrays start 16 bytes past a cache line, so it copied every row of
    every batch of every epoch: one aligned copy before the epochs replaces them. A softmax
    batch of 200 x 784 with 10 classes, interleaved rounds on a 2-core Zen 4 (AVX-512): float64
    184 instead of 202 us on one thread, 142 instead of 162 us on two; float32 84 instead of 91,
    77 instead of 89. Where the row length is not a multiple of 64 bytes, the rows that start on a
    cache line go uncopied. The copy is made only when its bytes fit in scikit-learn's
    ``working_memory`` (``sklearn.set_config``, MiB), the bound scikit-learn sets on its own
    temporary arrays; above it X is used as is.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), C-contiguous

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        ``X`` or its aligned copy (same values, dtype and shape).
    """
    return aligned_copy(X) if copy_pays(X) else X
