"""The training objective of a fitted linear classifier along random directions in weight space.

CS231n's loss slices, with Li et al. (2018, "Visualizing the loss landscape of
neural nets") filter normalisation. The objective at ``W + a D1 + b D2`` needs
the scores ``X (W + a D1 + b D2)^T + b0 = S0 + a S1 + b S2``: the three
products with ``X`` are computed once by BLAS, and every grid point costs two
passes over an (n_samples, n_classes) array plus one fused loss kernel call.
"""
import numbers

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import kernels
from .._validation import check_bool, check_int
from ._matplotlib import axes_or_new

NORMALIZATIONS = ("filter", "layer", None)


def _data_loss_function(estimator):
    """``loss(scores, y, sample_weight, grad_out)`` with the estimator's loss options, as training uses them."""
    from ..linear_model import LinearSVMClassifier, SoftmaxClassifier

    if not isinstance(estimator, (SoftmaxClassifier, LinearSVMClassifier)):
        raise TypeError(f"LossLandscapeDisplay needs a fastlc SoftmaxClassifier or LinearSVMClassifier; "
                        f"got {type(estimator).__name__}")
    options = {"backend": estimator.backend, "n_threads": estimator.n_threads}
    if isinstance(estimator, SoftmaxClassifier):
        def loss(scores, y, sample_weight, out):
            return kernels.softmax_cross_entropy(scores, y, sample_weight=sample_weight, ignore_index=None,
                                                 label_smoothing=estimator.label_smoothing, out=out, **options)[0]
    else:
        def loss(scores, y, sample_weight, out):
            return kernels.multiclass_hinge(scores, y, sample_weight=sample_weight, margin=estimator.margin,
                                            squared=estimator.squared_hinge, out=out, **options)[0]
    return loss


def random_directions(coef, n_directions, *, normalize="filter", random_state=None):
    """Gaussian directions in the space of ``coef``, optionally filter-normalised.

    Parameters
    ----------
    coef : ndarray of shape (n_classes, n_features)
    n_directions : {1, 2}
    normalize : {"filter", "layer"} or None, default="filter"
        "filter" (Li et al. 2018): each class row of a direction is scaled to
        the norm of that class's weight row, so the slice's scale matches the
        weights' (a zero weight row gives a zero direction row). "layer": the
        whole direction is scaled to ``||coef||``. None: raw N(0, 1) entries.
    random_state : int, RandomState instance or None

    Returns
    -------
    directions : list of ndarray of shape (n_classes, n_features)
        In ``coef``'s dtype.
    """
    if isinstance(n_directions, bool) or n_directions not in (1, 2):
        raise ValueError(f"n_directions must be 1 (a line) or 2 (a surface); got {n_directions!r}")
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {NORMALIZATIONS}; got {normalize!r}")
    rng = check_random_state(random_state)
    coef64 = np.asarray(coef, dtype=np.float64)
    directions = []
    for _ in range(n_directions):
        d = rng.standard_normal(coef64.shape)
        if normalize == "filter":
            row_norms = np.linalg.norm(d, axis=1, keepdims=True)
            d *= np.linalg.norm(coef64, axis=1, keepdims=True) / row_norms
        elif normalize == "layer":
            d *= np.linalg.norm(coef64) / np.linalg.norm(d)
        directions.append(d.astype(coef.dtype))
    return directions


def loss_landscape(estimator, X, y, directions, alphas, betas=None, *, sample_weight=None):
    """Training objective of a fitted estimator at ``coef_ + a D1 (+ b D2)`` on a grid.

    The objective is what training minimises and records in ``loss_curve_``:
    ``sum_i w_i L_i / sum_i w_i + penalty(W)``, with ``w`` the sample weights
    times ``class_weight`` and the estimator's loss options (``margin``,
    ``squared_hinge``, ``label_smoothing``). The intercept is held fixed (Li
    et al. leave biases out of the directions too).

    Parameters
    ----------
    estimator : fitted SoftmaxClassifier or LinearSVMClassifier
    X : array-like of shape (n_samples, n_features)
        Computed in the estimator's training dtype (float32 or float64).
    y : array-like of shape (n_samples,)
        Labels from ``estimator.classes_``.
    directions : list of one or two ndarrays of shape (n_classes, n_features)
    alphas : ndarray of shape (n_alphas,)
        Steps along the first direction.
    betas : ndarray of shape (n_betas,), optional
        Steps along the second direction (needed with two directions).
    sample_weight : array-like of shape (n_samples,), optional

    Returns
    -------
    losses : ndarray of shape (n_alphas,) or (n_alphas, n_betas)
        float64; ``losses[i, j]`` is the objective at ``alphas[i]``, ``betas[j]``.
    """
    check_is_fitted(estimator)
    loss = _data_loss_function(estimator)
    coef = estimator.coef_
    dtype = coef.dtype
    X = validate_data(estimator, X, dtype=dtype, order="C", accept_sparse=False, reset=False)
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) like X's rows; got {y.shape}")
    y_encoded = np.searchsorted(estimator.classes_, y).clip(0, estimator.classes_.shape[0] - 1)
    unknown = estimator.classes_[y_encoded] != y
    if unknown.any():
        raise ValueError(f"y contains label {y[np.flatnonzero(unknown)[0]].item()!r} that is not in "
                         f"classes_={estimator.classes_.tolist()}")
    weight = estimator._sample_weight(sample_weight, X, y_encoded, estimator.class_weight)
    directions = [np.asarray(d, dtype=dtype) for d in directions]
    if len(directions) not in (1, 2) or any(d.shape != coef.shape for d in directions):
        raise ValueError(f"directions must be one or two arrays of shape {coef.shape}")
    if (len(directions) == 2) != (betas is not None):
        raise ValueError("betas must be given with two directions, and only then")

    # Single-threaded BLAS, as in fit: multi-threaded products are not bit-identical across
    # thread counts, and these three are a small share of the time.
    with estimator._blas_threads():
        base = X @ coef.T
        along = [X @ d.T for d in directions]
    if estimator.fit_intercept:
        base += estimator.intercept_
    scores = np.empty_like(base)
    grad = np.empty_like(base)  # written by the loss kernels, not used
    alphas = np.asarray(alphas, dtype=np.float64)

    def objective(step, point_scores):
        data = float(loss(point_scores, y_encoded, weight, grad))
        return data + estimator._penalty(coef + step)

    if betas is None:
        losses = np.empty(alphas.shape[0])
        for i, a in enumerate(alphas):
            a = dtype.type(a)
            np.multiply(along[0], a, out=scores)
            scores += base
            losses[i] = objective(a * directions[0], scores)
        return losses
    betas = np.asarray(betas, dtype=np.float64)
    losses = np.empty((alphas.shape[0], betas.shape[0]))
    row = np.empty_like(base)
    for i, a in enumerate(alphas):
        a = dtype.type(a)
        np.multiply(along[0], a, out=row)
        row += base
        for j, b in enumerate(betas):
            b = dtype.type(b)
            np.multiply(along[1], b, out=scores)
            scores += row
            losses[i, j] = objective(a * directions[0] + b * directions[1], scores)
    return losses


class LossLandscapeDisplay:
    """A 1-D or 2-D slice of a classifier's training objective around its weights.

    Build it with :meth:`from_estimator`.

    Parameters
    ----------
    alphas : ndarray of shape (n_points,)
        Steps along the first direction.
    losses : ndarray of shape (n_points,) or (n_points, n_points)
        The objective; ``losses[i, j]`` at ``alphas[i]``, ``betas[j]``.
    betas : ndarray of shape (n_points,), optional
        Steps along the second direction (2-D slices).
    directions : list of ndarray, optional
        The directions (kept for the record).
    estimator_name : str, optional

    Attributes
    ----------
    alphas, betas, losses, directions
        As given.
    center_loss : float
        The objective at the fitted weights (step 0), when 0 is on the grid.
    line_ : matplotlib Line2D or None
        The 1-D slice.
    surface_ : matplotlib QuadContourSet or QuadMesh, or None
        The 2-D slice (``kind="contour"`` or ``"heatmap"``).
    colorbar_ : matplotlib Colorbar or None
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    """

    def __init__(self, alphas, losses, betas=None, *, directions=None, estimator_name=None):
        self.alphas = np.asarray(alphas, dtype=np.float64)
        self.betas = None if betas is None else np.asarray(betas, dtype=np.float64)
        self.losses = np.asarray(losses, dtype=np.float64)
        expected = self.alphas.shape if self.betas is None else self.alphas.shape + self.betas.shape
        if self.losses.shape != expected:
            raise ValueError(f"losses must have shape {expected}; got {self.losses.shape}")
        self.directions = directions
        self.estimator_name = estimator_name
        i = np.flatnonzero(self.alphas == 0)
        j = [None] if self.betas is None else np.flatnonzero(self.betas == 0)
        self.center_loss = float(self.losses[(i[0],) if self.betas is None else (i[0], j[0])]) \
            if len(i) and len(j) else None

    def plot(self, ax=None, *, kind="contour", levels=30, log_scale=False):
        """Draw the slice: a line for one direction, contours or a heat map for two.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        kind : {"contour", "heatmap"}, default="contour"
            For 2-D slices.
        levels : int, default=30
            Contour levels.
        log_scale : bool, default=False
            Logarithmic loss axis (1-D) or colour scale (2-D).

        Returns
        -------
        display : LossLandscapeDisplay
        """
        if kind not in ("contour", "heatmap"):
            raise ValueError(f"kind must be 'contour' or 'heatmap'; got {kind!r}")
        levels = check_int(levels, "levels", low=1)
        log_scale = check_bool(log_scale, "log_scale")
        ax = axes_or_new(ax, f"{type(self).__name__}.plot")
        title = "training objective" if self.estimator_name is None else f"{self.estimator_name} training objective"
        self.line_ = self.surface_ = self.colorbar_ = None
        if self.betas is None:
            (self.line_,) = ax.plot(self.alphas, self.losses, color="C0")
            if self.center_loss is not None:
                ax.plot([0.0], [self.center_loss], "o", color="C3", label="fitted weights")
                ax.legend(loc="upper center")
            ax.set_xlabel(r"step $\alpha$ along direction 1")
            ax.set_ylabel("training objective (loss + penalty)")
            if log_scale:
                ax.set_yscale("log")
        else:
            from matplotlib.colors import LogNorm

            norm = LogNorm() if log_scale else None
            A, B = np.meshgrid(self.alphas, self.betas, indexing="ij")
            if kind == "contour":
                self.surface_ = ax.contour(A, B, self.losses, levels=levels, cmap="viridis", norm=norm)
            else:
                self.surface_ = ax.pcolormesh(A, B, self.losses, shading="auto", cmap="viridis", norm=norm)
            self.colorbar_ = ax.figure.colorbar(self.surface_, ax=ax, label="training objective")
            ax.plot([0.0], [0.0], "*", color="C3", markersize=10, label="fitted weights")
            ax.legend(loc="upper right", fontsize="small")
            ax.set_xlabel(r"step $\alpha$ along direction 1")
            ax.set_ylabel(r"step $\beta$ along direction 2")
        ax.set_title(title)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, X, y, *, n_directions=1, n_points=51, span=1.0, random_state=None,
                       normalize="filter", sample_weight=None, ax=None, **plot_kwargs):
        """Slice the training objective of a fitted classifier along random directions.

        Evaluates ``objective(coef_ + a D1)`` for ``a`` in
        ``linspace(-span, span, n_points)`` (one direction), or
        ``objective(coef_ + a D1 + b D2)`` on the ``n_points x n_points`` grid
        (two), with Gaussian directions normalised as ``normalize`` says; see
        :func:`loss_landscape` for what the objective is. A 51 x 51 grid on
        10 000 x 784 data with 10 classes takes a few seconds.

        Parameters
        ----------
        estimator : fitted SoftmaxClassifier or LinearSVMClassifier
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        n_directions : {1, 2}, default=1
        n_points : int >= 2, default=51
            Grid points per direction (odd puts the fitted weights on the grid).
        span : float > 0, default=1.0
            The steps run from ``-span`` to ``span`` (in units of the
            normalised direction: with "filter", 1 is a step as long as each weight row).
        random_state : int, RandomState instance or None, default=None
        normalize : {"filter", "layer"} or None, default="filter"
            See :func:`random_directions`.
        sample_weight : array-like of shape (n_samples,), optional
        ax : matplotlib Axes, optional
        **plot_kwargs
            Passed to :meth:`plot` (``kind``, ``levels``, ``log_scale``).

        Returns
        -------
        display : LossLandscapeDisplay

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        ValueError
            If ``n_directions`` is not 1 or 2, or another argument is out of range.
        """
        if isinstance(n_directions, bool) or n_directions not in (1, 2):
            raise ValueError(f"n_directions must be 1 (a line) or 2 (a surface); got {n_directions!r}")
        if isinstance(n_points, bool) or not isinstance(n_points, numbers.Integral) or n_points < 2:
            raise ValueError(f"n_points must be an int >= 2; got {n_points!r}")
        if isinstance(span, bool) or not isinstance(span, numbers.Real) or not (0 < span < np.inf):
            raise ValueError(f"span must be a finite number > 0; got {span!r}")
        check_is_fitted(estimator)
        _data_loss_function(estimator)  # a TypeError for other estimators before any work
        directions = random_directions(estimator.coef_, n_directions, normalize=normalize,
                                       random_state=random_state)
        steps = np.linspace(-span, span, n_points)
        betas = steps if n_directions == 2 else None
        losses = loss_landscape(estimator, X, y, directions, steps, betas, sample_weight=sample_weight)
        display = cls(steps, losses, betas, directions=directions, estimator_name=type(estimator).__name__)
        return display.plot(ax=ax, **plot_kwargs)
