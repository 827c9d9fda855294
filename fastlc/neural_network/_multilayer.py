"""Multilayer perceptrons on the linear models' training loop: MLPClassifier and MLPRegressor.

A network is ``hidden_layer_sizes`` dense layers, each ``Z = A W + b`` (BLAS),
optionally batch-normalised, then the activation and (in training) inverted
dropout, and a dense output layer: softmax cross-entropy for the classifier, a
regression loss for the regressor. Everything the optimizer updates lives in one
flat aligned vector ``_params`` -- the weight matrices first (the penalised
part), then the intercepts, then the batch-norm scales and shifts -- with
``coefs_``, ``intercepts_`` as views, so one fused optimizer kernel call steps
the whole network per mini-batch, exactly as for the linear models
(``fastlc.linear_model._training.BatchRunner`` runs the epochs of both).
"""
import math
import numbers
from functools import lru_cache

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from .. import kernels
from ..kernels._activations import _softplus_params
from ..kernels._dropout import _scale as dropout_scale, generator_arguments
from .._dispatch import get_kernel, resolve_backend
from .._memory import aligned_copy, aligned_zeros, is_aligned
from .._validation import check_n_threads
from ..linear_model._base import BaseLinearClassifier, _keep_assigned, blas_threads_at_most
from ..linear_model._params_doc import (
    MLP_CLASSIFIER_PARAMETERS, MLP_REGRESSOR_PARAMETERS, REGRESSOR_ATTRIBUTES, SHARED_ATTRIBUTES,
)
from ..linear_model._regressor import BaseRegressor
from ..linear_model._softmax import SoftmaxOutputMixin
from ..linear_model._training import BatchRunner

#: activation name -> (private kernel, a, b): the arguments ``fastlc.kernels``' public activation of that
#: name gives its private kernel at PyTorch's default options (tests/test_mlp.py checks it)
ACTIVATIONS = {
    "relu": ("relu", 0.0, 0.0),
    "leaky_relu": ("leaky_relu", 0.01, 0.0),
    "elu": ("elu", 1.0, 0.0),
    "gelu": ("gelu", 0.0, 0.0),
    "sigmoid": ("sigmoid", 0.0, 0.0),
    "tanh": ("tanh", 0.0, 0.0),
    "softplus": ("softplus", *_softplus_params(1.0, 20.0)),
    "silu": ("silu", 0.0, 0.0),
}

#: batch normalisation's running-statistics momentum and variance epsilon (PyTorch's defaults)
BN_MOMENTUM = 0.1
BN_EPS = 1e-5

MLP_PARAMETERS = """\
    hidden_layer_sizes : int or array-like of int, default=(100,)
        Units of each hidden layer (an int: one layer; an empty tuple is a linear model).
    activation : {"relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softplus", "silu"}, default="relu"
        Activation of the hidden layers (``fastlc.kernels``, PyTorch's defaults).
    dropout : float in [0, 1), default=0.0
        Inverted-dropout rate on each hidden layer's output in training (the
        masks come from the seeded counter-based generator of ``fastlc.kernels.dropout``).
    batch_norm : bool, default=False
        Batch-normalise every hidden layer before its activation (PyTorch's
        ``BatchNorm1d``: batch statistics in training, running statistics with
        momentum 0.1 in ``predict``). The hidden layers' intercepts are then 0
        and not trained (PyTorch's ``bias=False`` before a batch norm): batch
        norm removes them, so their gradient is 0 up to rounding, and Adam
        scaled that rounding into steps of the learning rate's size.
"""

MLP_ATTRIBUTES = """\
    coefs_ : list of ndarray
        ``coefs_[i]`` of shape (units of layer i, units of layer i + 1), views of the flat parameters.
    intercepts_ : list of ndarray
        ``intercepts_[i]`` of shape (units of layer i + 1,).
    n_layers_ : int
        Layers including input and output.
    best_loss_ : float or None
        Lowest training loss of the fit (None with ``early_stopping``).
"""

THREADS_NOTE = """
    Notes
    -----
    Thread pools of a fit: the matrix products run in NumPy's BLAS, capped with
    threadpoolctl to ``n_threads`` (resolved as for every fastlc estimator: CPU
    affinity, container quota, ``OMP_NUM_THREADS``, ``threadpool_limits``,
    ``fastlc.set_config``); the element-wise kernels (activations, dropout,
    batch norm, loss, optimizer step) run on fastlc's own pool with the same
    cap. The same ``random_state`` and ``n_threads`` give the same model bit for
    bit (BLAS sums in an order that may depend on its thread count).
"""


@lru_cache(maxsize=1)
def _layer_module():
    """``fastlc._cython._layer`` (the fused hidden layer), or None in a partial build (imported once, not
    on every batch)."""
    try:
        from .._cython import _layer
    except ImportError:  # a partial build: the separate kernels
        return None
    return _layer


class _MLPMixin:
    """The network: parameter layout, initialisation, forward and backward passes (mixed into a base)."""

    #: scipy.sparse X (CSR; CSC / COO converted once by validate_data) feeds the first layer's
    #: products, sparse times dense (scipy's CSR kernels): a batch is never densified.
    _accept_sparse = "csr"

    _mlp_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
    }

    # ----------------------------------------------------------- layout

    def _check_hidden_layer_sizes(self):
        """The hidden layers' sizes as a tuple of Python ints, from an int or an array-like of ints (as
        scikit-learn's MLP takes them; a tuple or list only were accepted)."""
        given = self.hidden_layer_sizes
        if isinstance(given, np.ndarray) and given.ndim == 0:
            given = given.item()
        sizes = (given,) if isinstance(given, numbers.Integral) else tuple(given)
        for size in sizes:
            if not isinstance(size, numbers.Integral) or isinstance(size, (bool, np.bool_)) or size < 1:
                raise ValueError(f"hidden_layer_sizes={self.hidden_layer_sizes!r} must hold positive integers; "
                                 f"got {size!r}")
        # Python ints: the products of NumPy's small integers overflow (np.int8(100) * np.int8(100))
        return tuple(int(size) for size in sizes)

    def _initialize(self, n_features, dtype):
        """Glorot-uniform weights and intercepts (as scikit-learn's MLP), batch norm at identity."""
        sizes = [n_features, *self._check_hidden_layer_sizes(), self._n_outputs()]
        self._sizes = sizes
        n_weights = sum(a * b for a, b in zip(sizes, sizes[1:]))
        n_units = sum(sizes[1:])
        n_norm = 2 * sum(sizes[1:-1]) if self.batch_norm else 0
        try:
            self._params = aligned_zeros(n_weights + n_units + n_norm, dtype)
        except MemoryError:
            raise MemoryError(f"hidden_layer_sizes={self.hidden_layer_sizes!r}: the network's "
                              f"{n_weights + n_units + n_norm:,} parameters do not fit in memory") from None
        self._bind_views()
        rng = check_random_state(self.random_state)
        # scikit-learn's factor: 6, or 2 for a logistic activation
        factor = 2.0 if self.activation == "sigmoid" else 6.0
        for coef, intercept in zip(self.coefs_, self.intercepts_):
            bound = math.sqrt(factor / sum(coef.shape))
            coef[...] = rng.uniform(-bound, bound, coef.shape)
            if self.fit_intercept:
                intercept[...] = rng.uniform(-bound, bound, intercept.shape)
        for gamma in self._bn_gamma:
            gamma[...] = 1
        for intercept in self._normalized_intercepts(self.intercepts_):
            intercept[...] = 0
        self._running_mean = [np.zeros(units, dtype) for units in sizes[1:-1]] if self.batch_norm else []
        self._running_var = [np.ones(units, dtype) for units in sizes[1:-1]] if self.batch_norm else []
        self._dropout_key = int(rng.randint(np.iinfo(np.int32).max))
        self._optimizer_state = self._new_optimizer_state(dtype)
        self._epochs_seen = 0
        self.n_layers_ = len(sizes)

    def _views(self, flat):
        """(coefs, intercepts, gammas, betas): views of a flat vector laid out as ``_params``."""
        sizes, offset = self._sizes, 0
        coefs, intercepts, gammas, betas = [], [], [], []
        for fan_in, fan_out in zip(sizes, sizes[1:]):
            coefs.append(flat[offset: offset + fan_in * fan_out].reshape(fan_in, fan_out))
            offset += fan_in * fan_out
        for units in sizes[1:]:
            intercepts.append(flat[offset: offset + units])
            offset += units
        if self.batch_norm:
            for units in sizes[1:-1]:
                gammas.append(flat[offset: offset + units])
                betas.append(flat[offset + units: offset + 2 * units])
                offset += 2 * units
        return coefs, intercepts, gammas, betas

    def _normalized_intercepts(self, intercepts):
        """The intercepts of the layers that batch norm follows: 0, never trained (see ``batch_norm``)."""
        return intercepts[:-1] if self.batch_norm else []

    def _bind_views(self, *_):
        self.coefs_, self.intercepts_, self._bn_gamma, self._bn_beta = self._views(self._params)

    def _n_penalized(self):
        return sum(a * b for a, b in zip(self._sizes, self._sizes[1:]))

    def _intercept_views(self, flat):
        return self._views(flat)[1]

    def _kernel_views(self, grad):
        # the network's batch_gradient reads the parameters itself; it takes the flat gradient
        return self._params, None, grad, None

    def _split_gradient(self, grad):
        return (grad,)

    def _bound_views(self):
        coefs, intercepts, _, _ = self._views(self._params)
        return {"coefs_": coefs, "intercepts_": intercepts}

    def _take_assigned(self, bound):
        """New ``_params`` from assigned ``coefs_`` / ``intercepts_`` (lists, or arrays put in the lists), each
        array of its layer's shape (see the linear models' ``_sync_params``)."""
        params = aligned_copy(self._params)  # a new array: the old views stay as they were
        for name, views in zip(bound, self._views(params)):
            values = list(getattr(self, name))
            if len(values) != len(views):
                raise ValueError(f"{name} has {len(values)} array{'s' if len(values) != 1 else ''}, but the "
                                 f"network has {len(views)} layers of weights")
            for layer, (value, view) in enumerate(zip(values, views)):
                value = np.asarray(value)
                if value.shape != view.shape:
                    raise ValueError(f"{name}[{layer}] has shape {value.shape}, but that layer's is {view.shape}")
                view[...] = value
        self._params = params
        self._bind_views()

    def __setstate__(self, state):
        # scikit-learn's (version check), not the linear models' (which re-links coef_)
        BaseEstimator.__setstate__(self, state)
        if "_params" in state:
            self._bind_views()
            _keep_assigned(self, state, self._bound_views())

    def _prepare_params(self, X):
        self._sync_params()
        if self._params.dtype != X.dtype:
            # warm start / partial_fit with data of another dtype: train in the data's dtype
            self._params = self._params.astype(X.dtype)
            self._running_mean = [m.astype(X.dtype) for m in self._running_mean]
            self._running_var = [v.astype(X.dtype) for v in self._running_var]
            self._optimizer_state.astype(X.dtype)
        if not (is_aligned(self._params) and self._params.flags.writeable):  # writeable: see the linear models'
            self._params = aligned_copy(self._params)
        self._running_mean = [m if m.flags.writeable else m.copy() for m in self._running_mean]
        self._running_var = [v if v.flags.writeable else v.copy() for v in self._running_var]
        self._bind_views()
        if self._sizes[0] != X.shape[1]:
            raise ValueError(f"X has {X.shape[1]} features but the model was fitted with {self._sizes[0]}")
        self._check_same_architecture()
        if not self.fit_intercept:
            self._forget_intercepts()

    def _check_same_architecture(self):
        """Training on (warm_start, partial_fit) needs the fitted layers: a changed hidden_layer_sizes was
        ignored, and batch_norm switched on failed with an IndexError."""
        hidden = self._check_hidden_layer_sizes()
        fitted = tuple(self._sizes[1:-1])
        normalized = bool(fitted) and bool(self._running_mean)
        if hidden != fitted or (self.batch_norm and bool(hidden)) != normalized:
            raise ValueError(
                f"hidden_layer_sizes={self.hidden_layer_sizes!r} and batch_norm={self.batch_norm!r}, but the model "
                f"was fitted with hidden layers {fitted} and batch_norm={normalized}; fit with warm_start=False "
                f"(or a new estimator for partial_fit) to start over")

    def _running_statistics(self):
        """Batch norm's running means and variances (changed in place by training), none before a fit."""
        return getattr(self, "_running_mean", []) + getattr(self, "_running_var", [])

    def _snapshot(self):
        return super()._snapshot(), [statistic.copy() for statistic in self._running_statistics()]

    @staticmethod
    def _split_snapshot(snapshot):
        return snapshot

    def _restore(self, snapshot):
        base, statistics = snapshot
        super()._restore(base)
        for target, value in zip(self._running_statistics(), statistics):
            if target.flags.writeable:  # (a read-only one, memory-mapped, was never trained in place)
                target[...] = value

    def _blas_threads(self):
        """BLAS on at most the threads this fit may use (its products are most of the work)."""
        return blas_threads_at_most(check_n_threads(self.n_threads))

    # ----------------------------------------------------------- passes

    def _activation(self):
        """(private forward kernel, private backward kernel, a, b) of ``activation`` on this fit's backend."""
        name, a, b = ACTIVATIONS[self.activation]
        forward = get_kernel(name, resolve_backend(self.backend, name))
        backward = get_kernel(f"{name}_backward", resolve_backend(self.backend, f"{name}_backward"))
        return forward, backward, a, b

    def _fused_layer(self):
        """``fastlc._cython._layer`` when the activations run on the Cython backend and there is no batch
        norm (the layer's bias, activation and dropout then take one pass forward and one backward),
        else None."""
        name = ACTIVATIONS[self.activation][0]
        if self.batch_norm or resolve_backend(self.backend, name) != "cython":
            return None
        return _layer_module()

    def _hidden_forward(self, A, layer, training, cache, n_threads, seed):
        """One hidden layer: dense, batch norm, activation, dropout; returns its output."""
        forward, _, a, b = self._activation()
        Z = A @ self.coefs_[layer]
        cast = Z.dtype.type
        dropping = training and self.dropout > 0
        fused = self._fused_layer()
        if fused is not None:
            H = np.empty_like(Z)
            mask = np.empty(Z.shape if dropping else 0, dtype=bool)
            threshold, scale, key0, key1 = generator_arguments(self.dropout, seed, Z.dtype) if dropping else (
                0, cast(1), 0, 0)
            op = fused.OPS[ACTIVATIONS[self.activation][0]]
            fused.hidden_forward(op, Z, self.intercepts_[layer], cast(a), cast(b), threshold, scale, key0, key1, H,
                                 mask.reshape(-1).view(np.uint8), n_threads)
            if training:
                cache["pre"].append(Z)
                if dropping:
                    cache["mask"].append(mask)
            return H
        Z += self.intercepts_[layer]
        normalized = Z
        if self.batch_norm:
            normalized, mean, invstd = kernels.batch_norm(
                Z, self._bn_gamma[layer], self._bn_beta[layer],
                running_mean=self._running_mean[layer], running_var=self._running_var[layer], training=training, momentum=BN_MOMENTUM, eps=BN_EPS,
                backend=self.backend, n_threads=n_threads)
            if training:
                cache["norm"].append((Z, mean, invstd))
        H = np.empty_like(normalized)
        forward(normalized.reshape(-1), cast(a), cast(b), H.reshape(-1), n_threads)
        if training:
            cache["pre"].append(normalized)
            if dropping:
                H, mask = kernels.dropout(H, self.dropout, seed=seed, backend=self.backend, n_threads=n_threads,
                                          out=np.empty_like(H))
                cache["mask"].append(mask)
        return H

    def _forward(self, X, *, training, cache=None, n_threads=None, step=0):
        """Output-layer scores (n_samples, n_outputs); with ``training``, fills ``cache`` for the backward pass."""
        A = X
        for layer in range(len(self._sizes) - 2):
            if cache is not None:
                cache["inputs"].append(A)
            seed = (self._dropout_key * 1000003 + step * 131 + layer) % (1 << 63)
            A = self._hidden_forward(A, layer, training, cache, n_threads, seed)
        if cache is not None:
            cache["inputs"].append(A)
        scores = A @ self.coefs_[-1]
        if self.fit_intercept:
            scores += self.intercepts_[-1]
        return scores

    def _backward(self, grad_scores, cache, grad, n_threads):
        """Gradient of the batch loss into the flat ``grad`` from d loss / d scores."""
        _, backward, a, b = self._activation()
        fused = self._fused_layer()
        cast = grad.dtype.type
        op = fused.OPS[ACTIVATIONS[self.activation][0]] if fused is not None else None
        scale = dropout_scale(self.dropout, grad.dtype)
        grad_coefs, grad_intercepts, grad_gammas, grad_betas = self._views(grad)
        delta = grad_scores
        n_hidden = len(self._sizes) - 2
        for layer in range(n_hidden, -1, -1):
            A = cache["inputs"][layer]
            # The intercept gradient first, while delta is still in cache: the weight product below
            # streams the layer's input and weights through it (3 MB for 200 x 784 x 256 in float64,
            # more than a core's L2); after it, the sum read delta back from L3 (200 x 256 float64:
            # about 55 us a batch against 12 us before the product, on this machine).
            if self.fit_intercept and not (self.batch_norm and layer < n_hidden):
                np.sum(delta, axis=0, out=grad_intercepts[layer])
            else:  # no intercept, or one that batch norm removes (see _normalized_intercepts)
                grad_intercepts[layer][...] = 0
            if sparse.issparse(A):  # the first layer on sparse input: (features, batch) CSC times dense
                grad_coefs[layer][...] = A.T @ delta
            else:
                np.matmul(A.T, delta, out=grad_coefs[layer])
            if layer == 0:
                break
            delta = delta @ self.coefs_[layer].T  # d loss / d (output of hidden layer - 1): a new array
            below = layer - 1
            # in place on that new array: no fresh (batch, units) buffer per call
            pre = cache["pre"][below]
            if fused is not None:
                mask = cache["mask"][below] if self.dropout > 0 else np.empty(0, dtype=bool)
                fused.hidden_backward(op, delta, pre, mask.reshape(-1).view(np.uint8), scale, cast(a), cast(b),
                                      n_threads)
            else:
                if self.dropout > 0:
                    delta = kernels.dropout_backward(delta, cache["mask"][below], self.dropout,
                                                     backend=self.backend, n_threads=n_threads, out=delta)
                backward(delta.reshape(-1), pre.reshape(-1), cast(a), cast(b), delta.reshape(-1), n_threads)
            if self.batch_norm:
                Z, mean, invstd = cache["norm"][below]
                delta, grad_gamma, grad_beta = kernels.batch_norm_backward(
                    delta, Z, self._bn_gamma[below], mean, invstd, backend=self.backend, n_threads=n_threads)
                grad_gammas[below][...] = grad_gamma
                grad_betas[below][...] = grad_beta

    def _gradient_kernel(self, dtype, backend, n_threads):
        raise NotImplementedError("a network computes its batch gradient in _batch_runner, not by a linear kernel")

    def _aligns_rows(self, incremental):
        return False  # each batch is gathered with X[rows] into a fresh array, wherever X starts

    def _batch_runner(self, X, y, weight, batch_size=None, align_rows=False):
        n_threads = check_n_threads(self.n_threads)
        batch_size = self._batch_size(X.shape[0]) if batch_size is None else batch_size
        output_loss = self._output_loss(X.dtype, n_threads)
        state = self._optimizer_state

        def batch_gradient(X, rows, y, row_weight, params, _intercept, grad_scale, loss_out, grad, _grad_intercept):
            cache = {"inputs": [], "pre": [], "mask": [], "norm": []}
            scores = self._forward(X[rows], training=True, cache=cache, n_threads=n_threads, step=state.t)
            grad_scores = output_loss(scores, y[rows], row_weight[rows], grad_scale, loss_out)
            self._backward(grad_scores, cache, grad, n_threads)

        # batch norm's statistics need 2 rows in every batch (a last row alone joins the batch before it)
        return BatchRunner(self, X, y, weight, batch_gradient, self._stepper(n_threads), batch_size,
                           min_rows=self._min_batch_rows())

    def _min_batch_rows(self):
        return 2 if self._running_mean else 1

    def _check_trainable(self, n_rows):
        if self._min_batch_rows() < 2:
            return
        if n_rows < 2:
            raise ValueError(f"batch_norm=True needs at least 2 samples to train on (batch statistics); got "
                             f"{n_rows} sample")
        if self._batch_size(n_rows) < 2:
            raise ValueError(f"batch_norm=True needs batches of at least 2 samples (batch statistics); got "
                             f"batch_size={self.batch_size!r}")

    def _linear_scores(self, X):
        """Output scores of the trained network (no dropout; batch norm on its running statistics)."""
        return self._forward(X.astype(self._params.dtype, copy=False), training=False,
                             n_threads=check_n_threads(self.n_threads))

    def _after_fit(self):
        self.best_loss_ = None if self.early_stopping else (min(self.loss_curve_) if self.loss_curve_ else None)

    def _fit_epochs(self, *args, **kwargs):
        try:
            super()._fit_epochs(*args, **kwargs)
        finally:  # also under a ConvergenceWarning raised as an error, which leaves the model fitted
            self._after_fit()


class MLPClassifier(_MLPMixin, SoftmaxOutputMixin, BaseLinearClassifier):
    __doc__ = f"""Multilayer perceptron classifier (softmax output) trained by mini-batch descent.

    Parameters
    ----------
{MLP_PARAMETERS}{MLP_CLASSIFIER_PARAMETERS}
    Attributes
    ----------
{MLP_ATTRIBUTES}{SHARED_ATTRIBUTES.split("    coef_ :")[0]}{SHARED_ATTRIBUTES.split("The class labels, sorted.")[1]}
{THREADS_NOTE}
    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from fastlc import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(64,), max_epochs=20, random_state=0).fit(X / 16, y)
    >>> clf.predict_proba(X[:2] / 16).shape
    (2, 10)
    """

    _parameter_constraints = {**BaseLinearClassifier._parameter_constraints, **_MLPMixin._mlp_constraints}

    def __init__(self, hidden_layer_sizes=(100,), *, activation="relu", dropout=0.0, batch_norm=False,
                 optimizer="adam", learning_rate=1e-3, lr_schedule="constant", lr_decay=0.95, lr_step_size=10,
                 power_t=0.5, momentum=0.9, beta_1=0.9, beta_2=0.999, epsilon=1e-8, batch_size="auto",
                 max_epochs=100, alpha=1e-4, penalty="l2", l1_ratio=0.15, fit_intercept=True, class_weight=None,
                 tol=1e-4, n_iter_no_change=10, early_stopping=False, validation_fraction=0.1, shuffle=True,
                 random_state=None, warm_start=False, verbose=0, backend="auto", n_threads=None):
        self._store_parameters(locals())


    def _output_loss(self, dtype, n_threads):
        """Softmax cross-entropy rows of the output scores (fastlc's loss kernel)."""
        kernel = get_kernel("cross_entropy_hard", resolve_backend(self.backend, "cross_entropy_hard"))
        class_weight = np.ones(self.classes_.shape[0], dtype=dtype)
        zero = dtype.type(0)

        def output_loss(scores, labels, row_weight, grad_scale, loss_out):
            grad_scores = np.empty_like(scores)
            kernel(scores, labels, class_weight, row_weight, grad_scale, zero, loss_out, grad_scores, n_threads)
            return grad_scores

        return output_loss


class MLPRegressor(_MLPMixin, BaseRegressor):
    __doc__ = f"""Multilayer perceptron regressor (identity output) trained by mini-batch descent.

    Parameters
    ----------
{MLP_PARAMETERS}{MLP_REGRESSOR_PARAMETERS}    loss : {{"squared_error", "absolute_error", "huber"}}, default="squared_error"
        Loss of a residual ``r``: ``r^2 / 2``, ``|r|`` or Huber with threshold ``delta``
        (see :class:`fastlc.LinearRegressor`); with several targets a sample's loss is their sum.
    delta : float > 0, default=1.0
        Threshold of the Huber loss.

    Attributes
    ----------
{MLP_ATTRIBUTES}{REGRESSOR_ATTRIBUTES.split("    n_features_in_")[0].split("intercept_ :")[0].rsplit("    coef_", 1)[0]}    n_features_in_{REGRESSOR_ATTRIBUTES.split("    n_features_in_")[1]}
{THREADS_NOTE}
    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from fastlc import MLPRegressor
    >>> X, y = make_regression(500, 5, random_state=0)
    >>> MLPRegressor(hidden_layer_sizes=(32,), max_epochs=5, random_state=0).fit(X, y).predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        **BaseRegressor._parameter_constraints,
        **_MLPMixin._mlp_constraints,
        "loss": [StrOptions({"squared_error", "absolute_error", "huber"})],
        "delta": [Interval(numbers.Real, 0, None, closed="neither")],
    }
    def __init__(self, hidden_layer_sizes=(100,), *, activation="relu", dropout=0.0, batch_norm=False,
                 optimizer="adam", learning_rate=1e-3, lr_schedule="constant", lr_decay=0.95, lr_step_size=10,
                 power_t=0.5, momentum=0.9, beta_1=0.9, beta_2=0.999, epsilon=1e-8, batch_size="auto",
                 max_epochs=100, alpha=1e-4, penalty="l2", l1_ratio=0.15, fit_intercept=True, tol=1e-4,
                 n_iter_no_change=10, early_stopping=False, validation_fraction=0.1, shuffle=True,
                 random_state=None, warm_start=False, verbose=0, backend="auto", n_threads=None,
                 loss="squared_error", delta=1.0):
        self._store_parameters(locals())

    def _output_loss(self, dtype, n_threads):
        """The regression loss of the output scores, by the numpy backend's point functions (one formula)."""
        point, param = self._numpy_point_loss(dtype)

        def output_loss(scores, targets, row_weight, grad_scale, loss_out):
            with np.errstate(invalid="ignore", over="ignore"):
                loss, slope = point(scores, targets, None, param)
                loss_out[...] = row_weight * loss.sum(axis=1, dtype=scores.dtype)
                return ((grad_scale * row_weight)[:, None] * slope).astype(scores.dtype, copy=False)

        return output_loss
