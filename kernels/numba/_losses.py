"""Loss kernels in Numba: parallel over blocks of rows, each block fused in a few passes.

Arrays arrive ready (C-contiguous, float32 or float64, labels checked) and
scalars arrive already cast to the arrays' dtype, so float32 stays float32
(Numba would promote float32 with a Python float to float64: every constant
is made with ``dtype.type``).

The softmax kernels exponentiate the shifted logits of a whole block of rows
(about BLOCK_ELEMENTS values) in one long vectorized loop (see _rowmath.py),
so short rows (10 classes) run as fast per element as long ones; each row is
computed the same way whatever the blocking and thread count.
"""
import numba
import numpy as np

from fastlc._config import NUMBA_OPTIONS

from ._rowmath import exp_inplace
from ._threads import with_n_threads

BLOCK_ELEMENTS = 4096


# The hinge's class loops are branch-free so that LLVM vectorizes them (the sign
# of z is random: a branch would be mispredicted often). The correct class is
# masked out, not skipped: its z = s_y + (margin - s_y) is not the margin exactly
# when |s_y| is large, nor a number when s_y is infinite. The plain and squared
# hinge are separate kernels: with an "if squared" inside the row loop LLVM
# vectorized neither class loop (2.5x slower).


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _hinge(scores, y, row_weight, grad_scale, margin, loss_out, grad_out):
    n_samples, n_classes = scores.shape
    zero = scores.dtype.type(0)
    one = scores.dtype.type(1)
    for i in numba.prange(n_samples):
        grad = grad_out[i]
        if row_weight[i] == 0:
            # not a scaling by 0: the output may hold NaN garbage
            loss_out[i] = zero
            grad[:] = zero
        else:
            row = scores[i]
            correct = y[i]
            offset = margin - row[correct]
            coef = row_weight[i] * grad_scale
            loss = zero
            slope_sum = zero
            for j in range(n_classes):
                z = row[j] + offset
                h = zero if (zero > z) | (j == correct) else z  # max(z, 0) that lets a NaN z through
                # 1 for h > 0 (also +inf); otherwise h is 0 (at and below the kink) or NaN, and a
                # NaN reaches the gradient too. A select, not "+ (h - h)": reassoc lets LLVM cancel h - h.
                slope = one if h > zero else h
                loss += h
                slope_sum += slope
                grad[j] = coef * slope
            grad[correct] = -coef * slope_sum
            loss_out[i] = row_weight[i] * loss


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _squared_hinge(scores, y, row_weight, grad_scale, margin, loss_out, grad_out):
    n_samples, n_classes = scores.shape
    zero = scores.dtype.type(0)
    two = scores.dtype.type(2)
    for i in numba.prange(n_samples):
        grad = grad_out[i]
        if row_weight[i] == 0:
            loss_out[i] = zero
            grad[:] = zero
        else:
            row = scores[i]
            correct = y[i]
            offset = margin - row[correct]
            coef = row_weight[i] * grad_scale
            loss = zero
            slope_sum = zero
            for j in range(n_classes):
                z = row[j] + offset
                h = zero if (zero > z) | (j == correct) else z
                loss += h * h
                slope_sum += two * h
                grad[j] = coef * (two * h)
            grad[correct] = -coef * slope_sum
            loss_out[i] = row_weight[i] * loss


def _multiclass_hinge(scores, y, row_weight, grad_scale, margin, squared, loss_out, grad_out):
    kernel = _squared_hinge if squared else _hinge
    kernel(scores, y, row_weight, grad_scale, margin, loss_out, grad_out)


@numba.njit(**NUMBA_OPTIONS)
def _exp_shifted_block(logits, out, row_max):
    """out = exp(logits - max of its row) for a block of rows; maxima go to row_max."""
    n_rows, n_classes = logits.shape
    for i in range(n_rows):
        row = logits[i]
        m = row[0]
        for j in range(1, n_classes):
            m = row[j] if row[j] > m else m
        row_max[i] = m
        for j in range(n_classes):
            out[i, j] = row[j] - m
    exp_inplace(out.reshape(n_rows * n_classes))


@numba.njit(**NUMBA_OPTIONS)
def _block_bounds(n_samples, n_classes, block):
    block_rows = max(1, BLOCK_ELEMENTS // n_classes)
    first = block * block_rows
    return first, min(first + block_rows, n_samples)


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _cross_entropy_hard(logits, y, class_weight, row_weight, grad_scale, label_smoothing, loss_out, grad_out):
    n_samples, n_classes = logits.shape
    smooth = label_smoothing / logits.dtype.type(n_classes)
    keep = logits.dtype.type(1) - label_smoothing
    weight_total = class_weight.sum()
    block_rows = max(1, BLOCK_ELEMENTS // n_classes)
    for block in numba.prange((n_samples + block_rows - 1) // block_rows):
        first, stop = _block_bounds(n_samples, n_classes, block)
        # row maxima are parked in loss_out until each row's loss replaces them
        _exp_shifted_block(logits[first:stop], grad_out[first:stop], loss_out[first:stop])
        for i in range(first, stop):
            grad = grad_out[i]
            if row_weight[i] == 0:
                loss_out[i] = 0
                grad[:] = 0
                continue
            row = logits[i]
            row_max = loss_out[i]
            total = grad.sum()
            correct = y[i]
            # q_c = keep * w_y * [c == y] + smooth * w_c; L = q_sum * log(total) - sum_c q_c (s_c - max)
            w_correct = class_weight[correct]
            q_sum = keep * w_correct + smooth * weight_total
            loss = q_sum * np.log(total) - keep * w_correct * (row[correct] - row_max)
            coef = row_weight[i] * grad_scale
            scale = coef * q_sum / total
            if label_smoothing != 0:
                weighted_shift = row.dtype.type(0)
                for j in range(n_classes):
                    if class_weight[j] != 0:  # 0 * -inf must not turn the loss into NaN
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
    smooth = label_smoothing / logits.dtype.type(n_classes)
    keep = logits.dtype.type(1) - label_smoothing
    block_rows = max(1, BLOCK_ELEMENTS // n_classes)
    for block in numba.prange((n_samples + block_rows - 1) // block_rows):
        first, stop = _block_bounds(n_samples, n_classes, block)
        _exp_shifted_block(logits[first:stop], grad_out[first:stop], loss_out[first:stop])
        for i in range(first, stop):
            grad = grad_out[i]
            if row_weight[i] == 0:
                loss_out[i] = 0
                grad[:] = 0
                continue
            row = logits[i]
            row_max = loss_out[i]
            row_target = target[i]
            total = grad.sum()
            coef = row_weight[i] * grad_scale
            q_sum = row.dtype.type(0)
            weighted_shift = row.dtype.type(0)
            for j in range(n_classes):
                q = class_weight[j] * (keep * row_target[j] + smooth)
                q_sum += q
                if q != 0:  # a class with no target weight adds nothing, even at logit -inf
                    weighted_shift += q * (row[j] - row_max)
            scale = coef * q_sum / total
            for j in range(n_classes):
                q = class_weight[j] * (keep * row_target[j] + smooth)
                grad[j] = scale * grad[j] - coef * q
            loss_out[i] = row_weight[i] * (q_sum * np.log(total) - weighted_shift)


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _normalize(logits, out, log_space):
    """Softmax (or log-softmax) of every row into out."""
    n_samples, n_classes = logits.shape
    block_rows = max(1, BLOCK_ELEMENTS // n_classes)
    for block in numba.prange((n_samples + block_rows - 1) // block_rows):
        first, stop = _block_bounds(n_samples, n_classes, block)
        row_max = np.empty(stop - first, dtype=logits.dtype)
        _exp_shifted_block(logits[first:stop], out[first:stop], row_max)
        for i in range(first, stop):
            total = out[i].sum()
            if log_space:
                shift = row_max[i - first] + np.log(total)
                for j in range(n_classes):
                    out[i, j] = logits[i, j] - shift
            else:
                inverse = logits.dtype.type(1) / total
                for j in range(n_classes):
                    out[i, j] *= inverse


def _log_softmax(logits, out):
    _normalize(logits, out, True)


def _softmax(logits, out):
    _normalize(logits, out, False)


multiclass_hinge = with_n_threads(_multiclass_hinge)
cross_entropy_hard = with_n_threads(_cross_entropy_hard)
cross_entropy_soft = with_n_threads(_cross_entropy_soft)
log_softmax = with_n_threads(_log_softmax)
softmax = with_n_threads(_softmax)
