"""Trajectories of fastlc.optim optimizers on 2-D test functions, over the function's contours."""
import numbers
from typing import Callable, NamedTuple

import numpy as np

from .._validation import check_int
from ..optim import Optimizer
from ._matplotlib import axes_or_new



def _check_window(limits, name):
    """None, or ``limits`` as a pair (low, high) of finite floats with low < high."""
    if limits is None:
        return None
    try:
        low, high = (float(v) for v in limits)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair of numbers (low, high); got {limits!r}") from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"{name} must be a pair of finite numbers with low < high; got {limits!r}")
    return low, high

class TestFunction(NamedTuple):
    """A 2-D function with its gradient and a window that shows its interesting part.

    ``f(x)`` and ``grad(x)`` take ``x`` of shape (2,); ``f`` also takes a stack
    of grids of shape (2, ny, nx) (write it with ``x[0]``, ``x[1]``) so that
    its contours are drawn in one call.
    """

    __test__ = False  # not a pytest test class despite its name

    name: str
    f: Callable
    grad: Callable
    xlim: tuple = None
    ylim: tuple = None
    minimum: tuple = None
    log_levels: bool = False


def _ellipse(x):
    return 0.1 * x[0] ** 2 + 2.0 * x[1] ** 2


def _ellipse_grad(x):
    return np.array([0.2 * x[0], 4.0 * x[1]])


def _rosenbrock(x):
    return (1.0 - x[0]) ** 2 + 100.0 * (x[1] - x[0] ** 2) ** 2


def _rosenbrock_grad(x):
    inner = x[1] - x[0] ** 2
    return np.array([-2.0 * (1.0 - x[0]) - 400.0 * x[0] * inner, 200.0 * inner])


def _beale_terms(x):
    return (1.5 - x[0] + x[0] * x[1], 2.25 - x[0] + x[0] * x[1] ** 2, 2.625 - x[0] + x[0] * x[1] ** 3)


def _beale(x):
    a, b, c = _beale_terms(x)
    return a ** 2 + b ** 2 + c ** 2


def _beale_grad(x):
    a, b, c = _beale_terms(x)
    u, v = x[0], x[1]
    return np.array([2 * a * (v - 1) + 2 * b * (v ** 2 - 1) + 2 * c * (v ** 3 - 1),
                     2 * a * u + 4 * b * u * v + 6 * c * u * v ** 2])


#: The built-in functions by name: the tutorials' ellipse f(x) = 0.1 x1^2 + 2 x2^2,
#: Rosenbrock's valley (minimum at (1, 1)) and Beale's function (minimum at (3, 0.5)).
TEST_FUNCTIONS = {
    "ellipse": TestFunction("ellipse", _ellipse, _ellipse_grad, (-5.5, 1.5), (-3.0, 3.0), (0.0, 0.0)),
    "rosenbrock": TestFunction("rosenbrock", _rosenbrock, _rosenbrock_grad, (-2.0, 2.0), (-1.0, 3.0), (1.0, 1.0),
                               log_levels=True),
    "beale": TestFunction("beale", _beale, _beale_grad, (-4.5, 4.5), (-4.5, 4.5), (3.0, 0.5), log_levels=True),
}


def _check_function(function):
    if isinstance(function, TestFunction):
        return function
    if isinstance(function, str):
        if function not in TEST_FUNCTIONS:
            raise ValueError(f"function={function!r} is not a built-in test function; choose one of "
                             f"{sorted(TEST_FUNCTIONS)} or pass an (f, grad) pair")
        return TEST_FUNCTIONS[function]
    if isinstance(function, tuple) and len(function) == 2 and all(callable(g) for g in function):
        return TestFunction("custom", *function)
    raise TypeError(f"function must be a name in {sorted(TEST_FUNCTIONS)}, an (f, grad) pair of callables or a "
                    f"TestFunction; got {function!r}")


def _check_optimizers(optimizers):
    """``{label: factory}`` as a dict, each factory checked to be callable."""
    if isinstance(optimizers, dict):
        items = list(optimizers.items())
    else:
        try:
            items = [tuple(item) for item in optimizers]
        except TypeError:
            raise TypeError(f"optimizers must be a dict {{label: factory}} or a list of (label, factory) pairs; "
                            f"got {type(optimizers).__name__}") from None
        if any(len(item) != 2 for item in items):
            raise TypeError("optimizers must be a dict {label: factory} or a list of (label, factory) pairs")
    if not items:
        raise ValueError("optimizers is empty: give at least one (label, factory)")
    labels = [str(label) for label, _ in items]
    if len(set(labels)) != len(labels):
        raise ValueError(f"optimizer labels must be unique; got {labels}")
    for label, factory in items:
        if not callable(factory):
            raise TypeError(f"optimizers[{label!r}] must be a callable params -> Optimizer, such as "
                            f"functools.partial(SGD, lr=0.4); got {factory!r}")
    return dict(zip(labels, (factory for _, factory in items)))


def optimizer_path(factory, function="ellipse", start=(-5.0, -2.0), n_steps=20):
    """Run one optimizer on a 2-D function and return every point it visits.

    Parameters
    ----------
    factory : callable
        ``factory([x])`` returns a :class:`fastlc.optim.Optimizer` over the one
        parameter array ``x`` of shape (2,), float64: an optimizer class
        (default hyper-parameters), ``functools.partial(SGD, lr=0.4, momentum=0.5)``
        or a lambda.
    function : str, (f, grad) pair or TestFunction, default="ellipse"
        A built-in name (see ``TEST_FUNCTIONS``) or a user's function and gradient.
    start : pair of float, default=(-5, -2)
    n_steps : int >= 0, default=20

    Returns
    -------
    path : ndarray of shape (n_steps + 1, 2)
        ``path[0]`` is ``start``, ``path[k]`` the point after ``k`` calls of
        ``optimizer.step``. A diverging run keeps its huge, inf or NaN values.
    """
    function = _check_function(function)
    start = np.asarray(start, dtype=np.float64)
    if start.shape != (2,):
        raise ValueError(f"start must be a point (x1, x2); got {start.tolist()!r}")
    if isinstance(n_steps, bool) or not isinstance(n_steps, numbers.Integral) or n_steps < 0:
        raise ValueError(f"n_steps must be an int >= 0; got {n_steps!r}")
    x = start.copy()
    optimizer = factory([x])
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"the factory must return a fastlc.optim.Optimizer over [x]; got {type(optimizer).__name__}")
    path = np.empty((n_steps + 1, 2))
    path[0] = x
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, n_steps + 1):
            grad = np.asarray(function.grad(x), dtype=np.float64).reshape(2)
            optimizer.step([grad])
            path[k] = x
    return path


def _contour_values(f, X1, X2):
    """f on a grid: vectorized if ``f`` takes stacked grids, else point by point."""
    try:
        Z = np.asarray(f(np.stack([X1, X2])), dtype=np.float64)
        if Z.shape == X1.shape:
            return Z
    except Exception:  # a user's f written for points only: fall back below
        pass
    return np.array([[f(np.array([a, b])) for a, b in zip(r1, r2)] for r1, r2 in zip(X1, X2)], dtype=np.float64)


class OptimizerPathDisplay:
    """Trajectories of optimizers over the contours of a 2-D function.

    Build it with :meth:`from_optimizers`.

    Parameters
    ----------
    paths : dict of str to ndarray of shape (n_steps + 1, 2)
        Points visited by each optimizer, by label.
    function : TestFunction
        The function whose contours are drawn.

    Attributes
    ----------
    paths : dict of str to ndarray of shape (n_steps + 1, 2)
    function : TestFunction
    lines_ : dict of str to matplotlib Line2D
        One line per optimizer.
    contour_ : matplotlib QuadContourSet
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from functools import partial
    >>> from fastlc.optim import SGD, Adagrad
    >>> from fastlc.plotting import OptimizerPathDisplay
    >>> display = OptimizerPathDisplay.from_optimizers(  # doctest: +SKIP
    ...     {"GD": partial(SGD, lr=0.4), "momentum": partial(SGD, lr=0.6, momentum=0.5)})
    >>> display.paths["GD"][-1].round(6)  # doctest: +SKIP
    array([-0.943467, -0.000073])
    """

    def __init__(self, paths, function):
        self.paths = {str(label): np.asarray(path, dtype=np.float64) for label, path in dict(paths).items()}
        if not self.paths or any(path.ndim != 2 or path.shape[1] != 2 for path in self.paths.values()):
            raise ValueError("paths must be a non-empty dict {label: array of shape (n_steps + 1, 2)}")
        self.function = _check_function(function)

    def _window(self, xlim, ylim):
        """The function's window, widened to the start points; for a user's function, the paths' extent."""
        starts = np.array([path[0] for path in self.paths.values()])
        if self.function.xlim is not None and self.function.ylim is not None:
            lows = np.minimum([self.function.xlim[0], self.function.ylim[0]], starts.min(axis=0) - 0.5)
            highs = np.maximum([self.function.xlim[1], self.function.ylim[1]], starts.max(axis=0) + 0.5)
        else:
            points = np.concatenate(list(self.paths.values()))
            points = points[np.isfinite(points).all(axis=1)]
            lows, highs = points.min(axis=0), points.max(axis=0)
            pad = np.maximum(0.1 * (highs - lows), 0.5)
            lows, highs = lows - pad, highs + pad
        return (xlim or (lows[0], highs[0])), (ylim or (lows[1], highs[1]))

    def plot(self, ax=None, *, xlim=None, ylim=None, levels=20, grid_points=200):
        """Draw the contours and the paths.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        xlim, ylim : pair of float, optional
            The window; default: the function's own (widened to the start
            points), or the paths' extent for a user's function.
        levels : int, default=20
            Number of contour levels (log-spaced for Rosenbrock and Beale).
        grid_points : int, default=200
            Grid resolution of the contours per axis.

        Returns
        -------
        display : OptimizerPathDisplay
        """
        levels = check_int(levels, "levels", low=1)
        grid_points = check_int(grid_points, "grid_points", low=2)
        xlim, ylim = _check_window(xlim, "xlim"), _check_window(ylim, "ylim")
        ax = axes_or_new(ax, f"{type(self).__name__}.plot")
        xlim, ylim = self._window(xlim, ylim)
        X1, X2 = np.meshgrid(np.linspace(*xlim, grid_points), np.linspace(*ylim, grid_points))
        Z = _contour_values(self.function.f, X1, X2)
        norm = None
        if self.function.log_levels:
            from matplotlib.colors import LogNorm

            positive = Z[Z > 0]
            contour_levels = np.geomspace(max(positive.min(), 1e-3), positive.max(), levels)
            norm = LogNorm(contour_levels[0], contour_levels[-1])
        else:
            contour_levels = levels
        self.contour_ = ax.contour(X1, X2, Z, levels=contour_levels, norm=norm, cmap="viridis", linewidths=0.7,
                                   alpha=0.5)
        self.lines_ = {}
        for k, (label, path) in enumerate(self.paths.items()):
            (self.lines_[label],) = ax.plot(path[:, 0], path[:, 1], "-o", color=f"C{k}", markersize=3,
                                            linewidth=1.2, label=label)
        if self.function.minimum is not None:
            ax.plot(*self.function.minimum, "*", color="k", markersize=10, label="minimum")
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        ax.set_title(f"{self.function.name}: {len(next(iter(self.paths.values()))) - 1} steps")
        ax.legend(loc="best", fontsize="small")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_optimizers(cls, optimizers, function="ellipse", start=(-5.0, -2.0), n_steps=20, *, ax=None,
                        **plot_kwargs):
        """Run each optimizer from ``start`` for ``n_steps`` steps and draw the paths.

        Parameters
        ----------
        optimizers : dict of str to callable, or list of (str, callable)
            Label -> factory. A factory takes the list ``[x]`` of the one
            parameter array (shape (2,), float64) and returns a
            :class:`fastlc.optim.Optimizer` over it: an optimizer class,
            ``functools.partial(SGD, lr=0.6, momentum=0.5)``, or
            ``lambda params: Adam(params, lr=0.3)``. Each runs on its own copy
            of ``start``, with fresh state.
        function : {"ellipse", "rosenbrock", "beale"}, (f, grad) pair or TestFunction, default="ellipse"
            "ellipse" is f(x) = 0.1 x1^2 + 2 x2^2. A user's ``f(x)`` and
            ``grad(x)`` take ``x`` of shape (2,) (``f`` preferably also a stack
            of grids of shape (2, ny, nx), for fast contours).
        start : pair of float, default=(-5, -2)
        n_steps : int >= 0, default=20
        ax : matplotlib Axes, optional
        **plot_kwargs
            Passed to :meth:`plot` (``xlim``, ``ylim``, ``levels``, ``grid_points``).

        Returns
        -------
        display : OptimizerPathDisplay
        """
        function = _check_function(function)
        optimizers = _check_optimizers(optimizers)
        paths = {label: optimizer_path(factory, function, start, n_steps) for label, factory in optimizers.items()}
        return cls(paths, function).plot(ax=ax, **plot_kwargs)
