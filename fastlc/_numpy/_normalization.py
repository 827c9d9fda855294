"""Batch and layer normalization in NumPy (same private signatures as fastlc/_naive/_normalization.py).

Written as a NumPy training loop usually is: the baseline of the benchmarks. An infinite x
gives NaN (inf - inf) silently (``np.errstate``), as in the compiled backends.
"""
import numpy as np

from .._normalization_math import affine_coefficients


@np.errstate(invalid="ignore")
def batch_norm(x, gamma, beta, eps, training, mean, var, invstd, out, n_threads):
    if training:
        mean[...] = x.mean(axis=(0, 2), dtype=np.float64)
        var[...] = x.var(axis=(0, 2), dtype=np.float64)
    a, b = affine_coefficients(gamma, beta, mean, var, eps, invstd, x.dtype)
    out[...] = x * a[:, None] + b[:, None]


@np.errstate(invalid="ignore")
def batch_norm_backward(grad_out, x, gamma, mean, invstd, training, grad_x, grad_gamma, grad_beta, n_threads):
    count = x.shape[0] * x.shape[2]
    centered = x - mean[:, None]
    total = grad_out.sum(axis=(0, 2), dtype=np.float64)
    dot = (grad_out * centered).sum(axis=(0, 2), dtype=np.float64)
    grad_beta[...] = total
    grad_gamma[...] = dot * invstd
    scale = (invstd * gamma)[:, None]
    if training:
        k = (dot * invstd * invstd / count)[:, None]
        grad_x[...] = (grad_out - (total / count)[:, None] - centered * k) * scale
    else:
        grad_x[...] = grad_out * scale


@np.errstate(invalid="ignore")
def layer_norm(x, gamma, beta, eps, out, mean, rstd, n_threads):
    m = x.mean(axis=1, dtype=np.float64)
    v = x.var(axis=1, dtype=np.float64)
    mean[...] = m
    rstd[...] = 1 / np.sqrt(v + eps)
    out[...] = (x - mean[:, None]) * rstd[:, None] * gamma + beta


@np.errstate(invalid="ignore")
def layer_norm_backward(grad_out, x, gamma, mean, rstd, grad_x, grad_gamma, grad_beta, n_threads):
    d = x.shape[1]
    xhat = (x - mean[:, None]) * rstd[:, None]
    gx = grad_out * gamma
    total = gx.sum(axis=1, keepdims=True)
    dot = (gx * xhat).sum(axis=1, keepdims=True)
    grad_x[...] = rstd[:, None] * (gx - total / d - xhat * dot / d)
    grad_gamma[...] = (grad_out * xhat).sum(axis=0, dtype=np.float64)
    grad_beta[...] = grad_out.sum(axis=0, dtype=np.float64)
