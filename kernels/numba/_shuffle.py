"""Fisher-Yates shuffle driven by given 64-bit draws, in Numba: the fallback of the Cython twin
(kernels/cython/_shuffle.pyx) when fastlc's Cython build is missing. The same draws give the same order
(the rule and its reasons: fastlc/_shuffle.py)."""
import numba
import numpy as np

_LOW = np.uint64(0xFFFFFFFF)
_32 = np.uint64(32)


@numba.njit(cache=True, nogil=True)
def _below(draw, bound):
    """floor(draw * bound / 2**64) for bound < 2**32, exactly, in 64-bit arithmetic."""
    return ((draw >> _32) * bound + (((draw & _LOW) * bound) >> _32)) >> _32


@numba.njit(cache=True, nogil=True)
def shuffle_with_draws(order, draws):
    """Shuffle ``order`` in place: for i = n-1 .. 1, swap order[i] with order[j], j from draws[n-1-i]."""
    n = order.shape[0]
    k = 0
    for i in range(n - 1, 0, -1):
        j = np.intp(_below(draws[k], np.uint64(i + 1)))
        k += 1
        swap = order[i]
        order[i] = order[j]
        order[j] = swap
