"""Activations and their derivatives in Numba (private signatures: see fastlc/_naive/_activations.py).

One inlined point function per activation and direction; one parallel kernel for
all of them, which picks the point function by op code once per chunk, so each gets
its own vectorizable loop (one cached compile per dtype instead of eighteen).
Compiled without fast-math: exact IEEE arithmetic, NaN propagates as in PyTorch.
exp, tanh, expm1, log1p and (float32) the normal CDF are branch-free (vectorizable) forms
(_rowmath.py, _nn_math.py); the float64 CDF uses libm's erf.
"""
import math

import numba

from fastlc._chunking import n_chunks as _n_chunks
from fastlc._config import NUMBA_POLYNOMIAL_OPTIONS

from ._nn_math import (chunk_bounds, exp_upto88, fast_expm1, fast_tanh, log1p01, nn_kernel, normal_cdf, normal_parts,
                       tanh_parts, times_half, typed)
from ._rowmath import fast_exp

_INLINE = dict(NUMBA_POLYNOMIAL_OPTIONS, inline="always")

#: Op codes, in the order of fastlc._naive._activations.ACTIVATIONS.
RELU, LEAKY_RELU, ELU, GELU, GELU_TANH, SIGMOID, TANH, SOFTPLUS, SILU = range(9)
ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "gelu_tanh", "sigmoid", "tanh", "softplus", "silu")

INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
GELU_TANH_BETA = math.sqrt(2.0 / math.pi)
GELU_TANH_KAPPA = 0.044715


@numba.njit(**_INLINE)
def _sigmoid(x):
    """1 / (1 + e) or e / (1 + e) with e = exp(-|x|): the bounded exp (fastlc_sigmoid1 in kernels/cython/_nn.h)."""
    e = exp_upto88(-abs(x))  # NaN: e and r NaN
    r = typed(1, x) / (typed(1, x) + e)
    return r if x >= 0 else e * r


@numba.njit(**_INLINE)
def _relu(x, a, b):
    return x if not x <= 0 else typed(0, x)


@numba.njit(**_INLINE)
def _relu_backward(g, x, a, b):
    return typed(0, x) if x <= 0 else g


@numba.njit(**_INLINE)
def _leaky_relu(x, slope, b):
    return x if x > 0 else x * slope


@numba.njit(**_INLINE)
def _leaky_relu_backward(g, x, slope, b):
    return g if x > 0 else g * slope


@numba.njit(**_INLINE)
def _elu(x, alpha, b):
    return alpha * fast_expm1(x) if x <= 0 else x


@numba.njit(**_INLINE)
def _elu_backward(g, x, alpha, b):
    return g * alpha * fast_exp(x) if x <= 0 else g


@numba.njit(**_INLINE)
def _gelu(x, a, b):
    return x * normal_cdf(x)


@numba.njit(**_INLINE)
def _gelu_backward(g, x, a, b):
    cdf, e = normal_parts(x)  # e = exp(-x^2 / 2)
    return g * (cdf + x * (typed(INV_SQRT_2PI, x) * e))


@numba.njit(**_INLINE)
def _gelu_tanh_arg2(x, x2):
    """2u = 2 beta (x + kappa x^3) as x (2 beta + 2 beta kappa x^2), what tanh_parts takes
    (fastlc_gelu_tanh_arg2 in kernels/cython/_nn.h)."""
    return x * (typed(2.0 * GELU_TANH_BETA, x) + typed(2.0 * GELU_TANH_BETA * GELU_TANH_KAPPA, x) * x2)


@numba.njit(**_INLINE)
def _gelu_tanh(x, a, b):
    return times_half(x, _gelu_tanh_arg2(x, x * x))


@numba.njit(**_INLINE)
def _gelu_tanh_backward(g, x, a, b):
    x2 = x * x
    half, omt2 = tanh_parts(_gelu_tanh_arg2(x, x2))
    # u'(x) / 2 = beta (1 + 3 kappa x^2) / 2, constants folded
    right = x * omt2 * (typed(0.5 * GELU_TANH_BETA, x) + typed(1.5 * GELU_TANH_BETA * GELU_TANH_KAPPA, x) * x2)
    return g * (half + right)


@numba.njit(**_INLINE)
def _sigmoid_forward(x, a, b):
    return _sigmoid(x)


@numba.njit(**_INLINE)
def _sigmoid_backward(g, x, a, b):
    s = _sigmoid(x)
    return g * s * (typed(1, x) - s)


@numba.njit(**_INLINE)
def _tanh(x, a, b):
    return fast_tanh(x)


@numba.njit(**_INLINE)
def _tanh_backward(g, x, a, b):
    t = fast_tanh(x)
    return g * (typed(1, x) - t * t)


@numba.njit(**_INLINE)
def _softplus(x, beta, threshold):
    z = x * beta
    zero = typed(0, x)
    # log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)), without overflow
    # times 1 / beta, which LLVM hoists out of the loop (a division per element costs more)
    return x if z > threshold else ((z if z > zero else zero) + log1p01(exp_upto88(-abs(z)))) * (typed(1, x) / beta)


@numba.njit(**_INLINE)
def _softplus_backward(g, x, beta, threshold):
    z = x * beta
    return g if z > threshold else g * _sigmoid(z)


@numba.njit(**_INLINE)
def _silu(x, a, b):
    return x * _sigmoid(x)


@numba.njit(**_INLINE)
def _silu_backward(g, x, a, b):
    s = _sigmoid(x)
    one = typed(1, x)
    return g * s * (one + x * (one - s))


@numba.njit(**_INLINE)
def _forward_chunk(point, x, a, b, out):
    for i in range(x.shape[0]):
        out[i] = point(x[i], a, b)


@numba.njit(**_INLINE)
def _backward_chunk(point, g, x, a, b, out):
    for i in range(x.shape[0]):
        out[i] = point(g[i], x[i], a, b)


@numba.njit(parallel=True, **NUMBA_POLYNOMIAL_OPTIONS)
def _activation(op, backward, grad_out, x, a, b, out, n_chunks):
    n = x.shape[0]
    for c in numba.prange(n_chunks):
        lo, hi = chunk_bounds(c, n, n_chunks)
        xs, os = x[lo:hi], out[lo:hi]
        if backward:
            gs = grad_out[lo:hi]
            if op == RELU:
                _backward_chunk(_relu_backward, gs, xs, a, b, os)
            elif op == LEAKY_RELU:
                _backward_chunk(_leaky_relu_backward, gs, xs, a, b, os)
            elif op == ELU:
                _backward_chunk(_elu_backward, gs, xs, a, b, os)
            elif op == GELU:
                _backward_chunk(_gelu_backward, gs, xs, a, b, os)
            elif op == GELU_TANH:
                _backward_chunk(_gelu_tanh_backward, gs, xs, a, b, os)
            elif op == SIGMOID:
                _backward_chunk(_sigmoid_backward, gs, xs, a, b, os)
            elif op == TANH:
                _backward_chunk(_tanh_backward, gs, xs, a, b, os)
            elif op == SOFTPLUS and a == 1:
                _backward_chunk(_softplus_backward, gs, xs, typed(1, a), b, os)  # beta as a constant: see below
            elif op == SOFTPLUS:
                _backward_chunk(_softplus_backward, gs, xs, a, b, os)
            else:
                _backward_chunk(_silu_backward, gs, xs, a, b, os)
        else:
            if op == RELU:
                _forward_chunk(_relu, xs, a, b, os)
            elif op == LEAKY_RELU:
                _forward_chunk(_leaky_relu, xs, a, b, os)
            elif op == ELU:
                _forward_chunk(_elu, xs, a, b, os)
            elif op == GELU:
                _forward_chunk(_gelu, xs, a, b, os)
            elif op == GELU_TANH:
                _forward_chunk(_gelu_tanh, xs, a, b, os)
            elif op == SIGMOID:
                _forward_chunk(_sigmoid_forward, xs, a, b, os)
            elif op == TANH:
                _forward_chunk(_tanh, xs, a, b, os)
            elif op == SOFTPLUS and a == 1:
                # beta = 1 (the default) as a constant: x * 1 and the times 1 / 1 fold away, two multiplies
                # of about 23 in the float forward (same bits: both are exact)
                _forward_chunk(_softplus, xs, typed(1, a), b, os)
            elif op == SOFTPLUS:
                _forward_chunk(_softplus, xs, a, b, os)
            else:
                _forward_chunk(_silu, xs, a, b, os)


_run = nn_kernel(_activation)


def _make(op):
    def forward(x, a, b, out, n_threads):
        _run(op, False, x, x, a, b, out, _n_chunks(x.shape[0]), n_threads)

    def backward(grad_out, x, a, b, grad_in, n_threads):
        _run(op, True, grad_out, x, a, b, grad_in, _n_chunks(x.shape[0]), n_threads)

    return forward, backward


for _op, _name in enumerate(ACTIVATIONS):
    globals()[_name], globals()[f"{_name}_backward"] = _make(_op)
