"""Arrays that start on a cache line.

NumPy aligns its arrays to the item size only (large ones start 16 bytes past
a 64-byte boundary), while a vector load that straddles two cache lines costs
about twice as much. Arrays the library owns and hands to its compiled kernels
again and again (an estimator's weights and their gradient) are therefore
allocated with :func:`aligned_zeros`.
"""
import numpy as np

#: Bytes: one cache line, one AVX-512 vector.
ALIGNMENT = 64


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
    dtype = np.dtype(dtype)
    n_bytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    buffer = np.zeros(n_bytes + alignment, dtype=np.uint8)
    start = -buffer.ctypes.data % alignment
    return buffer[start:start + n_bytes].view(dtype).reshape(shape)


def is_aligned(array, alignment=ALIGNMENT):
    """Whether the data of ``array`` starts on an ``alignment``-byte boundary."""
    return array.ctypes.data % alignment == 0


def aligned_copy(array, alignment=ALIGNMENT):
    """Return a C-contiguous copy of ``array`` that starts on an ``alignment``-byte boundary."""
    out = aligned_zeros(array.shape, array.dtype, alignment)
    out[...] = array
    return out
