"""2-D pooling kernels in Numba: one parallel loop over the (n, c) planes.

Each plane's outputs and its input gradient are written by one thread only,
so the backward scatter-add needs no atomics and its summation order is fixed
(results do not depend on ``n_threads``). Arrays arrive ready from the public
layer: C-contiguous, planes stacked on the first axis, indices in range.
"""
import math

import numba

from fastlc._config import NUMBA_OPTIONS

from ._threads import with_n_threads


@numba.njit(inline="always", **NUMBA_OPTIONS)
def _divisor(start_h, start_w, kernel_h, kernel_w, pad_h, pad_w, h0, h1, w0, w1, height, width, count_include_pad):
    """PyTorch's divisor: the window clipped to the padded input, or to the input alone."""
    if count_include_pad:
        return (min(start_h + kernel_h, height + pad_h) - start_h) * (min(start_w + kernel_w, width + pad_w) - start_w)
    return (h1 - h0) * (w1 - w0)


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _max_pool2d(x, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, out, indices):
    n_planes, height, width = x.shape
    out_h, out_w = out.shape[1], out.shape[2]
    for p in numba.prange(n_planes):
        plane = x[p]
        for oh in range(out_h):
            start_h = oh * stride_h - pad_h
            h0 = max(start_h, 0)
            h1 = min(start_h + kernel_h, height)
            for ow in range(out_w):
                start_w = ow * stride_w - pad_w
                w0 = max(start_w, 0)
                w1 = min(start_w + kernel_w, width)
                # start from the first input cell: padded cells never win
                best_value = plane[h0, w0]
                best_index = h0 * width + w0
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        value = plane[h, w]
                        # PyTorch's scan: first maximum wins ties, NaN beats everything
                        if value > best_value or math.isnan(value):
                            best_value = value
                            best_index = h * width + w
                out[p, oh, ow] = best_value
                indices[p, oh, ow] = best_index


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _max_pool2d_backward(grad_out, indices, grad_in):
    n_planes, n_outputs = grad_out.shape
    plane_size = grad_in.shape[1]
    zero = grad_in.dtype.type(0)
    for p in numba.prange(n_planes):
        # zero and scatter one plane at a time: it stays in L1 between the two
        for i in range(plane_size):
            grad_in[p, i] = zero
        for j in range(n_outputs):
            grad_in[p, indices[p, j]] += grad_out[p, j]


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _avg_pool2d(x, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, count_include_pad, out):
    n_planes, height, width = x.shape
    out_h, out_w = out.shape[1], out.shape[2]
    zero = x.dtype.type(0)
    for p in numba.prange(n_planes):
        plane = x[p]
        for oh in range(out_h):
            start_h = oh * stride_h - pad_h
            h0 = max(start_h, 0)
            h1 = min(start_h + kernel_h, height)
            for ow in range(out_w):
                start_w = ow * stride_w - pad_w
                w0 = max(start_w, 0)
                w1 = min(start_w + kernel_w, width)
                total = zero
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        total += plane[h, w]
                divisor = _divisor(start_h, start_w, kernel_h, kernel_w, pad_h, pad_w, h0, h1, w0, w1,
                                   height, width, count_include_pad)
                out[p, oh, ow] = total / x.dtype.type(divisor)


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _avg_pool2d_backward(grad_out, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, count_include_pad, grad_in):
    n_planes, height, width = grad_in.shape
    out_h, out_w = grad_out.shape[1], grad_out.shape[2]
    zero = grad_in.dtype.type(0)
    for p in numba.prange(n_planes):
        plane = grad_in[p]
        for h in range(height):
            for w in range(width):
                plane[h, w] = zero
        for oh in range(out_h):
            start_h = oh * stride_h - pad_h
            h0 = max(start_h, 0)
            h1 = min(start_h + kernel_h, height)
            for ow in range(out_w):
                start_w = ow * stride_w - pad_w
                w0 = max(start_w, 0)
                w1 = min(start_w + kernel_w, width)
                divisor = _divisor(start_h, start_w, kernel_h, kernel_w, pad_h, pad_w, h0, h1, w0, w1,
                                   height, width, count_include_pad)
                share = grad_out[p, oh, ow] / grad_in.dtype.type(divisor)
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        plane[h, w] += share


max_pool2d = with_n_threads(_max_pool2d)
max_pool2d_backward = with_n_threads(_max_pool2d_backward)
avg_pool2d = with_n_threads(_avg_pool2d)
avg_pool2d_backward = with_n_threads(_avg_pool2d_backward)
