"""Fused mini-batch gradient of a linear classifier in Numba (see kernels/cython/_linear.pyx).

Each batch row is read once, straight from ``X`` by index: scores, loss row,
and the rank-1 update of the weight gradient while the row is in L1. The
batch is cut into fixed CHUNK_ROWS-row chunks (a function of the batch size
only), each chunk sums into its own buffer, and the buffers are added in
chunk order: the same bits for any thread count. Compiled WITHOUT the
``reassoc`` fast-math flag except for the dot product over the features:
with ``reassoc`` on the whole kernel, under Numba's OpenMP threading layer
some rows came out different in the last bit on 1 and on 2+ threads
(measured; not with ``contract`` alone, nor with ``reassoc`` on ``_dot``
only). Explicit partial sums without ``reassoc`` did not vectorize (3x
slower). The axpys vectorize anyway. No nnan/ninf: NaN propagates.
Scalars arrive cast to the arrays' dtype and every constant is made with
``dtype.type``.
"""
import numba
import numpy as np

from fastlc._config import NUMBA_OPTIONS

from ._rowmath import fast_exp
from ._threads import with_n_threads

# See the module docstring: everything but re-association.
_OPTIONS = dict(NUMBA_OPTIONS, fastmath=NUMBA_OPTIONS["fastmath"] - {"reassoc"})

#: Rows per chunk: the unit of parallel work and of the fixed-order reduction.
CHUNK_ROWS = 64

CROSS_ENTROPY = 0
HINGE = 1


@numba.njit(**_OPTIONS)
def _cross_entropy_row(s, g, correct, class_weight, weight_total, label_smoothing, coef):
    """Loss of one row (not yet times its weight); coef * dL/ds into g (as _losses.py)."""
    n_classes = s.shape[0]
    smooth = label_smoothing / s.dtype.type(n_classes)
    keep = s.dtype.type(1) - label_smoothing
    row_max = s[0]
    for j in range(1, n_classes):
        row_max = s[j] if s[j] > row_max else row_max
    total = s.dtype.type(0)
    for j in range(n_classes):
        g[j] = fast_exp(s[j] - row_max)
        total += g[j]
    w_correct = class_weight[correct]
    q_sum = keep * w_correct + smooth * weight_total
    loss = q_sum * np.log(total) - keep * w_correct * (s[correct] - row_max)
    scale = coef * q_sum / total
    if label_smoothing != 0:
        weighted_shift = s.dtype.type(0)
        for j in range(n_classes):
            if class_weight[j] != 0:  # 0 * -inf must not turn the loss into NaN
                weighted_shift += class_weight[j] * (s[j] - row_max)
            g[j] = scale * g[j] - coef * smooth * class_weight[j]
        loss -= smooth * weighted_shift
    else:
        for j in range(n_classes):
            g[j] *= scale
    g[correct] -= coef * keep * w_correct
    return loss


@numba.njit(**_OPTIONS)
def _hinge_row(s, g, correct, margin, squared, coef):
    """Weston-Watkins hinge of one row (not yet times its weight); coef * dL/ds into g."""
    zero = s.dtype.type(0)
    one = s.dtype.type(1)
    two = s.dtype.type(2)
    offset = margin - s[correct]
    loss = zero
    slope_sum = zero
    for j in range(s.shape[0]):
        z = s[j] + offset
        if j == correct or z <= 0:
            slope = zero  # margin met (also at the kink z == 0)
            z = zero
        elif squared:
            slope = two * z
            z = z * z
        else:
            slope = z * zero + one  # 1 for z > 0; NaN stays NaN
        loss += z
        slope_sum += slope
        g[j] = coef * slope
    g[correct] = -coef * slope_sum
    return loss


@numba.njit(**NUMBA_OPTIONS)
def _dot(w, x):
    """w . x, vectorized by re-association (the one function compiled with ``reassoc``)."""
    total = w.dtype.type(0)
    for d in range(w.shape[0]):
        total += w[d] * x[d]
    return total


@numba.njit(**_OPTIONS)
def _chunk_gradient(kind, X, rows, lo, hi, y, class_weight, weight_total, row_weight, coef, intercept, grad_scale,
                    label_smoothing, margin, squared, scores, grad_scores, loss_out, grad_coef, grad_intercept):
    """Batch rows [lo, hi): losses into loss_out[lo:hi], their summed gradient into grad_coef / grad_intercept."""
    n_classes, n_features = coef.shape
    grad_coef[:] = 0
    grad_intercept[:] = 0
    for i in range(lo, hi):
        r = rows[i]
        if row_weight[r] == 0:  # no loss, no gradient (not even 0 * NaN)
            loss_out[i] = 0
            continue
        x = X[r]
        for c in range(n_classes):
            scores[c] = _dot(coef[c], x) + intercept[c]
        row_coef = row_weight[r] * grad_scale
        if kind == CROSS_ENTROPY:
            loss = _cross_entropy_row(scores, grad_scores, y[r], class_weight, weight_total, label_smoothing, row_coef)
        else:
            loss = _hinge_row(scores, grad_scores, y[r], margin, squared, row_coef)
        loss_out[i] = row_weight[r] * loss
        for c in range(n_classes):
            g = grad_scores[c]
            target = grad_coef[c]
            for d in range(n_features):
                target[d] += g * x[d]
            grad_intercept[c] += g


@numba.njit(parallel=True, **_OPTIONS)
def _fused_gradient(kind, X, rows, y, class_weight, row_weight, coef, intercept, grad_scale, label_smoothing, margin,
                    squared, loss_out, grad_coef, grad_intercept):
    n_classes, n_features = coef.shape
    n_batch = rows.shape[0]
    n_chunks = (n_batch + CHUNK_ROWS - 1) // CHUNK_ROWS
    weight_total = class_weight.sum()
    if n_chunks == 0:
        grad_coef[:] = 0
        grad_intercept[:] = 0
        return
    # Every chunk into its own buffer through ONE call site: with two call sites
    # (chunk 0 straight into the outputs) LLVM compiled the two inlined copies
    # differently, and rows gave different last bits depending on which thread
    # ran their chunk.
    partial_coef = np.empty((n_chunks, n_classes, n_features), dtype=coef.dtype)
    partial_intercept = np.empty((n_chunks, n_classes), dtype=coef.dtype)
    for k in numba.prange(n_chunks):
        lo = k * CHUNK_ROWS
        hi = min(lo + CHUNK_ROWS, n_batch)
        scores = np.empty(n_classes, dtype=coef.dtype)
        grad_scores = np.empty(n_classes, dtype=coef.dtype)
        _chunk_gradient(kind, X, rows, lo, hi, y, class_weight, weight_total, row_weight, coef, intercept,
                        grad_scale, label_smoothing, margin, squared, scores, grad_scores, loss_out, partial_coef[k],
                        partial_intercept[k])
    # fixed-order sum of the chunks: the same bits whatever the thread count
    grad_coef[:] = partial_coef[0]
    grad_intercept[:] = partial_intercept[0]
    for k in range(1, n_chunks):
        for c in range(n_classes):
            target = grad_coef[c]
            source = partial_coef[k, c]
            for d in range(n_features):
                target[d] += source[d]
            grad_intercept[c] += partial_intercept[k, c]


def _linear_cross_entropy_gradient(X, rows, y, class_weight, row_weight, coef, intercept, grad_scale, label_smoothing,
                                   loss_out, grad_coef, grad_intercept):
    _fused_gradient(CROSS_ENTROPY, X, rows, y, class_weight, row_weight, coef, intercept, grad_scale,
                    label_smoothing, grad_scale, False, loss_out, grad_coef, grad_intercept)


def _linear_hinge_gradient(X, rows, y, row_weight, coef, intercept, grad_scale, margin, squared, loss_out, grad_coef,
                           grad_intercept):
    # class_weight and label_smoothing are unused by the hinge: placeholders of the right types
    _fused_gradient(HINGE, X, rows, y, intercept, row_weight, coef, intercept, grad_scale, margin, margin,
                    bool(squared), loss_out, grad_coef, grad_intercept)


linear_cross_entropy_gradient = with_n_threads(_linear_cross_entropy_gradient)
linear_hinge_gradient = with_n_threads(_linear_hinge_gradient)
