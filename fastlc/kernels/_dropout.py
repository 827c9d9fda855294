"""Public inverted dropout with a counter-based mask (Philox4x32-10, see fastlc/_naive/_dropout.py)."""
import numpy as np

from .._dispatch import get_kernel, resolve_backend
from .._validation import check_bool, check_float_array, check_int, check_n_threads, check_out, check_scalar


def _check_seed(seed):
    return check_int(seed, "seed", low=0, high=(1 << 64) - 1)


def _scale(p, dtype):
    return dtype.type(0 if p == 1 else 1.0 / (1.0 - p))


def dropout(x, p=0.5, *, seed, training=True, backend="auto", n_threads=None, out=None):
    """Inverted dropout (``F.dropout``): zero each element with probability p, scale the rest by 1 / (1 - p).

    The mask is drawn by Philox4x32-10 keyed by ``seed`` with the element's index
    as counter, so a (seed, shape) pair gives the same mask in every backend and
    for every thread count. Dropped elements are multiplied by 0 (a NaN stays NaN,
    as in PyTorch).

    Parameters
    ----------
    x : array_like of any shape, float32 or float64
    p : float in [0, 1], default=0.5
        Probability of dropping an element; 0 is the identity, 1 gives zeros.
    seed : int in [0, 2**64)
        Key of the generator; use a new one for every call that needs a new mask.
    training : bool, default=True
        False returns a copy of x and an all-True mask.
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional
    out : ndarray of x's shape and dtype, optional

    Returns
    -------
    out : ndarray of x's shape
    mask : ndarray of bool, x's shape
        True where the element was kept.
    """
    x = check_float_array(x, "x")
    p = check_scalar(p, "p", low=0.0, high=1.0)
    seed = _check_seed(seed)
    training = check_bool(training, "training")
    n_threads = check_n_threads(n_threads)
    kernel = get_kernel("dropout", resolve_backend(backend, "dropout"))
    result = check_out(out, x.shape, x.dtype, inputs=(x,))
    mask = np.empty(x.shape, dtype=bool)
    if not training:
        result[...] = x
        mask[...] = True
        return result, mask
    kernel(x.reshape(-1), *generator_arguments(p, seed, x.dtype), result.reshape(-1), mask.reshape(-1).view(np.uint8),
           n_threads)
    return result, mask


def generator_arguments(p, seed, dtype):
    """(threshold, scale, key0, key1): how the private dropout kernels take a checked ``p`` and ``seed``
    (also the networks' fused hidden-layer kernel)."""
    # keep when the 32-bit word >= round(p * 2**32): exactly p up to 2**-33, and all integers
    threshold = min(round(p * 2.0**32), 1 << 32)
    return threshold, _scale(p, dtype), seed & 0xFFFFFFFF, seed >> 32


def dropout_backward(grad_out, mask, p=0.5, *, backend="auto", n_threads=None, out=None):
    """Gradient of ``dropout`` with respect to x: ``grad_out * mask / (1 - p)``.

    Parameters
    ----------
    grad_out : array_like of any shape, float32 or float64
    mask : array_like of bool, grad_out's shape
        The mask ``dropout`` returned.
    p : float in [0, 1], default=0.5
        The p given to ``dropout``.
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional
    out : ndarray of grad_out's shape and dtype, optional (may be grad_out itself)

    Returns
    -------
    grad_x : ndarray of grad_out's shape
    """
    grad_out = check_float_array(grad_out, "grad_out")
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise TypeError(f"mask must be a bool array (the mask dropout returned); got dtype {mask.dtype}")
    if mask.shape != grad_out.shape:
        raise ValueError(f"mask must have the shape of grad_out {grad_out.shape}; got {mask.shape}")
    mask = np.ascontiguousarray(mask)
    p = check_scalar(p, "p", low=0.0, high=1.0)
    n_threads = check_n_threads(n_threads)
    kernel = get_kernel("dropout_backward", resolve_backend(backend, "dropout_backward"))
    # in place allowed: each element is read before it is written
    result = check_out(out, grad_out.shape, grad_out.dtype, inputs={"grad_out": grad_out}, may_alias=True)
    kernel(grad_out.reshape(-1), mask.reshape(-1).view(np.uint8), _scale(p, grad_out.dtype), result.reshape(-1),
           n_threads)
    return result
