"""Multiclass linear SVM (Weston-Watkins hinge) trained by mini-batch gradient descent."""
import numbers

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from .._dispatch import get_kernel
from .._validation import check_fits
from ._base import BaseLinearClassifier
from ._sparse import SPARSE_UPDATE_DOC, SPARSE_UPDATES, sparse_kernel
from ._params_doc import SHARED_ATTRIBUTES, SHARED_PARAMETERS


class LinearSVMClassifier(BaseLinearClassifier):
    __doc__ = f"""Multiclass linear SVM (Weston-Watkins / CS231n hinge) trained by mini-batch descent.

    Scores are ``X @ coef_.T + intercept_`` with one weight row per class (a
    native multiclass model, not one-vs-rest); training minimises the mean of
    ``L_i = sum_{{j != y_i}} max(0, s_ij - s_iy_i + margin)`` (squared with
    ``squared_hinge=True``) plus a penalty, with a fused loss+gradient kernel
    and a fused optimizer kernel per mini-batch.

    Scores are not probabilities, so there is no ``predict_proba``; wrap the
    model in :class:`sklearn.calibration.CalibratedClassifierCV` to get them.

    Parameters
    ----------
{SHARED_PARAMETERS}{SPARSE_UPDATE_DOC}    margin : float, default=1.0
        The margin Delta (>= 0) the correct class's score must exceed the others by.
    squared_hinge : bool, default=False
        Use the squared hinge ``max(0, z) ** 2`` (L2-SVM).

    Attributes
    ----------
{SHARED_ATTRIBUTES}
    See Also
    --------
    SoftmaxClassifier : the same model trained with the softmax cross-entropy.
    sklearn.linear_model.SGDClassifier : one-vs-rest hinge loss, sample by sample.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from fastlc import LinearSVMClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = LinearSVMClassifier(random_state=0).fit(X / 16, y)
    >>> clf.decision_function(X[:2] / 16).shape
    (2, 10)
    """

    _parameter_constraints = {
        **BaseLinearClassifier._parameter_constraints,
        "sparse_update": [StrOptions(set(SPARSE_UPDATES))],
        "margin": [Interval(numbers.Real, 0, None, closed="left")],
        "squared_hinge": ["boolean"],
    }
    _accept_sparse = "csr"
    _gradient_kernel_name = "linear_hinge_gradient"

    def __init__(self, *, optimizer="adam", learning_rate=1e-2, lr_schedule="constant", lr_decay=0.95,
                 lr_step_size=10, power_t=0.5, momentum=0.9, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 batch_size="auto", max_epochs=100, alpha=1e-4, penalty="l2", l1_ratio=0.15, fit_intercept=True,
                 class_weight=None, tol=1e-4, n_iter_no_change=10, early_stopping=False, validation_fraction=0.1,
                 shuffle=True, random_state=None, warm_start=False, verbose=0, backend="auto", n_threads=None,
                 sparse_update="lazy", margin=1.0, squared_hinge=False):
        self._store_parameters(locals())

    def _row_loss(self, scores, y):
        """Each row's hinge loss ``sum_{j != y} max(0, s_j - s_y + margin)`` (squared), float64: the numpy
        backend's loss rows (its gradient goes unused)."""
        scores = np.asarray(scores, dtype=np.float64)
        loss, grad = np.empty(scores.shape[0]), np.empty_like(scores)
        get_kernel("multiclass_hinge", "numpy")(scores, y, np.ones(scores.shape[0]), 1.0, float(self.margin),
                                                bool(self.squared_hinge), loss, grad, 1)
        return loss

    def _loss_constants(self, dtype):
        """(margin, squared) as the fused kernels take them."""
        return dtype.type(check_fits(float(self.margin), "margin", dtype)), bool(self.squared_hinge)

    def _gradient_kernel(self, dtype, backend, n_threads):
        kernel = get_kernel(self._gradient_kernel_name, backend)
        margin, squared = self._loss_constants(dtype)

        def batch_gradient(X, rows, y, row_weight, coef, intercept, grad_scale, loss_out, grad_coef, grad_intercept):
            kernel(X, rows, y, row_weight, coef, intercept, grad_scale, margin, squared, loss_out, grad_coef,
                   grad_intercept, n_threads)

        return batch_gradient

    def _epoch_kernel(self, dtype, n_threads, after):
        kernel = self._cython_epoch("linear_hinge_epoch")
        margin, squared = self._loss_constants(dtype)

        def run_epoch(X, order, y, row_weight, coef, intercept, batch_size, mean_weight, row_loss, batch_losses,
                      grad_coef, grad_intercept):
            kernel(X, order, y, row_weight, coef, intercept, batch_size, mean_weight, margin, squared, row_loss,
                   batch_losses, grad_coef, grad_intercept, n_threads, after)

        return run_epoch

    def _sparse_gradient_kernel(self, dtype, n_threads):
        kernel = sparse_kernel("sparse_linear_hinge_gradient", self.backend)
        margin, squared = self._loss_constants(dtype)

        def batch_gradient(data, indices, indptr, rows, y, row_weight, coef_t, intercept, grad_scale, grad_scores,
                           touched, n_previous, seen, sgd, loss_out, grad_coef_t, grad_intercept):
            return kernel(data, indices, indptr, rows, y, row_weight, coef_t, intercept, grad_scale, margin, squared,
                          grad_scores, touched, n_previous, seen, sgd, loss_out, grad_coef_t, grad_intercept, n_threads)

        return batch_gradient
