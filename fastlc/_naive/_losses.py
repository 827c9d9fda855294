"""Reference loss kernels written as explicit loops (CS231n "naive" style).

Private signature shared by every backend: inputs, weights, outputs, then
``n_threads`` (ignored here). ``row_weight[i] == 0`` marks a row that takes no
part (zero sample weight or ``ignore_index``): its loss and gradient are 0.
Per-row losses are written already multiplied by ``row_weight``; gradients by
``row_weight * grad_scale``.
"""
import math


def multiclass_hinge(scores, y, row_weight, grad_scale, margin, squared, loss_out, grad_out, n_threads):
    """Weston-Watkins hinge: L_i = sum_{j != y_i} h(s_ij - s_iy + margin)."""
    n_samples, n_classes = scores.shape
    for i in range(n_samples):
        loss = 0.0
        for j in range(n_classes):
            grad_out[i, j] = 0.0
        if row_weight[i] == 0:
            loss_out[i] = 0.0
            continue
        coef = row_weight[i] * grad_scale
        correct = y[i]
        for j in range(n_classes):
            if j == correct:
                continue
            z = scores[i, j] - scores[i, correct] + margin
            if z <= 0:  # margin met (also at the kink z == 0): no loss, no gradient
                continue
            # z > 0, or z is NaN (then the NaN flows into loss and gradient)
            if squared:
                loss += z * z
                slope = 2.0 * z
            else:
                loss += z
                slope = 1.0 if z > 0 else z
            grad_out[i, j] += coef * slope
            grad_out[i, correct] -= coef * slope
        loss_out[i] = row_weight[i] * loss


def _shifted_row(logits, i):
    """Row ``i`` minus its maximum, and log(sum(exp(.))) of that shifted row."""
    n_classes = logits.shape[1]
    row_max = logits[i, 0]
    for j in range(1, n_classes):
        if logits[i, j] > row_max:
            row_max = logits[i, j]
    shifted = [logits[i, j] - row_max for j in range(n_classes)]
    total = 0.0
    for j in range(n_classes):
        total += math.exp(shifted[j])
    return shifted, math.log(total)


def _cross_entropy_row(shifted, log_total, targets, row_weight, coef, loss_out, grad_out, i):
    """Loss and gradient of one row given its target weights q (sum_c q_c = q_sum).

    L = sum_c q_c * (log_total - shifted_c); dL/ds_c = q_sum * softmax_c - q_c.
    """
    n_classes = len(shifted)
    q_sum = 0.0
    loss = 0.0
    for j in range(n_classes):
        q_sum += targets[j]
        if targets[j] != 0:  # a class with no target weight adds nothing, even at logit -inf
            loss += targets[j] * (log_total - shifted[j])
    for j in range(n_classes):
        prob = math.exp(shifted[j] - log_total)
        grad_out[i, j] = coef * (q_sum * prob - targets[j])
    loss_out[i] = row_weight * loss


def cross_entropy_hard(logits, y, class_weight, row_weight, grad_scale, label_smoothing, loss_out, grad_out, n_threads):
    """Cross-entropy against class indices, with PyTorch's label smoothing and class weights.

    Target weights of row i: q_c = (1 - eps) * w_{y_i} * [c == y_i] + eps / C * w_c.
    """
    n_samples, n_classes = logits.shape
    for i in range(n_samples):
        if row_weight[i] == 0:
            loss_out[i] = 0.0
            for j in range(n_classes):
                grad_out[i, j] = 0.0
            continue
        targets = [label_smoothing / n_classes * class_weight[j] for j in range(n_classes)]
        targets[y[i]] += (1.0 - label_smoothing) * class_weight[y[i]]
        shifted, log_total = _shifted_row(logits, i)
        _cross_entropy_row(shifted, log_total, targets, row_weight[i], row_weight[i] * grad_scale, loss_out, grad_out, i)


def cross_entropy_soft(logits, target, class_weight, row_weight, grad_scale, label_smoothing, loss_out, grad_out, n_threads):
    """Cross-entropy against target probabilities: q_c = w_c * ((1 - eps) * t_c + eps / C)."""
    n_samples, n_classes = logits.shape
    for i in range(n_samples):
        if row_weight[i] == 0:
            loss_out[i] = 0.0
            for j in range(n_classes):
                grad_out[i, j] = 0.0
            continue
        targets = [
            class_weight[j] * ((1.0 - label_smoothing) * target[i, j] + label_smoothing / n_classes)
            for j in range(n_classes)
        ]
        shifted, log_total = _shifted_row(logits, i)
        _cross_entropy_row(shifted, log_total, targets, row_weight[i], row_weight[i] * grad_scale, loss_out, grad_out, i)


def log_softmax(logits, out, n_threads):
    """out_ij = s_ij - max_i - log(sum_k exp(s_ik - max_i))."""
    n_samples, n_classes = logits.shape
    for i in range(n_samples):
        shifted, log_total = _shifted_row(logits, i)
        for j in range(n_classes):
            out[i, j] = shifted[j] - log_total


def softmax(logits, out, n_threads):
    """out_ij = exp(s_ij - max_i) / sum_k exp(s_ik - max_i)."""
    n_samples, n_classes = logits.shape
    for i in range(n_samples):
        shifted, log_total = _shifted_row(logits, i)
        total = math.exp(log_total)
        for j in range(n_classes):
            out[i, j] = math.exp(shifted[j]) / total
