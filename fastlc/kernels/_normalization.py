"""Public batch and layer normalization, forward and backward (PyTorch's semantics)."""
import math

import numpy as np

from .._dispatch import get_kernel, resolve_backend
from .._validation import (check_bool, check_fits, check_float_array, check_inplace_array, check_int,
                           check_n_threads, check_parameter_array, check_scalar)


#: Dimensions of batch norm's x: PyTorch's BatchNorm1d ((N, C), (N, C, L)), 2d and 3d, statistics per channel C.
BATCH_NORM_NDIM = (2, 3, 4, 5)


def _check_per_channel(value, name, length, dtype, default, *, parameter=True):
    """gamma or beta (``parameter``: ints or floats cast to x's dtype, see check_parameter_array), or saved
    statistics (already in x's dtype, as batch_norm returns them), of shape (C,)."""
    if value is None:
        return np.full(length, default, dtype=dtype)
    if parameter:
        value = check_parameter_array(value, name, dtype)
    else:
        value = check_float_array(value, name, dtype=dtype)
    if value.ndim != 1 or value.shape[0] != length:
        raise ValueError(f"{name} must have shape ({length},), one value per channel; got {value.shape}")
    return value


def _as_nc_s(x):
    """(N, C) or (N, C, *spatial) as the (N, C, S) view the kernels take."""
    # S spelled out: reshape(N, C, -1) cannot infer it when N or C is 0
    return x.reshape(x.shape[0], x.shape[1], math.prod(x.shape[2:]))


def batch_norm(x, gamma=None, beta=None, *, running_mean=None, running_var=None, training=True, momentum=0.1,
               eps=1e-5, backend="auto", n_threads=None):
    r"""Batch normalization over (N, C), (N, C, L), (N, C, H, W) or (N, C, D, H, W) (``F.batch_norm``).

    Each channel c is normalized over its M = N * H * W values:
    ``y = (x - mean_c) / sqrt(var_c + eps) * gamma_c + beta_c``, computed as
    ``x * a_c + b_c`` like PyTorch's CPU kernel. In training the batch statistics
    are used (biased variance) and, when given, the running statistics are updated
    in place: ``running_mean = (1 - momentum) running_mean + momentum mean`` and the
    same for ``running_var`` with the unbiased variance ``var * M / (M - 1)``. In
    evaluation (``training=False``) the running statistics are used.

    Parameters
    ----------
    x : array_like of shape (N, C), (N, C, L), (N, C, H, W) or (N, C, D, H, W), float32 or float64
    gamma, beta : array_like of shape (C,), optional
        Scale (default 1) and shift (default 0): ints or floats (an array or a list), cast to x's dtype;
        bools are a TypeError.
    running_mean, running_var : ndarray of shape (C,), optional
        Running statistics, updated in place in training (writeable then); required when
        ``training=False``, where they are only read (read-only or memory-mapped arrays are fine).
    training : bool, default=True
    momentum : float in [0, 1], default=0.1
    eps : float > 0, default=1e-5
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional

    Returns
    -------
    out : ndarray of x's shape
    save_mean : ndarray of shape (C,)
        The mean used (the batch's in training, the running one in evaluation).
    save_invstd : ndarray of shape (C,)
        ``1 / sqrt(var + eps)`` used; pass both to ``batch_norm_backward``.
        A batch without values (N = 0, or H * W = 0) in training gives an empty
        ``out``, NaN statistics and leaves the running statistics alone, as ``F.batch_norm``.
    """
    x = check_float_array(x, "x", ndim=BATCH_NORM_NDIM)
    n, channels = x.shape[:2]
    dtype = x.dtype
    gamma = _check_per_channel(gamma, "gamma", channels, dtype, 1)
    beta = _check_per_channel(beta, "beta", channels, dtype, 0)
    training = check_bool(training, "training")
    momentum = check_scalar(momentum, "momentum", low=0.0, high=1.0)
    # eps must stay > 0 in the data's dtype (1e-50 is 0 in float32: a constant channel would divide by 0)
    eps = check_fits(check_scalar(eps, "eps", low=0.0, low_inclusive=False), "eps", x.dtype)
    like = np.empty(channels, dtype=dtype)
    # evaluation only reads the running statistics (mean and var below are copies): read-only ones, as a
    # model loaded with joblib's mmap_mode="r" holds, are fine there, as in F.batch_norm
    for name, stat in (("running_mean", running_mean), ("running_var", running_var)):
        if stat is not None:
            check_inplace_array(stat, name, like=like, like_name="x's channels (one value each, in x's dtype)",
                                written=training)
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var go together: pass both or neither")
    count = n * math.prod(x.shape[2:])  # values per channel, also when C is 0
    if training and count == 1:  # as F.batch_norm, which lets an empty batch through
        raise ValueError(f"batch_norm in training needs more than 1 value per channel; got x of shape {x.shape}")
    if not training and running_mean is None:
        raise ValueError("training=False normalizes with running_mean and running_var: pass them")
    n_threads = check_n_threads(n_threads)
    kernel = get_kernel("batch_norm", resolve_backend(backend, "batch_norm"))
    if training and count == 0:
        # an empty batch, as F.batch_norm: an empty output and the running statistics left alone; the batch
        # has no mean nor variance (NaN), and batch_norm_backward gives zero gradients for gamma and beta
        undefined = np.full(channels, np.nan, dtype)
        return np.empty_like(x), undefined, undefined.copy()
    out = np.empty_like(x)
    mean = np.array(running_mean, dtype=dtype) if not training else np.empty(channels, dtype)
    var = np.array(running_var, dtype=dtype) if not training else np.empty(channels, dtype)
    invstd = np.empty(channels, dtype)
    kernel(_as_nc_s(x), gamma, beta, eps, training, mean, var, invstd, _as_nc_s(out), n_threads)
    if training and running_mean is not None:
        keep = 1.0 - momentum
        running_mean[...] = keep * running_mean + momentum * mean.astype(np.float64)
        running_var[...] = keep * running_var + momentum * var.astype(np.float64) * (count / (count - 1))
    return out, mean, invstd


def batch_norm_backward(grad_out, x, gamma, save_mean, save_invstd, *, training=True, backend="auto",
                        n_threads=None):
    r"""Gradients of ``batch_norm`` (closed form) with respect to x, gamma and beta.

    In training (the statistics depend on x)::

        grad_x = gamma invstd (g - mean(g) - xhat mean(g xhat)),  xhat = (x - mean) invstd

    per channel; in evaluation ``grad_x = g gamma invstd``. ``grad_gamma = sum(g xhat)``,
    ``grad_beta = sum(g)``.

    Parameters
    ----------
    grad_out : array_like of x's shape
    x : array_like of shape (N, C), (N, C, L), (N, C, H, W) or (N, C, D, H, W), float32 or float64
    gamma : array_like of shape (C,) or None (ones)
        Cast to x's dtype as in ``batch_norm``.
    save_mean, save_invstd : array_like of shape (C,)
        As returned by ``batch_norm`` (in x's dtype).
    training : bool, default=True
        Whether the forward pass used the batch statistics.
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional

    Returns
    -------
    grad_x : ndarray of x's shape
    grad_gamma, grad_beta : ndarray of shape (C,)
    """
    x = check_float_array(x, "x", ndim=BATCH_NORM_NDIM)
    channels = x.shape[1]
    dtype = x.dtype
    grad_out = check_float_array(grad_out, "grad_out", dtype=dtype)
    if grad_out.shape != x.shape:
        raise ValueError(f"grad_out must have the shape of x {x.shape}; got {grad_out.shape}")
    gamma = _check_per_channel(gamma, "gamma", channels, dtype, 1)
    save_mean = _check_per_channel(save_mean, "save_mean", channels, dtype, 0, parameter=False)
    save_invstd = _check_per_channel(save_invstd, "save_invstd", channels, dtype, 0, parameter=False)
    training = check_bool(training, "training")
    n_threads = check_n_threads(n_threads)
    kernel = get_kernel("batch_norm_backward", resolve_backend(backend, "batch_norm_backward"))
    grad_x = np.empty_like(x)
    if x.size == 0:
        # sums over no values: 0 for gamma and beta whatever the statistics (NaN after an empty batch), as PyTorch
        return grad_x, np.zeros(channels, dtype), np.zeros(channels, dtype)
    grad_gamma = np.empty(channels, dtype)
    grad_beta = np.empty(channels, dtype)
    kernel(_as_nc_s(grad_out), _as_nc_s(x), gamma, save_mean, save_invstd, training, _as_nc_s(grad_x), grad_gamma,
           grad_beta, n_threads)
    return grad_x, grad_gamma, grad_beta


def _normalized_shape(normalized_shape, x):
    items = tuple(normalized_shape) if isinstance(normalized_shape, (tuple, list)) else (normalized_shape,)
    shape = tuple(check_int(d, "normalized_shape", low=0) for d in items)  # 0: empty groups, as PyTorch
    if not shape or x.shape[x.ndim - len(shape):] != shape or len(shape) > x.ndim:
        raise ValueError(f"normalized_shape {shape} must be the trailing dimensions of x's shape {x.shape}")
    return shape


def _check_ln_parameter(value, name, shape, dtype, default):
    if value is None:
        return np.full(int(np.prod(shape)), default, dtype=dtype)
    value = check_parameter_array(value, name, dtype)
    if value.shape != shape:
        raise ValueError(f"{name} must have shape {shape} (normalized_shape); got {value.shape}")
    return value.reshape(-1)


def layer_norm(x, normalized_shape, gamma=None, beta=None, *, eps=1e-5, backend="auto", n_threads=None):
    r"""Layer normalization over the trailing dimensions ``normalized_shape`` (``F.layer_norm``).

    Parameters
    ----------
    x : array_like of shape (..., \*normalized_shape), float32 or float64
    normalized_shape : int or tuple of int
    gamma, beta : array_like of shape normalized_shape, optional
        Ints or floats (an array or a list), cast to x's dtype; bools are a TypeError.
    eps : float > 0, default=1e-5
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional

    Returns
    -------
    out : ndarray of x's shape
    save_mean, save_rstd : ndarray of shape x.shape[:-len(normalized_shape)]
        Mean and ``1 / sqrt(var + eps)`` of each normalized group. Groups without values (a 0 in
        normalized_shape) give an empty ``out``, as ``F.layer_norm``, and NaN statistics (no mean nor
        variance, as ``batch_norm``'s empty batch; ``torch.native_layer_norm`` gives mean 0, rstd NaN).
    """
    x = check_float_array(x, "x")
    shape = _normalized_shape(normalized_shape, x)
    dtype = x.dtype
    gamma = _check_ln_parameter(gamma, "gamma", shape, dtype, 1)
    beta = _check_ln_parameter(beta, "beta", shape, dtype, 0)
    # eps must stay > 0 in the data's dtype (1e-50 is 0 in float32: a constant channel would divide by 0)
    eps = check_fits(check_scalar(eps, "eps", low=0.0, low_inclusive=False), "eps", x.dtype)
    n_threads = check_n_threads(n_threads)
    kernel = get_kernel("layer_norm", resolve_backend(backend, "layer_norm"))
    lead = x.shape[:x.ndim - len(shape)]
    d = math.prod(shape)
    if d == 0:  # x.reshape(-1, 0) is ambiguous, and the kernels' rows would divide by 0
        return np.empty_like(x), np.full(lead, np.nan, dtype), np.full(lead, np.nan, dtype)
    out = np.empty_like(x)
    mean = np.empty(lead, dtype)
    rstd = np.empty(lead, dtype)
    kernel(x.reshape(-1, d), gamma, beta, eps, out.reshape(-1, d), mean.reshape(-1), rstd.reshape(-1), n_threads)
    return out, mean, rstd


def layer_norm_backward(grad_out, x, normalized_shape, save_mean, save_rstd, gamma=None, *, backend="auto",
                        n_threads=None):
    r"""Gradients of ``layer_norm`` with respect to x, gamma and beta (closed form, one pass per row).

    Parameters
    ----------
    grad_out : array_like of x's shape
    x : array_like of shape (..., \*normalized_shape)
    normalized_shape : int or tuple of int
    save_mean, save_rstd : array_like of shape x.shape[:-len(normalized_shape)]
        As returned by ``layer_norm`` (() when normalized_shape covers all of x); PyTorch's shape
        (``torch.native_layer_norm``'s, with the normalized dimensions kept as 1s) is accepted too.
    gamma : array_like of shape normalized_shape, optional
        Cast to x's dtype as in ``layer_norm``.
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional

    Returns
    -------
    grad_x : ndarray of x's shape
    grad_gamma, grad_beta : ndarray of shape normalized_shape
        (Empty groups, a 0 in normalized_shape: all three are empty.)
    """
    x = check_float_array(x, "x")
    shape = _normalized_shape(normalized_shape, x)
    dtype = x.dtype
    grad_out = check_float_array(grad_out, "grad_out", dtype=dtype)
    if grad_out.shape != x.shape:
        raise ValueError(f"grad_out must have the shape of x {x.shape}; got {grad_out.shape}")
    gamma = _check_ln_parameter(gamma, "gamma", shape, dtype, 1)
    lead = x.shape[:x.ndim - len(shape)]
    stats = []
    for value, name in ((save_mean, "save_mean"), (save_rstd, "save_rstd")):
        value = check_float_array(value, name, dtype=dtype)
        if value.shape != lead and value.shape != lead + (1,) * len(shape):
            raise ValueError(f"{name} must have shape {lead} (x's leading dimensions); got {value.shape}")
        stats.append(value.reshape(-1))
    n_threads = check_n_threads(n_threads)
    kernel = get_kernel("layer_norm_backward", resolve_backend(backend, "layer_norm_backward"))
    d = math.prod(shape)
    if d == 0:  # groups without values (see layer_norm)
        return np.empty_like(x), np.zeros(shape, dtype), np.zeros(shape, dtype)
    grad_x = np.empty_like(x)
    grad_gamma = np.empty(shape, dtype)
    grad_beta = np.empty(shape, dtype)
    kernel(grad_out.reshape(-1, d), x.reshape(-1, d), gamma, stats[0], stats[1], grad_x.reshape(-1, d),
           grad_gamma.reshape(-1), grad_beta.reshape(-1), n_threads)
    return grad_x, grad_gamma, grad_beta
