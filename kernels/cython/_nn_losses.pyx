# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Regression / binary losses and NLL in Cython (private signature: see fastlc/_naive/_nn_losses.py).

The formulas and the chunk loops are C (_nn.h: one point function per loss,
loops generated from them). Here: the job each chunk reads, and the thread
pool (_threadpool.h) that runs the chunks. Chunks are fixed by the size
(``partials`` has one entry per chunk) and each chunk's float64 sum goes to its
own entry, so results do not depend on the thread count. Inputs are ``const``
memoryviews, so read-only arrays work.
"""
from functools import partial

from libc.string cimport memset

from fastlc import _chunking

include "_threadpool.pxi"

ctypedef fused floating:
    float
    double

cdef extern from "_nn.h" nogil:
    enum:
        FASTLC_MSE
        FASTLC_L1
        FASTLC_HUBER
        FASTLC_SMOOTH_L1
        FASTLC_BCE
        FASTLC_BCE_LOGITS
    double fastlc_loss_chunk_f32(int op, const float* x, const float* t, const float* w, const float* pw,
                                 float param, float scale, float* loss_out, float* grad, Py_ssize_t n)
    double fastlc_loss_chunk_f64(int op, const double* x, const double* t, const double* w, const double* pw,
                                 double param, double scale, double* loss_out, double* grad, Py_ssize_t n)


ctypedef struct LossJob:
    # Arrays are float* or double* (is_double); absent ones are NULL. The scalars
    # are held as double and cast back, which is exact: they arrived in the arrays' dtype.
    int op
    bint is_double
    Py_ssize_t n
    Py_ssize_t n_chunks
    const void* input
    const void* target
    const void* weight
    const void* pos_weight
    double param
    double scale
    void* loss_out
    double* partials
    void* grad


cdef void _loss_task(void* ctx, Py_ssize_t c) noexcept nogil:
    cdef LossJob* job = <LossJob*> ctx
    cdef Py_ssize_t lo = c * job.n // job.n_chunks, hi = (c + 1) * job.n // job.n_chunks
    if job.is_double:
        job.partials[c] = fastlc_loss_chunk_f64(
            job.op, <const double*> job.input + lo, <const double*> job.target + lo,
            <const double*> job.weight + lo if job.weight else NULL,
            <const double*> job.pos_weight + lo if job.pos_weight else NULL,
            job.param, job.scale, <double*> job.loss_out + lo if job.loss_out else NULL,
            <double*> job.grad + lo, hi - lo)
    else:
        job.partials[c] = fastlc_loss_chunk_f32(
            job.op, <const float*> job.input + lo, <const float*> job.target + lo,
            <const float*> job.weight + lo if job.weight else NULL,
            <const float*> job.pos_weight + lo if job.pos_weight else NULL,
            <float> job.param, <float> job.scale, <float*> job.loss_out + lo if job.loss_out else NULL,
            <float*> job.grad + lo, hi - lo)


cdef inline const void* _data(const floating[::1] a) noexcept nogil:
    return <const void*> &a[0] if a.shape[0] > 0 else NULL


def _pointwise_loss(int op, const floating[::1] input, const floating[::1] target, const floating[::1] weight,
                    const floating[::1] pos_weight, floating param, floating grad_scale, floating[::1] loss_out,
                    double[::1] partials, floating[::1] grad_out, int n_threads):
    cdef LossJob job
    cdef Py_ssize_t c
    job.op = op
    job.is_double = floating is double
    job.n = input.shape[0]
    job.n_chunks = partials.shape[0]
    job.param = param
    job.scale = grad_scale
    job.partials = &partials[0]
    if job.n == 0:
        for c in range(job.n_chunks):
            partials[c] = 0
        return
    job.input = &input[0]
    job.target = &target[0]
    job.weight = _data(weight)
    job.pos_weight = _data(pos_weight)
    job.loss_out = <void*> &loss_out[0] if loss_out.shape[0] > 0 else NULL
    job.grad = &grad_out[0]
    with nogil:
        parallel_for(_loss_task, &job, job.n_chunks, n_threads)


mse_loss = partial(_pointwise_loss, FASTLC_MSE)
l1_loss = partial(_pointwise_loss, FASTLC_L1)
huber_loss = partial(_pointwise_loss, FASTLC_HUBER)
smooth_l1_loss = partial(_pointwise_loss, FASTLC_SMOOTH_L1)
binary_cross_entropy = partial(_pointwise_loss, FASTLC_BCE)
binary_cross_entropy_with_logits = partial(_pointwise_loss, FASTLC_BCE_LOGITS)


ctypedef struct NllJob:
    bint is_double
    Py_ssize_t n_samples
    Py_ssize_t n_classes
    Py_ssize_t n_chunks
    const void* log_prob
    const Py_ssize_t* y
    const void* row_weight
    double grad_scale
    void* loss_out
    void* grad


cdef inline void _nll_rows(const floating* log_prob, const Py_ssize_t* y, const floating* row_weight,
                           floating grad_scale, floating* loss_out, floating* grad, Py_ssize_t lo, Py_ssize_t hi,
                           Py_ssize_t n_classes) noexcept nogil:
    cdef Py_ssize_t i, start, stop, block = 256  # rows: 256 x 10 float32 classes are 10 KiB, inside L1
    # blocks of rows zeroed by one memset each, then one read and one write per row while the block's
    # gradient lines are still in L1 (a memset of the whole chunk first left them in L2: 365 -> 270 us
    # on one thread for 65 536 x 10 float32)
    start = lo
    while start < hi:
        stop = min(start + block, hi)
        memset(grad + start * n_classes, 0, (stop - start) * n_classes * sizeof(floating))
        for i in range(start, stop):
            if y[i] < 0:  # an ignored row
                loss_out[i] = 0
            else:
                loss_out[i] = -row_weight[i] * log_prob[i * n_classes + y[i]]
                grad[i * n_classes + y[i]] = -row_weight[i] * grad_scale
        start = stop


cdef void _nll_task(void* ctx, Py_ssize_t c) noexcept nogil:
    cdef NllJob* job = <NllJob*> ctx
    cdef Py_ssize_t lo = c * job.n_samples // job.n_chunks, hi = (c + 1) * job.n_samples // job.n_chunks
    if job.is_double:
        _nll_rows(<const double*> job.log_prob, job.y, <const double*> job.row_weight, job.grad_scale,
                  <double*> job.loss_out, <double*> job.grad, lo, hi, job.n_classes)
    else:
        _nll_rows(<const float*> job.log_prob, job.y, <const float*> job.row_weight, <float> job.grad_scale,
                  <float*> job.loss_out, <float*> job.grad, lo, hi, job.n_classes)


def nll_loss(const floating[:, ::1] log_prob, const Py_ssize_t[::1] y, const floating[::1] row_weight,
             floating grad_scale, floating[::1] loss_out, floating[:, ::1] grad_out, int n_threads):
    # memory-bound (a zero-fill and one read per row): parallel over fixed chunks of rows, which
    # write disjoint rows (nothing is summed here, so the thread count cannot change a result)
    cdef NllJob job
    job.is_double = floating is double
    job.n_samples = log_prob.shape[0]
    job.n_classes = log_prob.shape[1]
    if job.n_samples == 0 or job.n_classes == 0:
        return
    job.n_chunks = _chunking.n_row_chunks(job.n_samples, job.n_classes)
    job.log_prob = &log_prob[0, 0]
    job.y = &y[0]
    job.row_weight = &row_weight[0]
    job.grad_scale = grad_scale
    job.loss_out = &loss_out[0]
    job.grad = &grad_out[0, 0]
    with nogil:
        parallel_for(_nll_task, &job, job.n_chunks, n_threads)
