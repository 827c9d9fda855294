"""Training loss (and validation score) per epoch of a fitted estimator."""
import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._validation import check_bool
from ._matplotlib import axes_or_new


class LossCurveDisplay:
    """Loss curve: the training objective after each epoch, and the validation score with early stopping.

    Build it with :meth:`from_estimator`; the constructor takes the data
    directly (scikit-learn's Display convention).

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        Training objective after each epoch (``loss_curve_``).
    validation_scores : array-like of shape (n_epochs,), optional
        Validation score after each epoch (``validation_scores_``), drawn on a
        second y axis.
    estimator_name : str, optional
        Used in the legend.

    Attributes
    ----------
    epochs : ndarray of shape (n_epochs,)
        1, 2, ..., n_epochs.
    loss_curve : ndarray of shape (n_epochs,)
    validation_scores : ndarray of shape (n_epochs,) or None
    line_ : matplotlib Line2D
        The loss curve.
    validation_line_ : matplotlib Line2D or None
    ax_ : matplotlib Axes
        The axes of the loss curve.
    validation_ax_ : matplotlib Axes or None
        The twin axes of the validation score.
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from fastlc import SoftmaxClassifier
    >>> from fastlc.plotting import LossCurveDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = SoftmaxClassifier(early_stopping=True, random_state=0).fit(X / 16, y)
    >>> display = LossCurveDisplay.from_estimator(clf)  # doctest: +SKIP
    """

    def __init__(self, loss_curve, validation_scores=None, *, estimator_name=None):
        self.loss_curve = np.asarray(loss_curve, dtype=np.float64)
        if self.loss_curve.ndim != 1:
            raise ValueError(f"loss_curve must be one value per epoch (1-D); got shape {self.loss_curve.shape}")
        self.epochs = np.arange(1, self.loss_curve.shape[0] + 1)
        if validation_scores is not None:
            validation_scores = np.asarray(validation_scores, dtype=np.float64)
            # one per epoch that had one: partial_fit after an early-stopping fit adds epochs without
            if validation_scores.ndim != 1 or validation_scores.shape[0] > self.loss_curve.shape[0]:
                raise ValueError(f"validation_scores has shape {validation_scores.shape}; it must be 1-D with at "
                                 f"most one value per epoch of loss_curve {self.loss_curve.shape}")
        self.validation_scores = validation_scores
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, log_scale=False, **kwargs):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Axes to draw on; a new figure if None.
        log_scale : bool, default=False
            Logarithmic loss axis.
        **kwargs
            Passed to ``ax.plot`` for the loss curve.

        Returns
        -------
        display : LossCurveDisplay
        """
        log_scale = check_bool(log_scale, "log_scale")
        ax = axes_or_new(ax, f"{type(self).__name__}.plot")
        label = "training loss" if self.estimator_name is None else f"{self.estimator_name} training loss"
        (self.line_,) = ax.plot(self.epochs, self.loss_curve, **{"label": label, "color": "C0", **kwargs})
        ax.set_xlabel("epoch")
        ax.set_ylabel("training objective (loss + penalty)")
        if log_scale:
            ax.set_yscale("log")
        self.validation_ax_ = self.validation_line_ = None
        handles = [self.line_]
        if self.validation_scores is not None:
            self.validation_ax_ = ax.twinx()
            (self.validation_line_,) = self.validation_ax_.plot(
                self.epochs[:self.validation_scores.shape[0]], self.validation_scores, color="C1", linestyle="--",
                label="validation score")
            self.validation_ax_.set_ylabel("validation score (accuracy)")
            handles.append(self.validation_line_)
        ax.legend(handles=handles, loc="upper center")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, log_scale=False, **kwargs):
        """Loss curve of a fitted estimator that records ``loss_curve_``.

        Any fastlc classifier (and scikit-learn's ``MLPClassifier``): the
        training objective per epoch, and with ``early_stopping=True`` the
        validation score per epoch on a second axis.

        Parameters
        ----------
        estimator : fitted estimator with a ``loss_curve_`` attribute
        ax : matplotlib Axes, optional
        name : str, optional
            Legend name; default: the estimator's class name.
        log_scale : bool, default=False
        **kwargs
            Passed to ``ax.plot`` for the loss curve.

        Returns
        -------
        display : LossCurveDisplay

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        TypeError
            If it has no ``loss_curve_`` (not trained epoch by epoch).
        """
        check_is_fitted(estimator)
        loss_curve = getattr(estimator, "loss_curve_", None)
        if loss_curve is None:
            raise TypeError(f"{type(estimator).__name__} has no loss_curve_: LossCurveDisplay needs an estimator "
                            f"trained epoch by epoch (a fastlc classifier, or scikit-learn's MLPClassifier)")
        # A refit without early stopping keeps the validation scores of an earlier fit: trust the parameter.
        validation = getattr(estimator, "validation_scores_", None) if getattr(estimator, "early_stopping", False) else None
        display = cls(loss_curve, validation, estimator_name=type(estimator).__name__ if name is None else name)
        return display.plot(ax=ax, log_scale=log_scale, **kwargs)
