# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Fisher-Yates shuffle driven by given 64-bit draws (the rule and its reasons: fastlc/_shuffle.py).

The Numba twin is kernels/numba/_shuffle.py; both give the same order for the same draws.
"""
from libc.stdint cimport uint64_t


cdef inline Py_ssize_t _below(uint64_t draw, uint64_t bound) noexcept nogil:
    """floor(draw * bound / 2**64) for bound < 2**32, exactly, in 64-bit arithmetic."""
    return <Py_ssize_t> (((draw >> 32) * bound + (((draw & 0xFFFFFFFFu) * bound) >> 32)) >> 32)


def shuffle_with_draws(Py_ssize_t[::1] order, const uint64_t[::1] draws):
    """Shuffle ``order`` in place: for i = n-1 .. 1, swap order[i] with order[j], j from draws[n-1-i].

    Parameters
    ----------
    order : ndarray of shape (n,), intp, n < 2**32
    draws : ndarray of shape (n - 1,), uint64
    """
    cdef Py_ssize_t n = order.shape[0], i, j, k = 0, swap
    with nogil:
        for i in range(n - 1, 0, -1):
            j = _below(draws[k], <uint64_t> (i + 1))
            k = k + 1
            swap = order[i]
            order[i] = order[j]
            order[j] = swap
