"""Vectorizable exp for the Numba kernels (the same algorithm as kernels/cython/_rowmath.h).

``math.exp`` compiles to a scalar libm call that LLVM cannot vectorize (Numba
has no vector math library without Intel's SVML). These are Cephes'
polynomial (float32) and rational (float64) approximations, written without
branches, so a loop over them vectorizes. Error against libm on the domain the
kernels use (max-shifted logits, x <= 0): under 1.4 ulp (float32) and 3 ulp
(float64). Below -87 (float32) / -708 (float64) the result flushes to 0 (also
for -inf); NaN propagates.

The round-to-nearest shifter trick (t = x * log2(e) + 1.5 * 2**23; n = t - 1.5 * 2**23)
must not be re-associated away, so these helpers are compiled without the
``reassoc`` fast-math flag; LLVM still inlines and vectorizes them.
"""
import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from fastlc._config import NUMBA_OPTIONS

# The exp helpers need IEEE order for the shifter; keep the other options.
_EXACT_OPTIONS = dict(NUMBA_OPTIONS, fastmath={"nsz", "contract"})


@intrinsic
def _float32_bits(typingctx, x):
    """Reinterpret a float32 as its int32 bit pattern."""
    if x != types.float32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return types.int32(types.float32), codegen


@intrinsic
def _float32_from_bits(typingctx, bits):
    """Reinterpret the low 32 bits of an integer as a float32."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        low = builder.trunc(args[0], ir.IntType(32)) if bits.bitwidth > 32 else args[0]
        return builder.bitcast(low, ir.FloatType())

    return types.float32(bits), codegen


@intrinsic
def _float64_bits(typingctx, x):
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _float64_from_bits(typingctx, bits):
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@numba.njit(**_EXACT_OPTIONS)
def exp32_reduce(x):
    """x = n ln 2 + r, n = round(x / ln 2): (r, 2**n), 2**n normal for x in [-87, 88]
    (fastlc_expf_reduce in _rowmath.h)."""
    t = x * np.float32(1.44269504088896341) + np.float32(12582912.0)
    n = t - np.float32(12582912.0)
    r = x - n * np.float32(0.693359375) - n * np.float32(-2.12194440e-4)
    return r, _float32_from_bits((_float32_bits(t) - 0x4B400000 + 127) << 23)


@numba.njit(**_EXACT_OPTIONS)
def exp32_tail(r):
    """e**r - 1 - r for |r| <= ln 2 / 2: r**2 P(r), Cephes' expf polynomial (fastlc_expf_tail)."""
    p = np.float32(1.9875691500e-4)
    p = p * r + np.float32(1.3981999507e-3)
    p = p * r + np.float32(8.3334519073e-3)
    p = p * r + np.float32(4.1665795894e-2)
    p = p * r + np.float32(1.6666665459e-1)
    p = p * r + np.float32(5.0000001201e-1)
    return p * r * r


@numba.njit(**_EXACT_OPTIONS)
def exp32_in_range(x):
    """exp of a float32 in [-87, 88] (or NaN, which gives NaN): the range reduction and polynomial that
    exp32 and _nn_math's exp_upto88 wrap in their clamps (fastlc_expf_in_range in _rowmath.h)."""
    r, scale = exp32_reduce(x)
    return (exp32_tail(r) + r + np.float32(1.0)) * scale


@numba.njit(**_EXACT_OPTIONS)
def exp32(x_in):
    """exp of a float32 (see the module docstring for accuracy and range)."""
    x = x_in if x_in >= np.float32(-87.0) else np.float32(-87.0)
    x = x if x <= np.float32(88.0) else np.float32(88.0)
    y = exp32_in_range(x)
    y = np.float32(0.0) if x_in < np.float32(-87.0) else y
    y = np.float32(np.inf) if x_in > np.float32(88.0) else y
    return x_in if x_in != x_in else y


@numba.njit(**_EXACT_OPTIONS)
def exp64(x_in):
    """exp of a float64 (see the module docstring for accuracy and range)."""
    x = x_in if x_in >= -708.0 else -708.0
    x = x if x <= 709.0 else 709.0
    t = x * 1.4426950408889634073599 + 6755399441055744.0
    n = t - 6755399441055744.0
    r = x - n * 6.93145751953125e-1 - n * 1.42860682030941723212e-6
    rr = r * r
    px = r * ((1.26177193074810590878e-4 * rr + 3.02994407707441961300e-2) * rr + 9.99999999999999999910e-1)
    qx = ((3.00198505138664455042e-6 * rr + 2.52448340349684104192e-3) * rr + 2.27265548208155028766e-1) * rr + 2.0
    p = 1.0 + 2.0 * px / (qx - px)
    scale = _float64_from_bits((_float64_bits(t) - np.int64(0x4338000000000000) + np.int64(1023)) << np.int64(52))
    y = p * scale
    y = 0.0 if x_in < -708.0 else y
    y = np.inf if x_in > 709.0 else y
    return x_in if x_in != x_in else y


def fast_exp(x):
    """exp for float32 or float64 scalars inside Numba kernels (typed dispatch)."""
    raise NotImplementedError("fast_exp is only callable from Numba-compiled code")


@overload(fast_exp, jit_options=_EXACT_OPTIONS)
def _fast_exp_overload(x):
    if x == types.float32:
        return lambda x: exp32(x)
    if x == types.float64:
        return lambda x: exp64(x)
    return None


@numba.njit(**NUMBA_OPTIONS)
def exp_inplace(x):
    """x = exp(x) for a contiguous 1-D array, in one vectorized loop."""
    for j in range(x.shape[0]):
        x[j] = fast_exp(x[j])


# ---------------------------------------------------------------- loss rows
# One source per loss row, used by the loss kernels (_losses.py) and by the
# fused linear-model gradients (_linear.py). Each takes coef = row weight *
# grad_scale, writes coef * dL/ds into ``grad`` and returns the row's loss NOT yet
# times its row weight; rows of weight 0 are the caller's business (not a
# scaling by 0: the row may hold NaN).
#
# Each source is compiled twice (measured, 1 thread):
# - for the loss kernels, inline="always" (inlined at Numba IR level into the
#   kernel's row loop, compiled with its flags, ``reassoc`` included, so that the
#   class loops' sums vectorize): as a called function the loss kernels ran
#   1.3-1.7x slower (8192 x 10);
# - for the fused gradients, a function compiled without ``reassoc`` (see
#   _linear.py): inlined at IR level, the fused cross-entropy rows came out
#   different in the last bit on 1 and on 2 threads (the order of the vectorized
#   sums followed the alignment of the per-chunk scratch rows).
# Not cached: the kernels that call them are.
_LOSS_ROW_OPTIONS = dict(inline="always", nogil=True, fastmath=NUMBA_OPTIONS["fastmath"], error_model="numpy")
_FUSED_ROW_OPTIONS = dict(nogil=True, fastmath=NUMBA_OPTIONS["fastmath"] - {"reassoc"}, error_model="numpy")


def _make_hinge_row(squared):
    """The Weston-Watkins row, plain or squared: two functions from one source.

    ``squared`` is a constant of the closure, so each variant compiles to
    branch-free class loops that LLVM vectorizes (an ``if squared`` inside the
    loop on a runtime flag kept both loops scalar: 2.5x slower).
    """

    def hinge_row(row, correct, margin, coef, grad):
        zero = row.dtype.type(0)
        one = row.dtype.type(1)
        two = row.dtype.type(2)
        # The correct class is masked out, not skipped: its z = s_y + (margin - s_y) is not the
        # margin exactly when |s_y| is large, nor a number when s_y is infinite.
        offset = margin - row[correct]
        loss = zero
        slope_sum = zero
        for j in range(row.shape[0]):
            z = row[j] + offset
            h = zero if (zero > z) | (j == correct) else z  # max(z, 0) that lets a NaN z through
            if squared:
                loss += h * h
                slope = two * h
            else:
                loss += h
                # 1 for h > 0 (also +inf); otherwise h is 0 (at and below the kink) or NaN, and a
                # NaN reaches the gradient too. A select, not "+ (h - h)": reassoc lets LLVM cancel h - h.
                slope = one if h > zero else h
            slope_sum += slope
            grad[j] = coef * slope
        grad[correct] = -coef * slope_sum
        return loss

    return hinge_row


def _cross_entropy_hard_row(row, grad, row_max, correct, class_weight, weight_total, label_smoothing, coef):
    """Softmax cross-entropy of one row against a hard label, with class weights and label smoothing.

    On entry ``grad`` holds exp(row - row_max) (the callers exponentiate a whole block of rows at
    once). With q_c = keep * w_y * [c == y] + smooth * w_c: L = q_sum * log(total) - sum_c q_c (s_c - max).
    """
    n_classes = row.shape[0]
    smooth = label_smoothing / row.dtype.type(n_classes)
    keep = row.dtype.type(1) - label_smoothing
    total = row.dtype.type(0)
    for j in range(n_classes):
        total += grad[j]
    w_correct = class_weight[correct]
    q_sum = keep * w_correct + smooth * weight_total
    loss = q_sum * np.log(total) - keep * w_correct * (row[correct] - row_max)
    scale = coef * q_sum / total
    if label_smoothing != 0:
        weighted_shift = row.dtype.type(0)
        for j in range(n_classes):
            if class_weight[j] != 0:  # 0 * -inf must not turn the loss into NaN
                weighted_shift += class_weight[j] * (row[j] - row_max)
            grad[j] = scale * grad[j] - coef * smooth * class_weight[j]
        loss -= smooth * weighted_shift
    else:
        for j in range(n_classes):
            grad[j] *= scale
    grad[correct] -= coef * keep * w_correct
    return loss


def _cross_entropy_soft_row(row, grad, row_max, target, class_weight, label_smoothing, coef):
    """Softmax cross-entropy of one row against a soft target row (grad holds exp(row - row_max) on entry).

    q_c = w_c * (keep * t_c + smooth); L = q_sum * log(total) - sum_c q_c (s_c - max).
    """
    n_classes = row.shape[0]
    smooth = label_smoothing / row.dtype.type(n_classes)
    keep = row.dtype.type(1) - label_smoothing
    total = row.dtype.type(0)
    for j in range(n_classes):
        total += grad[j]
    q_sum = row.dtype.type(0)
    weighted_shift = row.dtype.type(0)
    for j in range(n_classes):
        q = class_weight[j] * (keep * target[j] + smooth)
        q_sum += q
        if q != 0:  # a class with no target weight adds nothing, even at logit -inf
            weighted_shift += q * (row[j] - row_max)
    scale = coef * q_sum / total
    for j in range(n_classes):
        q = class_weight[j] * (keep * target[j] + smooth)
        grad[j] = scale * grad[j] - coef * q
    return q_sum * np.log(total) - weighted_shift


# for the loss kernels
hinge_row = numba.njit(**_LOSS_ROW_OPTIONS)(_make_hinge_row(False))
squared_hinge_row = numba.njit(**_LOSS_ROW_OPTIONS)(_make_hinge_row(True))
cross_entropy_hard_row = numba.njit(**_LOSS_ROW_OPTIONS)(_cross_entropy_hard_row)
cross_entropy_soft_row = numba.njit(**_LOSS_ROW_OPTIONS)(_cross_entropy_soft_row)
# for the fused gradients: the same sources, without re-association
hinge_row_ordered = numba.njit(**_FUSED_ROW_OPTIONS)(_make_hinge_row(False))
squared_hinge_row_ordered = numba.njit(**_FUSED_ROW_OPTIONS)(_make_hinge_row(True))
cross_entropy_hard_row_ordered = numba.njit(**_FUSED_ROW_OPTIONS)(_cross_entropy_hard_row)
