# Row functions of _rowmath.h for the Cython kernels, included by _losses.pyx and _linear.pyx (after
# their "ctypedef fused floating"), so that both call the one C copy of each loss row. The cdef inline
# wrappers pick the float or double function at compile time.
from libc.math cimport log, logf

cdef extern from "_constants.h":
    enum: FASTLC_CHUNK_ROWS
    enum: FASTLC_GROUP
    enum: FASTLC_BLOCK_ELEMENTS
    enum: FASTLC_REGRESSION_HUBER
    enum: FASTLC_REGRESSION_EPSILON_INSENSITIVE

cdef extern from "_rowmath.h" nogil:
    float fastlc_row_max_f32(const float* x, Py_ssize_t n)
    double fastlc_row_max_f64(const double* x, Py_ssize_t n)
    float fastlc_row_sum_f32(const float* x, Py_ssize_t n)
    double fastlc_row_sum_f64(const double* x, Py_ssize_t n)
    void fastlc_shift_f32(const float* x, float* out, Py_ssize_t n, float shift)
    void fastlc_shift_f64(const double* x, double* out, Py_ssize_t n, double shift)
    void fastlc_exp_inplace_f32(float* x, Py_ssize_t n)
    void fastlc_exp_inplace_f64(double* x, Py_ssize_t n)
    void fastlc_scale_f32(float* x, Py_ssize_t n, float a)
    void fastlc_scale_f64(double* x, Py_ssize_t n, double a)
    void fastlc_hinge_rows_f32(const float* scores, const Py_ssize_t* labels, const float* row_weight,
                               float grad_scale, Py_ssize_t n_rows, Py_ssize_t n, float margin, int squared,
                               float* loss_out, float* grad)
    void fastlc_hinge_rows_f64(const double* scores, const Py_ssize_t* labels, const double* row_weight,
                               double grad_scale, Py_ssize_t n_rows, Py_ssize_t n, double margin, int squared,
                               double* loss_out, double* grad)
    float fastlc_cross_entropy_hard_row_f32(const float* row, float* grad, Py_ssize_t n, Py_ssize_t correct,
                                            float row_max, const float* class_weight, float weight_total,
                                            float label_smoothing, float coef)
    double fastlc_cross_entropy_hard_row_f64(const double* row, double* grad, Py_ssize_t n, Py_ssize_t correct,
                                             double row_max, const double* class_weight, double weight_total,
                                             double label_smoothing, double coef)
    float fastlc_cross_entropy_soft_row_f32(const float* row, float* grad, Py_ssize_t n, const float* target,
                                            float row_max, const float* class_weight, float label_smoothing,
                                            float coef)
    double fastlc_cross_entropy_soft_row_f64(const double* row, double* grad, Py_ssize_t n, const double* target,
                                             double row_max, const double* class_weight, double label_smoothing,
                                             double coef)
    enum: FASTLC_HINGE_GROUP
    enum: FASTLC_HINGE_SHORT_ROW


cdef inline floating _log(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


cdef inline floating _row_sum(const floating* x, Py_ssize_t n) noexcept nogil:
    if floating is float:
        return fastlc_row_sum_f32(x, n)
    else:
        return fastlc_row_sum_f64(x, n)


cdef inline void _scale(floating* x, Py_ssize_t n, floating a) noexcept nogil:
    if floating is float:
        fastlc_scale_f32(x, n, a)
    else:
        fastlc_scale_f64(x, n, a)


cdef inline void _exp_inplace(floating* x, Py_ssize_t n) noexcept nogil:
    if floating is float:
        fastlc_exp_inplace_f32(x, n)
    else:
        fastlc_exp_inplace_f64(x, n)


cdef inline void _hinge_rows(const floating* scores, const Py_ssize_t* labels, const floating* row_weight,
                             floating grad_scale, Py_ssize_t n_rows, Py_ssize_t n_classes, floating margin,
                             bint squared, floating* loss_out, floating* grad) noexcept nogil:
    """Weston-Watkins hinge of n_rows rows: weighted losses into loss_out, weighted gradients into grad."""
    if floating is float:
        fastlc_hinge_rows_f32(scores, labels, row_weight, grad_scale, n_rows, n_classes, margin, squared,
                              loss_out, grad)
    else:
        fastlc_hinge_rows_f64(scores, labels, row_weight, grad_scale, n_rows, n_classes, margin, squared,
                              loss_out, grad)


cdef inline floating _cross_entropy_hard_row(const floating* row, floating* grad, Py_ssize_t n_classes,
                                             Py_ssize_t correct, floating row_max, const floating* class_weight,
                                             floating weight_total, floating label_smoothing,
                                             floating coef) noexcept nogil:
    """Unweighted loss of one row; coef * dL/ds into grad, which holds exp(row - row_max) on entry."""
    if floating is float:
        return fastlc_cross_entropy_hard_row_f32(row, grad, n_classes, correct, row_max, class_weight,
                                                 weight_total, label_smoothing, coef)
    else:
        return fastlc_cross_entropy_hard_row_f64(row, grad, n_classes, correct, row_max, class_weight,
                                                 weight_total, label_smoothing, coef)


cdef inline floating _cross_entropy_soft_row(const floating* row, floating* grad, Py_ssize_t n_classes,
                                             const floating* target, floating row_max,
                                             const floating* class_weight, floating label_smoothing,
                                             floating coef) noexcept nogil:
    """The same against a soft target row."""
    if floating is float:
        return fastlc_cross_entropy_soft_row_f32(row, grad, n_classes, target, row_max, class_weight,
                                                 label_smoothing, coef)
    else:
        return fastlc_cross_entropy_soft_row_f64(row, grad, n_classes, target, row_max, class_weight,
                                                 label_smoothing, coef)
