# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""2-D pooling kernels in Cython: OpenMP over the (n, c) planes.

Each plane's outputs and its input gradient are written by one thread only,
so the backward scatter-add needs no atomics and its summation order is fixed
(results do not depend on ``n_threads``). No validation here: the public layer
(fastlc.kernels) hands over C-contiguous arrays with the planes stacked on the
first axis, output shapes that fit the input, and indices in [0, height * width).
"""
from cython.parallel cimport prange
from libc.stdint cimport int64_t
from libc.string cimport memset

ctypedef fused floating:
    float
    double


cdef inline Py_ssize_t _divisor(Py_ssize_t start_h, Py_ssize_t start_w, Py_ssize_t kernel_h, Py_ssize_t kernel_w,
                                Py_ssize_t pad_h, Py_ssize_t pad_w, Py_ssize_t h0, Py_ssize_t h1, Py_ssize_t w0,
                                Py_ssize_t w1, Py_ssize_t height, Py_ssize_t width, bint count_include_pad) noexcept nogil:
    """PyTorch's divisor: the window clipped to the padded input, or to the input alone."""
    if count_include_pad:
        return ((min(start_h + kernel_h, height + pad_h) - start_h)
                * (min(start_w + kernel_w, width + pad_w) - start_w))
    return (h1 - h0) * (w1 - w0)


cdef inline void _max_plane(const floating* plane, floating* out, int64_t* indices, Py_ssize_t height,
                            Py_ssize_t width, Py_ssize_t out_h, Py_ssize_t out_w, Py_ssize_t kernel_h,
                            Py_ssize_t kernel_w, Py_ssize_t stride_h, Py_ssize_t stride_w, Py_ssize_t pad_h,
                            Py_ssize_t pad_w) noexcept nogil:
    cdef Py_ssize_t oh, ow, h, w, h0, h1, w0, w1, start_h, start_w, best_index
    cdef floating value, best_value
    for oh in range(out_h):
        start_h = oh * stride_h - pad_h
        h0 = max(start_h, 0)
        h1 = min(start_h + kernel_h, height)
        for ow in range(out_w):
            start_w = ow * stride_w - pad_w
            w0 = max(start_w, 0)
            w1 = min(start_w + kernel_w, width)
            # start from the first input cell: padded cells never win
            best_index = h0 * width + w0
            best_value = plane[best_index]
            for h in range(h0, h1):
                for w in range(w0, w1):
                    value = plane[h * width + w]
                    # PyTorch's scan: first maximum wins ties, NaN beats everything
                    if value > best_value or value != value:
                        best_value = value
                        best_index = h * width + w
            out[oh * out_w + ow] = best_value
            indices[oh * out_w + ow] = best_index


def max_pool2d(const floating[:, :, ::1] x, Py_ssize_t kernel_h, Py_ssize_t kernel_w, Py_ssize_t stride_h,
               Py_ssize_t stride_w, Py_ssize_t pad_h, Py_ssize_t pad_w, floating[:, :, ::1] out,
               int64_t[:, :, ::1] indices, int n_threads):
    cdef Py_ssize_t n_planes = x.shape[0], height = x.shape[1], width = x.shape[2]
    cdef Py_ssize_t out_h = out.shape[1], out_w = out.shape[2]
    cdef Py_ssize_t p
    if n_planes == 0:
        return
    for p in prange(n_planes, nogil=True, schedule="static", num_threads=n_threads):
        _max_plane(&x[p, 0, 0], &out[p, 0, 0], &indices[p, 0, 0], height, width, out_h, out_w,
                   kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w)


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


cdef inline void _avg_plane(const floating* plane, floating* out, Py_ssize_t height, Py_ssize_t width,
                            Py_ssize_t out_h, Py_ssize_t out_w, Py_ssize_t kernel_h, Py_ssize_t kernel_w,
                            Py_ssize_t stride_h, Py_ssize_t stride_w, Py_ssize_t pad_h, Py_ssize_t pad_w,
                            bint count_include_pad) noexcept nogil:
    cdef Py_ssize_t oh, ow, h, w, h0, h1, w0, w1, start_h, start_w
    cdef floating total
    for oh in range(out_h):
        start_h = oh * stride_h - pad_h
        h0 = max(start_h, 0)
        h1 = min(start_h + kernel_h, height)
        for ow in range(out_w):
            start_w = ow * stride_w - pad_w
            w0 = max(start_w, 0)
            w1 = min(start_w + kernel_w, width)
            total = 0
            for h in range(h0, h1):
                for w in range(w0, w1):
                    total = total + plane[h * width + w]
            out[oh * out_w + ow] = total / <floating> _divisor(start_h, start_w, kernel_h, kernel_w, pad_h, pad_w,
                                                               h0, h1, w0, w1, height, width, count_include_pad)


def avg_pool2d(const floating[:, :, ::1] x, Py_ssize_t kernel_h, Py_ssize_t kernel_w, Py_ssize_t stride_h,
               Py_ssize_t stride_w, Py_ssize_t pad_h, Py_ssize_t pad_w, bint count_include_pad,
               floating[:, :, ::1] out, int n_threads):
    cdef Py_ssize_t n_planes = x.shape[0], height = x.shape[1], width = x.shape[2]
    cdef Py_ssize_t out_h = out.shape[1], out_w = out.shape[2]
    cdef Py_ssize_t p
    if n_planes == 0:
        return
    for p in prange(n_planes, nogil=True, schedule="static", num_threads=n_threads):
        _avg_plane(&x[p, 0, 0], &out[p, 0, 0], height, width, out_h, out_w,
                   kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, count_include_pad)


cdef inline void _avg_plane_backward(const floating* grad_out, floating* grad, Py_ssize_t height, Py_ssize_t width,
                                     Py_ssize_t out_h, Py_ssize_t out_w, Py_ssize_t kernel_h, Py_ssize_t kernel_w,
                                     Py_ssize_t stride_h, Py_ssize_t stride_w, Py_ssize_t pad_h, Py_ssize_t pad_w,
                                     bint count_include_pad) noexcept nogil:
    cdef Py_ssize_t oh, ow, h, w, h0, h1, w0, w1, start_h, start_w
    cdef floating share
    memset(grad, 0, height * width * sizeof(floating))
    for oh in range(out_h):
        start_h = oh * stride_h - pad_h
        h0 = max(start_h, 0)
        h1 = min(start_h + kernel_h, height)
        for ow in range(out_w):
            start_w = ow * stride_w - pad_w
            w0 = max(start_w, 0)
            w1 = min(start_w + kernel_w, width)
            share = grad_out[oh * out_w + ow] / <floating> _divisor(start_h, start_w, kernel_h, kernel_w, pad_h,
                                                                    pad_w, h0, h1, w0, w1, height, width,
                                                                    count_include_pad)
            for h in range(h0, h1):
                for w in range(w0, w1):
                    grad[h * width + w] = grad[h * width + w] + share


def avg_pool2d_backward(const floating[:, :, ::1] grad_out, Py_ssize_t kernel_h, Py_ssize_t kernel_w,
                        Py_ssize_t stride_h, Py_ssize_t stride_w, Py_ssize_t pad_h, Py_ssize_t pad_w,
                        bint count_include_pad, floating[:, :, ::1] grad_in, int n_threads):
    cdef Py_ssize_t n_planes = grad_in.shape[0], height = grad_in.shape[1], width = grad_in.shape[2]
    cdef Py_ssize_t out_h = grad_out.shape[1], out_w = grad_out.shape[2]
    cdef Py_ssize_t p
    if n_planes == 0:
        return
    for p in prange(n_planes, nogil=True, schedule="static", num_threads=n_threads):
        _avg_plane_backward(&grad_out[p, 0, 0], &grad_in[p, 0, 0], height, width, out_h, out_w,
                            kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, count_include_pad)
