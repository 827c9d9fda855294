"""Fused mini-batch gradient of a linear model on CSR input, in Numba.

The sparse counterpart of ``_linear.py``, for weights stored feature-major:
``coef_t`` of shape (n_features, n_outputs), so one non-zero ``x_ij`` reads and
writes one contiguous row ``coef_t[j]`` of ``n_outputs`` values (a class-major
(n_outputs, n_features) layout would touch ``n_outputs`` cache lines per
non-zero). Per batch:

1. scores ``s_i = sum_p data[p] coef_t[indices[p]] + b`` of each batch row,
   straight from the CSR arrays by row index (no gathered copy, never dense),
   the loss row and ``g_i = dL_i/ds_i`` by the SAME row functions as the dense
   kernel (``_rowmath.py``, ``_nn_losses.regression_row``); parallel over fixed
   CHUNK_ROWS-row chunks, each row independent of the others;
2. the weight gradient ``sum_i g_i x_i^T`` on the feature rows present in the
   batch only, each row of it added in batch order by one thread (a fixed
   summation order, so the bits do not depend on the thread count): on one
   thread all of them (the touched feature indices come back in first-seen
   order), on several each thread the rows of its own range of features
   (in feature order then).

``grad_coef_t`` is zero outside the rows listed in ``touched`` by the previous
call (the caller keeps the invariant by passing that list back in): the call
first clears those rows, so a batch costs its non-zeros, not n_features.
"""
import numba
import numpy as np

from fastlc._config import NUMBA_OPTIONS
from fastlc._constants import CHUNK_ROWS, SPARSE_SWEEP_FROM, SPARSE_SWEEP_ROWS

from ._linear import CROSS_ENTROPY, HINGE, REGRESSION  # noqa: F401  (the kinds, shared with the dense kernel)
from ._nn_losses import regression_row
from ._optim import adagrad_point
from ._rowmath import cross_entropy_hard_row_ordered, fast_exp, hinge_row_ordered, squared_hinge_row_ordered
from ._threads import with_n_threads

# as the dense kernel: no re-association (the row functions are compiled without it), NaN propagates
_OPTIONS = dict(NUMBA_OPTIONS, fastmath=NUMBA_OPTIONS["fastmath"] - {"reassoc"})


@numba.njit(inline="always", **_OPTIONS)
def _moves(g):
    """Whether the row gradient ``g`` has a non-zero (or NaN) entry: rows without add nothing to the
    gradient (adding 0 * x is exact: X is finite), and their features count as not touched by the batch."""
    for c in range(g.shape[0]):
        if g[c] != 0:
            return True
    return False


@numba.njit(parallel=True, **_OPTIONS)
def _sparse_fused_gradient(kind, data, indices, indptr, rows, y, targets, point, class_weight, row_weight, coef_t,
                           intercept, grad_scale, label_smoothing, margin, squared, grad_scores, touched, n_previous,
                           seen, sgd, loss_out, grad_coef_t, grad_intercept, n_parts):
    n_features, n_outputs = coef_t.shape
    # sgd = (lr, weight decay factor, fit_intercept, scale): if lr > 0, apply plain SGD in place instead
    lr, decay, fit_intercept = sgd[0], sgd[1], sgd[2] != 0
    scale = sgd[3]
    n_batch = rows.shape[0]
    zero = coef_t.dtype.type(0)
    for t in range(n_previous):
        j = touched[t]
        seen[j] = False
        for c in range(n_outputs):
            grad_coef_t[j, c] = zero
    weight_total = class_weight.sum()
    n_chunks = (n_batch + CHUNK_ROWS - 1) // CHUNK_ROWS
    for k in numba.prange(n_chunks):
        scores = np.empty(n_outputs, dtype=coef_t.dtype)
        for i in range(k * CHUNK_ROWS, min((k + 1) * CHUNK_ROWS, n_batch)):
            r = rows[i]
            g = grad_scores[i]
            if row_weight[r] == 0:  # no loss, no gradient, not even 0 * NaN
                loss_out[i] = zero
                g[:] = zero
                continue
            for c in range(n_outputs):
                scores[c] = zero
            for p in range(indptr[r], indptr[r + 1]):
                value = data[p]
                w = coef_t[indices[p]]
                for c in range(n_outputs):
                    scores[c] += value * w[c]
            for c in range(n_outputs):
                scores[c] = scale * scores[c] + intercept[c]  # scale: 1 but in the fused SGD (exact then)
            row_coef = row_weight[r] * grad_scale
            if kind == CROSS_ENTROPY:
                m = scores[0]
                for c in range(1, n_outputs):
                    m = scores[c] if scores[c] > m else m
                for c in range(n_outputs):
                    g[c] = fast_exp(scores[c] - m)
                loss = cross_entropy_hard_row_ordered(scores, g, m, y[r], class_weight, weight_total,
                                                      label_smoothing, row_coef)
            elif kind == REGRESSION:
                loss = regression_row(scores, targets[r], point, margin, row_coef, g)
            elif squared:
                loss = squared_hinge_row_ordered(scores, y[r], margin, row_coef, g)
            else:
                loss = hinge_row_ordered(scores, y[r], margin, row_coef, g)
            loss_out[i] = row_weight[r] * loss
    if lr > 0:
        return _sgd_in_place(indices, indptr, data, rows, row_weight, grad_scores, lr, decay, fit_intercept, sgd,
                             coef_t, intercept)
    grad_intercept[:] = zero
    for i in range(n_batch):
        g = grad_scores[i]
        if _moves(g):
            for c in range(n_outputs):
                grad_intercept[c] += g[c]
    if n_parts == 1:
        n_touched = 0
        for i in range(n_batch):
            r = rows[i]
            g = grad_scores[i]
            if not _moves(g):  # a zero-weight row, or a hinge row with every margin met: no feature touched
                continue
            for p in range(indptr[r], indptr[r + 1]):
                j = indices[p]
                if not seen[j]:
                    seen[j] = True
                    touched[n_touched] = j
                    n_touched += 1
                value = data[p]
                target = grad_coef_t[j]
                for c in range(n_outputs):
                    target[c] += g[c] * value
        return n_touched
    # Several threads: each owns a range of features and adds, in batch order, the terms that fall in it
    # (every thread reads all the batch's indices; the scattered read-modify-writes, the cost, are split).
    # Each row of the gradient is still summed in batch order by one thread: the same bits as above.
    for part in numba.prange(n_parts):
        low, high = part * n_features // n_parts, (part + 1) * n_features // n_parts
        for i in range(n_batch):
            g = grad_scores[i]
            if not _moves(g):
                continue
            r = rows[i]
            for p in range(indptr[r], indptr[r + 1]):
                j = indices[p]
                if j < low or j >= high:
                    continue
                seen[j] = True
                value = data[p]
                target = grad_coef_t[j]
                for c in range(n_outputs):
                    target[c] += g[c] * value
    n_touched = 0  # in feature order here (first-seen above): the callers use the set only
    for j in range(n_features):
        if seen[j]:
            touched[n_touched] = j
            n_touched += 1
    return n_touched


@numba.njit(**_OPTIONS)
def _sgd_in_place(indices, indptr, data, rows, row_weight, grad_scores, lr, decay, fit_intercept, sgd, coef_t,
                  intercept):
    """Plain SGD with L2 weight decay on the batch's feature rows only, exact: W = scale * V (sgd[3]).

    torch's ``W <- W (1 - lr wd) - lr G`` becomes ``scale <- scale (1 - lr wd)``, ``V <- V - (lr / scale) G``
    (scikit-learn's scaled-weights trick): the decay of every weight costs one multiplication. Rows are
    added in batch order on one thread (deterministic). Returns 0 (no touched list).
    """
    n_outputs = coef_t.shape[1]
    scale = sgd[3] * decay
    if scale < 1e-6:  # fold the scale in before V grows too large (rare: O(n_features) once)
        for j in range(coef_t.shape[0]):
            for c in range(n_outputs):
                coef_t[j, c] *= scale
        scale = coef_t.dtype.type(1)
    sgd[3] = scale
    step = lr / scale
    for i in range(rows.shape[0]):
        r = rows[i]
        g = grad_scores[i]
        if not _moves(g):
            continue
        if fit_intercept:
            for c in range(n_outputs):
                intercept[c] -= lr * g[c]
        for p in range(indptr[r], indptr[r + 1]):
            factor = step * data[p]
            target = coef_t[indices[p]]
            for c in range(n_outputs):
                target[c] -= factor * g[c]
    return 0


@numba.njit(inline="always", **_OPTIONS)
def _truncate_row(weights, applied, base, n_outputs, u, scale):
    """Cumulative L1 truncation (Tsuruoka, Tsujii and Ananiadou 2009; scikit-learn's SGD ``l1penalty``) of the
    row at ``base`` of the flat weights (true weights ``scale * weights``): ``u`` is the L1 penalty every
    weight could have received so far (the sum of ``lr * alpha_l1`` over the steps), ``applied`` (true units)
    what each one did receive; a weight moves towards 0 by the difference, never past it."""
    zero = weights.dtype.type(0)
    w, q = weights[base:base + n_outputs], applied[base:base + n_outputs]
    for c in range(n_outputs):
        z = w[c]
        if scale * z > zero:
            w[c] = max(zero, z - (u + q[c]) / scale)
        elif scale * z < zero:
            w[c] = min(zero, z + (u - q[c]) / scale)
        q[c] += scale * (w[c] - z)


@numba.njit(**_OPTIONS)
def _sparse_l1_catch_up(indices, indptr, rows, n_outputs, u, scale, touched, seen, weights, applied):
    """Bring the feature rows of the batch ``rows`` up to date with the L1 penalty ``u`` before they are used.

    Between two batches that contain a feature its weights change by the penalty only, and truncations
    compose (truncating at u1 then at u2 is truncating at u2), so one truncation at the penalty so far, just
    before the batch reads the row, gives the weights that truncating every weight after every step gives:
    the lazy rule is exact for plain SGD with L1 (the caller truncates every row once more at the end of an
    epoch). ``touched`` and ``seen`` are scratch (``seen`` all False on entry and on return).
    """
    n_touched = 0
    for i in range(rows.shape[0]):
        r = rows[i]
        for p in range(indptr[r], indptr[r + 1]):
            j = indices[p]
            if not seen[j]:
                seen[j] = True
                touched[n_touched] = j
                n_touched += 1
                _truncate_row(weights, applied, j * n_outputs, n_outputs, u, scale)
    for t in range(n_touched):
        seen[touched[t]] = False


@numba.njit(**_OPTIONS)
def _sparse_l1_truncate_all(n_outputs, u, scale, weights, applied):
    """Truncate every row (the epoch's end: the model then is the per-step rule's)."""
    for j in range(weights.shape[0] // n_outputs):
        _truncate_row(weights, applied, j * n_outputs, n_outputs, u, scale)


@numba.njit(**_OPTIONS)
def _gather_rows(flat, n_outputs, touched, n_touched, out):
    """out = [flat rows touched[:n_touched] of the (n_features, n_outputs) head, then the n_outputs tail]."""
    n_head = flat.shape[0] - n_outputs
    for t in range(n_touched):
        base = touched[t] * n_outputs
        for c in range(n_outputs):
            out[t * n_outputs + c] = flat[base + c]
    for c in range(n_outputs):
        out[n_touched * n_outputs + c] = flat[n_head + c]


@numba.njit(**_OPTIONS)
def _scatter_rows(packed, n_outputs, touched, n_touched, flat):
    """The inverse of _gather_rows: write ``packed`` back into ``flat``."""
    n_head = flat.shape[0] - n_outputs
    for t in range(n_touched):
        base = touched[t] * n_outputs
        for c in range(n_outputs):
            flat[base + c] = packed[t * n_outputs + c]
    for c in range(n_outputs):
        flat[n_head + c] = packed[n_touched * n_outputs + c]


@numba.njit(parallel=True, **_OPTIONS)
def _sparse_adagrad_rows(n_outputs, clr, eps, weight_decay, touched, n_touched, grad, seen, params, sum_sq):
    """The lazy Adagrad step in place on the feature rows ``touched[:n_touched]`` (marked in ``seen``; with
    ``weight_decay``) and on the n_outputs tail (the intercepts, without), as gather + ``adagrad_step`` +
    scatter would do but without the copies; then it clears those rows of ``grad`` and their ``seen`` marks
    (so the next gradient call has nothing to clear: pass it ``n_previous=0``).

    ``grad``, ``params``, ``sum_sq``: flat [(n_features, n_outputs) feature-major head, n_outputs tail].
    When the batch touched many rows they are visited in feature order (a parallel sweep of ``seen``): the
    memory then streams forward, which the hardware prefetchers follow (the scattered first-seen order cost
    ~3x on 4096-row text batches); a few rows are stepped from the list (a sweep of every feature would cost
    more than they do). Rows are independent: the same bits either way, on any number of threads.
    """
    n_features = seen.shape[0]
    zero = params.dtype.type(0)
    if n_touched * SPARSE_SWEEP_FROM < n_features:
        for t in numba.prange(n_touched):
            j = touched[t]
            _adagrad_row(grad, params, sum_sq, j * n_outputs, n_outputs, clr, eps, weight_decay)
            seen[j] = False
    else:
        n_blocks = (n_features + SPARSE_SWEEP_ROWS - 1) // SPARSE_SWEEP_ROWS
        for block in numba.prange(n_blocks):
            for j in range(block * SPARSE_SWEEP_ROWS, min((block + 1) * SPARSE_SWEEP_ROWS, n_features)):
                if seen[j]:
                    _adagrad_row(grad, params, sum_sq, j * n_outputs, n_outputs, clr, eps, weight_decay)
                    seen[j] = False
    _adagrad_row(grad, params, sum_sq, n_features * n_outputs, n_outputs, clr, eps, zero)


@numba.njit(inline="always", **_OPTIONS)
def _adagrad_row(grad, params, sum_sq, base, n_outputs, clr, eps, weight_decay):
    # row slices and a range(len) loop: no index wrap-around checks, so LLVM vectorizes (see _optim.py)
    zero = params.dtype.type(0)
    g, p, s = grad[base:base + n_outputs], params[base:base + n_outputs], sum_sq[base:base + n_outputs]
    for c in range(n_outputs):
        p[c], s[c] = adagrad_point(g[c], p[c], s[c], clr, zero, eps, weight_decay, False)
        g[c] = zero


def _sparse_linear_cross_entropy_gradient(data, indices, indptr, rows, y, class_weight, row_weight, coef_t, intercept,
                                          grad_scale, label_smoothing, grad_scores, touched, n_previous, seen, sgd,
                                          loss_out, grad_coef_t, grad_intercept):
    # targets and point are unused by the classifiers: grad_scores stands in for targets (right type), 0 for point
    return _sparse_fused_gradient(CROSS_ENTROPY, data, indices, indptr, rows, y, grad_scores, 0, class_weight,
                                  row_weight,
                                  coef_t, intercept, grad_scale, label_smoothing, grad_scale, False, grad_scores,
                                  touched, n_previous, seen, sgd, loss_out, grad_coef_t, grad_intercept,
                                  numba.get_num_threads())


def _sparse_linear_hinge_gradient(data, indices, indptr, rows, y, row_weight, coef_t, intercept, grad_scale, margin,
                                  squared, grad_scores, touched, n_previous, seen, sgd, loss_out,
                                  grad_coef_t, grad_intercept):
    # class_weight and label_smoothing are unused by the hinge: placeholders of the right types
    return _sparse_fused_gradient(HINGE, data, indices, indptr, rows, y, grad_scores, 0, intercept, row_weight, coef_t,
                                  intercept, grad_scale, margin, margin, bool(squared), grad_scores, touched,
                                  n_previous, seen, sgd, loss_out, grad_coef_t, grad_intercept,
                                  numba.get_num_threads())


def _sparse_linear_regression_gradient(data, indices, indptr, rows, targets, row_weight, coef_t, intercept,
                                       grad_scale, point, param, grad_scores, touched, n_previous, seen, sgd,
                                       loss_out, grad_coef_t, grad_intercept):
    # the labels and class weights are unused by the regressor: rows and intercept stand in (right types)
    return _sparse_fused_gradient(REGRESSION, data, indices, indptr, rows, rows, targets, point, intercept,
                                  row_weight, coef_t, intercept, grad_scale, param, param, False, grad_scores,
                                  touched, n_previous, seen, sgd, loss_out, grad_coef_t, grad_intercept,
                                  numba.get_num_threads())


sparse_linear_cross_entropy_gradient = with_n_threads(_sparse_linear_cross_entropy_gradient)
sparse_linear_hinge_gradient = with_n_threads(_sparse_linear_hinge_gradient)
sparse_linear_regression_gradient = with_n_threads(_sparse_linear_regression_gradient)
sparse_adagrad_rows = with_n_threads(_sparse_adagrad_rows)
sparse_l1_catch_up = with_n_threads(_sparse_l1_catch_up)
sparse_l1_truncate_all = with_n_threads(_sparse_l1_truncate_all)
sparse_gather_rows = with_n_threads(_gather_rows)
sparse_scatter_rows = with_n_threads(_scatter_rows)
