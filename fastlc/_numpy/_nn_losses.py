"""Regression / binary losses and NLL as vectorized NumPy (same private signature as naive).

Written as a NumPy training loop usually is (one expression per line, temporaries):
the baseline the compiled kernels are measured against.
"""
from functools import partial

import numpy as np


def _mse(x, t, pw, param):
    d = x - t
    return d * d, d  # the slope's factor 2 is in mse_loss's gradient scale (fastlc/kernels/_nn_losses.py)


def _l1(x, t, pw, param):
    d = x - t
    return np.abs(d), np.sign(d)  # np.sign: 0 at 0, NaN for NaN


def _huber(x, t, pw, delta):
    d = x - t
    a = np.abs(d)
    loss = np.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))
    slope = np.where(d <= -delta, -delta, np.where(d >= delta, delta, d))
    return loss, slope


def _epsilon_insensitive(x, t, pw, epsilon):
    d = x - t
    a = np.abs(d)
    outside = a > epsilon
    return np.where(outside, a - epsilon, d * 0), np.where(outside, np.sign(d), d * 0)  # d * 0: NaN stays


def _smooth_l1(x, t, pw, beta):
    d = x - t
    a = np.abs(d)
    loss = np.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)
    slope = np.where(d <= -beta, -1, np.where(d >= beta, 1, d / beta))
    return loss, slope


def _bce(p, t, pw, param):
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = np.log(p)
        log_q = np.log1p(-p)
    # np.maximum would propagate NaN too; PyTorch clamps the logs at -100
    loss = (t - 1) * np.maximum(log_q, -100) - t * np.maximum(log_p, -100)
    slope = (p - t) / np.maximum((1 - p) * p, np.float32(1e-12))  # PyTorch's float EPSILON
    return loss, slope


def _bce_logits(x, t, pw, param):
    # the cancellation-free form of fastlc/_naive/_nn_losses.py's bce_logits_point (see there). Its two
    # selects on the sign of x cost a third of the time (np.where on a random sign pattern), but products
    # with a 0/1 mask instead would turn an infinite pos_weight's inf into 0 * inf = NaN
    log_weight = 1 + (pw - 1) * t
    e = np.exp(-np.abs(x))
    weighted_q = log_weight * (e / (1 + e))
    positive = x >= 0
    coef = np.where(positive, 1 - t, -pw * t)
    return coef * x + log_weight * np.log1p(e), coef + np.where(positive, -weighted_q, weighted_q)


def _pointwise_loss(formula, input, target, weight, pos_weight, param, grad_scale, loss_out, partials, grad_out,
                    n_threads):
    dtype = input.dtype.type
    pw = pos_weight if pos_weight.shape[0] else dtype(1)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN and inf propagate silently, as in the other backends
        loss, slope = formula(input, target, pw, dtype(param))
        if weight.shape[0]:
            loss = loss * weight
            slope = slope * weight
        np.multiply(slope, grad_scale, out=grad_out, casting="unsafe")
    if loss_out.shape[0]:
        loss_out[...] = loss
    n = input.shape[0]
    starts = np.arange(partials.shape[0]) * n // partials.shape[0]
    partials[...] = np.add.reduceat(loss.astype(np.float64), starts) if n else 0.0
    # reduceat gives element starts[k] for an empty chunk (starts[k] == starts[k + 1]): such chunks add nothing
    partials[np.diff(np.append(starts, n)) == 0] = 0.0


mse_loss = partial(_pointwise_loss, _mse)
l1_loss = partial(_pointwise_loss, _l1)
huber_loss = partial(_pointwise_loss, _huber)
smooth_l1_loss = partial(_pointwise_loss, _smooth_l1)
binary_cross_entropy = partial(_pointwise_loss, _bce)
binary_cross_entropy_with_logits = partial(_pointwise_loss, _bce_logits)


@np.errstate(invalid="ignore")  # a weight of 0 at a log-probability of -inf: NaN (0 * inf) silently, as PyTorch
def nll_loss(log_prob, y, row_weight, grad_scale, loss_out, grad_out, n_threads):
    """L_i = -w_i log_prob[i, y_i]; an ignored row (y_i < 0): loss and gradient 0."""
    rows = np.arange(log_prob.shape[0])
    ignored = y < 0
    if ignored.any():
        rows, y, row_weight = rows[~ignored], y[~ignored], row_weight[~ignored]
        loss_out[...] = 0
    loss_out[rows] = -row_weight * log_prob[rows, y]
    grad_out[...] = 0
    grad_out[rows, y] = -row_weight * grad_scale
