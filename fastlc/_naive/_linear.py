"""Reference fused linear-model gradient, written as explicit loops.

Private signature shared by every backend (see kernels/cython/_linear.pyx):
for each batch row ``rows[k]`` of ``X``: scores s = coef @ x + intercept, the
loss row (``row_weight * L``) into ``loss_out[k]`` and its gradient
g = ``row_weight * grad_scale * dL/ds``; then ``grad_coef = sum_k g_k x_k^T`` and
``grad_intercept = sum_k g_k`` (overwritten, not accumulated). Rows of weight
0 take no part. The loss rows are those of ``fastlc._naive._losses``.
"""
import numpy as np

from fastlc._constants import REGRESSION_HUBER

from ._losses import cross_entropy_hard, multiclass_hinge
from ._nn_losses import epsilon_insensitive_point, huber_point


def _scores(X, rows, coef, intercept):
    n_classes, n_features = coef.shape
    scores = np.zeros((rows.shape[0], n_classes), dtype=X.dtype)
    for k in range(rows.shape[0]):
        for c in range(n_classes):
            total = 0.0
            for d in range(n_features):
                total += coef[c, d] * X[rows[k], d]
            scores[k, c] = total + intercept[c]
    return scores


def _accumulate(X, rows, row_weight, grad_scores, grad_coef, grad_intercept):
    n_classes, n_features = grad_coef.shape
    grad_coef[...] = 0
    grad_intercept[...] = 0
    for k in range(rows.shape[0]):
        if row_weight[rows[k]] == 0:
            continue
        for c in range(n_classes):
            for d in range(n_features):
                grad_coef[c, d] += grad_scores[k, c] * X[rows[k], d]
            grad_intercept[c] += grad_scores[k, c]


def linear_cross_entropy_gradient(X, rows, y, class_weight, row_weight, coef, intercept, grad_scale, label_smoothing,
                                  loss_out, grad_coef, grad_intercept, n_threads):
    """Softmax cross-entropy (class weights, label smoothing) of a linear model on the batch rows."""
    scores = _scores(X, rows, coef, intercept)
    grad_scores = np.empty_like(scores)
    cross_entropy_hard(scores, y[rows], class_weight, row_weight[rows], grad_scale, label_smoothing, loss_out,
                       grad_scores, n_threads)
    _accumulate(X, rows, row_weight, grad_scores, grad_coef, grad_intercept)


def linear_hinge_gradient(X, rows, y, row_weight, coef, intercept, grad_scale, margin, squared, loss_out, grad_coef,
                          grad_intercept, n_threads):
    """Weston-Watkins multiclass hinge (optionally squared) of a linear model on the batch rows."""
    scores = _scores(X, rows, coef, intercept)
    grad_scores = np.empty_like(scores)
    multiclass_hinge(scores, y[rows], row_weight[rows], grad_scale, margin, squared, loss_out, grad_scores, n_threads)
    _accumulate(X, rows, row_weight, grad_scores, grad_coef, grad_intercept)


def linear_regression_gradient(X, rows, targets, row_weight, coef, intercept, grad_scale, point, param, loss_out,
                               grad_coef, grad_intercept, n_threads):
    """Regression loss of a linear model with n_targets outputs on the batch rows.

    ``targets`` (n_samples, n_targets); the loss row is the sum over the targets of the
    point loss ``point`` (fastlc._constants.REGRESSION_*: Huber with threshold ``param``,
    or epsilon-insensitive with margin ``param``) of ``score - target``.
    """
    scores = _scores(X, rows, coef, intercept)
    grad_scores = regression_rows(scores, targets[rows], row_weight[rows], grad_scale, point, param, loss_out)
    _accumulate(X, rows, row_weight, grad_scores, grad_coef, grad_intercept)


def regression_rows(scores, targets, weights, grad_scale, point, param, loss_out):
    """Weighted loss rows into ``loss_out`` and ``dL/dscores`` (returned) of the batch's regression scores
    (shared with the sparse reference, ``_sparse_linear.py``)."""
    point_loss = huber_point if point == REGRESSION_HUBER else epsilon_insensitive_point
    grad_scores = np.zeros_like(scores)
    for k in range(scores.shape[0]):
        weight = float(weights[k])
        if weight == 0:
            loss_out[k] = 0
            continue
        total = 0.0
        for j in range(scores.shape[1]):
            loss, slope = point_loss(float(scores[k, j]), float(targets[k, j]), 1.0, float(param))
            total += loss
            grad_scores[k, j] = grad_scale * weight * slope
        loss_out[k] = weight * total
    return grad_scores
