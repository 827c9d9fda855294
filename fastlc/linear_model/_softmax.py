"""Multinomial logistic regression (softmax) trained by mini-batch gradient descent."""
import numbers

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from .. import kernels
from .._dispatch import get_kernel
from ._base import BaseLinearClassifier
from ._sparse import SPARSE_UPDATE_DOC, SPARSE_UPDATES, sparse_kernel
from ._params_doc import SHARED_ATTRIBUTES, SHARED_PARAMETERS


class SoftmaxOutputMixin:
    """``predict_proba`` / ``predict_log_proba`` of a classifier whose scores are softmax logits, trained with
    the softmax cross-entropy (SoftmaxClassifier, MLPClassifier)."""

    def _row_loss(self, scores, y):
        """Each row's cross-entropy (with ``label_smoothing``, where the model has it), float64: the numpy
        backend's loss rows (its gradient goes unused)."""
        scores = np.asarray(scores, dtype=np.float64)
        n_rows, n_classes = scores.shape
        loss, grad = np.empty(n_rows), np.empty_like(scores)
        get_kernel("cross_entropy_hard", "numpy")(scores, y, np.ones(n_classes), np.ones(n_rows), 1.0,
                                                  float(getattr(self, "label_smoothing", 0.0)), loss, grad, 1)
        return loss

    def predict_proba(self, X):
        """Class probabilities, the softmax of the scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``; rows sum to 1.
        """
        return kernels.softmax(self._scores(X), backend=self.backend, n_threads=self.n_threads)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably (log-softmax).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        return kernels.log_softmax(self._scores(X), backend=self.backend, n_threads=self.n_threads)


class SoftmaxClassifier(SoftmaxOutputMixin, BaseLinearClassifier):
    __doc__ = f"""Softmax (multinomial logistic regression) classifier trained by mini-batch descent.

    Scores are ``X @ coef_.T + intercept_`` with one weight row per class (a
    native multiclass model, not one-vs-rest); training minimises the mean
    softmax cross-entropy plus a penalty with a fused loss+gradient kernel and
    a fused optimizer kernel per mini-batch.

    Parameters
    ----------
{SHARED_PARAMETERS}{SPARSE_UPDATE_DOC}    label_smoothing : float in [0, 1], default=0.0
        Mix each one-hot target with the uniform distribution, as PyTorch's
        ``F.cross_entropy(label_smoothing=...)``.

    Attributes
    ----------
{SHARED_ATTRIBUTES}
    See Also
    --------
    LinearSVMClassifier : the same model trained with the multiclass hinge loss.
    sklearn.linear_model.LogisticRegression : full-batch solvers for the same objective.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from fastlc import SoftmaxClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = SoftmaxClassifier(random_state=0).fit(X / 16, y)
    >>> clf.predict_proba(X[:2] / 16).shape
    (2, 10)
    """

    _parameter_constraints = {
        **BaseLinearClassifier._parameter_constraints,
        "sparse_update": [StrOptions(set(SPARSE_UPDATES))],
        "label_smoothing": [Interval(numbers.Real, 0, 1, closed="both")],
    }
    _accept_sparse = "csr"
    _gradient_kernel_name = "linear_cross_entropy_gradient"

    def __init__(self, *, optimizer="adam", learning_rate=1e-2, lr_schedule="constant", lr_decay=0.95,
                 lr_step_size=10, power_t=0.5, momentum=0.9, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 batch_size="auto", max_epochs=100, alpha=1e-4, penalty="l2", l1_ratio=0.15, fit_intercept=True,
                 class_weight=None, tol=1e-4, n_iter_no_change=10, early_stopping=False, validation_fraction=0.1,
                 shuffle=True, random_state=None, warm_start=False, verbose=0, backend="auto", n_threads=None,
                 sparse_update="lazy", label_smoothing=0.0):
        self._store_parameters(locals())

    def _loss_constants(self, dtype):
        """(class weights, label smoothing) as the fused kernels take them (class weights ride in row_weight)."""
        return np.ones(self.classes_.shape[0], dtype=dtype), dtype.type(self.label_smoothing)

    def _gradient_kernel(self, dtype, backend, n_threads):
        kernel = get_kernel(self._gradient_kernel_name, backend)
        class_weight, label_smoothing = self._loss_constants(dtype)

        def batch_gradient(X, rows, y, row_weight, coef, intercept, grad_scale, loss_out, grad_coef, grad_intercept):
            kernel(X, rows, y, class_weight, row_weight, coef, intercept, grad_scale, label_smoothing, loss_out,
                   grad_coef, grad_intercept, n_threads)

        return batch_gradient

    def _epoch_kernel(self, dtype, n_threads, after):
        kernel = self._cython_epoch("linear_cross_entropy_epoch")
        class_weight, label_smoothing = self._loss_constants(dtype)

        def run_epoch(X, order, y, row_weight, coef, intercept, batch_size, mean_weight, row_loss, batch_losses,
                      grad_coef, grad_intercept):
            kernel(X, order, y, class_weight, row_weight, coef, intercept, batch_size, mean_weight, label_smoothing,
                   row_loss, batch_losses, grad_coef, grad_intercept, n_threads, after)

        return run_epoch

    def _sparse_gradient_kernel(self, dtype, n_threads):
        kernel = sparse_kernel("sparse_linear_cross_entropy_gradient", self.backend)
        class_weight = np.ones(self.classes_.shape[0], dtype=dtype)
        label_smoothing = dtype.type(self.label_smoothing)

        def batch_gradient(data, indices, indptr, rows, y, row_weight, coef_t, intercept, grad_scale, grad_scores,
                           touched, n_previous, seen, sgd, loss_out, grad_coef_t, grad_intercept):
            return kernel(data, indices, indptr, rows, y, class_weight, row_weight, coef_t, intercept, grad_scale,
                          label_smoothing, grad_scores, touched, n_previous, seen, sgd, loss_out, grad_coef_t,
                          grad_intercept, n_threads)

        return batch_gradient
