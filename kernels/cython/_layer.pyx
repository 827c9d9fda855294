# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""A hidden layer's element-wise work in one pass, for the networks' training step.

Forward: ``z += bias`` (each row), ``out = activation(z)``, then inverted dropout
of ``out`` (mask out). Backward: ``delta = activation'(pre) * dropout'(delta)``
in place. Unfused, these are two or three passes over a (batch, units) array
(the bias add, the activation, the dropout); here each block of rows goes
through all of them while it is in L1. The same point functions and loops as
the separate kernels (_nn.h: fastlc_activation_chunk_*, fastlc_dropout_groups_*,
fastlc_dropout_backward_*), in the same order per element, so the same bits;
and the same dropout mask, which depends only on (seed, element index).

Blocks are whole rows, a multiple of 4 of them, so that every block but the
last starts on a 4-element Philox group. Element-wise: any split over
threads gives the same result.

No validation (layer 1): C-contiguous arrays of one dtype, ``z``, ``out``,
``pre``, ``delta`` of n_rows * n_units values, ``bias`` of n_units, ``mask``
of n_rows * n_units bytes or empty (no dropout); ``op`` a code of ``OPS``.
"""
include "_threadpool.pxi"

from fastlc._cython._activations import ACTIVATIONS

#: activation name -> the op code the functions below take (that of _activations and _nn.h)
OPS = {name: code for code, name in enumerate(ACTIVATIONS)}

ctypedef fused floating:
    float
    double

include "_nn_loops.pxi"

cdef enum:
    # values per block, about: 4 KB of float32, in L1 with the block's other arrays
    BLOCK_VALUES = 1024


ctypedef struct Layer:
    int op
    bint is_double, backward
    Py_ssize_t n_rows, n_units, rows_per_block
    double a, b, scale
    uint64_t threshold
    uint32_t key0, key1
    void* z          # forward: the pre-activation, bias added in place; backward: delta, in place
    const void* bias
    const void* pre  # backward: the activation's input
    void* out        # forward: the activation's (dropped-out) output
    uint8_t* mask    # NULL: no dropout


cdef void _block(Layer* job, Py_ssize_t k, floating* kind) noexcept nogil:
    cdef Py_ssize_t r0 = k * job.rows_per_block, r1 = r0 + job.rows_per_block, r, j
    cdef Py_ssize_t m = job.n_units, n = job.n_rows * m
    cdef floating* z = <floating*> job.z
    cdef const floating* bias = <const floating*> job.bias
    cdef floating* out = <floating*> job.out
    cdef const floating* pre = <const floating*> job.pre
    if r1 > job.n_rows:
        r1 = job.n_rows
    if job.backward:
        # delta * (mask ? scale : 0), then the activation's derivative: the two kernels' order
        if job.mask != NULL:
            if floating is float:
                fastlc_dropout_backward_f32(z + r0 * m, job.mask + r0 * m, <float> job.scale, z + r0 * m,
                                            (r1 - r0) * m)
            else:
                fastlc_dropout_backward_f64(z + r0 * m, job.mask + r0 * m, job.scale, z + r0 * m, (r1 - r0) * m)
        if floating is float:
            fastlc_activation_chunk_f32(job.op, z + r0 * m, pre + r0 * m, <float> job.a, <float> job.b,
                                        z + r0 * m, (r1 - r0) * m)
        else:
            fastlc_activation_chunk_f64(job.op, z + r0 * m, pre + r0 * m, job.a, job.b, z + r0 * m,
                                        (r1 - r0) * m)
        return
    for r in range(r0, r1):
        for j in range(m):
            z[r * m + j] = z[r * m + j] + bias[j]
    if floating is float:
        fastlc_activation_chunk_f32(job.op, NULL, z + r0 * m, <float> job.a, <float> job.b, out + r0 * m,
                                    (r1 - r0) * m)
    else:
        fastlc_activation_chunk_f64(job.op, NULL, z + r0 * m, job.a, job.b, out + r0 * m, (r1 - r0) * m)
    if job.mask != NULL:
        # the 4-element groups of this block's elements (the last one may run past the block only at the
        # end of the array: blocks are a multiple of 4 rows), in place on out
        if floating is float:
            fastlc_dropout_groups_f32(out, job.threshold, <float> job.scale, job.key0, job.key1, out, job.mask,
                                      r0 * m // 4, (r1 * m + 3) // 4, n)
        else:
            fastlc_dropout_groups_f64(out, job.threshold, job.scale, job.key0, job.key1, out, job.mask,
                                      r0 * m // 4, (r1 * m + 3) // 4, n)


cdef void _layer_task(void* ctx, Py_ssize_t k) noexcept nogil:
    cdef Layer* job = <Layer*> ctx
    if job.is_double:
        _block(job, k, <double*> NULL)
    else:
        _block(job, k, <float*> NULL)


cdef void _run(Layer* job, int n_threads) noexcept nogil:
    if job.n_rows == 0 or job.n_units == 0:
        return
    # a multiple of 4 rows per block, about BLOCK_VALUES values
    job.rows_per_block = max(4, (BLOCK_VALUES // job.n_units + 3) // 4 * 4)
    parallel_for(_layer_task, job, (job.n_rows + job.rows_per_block - 1) // job.rows_per_block, n_threads)


def hidden_forward(int op, floating[:, ::1] z, const floating[::1] bias, floating a, floating b,
                   uint64_t threshold, floating scale, uint32_t key0, uint32_t key1, floating[:, ::1] out,
                   uint8_t[::1] mask, int n_threads):
    """``z += bias``; ``out = activation(z)``; with a mask (length z.size), ``out = dropout(out)``, writing
    the mask (threshold, scale and keys as the dropout kernel takes them)."""
    cdef Layer job
    job.op = op
    job.is_double = floating is double
    job.backward = False
    job.n_rows, job.n_units = z.shape[0], z.shape[1]
    job.a, job.b, job.scale = a, b, scale
    job.threshold, job.key0, job.key1 = threshold, key0, key1
    job.z = &z[0, 0] if job.n_rows * job.n_units else NULL
    job.bias = &bias[0] if job.n_units else NULL
    job.out = &out[0, 0] if job.n_rows * job.n_units else NULL
    job.mask = &mask[0] if mask.shape[0] else NULL
    with nogil:
        _run(&job, n_threads)


def hidden_backward(int op, floating[:, ::1] delta, const floating[:, ::1] pre, const uint8_t[::1] mask,
                    floating scale, floating a, floating b, int n_threads):
    """In place: ``delta = activation_backward(dropout_backward(delta, mask, scale), pre)`` (no mask: the
    activation's derivative alone)."""
    cdef Layer job
    job.op = op
    job.is_double = floating is double
    job.backward = True
    job.n_rows, job.n_units = delta.shape[0], delta.shape[1]
    job.a, job.b, job.scale = a, b, scale
    job.z = &delta[0, 0] if job.n_rows * job.n_units else NULL
    job.pre = &pre[0, 0] if job.n_rows * job.n_units else NULL
    job.mask = <uint8_t*> &mask[0] if mask.shape[0] else NULL
    with nogil:
        _run(&job, n_threads)
