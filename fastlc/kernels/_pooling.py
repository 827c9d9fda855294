"""Public 2-D pooling functions (NCHW): validate once, allocate, dispatch to a backend kernel.

The kernels see the (n, c) planes stacked on one axis, shape (n_planes, H, W):
pooling never mixes planes, so this is a free reshape of a C-contiguous array,
and every compiled backend runs its parallel loop over these planes.
"""
import math
from typing import NamedTuple

import numpy as np

from .._config import rowwise_n_threads
from .._dispatch import get_kernel, resolve_backend
from .._validation import check_bool, check_float_array, check_int, check_int_pair, check_n_threads

#: dtype of the indices ``max_pool2d`` returns (PyTorch's).
INDEX_DTYPE = np.dtype(np.int64)


class _Geometry(NamedTuple):
    """Kernel, stride and padding as (height, width) pairs, and the output size they give."""

    kernel: tuple
    stride: tuple
    padding: tuple
    out_size: tuple

    def kernel_args(self):
        """The scalar arguments every pooling kernel takes, in order."""
        return (*self.kernel, *self.stride, *self.padding)


def pooled_size(size, kernel, stride, padding, ceil_mode):
    """Output length of pooling one axis, exactly as PyTorch computes it.

    ``floor((size + 2 * padding - kernel) / stride) + 1`` (``ceil`` in ceil
    mode), except that in ceil mode the last window must start inside the input
    or the left padding, otherwise it is dropped.

    Parameters
    ----------
    size : int >= 1
        Input length along the axis.
    kernel : int >= 1
    stride : int >= 1
    padding : int >= 0
        At most half the kernel, as PyTorch requires.
    ceil_mode : bool

    Returns
    -------
    out : int
        May be < 1 when the window does not fit.
    """
    size = check_int(size, "size", low=1)
    kernel = check_int(kernel, "kernel", low=1)
    stride = check_int(stride, "stride", low=1)
    padding = check_int(padding, "padding", low=0, high=kernel // 2)
    ceil_mode = check_bool(ceil_mode, "ceil_mode")
    return _pooled_size(size, kernel, stride, padding, ceil_mode)


def _pooled_size(size, kernel, stride, padding, ceil_mode):
    """:func:`pooled_size` for arguments already checked (the hot path of every pooling call)."""
    span = size + 2 * padding - kernel
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


#: Largest kernel size, stride or padding: the compiled kernels count a window's cells, kernel height x
#: width, in int64 (a kernel of 2**32 x 2**32 overflowed it and averaged with a wrong divisor)
MAX_EXTENT = 2**31 - 1


def _geometry(height, width, kernel_size, stride, padding, ceil_mode):
    kernel = check_int_pair(kernel_size, "kernel_size", low=1, high=MAX_EXTENT)
    stride = kernel if stride is None else check_int_pair(stride, "stride", low=1, high=MAX_EXTENT)
    padding = check_int_pair(padding, "padding", low=0, high=MAX_EXTENT)
    ceil_mode = check_bool(ceil_mode, "ceil_mode")
    # larger padding would allow windows lying wholly in the padding (no input cell to pool)
    for axis, k, p in zip(("height", "width"), kernel, padding):
        if 2 * p > k:
            raise ValueError(
                f"padding={padding!r} must be at most half of kernel_size={kernel!r}; "
                f"along the {axis} {p} > {k} / 2"
            )
    out_size = tuple(_pooled_size(n, k, s, p, ceil_mode) for n, k, s, p in zip((height, width), kernel, stride, padding))
    if min(out_size) < 1:
        raise ValueError(
            f"output size {out_size} is too small: input of height x width {height} x {width} with "
            f"kernel_size={kernel!r}, stride={stride!r}, padding={padding!r}, ceil_mode={ceil_mode} "
            f"gives {out_size[0]} x {out_size[1]} windows"
        )
    return _Geometry(kernel, stride, padding, out_size)


def _check_input(x, name):
    """Return x as a 4-D C-contiguous float array and whether it came without the batch axis."""
    x = check_float_array(x, name, ndim=(3, 4))
    if x.shape[-2] < 1 or x.shape[-1] < 1:
        raise ValueError(f"{name} must have a non-empty height and width; got shape {x.shape}")
    unbatched = x.ndim == 3
    return (x[None] if unbatched else x), unbatched


def _check_grad_out(grad_out, input_shape):
    """Return grad_out as a 4-D float array, ``input_shape`` as a 4-tuple, and whether both came without batch axis."""
    grad_out = check_float_array(grad_out, "grad_out", ndim=(3, 4))
    if not isinstance(input_shape, (tuple, list, np.ndarray)):
        raise TypeError(f"input_shape must be a tuple of ints; got {input_shape!r}")
    try:
        shape = tuple(check_int(n, "input_shape") for n in input_shape)
    except TypeError:
        raise TypeError(f"input_shape must be a tuple of ints; got {input_shape!r}") from None
    if len(shape) != grad_out.ndim:
        raise ValueError(
            f"input_shape={shape!r} has {len(shape)} entries but grad_out has {grad_out.ndim} dimensions "
            f"(shape {grad_out.shape}); they must be equal"
        )
    if min(shape) < 0 or shape[-2] < 1 or shape[-1] < 1:
        raise ValueError(f"input_shape must be non-negative with height and width >= 1; got {shape!r}")
    if shape[:-2] != grad_out.shape[:-2]:
        raise ValueError(
            f"input_shape={shape!r} does not match grad_out of shape {grad_out.shape}: "
            f"the batch and channel sizes must be equal"
        )
    unbatched = grad_out.ndim == 3
    if unbatched:
        return grad_out[None], (1, *shape), True
    return grad_out, shape, False


def _out_of_range(indices, size):
    """Whether any of the integer ``indices`` lies outside [0, size), in one pass over them.

    Seen as unsigned, a negative index is at least 2**(bits - 1), so a single
    max() catches both ends whenever ``size`` is below that.
    """
    if indices.dtype.kind == "i" and size <= 2 ** (8 * indices.dtype.itemsize - 1):
        return indices.view(indices.dtype.str.replace("i", "u")).max() >= size
    return indices.min() < 0 or indices.max() >= size


def _planes(array):
    """View of a C-contiguous (N, C, H, W) array as (N * C, H, W)."""
    n, c, h, w = array.shape
    return array.reshape(n * c, h, w)


def max_pool2d(x, kernel_size, stride=None, padding=0, *, ceil_mode=False, backend="auto", n_threads=None):
    """2-D max pooling over NCHW planes, returning the maxima and where they are.

    Matches PyTorch's ``F.max_pool2d(x, kernel_size, stride, padding,
    ceil_mode=ceil_mode, return_indices=True)``: padded cells never win; ties go
    to the first maximum in row-major window order; a NaN in a window is its
    maximum (when a window holds several NaNs, the index is the last one's, as
    in PyTorch's scan ``val > max or isnan(val)``).

    Parameters
    ----------
    x : array_like of shape (N, C, H, W) or (C, H, W)
        float32 or float64; the result keeps the dtype.
    kernel_size : int or (int, int)
        Window height and width, >= 1.
    stride : int or (int, int), optional
        Step between windows, >= 1; defaults to ``kernel_size``.
    padding : int or (int, int), default=0
        Implicit padding on both sides, at most half of the kernel size.
    ceil_mode : bool, default=False
        Round the output size up (PyTorch's rule: a last window that would start
        in the right padding is dropped).
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional
        Threads of the compiled backends (parallel over the N * C planes);
        None: as many as the process is allowed.

    Returns
    -------
    out : ndarray of shape (N, C, H_out, W_out)
        Window maxima, see :func:`pooled_size` for ``H_out`` and ``W_out``.
    indices : ndarray of int64, shape (N, C, H_out, W_out)
        Flat position ``h * W + w`` of each maximum within its (n, c) plane.
    """
    x, unbatched = _check_input(x, "x")
    n, c, height, width = x.shape
    geometry = _geometry(height, width, kernel_size, stride, padding, ceil_mode)
    n_threads = rowwise_n_threads(x.size, check_n_threads(n_threads))
    kernel = get_kernel("max_pool2d", resolve_backend(backend, "max_pool2d"))
    out = np.empty((n, c, *geometry.out_size), dtype=x.dtype)
    indices = np.empty(out.shape, dtype=INDEX_DTYPE)
    if out.size:
        kernel(_planes(x), *geometry.kernel_args(), _planes(out), _planes(indices), n_threads)
    if unbatched:
        return out[0], indices[0]
    return out, indices


def max_pool2d_backward(grad_out, indices, input_shape, *, backend="auto", n_threads=None):
    """Gradient of max pooling: route each output gradient to its window's maximum.

    ``grad_in[n, c].flat[indices[n, c, i, j]] += grad_out[n, c, i, j]``; where
    windows overlap (kernel > stride) a cell collects the gradients of every
    window it is the maximum of.

    Parameters
    ----------
    grad_out : array_like of shape (N, C, H_out, W_out) or (C, H_out, W_out)
        Gradient with respect to the pooled output, float32 or float64.
    indices : array_like of int, same shape as ``grad_out``
        As returned by :func:`max_pool2d`: flat positions in [0, H * W).
    input_shape : tuple of int
        Shape (N, C, H, W) (or (C, H, W)) of the pooled input.
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional
        Threads of the compiled backends (parallel over the N * C planes);
        None: as many as the process is allowed.

    Returns
    -------
    grad_in : ndarray of shape ``input_shape``
        Gradient with respect to the input, in the dtype of ``grad_out``.
    """
    grad_out, shape, unbatched = _check_grad_out(grad_out, input_shape)
    plane_size = shape[2] * shape[3]
    if not isinstance(indices, np.ndarray):
        indices = np.asarray(indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"indices must be an integer array (as max_pool2d returns, int64); got dtype {indices.dtype}")
    if unbatched:
        indices = indices[None]
    if indices.shape != grad_out.shape:
        raise ValueError(
            f"indices must have the shape of grad_out {grad_out.shape[unbatched:]}; got {indices.shape[unbatched:]}"
        )
    # the kernels skip bounds checks, so no index may leave its plane
    if indices.size and _out_of_range(indices, plane_size):
        bad = np.argwhere((indices < 0) | (indices >= plane_size))[0]
        position = tuple(int(i) for i in bad[unbatched:])
        raise ValueError(
            f"indices{list(position)} = {indices[tuple(bad)]} is not a position in the input plane: "
            f"it must lie in [0, {plane_size}) for input height x width {shape[2]} x {shape[3]}"
        )
    n_threads = rowwise_n_threads(math.prod(shape), check_n_threads(n_threads))
    kernel = get_kernel("max_pool2d_backward", resolve_backend(backend, "max_pool2d_backward"))
    grad_in = np.empty(shape, dtype=grad_out.dtype)
    if grad_out.size == 0:
        grad_in[...] = 0
    elif grad_in.size:
        n_planes = shape[0] * shape[1]
        kernel(grad_out.reshape(n_planes, -1), np.ascontiguousarray(indices, dtype=INDEX_DTYPE).reshape(n_planes, -1),
               grad_in.reshape(n_planes, plane_size), n_threads)
    return grad_in[0] if unbatched else grad_in


def avg_pool2d(x, kernel_size, stride=None, padding=0, *, ceil_mode=False, count_include_pad=True, backend="auto",
               n_threads=None):
    """2-D average pooling over NCHW planes.

    Matches PyTorch's ``F.avg_pool2d`` (without ``divisor_override``): each
    window's sum over its input cells is divided by the window size counted
    within the padded input (``count_include_pad=True``) or by the number of
    input cells in the window (``False``). Windows that ``ceil_mode`` lets hang
    past the padding never count the part beyond it.

    Parameters
    ----------
    x : array_like of shape (N, C, H, W) or (C, H, W)
        float32 or float64; the result keeps the dtype.
    kernel_size : int or (int, int)
        Window height and width, >= 1.
    stride : int or (int, int), optional
        Step between windows, >= 1; defaults to ``kernel_size``.
    padding : int or (int, int), default=0
        Implicit zero padding on both sides, at most half of the kernel size.
    ceil_mode : bool, default=False
        Round the output size up (see :func:`pooled_size`).
    count_include_pad : bool, default=True
        Count padded cells in the divisor.
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional
        Threads of the compiled backends (parallel over the N * C planes);
        None: as many as the process is allowed.

    Returns
    -------
    out : ndarray of shape (N, C, H_out, W_out)
        Window averages.
    """
    x, unbatched = _check_input(x, "x")
    n, c, height, width = x.shape
    geometry = _geometry(height, width, kernel_size, stride, padding, ceil_mode)
    count_include_pad = check_bool(count_include_pad, "count_include_pad")
    n_threads = rowwise_n_threads(x.size, check_n_threads(n_threads))
    kernel = get_kernel("avg_pool2d", resolve_backend(backend, "avg_pool2d"))
    out = np.empty((n, c, *geometry.out_size), dtype=x.dtype)
    if out.size:
        # inf - inf or an overflowing window sum is NaN or inf, silently, as in the compiled backends and
        # PyTorch (the naive and numpy ones warned)
        with np.errstate(over="ignore", invalid="ignore"):
            kernel(_planes(x), *geometry.kernel_args(), count_include_pad, _planes(out), n_threads)
    return out[0] if unbatched else out


def avg_pool2d_backward(grad_out, input_shape, kernel_size, stride=None, padding=0, *, ceil_mode=False,
                        count_include_pad=True, backend="auto", n_threads=None):
    """Gradient of average pooling: spread each output gradient equally over its window.

    Takes the same pooling options as the :func:`avg_pool2d` call being
    differentiated; ``grad_out`` must have the shape that call returned.

    Parameters
    ----------
    grad_out : array_like of shape (N, C, H_out, W_out) or (C, H_out, W_out)
        Gradient with respect to the pooled output, float32 or float64.
    input_shape : tuple of int
        Shape (N, C, H, W) (or (C, H, W)) of the pooled input.
    kernel_size, stride, padding, ceil_mode, count_include_pad
        As given to :func:`avg_pool2d`.
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional
        Threads of the compiled backends (parallel over the N * C planes);
        None: as many as the process is allowed.

    Returns
    -------
    grad_in : ndarray of shape ``input_shape``
        Gradient with respect to the input, in the dtype of ``grad_out``.
    """
    grad_out, shape, unbatched = _check_grad_out(grad_out, input_shape)
    geometry = _geometry(shape[2], shape[3], kernel_size, stride, padding, ceil_mode)
    count_include_pad = check_bool(count_include_pad, "count_include_pad")
    if grad_out.shape[2:] != geometry.out_size:
        raise ValueError(
            f"grad_out has height x width {grad_out.shape[2]} x {grad_out.shape[3]} but pooling input_shape="
            f"{tuple(input_shape)!r} with these options gives {geometry.out_size[0]} x {geometry.out_size[1]}"
        )
    n_threads = rowwise_n_threads(math.prod(shape), check_n_threads(n_threads))
    kernel = get_kernel("avg_pool2d_backward", resolve_backend(backend, "avg_pool2d_backward"))
    grad_in = np.empty(shape, dtype=grad_out.dtype)
    if grad_in.size:
        with np.errstate(over="ignore", invalid="ignore"):  # as in avg_pool2d
            kernel(_planes(grad_out), *geometry.kernel_args(), count_include_pad, _planes(grad_in), n_threads)
    return grad_in[0] if unbatched else grad_in
