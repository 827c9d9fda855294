"""Fused linear-model gradient the straightforward BLAS way (same private signature as naive).

Gather the batch, ``scores = X_b @ coef.T + b``, the NumPy loss kernel, then
``grad_coef = G.T @ X_b`` and ``grad_intercept = G.sum(0)``: what a NumPy training
loop does, and the baseline the fused compiled kernels are measured against.
"""
import numpy as np

from fastlc._constants import REGRESSION_HUBER

from ._losses import cross_entropy_hard, multiclass_hinge
from ._nn_losses import _epsilon_insensitive, _huber


def _forward(X, rows, coef, intercept):
    X_batch = X[rows]
    return X_batch, X_batch @ coef.T + intercept


def _backward(X_batch, row_weight, loss_out, grad_scores, grad_coef, grad_intercept):
    # rows of weight 0 take no part, not even as 0 * NaN (the loss kernel may leave 0 * NaN in their loss)
    active = row_weight != 0
    loss_out[~active] = 0
    if not active.all():
        X_batch, grad_scores = X_batch[active], grad_scores[active]
    np.matmul(grad_scores.T, X_batch, out=grad_coef)
    grad_intercept[...] = grad_scores.sum(axis=0)


def linear_cross_entropy_gradient(X, rows, y, class_weight, row_weight, coef, intercept, grad_scale, label_smoothing,
                                  loss_out, grad_coef, grad_intercept, n_threads):
    X_batch, scores = _forward(X, rows, coef, intercept)
    grad_scores = np.empty_like(scores)
    weights = row_weight[rows]
    cross_entropy_hard(scores, y[rows], class_weight, weights, grad_scale, label_smoothing, loss_out, grad_scores,
                       n_threads)
    _backward(X_batch, weights, loss_out, grad_scores, grad_coef, grad_intercept)


def linear_hinge_gradient(X, rows, y, row_weight, coef, intercept, grad_scale, margin, squared, loss_out, grad_coef,
                          grad_intercept, n_threads):
    X_batch, scores = _forward(X, rows, coef, intercept)
    grad_scores = np.empty_like(scores)
    weights = row_weight[rows]
    multiclass_hinge(scores, y[rows], weights, grad_scale, margin, squared, loss_out, grad_scores, n_threads)
    _backward(X_batch, weights, loss_out, grad_scores, grad_coef, grad_intercept)


def regression_rows(scores, targets, weights, grad_scale, point, param, loss_out):
    """Weighted loss rows into ``loss_out`` and ``dL/dscores`` (returned) of the batch's regression scores
    (shared with the sparse reference, ``_sparse_linear.py``)."""
    point_loss = _huber if point == REGRESSION_HUBER else _epsilon_insensitive
    with np.errstate(invalid="ignore", over="ignore"):
        loss, slope = point_loss(scores, targets, None, param)
        loss_out[...] = weights * loss.sum(axis=1, dtype=scores.dtype)
        return (grad_scale * weights)[:, None] * slope.astype(scores.dtype, copy=False)


def linear_regression_gradient(X, rows, targets, row_weight, coef, intercept, grad_scale, point, param, loss_out,
                               grad_coef, grad_intercept, n_threads):
    X_batch, scores = _forward(X, rows, coef, intercept)
    weights = row_weight[rows]
    grad_scores = regression_rows(scores, targets[rows], weights, grad_scale, point, param, loss_out)
    _backward(X_batch, weights, loss_out, grad_scores, grad_coef, grad_intercept)
