"""Reference regression / binary losses and NLL written as explicit loops.

Element-wise losses share one private signature (every backend)::

    loss(input, target, weight, pos_weight, param, grad_scale, loss_out, partials, grad_out, n_threads)

``input``, ``target`` and ``grad_out`` are flat arrays of n elements; ``weight`` and
``pos_weight`` have n elements or none (absent); ``loss_out`` has n elements when the
caller wants per-element losses (reduction "none"), else none. ``partials`` has one
float64 per chunk (fastlc._chunking): chunk c receives the sum of its weighted losses.
``grad_out[i] = grad_scale * weight[i] * dloss_i/dinput_i``. ``param`` is delta (Huber)
or beta (smooth L1), unused otherwise.

Each loss is one point function ``point(x, t, pos_weight, param) -> (loss, slope)``,
computed in Python floats (float64) as PyTorch's formulas (aten/src/ATen/native/Loss.cpp).
"""
from functools import partial

import numpy as np

from ._nn_math import exp, log, log1p, sign

BCE_LOG_CLAMP = -100.0  # PyTorch clamps both logs of binary_cross_entropy at -100
# ... and its gradient's denominator p(1 - p) from below at 1e-12, a float32 constant in PyTorch
# (static const float EPSILON) even for float64: 9.999999960041972e-13
BCE_EPSILON = 9.999999960041972e-13


def mse_point(x, t, pos_weight, param):
    d = x - t
    return d * d, d  # the slope's factor 2 is in mse_loss's gradient scale (fastlc/kernels/_nn_losses.py)


def l1_point(x, t, pos_weight, param):
    d = x - t
    return abs(d), sign(d)


def huber_point(x, t, pos_weight, delta):
    d = x - t
    if abs(d) < delta:
        loss = 0.5 * d * d
    else:
        loss = delta * (abs(d) - 0.5 * delta)
    if d <= -delta:
        slope = -delta
    elif d >= delta:
        slope = delta
    else:
        slope = d  # also NaN
    return loss, slope


def epsilon_insensitive_point(x, t, pos_weight, epsilon):
    """max(|d| - epsilon, 0), slope sign(d) outside the margin (epsilon = 0: the absolute error)."""
    d = x - t
    if abs(d) > epsilon:
        return abs(d) - epsilon, sign(d)
    return d * 0.0, d * 0.0  # 0, or NaN for NaN


def smooth_l1_point(x, t, pos_weight, beta):
    """beta > 0 (the public layer sends beta == 0 to l1_point, as PyTorch does)."""
    d = x - t
    if abs(d) < beta:
        loss = 0.5 * d * d / beta
    else:
        loss = abs(d) - 0.5 * beta
    if d <= -beta:
        slope = -1.0
    elif d >= beta:
        slope = 1.0
    else:
        slope = d / beta
    return loss, slope


def _clamp_below(value, low):
    return low if value < low else value  # NaN stays NaN


def bce_point(p, t, pos_weight, param):
    log_p = _clamp_below(log(p), BCE_LOG_CLAMP)
    log_q = _clamp_below(log1p(-p), BCE_LOG_CLAMP)
    loss = (t - 1.0) * log_q - t * log_p
    slope = (p - t) / _clamp_below((1.0 - p) * p, BCE_EPSILON)
    return loss, slope


def bce_logits_point(x, t, pos_weight, param):
    """(1 - t) x + lw softplus(-x), lw = 1 + (pw - 1) t, softplus(-x) = max(-x, 0) + log1p(exp(-|x|)),
    slope lw sigmoid(x) - pw t, both with the x terms gathered so that nothing cancels:

        loss  = coef x + lw log1p(e),   e = exp(-|x|),  coef = 1 - t (x >= 0) or -pw t (x < 0)
        slope = coef -+ lw q,           q = sigmoid(-|x|) = e / (1 + e)  (- for x >= 0)

    (for x < 0, (1 - t) x - lw x = -pw t x). Every backend computes this form: in the sum, one rounded
    product where the two should cancel exactly gave +-1e22 for pw = 0, t = 0.3, x = -1e30.
    """
    log_weight = 1.0 + (pos_weight - 1.0) * t
    e = exp(-abs(x))  # NaN for NaN
    weighted_q = log_weight * (e / (1.0 + e))
    if x >= 0:
        return (1.0 - t) * x + log_weight * log1p(e), (1.0 - t) - weighted_q
    coef = -pos_weight * t
    return coef * x + log_weight * log1p(e), coef + weighted_q  # also NaN


def _pointwise_loss(point, input, target, weight, pos_weight, param, grad_scale, loss_out, partials, grad_out,
                    n_threads):
    n = input.shape[0]
    n_chunks = partials.shape[0]
    for c in range(n_chunks):
        total = 0.0
        for i in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            w = float(weight[i]) if weight.shape[0] else 1.0
            pw = float(pos_weight[i]) if pos_weight.shape[0] else 1.0
            loss, slope = point(float(input[i]), float(target[i]), pw, param)
            total += w * loss
            with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN silently, as the other backends
                grad_out[i] = grad_scale * w * slope
                if loss_out.shape[0]:
                    loss_out[i] = w * loss
        partials[c] = total


mse_loss = partial(_pointwise_loss, mse_point)
l1_loss = partial(_pointwise_loss, l1_point)
huber_loss = partial(_pointwise_loss, huber_point)
smooth_l1_loss = partial(_pointwise_loss, smooth_l1_point)
binary_cross_entropy = partial(_pointwise_loss, bce_point)
binary_cross_entropy_with_logits = partial(_pointwise_loss, bce_logits_point)


@np.errstate(invalid="ignore")  # a weight of 0 at a log-probability of -inf: NaN (0 * inf) silently, as PyTorch
def nll_loss(log_prob, y, row_weight, grad_scale, loss_out, grad_out, n_threads):
    """L_i = -w_i log_prob[i, y_i] with w_i = class_weight[y_i]; an ignored row (y_i < 0): loss and gradient 0."""
    n_samples, n_classes = log_prob.shape
    for i in range(n_samples):
        for j in range(n_classes):
            grad_out[i, j] = 0.0
        if y[i] < 0:
            loss_out[i] = 0.0
            continue
        loss_out[i] = -row_weight[i] * log_prob[i, y[i]]
        grad_out[i, y[i]] = -row_weight[i] * grad_scale
