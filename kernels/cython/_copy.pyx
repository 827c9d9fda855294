# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""A copy that also says whether the values are finite (see _copy.h and fastlc/_memory.py).

No validation here (layer 1): contiguous 1-d arrays of the same dtype and length.
"""

ctypedef fused floating:
    float
    double

cdef extern from "_copy.h" nogil:
    int fastlc_copy_finite_f32(float* dst, const float* src, Py_ssize_t n)
    int fastlc_copy_finite_f64(double* dst, const double* src, Py_ssize_t n)


def copy_finite(const floating[::1] src, floating[::1] dst):
    """``dst[:] = src``; returns whether every value is finite (one pass over ``src``).

    Parameters
    ----------
    src : ndarray of shape (n,), float32 or float64, C-contiguous
    dst : ndarray of shape (n,), the same dtype, C-contiguous, writeable
    """
    cdef Py_ssize_t n = src.shape[0]
    cdef int finite = 1
    if n == 0:
        return True
    with nogil:
        if floating is float:
            finite = fastlc_copy_finite_f32(&dst[0], &src[0], n)
        else:
            finite = fastlc_copy_finite_f64(&dst[0], &src[0], n)
    return bool(finite)
