"""Reference batch and layer normalization as explicit loops (PyTorch's CPU formulas).

Private signatures shared by every backend (arrays C-contiguous)::

    batch_norm(x, gamma, beta, eps, training, mean, var, invstd, out, n_threads)
    batch_norm_backward(grad_out, x, gamma, mean, invstd, training, grad_x, grad_gamma, grad_beta, n_threads)
    layer_norm(x, gamma, beta, eps, out, mean, rstd, n_threads)
    layer_norm_backward(grad_out, x, gamma, mean, rstd, grad_x, grad_gamma, grad_beta, n_threads)

Batch norm sees x as (N, C, S) (S = H * W, 1 for (N, C) input) and normalizes each
channel over its M = N * S values. In training it writes the batch ``mean``, the
biased ``var`` and ``invstd = 1 / sqrt(var + eps)``; in evaluation ``mean`` and
``var`` are the running statistics it reads, and it writes ``invstd``. The output is
``x * a_c + b_c`` with ``a_c = gamma_c * invstd_c`` and ``b_c = beta_c - mean_c * a_c``.
Layer norm sees x as (R, D) and normalizes each row; ``gamma``, ``beta`` have D values.

Sums run in float64 (per fixed chunk of rows in the compiled backends, chunks
added in order): statistics and parameter gradients do not depend on the thread count.

An infinite x gives NaN (inf - inf) silently (``np.errstate``), as in the compiled backends.
"""
import math

import numpy as np


def _inverse_sqrt(value):
    """1 / sqrt(value) as IEEE arithmetic (and the other backends) gives it: NaN below 0, where math.sqrt
    raises (a negative running variance in evaluation), inf at 0, where 1 / 0.0 raises."""
    if value > 0 or value != value:  # positive or NaN
        return 1.0 / math.sqrt(value)
    if value == 0:
        return math.copysign(math.inf, value)
    return math.nan


@np.errstate(invalid="ignore")
def batch_norm(x, gamma, beta, eps, training, mean, var, invstd, out, n_threads):
    n, channels, s = x.shape
    count = n * s
    for c in range(channels):
        if training:
            total = 0.0
            for i in range(n):
                for j in range(s):
                    total += x[i, c, j]
            m = total / count
            squares = 0.0
            for i in range(n):
                for j in range(s):
                    squares += (x[i, c, j] - m) ** 2
            mean[c] = m
            var[c] = squares / count
        invstd[c] = _inverse_sqrt(float(var[c]) + eps)
        a = gamma[c] * float(invstd[c])
        b = beta[c] - float(mean[c]) * a
        for i in range(n):
            for j in range(s):
                out[i, c, j] = x[i, c, j] * a + b


@np.errstate(invalid="ignore")
def batch_norm_backward(grad_out, x, gamma, mean, invstd, training, grad_x, grad_gamma, grad_beta, n_threads):
    """dx = (g - sum(g) / M - (x - mean) invstd^2 sum(g (x - mean)) / M) invstd gamma in training, else g invstd gamma."""
    n, channels, s = x.shape
    count = n * s
    for c in range(channels):
        total = 0.0
        dot = 0.0
        for i in range(n):
            for j in range(s):
                total += grad_out[i, c, j]
                dot += grad_out[i, c, j] * (x[i, c, j] - mean[c])
        istd = float(invstd[c])
        grad_beta[c] = total
        grad_gamma[c] = dot * istd
        for i in range(n):
            for j in range(s):
                if training:
                    centered = (x[i, c, j] - mean[c]) * (dot * istd * istd / count)
                    grad_x[i, c, j] = (grad_out[i, c, j] - total / count - centered) * istd * gamma[c]
                else:
                    grad_x[i, c, j] = grad_out[i, c, j] * istd * gamma[c]


@np.errstate(invalid="ignore")
def layer_norm(x, gamma, beta, eps, out, mean, rstd, n_threads):
    rows, d = x.shape
    for r in range(rows):
        m = sum(float(v) for v in x[r]) / d
        variance = sum((float(v) - m) ** 2 for v in x[r]) / d
        inv = 1.0 / math.sqrt(variance + eps)
        mean[r] = m
        rstd[r] = inv
        for k in range(d):
            out[r, k] = (x[r, k] - m) * inv * gamma[k] + beta[k]


@np.errstate(invalid="ignore")
def layer_norm_backward(grad_out, x, gamma, mean, rstd, grad_x, grad_gamma, grad_beta, n_threads):
    """dx = rstd (gx - sum(gx) / D - xhat sum(gx xhat) / D) with gx = g gamma, xhat = (x - mean) rstd."""
    rows, d = x.shape
    sum_gamma = [0.0] * d
    sum_beta = [0.0] * d
    for r in range(rows):
        inv = float(rstd[r])
        xhat = [(float(x[r, k]) - float(mean[r])) * inv for k in range(d)]
        gx = [float(grad_out[r, k]) * float(gamma[k]) for k in range(d)]
        total = sum(gx)
        dot = sum(gx[k] * xhat[k] for k in range(d))
        for k in range(d):
            grad_x[r, k] = inv * (gx[k] - total / d - xhat[k] * dot / d)
            sum_gamma[k] += float(grad_out[r, k]) * xhat[k]
            sum_beta[k] += float(grad_out[r, k])
    for k in range(d):
        grad_gamma[k] = sum_gamma[k]
        grad_beta[k] = sum_beta[k]
