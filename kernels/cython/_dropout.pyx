# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Inverted dropout in Cython (private signatures and generator: see fastlc/_naive/_dropout.py).

Philox4x32-10 and the loops are C (_nn.h). The forward runs over fixed chunks of
4-element groups (one Philox block each), the backward over fixed chunks of
elements, on the thread pool (_threadpool.h): the mask depends only on (seed, index).
"""
from libc.stdint cimport uint8_t, uint32_t, uint64_t

from fastlc import _chunking

include "_threadpool.pxi"

ctypedef fused floating:
    float
    double

include "_nn_loops.pxi"


ctypedef struct DropoutJob:
    bint is_double
    bint backward
    Py_ssize_t n
    Py_ssize_t n_chunks
    Py_ssize_t n_units  # groups of 4 (forward) or elements (backward) split into chunks
    const void* x  # x (forward) or grad_out (backward)
    uint64_t threshold
    uint32_t key0
    uint32_t key1
    double scale
    void* out
    uint8_t* mask


cdef void _dropout_task(void* ctx, Py_ssize_t c) noexcept nogil:
    cdef DropoutJob* job = <DropoutJob*> ctx
    cdef Py_ssize_t lo = c * job.n_units // job.n_chunks, hi = (c + 1) * job.n_units // job.n_chunks
    if job.backward:
        if job.is_double:
            fastlc_dropout_backward_f64(<const double*> job.x + lo, job.mask + lo, job.scale,
                                        <double*> job.out + lo, hi - lo)
        else:
            fastlc_dropout_backward_f32(<const float*> job.x + lo, job.mask + lo, <float> job.scale,
                                        <float*> job.out + lo, hi - lo)
    elif job.is_double:
        fastlc_dropout_groups_f64(<const double*> job.x, job.threshold, job.scale, job.key0, job.key1,
                                  <double*> job.out, job.mask, lo, hi, job.n)
    else:
        fastlc_dropout_groups_f32(<const float*> job.x, job.threshold, <float> job.scale, job.key0, job.key1,
                                  <float*> job.out, job.mask, lo, hi, job.n)


cdef void _run(DropoutJob* job, int n_threads) noexcept nogil:
    parallel_for(_dropout_task, job, job.n_chunks, n_threads)


def dropout(const floating[::1] x, uint64_t threshold, floating scale, uint32_t key0, uint32_t key1,
            floating[::1] out, uint8_t[::1] mask, int n_threads):
    cdef DropoutJob job
    job.is_double = floating is double
    job.backward = False
    job.n = x.shape[0]
    if job.n == 0:
        return
    job.n_units = (job.n + 3) // 4
    job.n_chunks = _chunking.n_chunks(job.n_units * 4)
    job.x = &x[0]
    job.threshold = threshold
    job.key0 = key0
    job.key1 = key1
    job.scale = scale
    job.out = &out[0]
    job.mask = &mask[0]
    with nogil:
        _run(&job, n_threads)


def dropout_backward(const floating[::1] grad_out, const uint8_t[::1] mask, floating scale, floating[::1] grad_in,
                     int n_threads):
    cdef DropoutJob job
    job.is_double = floating is double
    job.backward = True
    job.n = grad_out.shape[0]
    if job.n == 0:
        return
    job.n_units = job.n
    job.n_chunks = _chunking.n_chunks(job.n)
    job.x = &grad_out[0]
    job.scale = scale
    job.out = &grad_in[0]
    job.mask = <uint8_t*> &mask[0]
    with nogil:
        _run(&job, n_threads)


cdef extern from "_nn.h" nogil:
    void fastlc_philox4x32_10(uint32_t* c, uint32_t k0, uint32_t k1)


def philox4x32_10(counter, key):
    """The C generator's four output words for a counter (4 words) and key (2 words); for the tests."""
    cdef uint32_t c[4]
    c = [counter[0], counter[1], counter[2], counter[3]]
    fastlc_philox4x32_10(c, key[0], key[1])
    return c[0], c[1], c[2], c[3]
