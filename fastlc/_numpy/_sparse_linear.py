"""Fused linear-model gradient on CSR input, the straightforward SciPy way (the Numba kernel's signature).

The batch rows as a CSR matrix (never dense), ``scores = X_b @ coef_t + b``,
the NumPy loss kernel, then the weight gradient ``X_b[:, T].T @ G`` on the
columns ``T`` present in the batch only: what a SciPy training loop does, and
the reference the Numba kernel (``kernels/numba/_sparse_linear.py``) is
compared with. ``touched`` comes out sorted (the Numba kernel: first-seen
order; the caller only needs the set). ``sgd = [lr, decay, fit_intercept,
scale]`` with ``lr > 0``: plain SGD in place on the scaled weights, as there.
"""
import numpy as np
import scipy.sparse as sp

from ._linear import regression_rows
from ._losses import cross_entropy_hard, multiclass_hinge
from ._optim import adagrad_step


def _batch(data, indices, indptr, rows, n_features):
    X = sp.csr_matrix((data, indices, indptr), shape=(indptr.shape[0] - 1, n_features))
    return X[rows]


def _finish(X_batch, weights, grad_scores, touched, n_previous, seen, sgd, loss_out, coef_t, intercept, grad_coef_t,
            grad_intercept):
    active = weights != 0
    loss_out[~active] = 0
    grad_scores[~active] = 0
    previous = touched[:n_previous]
    seen[previous] = False
    grad_coef_t[previous] = 0
    moving = (grad_scores != 0).any(axis=1)  # rows whose gradient is zero touch no feature (as the Numba kernel)
    columns = np.unique(X_batch[moving].indices)
    block = (X_batch[:, columns].T @ grad_scores).astype(coef_t.dtype, copy=False)  # (n_touched, n_outputs)
    lr, decay, fit_intercept, scale = sgd
    if lr > 0:
        scale = scale * decay
        if scale < 1e-6:
            coef_t *= scale
            scale = coef_t.dtype.type(1)
        sgd[3] = scale
        coef_t[columns] -= (lr / scale) * block
        if fit_intercept:
            intercept -= lr * grad_scores.sum(axis=0)
        return 0
    grad_coef_t[columns] = block
    grad_intercept[...] = grad_scores.sum(axis=0)
    touched[: columns.shape[0]] = columns
    seen[columns] = True
    return columns.shape[0]


def _scores(X_batch, coef_t, intercept, sgd):
    return (sgd[3] * (X_batch @ coef_t)).astype(coef_t.dtype, copy=False) + intercept


def sparse_linear_cross_entropy_gradient(data, indices, indptr, rows, y, class_weight, row_weight, coef_t, intercept,
                                         grad_scale, label_smoothing, grad_scores, touched, n_previous, seen, sgd,
                                         loss_out, grad_coef_t, grad_intercept, n_threads):
    X_batch = _batch(data, indices, indptr, rows, coef_t.shape[0])
    scores = _scores(X_batch, coef_t, intercept, sgd)
    grad = grad_scores[: rows.shape[0]]
    weights = row_weight[rows]
    cross_entropy_hard(scores, y[rows], class_weight, weights, grad_scale, label_smoothing, loss_out, grad, n_threads)
    return _finish(X_batch, weights, grad, touched, n_previous, seen, sgd, loss_out, coef_t, intercept, grad_coef_t,
                   grad_intercept)


def sparse_linear_hinge_gradient(data, indices, indptr, rows, y, row_weight, coef_t, intercept, grad_scale, margin,
                                 squared, grad_scores, touched, n_previous, seen, sgd, loss_out, grad_coef_t,
                                 grad_intercept, n_threads):
    X_batch = _batch(data, indices, indptr, rows, coef_t.shape[0])
    scores = _scores(X_batch, coef_t, intercept, sgd)
    grad = grad_scores[: rows.shape[0]]
    weights = row_weight[rows]
    multiclass_hinge(scores, y[rows], weights, grad_scale, margin, squared, loss_out, grad, n_threads)
    return _finish(X_batch, weights, grad, touched, n_previous, seen, sgd, loss_out, coef_t, intercept, grad_coef_t,
                   grad_intercept)


def sparse_linear_regression_gradient(data, indices, indptr, rows, targets, row_weight, coef_t, intercept, grad_scale,
                                      point, param, grad_scores, touched, n_previous, seen, sgd, loss_out,
                                      grad_coef_t, grad_intercept, n_threads):
    X_batch = _batch(data, indices, indptr, rows, coef_t.shape[0])
    scores = _scores(X_batch, coef_t, intercept, sgd)
    grad = grad_scores[: rows.shape[0]]
    weights = row_weight[rows]
    grad[...] = regression_rows(scores, targets[rows], weights, grad_scale, point, param, loss_out)
    return _finish(X_batch, weights, grad, touched, n_previous, seen, sgd, loss_out, coef_t, intercept, grad_coef_t,
                   grad_intercept)


def sparse_adagrad_rows(n_outputs, clr, eps, weight_decay, touched, n_touched, grad, seen, params, sum_sq,
                        n_threads):
    """The lazy Adagrad step on the rows marked in ``seen`` and the tail: gather, the NumPy ``adagrad_step``,
    scatter; then those rows of ``grad`` and ``seen`` are cleared (as the Numba kernel)."""
    rows = np.flatnonzero(seen)
    head = (rows[:, None] * n_outputs + np.arange(n_outputs)).ravel()
    tail = np.arange(params.shape[0] - n_outputs, params.shape[0])
    zero = params.dtype.type(0)
    for index, decay in ((head, weight_decay), (tail, zero)):
        p, s = params[index], sum_sq[index]
        adagrad_step(grad[index], clr, zero, eps, decay, False, p, s, n_threads)
        params[index], sum_sq[index] = p, s
        grad[index] = 0
    seen[rows] = False


def _truncate(weights, applied, index, u, scale):
    z, q = weights[index].copy(), applied[index].copy()  # copies: a slice index gives views
    true = scale * z
    w = np.where(true > 0, np.maximum(0, z - (u + q) / scale),
                 np.where(true < 0, np.minimum(0, z + (u - q) / scale), z))
    weights[index] = w
    applied[index] = q + scale * (w - z)


def sparse_l1_catch_up(indices, indptr, rows, n_outputs, u, scale, touched, seen, weights, applied, n_threads):
    """Cumulative L1 truncation of the batch's feature rows (see the Numba kernel), as array expressions."""
    columns = np.unique(np.concatenate([indices[indptr[r]:indptr[r + 1]] for r in rows] + [indices[:0]]))
    _truncate(weights, applied, (columns[:, None] * n_outputs + np.arange(n_outputs)).ravel(), u, scale)


def sparse_l1_truncate_all(n_outputs, u, scale, weights, applied, n_threads):
    _truncate(weights, applied, slice(None), u, scale)


def _row_index(n_outputs, touched, n_touched, size):
    """Flat indices of the rows touched[:n_touched] of the (n_features, n_outputs) head, then the tail."""
    head = (touched[:n_touched, None] * n_outputs + np.arange(n_outputs)).ravel()
    return np.concatenate([head, np.arange(size - n_outputs, size)])


def sparse_gather_rows(flat, n_outputs, touched, n_touched, out, n_threads):
    """out = [the touched rows of flat's feature-major head, then its n_outputs tail] (packed)."""
    index = _row_index(n_outputs, touched, n_touched, flat.shape[0])
    out[: index.shape[0]] = flat[index]


def sparse_scatter_rows(packed, n_outputs, touched, n_touched, flat, n_threads):
    """The inverse of sparse_gather_rows: write ``packed`` back into ``flat``."""
    index = _row_index(n_outputs, touched, n_touched, flat.shape[0])
    flat[index] = packed[: index.shape[0]]
