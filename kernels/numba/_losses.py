"""Loss kernels in Numba: one parallel loop over rows, each row fused in a few passes.

Arrays arrive ready (C-contiguous, float32 or float64, labels checked) and
scalars arrive already cast to the arrays' dtype, so float32 stays float32.
"""
import math

import numba
import numpy as np

from fastlc._config import NUMBA_OPTIONS

from ._threads import with_n_threads


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _multiclass_hinge(scores, y, row_weight, grad_scale, margin, squared, loss_out, grad_out):
    n_samples, n_classes = scores.shape
    zero = scores.dtype.type(0)
    one = scores.dtype.type(1)
    two = scores.dtype.type(2)
    for i in numba.prange(n_samples):
        grad = grad_out[i]
        if row_weight[i] == 0:
            loss_out[i] = 0
            grad[:] = 0
            continue
        row = scores[i]
        correct = y[i]
        offset = margin - row[correct]
        loss = zero
        slope_sum = zero
        for j in range(n_classes):
            z = row[j] + offset
            if j == correct or z <= 0:
                # margin met (also at the kink z == 0): no loss, no gradient
                slope = zero
                z = zero
            elif squared:
                slope = two * z
                z = z * z
            else:
                # 1 for z > 0; NaN stays NaN so it reaches the gradient too
                slope = z * zero + one
            loss += z
            slope_sum += slope
            grad[j] = slope
        grad[correct] = -slope_sum
        coef = row_weight[i] * grad_scale
        for j in range(n_classes):
            grad[j] *= coef
        loss_out[i] = row_weight[i] * loss


@numba.njit(inline="always", **NUMBA_OPTIONS)
def _exp_shifted(row, out):
    """out = exp(row - max(row)); returns (max, sum(out))."""
    n_classes = row.shape[0]
    row_max = row[0]
    for j in range(1, n_classes):
        if row[j] > row_max:
            row_max = row[j]
    total = row.dtype.type(0)
    for j in range(n_classes):
        e = math.exp(row[j] - row_max)
        out[j] = e
        total += e
    return row_max, total


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _cross_entropy_hard(logits, y, class_weight, row_weight, grad_scale, label_smoothing, loss_out, grad_out):
    n_samples, n_classes = logits.shape
    # scalars in the arrays' dtype: Numba would promote float32 with a Python int to float64
    smooth = label_smoothing / logits.dtype.type(n_classes)
    keep = logits.dtype.type(1) - label_smoothing
    weight_total = class_weight.sum()
    for i in numba.prange(n_samples):
        grad = grad_out[i]
        if row_weight[i] == 0:
            loss_out[i] = 0
            grad[:] = 0
            continue
        row = logits[i]
        correct = y[i]
        row_max, total = _exp_shifted(row, grad)
        log_total = math.log(total)
        # q_c = keep * w_y * [c == y] + smooth * w_c; L = q_sum * log_total - sum_c q_c (s_c - max)
        w_correct = class_weight[correct]
        q_sum = keep * w_correct + smooth * weight_total
        loss = q_sum * log_total - keep * w_correct * (row[correct] - row_max)
        coef = row_weight[i] * grad_scale
        scale = coef * q_sum / total
        if label_smoothing != 0:
            weighted_shift = row.dtype.type(0)
            for j in range(n_classes):
                weighted_shift += class_weight[j] * (row[j] - row_max)
                grad[j] = scale * grad[j] - coef * smooth * class_weight[j]
            loss -= smooth * weighted_shift
        else:
            for j in range(n_classes):
                grad[j] *= scale
        grad[correct] -= coef * keep * w_correct
        loss_out[i] = row_weight[i] * loss


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _cross_entropy_soft(logits, target, class_weight, row_weight, grad_scale, label_smoothing, loss_out, grad_out):
    n_samples, n_classes = logits.shape
    # scalars in the arrays' dtype: Numba would promote float32 with a Python int to float64
    smooth = label_smoothing / logits.dtype.type(n_classes)
    keep = logits.dtype.type(1) - label_smoothing
    for i in numba.prange(n_samples):
        grad = grad_out[i]
        if row_weight[i] == 0:
            loss_out[i] = 0
            grad[:] = 0
            continue
        row = logits[i]
        row_target = target[i]
        row_max, total = _exp_shifted(row, grad)
        log_total = math.log(total)
        coef = row_weight[i] * grad_scale
        q_sum = row.dtype.type(0)
        weighted_shift = row.dtype.type(0)
        for j in range(n_classes):
            q = class_weight[j] * (keep * row_target[j] + smooth)
            q_sum += q
            weighted_shift += q * (row[j] - row_max)
        scale = coef * q_sum / total
        for j in range(n_classes):
            q = class_weight[j] * (keep * row_target[j] + smooth)
            grad[j] = scale * grad[j] - coef * q
        loss_out[i] = row_weight[i] * (q_sum * log_total - weighted_shift)


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _log_softmax(logits, out):
    n_samples, n_classes = logits.shape
    for i in numba.prange(n_samples):
        row = logits[i]
        row_max, total = _exp_shifted(row, out[i])
        shift = row_max + math.log(total)
        for j in range(n_classes):
            out[i, j] = row[j] - shift


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _softmax(logits, out):
    n_samples, n_classes = logits.shape
    for i in numba.prange(n_samples):
        row_max, total = _exp_shifted(logits[i], out[i])
        inverse = logits.dtype.type(1) / total
        for j in range(n_classes):
            out[i, j] *= inverse


multiclass_hinge = with_n_threads(_multiclass_hinge)
cross_entropy_hard = with_n_threads(_cross_entropy_hard)
cross_entropy_soft = with_n_threads(_cross_entropy_soft)
log_softmax = with_n_threads(_log_softmax)
softmax = with_n_threads(_softmax)
