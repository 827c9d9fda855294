"""Reference fused linear-model gradient on CSR input, written as explicit loops (the Numba kernel's signature).

For each batch row ``r = rows[k]``: its scores ``s = scale * sum_p data[p] coef_t[indices[p]] + b`` over
the row's stored values only, the loss row and ``g = dL/ds`` by the naive loss kernels
(``_losses.py``, the regression rows of ``_linear.py``); then, row by row in batch order, either

- ``sgd[0] == 0``: ``grad_coef_t[j] += g * x_rj`` on the features ``j`` of the rows whose gradient is not
  zero (the touched features, listed in first-seen order in ``touched`` and marked in ``seen``) and
  ``grad_intercept += g``; the rows touched by the previous call are cleared first; or
- ``sgd[0] = lr > 0``: plain SGD in place on the scaled weights ``W = scale * V``:
  ``scale *= decay``, ``V[j] -= (lr / scale) g x_rj``, ``b -= lr g`` (scikit-learn's scaled-weights trick).

Also the lazy Adagrad step and the cumulative L1 truncation on feature rows. Small and slow on purpose:
the yardstick the other backends are read against.
"""
import numpy as np

from ._linear import regression_rows
from ._losses import cross_entropy_hard, multiclass_hinge
from ._optim import adagrad_step


def _scores(data, indices, indptr, rows, coef_t, intercept, scale):
    n_outputs = coef_t.shape[1]
    scores = np.zeros((rows.shape[0], n_outputs), dtype=coef_t.dtype)
    for k in range(rows.shape[0]):
        r = rows[k]
        for c in range(n_outputs):
            total = 0.0
            for p in range(indptr[r], indptr[r + 1]):
                total += data[p] * coef_t[indices[p], c]
            scores[k, c] = scale * total + intercept[c]
    return scores


def _moves(g):
    return any(value != 0 for value in g)


def _finish(data, indices, indptr, rows, grad, touched, n_previous, seen, sgd, coef_t, intercept, grad_coef_t,
            grad_intercept):
    n_features, n_outputs = coef_t.shape
    for t in range(n_previous):
        seen[touched[t]] = False
        for c in range(n_outputs):
            grad_coef_t[touched[t], c] = 0
    lr, decay, fit_intercept, scale = sgd
    if lr > 0:
        scale = scale * decay
        if scale < 1e-6:
            for j in range(n_features):
                for c in range(n_outputs):
                    coef_t[j, c] *= scale
            scale = coef_t.dtype.type(1)
        sgd[3] = scale
        step = lr / scale
        for k in range(rows.shape[0]):
            r, g = rows[k], grad[k]
            if not _moves(g):
                continue
            for c in range(n_outputs):
                if fit_intercept:
                    intercept[c] -= lr * g[c]
                for p in range(indptr[r], indptr[r + 1]):
                    coef_t[indices[p], c] -= step * data[p] * g[c]
        return 0
    n_touched = 0
    for c in range(n_outputs):
        grad_intercept[c] = 0
    for k in range(rows.shape[0]):
        r, g = rows[k], grad[k]
        if not _moves(g):
            continue
        for c in range(n_outputs):
            grad_intercept[c] += g[c]
        for p in range(indptr[r], indptr[r + 1]):
            j = indices[p]
            if not seen[j]:
                seen[j] = True
                touched[n_touched] = j
                n_touched += 1
            for c in range(n_outputs):
                grad_coef_t[j, c] += g[c] * data[p]
    return n_touched


def sparse_linear_cross_entropy_gradient(data, indices, indptr, rows, y, class_weight, row_weight, coef_t, intercept,
                                         grad_scale, label_smoothing, grad_scores, touched, n_previous, seen, sgd,
                                         loss_out, grad_coef_t, grad_intercept, n_threads):
    scores = _scores(data, indices, indptr, rows, coef_t, intercept, sgd[3])
    grad = grad_scores[: rows.shape[0]]
    cross_entropy_hard(scores, y[rows], class_weight, row_weight[rows], grad_scale, label_smoothing, loss_out, grad,
                       n_threads)
    return _finish(data, indices, indptr, rows, grad, touched, n_previous, seen, sgd, coef_t, intercept, grad_coef_t,
                   grad_intercept)


def sparse_linear_hinge_gradient(data, indices, indptr, rows, y, row_weight, coef_t, intercept, grad_scale, margin,
                                 squared, grad_scores, touched, n_previous, seen, sgd, loss_out, grad_coef_t,
                                 grad_intercept, n_threads):
    scores = _scores(data, indices, indptr, rows, coef_t, intercept, sgd[3])
    grad = grad_scores[: rows.shape[0]]
    multiclass_hinge(scores, y[rows], row_weight[rows], grad_scale, margin, squared, loss_out, grad, n_threads)
    return _finish(data, indices, indptr, rows, grad, touched, n_previous, seen, sgd, coef_t, intercept, grad_coef_t,
                   grad_intercept)


def sparse_linear_regression_gradient(data, indices, indptr, rows, targets, row_weight, coef_t, intercept, grad_scale,
                                      point, param, grad_scores, touched, n_previous, seen, sgd, loss_out,
                                      grad_coef_t, grad_intercept, n_threads):
    scores = _scores(data, indices, indptr, rows, coef_t, intercept, sgd[3])
    grad = grad_scores[: rows.shape[0]]
    grad[...] = regression_rows(scores, targets[rows], row_weight[rows], grad_scale, point, param, loss_out)
    return _finish(data, indices, indptr, rows, grad, touched, n_previous, seen, sgd, coef_t, intercept, grad_coef_t,
                   grad_intercept)


def sparse_adagrad_rows(n_outputs, clr, eps, weight_decay, touched, n_touched, grad, seen, params, sum_sq, n_threads):
    """Adagrad on each touched feature row (with weight decay) and on the tail (the intercepts, without), in
    place; then the rows of ``grad`` and ``seen`` are cleared."""
    zero = params.dtype.type(0)
    bases = [touched[t] * n_outputs for t in range(n_touched)] + [params.shape[0] - n_outputs]
    for t, base in enumerate(bases):
        part = slice(base, base + n_outputs)
        adagrad_step(grad[part], clr, zero, eps, weight_decay if t < n_touched else zero, False, params[part],
                     sum_sq[part], n_threads)
        grad[part] = 0
    for t in range(n_touched):
        seen[touched[t]] = False


def _truncate(weights, applied, k, u, scale):
    z = weights[k]
    if scale * z > 0:
        weights[k] = max(0, z - (u + applied[k]) / scale)
    elif scale * z < 0:
        weights[k] = min(0, z + (u - applied[k]) / scale)
    applied[k] += scale * (weights[k] - z)


def sparse_l1_catch_up(indices, indptr, rows, n_outputs, u, scale, touched, seen, weights, applied, n_threads):
    """Cumulative L1 truncation (Tsuruoka et al. 2009) of each feature row of the batch, once."""
    done = set()
    for r in rows:
        for p in range(indptr[r], indptr[r + 1]):
            j = int(indices[p])
            if j not in done:
                done.add(j)
                for c in range(n_outputs):
                    _truncate(weights, applied, j * n_outputs + c, u, scale)


def sparse_l1_truncate_all(n_outputs, u, scale, weights, applied, n_threads):
    for k in range(weights.shape[0]):
        _truncate(weights, applied, k, u, scale)


def _row_starts(n_outputs, touched, n_touched, size):
    return [touched[t] * n_outputs for t in range(n_touched)] + [size - n_outputs]


def sparse_gather_rows(flat, n_outputs, touched, n_touched, out, n_threads):
    """out = [the touched rows of flat's feature-major head, then its n_outputs tail] (packed)."""
    for t, base in enumerate(_row_starts(n_outputs, touched, n_touched, flat.shape[0])):
        for c in range(n_outputs):
            out[t * n_outputs + c] = flat[base + c]


def sparse_scatter_rows(packed, n_outputs, touched, n_touched, flat, n_threads):
    """The inverse of sparse_gather_rows."""
    for t, base in enumerate(_row_starts(n_outputs, touched, n_touched, flat.shape[0])):
        for c in range(n_outputs):
            flat[base + c] = packed[t * n_outputs + c]
