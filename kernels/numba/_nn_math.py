"""Helpers shared by the neural-network building blocks in Numba.

``typed(value, like)`` makes a constant of ``like``'s float type, so that the
point functions keep float32 arithmetic in float32 (Numba promotes float32 with
a Python float to float64); the cast is folded at compile time.
"""
import ctypes
from functools import wraps

import numba
import numpy as np
from numba import types
from numba.extending import overload

from fastlc._config import NUMBA_OPTIONS

from ._threads import with_n_threads

_INLINE = dict(NUMBA_OPTIONS, inline="always")


def typed(value, like):
    """``value`` as a scalar of ``like``'s dtype (only callable from Numba-compiled code)."""
    raise NotImplementedError("typed is only callable from Numba-compiled code")


@overload(typed, inline="always")
def _typed_overload(value, like):
    if like == types.float32:
        return lambda value, like: np.float32(value)
    if like == types.float64:
        return lambda value, like: np.float64(value)
    return None


@numba.njit(**_INLINE)
def chunk_bounds(c, n, n_chunks):
    """Chunk ``c`` of ``n`` elements split into ``n_chunks`` (see fastlc._chunking)."""
    return c * n // n_chunks, (c + 1) * n // n_chunks


@numba.njit(**_INLINE)
def sign(d):
    """Subgradient of |d|: 1, -1, 0 at 0, NaN for NaN."""
    one = typed(1, d)
    return one if d > 0 else (-one if d < 0 else d * typed(0, d))


@numba.njit(**_INLINE)
def clamp_below(value, low):
    return low if value < low else value  # NaN stays NaN


def _writeable_alias(array):
    """A writeable view of a read-only input's memory (the kernels never write their inputs).

    Numba types a read-only array as a different type, so every read-only input
    would compile another specialization of a kernel (seconds of JIT each).
    """
    if not isinstance(array, np.ndarray) or array.flags.writeable or array.size == 0:
        return array
    raw = (ctypes.c_char * array.nbytes).from_address(array.ctypes.data)
    alias = np.frombuffer(raw, dtype=array.dtype).reshape(array.shape)
    return alias


def nn_kernel(kernel):
    """``kernel(*args)`` as ``run(*args, n_threads)`` (see _threads.with_n_threads), read-only inputs aliased."""
    threaded = with_n_threads(kernel)

    @wraps(kernel)
    def run(*args):
        return threaded(*[_writeable_alias(a) for a in args])

    run.kernel = kernel
    return run
