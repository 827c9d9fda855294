# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Batch and layer normalization in Cython (private signatures: see fastlc/_naive/_normalization.py).

The rows (samples) are cut into fixed chunks of about CHUNK values
(fastlc._chunking), run on the thread pool (_threadpool.h). Every sum over rows
goes to one float64 vector of partial sums per chunk, added in chunk order
afterwards, so statistics and parameter gradients do not depend on the thread
count. The row loops are C helpers (_nn.h). One task per kernel: it branches on the
job's stage and dtype and calls a fused body.
"""
from libc.math cimport sqrt
from libc.string cimport memset

import numpy as np

from fastlc import _chunking
from fastlc._normalization_math import (affine_coefficients, eval_gradient_coefficients,
                                      training_gradient_coefficients)

include "_threadpool.pxi"

ctypedef fused floating:
    float
    double

cdef extern from "_nn.h" nogil:
    double fastlc_sum_f32(const float* x, Py_ssize_t n)
    double fastlc_sum_f64(const double* x, Py_ssize_t n)
    double fastlc_squares_f32(const float* x, Py_ssize_t n, double m)
    double fastlc_squares_f64(const double* x, Py_ssize_t n, double m)
    void fastlc_sum_dot_f32(const float* g, const float* x, Py_ssize_t n, double m, double* total, double* dot)
    void fastlc_sum_dot_f64(const double* g, const double* x, Py_ssize_t n, double m, double* total, double* dot)
    void fastlc_add_row_f32(const float* row, const float* mean, Py_ssize_t n, double* partial)
    void fastlc_add_row_f64(const double* row, const double* mean, Py_ssize_t n, double* partial)
    void fastlc_add_row_dot_f32(const float* g, const float* x, const float* mean, Py_ssize_t n, double* total,
                                double* dot)
    void fastlc_add_row_dot_f64(const double* g, const double* x, const double* mean, Py_ssize_t n, double* total,
                                double* dot)
    void fastlc_affine_f32(const float* x, float a, float b, float* out, Py_ssize_t n)
    void fastlc_affine_f64(const double* x, double a, double b, double* out, Py_ssize_t n)
    void fastlc_affine_row_f32(const float* x, const float* a, const float* b, float* out, Py_ssize_t n)
    void fastlc_affine_row_f64(const double* x, const double* a, const double* b, double* out, Py_ssize_t n)
    void fastlc_bn_grad_f32(const float* g, const float* x, float mean, float k, float shift, float scale,
                            float* out, Py_ssize_t n)
    void fastlc_bn_grad_f64(const double* g, const double* x, double mean, double k, double shift, double scale,
                            double* out, Py_ssize_t n)
    void fastlc_bn_grad_row_f32(const float* g, const float* x, const float* mean, const float* k,
                                const float* shift, const float* scale, float* out, Py_ssize_t n)
    void fastlc_bn_grad_row_f64(const double* g, const double* x, const double* mean, const double* k,
                                const double* shift, const double* scale, double* out, Py_ssize_t n)


cdef enum Stage:
    BN_SUMS          # partials[chunk, c] = sum of x over the chunk's rows
    BN_SQUARES       # ... of (x - mean_c)^2
    BN_APPLY         # out = x * a_c + b_c
    BN_GRAD_SUMS     # partials = sum of g, partials2 = sum of g (x - mean_c)
    BN_GRAD_APPLY    # grad_x = (g - shift_c - (x - mean_c) k_c) scale_c
    LN_FORWARD       # per row: mean, rstd, out
    LN_BACKWARD      # per row: grad_x; partials, partials2 = sums of g xhat and g per column


ctypedef struct NormJob:
    Stage stage
    bint is_double
    Py_ssize_t n_rows
    Py_ssize_t channels  # batch norm: C; layer norm: D
    Py_ssize_t s         # values per channel and row (batch norm); 1 for layer norm
    Py_ssize_t n_chunks
    const void* x
    const void* g
    const void* v0       # per-channel vectors of x's dtype: mean / a / gamma ...
    const void* v1
    const void* v2
    const void* v3
    void* out
    void* out_mean
    void* out_rstd
    double eps
    double* partials
    double* partials2


cdef inline void _batch_norm_rows(NormJob* j, Py_ssize_t k, Py_ssize_t lo, Py_ssize_t hi,
                                  floating* kind) noexcept nogil:
    cdef Py_ssize_t i, c, C = j.channels, s = j.s, width = j.channels * j.s
    cdef const floating* x = <const floating*> j.x
    cdef const floating* g = <const floating*> j.g
    cdef const floating* v0 = <const floating*> j.v0
    cdef const floating* v1 = <const floating*> j.v1
    cdef const floating* v2 = <const floating*> j.v2
    cdef const floating* v3 = <const floating*> j.v3
    cdef floating* out = <floating*> j.out
    cdef double* partial = j.partials + k * C
    cdef double* partial2 = j.partials2 + k * C if j.partials2 != NULL else NULL
    cdef const floating* row
    if j.stage == BN_SUMS or j.stage == BN_SQUARES or j.stage == BN_GRAD_SUMS:
        memset(partial, 0, C * sizeof(double))
        if partial2 != NULL:
            memset(partial2, 0, C * sizeof(double))
    for i in range(lo, hi):
        row = x + i * width
        if j.stage == BN_SUMS or j.stage == BN_SQUARES:
            if s == 1:
                if floating is float:
                    fastlc_add_row_f32(row, v0 if j.stage == BN_SQUARES else NULL, C, partial)
                else:
                    fastlc_add_row_f64(row, v0 if j.stage == BN_SQUARES else NULL, C, partial)
            else:
                for c in range(C):
                    if floating is float:
                        partial[c] += (fastlc_squares_f32(row + c * s, s, v0[c]) if j.stage == BN_SQUARES
                                       else fastlc_sum_f32(row + c * s, s))
                    else:
                        partial[c] += (fastlc_squares_f64(row + c * s, s, v0[c]) if j.stage == BN_SQUARES
                                       else fastlc_sum_f64(row + c * s, s))
        elif j.stage == BN_APPLY:  # v0 = a, v1 = b
            if s == 1:
                if floating is float:
                    fastlc_affine_row_f32(row, v0, v1, out + i * width, C)
                else:
                    fastlc_affine_row_f64(row, v0, v1, out + i * width, C)
            else:
                for c in range(C):
                    if floating is float:
                        fastlc_affine_f32(row + c * s, v0[c], v1[c], out + i * width + c * s, s)
                    else:
                        fastlc_affine_f64(row + c * s, v0[c], v1[c], out + i * width + c * s, s)
        elif j.stage == BN_GRAD_SUMS:  # v0 = mean
            if s == 1:
                if floating is float:
                    fastlc_add_row_dot_f32(g + i * width, row, v0, C, partial, partial2)
                else:
                    fastlc_add_row_dot_f64(g + i * width, row, v0, C, partial, partial2)
            else:
                for c in range(C):
                    if floating is float:
                        fastlc_sum_dot_f32(g + i * width + c * s, row + c * s, s, v0[c], &partial[c], &partial2[c])
                    else:
                        fastlc_sum_dot_f64(g + i * width + c * s, row + c * s, s, v0[c], &partial[c], &partial2[c])
        else:  # BN_GRAD_APPLY: v0 = mean, v1 = k, v2 = shift, v3 = scale
            if s == 1:
                if floating is float:
                    fastlc_bn_grad_row_f32(g + i * width, row, v0, v1, v2, v3, out + i * width, C)
                else:
                    fastlc_bn_grad_row_f64(g + i * width, row, v0, v1, v2, v3, out + i * width, C)
            else:
                for c in range(C):
                    if floating is float:
                        fastlc_bn_grad_f32(g + i * width + c * s, row + c * s, v0[c], v1[c], v2[c], v3[c],
                                           out + i * width + c * s, s)
                    else:
                        fastlc_bn_grad_f64(g + i * width + c * s, row + c * s, v0[c], v1[c], v2[c], v3[c],
                                           out + i * width + c * s, s)


cdef inline void _layer_norm_rows(NormJob* j, Py_ssize_t k, Py_ssize_t lo, Py_ssize_t hi,
                                  floating* kind) noexcept nogil:
    cdef Py_ssize_t r, col, d = j.channels
    cdef const floating* x = <const floating*> j.x
    cdef const floating* g = <const floating*> j.g
    cdef const floating* gamma = <const floating*> j.v0
    cdef const floating* beta = <const floating*> j.v1
    cdef floating* mean = <floating*> j.out_mean
    cdef floating* rstd = <floating*> j.out_rstd
    cdef floating* out = <floating*> j.out
    cdef double* part_gamma = j.partials + k * d if j.partials != NULL else NULL
    cdef double* part_beta = j.partials2 + k * d if j.partials2 != NULL else NULL
    cdef const floating* row
    cdef const floating* grow
    cdef floating* orow
    cdef double total, dot, m_d
    cdef floating m, inv, xhat, scaled, shift, slope
    if j.stage == LN_BACKWARD:
        memset(part_gamma, 0, d * sizeof(double))
        memset(part_beta, 0, d * sizeof(double))
    for r in range(lo, hi):
        row = x + r * d
        orow = out + r * d
        if j.stage == LN_FORWARD:
            if floating is float:
                m_d = fastlc_sum_f32(row, d) / d
                total = fastlc_squares_f32(row, d, m_d) / d
            else:
                m_d = fastlc_sum_f64(row, d) / d
                total = fastlc_squares_f64(row, d, m_d) / d
            mean[r] = <floating> m_d
            rstd[r] = <floating> (1.0 / sqrt(total + j.eps))
            m = mean[r]
            inv = rstd[r]
            for col in range(d):
                orow[col] = (row[col] - m) * inv * gamma[col] + beta[col]
        else:
            grow = g + r * d
            m = mean[r]
            inv = rstd[r]
            total = 0
            dot = 0
            for col in range(d):
                xhat = (row[col] - m) * inv
                scaled = grow[col] * gamma[col]
                total += scaled
                dot += scaled * xhat
                part_gamma[col] += grow[col] * xhat
                part_beta[col] += grow[col]
            shift = <floating> (total / d)
            slope = <floating> (dot / d)
            for col in range(d):
                xhat = (row[col] - m) * inv
                orow[col] = inv * (grow[col] * gamma[col] - shift - xhat * slope)


cdef void _norm_task(void* ctx, Py_ssize_t k) noexcept nogil:
    cdef NormJob* j = <NormJob*> ctx
    cdef Py_ssize_t lo = k * j.n_rows // j.n_chunks, hi = (k + 1) * j.n_rows // j.n_chunks
    if j.stage == LN_FORWARD or j.stage == LN_BACKWARD:
        if j.is_double:
            _layer_norm_rows(j, k, lo, hi, <double*> NULL)
        else:
            _layer_norm_rows(j, k, lo, hi, <float*> NULL)
    elif j.is_double:
        _batch_norm_rows(j, k, lo, hi, <double*> NULL)
    else:
        _batch_norm_rows(j, k, lo, hi, <float*> NULL)


cdef inline const void* _ptr(const floating[::1] a) noexcept nogil:
    return <const void*> &a[0] if a.shape[0] > 0 else NULL


cdef NormJob _job(Stage stage, const floating[:, ::1] x, Py_ssize_t channels, Py_ssize_t s):
    cdef NormJob j
    memset(&j, 0, sizeof(NormJob))
    j.stage = stage
    j.is_double = floating is double
    j.n_rows = x.shape[0]
    j.channels = channels
    j.s = s
    j.n_chunks = _chunking.n_row_chunks(j.n_rows, x.shape[1])
    j.x = &x[0, 0] if x.shape[0] > 0 and x.shape[1] > 0 else NULL
    return j


cdef void _run(NormJob* j, int n_threads) noexcept nogil:
    if j.n_rows > 0 and j.x != NULL:
        parallel_for(_norm_task, j, j.n_chunks, n_threads)


def _ordered_sum(double[:, ::1] partials):
    """Per-column sums of the chunks' partial sums, added in chunk order."""
    cdef Py_ssize_t k, c
    result = np.zeros(partials.shape[1])
    cdef double[::1] total = result
    for k in range(partials.shape[0]):
        for c in range(partials.shape[1]):
            total[c] += partials[k, c]
    return result


def _sums(Stage stage, const floating[:, ::1] x, const floating[:, ::1] g, Py_ssize_t channels, Py_ssize_t s,
          const floating[::1] mean, int n_threads):
    """Per-channel float64 sums of a BN_SUMS / BN_SQUARES / BN_GRAD_SUMS pass (two vectors for the last)."""
    cdef NormJob j = _job(stage, x, channels, s)
    partials = np.zeros((j.n_chunks, channels))
    partials2 = np.zeros((j.n_chunks, channels))
    cdef double[:, ::1] p = partials, p2 = partials2
    if channels == 0 or j.x == NULL:
        return np.zeros(channels), np.zeros(channels)
    j.partials = &p[0, 0]
    j.partials2 = &p2[0, 0] if stage == BN_GRAD_SUMS else NULL
    j.g = &g[0, 0] if stage == BN_GRAD_SUMS else NULL
    j.v0 = _ptr(mean)
    with nogil:
        _run(&j, n_threads)
    return _ordered_sum(partials), _ordered_sum(partials2)


def _apply(Stage stage, const floating[:, ::1] x, const floating[:, ::1] g, Py_ssize_t channels, Py_ssize_t s,
           const floating[::1] v0, const floating[::1] v1, const floating[::1] v2, const floating[::1] v3,
           floating[:, ::1] out, int n_threads):
    """A BN_APPLY or BN_GRAD_APPLY pass into out."""
    cdef NormJob j = _job(stage, x, channels, s)
    if j.x == NULL:
        return
    j.g = &g[0, 0] if stage == BN_GRAD_APPLY else NULL
    j.v0 = _ptr(v0)
    j.v1 = _ptr(v1)
    j.v2 = _ptr(v2)
    j.v3 = _ptr(v3)
    j.out = &out[0, 0]
    with nogil:
        _run(&j, n_threads)


def batch_norm(x, gamma, beta, double eps, bint training, mean, var, invstd, out, int n_threads):
    n, channels, s = x.shape
    dtype = x.dtype
    flat, flat_out = x.reshape(n, channels * s), out.reshape(n, channels * s)
    if training:
        mean[...] = _sums(BN_SUMS, flat, flat, channels, s, mean[:0], n_threads)[0] / (n * s)
        var[...] = _sums(BN_SQUARES, flat, flat, channels, s, mean, n_threads)[0] / (n * s)
    a, b = affine_coefficients(gamma, beta, mean, var, eps, invstd, dtype)
    _apply(BN_APPLY, flat, flat, channels, s, a, b, a, a, flat_out, n_threads)


def batch_norm_backward(grad_out, x, gamma, mean, invstd, bint training, grad_x, grad_gamma, grad_beta,
                        int n_threads):
    n, channels, s = x.shape
    count = n * s
    dtype = x.dtype
    shape2 = (n, channels * s)
    flat, flat_g = x.reshape(shape2), grad_out.reshape(shape2)
    total, dot = _sums(BN_GRAD_SUMS, flat, flat_g, channels, s, mean, n_threads)
    grad_beta[...] = total
    grad_gamma[...] = dot * invstd.astype(np.float64)
    if not training:
        a, b = eval_gradient_coefficients(gamma, invstd, dtype)
        _apply(BN_APPLY, flat_g, flat_g, channels, s, a, b, a, a, grad_x.reshape(shape2), n_threads)
        return
    k_c, shift, scale = training_gradient_coefficients(total, dot, gamma, invstd, count, dtype)
    _apply(BN_GRAD_APPLY, flat, flat_g, channels, s, mean, k_c, shift, scale, grad_x.reshape(shape2), n_threads)


def _layer_norm_pass(Stage stage, const floating[:, ::1] x, const floating[:, ::1] g, const floating[::1] gamma,
                     const floating[::1] beta, double eps, floating[:, ::1] out, floating[::1] mean,
                     floating[::1] rstd, int n_threads):
    cdef Py_ssize_t d = x.shape[1]
    cdef NormJob j = _job(stage, x, d, 1)
    partials = np.zeros((j.n_chunks, d))
    partials2 = np.zeros((j.n_chunks, d))
    cdef double[:, ::1] p = partials, p2 = partials2
    if j.x == NULL:
        return _ordered_sum(partials), _ordered_sum(partials2)
    j.g = &g[0, 0]
    j.v0 = _ptr(gamma)
    j.v1 = _ptr(beta)
    j.eps = eps
    j.out = &out[0, 0]
    j.out_mean = &mean[0]
    j.out_rstd = &rstd[0]
    j.partials = &p[0, 0]
    j.partials2 = &p2[0, 0]
    with nogil:
        _run(&j, n_threads)
    return _ordered_sum(partials), _ordered_sum(partials2)


def layer_norm(x, gamma, beta, double eps, out, mean, rstd, int n_threads):
    _layer_norm_pass(LN_FORWARD, x, x, gamma, beta, eps, out, mean, rstd, n_threads)


def layer_norm_backward(grad_out, x, gamma, mean, rstd, grad_x, grad_gamma, grad_beta, int n_threads):
    # mean and rstd are only read in the backward pass (written through the same job fields as the forward)
    sum_gamma, sum_beta = _layer_norm_pass(LN_BACKWARD, x, grad_out, gamma, gamma, 0.0, grad_x,
                                           _writeable(mean), _writeable(rstd), n_threads)
    grad_gamma[...] = sum_gamma
    grad_beta[...] = sum_beta


def _writeable(array):
    return array if array.flags.writeable else array.copy()
