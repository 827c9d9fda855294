"""Numerical gradients by centered differences, to test analytic gradients against."""
import numpy as np

from ._validation import check_scalar

__all__ = ["numerical_gradient"]


def _scalar_value(f, x):
    """``f(x)`` as a Python float; TypeError naming ``f`` unless it is a scalar."""
    value = f(x)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if not isinstance(value, (float, int, np.floating, np.integer)) or isinstance(value, (bool, np.bool_)):
        shape = f" of shape {value.shape}" if isinstance(value, np.ndarray) else ""
        raise TypeError(f"f must return a scalar (the value to differentiate); got {type(value).__name__}{shape}")
    return float(value)


def numerical_gradient(f, x, *, h=1e-5):
    """Centered-difference gradient of a scalar function.

    ``(f(x + h e_i) - f(x - h e_i)) / s_i`` for every element i of ``x``, where
    ``s_i`` is the step actually taken: ``x_i + h`` and ``x_i - h`` are stored
    in ``x``'s dtype, which rounds them (dividing by the nominal ``2 h`` made a
    float32 gradient at 100 24% too small). Its error is O(h^2) for smooth f,
    so use float64 inputs.

    Parameters
    ----------
    f : callable
        ``f(x) -> float`` (a scalar); may read ``x`` but must not keep it.
    x : ndarray of float32 or float64, any shape and memory layout
        Point of evaluation. It is perturbed in place one element at a time
        and restored exactly before returning.
    h : float, default=1e-5
        Step size.

    Returns
    -------
    grad : ndarray of the shape and dtype of ``x``

    Raises
    ------
    ValueError
        If ``x_i + h`` and ``x_i - h`` round to the same value for some i
        (``h`` is below the resolution of ``x`` there).
    """
    if not callable(f):
        raise TypeError(f"f must be a callable f(x) -> float; got {type(f).__name__}")
    h = check_scalar(h, "h", low=0.0, low_inclusive=False)
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a float ndarray; got {type(x).__name__}")
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"x must be a float32 or float64 ndarray; got dtype {x.dtype}")
    if not x.flags.writeable:
        raise ValueError("x must be writeable: it is perturbed in place (and restored)")
    cast = x.dtype.type
    grad = np.empty(x.shape, dtype=x.dtype)
    for index in np.ndindex(*x.shape):
        original = x[index]
        upper_x, lower_x = cast(original + h), cast(original - h)
        step = float(upper_x) - float(lower_x)
        if not step > 0:
            raise ValueError(f"h={h!r} is below the resolution of x at x[{', '.join(map(str, index))}]="
                             f"{original!r} ({x.dtype}): x + h and x - h round to the same value; use a "
                             f"larger h or float64")
        try:
            x[index] = upper_x
            upper = _scalar_value(f, x)
            x[index] = lower_x
            lower = _scalar_value(f, x)
        finally:  # x comes back exactly as it was, also when f raises (or the user interrupts)
            x[index] = original
        grad[index] = (upper - lower) / step
    return grad
