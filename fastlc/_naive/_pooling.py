"""Reference 2-D pooling kernels written as explicit loops (CS231n "naive" style).

Private signature shared by every backend. The public layer hands over the
(n, c) planes stacked on one axis: ``x`` of shape (n_planes, height, width),
outputs of shape (n_planes, out_height, out_width); ``max_pool2d_backward``
gets flattened planes. Window (oh, ow) covers input rows
``oh * stride_h - pad_h`` .. ``+ kernel_h - 1`` (columns alike); rows and
columns outside the input are padding. ``n_threads`` is ignored here.
"""
import math


def _window(index, stride, pad, kernel, size):
    """Unclipped start, clipped start and clipped end of window ``index`` along one axis."""
    start = index * stride - pad
    return start, max(start, 0), min(start + kernel, size)


def max_pool2d(x, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, out, indices, n_threads):
    """Window maxima and their flat positions h * width + w within the plane.

    Padded cells never take part. Ties go to the first maximum in row-major
    window order; a NaN beats every number, and a later NaN beats an earlier
    one (PyTorch's ``val > max or isnan(val)`` scan).
    """
    n_planes, height, width = x.shape
    _, out_h, out_w = out.shape
    for p in range(n_planes):
        for oh in range(out_h):
            _, h0, h1 = _window(oh, stride_h, pad_h, kernel_h, height)
            for ow in range(out_w):
                _, w0, w1 = _window(ow, stride_w, pad_w, kernel_w, width)
                best_value = x[p, h0, w0]
                best_index = h0 * width + w0
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        value = x[p, h, w]
                        if value > best_value or math.isnan(value):
                            best_value = value
                            best_index = h * width + w
                out[p, oh, ow] = best_value
                indices[p, oh, ow] = best_index


def max_pool2d_backward(grad_out, indices, grad_in, n_threads):
    """grad_in[p, indices[p, j]] += grad_out[p, j]; grad_in is (n_planes, height * width)."""
    n_planes, n_outputs = grad_out.shape
    for p in range(n_planes):
        for i in range(grad_in.shape[1]):
            grad_in[p, i] = 0.0
        for j in range(n_outputs):
            grad_in[p, indices[p, j]] += grad_out[p, j]


def _divisor(oh, ow, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, height, width, count_include_pad):
    """PyTorch's divisor: the window clipped to the padded input, or to the input alone."""
    start_h, h0, h1 = _window(oh, stride_h, pad_h, kernel_h, height)
    start_w, w0, w1 = _window(ow, stride_w, pad_w, kernel_w, width)
    if count_include_pad:
        # ceil_mode windows may hang over the padding too: that part is not counted
        return (min(start_h + kernel_h, height + pad_h) - start_h) * (min(start_w + kernel_w, width + pad_w) - start_w)
    return (h1 - h0) * (w1 - w0)


def avg_pool2d(x, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, count_include_pad, out, n_threads):
    """Window sums over the input cells, divided by ``_divisor``."""
    n_planes, height, width = x.shape
    _, out_h, out_w = out.shape
    for p in range(n_planes):
        for oh in range(out_h):
            _, h0, h1 = _window(oh, stride_h, pad_h, kernel_h, height)
            for ow in range(out_w):
                _, w0, w1 = _window(ow, stride_w, pad_w, kernel_w, width)
                total = 0.0
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        total += x[p, h, w]
                divisor = _divisor(oh, ow, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, height, width,
                                   count_include_pad)
                out[p, oh, ow] = total / divisor


def avg_pool2d_backward(grad_out, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, count_include_pad, grad_in,
                        n_threads):
    """Each output gradient, divided by ``_divisor``, added to every input cell of its window."""
    n_planes, height, width = grad_in.shape
    _, out_h, out_w = grad_out.shape
    for p in range(n_planes):
        for h in range(height):
            for w in range(width):
                grad_in[p, h, w] = 0.0
        for oh in range(out_h):
            _, h0, h1 = _window(oh, stride_h, pad_h, kernel_h, height)
            for ow in range(out_w):
                _, w0, w1 = _window(ow, stride_w, pad_w, kernel_w, width)
                divisor = _divisor(oh, ow, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, height, width,
                                   count_include_pad)
                share = grad_out[p, oh, ow] / divisor
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        grad_in[p, h, w] += share
