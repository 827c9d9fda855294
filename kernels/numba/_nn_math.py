"""Helpers shared by the neural-network building blocks in Numba.

``typed(value, like)`` makes a constant of ``like``'s float type, so that the
point functions keep float32 arithmetic in float32 (Numba promotes float32 with
a Python float to float64); the cast is folded at compile time.
"""
import ctypes
import math
from functools import wraps

import numba
import numpy as np
from numba import types
from numba.extending import overload

from fastlc._config import NUMBA_OPTIONS

from ._rowmath import (_float32_bits, _float32_from_bits, _float64_bits, _float64_from_bits, exp32_in_range, exp32_reduce,
                       exp32_tail, exp64)
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


# Branch-free tanh, expm1 and log1p(u) for -1/2 <= u <= 1, the same forms as kernels/cython/_nn.h
# (see there): math.tanh / expm1 / log1p are scalar libm calls that keep a loop from vectorizing.
_EXACT = dict(NUMBA_OPTIONS, fastmath={"nsz", "contract"})
# inlined into the callers (Numba IR): left to LLVM, the larger ones stay calls and the loop stays scalar
_EXACT_INLINE = dict(_EXACT, inline="always")


@numba.njit(**_EXACT)
def _select(condition, if_true, if_false):
    """``if_true if condition else if_false``; a conditional expression inside a function inlined at
    the IR level trips Numba's SSA check (NumbaIRAssumptionWarning), and LLVM inlines this one."""
    return if_true if condition else if_false


@numba.njit(**_EXACT_INLINE)
def _tanh64(x):
    z = x * x
    p = (-9.64399179425052238628e-1 * z - 9.92877231001918586564e1) * z - 1.61468768441708447952e3
    q = ((z + 1.12811678491632931402e2) * z + 2.23548839060100448583e3) * z + 4.84406305325125486048e3
    small = x + x * z * p / q
    large = np.copysign(1.0 - 2.0 / (exp64(2.0 * abs(x)) + 1.0), x)
    return _select(abs(x) < 0.625, small, large)


@numba.njit(**_EXACT_INLINE)
def _tanh32(x):
    """Eigen's rational tanh, the form of fastlc_tanh32 in kernels/cython/_nn_points.h (see there)."""
    z = x * x
    p = np.float32(-2.76076847742355e-16)
    p = p * z + np.float32(2.00018790482477e-13)
    p = p * z - np.float32(8.60467152213735e-11)
    p = p * z + np.float32(5.12229709037114e-08)
    p = p * z + np.float32(1.48572235717979e-05)
    p = p * z + np.float32(6.37261928875436e-04)
    p = p * z + np.float32(4.89352455891786e-03)
    q = np.float32(1.19825839466702e-06)
    q = q * z + np.float32(1.18534705686654e-04)
    q = q * z + np.float32(2.26843463243900e-03)
    q = q * z + np.float32(4.89352518554385e-03)
    r = x * (p / q)
    return _select(abs(x) > np.float32(7.90531110763549805), np.copysign(np.float32(1), x), r)


@numba.njit(**_EXACT_INLINE)
def _expm1_64(x):
    xx = x * x
    px = x * ((1.26177193074810590878e-4 * xx + 3.02994407707441961300e-2) * xx + 9.99999999999999999910e-1)
    qx = ((3.00198505138664455042e-6 * xx + 2.52448340349684104192e-3) * xx + 2.27265548208155028766e-1) * xx + 2.0
    small = 2.0 * px / (qx - px)
    return _select(abs(x) <= 0.5, small, exp64(x) - 1.0)


@numba.njit(**_EXACT_INLINE)
def _expm1_32(x):
    """expm1 for x <= 0 in one range reduction: 2**n (e**r - 1) + (2**n - 1), the form of
    fastlc_expm1_nonpositive32 in kernels/cython/_nn_points.h (see there)."""
    r, scale = exp32_reduce(_select(x < np.float32(-87.0), np.float32(-87.0), x))  # NaN: NaN
    return scale * (exp32_tail(r) + r) + (scale - np.float32(1))


@numba.njit(**_EXACT_INLINE)
def _log1p_unit64(u):
    s = u / (2.0 + u)
    s2 = s * s
    # written out: a loop here can keep the caller's element loop from vectorizing
    return 2.0 * s * (((((((((((((((((1.0 / 35 * s2 + 1.0 / 33) * s2 + 1.0 / 31) * s2 + 1.0 / 29) * s2 + 1.0 / 27) * s2 + 1.0 / 25) * s2 + 1.0 / 23) * s2 + 1.0 / 21) * s2 + 1.0 / 19) * s2 + 1.0 / 17) * s2 + 1.0 / 15) * s2 + 1.0 / 13) * s2 + 1.0 / 11) * s2 + 1.0 / 9) * s2 + 1.0 / 7) * s2 + 1.0 / 5) * s2 + 1.0 / 3) * s2 + 1.0 / 1)


@numba.njit(**_EXACT_INLINE)
def _log1p_unit32(u):
    s = u / (np.float32(2) + u)
    s2 = s * s
    # to s^12 / 13: the next term is below (1/9)^7 / 15 = 1.4e-8 of the sum
    return np.float32(2) * s * ((((((np.float32(1.0 / 13) * s2 + np.float32(1.0 / 11)) * s2 + np.float32(1.0 / 9)) * s2 + np.float32(1.0 / 7)) * s2 + np.float32(1.0 / 5)) * s2 + np.float32(1.0 / 3)) * s2 + np.float32(1.0 / 1))


@numba.njit(**_EXACT_INLINE)
def _log1p01_32(u):
    """log1p(u) for 0 <= u <= 1 without a division: u q(u), the degree-8 fit of fastlc_log1p01_32
    in kernels/cython/_nn_points.h (see there)."""
    q = np.float32(0.005232705734670162)
    q = q * u - np.float32(0.029505284503102303)
    q = q * u + np.float32(0.07822602987289429)
    q = q * u - np.float32(0.1366325169801712)
    q = q * u + np.float32(0.19106009602546692)
    q = q * u - np.float32(0.24842983484268188)
    q = q * u + np.float32(0.3331909775733948)
    q = q * u - np.float32(0.4999949336051941)
    q = q * u + np.float32(0.9999999403953552)
    return q * u


def log1p01(u):
    """log1p(u) for 0 <= u <= 1 (softplus, BCE with logits): the fit in float32, the series in float64."""
    raise NotImplementedError("only callable from Numba-compiled code")


def fast_tanh(x):
    raise NotImplementedError("only callable from Numba-compiled code")


def fast_expm1(x):
    raise NotImplementedError("only callable from Numba-compiled code")


def log1p_unit(u):
    raise NotImplementedError("only callable from Numba-compiled code")


def _by_dtype(function, for32, for64):
    @overload(function, jit_options=_EXACT, inline="always")
    def _overload(x):
        if x == types.float32:
            return lambda x: for32(x)
        if x == types.float64:
            return lambda x: for64(x)
        return None


_by_dtype(fast_tanh, _tanh32, _tanh64)
_by_dtype(fast_expm1, _expm1_32, _expm1_64)
_by_dtype(log1p_unit, _log1p_unit32, _log1p_unit64)
_by_dtype(log1p01, _log1p01_32, _log1p_unit64)


@numba.njit(**_EXACT_INLINE)
def _log64(x):
    """Branch-free log, the form of fastlc_log64 in kernels/cython/_nn.h (see there).
    """
    sub = x < 2.2250738585072014e-308
    xs = _select(sub, x * 18014398509481984.0, x)
    bits = _float64_bits(xs)
    e = np.float64(((bits >> np.int64(52)) & np.int64(0x7FF)) - np.int64(1023)) - _select(sub, 54.0, 0.0)
    m = _float64_from_bits((bits & np.int64(0x000FFFFFFFFFFFFF)) | np.int64(0x3FF0000000000000))
    big = m > 1.4142135623730951
    m = _select(big, 0.5 * m, m)
    e = _select(big, e + 1.0, e)
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    # the series written out (see _log1p_unit64)
    total = (((((((((((1.0 / 23 * s2 + 1.0 / 21) * s2 + 1.0 / 19) * s2 + 1.0 / 17) * s2 + 1.0 / 15) * s2 + 1.0 / 13) * s2 + 1.0 / 11) * s2 + 1.0 / 9) * s2 + 1.0 / 7) * s2 + 1.0 / 5) * s2 + 1.0 / 3) * s2 + 1.0 / 1)
    r = e * 6.93147180369123816490e-01 + (2.0 * s * total + e * 1.90821492927058770002e-10)
    special = _select(x == 0, -np.inf, _select(x < 0, np.nan, x))  # x itself for inf and NaN
    return _select((x > 0) & (x < np.inf), r, special)


@numba.njit(**_EXACT_INLINE)
def _log32(x):
    """Cephes' logf in float32, the form of fastlc_logf in kernels/cython/_nn_points.h (see there)."""
    sub = x < np.float32(1.17549435e-38)
    xs = _select(sub, x * np.float32(33554432.0), x)
    bits = _float32_bits(xs)
    exponent = ((bits >> np.int32(23)) & np.int32(0xFF)) - np.int32(126)
    e = np.float32(exponent) - _select(sub, np.float32(25), np.float32(0))
    m = _float32_from_bits((bits & np.int32(0x007FFFFF)) | np.int32(0x3F000000))
    low = m < np.float32(0.707106781186547524)
    e = _select(low, e - np.float32(1), e)
    f = _select(low, m + m - np.float32(1), m - np.float32(1))
    z = f * f
    y = np.float32(7.0376836292e-2)
    y = y * f - np.float32(1.1514610310e-1)
    y = y * f + np.float32(1.1676998740e-1)
    y = y * f - np.float32(1.2420140846e-1)
    y = y * f + np.float32(1.4249322787e-1)
    y = y * f - np.float32(1.6668057665e-1)
    y = y * f + np.float32(2.0000714765e-1)
    y = y * f - np.float32(2.4999993993e-1)
    y = y * f + np.float32(3.3333331174e-1)
    y = y * f * z - np.float32(2.12194440e-4) * e - np.float32(0.5) * z
    r = f + y + np.float32(0.693359375) * e
    special = _select(x == 0, -np.float32(np.inf), _select(x < 0, np.float32(np.nan), x))
    return _select((x > 0) & (x < np.float32(np.inf)), r, special)


def fast_log(x):
    raise NotImplementedError("only callable from Numba-compiled code")


_by_dtype(fast_log, _log32, _log64)


@numba.njit(**_EXACT_INLINE)
def _exp_upto88_32(x_in):
    """exp32 for arguments that cannot exceed 88: the same bits there, without the overflow clamp and
    select, and with a low clamp that lets NaN through (fastlc_expf_upto88 in kernels/cython/_nn_points.h)."""
    low = x_in < np.float32(-87.0)  # False for NaN: NaN goes through
    y = exp32_in_range(_select(low, np.float32(-87.0), x_in))
    return _select(low, np.float32(0.0), y)


@numba.njit(**_EXACT_INLINE)
def _exp_upto709_64(x):
    return exp64(x)


def exp_upto88(x):
    """exp for arguments bounded above (exp(-|u|), exp(-x^2 / 2)): cheaper in float32."""
    raise NotImplementedError("only callable from Numba-compiled code")


_by_dtype(exp_upto88, _exp_upto88_32, _exp_upto709_64)

# The standard normal CDF of the exact GELU and e = exp(-x^2 / 2) (the backward's density without
# a second exp): the forms of fastlc_normal_parts32 / 64 in kernels/cython/_nn.h (see there for the
# fit and the accuracy): float32 by t q(t) e, t = 1 / (1 + z / 2), z = |x| / sqrt 2 (branch-free,
# vectorizes), float64 by libm's erf.
_SQRT_HALF = 0.70710678118654752440


@numba.njit(**_EXACT_INLINE)
def _normal_parts32(x):
    one = np.float32(1)
    t = one / (one + np.float32(0.5 * _SQRT_HALF) * abs(x))
    q = np.float32(-0.029658474)
    q = q * t + np.float32(0.14289257)
    q = q * t - np.float32(0.24485298)
    q = q * t + np.float32(0.14046706)
    q = q * t - np.float32(0.014300091)
    q = q * t + np.float32(0.10176092)
    q = q * t + np.float32(0.12144648)
    q = q * t + np.float32(0.14120212)
    q = q * t + np.float32(0.14104238)
    e = _exp_upto88_32(np.float32(-0.5) * x * x)
    half_erfc = t * q * e
    return _select(x < np.float32(0), half_erfc, one - half_erfc), e


@numba.njit(**_EXACT_INLINE)
def _normal_cdf32(x):
    return _normal_parts32(x)[0]


@numba.njit(**_EXACT_INLINE)
def _normal_cdf64(x):
    return 0.5 * (1.0 + math.erf(x * _SQRT_HALF))


@numba.njit(**_EXACT_INLINE)
def _normal_parts64(x):
    return _normal_cdf64(x), _exp_upto709_64(-0.5 * x * x)


def normal_cdf(x):
    raise NotImplementedError("only callable from Numba-compiled code")


def normal_parts(x):
    """(Phi(x), exp(-x^2 / 2))."""
    raise NotImplementedError("only callable from Numba-compiled code")


_by_dtype(normal_cdf, _normal_cdf32, _normal_cdf64)
_by_dtype(normal_parts, _normal_parts32, _normal_parts64)


# (1 + tanh u) / 2 and 1 - tanh(u)^2 for the tanh GELU, from w = 2u: the forms of fastlc_tanh_parts32 / 64
# in kernels/cython/_nn.h (see there): float64 from tanh(w / 2), float32 from e = exp(-|w|) without
# cancellation.
@numba.njit(**_EXACT_INLINE)
def _tanh_parts32(w):
    one = np.float32(1)
    e = _exp_upto88_32(-abs(w))
    r = one / (one + e)
    return _select(w >= np.float32(0), r, e * r), np.float32(4) * e * r * r


@numba.njit(**_EXACT_INLINE)
def _tanh_parts64(w):
    t = _tanh64(0.5 * w)
    return 0.5 * (1.0 + t), 1.0 - t * t


def tanh_parts(w):
    raise NotImplementedError("only callable from Numba-compiled code")


_by_dtype(tanh_parts, _tanh_parts32, _tanh_parts64)


# x (1 + tanh(w / 2)) / 2, the tanh GELU's forward: fastlc_times_half32 / 64 in kernels/cython/_nn.h (float32:
# x / (1 + e) or x e / (1 + e), e = exp(-|w|), one operation fewer than x times the half of tanh_parts)
@numba.njit(**_EXACT_INLINE)
def _times_half32(x, w):
    e = _exp_upto88_32(-abs(w))
    return _select(w >= np.float32(0), x, x * e) / (np.float32(1) + e)


@numba.njit(**_EXACT_INLINE)
def _times_half64(x, w):
    half, omt2 = _tanh_parts64(w)
    return x * half


def times_half(x, w):
    raise NotImplementedError("only callable from Numba-compiled code")


@overload(times_half, jit_options=_EXACT, inline="always")
def _times_half_by_dtype(x, w):
    if x == types.float32:
        return lambda x, w: _times_half32(x, w)
    if x == types.float64:
        return lambda x, w: _times_half64(x, w)
    return None
