# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""2-D pooling kernels in Cython: OpenMP over the (n, c) planes.

Each plane's outputs and its input gradient are written by one thread only,
so the backward scatter-add needs no atomics and its summation order is fixed
(results do not depend on ``n_threads``). No validation here: the public layer
(fastlc.kernels) hands over C-contiguous arrays with the planes stacked on the
first axis, output shapes that fit the input, and indices in [0, height * width).

Speed: windows that lie wholly inside the input (the "interior" columns of an
output row) are computed for every horizontal start position at once, in
unit-stride loops over a per-thread row buffer that the compiler vectorizes;
the strided outputs are then picked from that buffer. Border windows (padding,
ceil_mode) take the plain per-window loop. Both visit a window's cells in
row-major order, so they give the same results bit for bit.
"""
import numpy as np

from cython.parallel cimport prange, threadid
from libc.stdint cimport int64_t
from libc.string cimport memset

ctypedef fused floating:
    float
    double


ctypedef struct Geometry:
    Py_ssize_t height, width, out_h, out_w
    Py_ssize_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w
    # outputs [lo, hi) of a row have windows wholly inside the input; the
    # first of them starts at column ``first``; ``n_run`` start columns span them
    Py_ssize_t lo, hi, first, n_run
    bint count_include_pad


cdef Geometry _geometry(Py_ssize_t height, Py_ssize_t width, Py_ssize_t out_h, Py_ssize_t out_w,
                        Py_ssize_t kernel_h, Py_ssize_t kernel_w, Py_ssize_t stride_h, Py_ssize_t stride_w,
                        Py_ssize_t pad_h, Py_ssize_t pad_w, bint count_include_pad):
    cdef Geometry g
    cdef Py_ssize_t span = width + pad_w - kernel_w
    g.height, g.width, g.out_h, g.out_w = height, width, out_h, out_w
    g.kernel_h, g.kernel_w, g.stride_h, g.stride_w, g.pad_h, g.pad_w = kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w
    g.count_include_pad = count_include_pad
    g.lo = min((pad_w + stride_w - 1) // stride_w, out_w)
    g.hi = span // stride_w + 1 if span >= 0 else 0
    g.hi = max(min(g.hi, out_w), g.lo)
    g.first = g.lo * stride_w - pad_w
    g.n_run = (g.hi - 1) * stride_w - pad_w + 1 - g.first if g.hi > g.lo else 0
    return g


cdef inline Py_ssize_t _divisor(const Geometry* g, Py_ssize_t start_h, Py_ssize_t start_w, Py_ssize_t h0,
                                Py_ssize_t h1, Py_ssize_t w0, Py_ssize_t w1) noexcept nogil:
    """PyTorch's divisor: the window clipped to the padded input, or to the input alone."""
    if g.count_include_pad:
        return ((min(start_h + g.kernel_h, g.height + g.pad_h) - start_h)
                * (min(start_w + g.kernel_w, g.width + g.pad_w) - start_w))
    return (h1 - h0) * (w1 - w0)


cdef inline void _max_plane(const Geometry* g, const floating* plane, floating* out, int64_t* indices,
                            floating* run_value, int64_t* run_index) noexcept nogil:
    cdef Py_ssize_t width = g.width, n_run = g.n_run
    cdef Py_ssize_t oh, ow, h, w, dw, c, h0, h1, w0, w1, start_h, start_w, base, best_index
    cdef floating value, best_value
    cdef const floating* row
    cdef bint take
    for oh in range(g.out_h):
        start_h = oh * g.stride_h - g.pad_h
        h0 = max(start_h, 0)
        h1 = min(start_h + g.kernel_h, g.height)
        if n_run > 0:
            # running max of the windows starting at columns first, first + 1, ...
            base = h0 * width + g.first
            row = plane + base
            for c in range(n_run):
                run_value[c] = row[c]
                run_index[c] = base + c
            for h in range(h0, h1):
                for dw in range(g.kernel_w):
                    base = h * width + g.first + dw
                    row = plane + base
                    for c in range(n_run):
                        # both candidates in registers first, so that the compiler turns the
                        # selects into branch-free vector blends
                        value = row[c]
                        best_value = run_value[c]
                        best_index = run_index[c]
                        # PyTorch's scan: first maximum wins ties, NaN beats everything
                        take = (value > best_value) | (value != value)
                        run_value[c] = value if take else best_value
                        # bit-select: SSE2 has no 64-bit multiply, but has and/xor
                        run_index[c] = best_index ^ ((best_index ^ (base + c)) & -(<int64_t> take))
            for ow in range(g.lo, g.hi):
                c = ow * g.stride_w - g.pad_w - g.first
                out[oh * g.out_w + ow] = run_value[c]
                indices[oh * g.out_w + ow] = run_index[c]
        for ow in range(g.out_w):
            if g.lo <= ow < g.hi:
                continue
            start_w = ow * g.stride_w - g.pad_w
            w0 = max(start_w, 0)
            w1 = min(start_w + g.kernel_w, width)
            # start from the first input cell: padded cells never win
            best_index = h0 * width + w0
            best_value = plane[best_index]
            for h in range(h0, h1):
                for w in range(w0, w1):
                    value = plane[h * width + w]
                    if value > best_value or value != value:
                        best_value = value
                        best_index = h * width + w
            out[oh * g.out_w + ow] = best_value
            indices[oh * g.out_w + ow] = best_index


def max_pool2d(const floating[:, :, ::1] x, Py_ssize_t kernel_h, Py_ssize_t kernel_w, Py_ssize_t stride_h,
               Py_ssize_t stride_w, Py_ssize_t pad_h, Py_ssize_t pad_w, floating[:, :, ::1] out,
               int64_t[:, :, ::1] indices, int n_threads):
    cdef Py_ssize_t n_planes = x.shape[0], p, t
    cdef Geometry g = _geometry(x.shape[1], x.shape[2], out.shape[1], out.shape[2], kernel_h, kernel_w,
                                stride_h, stride_w, pad_h, pad_w, False)
    if n_planes == 0:
        return
    # one row buffer per thread
    dtype = np.float32 if floating is float else np.float64
    cdef floating[:, ::1] run_value = np.empty((n_threads, max(g.n_run, 1)), dtype=dtype)
    cdef int64_t[:, ::1] run_index = np.empty((n_threads, max(g.n_run, 1)), dtype=np.int64)
    for p in prange(n_planes, nogil=True, schedule="static", num_threads=n_threads):
        t = threadid()
        _max_plane(&g, &x[p, 0, 0], &out[p, 0, 0], &indices[p, 0, 0], &run_value[t, 0], &run_index[t, 0])


def max_pool2d_backward(const floating[:, ::1] grad_out, const int64_t[:, ::1] indices, floating[:, ::1] grad_in,
                        int n_threads):
    cdef Py_ssize_t n_planes = grad_out.shape[0], n_outputs = grad_out.shape[1], plane_size = grad_in.shape[1]
    cdef Py_ssize_t p, j
    cdef floating* grad
    cdef const floating* g
    cdef const int64_t* index
    if n_planes == 0 or n_outputs == 0 or plane_size == 0:
        return
    for p in prange(n_planes, nogil=True, schedule="static", num_threads=n_threads):
        # zero and scatter one plane at a time: it stays in L1 between the two
        grad = &grad_in[p, 0]
        g = &grad_out[p, 0]
        index = &indices[p, 0]
        memset(grad, 0, plane_size * sizeof(floating))
        for j in range(n_outputs):
            grad[index[j]] = grad[index[j]] + g[j]


cdef inline void _avg_plane(const Geometry* g, const floating* plane, floating* out,
                            floating* run_sum) noexcept nogil:
    cdef Py_ssize_t width = g.width, n_run = g.n_run
    cdef Py_ssize_t oh, ow, h, w, dw, c, h0, h1, w0, w1, start_h, start_w
    cdef floating total
    cdef const floating* row
    for oh in range(g.out_h):
        start_h = oh * g.stride_h - g.pad_h
        h0 = max(start_h, 0)
        h1 = min(start_h + g.kernel_h, g.height)
        if n_run > 0:
            # window sums for every start column, added in row-major window order
            for c in range(n_run):
                run_sum[c] = 0
            for h in range(h0, h1):
                for dw in range(g.kernel_w):
                    row = plane + h * width + g.first + dw
                    for c in range(n_run):
                        run_sum[c] = run_sum[c] + row[c]
        for ow in range(g.out_w):
            start_w = ow * g.stride_w - g.pad_w
            w0 = max(start_w, 0)
            w1 = min(start_w + g.kernel_w, width)
            if g.lo <= ow < g.hi:
                total = run_sum[start_w - g.first]
            else:
                total = 0
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        total = total + plane[h * width + w]
            out[oh * g.out_w + ow] = total / <floating> _divisor(g, start_h, start_w, h0, h1, w0, w1)


def avg_pool2d(const floating[:, :, ::1] x, Py_ssize_t kernel_h, Py_ssize_t kernel_w, Py_ssize_t stride_h,
               Py_ssize_t stride_w, Py_ssize_t pad_h, Py_ssize_t pad_w, bint count_include_pad,
               floating[:, :, ::1] out, int n_threads):
    cdef Py_ssize_t n_planes = x.shape[0], p, t
    cdef Geometry g = _geometry(x.shape[1], x.shape[2], out.shape[1], out.shape[2], kernel_h, kernel_w,
                                stride_h, stride_w, pad_h, pad_w, count_include_pad)
    if n_planes == 0:
        return
    dtype = np.float32 if floating is float else np.float64
    cdef floating[:, ::1] run_sum = np.empty((n_threads, max(g.n_run, 1)), dtype=dtype)
    for p in prange(n_planes, nogil=True, schedule="static", num_threads=n_threads):
        t = threadid()
        _avg_plane(&g, &x[p, 0, 0], &out[p, 0, 0], &run_sum[t, 0])


cdef inline void _avg_plane_backward(const Geometry* g, const floating* grad_out, floating* grad,
                                     floating* spread) noexcept nogil:
    cdef Py_ssize_t width = g.width, n_run = g.n_run
    cdef Py_ssize_t oh, ow, h, w, dw, c, h0, h1, w0, w1, start_h, start_w
    cdef floating share
    cdef floating* row
    memset(grad, 0, g.height * width * sizeof(floating))
    for oh in range(g.out_h):
        start_h = oh * g.stride_h - g.pad_h
        h0 = max(start_h, 0)
        h1 = min(start_h + g.kernel_h, g.height)
        # interior windows: their shares laid out by start column (zeros between
        # strided starts), then added to the plane in unit-stride passes
        for c in range(n_run):
            spread[c] = 0
        for ow in range(g.out_w):
            start_w = ow * g.stride_w - g.pad_w
            w0 = max(start_w, 0)
            w1 = min(start_w + g.kernel_w, width)
            share = grad_out[oh * g.out_w + ow] / <floating> _divisor(g, start_h, start_w, h0, h1, w0, w1)
            if g.lo <= ow < g.hi:
                spread[start_w - g.first] = share
            else:
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        grad[h * width + w] = grad[h * width + w] + share
        if n_run > 0:
            for h in range(h0, h1):
                for dw in range(g.kernel_w):
                    row = grad + h * width + g.first + dw
                    for c in range(n_run):
                        row[c] = row[c] + spread[c]


def avg_pool2d_backward(const floating[:, :, ::1] grad_out, Py_ssize_t kernel_h, Py_ssize_t kernel_w,
                        Py_ssize_t stride_h, Py_ssize_t stride_w, Py_ssize_t pad_h, Py_ssize_t pad_w,
                        bint count_include_pad, floating[:, :, ::1] grad_in, int n_threads):
    cdef Py_ssize_t n_planes = grad_in.shape[0], p, t
    cdef Geometry g = _geometry(grad_in.shape[1], grad_in.shape[2], grad_out.shape[1], grad_out.shape[2],
                                kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, count_include_pad)
    if n_planes == 0:
        return
    dtype = np.float32 if floating is float else np.float64
    cdef floating[:, ::1] spread = np.empty((n_threads, max(g.n_run, 1)), dtype=dtype)
    for p in prange(n_planes, nogil=True, schedule="static", num_threads=n_threads):
        t = threadid()
        _avg_plane_backward(&g, &grad_out[p, 0, 0], &grad_in[p, 0, 0], &spread[t, 0])
