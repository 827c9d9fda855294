"""Loss kernels as vectorized NumPy expressions (same private signature as naive)."""
import numpy as np


def multiclass_hinge(scores, y, row_weight, grad_scale, margin, squared, loss_out, grad_out, n_threads):
    rows = np.arange(scores.shape[0])
    correct = scores[rows, y][:, None]
    z = scores - correct + margin
    z[rows, y] = 0.0
    # np.maximum propagates NaN, and the kink z == 0 gets slope 0.
    hinge = np.maximum(z, 0.0)
    if squared:
        slope = 2.0 * hinge
        hinge = hinge * hinge
    else:
        slope = (z > 0).astype(scores.dtype)
        slope[np.isnan(z)] = np.nan
    loss_out[...] = row_weight * hinge.sum(axis=1)
    slope[rows, y] = -slope.sum(axis=1)
    np.multiply(slope, _row_coefficients(row_weight, grad_scale), out=grad_out)
    grad_out[row_weight == 0] = 0.0


def _row_coefficients(row_weight, grad_scale):
    """Per-row gradient factor as a column; rows of weight 0 are left out (0, even if NaN)."""
    return np.where(row_weight == 0, 0.0, row_weight * grad_scale).astype(row_weight.dtype)[:, None]


def _log_softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _cross_entropy(logits, targets, row_weight, grad_scale, loss_out, grad_out):
    """Rows of ``targets`` are the target weights q of each sample."""
    log_prob = _log_softmax(logits)
    # a class with no target weight adds nothing, even at logit -inf (0 * -inf)
    with np.errstate(invalid="ignore"):
        loss = -np.where(targets != 0, targets * log_prob, 0.0).sum(axis=1)
    grad = targets.sum(axis=1, keepdims=True) * np.exp(log_prob) - targets
    skip = row_weight == 0
    loss[skip] = 0.0
    grad[skip] = 0.0
    loss_out[...] = row_weight * loss
    np.multiply(grad, _row_coefficients(row_weight, grad_scale), out=grad_out)


def cross_entropy_hard(logits, y, class_weight, row_weight, grad_scale, label_smoothing, loss_out, grad_out, n_threads):
    n_samples, n_classes = logits.shape
    targets = np.broadcast_to(label_smoothing / n_classes * class_weight, logits.shape).copy()
    targets[np.arange(n_samples), y] += (1.0 - label_smoothing) * class_weight[y]
    _cross_entropy(logits, targets, row_weight, grad_scale, loss_out, grad_out)


def cross_entropy_soft(logits, target, class_weight, row_weight, grad_scale, label_smoothing, loss_out, grad_out, n_threads):
    n_classes = logits.shape[1]
    targets = class_weight * ((1.0 - label_smoothing) * target + label_smoothing / n_classes)
    _cross_entropy(logits, targets, row_weight, grad_scale, loss_out, grad_out)


def log_softmax(logits, out, n_threads):
    out[...] = _log_softmax(logits)


def softmax(logits, out, n_threads):
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.divide(exp, exp.sum(axis=1, keepdims=True), out=out)
