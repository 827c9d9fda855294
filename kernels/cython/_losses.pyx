# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Loss kernels in Cython: OpenMP over blocks of rows, row primitives in C.

No validation here: the public layer (fastlc.kernels) hands over C-contiguous
float32/float64 arrays of matching shapes and labels already checked to lie
in [0, n_classes). Inputs are ``const`` memoryviews so read-only arrays work.

The softmax kernels work on blocks of rows (about BLOCK_ELEMENTS values): the
shifted logits of a whole block are exponentiated in one long vectorized loop,
so that short rows (10 classes) run as fast per element as long ones, and the
block stays in cache for the passes that follow. Every row is computed the
same way whatever the block boundaries and thread count, so results are
deterministic. See _rowmath.h for the vectorized exp and sums.
"""
from cython.parallel cimport prange
from libc.math cimport log, logf

ctypedef fused floating:
    float
    double

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
    void fastlc_hinge_row_f32(const float* row, float* grad, Py_ssize_t n, Py_ssize_t correct, float margin,
                              int squared, float* loss, float* slope_sum)
    void fastlc_hinge_row_f64(const double* row, double* grad, Py_ssize_t n, Py_ssize_t correct, double margin,
                              int squared, double* loss, double* slope_sum)
    void fastlc_hinge_short_rows_f32(const float* scores, const Py_ssize_t* labels, const float* row_weight,
                                     float grad_scale, Py_ssize_t n_rows, Py_ssize_t n, float margin, int squared,
                                     float* loss, float* grad)
    void fastlc_hinge_short_rows_f64(const double* scores, const Py_ssize_t* labels, const double* row_weight,
                                     double grad_scale, Py_ssize_t n_rows, Py_ssize_t n, double margin, int squared,
                                     double* loss, double* grad)
    enum: FASTLC_HINGE_GROUP

cdef enum:
    # rows shorter than this are computed in groups of FASTLC_HINGE_GROUP, one row per vector lane (see
    # _rowmath.h); measured 1 thread, per row: C=40 2x faster than the row-wise path, C=64 ~15%, C=128 slower
    SHORT_ROW = 64
    # values per block of rows: a block of float64 fits in L1 twice over
    BLOCK_ELEMENTS = 4096


cdef inline floating _log(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


cdef inline floating _row_max(const floating* x, Py_ssize_t n) noexcept nogil:
    if floating is float:
        return fastlc_row_max_f32(x, n)
    else:
        return fastlc_row_max_f64(x, n)


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


cdef inline void _exp_shifted_block(const floating* x, floating* out, floating* row_max,
                                    Py_ssize_t n_rows, Py_ssize_t n_classes) noexcept nogil:
    """out = exp(x - max of its row) for a block of rows; row maxima go to row_max."""
    cdef Py_ssize_t i
    cdef floating m
    for i in range(n_rows):
        m = _row_max(x + i * n_classes, n_classes)
        row_max[i] = m
        if floating is float:
            fastlc_shift_f32(x + i * n_classes, out + i * n_classes, n_classes, m)
        else:
            fastlc_shift_f64(x + i * n_classes, out + i * n_classes, n_classes, m)
    if floating is float:
        fastlc_exp_inplace_f32(out, n_rows * n_classes)
    else:
        fastlc_exp_inplace_f64(out, n_rows * n_classes)


cdef inline Py_ssize_t _block_rows(Py_ssize_t n_classes) noexcept nogil:
    return max(1, BLOCK_ELEMENTS // n_classes)


cdef inline void _zero_row(floating* loss, floating* grad, Py_ssize_t n_classes) noexcept nogil:
    cdef Py_ssize_t j
    loss[0] = 0
    for j in range(n_classes):
        grad[j] = 0


def multiclass_hinge(const floating[:, ::1] scores, const Py_ssize_t[::1] y, const floating[::1] row_weight,
                     floating grad_scale, floating margin, bint squared,
                     floating[::1] loss_out, floating[:, ::1] grad_out, int n_threads):
    cdef Py_ssize_t n_samples = scores.shape[0], n_classes = scores.shape[1]
    cdef Py_ssize_t i, group, first
    cdef floating loss, slope_sum
    cdef floating* grad
    if n_classes < SHORT_ROW:
        # Groups start at fixed rows, so each row is computed in the same lane whatever the thread
        # count. "guided": as fast as "static" while the other threads spin, and when one starts
        # late (woken from sleep) the others do most of its share meanwhile; they still wait for it
        # to arrive at the end. 8192x10 with OMP_WAIT_POLICY=passive: ~65 us vs ~100 (1 thread ~60).
        for group in prange((n_samples + FASTLC_HINGE_GROUP - 1) // FASTLC_HINGE_GROUP, nogil=True,
                            schedule="guided", num_threads=n_threads):
            first = group * FASTLC_HINGE_GROUP
            if floating is float:
                fastlc_hinge_short_rows_f32(&scores[first, 0], &y[first], &row_weight[first], grad_scale,
                                            min(FASTLC_HINGE_GROUP, n_samples - first), n_classes, margin, squared,
                                            &loss_out[first], &grad_out[first, 0])
            else:
                fastlc_hinge_short_rows_f64(&scores[first, 0], &y[first], &row_weight[first], grad_scale,
                                            min(FASTLC_HINGE_GROUP, n_samples - first), n_classes, margin, squared,
                                            &loss_out[first], &grad_out[first, 0])
        return
    for i in prange(n_samples, nogil=True, schedule="static", num_threads=n_threads):
        grad = &grad_out[i, 0]
        if row_weight[i] == 0:
            # not a scaling by 0: the output may hold NaN garbage
            _zero_row(&loss_out[i], grad, n_classes)
            continue
        # assigned here so that Cython makes them thread-private: written only
        # through a pointer, they would be shared between threads (a race)
        loss = 0
        slope_sum = 0
        if floating is float:
            fastlc_hinge_row_f32(&scores[i, 0], grad, n_classes, y[i], margin, squared, &loss, &slope_sum)
        else:
            fastlc_hinge_row_f64(&scores[i, 0], grad, n_classes, y[i], margin, squared, &loss, &slope_sum)
        grad[y[i]] = -slope_sum
        _scale(grad, n_classes, row_weight[i] * grad_scale)
        loss_out[i] = row_weight[i] * loss


def cross_entropy_hard(const floating[:, ::1] logits, const Py_ssize_t[::1] y, const floating[::1] class_weight,
                       const floating[::1] row_weight, floating grad_scale, floating label_smoothing,
                       floating[::1] loss_out, floating[:, ::1] grad_out, int n_threads):
    cdef Py_ssize_t n_samples = logits.shape[0], n_classes = logits.shape[1]
    cdef Py_ssize_t block, n_blocks, first, n_rows, i, j, correct
    cdef Py_ssize_t block_rows = _block_rows(n_classes)
    cdef floating smooth = label_smoothing / n_classes, keep = 1 - label_smoothing
    cdef floating weight_total = 0, row_max, total, w_correct, q_sum, loss, coef, scale, weighted_shift
    cdef const floating* row
    cdef floating* grad
    for j in range(n_classes):
        weight_total += class_weight[j]
    n_blocks = (n_samples + block_rows - 1) // block_rows
    for block in prange(n_blocks, nogil=True, schedule="static", num_threads=n_threads):
        first = block * block_rows
        n_rows = min(block_rows, n_samples - first)
        # row maxima are parked in loss_out until each row's loss replaces them
        _exp_shifted_block(&logits[first, 0], &grad_out[first, 0], &loss_out[first], n_rows, n_classes)
        for i in range(first, first + n_rows):
            row = &logits[i, 0]
            grad = &grad_out[i, 0]
            if row_weight[i] == 0:
                _zero_row(&loss_out[i], grad, n_classes)
                continue
            row_max = loss_out[i]
            total = _row_sum(grad, n_classes)
            correct = y[i]
            # q_c = keep * w_y * [c == y] + smooth * w_c; L = q_sum * log(total) - sum_c q_c (s_c - max)
            w_correct = class_weight[correct]
            q_sum = keep * w_correct + smooth * weight_total
            loss = q_sum * _log(total) - keep * w_correct * (row[correct] - row_max)
            coef = row_weight[i] * grad_scale
            scale = coef * q_sum / total
            if label_smoothing != 0:
                weighted_shift = 0
                for j in range(n_classes):
                    if class_weight[j] != 0:  # 0 * -inf must not turn the loss into NaN
                        weighted_shift = weighted_shift + class_weight[j] * (row[j] - row_max)
                    grad[j] = scale * grad[j] - coef * smooth * class_weight[j]
                loss = loss - smooth * weighted_shift
            else:
                _scale(grad, n_classes, scale)
            grad[correct] = grad[correct] - coef * keep * w_correct
            loss_out[i] = row_weight[i] * loss


def cross_entropy_soft(const floating[:, ::1] logits, const floating[:, ::1] target, const floating[::1] class_weight,
                       const floating[::1] row_weight, floating grad_scale, floating label_smoothing,
                       floating[::1] loss_out, floating[:, ::1] grad_out, int n_threads):
    cdef Py_ssize_t n_samples = logits.shape[0], n_classes = logits.shape[1]
    cdef Py_ssize_t block, n_blocks, first, n_rows, i, j
    cdef Py_ssize_t block_rows = _block_rows(n_classes)
    cdef floating smooth = label_smoothing / n_classes, keep = 1 - label_smoothing
    cdef floating row_max, total, q, q_sum, coef, scale, weighted_shift
    cdef const floating* row
    cdef const floating* row_target
    cdef floating* grad
    n_blocks = (n_samples + block_rows - 1) // block_rows
    for block in prange(n_blocks, nogil=True, schedule="static", num_threads=n_threads):
        first = block * block_rows
        n_rows = min(block_rows, n_samples - first)
        _exp_shifted_block(&logits[first, 0], &grad_out[first, 0], &loss_out[first], n_rows, n_classes)
        for i in range(first, first + n_rows):
            row = &logits[i, 0]
            grad = &grad_out[i, 0]
            if row_weight[i] == 0:
                _zero_row(&loss_out[i], grad, n_classes)
                continue
            row_max = loss_out[i]
            row_target = &target[i, 0]
            total = _row_sum(grad, n_classes)
            coef = row_weight[i] * grad_scale
            q_sum = 0
            weighted_shift = 0
            for j in range(n_classes):
                q = class_weight[j] * (keep * row_target[j] + smooth)
                q_sum = q_sum + q
                if q != 0:  # a class with no target weight adds nothing, even at logit -inf
                    weighted_shift = weighted_shift + q * (row[j] - row_max)
            scale = coef * q_sum / total
            for j in range(n_classes):
                q = class_weight[j] * (keep * row_target[j] + smooth)
                grad[j] = scale * grad[j] - coef * q
            loss_out[i] = row_weight[i] * (q_sum * _log(total) - weighted_shift)


cdef void _normalize_block(const floating* x, floating* out, Py_ssize_t n_rows, Py_ssize_t n_classes,
                           bint log_space) noexcept nogil:
    """Softmax (or log-softmax) of a block of rows into out."""
    cdef floating row_max[BLOCK_ELEMENTS]
    cdef Py_ssize_t i, j
    cdef floating total, shift
    _exp_shifted_block(x, out, row_max, n_rows, n_classes)
    for i in range(n_rows):
        total = _row_sum(out + i * n_classes, n_classes)
        if log_space:
            shift = row_max[i] + _log(total)
            for j in range(n_classes):
                out[i * n_classes + j] = x[i * n_classes + j] - shift
        else:
            _scale(out + i * n_classes, n_classes, 1 / total)


cdef void _normalize(const floating[:, ::1] logits, floating[:, ::1] out, bint log_space, int n_threads) noexcept nogil:
    cdef Py_ssize_t n_samples = logits.shape[0], n_classes = logits.shape[1]
    cdef Py_ssize_t block_rows = _block_rows(n_classes)
    cdef Py_ssize_t n_blocks = (n_samples + block_rows - 1) // block_rows
    cdef Py_ssize_t block, first
    for block in prange(n_blocks, schedule="static", num_threads=n_threads):
        first = block * block_rows
        _normalize_block(&logits[first, 0], &out[first, 0], min(block_rows, n_samples - first), n_classes, log_space)


def log_softmax(const floating[:, ::1] logits, floating[:, ::1] out, int n_threads):
    with nogil:
        _normalize(logits, out, True, n_threads)


def softmax(const floating[:, ::1] logits, floating[:, ::1] out, int n_threads):
    with nogil:
        _normalize(logits, out, False, n_threads)
