# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Activations and their derivatives in Cython (private signatures: see fastlc/_naive/_activations.py).

The point functions and their loops are C (_nn.h); here the job a chunk reads
and the thread pool (_threadpool.h) that runs the fixed chunks (fastlc._chunking).
An output may be one of the inputs (in-place use): each element is read before
it is written. Inputs are ``const`` memoryviews, so read-only arrays work.
"""
from fastlc import _chunking

include "_threadpool.pxi"

ctypedef fused floating:
    float
    double

include "_nn_loops.pxi"

#: The order of fastlc._naive._activations.ACTIVATIONS (the op codes of _nn.h).
ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "gelu_tanh", "sigmoid", "tanh", "softplus", "silu")


ctypedef struct ActivationJob:
    int op
    bint is_double
    Py_ssize_t n
    Py_ssize_t n_chunks
    const void* grad_out  # NULL for the forward
    const void* x
    double a
    double b
    void* out


cdef void _activation_task(void* ctx, Py_ssize_t c) noexcept nogil:
    cdef ActivationJob* job = <ActivationJob*> ctx
    cdef Py_ssize_t lo = c * job.n // job.n_chunks, hi = (c + 1) * job.n // job.n_chunks
    if job.is_double:
        fastlc_activation_chunk_f64(job.op, <const double*> job.grad_out + lo if job.grad_out else NULL,
                                    <const double*> job.x + lo, job.a, job.b, <double*> job.out + lo, hi - lo)
    else:
        fastlc_activation_chunk_f32(job.op, <const float*> job.grad_out + lo if job.grad_out else NULL,
                                    <const float*> job.x + lo, <float> job.a, <float> job.b,
                                    <float*> job.out + lo, hi - lo)


def _activation(int op, const floating[::1] grad_out, const floating[::1] x, floating a, floating b,
                floating[::1] out, int n_threads):
    """The backward when grad_out has x's length, else (length 0) the forward."""
    cdef ActivationJob job
    job.op = op
    job.is_double = floating is double
    job.n = x.shape[0]
    if job.n == 0:
        return
    job.n_chunks = _chunking.n_chunks(job.n)
    job.grad_out = &grad_out[0] if grad_out.shape[0] > 0 else NULL
    job.x = &x[0]
    job.a = a
    job.b = b
    job.out = &out[0]
    with nogil:
        parallel_for(_activation_task, &job, job.n_chunks, n_threads)


def _make(int op):
    def forward(x, a, b, out, n_threads):
        _activation(op, x[:0], x, a, b, out, n_threads)

    def backward(grad_out, x, a, b, grad_in, n_threads):
        _activation(op, grad_out, x, a, b, grad_in, n_threads)

    return forward, backward


for _op, _name in enumerate(ACTIVATIONS):
    globals()[_name], globals()[f"{_name}_backward"] = _make(_op)
