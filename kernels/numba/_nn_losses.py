"""Regression / binary losses and NLL in Numba (private signature: see fastlc/_naive/_nn_losses.py).

One point function per loss (inlined), one parallel kernel for all the element-wise
losses: its chunk loop is written once (``_loss_chunk``) and called with the point
function that the op code selects, outside the element loop, so each loss gets
its own vectorizable loop. (A kernel per loss built by a closure factory would not
be cached by Numba, and would cost a compile per loss and dtype.) Chunks are fixed
by the size (``partials`` has one entry per chunk) and each chunk's float64 sum goes
to its own entry, so the loss does not depend on the thread count.
"""
from functools import partial

import numba
import numpy as np

from fastlc._chunking import n_row_chunks
from fastlc._config import NUMBA_EXACT_DIVISION_OPTIONS, NUMBA_OPTIONS
from fastlc._constants import REGRESSION_HUBER

from ._nn_math import chunk_bounds, clamp_below, fast_log, log1p01, log1p_unit, nn_kernel, sign, typed
from ._rowmath import fast_exp

_INLINE = dict(NUMBA_OPTIONS, inline="always")

MSE, L1, HUBER, SMOOTH_L1, BCE, BCE_LOGITS, SMOOTH_L1_SUBNORMAL_BETA = range(7)


@numba.njit(**_INLINE)
def _mse(x, t, pos_weight, param):
    d = x - t
    return d * d, d  # the slope's factor 2 is in mse_loss's gradient scale (fastlc/kernels/_nn_losses.py)


@numba.njit(**_INLINE)
def _l1(x, t, pos_weight, param):
    d = x - t
    return abs(d), sign(d)


@numba.njit(**_INLINE)
def _huber(x, t, pos_weight, delta):
    d = x - t
    a = abs(d)
    half = typed(0.5, x)
    loss = half * d * d if a < delta else delta * (a - half * delta)
    slope = -delta if d <= -delta else (delta if d >= delta else d)
    return loss, slope


@numba.njit(**_INLINE)
def _epsilon_insensitive(x, t, pos_weight, epsilon):
    d = x - t
    a = abs(d)
    zero = d * typed(0, x)  # 0, or NaN for NaN
    loss = a - epsilon if a > epsilon else zero
    slope = sign(d) if a > epsilon else zero
    return loss, slope


@numba.njit(**_INLINE)
def regression_row(scores, targets, point, param, row_coef, grad):
    """Sum over the targets of one row's point losses; ``grad = row_coef * slope``.

    ``point`` is REGRESSION_HUBER or REGRESSION_EPSILON_INSENSITIVE (fastlc._constants).
    """
    total = typed(0, param)
    one = typed(1, param)
    for j in range(scores.shape[0]):
        if point == REGRESSION_HUBER:
            loss, slope = _huber(scores[j], targets[j], one, param)
        else:
            loss, slope = _epsilon_insensitive(scores[j], targets[j], one, param)
        total += loss
        grad[j] = row_coef * slope
    return total


@numba.njit(**_INLINE)
def _smooth_l1(x, t, pos_weight, beta):
    d = x - t
    a = abs(d)
    half = typed(0.5, x)
    one = typed(1, x)
    loss = half * d * d / beta if a < beta else a - half * beta
    slope = -one if d <= -beta else (one if d >= beta else d / beta)
    return loss, slope


@numba.njit(**_INLINE)
def _bce_logs(p):
    """log p and log1p(-p) for p in [0, 1] from one log and one atanh series (the split of
    fastlc_bce_logs in kernels/cython/_nn_points.h, see there): p - 1 and 1 - p are exact from 1/2 on."""
    one = typed(1, p)
    low = p < typed(0.5, p)
    by_log = fast_log(p if low else one - p)
    by_series = log1p_unit(-p if low else p - one)
    return (by_log, by_series) if low else (by_series, by_log)


@numba.njit(**_INLINE)
def _bce(p, t, pos_weight, param):
    one = typed(1, p)
    clamp = typed(-100, p)
    log_p, log_q = _bce_logs(p)
    log_p = clamp_below(log_p, clamp)
    log_q = clamp_below(log_q, clamp)
    loss = (t - one) * log_q - t * log_p
    # PyTorch's EPSILON is the float 1e-12f, also for float64
    slope = (p - t) / clamp_below((one - p) * p, typed(9.999999960041972e-13, p))
    return loss, slope


@numba.njit(**_INLINE)
def _bce_logits(x, t, pos_weight, param):
    """The cancellation-free form of fastlc_bce_logits in kernels/cython/_nn_points.h (see there)."""
    one = typed(1, x)
    log_weight = one + (pos_weight - one) * t
    e = fast_exp(-abs(x))
    weighted_q = log_weight * (e / (one + e))
    positive = x >= typed(0, x)
    coef = one - t if positive else -pos_weight * t
    return coef * x + log_weight * log1p01(e), coef + (-weighted_q if positive else weighted_q)


@numba.njit(**_INLINE)
def _loss_chunk(point, x, t, w, pw, param, grad_scale, loss_out, grad):
    one = typed(1, grad_scale)
    total = 0.0
    if w.shape[0] == 0 and pw.shape[0] == 0 and loss_out.shape[0] == 0:
        # the common case gets a loop that reads no optional array
        for i in range(x.shape[0]):
            loss, slope = point(x[i], t[i], one, param)
            total += loss
            grad[i] = grad_scale * slope
    else:
        for i in range(x.shape[0]):
            wi = w[i] if w.shape[0] else one
            loss, slope = point(x[i], t[i], pw[i] if pw.shape[0] else one, param)
            loss = wi * loss
            total += loss
            grad[i] = grad_scale * wi * slope
            if loss_out.shape[0]:
                loss_out[i] = loss
    return total


@numba.njit(**NUMBA_EXACT_DIVISION_OPTIONS)
def _smooth_l1_chunk_exact_division(x, t, w, pw, beta, grad_scale, loss_out, grad):
    """The smooth L1 chunk loop compiled without ``arcp`` (see NUMBA_EXACT_DIVISION_OPTIONS), for a subnormal
    beta, whose reciprocal is inf: d / beta is a true division, as in the other backends."""
    return _loss_chunk(_smooth_l1, x, t, w, pw, beta, grad_scale, loss_out, grad)


@numba.njit(**_INLINE)
def _part(array, lo, hi):
    return array[lo:hi] if array.shape[0] else array


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _pointwise_loss(op, input, target, weight, pos_weight, param, grad_scale, loss_out, partials, grad_out):
    n = input.shape[0]
    n_chunks = partials.shape[0]
    for c in numba.prange(n_chunks):
        lo, hi = chunk_bounds(c, n, n_chunks)
        x, t, g = input[lo:hi], target[lo:hi], grad_out[lo:hi]
        w, pw, l = _part(weight, lo, hi), _part(pos_weight, lo, hi), _part(loss_out, lo, hi)
        if op == MSE:
            partials[c] = _loss_chunk(_mse, x, t, w, pw, param, grad_scale, l, g)
        elif op == L1:
            partials[c] = _loss_chunk(_l1, x, t, w, pw, param, grad_scale, l, g)
        elif op == HUBER:
            partials[c] = _loss_chunk(_huber, x, t, w, pw, param, grad_scale, l, g)
        elif op == SMOOTH_L1:
            partials[c] = _loss_chunk(_smooth_l1, x, t, w, pw, param, grad_scale, l, g)
        elif op == SMOOTH_L1_SUBNORMAL_BETA:
            partials[c] = _smooth_l1_chunk_exact_division(x, t, w, pw, param, grad_scale, l, g)
        elif op == BCE:
            partials[c] = _loss_chunk(_bce, x, t, w, pw, param, grad_scale, l, g)
        else:
            partials[c] = _loss_chunk(_bce_logits, x, t, w, pw, param, grad_scale, l, g)


#: Rows of an NLL block: 256 x 10 float32 classes are 10 KiB, inside L1 (_nll_rows in _nn_losses.pyx).
NLL_BLOCK_ROWS = 256


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _nll_loss(log_prob, y, row_weight, grad_scale, loss_out, grad_out, n_chunks):
    """The Cython kernel's order: fixed chunks of rows, each by blocks whose gradient is zeroed as one flat
    run (a vectorized fill) and then gets one write per row while its lines are in L1. On 65 536 x 10
    float32 (Zen 4, kernel alone): 191 -> 144 us on 1 thread, 99 -> 76 us on 2, against a prange over rows
    that zeroed each row by a slice and indexed with signed labels (Cython: 96 / 53-63 us)."""
    n_samples, n_classes = log_prob.shape
    flat = grad_out.reshape(-1)
    lp_flat = log_prob.reshape(-1)
    zero = grad_out.dtype.type(0)
    for c in numba.prange(n_chunks):
        lo, hi = chunk_bounds(c, n_samples, n_chunks)
        for start in range(lo, hi, NLL_BLOCK_ROWS):
            stop = min(start + NLL_BLOCK_ROWS, hi)
            flat[start * n_classes:stop * n_classes] = zero
            for i in range(start, stop):
                if y[i] < 0:  # an ignored row
                    loss_out[i] = 0
                else:
                    # an unsigned flat index: no wraparound test for negative indices (labels are checked)
                    at = np.uint64(i * n_classes + y[i])
                    loss_out[i] = -row_weight[i] * lp_flat[at]
                    flat[at] = -row_weight[i] * grad_scale


_run_pointwise = nn_kernel(_pointwise_loss)
mse_loss = partial(_run_pointwise, MSE)
l1_loss = partial(_run_pointwise, L1)
huber_loss = partial(_run_pointwise, HUBER)


def smooth_l1_loss(input, target, weight, pos_weight, beta, *rest):
    subnormal = beta < np.finfo(beta.dtype).tiny  # its reciprocal may be inf (see _smooth_l1_chunk_exact_division)
    return _run_pointwise(SMOOTH_L1_SUBNORMAL_BETA if subnormal else SMOOTH_L1, input, target, weight, pos_weight,
                          beta, *rest)


binary_cross_entropy = partial(_run_pointwise, BCE)
binary_cross_entropy_with_logits = partial(_run_pointwise, BCE_LOGITS)
_run_nll = nn_kernel(_nll_loss)


def nll_loss(log_prob, y, row_weight, grad_scale, loss_out, grad_out, n_threads):
    _run_nll(log_prob, y, row_weight, grad_scale, loss_out, grad_out, n_row_chunks(*log_prob.shape), n_threads)
