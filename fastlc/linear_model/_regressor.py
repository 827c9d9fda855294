"""Linear regression trained by mini-batch gradient descent, single and multi-output."""
import numbers

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._constants import REGRESSION_EPSILON_INSENSITIVE, REGRESSION_HUBER
from .._dispatch import get_kernel
from .._validation import check_fits
from .._numpy._nn_losses import _epsilon_insensitive, _huber
from ._base import BaseLinearModel, _unchanged_on_failure
from ._params_doc import REGRESSOR_ATTRIBUTES, REGRESSOR_PARAMETERS
from ._sparse import SPARSE_UPDATE_DOC, SPARSE_UPDATES, sparse_kernel

#: The losses, as (point loss of the fused kernel, its threshold parameter); see ``_point_loss``.
LOSSES = ("squared_error", "absolute_error", "huber", "epsilon_insensitive")

#: point loss code of the fused kernels -> the numpy backend's point function of the same formula
NUMPY_POINT_LOSSES = {REGRESSION_HUBER: _huber, REGRESSION_EPSILON_INSENSITIVE: _epsilon_insensitive}


class BaseRegressor(RegressorMixin, BaseLinearModel):
    """Regression on the mini-batch training loop: targets, fit, partial_fit, predict (not for direct use)."""

    #: R^2 of one sample is undefined (NaN): early stopping never saw an improvement and silently
    #: restored the untrained weights
    _min_validation_samples = 2

    # ------------------------------------------------------------ public API

    @_unchanged_on_failure
    def fit(self, X, y, sample_weight=None):
        """Train on ``(X, y)`` for up to ``max_epochs`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. float32 trains in float32, anything else in float64.
            scipy.sparse input (CSR; CSC / COO converted once) is trained on
            without densifying (see ``sparse_update``).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets (converted to the training dtype).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample's loss.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        X, targets, one_dimensional = self._check_data(X, y, reset=True, fitting=True)
        warm = self.warm_start and hasattr(self, "_params")
        if warm and targets.shape[1] != self._n_targets:
            raise ValueError(
                f"warm_start=True but y has {targets.shape[1]} targets while the fitted model has "
                f"{self._n_targets}; fit with warm_start=False to start over"
            )
        self._set_targets(targets.shape[1], one_dimensional, warm)
        weight = self._checked_weight(sample_weight, X)
        generator = self._start_fit(X.shape[1], X.dtype, warm)
        self._fit_epochs(X, targets, weight, generator, incremental=False)
        return self

    @_unchanged_on_failure
    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch over ``(X, y)``, continuing from the current model.

        Meant for data that arrives in chunks (streaming, ``dask_ml.wrappers.Incremental``).
        No convergence check or early stopping is done; each call counts as one
        epoch for ``lr_schedule`` and appends one value to ``loss_curve_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            The same number of targets in every call.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        first_call = not hasattr(self, "_params")
        self._validate_params()
        X, targets, one_dimensional = self._check_data(X, y, reset=first_call)
        if not first_call and targets.shape[1] != self._n_targets:
            raise ValueError(f"y has {targets.shape[1]} targets but the model was fitted with {self._n_targets}")
        self._set_targets(targets.shape[1], one_dimensional, not first_call)
        if first_call:
            self._start_stream(X.shape[1], X.dtype)
        weight = self._checked_weight(sample_weight, X)
        self._fit_epochs(X, targets, weight, self._stream_generator, incremental=True)
        return self

    def predict(self, X):
        """Predict ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            1-D when the model was fitted on 1-D ``y``; in the training dtype.
        """
        scores = self._scores(X)
        return scores[:, 0] if self._one_dimensional else scores

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    # --------------------------------------------------------------- hooks

    def _n_outputs(self):
        return self._n_targets

    def _public_coef(self, coef_matrix):
        return coef_matrix[0] if self._one_dimensional else coef_matrix

    def _point_loss(self, dtype):
        """(point loss code of the fused kernels, its parameter in ``dtype``) for ``self.loss``.

        Half the squared error is the Huber loss with an infinite threshold, and the
        absolute error the epsilon-insensitive loss with no dead zone: the same
        formulas (``_nn_points.h``, ``kernels/numba/_nn_losses.py``, and the numpy backend's
        of :data:`NUMPY_POINT_LOSSES`) serve all four.
        """
        if self.loss in ("squared_error", "huber"):
            point, name, param = REGRESSION_HUBER, "delta", np.inf if self.loss == "squared_error" else self.delta
        else:
            point, name = REGRESSION_EPSILON_INSENSITIVE, "margin"
            param = 0.0 if self.loss == "absolute_error" else self.margin
        return point, dtype.type(check_fits(float(param), name, dtype))

    def _numpy_point_loss(self, dtype):
        """(the numpy backend's point function ``f(scores, targets, None, param) -> (loss, slope)``, its
        parameter in ``dtype``) for ``self.loss``."""
        point, param = self._point_loss(dtype)
        return NUMPY_POINT_LOSSES[point], param

    def _row_loss(self, scores, y):
        """Each row's loss at predictions ``scores``, summed over its targets, float64."""
        point, param = self._numpy_point_loss(np.dtype(np.float64))
        loss, _ = point(np.asarray(scores, dtype=np.float64), np.asarray(y, dtype=np.float64), None, param)
        return loss.sum(axis=1)

    def _validation_score(self, X, y, weight):
        """Weighted R^2, averaged over the targets."""
        return float(r2_score(y, self._linear_scores(X), sample_weight=weight))

    # --------------------------------------------------------------- helpers

    def _set_targets(self, n_targets, one_dimensional, trained_on):
        """Shape the model after this call's y: ``coef_`` (n_features,) and 1-d predictions after a 1-d y,
        (n_targets, n_features) and 2-d ones after a 2-d y, as scikit-learn's linear models (a warm start or
        partial_fit on (n, 1) after 1-d y kept coef_ 1-d and predicted (n, 1), until a pickle round trip
        re-bound coef_ 2-d). ``trained_on``: the fitted model trains on (its views are re-shaped)."""
        if trained_on:
            self._sync_params()  # an assigned coef_ is read in the shape it was assigned for
        self._n_targets, self._one_dimensional = n_targets, one_dimensional
        if trained_on:
            self._bind_views()

    def _check_data(self, X, y, *, reset, fitting=False):
        """(X, targets (n_samples, n_targets) C-contiguous in X's dtype, whether y was 1-D); ``fitting``: see
        ``_validated_input``."""
        X, y = self._validated_input(X, y, multi_output=True, y_numeric=True, reset=reset, fitting=fitting)
        if np.asarray(y).dtype.kind not in "biuf":
            raise ValueError(f"y must hold numbers (regression targets); got dtype {np.asarray(y).dtype}")
        with np.errstate(over="ignore"):
            targets = np.ascontiguousarray(np.asarray(y, dtype=X.dtype).reshape(X.shape[0], -1))
        if targets.shape[1] == 0:
            raise ValueError(f"y has shape {np.shape(y)}: at least one target is needed")
        if not np.isfinite(targets).all():  # finite as given (validate_data), but not in X's dtype
            value = np.asarray(y).reshape(X.shape[0], -1)[~np.isfinite(targets)][0]
            raise ValueError(f"y holds values too large for {X.dtype}, the training dtype (X's): {value.item()!r}; "
                             f"scale y down, or pass X as float64")
        return X, targets, np.ndim(y) == 1

    def _objective(self, X, y, sample_weight=None):
        """Full regularised objective and its gradient at the current model, as training computes them.

        Runs training's own fused gradient kernel on every row. Used by the tests
        (finite differences against this gradient check the gradient that training
        follows).

        Returns
        -------
        loss : float
            ``sum_i w_i L_i / sum_i w_i + penalty(coef_)``.
        grad_coef : ndarray of shape (n_targets, n_features)
        grad_intercept : ndarray of shape (n_targets,)
        """
        check_is_fitted(self)
        X = np.ascontiguousarray(X, dtype=self._params.dtype)
        targets = np.ascontiguousarray(np.asarray(y, dtype=X.dtype).reshape(X.shape[0], -1))
        weight = self._checked_weight(sample_weight, X)
        with self._blas_threads():
            loss, grad = self._batch_runner(X, targets, weight, batch_size=X.shape[0]).objective(self)
        return (loss, *self._split_gradient(grad))



class LinearRegressor(BaseRegressor):
    __doc__ = f"""Linear regression (one or several targets) trained by mini-batch descent.

    Predictions are ``X @ coef_.T + intercept_``; training minimises the
    weighted mean per-sample loss plus a penalty with the linear classifiers'
    machinery: one fused loss+gradient kernel and one fused optimizer kernel
    per mini-batch, the same optimizers, schedules, early stopping, warm
    starts, ``partial_fit`` and determinism. With several targets the loss of
    a sample is the sum of its targets' losses, so each target is fitted as on
    its own (the optimizers are element-wise).

    Parameters
    ----------
{REGRESSOR_PARAMETERS}{SPARSE_UPDATE_DOC}    loss : {{"squared_error", "absolute_error", "huber", "epsilon_insensitive"}}, default="squared_error"
        Loss of a residual ``r = prediction - target``: ``r^2 / 2`` (as
        ``SGDRegressor`` and ``MLPRegressor``), ``|r|`` (subgradient 0 at 0),
        Huber ``r^2 / 2`` for ``|r| < delta`` else ``delta (|r| - delta / 2)``
        (PyTorch's ``huber_loss``), or ``max(|r| - margin, 0)``.
    delta : float > 0, default=1.0
        Threshold of the Huber loss, where it turns from quadratic to linear.
    margin : float >= 0, default=0.1
        Width of the epsilon-insensitive loss's dead zone (``SGDRegressor``'s
        ``epsilon``; here ``epsilon`` is the optimizers' parameter).

    Attributes
    ----------
{REGRESSOR_ATTRIBUTES}
    See Also
    --------
    sklearn.linear_model.SGDRegressor : the same model trained sample by sample.
    sklearn.linear_model.Ridge : exact solution of the squared error with an L2 penalty.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from fastlc import LinearRegressor
    >>> X, y = make_regression(1000, 5, noise=1.0, random_state=0)
    >>> model = LinearRegressor(optimizer="sgd", learning_rate=0.1, random_state=0).fit(X, y)
    >>> round(model.score(X, y), 3)
    1.0
    """

    _parameter_constraints = {
        **BaseLinearModel._parameter_constraints,
        "sparse_update": [StrOptions(set(SPARSE_UPDATES))],
        "loss": [StrOptions(set(LOSSES))],
        "delta": [Interval(numbers.Real, 0, None, closed="neither")],
        "margin": [Interval(numbers.Real, 0, None, closed="left")],
    }
    _gradient_kernel_name = "linear_regression_gradient"
    _accept_sparse = "csr"

    def __init__(self, *, optimizer="adam", learning_rate=1e-2, lr_schedule="constant", lr_decay=0.95,
                 lr_step_size=10, power_t=0.5, momentum=0.9, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 batch_size="auto", max_epochs=100, alpha=1e-4, penalty="l2", l1_ratio=0.15, fit_intercept=True,
                 tol=1e-4, n_iter_no_change=10, early_stopping=False, validation_fraction=0.1, shuffle=True,
                 random_state=None, warm_start=False, verbose=0, backend="auto", n_threads=None,
                 sparse_update="lazy", loss="squared_error", delta=1.0, margin=0.1):
        self._store_parameters(locals())

    def _gradient_kernel(self, dtype, backend, n_threads):
        kernel = get_kernel(self._gradient_kernel_name, backend)
        point, param = self._point_loss(dtype)

        def batch_gradient(X, rows, y, row_weight, coef, intercept, grad_scale, loss_out, grad_coef, grad_intercept):
            kernel(X, rows, y, row_weight, coef, intercept, grad_scale, point, param, loss_out, grad_coef,
                   grad_intercept, n_threads)

        return batch_gradient

    def _epoch_kernel(self, dtype, n_threads, after):
        kernel = self._cython_epoch("linear_regression_epoch")
        point, param = self._point_loss(dtype)

        def run_epoch(X, order, y, row_weight, coef, intercept, batch_size, mean_weight, row_loss, batch_losses,
                      grad_coef, grad_intercept):
            kernel(X, order, y, row_weight, coef, intercept, batch_size, mean_weight, point, param, row_loss,
                   batch_losses, grad_coef, grad_intercept, n_threads, after)

        return run_epoch

    def _sparse_gradient_kernel(self, dtype, n_threads):
        kernel = sparse_kernel("sparse_linear_regression_gradient", self.backend)
        point, param = self._point_loss(dtype)

        def batch_gradient(data, indices, indptr, rows, y, row_weight, coef_t, intercept, grad_scale, grad_scores,
                           touched, n_previous, seen, sgd, loss_out, grad_coef_t, grad_intercept):
            return kernel(data, indices, indptr, rows, y, row_weight, coef_t, intercept, grad_scale, point, param,
                          grad_scores, touched, n_previous, seen, sgd, loss_out, grad_coef_t, grad_intercept,
                          n_threads)

        return batch_gradient
