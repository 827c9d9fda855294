"""2-D pooling kernels in Numba: one parallel loop over the (n, c) planes.

Each plane's outputs and its input gradient are written by one thread only,
so the backward scatter-add needs no atomics and its summation order is fixed
(results do not depend on ``n_threads``). Arrays arrive ready from the public
layer: C-contiguous, planes stacked on the first axis, indices in range.

Speed: windows that lie wholly inside the input ("interior" windows) are
computed in two passes over the flattened plane -- every kernel_w row segment,
then kernel_h such segments top to bottom -- which are long unit-stride loops
LLVM vectorizes; the strided outputs are then picked. (Segment starts near a
row's end wrap into the next row: computed, never picked.) For max pooling
the two passes together are PyTorch's row-major scan: first maximum of each
segment, then first maximum over the segments, a NaN always taken. Border
windows (padding, ceil_mode) take the plain per-window loop. Buffers are
indexed with unsigned ints so that Numba emits no negative-index wraparound,
which would block vectorization.
"""
import math
from functools import wraps

import numba
import numpy as np

from fastlc._config import NUMBA_OPTIONS

from ._threads import with_n_threads


@numba.njit(inline="always", **NUMBA_OPTIONS)
def _interior(out_size, size, kernel, stride, pad):
    """Outputs [lo, hi) along one axis whose windows need no padding."""
    lo = min((pad + stride - 1) // stride, out_size)
    span = size + pad - kernel
    hi = span // stride + 1 if span >= 0 else 0
    return lo, max(min(hi, out_size), lo)


@numba.njit(inline="always", **NUMBA_OPTIONS)
def _divisor(start_h, start_w, kernel_h, kernel_w, pad_h, pad_w, h0, h1, w0, w1, height, width, count_include_pad):
    """PyTorch's divisor: the window clipped to the padded input, or to the input alone."""
    if count_include_pad:
        return (min(start_h + kernel_h, height + pad_h) - start_h) * (min(start_w + kernel_w, width + pad_w) - start_w)
    return (h1 - h0) * (w1 - w0)


@numba.njit(inline="always", **NUMBA_OPTIONS)
def _max_window(plane, h0, h1, w0, w1):
    """Maximum of plane[h0:h1, w0:w1] and its flat index, by PyTorch's scan."""
    width = plane.shape[1]
    # start from the first input cell: padded cells never win
    best_value = plane[h0, w0]
    best_index = h0 * width + w0
    for h in range(h0, h1):
        for w in range(w0, w1):
            value = plane[h, w]
            # first maximum wins ties; a NaN beats everything, a later NaN an earlier one
            if value > best_value or math.isnan(value):
                best_value = value
                best_index = h * width + w
    return best_value, best_index


def _with_chunks(kernel):
    """Wrap ``kernel(*args, n_chunks)`` into ``run(*args, n_threads)``: one chunk of planes per thread.

    The chunk count is passed in rather than read with ``numba.get_num_threads()``
    inside the kernel, which would keep Numba from caching it.
    """
    threaded = with_n_threads(kernel)

    @wraps(kernel)
    def run(*args):
        *kernel_args, n_threads = args
        n_chunks = max(1, min(n_threads, numba.config.NUMBA_NUM_THREADS))
        return threaded(*kernel_args, n_chunks, n_threads)

    run.kernel = kernel
    return run


@numba.njit(inline="always", **NUMBA_OPTIONS)
def _chunk(chunk, n_chunks, n_planes):
    """Planes [start, stop) of one of ``n_chunks`` equal contiguous chunks."""
    return chunk * n_planes // n_chunks, (chunk + 1) * n_planes // n_chunks


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _max_pool2d(x, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, out, indices, n_chunks):
    n_planes, height, width = x.shape
    out_h, out_w = out.shape[1], out.shape[2]
    plane_size = height * width
    flat = x.reshape(n_planes, plane_size)
    lo_h, hi_h = _interior(out_h, height, kernel_h, stride_h, pad_h)
    lo_w, hi_w = _interior(out_w, width, kernel_w, stride_w, pad_w)
    interior = lo_h < hi_h and lo_w < hi_w
    # flat start positions of the row segments (kernel_w cells) and of the windows;
    # starts near a row's end wrap into the next row and are never picked
    n_row_starts = plane_size - kernel_w + 1 if interior else 0
    n_window_starts = (height - kernel_h + 1) * width if interior else 0
    # one chunk of planes per thread, so each thread allocates its plane buffers once
    n_chunks = min(n_planes, n_chunks)
    for chunk in numba.prange(n_chunks):
        row_value = np.empty(plane_size, dtype=x.dtype)
        row_index = np.empty(plane_size, dtype=np.int64)
        window_value = np.empty(plane_size, dtype=x.dtype)
        window_index = np.empty(plane_size, dtype=np.int64)
        start, stop = _chunk(chunk, n_chunks, n_planes)
        for p in range(start, stop):
            plane = x[p]
            cells = flat[p]
            if interior:
                # PyTorch's scan split in two: the first maximum (or last NaN) of every
                # row segment, then of the window's rows taken top to bottom with the
                # same rule; that is the first maximum in row-major order
                # the first pass compares the first two cells straight from the plane
                # (with kernel_w == 1 it only copies)
                step = min(1, kernel_w - 1)
                second = cells[step:]
                for f in range(n_row_starts):
                    u = np.uint64(f)
                    best = cells[u]
                    value = second[u]
                    take = (value > best) | (value != value)  # branch-free select
                    row_value[u] = value if take else best
                    row_index[u] = f + step if take else f
                for dw in range(2, kernel_w):
                    shifted = cells[dw:]
                    for f in range(n_row_starts):
                        u = np.uint64(f)
                        value = shifted[u]
                        best = row_value[u]
                        best_index = row_index[u]
                        take = (value > best) | (value != value)
                        row_value[u] = value if take else best
                        row_index[u] = f + dw if take else best_index
                below_value = row_value[min(1, kernel_h - 1) * width:]
                below_index = row_index[min(1, kernel_h - 1) * width:]
                for f in range(n_window_starts):
                    u = np.uint64(f)
                    best = row_value[u]
                    value = below_value[u]
                    take = (value > best) | (value != value)
                    window_value[u] = value if take else best
                    window_index[u] = below_index[u] if take else row_index[u]
                for dh in range(2, kernel_h):
                    below_value = row_value[dh * width:]
                    below_index = row_index[dh * width:]
                    for f in range(n_window_starts):
                        u = np.uint64(f)
                        value = below_value[u]
                        best = window_value[u]
                        best_index = window_index[u]
                        take = (value > best) | (value != value)
                        window_value[u] = value if take else best
                        window_index[u] = below_index[u] if take else best_index
                for oh in range(lo_h, hi_h):
                    first = (oh * stride_h - pad_h) * width + lo_w * stride_w - pad_w
                    picked_value = window_value[first:]
                    picked_index = window_index[first:]
                    out_value = out[p, oh, lo_w:]
                    out_index = indices[p, oh, lo_w:]
                    for j in range(hi_w - lo_w):
                        u = np.uint64(j)
                        out_value[u] = picked_value[np.uint64(j * stride_w)]
                        out_index[u] = picked_index[np.uint64(j * stride_w)]
            # border windows (padding, ceil_mode): the plain scan
            for oh in range(out_h):
                start_h = oh * stride_h - pad_h
                h0 = max(start_h, 0)
                h1 = min(start_h + kernel_h, height)
                inner_row = interior and lo_h <= oh < hi_h
                ow = 0
                while ow < out_w:
                    if inner_row and ow == lo_w:
                        ow = hi_w  # done above
                        continue
                    start_w = ow * stride_w - pad_w
                    value, index = _max_window(plane, h0, h1, max(start_w, 0), min(start_w + kernel_w, width))
                    out[p, oh, ow] = value
                    indices[p, oh, ow] = index
                    ow += 1


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
def _avg_pool2d(x, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, count_include_pad, out, n_chunks):
    n_planes, height, width = x.shape
    out_h, out_w = out.shape[1], out.shape[2]
    plane_size = height * width
    flat = x.reshape(n_planes, plane_size)
    zero = x.dtype.type(0)
    lo_h, hi_h = _interior(out_h, height, kernel_h, stride_h, pad_h)
    lo_w, hi_w = _interior(out_w, width, kernel_w, stride_w, pad_w)
    interior = lo_h < hi_h and lo_w < hi_w
    n_row_starts = plane_size - kernel_w + 1 if interior else 0
    n_window_starts = (height - kernel_h + 1) * width if interior else 0
    # interior windows hold kernel_h * kernel_w input cells, whatever count_include_pad says
    inverse_area = x.dtype.type(1) / x.dtype.type(kernel_h * kernel_w)
    n_chunks = min(n_planes, n_chunks)
    for chunk in numba.prange(n_chunks):
        row_sum = np.empty(plane_size, dtype=x.dtype)
        window_sum = np.empty(plane_size, dtype=x.dtype)
        start, stop = _chunk(chunk, n_chunks, n_planes)
        for p in range(start, stop):
            plane = x[p]
            cells = flat[p]
            if interior:
                # sums of every kernel_w row segment, then of kernel_h segments
                # the first pass of each kind adds two rows/cells straight away
                if kernel_w == 1:
                    for f in range(n_row_starts):
                        u = np.uint64(f)
                        row_sum[u] = cells[u]
                else:
                    second = cells[1:]
                    for f in range(n_row_starts):
                        u = np.uint64(f)
                        row_sum[u] = cells[u] + second[u]
                for dw in range(2, kernel_w):
                    shifted = cells[dw:]
                    for f in range(n_row_starts):
                        u = np.uint64(f)
                        row_sum[u] += shifted[u]
                if kernel_h == 1:
                    for f in range(n_window_starts):
                        u = np.uint64(f)
                        window_sum[u] = row_sum[u]
                else:
                    below = row_sum[width:]
                    for f in range(n_window_starts):
                        u = np.uint64(f)
                        window_sum[u] = row_sum[u] + below[u]
                for dh in range(2, kernel_h):
                    below = row_sum[dh * width:]
                    for f in range(n_window_starts):
                        u = np.uint64(f)
                        window_sum[u] += below[u]
                for oh in range(lo_h, hi_h):
                    first = (oh * stride_h - pad_h) * width + lo_w * stride_w - pad_w
                    picked = window_sum[first:]
                    out_row = out[p, oh, lo_w:]
                    for j in range(hi_w - lo_w):
                        out_row[np.uint64(j)] = picked[np.uint64(j * stride_w)] * inverse_area
            # border windows (padding, ceil_mode): plain sums
            for oh in range(out_h):
                start_h = oh * stride_h - pad_h
                h0 = max(start_h, 0)
                h1 = min(start_h + kernel_h, height)
                inner_row = interior and lo_h <= oh < hi_h
                ow = 0
                while ow < out_w:
                    if inner_row and ow == lo_w:
                        ow = hi_w  # done above
                        continue
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
                    ow += 1


@numba.njit(parallel=True, **NUMBA_OPTIONS)
def _avg_pool2d_backward(grad_out, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, count_include_pad, grad_in,
                         n_chunks):
    n_planes, height, width = grad_in.shape
    out_h, out_w = grad_out.shape[1], grad_out.shape[2]
    plane_size = height * width
    flat = grad_in.reshape(n_planes, plane_size)
    zero = grad_in.dtype.type(0)
    lo_h, hi_h = _interior(out_h, height, kernel_h, stride_h, pad_h)
    lo_w, hi_w = _interior(out_w, width, kernel_w, stride_w, pad_w)
    interior = lo_h < hi_h and lo_w < hi_w
    n_row_starts = plane_size - kernel_w + 1 if interior else 0
    n_window_starts = (height - kernel_h + 1) * width if interior else 0
    inverse_area = grad_in.dtype.type(1) / grad_in.dtype.type(kernel_h * kernel_w)
    n_chunks = min(n_planes, n_chunks)
    for chunk in numba.prange(n_chunks):
        # the forward passes transposed: shares at their windows' start cells,
        # spread down kernel_h rows, then along kernel_w columns into the plane
        window_share = np.empty(plane_size, dtype=grad_in.dtype)
        row_share = np.empty(plane_size, dtype=grad_in.dtype)
        start, stop = _chunk(chunk, n_chunks, n_planes)
        for p in range(start, stop):
            plane = grad_in[p]
            cells = flat[p]
            if interior:
                # the first pass of each kind writes instead of zeroing and adding
                for f in range(n_window_starts):
                    window_share[np.uint64(f)] = zero
                for oh in range(lo_h, hi_h):
                    first = (oh * stride_h - pad_h) * width + lo_w * stride_w - pad_w
                    starts = window_share[first:]
                    grad_row = grad_out[p, oh, lo_w:]
                    for j in range(hi_w - lo_w):
                        starts[np.uint64(j * stride_w)] = grad_row[np.uint64(j)] * inverse_area
                for f in range(n_window_starts):
                    u = np.uint64(f)
                    row_share[u] = window_share[u]
                for f in range(n_window_starts, plane_size):
                    row_share[f] = zero
                for dh in range(1, kernel_h):
                    below = row_share[dh * width:]
                    for f in range(n_window_starts):
                        u = np.uint64(f)
                        below[u] += window_share[u]
                for f in range(n_row_starts):
                    u = np.uint64(f)
                    cells[u] = row_share[u]
                for f in range(n_row_starts, plane_size):
                    cells[f] = zero
                for dw in range(1, kernel_w):
                    shifted = cells[dw:]
                    for f in range(n_row_starts):
                        u = np.uint64(f)
                        shifted[u] += row_share[u]
            else:
                for f in range(plane_size):
                    cells[np.uint64(f)] = zero
            # border windows (padding, ceil_mode): plain adds
            for oh in range(out_h):
                start_h = oh * stride_h - pad_h
                h0 = max(start_h, 0)
                h1 = min(start_h + kernel_h, height)
                inner_row = interior and lo_h <= oh < hi_h
                ow = 0
                while ow < out_w:
                    if inner_row and ow == lo_w:
                        ow = hi_w  # done above
                        continue
                    start_w = ow * stride_w - pad_w
                    w0 = max(start_w, 0)
                    w1 = min(start_w + kernel_w, width)
                    divisor = _divisor(start_h, start_w, kernel_h, kernel_w, pad_h, pad_w, h0, h1, w0, w1,
                                       height, width, count_include_pad)
                    share = grad_out[p, oh, ow] / grad_in.dtype.type(divisor)
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            plane[h, w] += share
                    ow += 1


max_pool2d = _with_chunks(_max_pool2d)
max_pool2d_backward = with_n_threads(_max_pool2d_backward)
avg_pool2d = _with_chunks(_avg_pool2d)
avg_pool2d_backward = _with_chunks(_avg_pool2d_backward)
