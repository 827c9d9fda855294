"""Loss kernels in Numba: parallel over blocks of rows, each block fused in a few passes.

Arrays arrive ready (C-contiguous, float32 or float64, labels checked) and
scalars arrive already cast to the arrays' dtype, so float32 stays float32
(Numba would promote float32 with a Python float to float64: every constant
is made with ``dtype.type``).

The softmax kernels exponentiate the shifted logits of a whole block of rows
(about BLOCK_ELEMENTS values) in one long vectorized loop (see _rowmath.py),
so short rows (10 classes) run as fast per element as long ones; each row is
computed the same way whatever the blocking and thread count.
"""
import numba
import numpy as np

from fastlc._config import NUMBA_OPTIONS
from fastlc._constants import BLOCK_ELEMENTS

from ._rowmath import cross_entropy_hard_row, cross_entropy_soft_row, exp_inplace, hinge_row, squared_hinge_row
from ._threads import with_n_threads


def _make_hinge_kernel(row_function, parallel):
    """The multiclass hinge loss kernel over rows, with ``row_function`` (plain or squared) inlined.

    One source for the four kernels: plain and squared (one kernel choosing the variant per row ran
    the plain hinge 5-13% slower, 8192 x 10, 1 thread), each compiled with ``parallel=True`` and
    without. At one thread the serial compilation is the one to run: Numba's parfor lowering of the
    inlined plain-hinge row ran 10-12% slower than the same source compiled without ``parallel``
    (65536 x 10, float32 and float64, thread CPU time), which ran as fast as the row written inline.
    """

    def hinge(scores, y, row_weight, grad_scale, margin, loss_out, grad_out):
        zero = scores.dtype.type(0)
        for i in numba.prange(scores.shape[0]):
            grad = grad_out[i]
            if row_weight[i] == 0:
                # not a scaling by 0: the output may hold NaN garbage
                loss_out[i] = zero
                grad[:] = zero
                continue
            loss_out[i] = row_weight[i] * row_function(scores[i], y[i], margin, row_weight[i] * grad_scale, grad)

    return numba.njit(parallel=parallel, **NUMBA_OPTIONS)(hinge)


# (squared, serial) -> kernel
_HINGE_KERNELS = {(squared, serial): _make_hinge_kernel(squared_hinge_row if squared else hinge_row, not serial)
                  for squared in (False, True) for serial in (False, True)}


def _multiclass_hinge(scores, y, row_weight, grad_scale, margin, squared, loss_out, grad_out):
    _HINGE_KERNELS[bool(squared), False](scores, y, row_weight, grad_scale, margin, loss_out, grad_out)


_multiclass_hinge_threads = with_n_threads(_multiclass_hinge)


def multiclass_hinge(scores, y, row_weight, grad_scale, margin, squared, loss_out, grad_out, n_threads):
    if n_threads == 1:
        _HINGE_KERNELS[bool(squared), True](scores, y, row_weight, grad_scale, margin, loss_out, grad_out)
    else:
        _multiclass_hinge_threads(scores, y, row_weight, grad_scale, margin, squared, loss_out, grad_out, n_threads)


@numba.njit(**NUMBA_OPTIONS)
def _exp_shifted_block(logits, out, row_max):
    """out = exp(logits - max of its row) for a block of rows; maxima go to row_max."""
    n_rows, n_classes = logits.shape
    for i in range(n_rows):
        row = logits[i]
        m = row[0]
        for j in range(1, n_classes):
            m = row[j] if row[j] > m else m
        row_max[i] = m
        for j in range(n_classes):
            out[i, j] = row[j] - m
    exp_inplace(out.reshape(n_rows * n_classes))


@numba.njit(**NUMBA_OPTIONS)
def _block_bounds(n_samples, n_classes, block):
    block_rows = max(1, BLOCK_ELEMENTS // n_classes)
    first = block * block_rows
    return first, min(first + block_rows, n_samples)


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _cross_entropy_hard(logits, y, class_weight, row_weight, grad_scale, label_smoothing, loss_out, grad_out):
    n_samples, n_classes = logits.shape
    weight_total = class_weight.sum()
    block_rows = max(1, BLOCK_ELEMENTS // n_classes)
    for block in numba.prange((n_samples + block_rows - 1) // block_rows):
        first, stop = _block_bounds(n_samples, n_classes, block)
        # row maxima are parked in loss_out until each row's loss replaces them
        _exp_shifted_block(logits[first:stop], grad_out[first:stop], loss_out[first:stop])
        for i in range(first, stop):
            grad = grad_out[i]
            if row_weight[i] == 0:
                loss_out[i] = 0
                grad[:] = 0
                continue
            coef = row_weight[i] * grad_scale
            loss = cross_entropy_hard_row(logits[i], grad, loss_out[i], y[i], class_weight, weight_total,
                                          label_smoothing, coef)
            loss_out[i] = row_weight[i] * loss


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _cross_entropy_soft(logits, target, class_weight, row_weight, grad_scale, label_smoothing, loss_out, grad_out):
    n_samples, n_classes = logits.shape
    block_rows = max(1, BLOCK_ELEMENTS // n_classes)
    for block in numba.prange((n_samples + block_rows - 1) // block_rows):
        first, stop = _block_bounds(n_samples, n_classes, block)
        _exp_shifted_block(logits[first:stop], grad_out[first:stop], loss_out[first:stop])
        for i in range(first, stop):
            grad = grad_out[i]
            if row_weight[i] == 0:
                loss_out[i] = 0
                grad[:] = 0
                continue
            coef = row_weight[i] * grad_scale
            loss = cross_entropy_soft_row(logits[i], grad, loss_out[i], target[i], class_weight, label_smoothing,
                                          coef)
            loss_out[i] = row_weight[i] * loss


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _normalize(logits, out, log_space):
    """Softmax (or log-softmax) of every row into out."""
    n_samples, n_classes = logits.shape
    block_rows = max(1, BLOCK_ELEMENTS // n_classes)
    for block in numba.prange((n_samples + block_rows - 1) // block_rows):
        first, stop = _block_bounds(n_samples, n_classes, block)
        row_max = np.empty(stop - first, dtype=logits.dtype)
        _exp_shifted_block(logits[first:stop], out[first:stop], row_max)
        for i in range(first, stop):
            total = out[i].sum()
            if log_space:
                shift = row_max[i - first] + np.log(total)
                for j in range(n_classes):
                    out[i, j] = logits[i, j] - shift
            else:
                inverse = logits.dtype.type(1) / total
                for j in range(n_classes):
                    out[i, j] *= inverse


def _log_softmax(logits, out):
    _normalize(logits, out, True)


def _softmax(logits, out):
    _normalize(logits, out, False)


cross_entropy_hard = with_n_threads(_cross_entropy_hard)
cross_entropy_soft = with_n_threads(_cross_entropy_soft)
log_softmax = with_n_threads(_log_softmax)
softmax = with_n_threads(_softmax)
