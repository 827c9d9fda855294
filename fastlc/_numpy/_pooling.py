"""2-D pooling as vectorized NumPy: padded copy + strided window view (same private signature as naive).

This is the way people usually write pooling in NumPy (CS231n's im2col-free
"fast" layers): ``sliding_window_view`` on a padded copy, a reduction over the
window axes, and ``np.add.at`` / strided ``+=`` to scatter gradients back.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _extent(out_size, stride, kernel):
    """Rows of padded input the windows reach: the last window's end."""
    return (out_size - 1) * stride + kernel


def _windows(padded, kernel_h, kernel_w, stride_h, stride_w, out_h, out_w):
    """View of shape (n_planes, out_h, out_w, kernel_h, kernel_w) on the padded planes."""
    view = sliding_window_view(padded, (kernel_h, kernel_w), axis=(1, 2))
    return view[:, ::stride_h, ::stride_w][:, :out_h, :out_w]


def _pad(planes, pad_h, pad_w, extent_h, extent_w, value):
    """Pad on top/left by ``pad``, on bottom/right up to the windows' extent (ceil_mode may reach beyond ``pad``)."""
    _, height, width = planes.shape
    bottom = max(extent_h - pad_h - height, 0)
    right = max(extent_w - pad_w - width, 0)
    return np.pad(planes, ((0, 0), (pad_h, bottom), (pad_w, right)), constant_values=value)


def max_pool2d(x, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, out, indices, n_threads):
    n_planes, height, width = x.shape
    _, out_h, out_w = out.shape
    extent_h, extent_w = _extent(out_h, stride_h, kernel_h), _extent(out_w, stride_w, kernel_w)
    padded = _pad(x, pad_h, pad_w, extent_h, extent_w, -np.inf)
    flat = _windows(padded, kernel_h, kernel_w, stride_h, stride_w, out_h, out_w).reshape(
        n_planes, out_h, out_w, kernel_h * kernel_w)
    # argmax takes the first maximum; padded cells are -inf, so they only tie
    # when every input cell of the window is -inf (fixed below)
    position = flat.argmax(axis=-1)
    # a NaN is the maximum; PyTorch's scan keeps the last NaN of the window
    is_nan = np.isnan(flat)
    has_nan = is_nan.any(axis=-1)
    if has_nan.any():
        last_nan = kernel_h * kernel_w - 1 - is_nan[..., ::-1].argmax(axis=-1)
        position = np.where(has_nan, last_nan, position)
    # windows whose input cells are all -inf: the first input cell wins, not a padded one
    valid = _pad(np.ones((1, height, width), dtype=bool), pad_h, pad_w, extent_h, extent_w, False)
    first_valid = _windows(valid, kernel_h, kernel_w, stride_h, stride_w, out_h, out_w).reshape(
        out_h, out_w, kernel_h * kernel_w).argmax(axis=-1)
    value = np.take_along_axis(flat, position[..., None], axis=-1)[..., 0]
    all_neg_inf = value == -np.inf
    if all_neg_inf.any():
        position = np.where(all_neg_inf, first_valid, position)
    out[...] = value
    row = np.arange(out_h)[:, None] * stride_h - pad_h + position // kernel_w
    col = np.arange(out_w) * stride_w - pad_w + position % kernel_w
    indices[...] = row * width + col


def max_pool2d_backward(grad_out, indices, grad_in, n_threads):
    grad_in[...] = 0
    np.add.at(grad_in, (np.arange(grad_in.shape[0])[:, None], indices), grad_out)


def _divisors(out_h, out_w, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, height, width, count_include_pad,
              dtype):
    """Array of shape (out_h, out_w): PyTorch's divisor of every window."""
    def counts(out_size, stride, pad, kernel, size):
        start = np.arange(out_size) * stride - pad
        if count_include_pad:
            return np.minimum(start + kernel, size + pad) - start
        return np.minimum(start + kernel, size) - np.maximum(start, 0)

    rows = counts(out_h, stride_h, pad_h, kernel_h, height)
    cols = counts(out_w, stride_w, pad_w, kernel_w, width)
    return np.multiply.outer(rows, cols).astype(dtype)


def avg_pool2d(x, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, count_include_pad, out, n_threads):
    _, height, width = x.shape
    _, out_h, out_w = out.shape
    extent_h, extent_w = _extent(out_h, stride_h, kernel_h), _extent(out_w, stride_w, kernel_w)
    padded = _pad(x, pad_h, pad_w, extent_h, extent_w, 0)
    total = _windows(padded, kernel_h, kernel_w, stride_h, stride_w, out_h, out_w).sum(axis=(-2, -1))
    divisor = _divisors(out_h, out_w, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, height, width,
                        count_include_pad, x.dtype)
    np.divide(total, divisor, out=out)


def avg_pool2d_backward(grad_out, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, count_include_pad, grad_in,
                        n_threads):
    n_planes, height, width = grad_in.shape
    _, out_h, out_w = grad_out.shape
    extent_h, extent_w = _extent(out_h, stride_h, kernel_h), _extent(out_w, stride_w, kernel_w)
    share = grad_out / _divisors(out_h, out_w, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, height, width,
                                 count_include_pad, grad_out.dtype)
    padded = np.zeros((n_planes, max(extent_h, pad_h + height), max(extent_w, pad_w + width)), dtype=grad_in.dtype)
    # one strided += per window offset: for a fixed offset the windows hit
    # distinct cells, so overlapping windows accumulate across offsets
    for dh in range(kernel_h):
        for dw in range(kernel_w):
            padded[:, dh:dh + (out_h - 1) * stride_h + 1:stride_h, dw:dw + (out_w - 1) * stride_w + 1:stride_w] += share
    grad_in[...] = padded[:, pad_h:pad_h + height, pad_w:pad_w + width]
