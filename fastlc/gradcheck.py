"""Numerical gradients by centered differences, to test analytic gradients against."""
import numpy as np

from ._validation import check_scalar


def numerical_gradient(f, x, *, h=1e-5):
    """Centered-difference gradient of a scalar function.

    ``(f(x + h e_i) - f(x - h e_i)) / (2 h)`` for every element i of ``x``.
    Its error is O(h^2) for smooth f, so use float64 inputs.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``; may read ``x`` but must not keep it.
    x : ndarray of float64, any shape
        Point of evaluation. It is perturbed in place one element at a time
        and restored exactly before returning.
    h : float, default=1e-5
        Step size.

    Returns
    -------
    grad : ndarray of the shape of ``x``
    """
    if not callable(f):
        raise TypeError(f"f must be a callable f(x) -> float; got {type(f).__name__}")
    h = check_scalar(h, "h", low=0.0, low_inclusive=False)
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a float ndarray; got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"x must be a float ndarray; got dtype {x.dtype}")
    if not x.flags.writeable:
        raise ValueError("x must be writeable: it is perturbed in place (and restored)")
    grad = np.empty_like(x)
    flat_x = x.reshape(-1)  # a view for contiguous x; checked below
    if not np.shares_memory(flat_x, x):
        raise ValueError("x must be contiguous so that it can be perturbed in place")
    flat_grad = grad.reshape(-1)
    for i in range(flat_x.size):
        original = flat_x[i]
        try:
            flat_x[i] = original + h
            upper = float(f(x))
            flat_x[i] = original - h
            lower = float(f(x))
        finally:  # x comes back exactly as it was, also when f raises (or the user interrupts)
            flat_x[i] = original
        flat_grad[i] = (upper - lower) / (2 * h)
    return grad
