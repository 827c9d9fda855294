# The regressor's loss row for the Cython kernels (included after "ctypedef fused floating" and
# _rowmath.pxi): the sum over the targets of the point losses of _nn_points.h, the same C functions as the
# nn loss kernels'. Included by _linear.pyx (dense) and _sparse_linear.pyx (sparse): one copy.

cdef extern from "_nn_points.h" nogil:
    float fastlc_huber_f32(float x, float t, float pw, float delta, float* slope)
    double fastlc_huber_f64(double x, double t, double pw, double delta, double* slope)
    float fastlc_epsilon_insensitive_f32(float x, float t, float pw, float epsilon, float* slope)
    double fastlc_epsilon_insensitive_f64(double x, double t, double pw, double epsilon, double* slope)


cdef inline floating _regression_row(const floating* s, const floating* t, Py_ssize_t n, int point, floating param,
                                     floating row_coef, floating* g) noexcept nogil:
    """Sum over the targets of one row's point losses (``point``: FASTLC_REGRESSION_*); g = row_coef * slope."""
    cdef floating total = 0, loss, slope
    cdef Py_ssize_t j
    for j in range(n):
        if floating is float:
            if point == FASTLC_REGRESSION_HUBER:
                loss = fastlc_huber_f32(s[j], t[j], 1, param, &slope)
            else:
                loss = fastlc_epsilon_insensitive_f32(s[j], t[j], 1, param, &slope)
        else:
            if point == FASTLC_REGRESSION_HUBER:
                loss = fastlc_huber_f64(s[j], t[j], 1, param, &slope)
            else:
                loss = fastlc_epsilon_insensitive_f64(s[j], t[j], 1, param, &slope)
        total = total + loss
        g[j] = row_coef * slope
    return total
