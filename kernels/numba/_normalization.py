"""Batch and layer normalization in Numba (private signatures: see fastlc/_naive/_normalization.py).

Batch norm: x arrives as (N, C, S); the rows (samples) are cut into fixed chunks
(fastlc._chunking: about CHUNK values each) and every sum over rows goes to one
float64 vector of C partial sums per chunk, added in chunk order afterwards, so
the statistics and gradients do not depend on the thread count. Layer norm is
row-parallel, and its parameter gradients (sums over rows) use the same partials.
"""
import math

import numba
import numpy as np

from fastlc._chunking import n_row_chunks
from fastlc._config import NUMBA_OPTIONS
from fastlc._normalization_math import (affine_coefficients, eval_gradient_coefficients,
                                      training_gradient_coefficients)

from ._nn_math import chunk_bounds, nn_kernel

_INLINE = dict(NUMBA_OPTIONS, inline="always")


@numba.njit(**_INLINE)
def _channel_sums(row, channels, s, mean, squares, partial):
    """partial[c] += sum_j row[c, j] (mean absent) or sum_j (row[c, j] - mean[c])^2."""
    for c in range(channels):
        acc = 0.0
        if squares:
            m = np.float64(mean[c])
            for j in range(s):
                d = row[c * s + j] - m
                acc += d * d
        else:
            for j in range(s):
                acc += row[c * s + j]
        partial[c] += acc


@numba.njit(**_INLINE)
def _channel_sums_flat(row, mean, squares, partial):
    """The same for S == 1, vectorized across channels."""
    if squares:
        for c in range(row.shape[0]):
            d = row[c] - np.float64(mean[c])
            partial[c] += d * d
    else:
        for c in range(row.shape[0]):
            partial[c] += row[c]


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _bn_partials(x, channels, s, mean, squares, partials):
    n = x.shape[0]
    n_chunks = partials.shape[0]
    for k in numba.prange(n_chunks):
        lo, hi = chunk_bounds(k, n, n_chunks)
        partial = partials[k]
        partial[:] = 0.0
        for i in range(lo, hi):
            if s == 1:
                _channel_sums_flat(x[i], mean, squares, partial)
            else:
                _channel_sums(x[i], channels, s, mean, squares, partial)


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _bn_apply(x, channels, s, a, b, out, n_chunks):
    n = x.shape[0]
    for k in numba.prange(n_chunks):
        lo, hi = chunk_bounds(k, n, n_chunks)
        for i in range(lo, hi):
            row, row_out = x[i], out[i]
            if s == 1:
                for c in range(channels):
                    row_out[c] = row[c] * a[c] + b[c]
            else:
                for c in range(channels):
                    ac, bc = a[c], b[c]
                    for j in range(s):
                        row_out[c * s + j] = row[c * s + j] * ac + bc


def batch_norm(x, gamma, beta, eps, training, mean, var, invstd, out, n_threads):
    n, channels, s = x.shape
    count = n * s
    flat, flat_out = x.reshape(n, channels * s), out.reshape(n, channels * s)
    partials = np.empty((n_row_chunks(n, channels * s), channels))
    if training:
        _run_partials(flat, channels, s, mean, False, partials, n_threads)
        mean[...] = _ordered_sum(partials) / count
        _run_partials(flat, channels, s, mean, True, partials, n_threads)
        var[...] = _ordered_sum(partials) / count
    a, b = affine_coefficients(gamma, beta, mean, var, eps, invstd, x.dtype)
    _run_apply(flat, channels, s, a, b, flat_out, partials.shape[0], n_threads)


def _ordered_sum(partials):
    """Sum of the per-chunk partial sums, added in chunk order."""
    total = partials[0].copy()
    for k in range(1, partials.shape[0]):
        total += partials[k]
    return total


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _bn_backward_partials(grad_out, x, channels, s, mean, totals, dots):
    n = x.shape[0]
    n_chunks = totals.shape[0]
    for k in numba.prange(n_chunks):
        lo, hi = chunk_bounds(k, n, n_chunks)
        total, dot = totals[k], dots[k]
        total[:] = 0.0
        dot[:] = 0.0
        for i in range(lo, hi):
            g, row = grad_out[i], x[i]
            if s == 1:
                for c in range(channels):
                    total[c] += g[c]
                    dot[c] += g[c] * (row[c] - np.float64(mean[c]))
            else:
                for c in range(channels):
                    m = np.float64(mean[c])
                    acc_total = 0.0
                    acc_dot = 0.0
                    for j in range(s):
                        acc_total += g[c * s + j]
                        acc_dot += g[c * s + j] * (row[c * s + j] - m)
                    total[c] += acc_total
                    dot[c] += acc_dot


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _bn_backward_apply(grad_out, x, channels, s, mean, k_c, shift, scale, grad_x, n_chunks):
    """grad_x = (g - shift_c - (x - mean_c) k_c) scale_c."""
    n = x.shape[0]
    for k in numba.prange(n_chunks):
        lo, hi = chunk_bounds(k, n, n_chunks)
        for i in range(lo, hi):
            g, row, gx = grad_out[i], x[i], grad_x[i]
            if s == 1:
                for c in range(channels):
                    gx[c] = (g[c] - shift[c] - (row[c] - mean[c]) * k_c[c]) * scale[c]
            else:
                for c in range(channels):
                    m, kc, sh, sc = mean[c], k_c[c], shift[c], scale[c]
                    for j in range(s):
                        gx[c * s + j] = (g[c * s + j] - sh - (row[c * s + j] - m) * kc) * sc


def batch_norm_backward(grad_out, x, gamma, mean, invstd, training, grad_x, grad_gamma, grad_beta, n_threads):
    n, channels, s = x.shape
    count = n * s
    shape2 = (n, channels * s)
    n_chunks = n_row_chunks(n, channels * s)
    totals = np.empty((n_chunks, channels))
    dots = np.empty((n_chunks, channels))
    _run_backward_partials(grad_out.reshape(shape2), x.reshape(shape2), channels, s, mean, totals, dots, n_threads)
    total, dot = _ordered_sum(totals), _ordered_sum(dots)
    grad_beta[...] = total
    grad_gamma[...] = dot * invstd.astype(np.float64)
    if not training:
        a, b = eval_gradient_coefficients(gamma, invstd, x.dtype)
        _run_apply(grad_out.reshape(shape2), channels, s, a, b, grad_x.reshape(shape2), n_chunks, n_threads)
        return
    k_c, shift, scale = training_gradient_coefficients(total, dot, gamma, invstd, count, x.dtype)
    _run_backward_apply(grad_out.reshape(shape2), x.reshape(shape2), channels, s, mean, k_c, shift, scale,
                        grad_x.reshape(shape2), n_chunks, n_threads)


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _layer_norm(x, gamma, beta, eps, out, mean, rstd, n_chunks):
    rows, d = x.shape
    for k in numba.prange(n_chunks):
        lo, hi = chunk_bounds(k, rows, n_chunks)
        for r in range(lo, hi):
            row, row_out = x[r], out[r]
            total = 0.0
            for j in range(d):
                total += row[j]
            m = total / d
            squares = 0.0
            for j in range(d):
                dev = row[j] - m
                squares += dev * dev
            inv = 1.0 / math.sqrt(squares / d + eps)
            mean[r] = m
            rstd[r] = inv
            m_t, inv_t = mean[r], rstd[r]
            for j in range(d):
                row_out[j] = (row[j] - m_t) * inv_t * gamma[j] + beta[j]


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _layer_norm_backward(grad_out, x, gamma, mean, rstd, grad_x, sum_gamma, sum_beta):
    rows, d = x.shape
    n_chunks = sum_gamma.shape[0]
    for k in numba.prange(n_chunks):
        lo, hi = chunk_bounds(k, rows, n_chunks)
        part_gamma, part_beta = sum_gamma[k], sum_beta[k]
        part_gamma[:] = 0.0
        part_beta[:] = 0.0
        for r in range(lo, hi):
            g, row, gx = grad_out[r], x[r], grad_x[r]
            m, inv = mean[r], rstd[r]
            total = 0.0
            dot = 0.0
            for j in range(d):
                xhat = (row[j] - m) * inv
                scaled = g[j] * gamma[j]
                total += scaled
                dot += scaled * xhat
                part_gamma[j] += g[j] * xhat
                part_beta[j] += g[j]
            shift = total / d
            slope = dot / d
            for j in range(d):
                xhat = (row[j] - m) * inv
                gx[j] = inv * (g[j] * gamma[j] - shift - xhat * slope)


def layer_norm(x, gamma, beta, eps, out, mean, rstd, n_threads):
    _run_layer_norm(x, gamma, beta, eps, out, mean, rstd, n_row_chunks(*x.shape), n_threads)


def layer_norm_backward(grad_out, x, gamma, mean, rstd, grad_x, grad_gamma, grad_beta, n_threads):
    n_chunks = n_row_chunks(*x.shape)
    sum_gamma = np.empty((n_chunks, x.shape[1]))
    sum_beta = np.empty((n_chunks, x.shape[1]))
    _run_layer_norm_backward(grad_out, x, gamma, mean, rstd, grad_x, sum_gamma, sum_beta, n_threads)
    grad_gamma[...] = _ordered_sum(sum_gamma)
    grad_beta[...] = _ordered_sum(sum_beta)


_run_partials = nn_kernel(_bn_partials)
_run_apply = nn_kernel(_bn_apply)
_run_backward_partials = nn_kernel(_bn_backward_partials)
_run_backward_apply = nn_kernel(_bn_backward_apply)
_run_layer_norm = nn_kernel(_layer_norm)
_run_layer_norm_backward = nn_kernel(_layer_norm_backward)
