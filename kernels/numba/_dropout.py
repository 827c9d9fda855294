"""Inverted dropout in Numba (private signatures and generator: see fastlc/_naive/_dropout.py).

Parallel over fixed chunks of 4-element groups; each group is one Philox4x32-10
block, a pure function of (seed, group index), so the mask is the same for every
thread count and backend. All generator arithmetic is in uint64 holding 32-bit
words (Numba would turn a mix of unsigned and signed integers into float64).
"""
import sys

import numba
import numpy as np

from fastlc._chunking import n_chunks as _n_chunks
from fastlc._config import NUMBA_ELEMENTWISE_OPTIONS

from ._nn_math import chunk_bounds, nn_kernel

_INLINE = dict(NUMBA_ELEMENTWISE_OPTIONS, inline="always")
_M32 = np.uint64(0xFFFFFFFF)
_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = np.uint64(0x9E3779B9), np.uint64(0xBB67AE85)
_SHIFT = np.uint64(32)


@numba.njit(**_INLINE)
def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10: four 32-bit words (as uint64) for a counter and key of 32-bit words (as uint64)."""
    for round_ in range(10):
        if round_ > 0:
            k0 = (k0 + _W0) & _M32
            k1 = (k1 + _W1) & _M32
        product0 = _M0 * c0
        product1 = _M1 * c2
        c0, c1, c2, c3 = ((product1 >> _SHIFT) ^ c1 ^ k0, product1 & _M32,
                          (product0 >> _SHIFT) ^ c3 ^ k1, product0 & _M32)
    return c0, c1, c2, c3


#: Groups whose keep flags are computed together (one group per vector lane) before the elements read them.
#: Short runs keep the loads and stores of the elements close to the generator's arithmetic: streaming
#: 10 M float32 on 2 threads (Zen 5), 32 groups took 0.196 ns per element, 64 groups 0.207 and 256 groups
#: 0.278, against 0.174 for a copy of the same array (interleaved rounds, one process); in cache the three
#: were within 3%. Below 32 the run loop's overhead shows (16: 0.31).
RUN = 32
#: Where keep flag j of a group goes in its packed uint32, so that the packed words read as bytes
#: are the flags in element order on either byte order.
_SHIFTS = tuple(np.uint32(8 * j) for j in ((0, 1, 2, 3) if sys.byteorder == "little" else (3, 2, 1, 0)))


@numba.njit(**NUMBA_ELEMENTWISE_OPTIONS)
def _dropout_groups(x, threshold, scale, k0, k1, out, mask, first, stop):
    """Groups [first, stop) of 4 elements: keep flags of a run of groups first (one group per vector
    lane), then the run's elements. A function of its own, called from the parallel loop: written
    inline in the prange body, the same loops took 0.61 instead of 0.55 ns per element (in cache,
    1 thread, Zen 4)."""
    n = x.shape[0]
    zero = x.dtype.type(0)
    t = np.uint64(threshold)
    z = np.uint64(0)
    s0, s1, s2, s3 = _SHIFTS
    # a group's 4 keep flags packed in one uint32 (a contiguous store per lane: the loop vectorizes,
    # 40% faster than storing the 4 words of each group interleaved), read back as bytes
    packed = np.empty(RUN, dtype=np.uint32)
    flags = packed.view(np.uint8)
    for run in range(first, stop, RUN):
        end = min(run + RUN, stop)
        for j in range(end - run):
            group = np.uint64(run + j)
            w0, w1, w2, w3 = philox4x32_10(group & _M32, group >> _SHIFT, z, z, k0, k1)
            packed[j] = ((np.uint32(w0 >= t) << s0) | (np.uint32(w1 >= t) << s1) | (np.uint32(w2 >= t) << s2)
                         | (np.uint32(w3 >= t) << s3))
        lo = 4 * run
        hi = min(4 * end, n)
        xs, outs, masks = x[lo:hi], out[lo:hi], mask[lo:hi]
        for i in range(hi - lo):
            keep = flags[i]
            masks[i] = keep
            outs[i] = xs[i] * (scale if keep else zero)


@numba.njit(parallel=True, **NUMBA_ELEMENTWISE_OPTIONS)
def _dropout(x, threshold, scale, key0, key1, out, mask, n_chunks):
    n_groups = (x.shape[0] + 3) // 4
    k0, k1 = np.uint64(key0), np.uint64(key1)
    for c in numba.prange(n_chunks):
        first, stop = chunk_bounds(c, n_groups, n_chunks)
        _dropout_groups(x, threshold, scale, k0, k1, out, mask, first, stop)


@numba.njit(parallel=True, **NUMBA_ELEMENTWISE_OPTIONS)
def _dropout_backward(grad_out, mask, scale, grad_in, n_chunks):
    n = grad_out.shape[0]
    zero = grad_out.dtype.type(0)
    for c in numba.prange(n_chunks):
        lo, hi = chunk_bounds(c, n, n_chunks)
        g, m, o = grad_out[lo:hi], mask[lo:hi], grad_in[lo:hi]
        for i in range(g.shape[0]):
            o[i] = g[i] * (scale if m[i] != 0 else zero)


_run_dropout = nn_kernel(_dropout)
_run_backward = nn_kernel(_dropout_backward)


def dropout(x, threshold, scale, key0, key1, out, mask, n_threads):
    _run_dropout(x, threshold, scale, key0, key1, out, mask, _n_chunks((x.shape[0] + 3) // 4 * 4), n_threads)


def dropout_backward(grad_out, mask, scale, grad_in, n_threads):
    _run_backward(grad_out, mask, scale, grad_in, _n_chunks(grad_out.shape[0]), n_threads)
