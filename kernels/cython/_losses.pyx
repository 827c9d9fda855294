# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Loss kernels in Cython: OpenMP over rows, each row fused in a few passes.

No validation here: the public layer (fastlc.kernels) hands over C-contiguous
float32/float64 arrays of matching shapes and labels already checked to lie
in [0, n_classes). Inputs are ``const`` memoryviews so read-only arrays work.
"""
from cython.parallel cimport prange
from libc.math cimport exp, expf, log, logf

ctypedef fused floating:
    float
    double


cdef inline floating _exp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating _log(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


cdef inline floating _exp_shifted(const floating* row, floating* out, Py_ssize_t n, floating* row_max) noexcept nogil:
    """out = exp(row - max(row)); stores the max and returns sum(out)."""
    cdef Py_ssize_t j
    cdef floating m = row[0], total = 0, e
    for j in range(1, n):
        if row[j] > m:
            m = row[j]
    for j in range(n):
        e = _exp(row[j] - m)
        out[j] = e
        total += e
    row_max[0] = m
    return total


def multiclass_hinge(const floating[:, ::1] scores, const Py_ssize_t[::1] y, const floating[::1] row_weight,
                     floating grad_scale, floating margin, bint squared,
                     floating[::1] loss_out, floating[:, ::1] grad_out, int n_threads):
    cdef Py_ssize_t n_samples = scores.shape[0], n_classes = scores.shape[1]
    cdef Py_ssize_t i, j, correct
    cdef floating z, slope, loss, slope_sum, offset, coef
    cdef const floating* row
    cdef floating* grad
    for i in prange(n_samples, nogil=True, schedule="static", num_threads=n_threads):
        grad = &grad_out[i, 0]
        if row_weight[i] == 0:
            loss_out[i] = 0
            for j in range(n_classes):
                grad[j] = 0
            continue
        row = &scores[i, 0]
        correct = y[i]
        offset = margin - row[correct]
        loss = 0
        slope_sum = 0
        for j in range(n_classes):
            z = row[j] + offset
            if j == correct or z <= 0:
                # margin met (also at the kink z == 0): no loss, no gradient
                slope = 0
                z = 0
            elif squared:
                slope = 2 * z
                z = z * z
            else:
                # 1 for z > 0; NaN stays NaN so it reaches the gradient too
                slope = z * 0 + 1
            loss = loss + z
            slope_sum = slope_sum + slope
            grad[j] = slope
        grad[correct] = -slope_sum
        coef = row_weight[i] * grad_scale
        for j in range(n_classes):
            grad[j] = grad[j] * coef
        loss_out[i] = row_weight[i] * loss


def cross_entropy_hard(const floating[:, ::1] logits, const Py_ssize_t[::1] y, const floating[::1] class_weight,
                       const floating[::1] row_weight, floating grad_scale, floating label_smoothing,
                       floating[::1] loss_out, floating[:, ::1] grad_out, int n_threads):
    cdef Py_ssize_t n_samples = logits.shape[0], n_classes = logits.shape[1]
    cdef Py_ssize_t i, j, correct
    cdef floating smooth = label_smoothing / n_classes, keep = 1 - label_smoothing
    cdef floating weight_total = 0, row_max, total, log_total, w_correct, q_sum, loss, coef, scale, weighted_shift
    cdef const floating* row
    cdef floating* grad
    for j in range(n_classes):
        weight_total += class_weight[j]
    for i in prange(n_samples, nogil=True, schedule="static", num_threads=n_threads):
        grad = &grad_out[i, 0]
        if row_weight[i] == 0:
            loss_out[i] = 0
            for j in range(n_classes):
                grad[j] = 0
            continue
        row = &logits[i, 0]
        correct = y[i]
        total = _exp_shifted(row, grad, n_classes, &row_max)
        log_total = _log(total)
        # q_c = keep * w_y * [c == y] + smooth * w_c; L = q_sum * log_total - sum_c q_c (s_c - max)
        w_correct = class_weight[correct]
        q_sum = keep * w_correct + smooth * weight_total
        loss = q_sum * log_total - keep * w_correct * (row[correct] - row_max)
        coef = row_weight[i] * grad_scale
        scale = coef * q_sum / total
        if label_smoothing != 0:
            weighted_shift = 0
            for j in range(n_classes):
                weighted_shift = weighted_shift + class_weight[j] * (row[j] - row_max)
                grad[j] = scale * grad[j] - coef * smooth * class_weight[j]
            loss = loss - smooth * weighted_shift
        else:
            for j in range(n_classes):
                grad[j] = grad[j] * scale
        grad[correct] = grad[correct] - coef * keep * w_correct
        loss_out[i] = row_weight[i] * loss


def cross_entropy_soft(const floating[:, ::1] logits, const floating[:, ::1] target, const floating[::1] class_weight,
                       const floating[::1] row_weight, floating grad_scale, floating label_smoothing,
                       floating[::1] loss_out, floating[:, ::1] grad_out, int n_threads):
    cdef Py_ssize_t n_samples = logits.shape[0], n_classes = logits.shape[1]
    cdef Py_ssize_t i, j
    cdef floating smooth = label_smoothing / n_classes, keep = 1 - label_smoothing
    cdef floating row_max, total, log_total, q, q_sum, coef, scale, weighted_shift
    cdef const floating* row
    cdef const floating* row_target
    cdef floating* grad
    for i in prange(n_samples, nogil=True, schedule="static", num_threads=n_threads):
        grad = &grad_out[i, 0]
        if row_weight[i] == 0:
            loss_out[i] = 0
            for j in range(n_classes):
                grad[j] = 0
            continue
        row = &logits[i, 0]
        row_target = &target[i, 0]
        total = _exp_shifted(row, grad, n_classes, &row_max)
        log_total = _log(total)
        coef = row_weight[i] * grad_scale
        q_sum = 0
        weighted_shift = 0
        for j in range(n_classes):
            q = class_weight[j] * (keep * row_target[j] + smooth)
            q_sum = q_sum + q
            weighted_shift = weighted_shift + q * (row[j] - row_max)
        scale = coef * q_sum / total
        for j in range(n_classes):
            q = class_weight[j] * (keep * row_target[j] + smooth)
            grad[j] = scale * grad[j] - coef * q
        loss_out[i] = row_weight[i] * (q_sum * log_total - weighted_shift)


def log_softmax(const floating[:, ::1] logits, floating[:, ::1] out, int n_threads):
    cdef Py_ssize_t n_samples = logits.shape[0], n_classes = logits.shape[1]
    cdef Py_ssize_t i, j
    cdef floating row_max, total, shift
    for i in prange(n_samples, nogil=True, schedule="static", num_threads=n_threads):
        total = _exp_shifted(&logits[i, 0], &out[i, 0], n_classes, &row_max)
        shift = row_max + _log(total)
        for j in range(n_classes):
            out[i, j] = logits[i, j] - shift


def softmax(const floating[:, ::1] logits, floating[:, ::1] out, int n_threads):
    cdef Py_ssize_t n_samples = logits.shape[0], n_classes = logits.shape[1]
    cdef Py_ssize_t i, j
    cdef floating row_max, total, inverse
    for i in prange(n_samples, nogil=True, schedule="static", num_threads=n_threads):
        total = _exp_shifted(&logits[i, 0], &out[i, 0], n_classes, &row_max)
        inverse = 1 / total
        for j in range(n_classes):
            out[i, j] = out[i, j] * inverse
