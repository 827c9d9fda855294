"""Fused mini-batch gradient of a linear classifier in Numba (see kernels/cython/_linear.pyx).

Each batch row is read once, straight from ``X`` by index, in groups of
GROUP rows: the scores of the group (each weight row read once per group),
the loss rows (their exps in one vectorized pass over the group), and the
update of the weight gradient (each gradient row read and written once per
group) while the rows are in L1. The batch is cut into fixed CHUNK_ROWS-row chunks (a function of the batch size
only), each chunk sums into its own buffer, and the buffers are added in
chunk order: the same bits for any thread count. Compiled WITHOUT the
``reassoc`` fast-math flag except for the dot product over the features:
with ``reassoc`` on the whole kernel, under Numba's OpenMP threading layer
some rows came out different in the last bit on 1 and on 2+ threads
(measured; not with ``contract`` alone, nor with ``reassoc`` on the dot
products ``_dot4x2`` only). Explicit partial sums without ``reassoc`` did not vectorize (3x
slower). The axpys vectorize anyway. No nnan/ninf: NaN propagates.
Scalars arrive cast to the arrays' dtype and every constant is made with
``dtype.type``.
"""
import numba
import numpy as np

from fastlc._config import NUMBA_OPTIONS
from fastlc._constants import CHUNK_ROWS, GROUP

from ._nn_losses import regression_row
from ._rowmath import cross_entropy_hard_row_ordered, fast_exp, hinge_row_ordered, squared_hinge_row_ordered
from ._threads import with_n_threads

# See the module docstring: everything but re-association.
_OPTIONS = dict(NUMBA_OPTIONS, fastmath=NUMBA_OPTIONS["fastmath"] - {"reassoc"})

CROSS_ENTROPY = 0
HINGE = 1
REGRESSION = 2


@numba.njit(**_OPTIONS)
def _exp_shifted_rows(scores, g, row_max, n_rows):
    """g[a] = exp(scores[a] - max(scores[a])) for the first n_rows rows, the maxima into row_max."""
    n_classes = scores.shape[1]
    for a in range(n_rows):
        m = scores[a, 0]
        for j in range(1, n_classes):
            m = scores[a, j] if scores[a, j] > m else m
        row_max[a] = m
        for j in range(n_classes):
            g[a, j] = scores[a, j] - m
    flat = g.reshape(-1)  # the exps of the whole group in one loop: a 10-class row alone is too short
    for k in range(n_rows * n_classes):
        flat[k] = fast_exp(flat[k])


@numba.njit(**NUMBA_OPTIONS)
def _dot4x2(v, w, x0, x1, x2, x3):
    """v . x_r and w . x_r for 4 rows, vectorized by re-association (the one function with ``reassoc``).

    Two weight rows per pass: 6 loads per 8 multiply-adds, where one row alone needs 5 per 4.
    """
    a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = v.dtype.type(0)
    for d in range(v.shape[0]):
        vd = v[d]
        wd = w[d]
        a0 += vd * x0[d]
        b0 += wd * x0[d]
        a1 += vd * x1[d]
        b1 += wd * x1[d]
        a2 += vd * x2[d]
        b2 += wd * x2[d]
        a3 += vd * x3[d]
        b3 += wd * x3[d]
    return a0, a1, a2, a3, b0, b1, b2, b3


@numba.njit(**_OPTIONS)
def _chunk_gradient(kind, X, rows, lo, hi, y, targets, point, class_weight, weight_total, row_weight, coef,
                    intercept, grad_scale, label_smoothing, margin, squared, zeros, scores, grad_scores, loss_out,
                    grad_coef, grad_intercept):
    """Batch rows [lo, hi): losses into loss_out[lo:hi], their summed gradient into grad_coef / grad_intercept.

    ``scores`` and ``grad_scores`` are (GROUP, n_classes) scratch; ``zeros`` a row of zeros that
    stands in for the rows a group lacks (coefficient 0: they add exact zeros). Classifiers read
    the labels ``y``, the regressor (kind REGRESSION, ``n_classes`` = targets) the rows of
    ``targets`` with the point loss ``point`` of threshold ``margin``.
    """
    n_classes, n_features = coef.shape
    grad_coef[:] = 0
    grad_intercept[:] = 0
    slot = np.empty(GROUP, dtype=np.intp)
    row_max = np.empty(GROUP, dtype=coef.dtype)
    active = np.empty(n_classes, dtype=np.intp)
    i = lo
    while i < hi:
        # the next GROUP rows that take part (weight 0: no loss, no gradient, not even 0 * NaN)
        n_active = 0
        while i < hi and n_active < GROUP:
            if row_weight[rows[i]] == 0:
                loss_out[i] = 0
            else:
                slot[n_active] = i
                n_active += 1
            i += 1
        if n_active == 0:
            break
        x0 = X[rows[slot[0]]]
        x1 = X[rows[slot[1]]] if n_active > 1 else zeros
        x2 = X[rows[slot[2]]] if n_active > 2 else zeros
        x3 = X[rows[slot[3]]] if n_active > 3 else zeros
        for c in range(0, n_classes, 2):
            c1 = c + 1 if c + 1 < n_classes else c  # an odd last class is paired with itself
            a0, a1, a2, a3, b0, b1, b2, b3 = _dot4x2(coef[c], coef[c1], x0, x1, x2, x3)
            scores[0, c] = a0 + intercept[c]
            scores[1, c] = a1 + intercept[c]
            scores[2, c] = a2 + intercept[c]
            scores[3, c] = a3 + intercept[c]
            scores[0, c1] = b0 + intercept[c1]
            scores[1, c1] = b1 + intercept[c1]
            scores[2, c1] = b2 + intercept[c1]
            scores[3, c1] = b3 + intercept[c1]
        if kind == CROSS_ENTROPY:
            _exp_shifted_rows(scores, grad_scores, row_max, n_active)
        for a in range(GROUP):
            if a >= n_active:
                grad_scores[a, :] = 0
                continue
            r = rows[slot[a]]
            row_coef = row_weight[r] * grad_scale
            # the loss kernels' row functions (_rowmath.py; compiled without reassoc): one formula for both
            if kind == CROSS_ENTROPY:
                loss = cross_entropy_hard_row_ordered(scores[a], grad_scores[a], row_max[a], y[r], class_weight,
                                                      weight_total, label_smoothing, row_coef)
            elif kind == REGRESSION:
                loss = regression_row(scores[a], targets[r], point, margin, row_coef, grad_scores[a])
            elif squared:
                loss = squared_hinge_row_ordered(scores[a], y[r], margin, row_coef, grad_scores[a])
            else:
                loss = hinge_row_ordered(scores[a], y[r], margin, row_coef, grad_scores[a])
            loss_out[slot[a]] = row_weight[r] * loss
        n_moved = 0
        for c in range(n_classes):
            # the hinge gradient is sparse (margins met): classes no row of the group moves are
            # skipped (NaN is nonzero, so NaN still propagates)
            moved = False
            for a in range(n_active):
                if grad_scores[a, c] != 0:
                    moved = True
                    grad_intercept[c] += grad_scores[a, c]
            if moved:
                active[n_moved] = c
                n_moved += 1
        # two gradient rows per pass: each row vector loaded once for both
        for k in range(0, n_moved, 2):
            c0 = active[k]
            c1 = active[k + 1] if k + 1 < n_moved else c0
            _axpy4x2(grad_coef[c0], grad_coef[c1], k + 1 < n_moved, grad_scores[:, c0], grad_scores[:, c1],
                     x0, x1, x2, x3)


@numba.njit(**_OPTIONS)
def _axpy4x2(u, v, pair, g, h, x0, x1, x2, x3):
    """u += g[0] x0 + ... + g[3] x3 and, if pair, v += h[0] x0 + ... (added in that order)."""
    g0, g1, g2, g3 = g[0], g[1], g[2], g[3]
    if pair:
        h0, h1, h2, h3 = h[0], h[1], h[2], h[3]
        for d in range(u.shape[0]):
            a0, a1, a2, a3 = x0[d], x1[d], x2[d], x3[d]
            t = u[d]
            t += g0 * a0
            t += g1 * a1
            t += g2 * a2
            t += g3 * a3
            u[d] = t
            t = v[d]
            t += h0 * a0
            t += h1 * a1
            t += h2 * a2
            t += h3 * a3
            v[d] = t
    else:
        for d in range(u.shape[0]):
            t = u[d]
            t += g0 * x0[d]
            t += g1 * x1[d]
            t += g2 * x2[d]
            t += g3 * x3[d]
            u[d] = t


@numba.njit(parallel=True, **_OPTIONS)
def _fused_gradient(kind, X, rows, y, targets, point, class_weight, row_weight, coef, intercept, grad_scale,
                    label_smoothing, margin, squared, loss_out, grad_coef, grad_intercept):
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
    zeros = np.zeros(n_features, dtype=coef.dtype)
    for k in numba.prange(n_chunks):
        lo = k * CHUNK_ROWS
        hi = min(lo + CHUNK_ROWS, n_batch)
        scores = np.empty((GROUP, n_classes), dtype=coef.dtype)
        grad_scores = np.empty((GROUP, n_classes), dtype=coef.dtype)
        _chunk_gradient(kind, X, rows, lo, hi, y, targets, point, class_weight, weight_total, row_weight, coef,
                        intercept, grad_scale, label_smoothing, margin, squared, zeros, scores, grad_scores, loss_out,
                        partial_coef[k], partial_intercept[k])
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
    # targets and point are unused by the classifiers: X stands in for targets (right type), 0 for point
    _fused_gradient(CROSS_ENTROPY, X, rows, y, X, 0, class_weight, row_weight, coef, intercept, grad_scale,
                    label_smoothing, grad_scale, False, loss_out, grad_coef, grad_intercept)


def _linear_hinge_gradient(X, rows, y, row_weight, coef, intercept, grad_scale, margin, squared, loss_out, grad_coef,
                           grad_intercept):
    # class_weight and label_smoothing are unused by the hinge: placeholders of the right types
    _fused_gradient(HINGE, X, rows, y, X, 0, intercept, row_weight, coef, intercept, grad_scale, margin, margin,
                    bool(squared), loss_out, grad_coef, grad_intercept)


def _linear_regression_gradient(X, rows, targets, row_weight, coef, intercept, grad_scale, point, param, loss_out,
                                grad_coef, grad_intercept):
    # the labels and class weights are unused by the regressor: rows and intercept stand in (right types)
    _fused_gradient(REGRESSION, X, rows, rows, targets, point, intercept, row_weight, coef, intercept, grad_scale,
                    param, param, False, loss_out, grad_coef, grad_intercept)


linear_cross_entropy_gradient = with_n_threads(_linear_cross_entropy_gradient)
linear_hinge_gradient = with_n_threads(_linear_hinge_gradient)
linear_regression_gradient = with_n_threads(_linear_regression_gradient)
