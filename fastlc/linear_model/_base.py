"""Shared base classes and training loop of the mini-batch estimators.

One loop (``BaseLinearModel``) serves the linear classifiers, the linear
regressor and, with their own batch gradient, the multilayer perceptrons
(``fastlc.neural_network``). A linear subclass only says which fused gradient
kernel (softmax cross-entropy, multiclass hinge, regression loss) it trains
with. Per mini-batch the loop does:

1. ``loss_i, dW, db = batch_gradient(X, rows, ...)``: one fused kernel
   (``fastlc._<backend>._linear``) that reads each batch row once, straight
   from ``X`` by index (no gathered copy), computes its scores ``W x_i + b``,
   its loss row and ``g_i = dL_i/dscores``, and accumulates ``g_i x_i^T``;
   parallel over fixed 64-row chunks summed in a fixed order, so the result
   does not depend on the thread count;
2. ``dW += alpha_l1 * sign(W)`` (the L1 part of the penalty, if any);
3. one fused optimizer kernel call on the flat ``[W, b]`` array, with the L2
   part of the penalty as the kernel's weight decay on ``W`` only,

with the learning rate set per epoch by the schedule. What is cheap once per
epoch is checked once per epoch: loss and weights must be finite
(divergence), then convergence or early stopping.
"""
import copy
import functools
import math
import numbers
import time
import warnings
import weakref
from abc import ABCMeta, abstractmethod

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state, compute_class_weight
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from scipy import sparse
from sklearn.utils.validation import _assert_all_finite, _check_sample_weight, check_is_fitted, validate_data
from threadpoolctl import ThreadpoolController

# CHUNK_ROWS: rows per chunk of the fused gradient kernels (the unit of their parallel work), for
# the thread heuristic below
from .._constants import CHUNK_ROWS
from .._dispatch import BACKENDS, resolve_backend
from .._memory import aligned_copy, aligned_finite_copy, aligned_for_training, aligned_zeros, copy_pays, is_aligned
from .._shuffle import permutation
from .._validation import _as_array, check_fits, check_n_threads
from ._sparse import SparseBatchRunner
from ._optimizers import LR_SCHEDULES, OPTIMIZERS, OptimizerState, epoch_schedule
from ._training import BatchRunner, DivergenceGuard, Diverged, StoppingRule, starting_level

#: Batch size used by ``batch_size="auto"`` (capped at the number of samples).
AUTO_BATCH_SIZE = 256


#: Epochs from which a fit trains on an aligned copy of X (fastlc._memory.aligned_for_training): the copy
#: (3000 x 784 float64, 18.8 MB, with its page faults) took 0.9-1.2 ms, and each epoch on it saved 0.21 ms
#: of the kernel's row copies (2-core Zen 4, softmax, batch 200, interleaved: 1 epoch 4.6 -> 5.8 ms,
#: 20 epochs 39.0 -> 36.2 ms), so it pays from about 5 epochs on.
ALIGN_MIN_EPOCHS = 5


@functools.lru_cache(maxsize=1)
def _blas_controller():
    """The process's BLAS thread pools, found once (see ``_blas_threads``)."""
    return ThreadpoolController().select(user_api="blas")


def blas_threads_at_most(n_threads):
    """A context in which BLAS runs on at most ``n_threads`` threads, and never on more than it runs on now:
    a limit the user set (``threadpool_limits(user_api="blas")``, ``OPENBLAS_NUM_THREADS``) stays in force
    (a plain ``limit(n_threads)`` raised a limit of 1 to ``n_threads``)."""
    blas = _blas_controller()
    return blas.limit(limits=min([n_threads] + [lib.num_threads for lib in blas.lib_controllers]))


#: Multiply-adds of one chunk (rows x features x classes, twice) below which the
#: kernel runs on one thread: waking a second thread costs a few microseconds,
#: more than a small chunk's work (digits: 64 x 64 x 10).
PARALLEL_CHUNK_WORK = 1 << 17

#: Bytes of X one chunk reads (rows x features x item size) from which the kernel runs on n_threads even
#: when its arithmetic is below PARALLEL_CHUNK_WORK: rows that stream from beyond the caches keep one
#: thread waiting on memory, and a second one doubles the reads in flight. Measured with the pool's
#: straggler back-off (2-core Xeon, quiet): LinearRegressor's kernel on 16000 x 100 float64 (51 KB a
#: chunk) 26.1 -> 18.7 ms for 20 epochs of 256-row batches on 2 threads; float32 (26 KB) 18.3 -> 18.9 ms
#: and the digits' 64-feature rows (32 KB in float64, 10 classes) 4.4 -> 4.6 ms, no gain.
PARALLEL_CHUNK_BYTES = 48 * 1024

#: Non-zeros x outputs of a sparse batch from which its gradient kernel runs on n_threads (see _batch_runner):
#: on 2 threads 8192-row text batches (~800k non-zeros, 20 classes) took 0.22 s an epoch (0.43 s on one), and a
#: 10-epoch fit with 1024-row batches 2.6 s (3.6 s); 256-row batches were slower on 2 (see _batch_runner).
SPARSE_PARALLEL_BATCH_WORK = 1 << 20


#: class -> (weak reference to the ``__init__`` read, its parameter names); weak keys: a class (a user's
#: subclass, one made in a test) is not kept alive by having been asked
_PARAMETER_NAMES = weakref.WeakKeyDictionary()


def _constructor_parameters(cls):
    """scikit-learn's parameter names of ``cls`` (the signature of its ``__init__``), read once per ``__init__``."""
    cached = _PARAMETER_NAMES.get(cls)
    if cached is None or cached[0]() is not cls.__init__:
        cached = (weakref.ref(cls.__init__), tuple(BaseEstimator._get_param_names.__func__(cls)))
        _PARAMETER_NAMES[cls] = cached
    return cached[1]


def _check_csr_structure(X):
    """ValueError unless the CSR matrix ``X``'s ``indptr`` and ``indices`` describe its shape: the kernels
    index with them unchecked. (scipy's ``check_format(full_check=True)`` checks this too, but it also
    casts the user's ``indices`` and ``indptr`` to one dtype in place.)"""
    indptr, indices = X.indptr, X.indices
    n_rows, n_features = X.shape
    problem = None
    if indptr.shape != (n_rows + 1,):
        problem = f"indptr has {indptr.shape[0]} entries for {n_rows} rows"
    elif indptr[0] != 0 or np.any(indptr[1:] < indptr[:-1]):
        problem = "indptr must start at 0 and never decrease"
    elif indptr[-1] > min(indices.shape[0], X.data.shape[0]):
        problem = f"indptr ends at {indptr[-1]}, past the {min(indices.shape[0], X.data.shape[0])} stored values"
    elif indptr[-1] > 0:
        used = indices[: indptr[-1]]
        low, high = used.min(), used.max()
        if low < 0 or high >= n_features:
            problem = f"a column index ({low if low < 0 else high}) is outside [0, {n_features})"
    if problem is not None:
        raise ValueError(f"X is a malformed sparse matrix: {problem}")


def _check_class_labels(y):
    """scikit-learn's ``check_classification_targets(y)`` for a validated 1-d ``y``.

    A 1-d integer array is always a vector of class labels ('binary' or 'multiclass'), which
    ``type_of_target`` finds out only after inspecting the values (0.9 ms of a 37 ms fit of
    3000 labels); every other ``y`` gets scikit-learn's full check.
    """
    if not (isinstance(y, np.ndarray) and y.ndim == 1 and y.dtype.kind in "iu"):
        check_classification_targets(y)


def _is_same_view(value, view):
    """Whether ``value`` reads the same memory as the array ``view`` in the same layout (``view`` itself, or an
    equal view of its memory), not an array the user assigned in its place; ``view`` may be a list of views
    (the networks' ``coefs_``), then ``value`` must be a list of such views."""
    if isinstance(view, list):
        return (isinstance(value, list) and len(value) == len(view)
                and all(_is_same_view(a, b) for a, b in zip(value, view)))
    return (isinstance(value, np.ndarray) and value.dtype == view.dtype and value.shape == view.shape
            and value.strides == view.strides
            and value.__array_interface__["data"][0] == view.__array_interface__["data"][0])


def _keep_assigned(estimator, state, bound):
    """After unpickling, which copies each array on its own: set back each attribute of ``bound`` (name -> the
    view just bound) whose pickled value is not the view's values, i.e. one the user assigned."""
    for name, view in bound.items():
        pickled = state.get(name)
        views, values = (view, pickled) if isinstance(view, list) else ([view], [pickled])
        if not (isinstance(values, list) and len(values) == len(views)
                and all(np.shape(a) == b.shape and np.array_equal(a, b) for a, b in zip(values, views))):
            setattr(estimator, name, pickled)


def _unchanged_on_failure(method):
    """``fit`` / ``partial_fit`` that, when they raise, leave the estimator as it was before the call: a fitted
    model as fitted (weights, optimizer state, shuffling stream, ``n_features_in_``, ``feature_names_in_``,
    ``classes_``, every attribute), an unfitted one unfitted (never NaN weights, never a model that looks
    fitted but was not trained). A ConvergenceWarning raised as an exception (``warnings.simplefilter("error",
    ConvergenceWarning)``) is no failure: it is issued after training and leaves the model fitted, as
    scikit-learn's estimators do (another warning made an error, a RuntimeWarning, can come mid-training and
    still restores). (A failed warm start kept the new ``n_features_in_`` of the data it refused,
    and the model then refused its own features.)"""

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        snapshot = self._snapshot()
        self._call_snapshot = snapshot  # (its weights are the starting model of the divergence rule)
        try:
            return method(self, *args, **kwargs)
        except ConvergenceWarning:  # raised as an error, after training: the model is trained, as sklearn's
            raise
        except Exception:
            self._restore(snapshot)
            raise
        finally:
            vars(self).pop("_call_snapshot", None)

    return guarded


def _checked_classes(classes):
    """``partial_fit``'s ``classes``, sorted and unique, checked as scikit-learn's SGDClassifier checks them
    (``unique_labels``): class labels only (``np.unique`` took NaN or 0.5 for a class, and None failed with a
    TypeError from sorting)."""
    try:
        values = np.asarray(classes)
        with np.errstate(invalid="ignore"):  # its integer test casts a NaN to int before it reports the NaN
            kind = type_of_target(values, input_name="classes")
        if values.ndim != 1 or kind not in ("binary", "multiclass"):
            raise ValueError(f"Unknown label type: {kind}")
        return unique_labels(classes)
    except ValueError as error:
        raise ValueError(f"classes={classes!r} must be a 1-d array of class labels: {error}") from None


class DivergenceError(FloatingPointError):
    """Training diverged: raised as soon as the rule of ``fastlc.linear_model._training.DivergenceGuard`` fires.

    That is, a mini-batch's mean loss, the epoch's objective or a weight is not
    finite, or a mini-batch's mean loss or the epoch's objective exceeds
    1000 x max(L0, S, 1), L0 being the mean loss of the call's first mini-batch
    (before any step) and S the mean loss, on the same rows with the same
    weights, of the model as it was when the call began (the weights a warm
    start or ``partial_fit`` continues from; a fresh fit's initial weights).
    Raised instead of returning a model whose predictions would be NaN or
    meaningless; the message names the learning rate, the optimizer and the
    epoch, and the estimator is left as it was before the call (as after any
    failed ``fit`` / ``partial_fit``: fitted as before, or unfitted). Lower
    ``learning_rate`` (or ``alpha``, or scale the data) and fit again. (Weights
    or targets that overflow the training dtype are refused before training,
    with a ValueError naming them.)
    """


class BaseLinearModel(BaseEstimator, metaclass=ABCMeta):
    """Base of the mini-batch linear models, classifiers and regressors (not for direct use).

    Holds the training loop and the flat parameter vector. The model has
    ``n_outputs`` score columns (classes, or regression targets):
    ``_coef_matrix`` (n_outputs, n_features) and ``intercept_`` (n_outputs,)
    are views into ``_params``. Subclasses implement :meth:`_gradient_kernel`,
    :meth:`_n_outputs`, :meth:`_validation_score` and define ``__init__`` with all
    parameters spelled out (scikit-learn reads them from the signature).
    """

    _parameter_constraints = {
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions(set(LR_SCHEDULES))],
        "lr_decay": [Interval(numbers.Real, 0, 1, closed="right")],
        "lr_step_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "power_t": [Interval(numbers.Real, 0, None, closed="left")],
        "momentum": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_1": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_2": [Interval(numbers.Real, 0, 1, closed="left")],
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "l1_ratio": [Interval(numbers.Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
        "tol": [Interval(numbers.Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "backend": [StrOptions(set(BACKENDS) | {"auto"})],
        "n_threads": [Interval(numbers.Integral, 1, None, closed="left"), None],
    }

    #: Validation samples early stopping needs for its score to be defined (accuracy: 1).
    _min_validation_samples = 1

    #: What ``validate_data`` accepts for X: "csr" (CSC / COO converted once) in the models with a sparse
    #: gradient kernel (:meth:`_sparse_gradient_kernel`), False (dense only) in the others.
    _accept_sparse = False

    @classmethod
    def _get_param_names(cls):
        """scikit-learn's, read once per class (and ``__init__``): its inspection of the constructor's
        signature took 0.15 ms, and a fit asks twice (``_validate_params``), ``clone`` and
        ``GridSearchCV`` many times more."""
        return list(_constructor_parameters(cls))

    def _validate_params(self):
        """scikit-learn's checks, and no bool where a number is due: its Interval(Integral / Real) takes
        True as 1 (``label_smoothing=True`` trained a uniform model, ``max_epochs=True`` one epoch)."""
        for name, value in self.get_params(deep=False).items():
            constraints = self._parameter_constraints.get(name, [])
            if isinstance(value, (bool, np.bool_)) and "boolean" not in constraints and "verbose" not in constraints:
                raise InvalidParameterError(
                    f"The {name!r} parameter of {type(self).__name__} must not be a bool; got {value!r}")
        super()._validate_params()

    def _validated_input(self, X, y="no_validation", *, reset=True, fitting=False, **options):
        """scikit-learn's ``validate_data`` of every fit and prediction (float64 or float32, C order, sparse
        where the model takes it; ``options`` for y), then the structure of a sparse X: the kernels index
        with its ``indices`` and ``indptr`` unchecked, so a malformed matrix (a column index past the last
        feature, an ``indptr`` past ``nnz``) crashed the process or trained on the wrong features.

        ``fitting``: for ``fit``, whose X may be copied for training (:meth:`_finite_training_input`).

        Returns ``X``, or ``(X, y)`` when ``y`` is given.
        """
        validated = validate_data(self, X, y, dtype=[np.float64, np.float32], order="C",
                                  accept_sparse=self._accept_sparse, reset=reset, ensure_all_finite=not fitting,
                                  **options)
        X_checked = validated[0] if isinstance(validated, tuple) else validated
        if sparse.issparse(X_checked):
            _check_csr_structure(X_checked)
        if fitting:
            X_checked = self._finite_training_input(X_checked)
            return (X_checked, *validated[1:]) if isinstance(validated, tuple) else X_checked
        return validated

    def _aligns_rows(self, incremental):
        """Whether this fit trains a dense X from a cache-line-aligned copy (the Cython kernels; a fit's
        epochs read every row again and again, so the copy pays once they are enough, see
        ALIGN_MIN_EPOCHS; ``partial_fit``'s one pass never is)."""
        return (not incremental and self.max_epochs >= ALIGN_MIN_EPOCHS
                and resolve_backend(self.backend, self._gradient_kernel_name) == "cython")

    def _finite_training_input(self, X):
        """``fit``'s X checked finite (scikit-learn's error otherwise), or the aligned copy that the fit
        trains on (:meth:`_aligns_rows`), made in the same pass as the check."""
        name = type(self).__name__
        if sparse.issparse(X):
            _assert_all_finite(X.data, input_name="X", estimator_name=name)  # what check_array checks
            return X
        if self._aligns_rows(incremental=False) and not self.early_stopping and copy_pays(X):
            copy, finite = aligned_finite_copy(X)
            if finite:
                return copy
        _assert_all_finite(X, input_name="X", estimator_name=name)
        return X

    def _store_parameters(self, values):
        """Set every constructor parameter from the ``__init__``'s ``locals()`` (as given: no logic,
        scikit-learn's rule; the signature itself stays spelled out, scikit-learn reads it)."""
        for name in self._get_param_names():
            setattr(self, name, values[name])

    # ------------------------------------------------------------------ hooks

    @abstractmethod
    def _gradient_kernel(self, dtype, backend, n_threads):
        """Return ``batch_gradient(X, rows, y, row_weight, coef, intercept, grad_scale, loss_out, grad_coef,
        grad_intercept)``, the fused kernel of the training loop.

        For the batch rows ``rows`` of ``X`` it writes ``row_weight[r] * L_r`` into
        ``loss_out`` and ``sum_r grad_scale * row_weight[r] * dL_r/dscores_r (x_r^T, 1)``
        into ``grad_coef`` (n_outputs, n_features) and ``grad_intercept`` (n_outputs,).
        """

    def _epoch_kernel(self, dtype, n_threads, after):
        """Return ``run_epoch(X, order, y, row_weight, coef, intercept, batch_size, mean_weight, row_loss,
        batch_losses, grad_coef, grad_intercept)``: the Cython loop over the batches of an epoch, each the
        kernel of :meth:`_gradient_kernel` then its optimizer step, group b of the ``DeferredSteps`` whose
        capsule is ``after`` (see ``BatchRunner``). Writes each batch's summed loss rows to ``batch_losses``.
        """
        raise NotImplementedError(f"{type(self).__name__} has no compiled epoch loop")

    @staticmethod
    def _cython_epoch(name):
        """The Cython epoch loop ``name`` of ``_linear.pyx`` (see :meth:`_deferred_steps` for when it is used)."""
        from .._cython import _linear

        return getattr(_linear, name)

    def _sparse_gradient_kernel(self, dtype, n_threads):
        """Return ``batch_gradient(data, indices, indptr, rows, y, row_weight, coef_t, intercept, grad_scale,
        grad_scores, touched, n_previous, seen, sgd, loss_out, grad_coef_t, grad_intercept) -> n_touched``, the fused
        kernel of training on CSR input (see ``fastlc.linear_model._sparse``); models with ``_accept_sparse``.
        """
        raise NotImplementedError(f"{type(self).__name__} does not train on sparse input")

    @abstractmethod
    def _row_loss(self, scores, y):
        """The loss of each row of ``y`` (as the kernels take it) at ``scores`` (n_rows, n_outputs), float64 of
        shape (n_rows,), with no sample weight (see ``DivergenceGuard``: the starting model's level)."""

    @abstractmethod
    def _n_outputs(self):
        """Number of score columns of the model (classes, or regression targets)."""

    @abstractmethod
    def _validation_score(self, X, y, weight):
        """Score of the current model on held-out data for early stopping (higher is better)."""

    def _n_penalized(self):
        """Length of the penalised head of ``_params`` (the weights; intercepts follow)."""
        return self._coef_matrix.size

    def _intercept_views(self, flat):
        """The intercepts' part of a flat vector laid out as ``_params`` (a list of views)."""
        return [flat[self._n_penalized():]]

    def _forget_intercepts(self):
        """With ``fit_intercept=False``, intercepts and their optimizer state are 0: a model fitted with
        intercepts and trained on with ``fit_intercept=False`` (``warm_start``, ``partial_fit``) kept an
        ``intercept_`` that predictions ignore, and Adam's momentum went on moving it."""
        for flat in (self._params, *self._optimizer_state.buffers.values()):
            for part in self._intercept_views(flat):
                part[...] = 0

    def _kernel_views(self, grad):
        """(coef, intercept, grad_coef, grad_intercept) that the fused kernel reads and writes.

        Views of ``_params`` and of the flat gradient ``grad``; without an
        intercept the scores get + 0 (a user-set ``intercept_`` is ignored) and
        the kernel's intercept gradient goes to scratch.
        """
        n_outputs, n_features = self._coef_matrix.shape
        dtype = self._params.dtype
        n_weights = n_outputs * n_features
        intercept = self.intercept_ if self.fit_intercept else np.zeros(n_outputs, dtype=dtype)
        grad_intercept = grad[n_weights:] if self.fit_intercept else np.empty(n_outputs, dtype)
        return self._coef_matrix, intercept, grad[:n_weights].reshape(n_outputs, n_features), grad_intercept

    def _split_gradient(self, grad):
        """The flat gradient as (grad_coef (n_outputs, n_features), grad_intercept (n_outputs,))."""
        n_weights = self._coef_matrix.size
        return grad[:n_weights].reshape(self._coef_matrix.shape), grad[n_weights:]

    def _public_coef(self, coef_matrix):
        """What ``coef_`` shows of the (n_outputs, n_features) weight matrix (a view)."""
        return coef_matrix

    def _validation_rows(self, y, order, n_val):
        """Rows held out for early stopping: the first ``n_val`` of the shuffled ``order``."""
        return np.sort(order[:n_val])

    def _start_stream(self, n_features, dtype):
        """A fresh model for ``partial_fit``'s first call: zero weights and the shuffling stream."""
        self._initialize(n_features, dtype)
        self.n_iter_ = 0
        self.loss_curve_ = []
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        self._stream_generator = np.random.default_rng(seed)

    def _start_fit(self, n_features, dtype, warm):
        """The generator of a ``fit`` call (shuffles, validation split), and a fresh model unless warm."""
        rng = check_random_state(self.random_state)
        if not warm:
            self._initialize(n_features, dtype)
            self.n_iter_ = 0
            self.loss_curve_ = []
        # One generator for the whole fit: shuffling order and the validation split.
        generator = np.random.default_rng(rng.randint(np.iinfo(np.int32).max))
        # partial_fit after fit continues with the same stream of shuffles
        self._stream_generator = generator
        return generator

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = bool(self._accept_sparse)
        return tags

    @staticmethod
    def _checked_weight(sample_weight, X, factor=None, what="the sample weights"):
        """Per-sample training weights in X's dtype: ``sample_weight`` (checked, >= 0) times ``factor``.

        Weights that overflow, in X's dtype or in their float64 sum, are refused here: training would end
        in a DivergenceError blaming the learning rate. Only their ratios matter (the loss is
        ``sum w L / sum w``), so scaling them down loses nothing.
        """
        if sample_weight is not None:
            _as_array(sample_weight, "sample_weight")  # a bool where a number is due is a TypeError
        weight = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True, copy=True)
        with np.errstate(over="ignore"):
            if factor is not None:
                weight *= factor
            total = weight.sum(dtype=np.float64)
        scale_down = (f"scale sample_weight{'' if factor is None else ' or class_weight'} down by a common factor "
                      f"(only the ratios of the weights matter)")
        if not np.isfinite(weight).all():
            raise ValueError(f"{what} overflow {X.dtype}, the training dtype: {scale_down}")
        if not np.isfinite(total):
            raise ValueError(f"{what} sum to {total} (they overflow float64): {scale_down}")
        if not total > 0:
            raise ValueError(f"{what} sum to zero: nothing to learn from")
        return weight

    def _scores(self, X):
        check_is_fitted(self)
        self._sync_params()  # a coef_ / intercept_ the user assigned counts, as in scikit-learn's linear models
        X = self._validated_input(X, reset=False)
        return self._linear_scores(X)

    def _linear_scores(self, X):
        """``X @ W.T + b`` of the (n_outputs, n_features) weights, shape (n_samples, n_outputs)."""
        scores = X @ self._coef_matrix.T
        if self.fit_intercept:
            scores += self.intercept_
        return scores

    def _initialize(self, n_features, dtype):
        """Allocate the flat parameter vector (zeros: every loss of these models is convex)."""
        n_outputs = self._n_outputs()
        self._params = aligned_zeros(n_outputs * n_features + n_outputs, dtype)
        self._bind_views(n_outputs, n_features)
        self._optimizer_state = self._new_optimizer_state(dtype)
        self._epochs_seen = 0

    def _check_trainable(self, n_rows):
        """Raise if this model cannot train on ``n_rows`` samples (hook; the linear models always can)."""

    def _new_optimizer_state(self, dtype):
        """Fresh statistics of the ``optimizer`` set now, for every value of ``_params``."""
        return OptimizerState(self.optimizer, self._params.shape[0], dtype, momentum=self.momentum,
                              beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)

    def _follow_optimizer_settings(self):
        """Train on (warm start, ``partial_fit``) with the optimizer settings of now, not those of the first fit.

        Another ``optimizer`` starts afresh (one optimizer's statistics mean nothing to another; the step
        count restarts, so Adam's bias correction does too). New ``momentum``, ``beta_1``, ``beta_2`` or
        ``epsilon`` apply from the next step on, with the statistics kept, as when a torch.optim parameter
        group's are changed. (They were ignored: ``set_params(optimizer="sgd")`` went on training with Adam.)
        """
        state = self._optimizer_state
        if state.name != self.optimizer:
            self._optimizer_state = self._new_optimizer_state(self._params.dtype)
            return
        for key, buffer in state.buffers.items():  # read-only after joblib.load(..., mmap_mode="r")
            if not buffer.flags.writeable:
                state.buffers[key] = buffer.copy()
        state.momentum, state.beta_1, state.beta_2, state.epsilon = (
            self.momentum, self.beta_1, self.beta_2, self.epsilon)

    def _bind_views(self, n_outputs=None, n_features=None):
        """Make ``coef_`` and ``intercept_`` views into the flat parameter vector (of the shape given, else
        the current one).

        ``_coef_matrix`` is a C-contiguous (n_outputs, n_features) block: the
        fused gradient kernel takes dot products of its rows with the sample
        rows and adds ``g_c x`` to each row of the gradient, both contiguous
        over the features (they vectorize). ``coef_`` shows it (see :meth:`_public_coef`).
        """
        if n_outputs is None:
            n_outputs, n_features = self._coef_matrix.shape
        self._coef_matrix = self._params[: n_outputs * n_features].reshape(n_outputs, n_features)
        self.coef_ = self._public_coef(self._coef_matrix)
        self.intercept_ = self._params[n_outputs * n_features:]

    def _bound_views(self):
        """{name: the view of ``_params`` that ``_bind_views`` gave that attribute} (see :meth:`_sync_params`),
        made from ``_params`` anew (after ``copy.deepcopy`` no attribute is a view of it any more)."""
        n_outputs, n_features = self._coef_matrix.shape
        matrix = self._params[: n_outputs * n_features].reshape(n_outputs, n_features)
        return {"_coef_matrix": matrix, "coef_": self._public_coef(matrix), "intercept_": self._params[matrix.size:]}

    def _sync_params(self):
        """Take a ``coef_`` / ``intercept_`` the user assigned, as scikit-learn's linear models use theirs.

        Anything but the bound views counts as assigned, views of ``_params`` included (``coef_[::-1]`` was
        taken for the model itself because it shared its memory, and predictions mixed old and new values).
        The shapes must be the fitted ones (a single output's weights may also be (n_features,)): the
        optimizer's statistics and ``n_features_in_`` are those of the fitted model.
        """
        bound = self._bound_views()
        if not all(_is_same_view(getattr(self, name), view) for name, view in bound.items()):
            self._take_assigned(bound)

    def _take_assigned(self, bound):
        """:meth:`_sync_params`' new ``_params`` from the assigned ``coef_`` and ``intercept_``."""
        n_outputs, n_features = self._coef_matrix.shape
        coef, intercept = np.asarray(self.coef_), np.asarray(self.intercept_)
        if coef.shape != (n_outputs, n_features) and not (n_outputs == 1 and coef.shape == (n_features,)):
            raise ValueError(f"coef_ has shape {coef.shape}, but the model has {n_outputs} output"
                             f"{'s' if n_outputs != 1 else ''} and {n_features} features: assign an array of "
                             f"shape {bound['coef_'].shape}")
        if intercept.shape not in ((), (n_outputs,)):
            raise ValueError(f"intercept_ has shape {intercept.shape}, but the model has {n_outputs} "
                             f"output{'s' if n_outputs != 1 else ''}: assign an array of shape ({n_outputs},)")
        params = np.empty_like(self._params)  # in the model's dtype; a new array: the old views stay as they were
        params[: coef.size] = coef.ravel()
        params[coef.size:] = intercept
        self._params = params
        self._bind_views(n_outputs, n_features)

    def __setstate__(self, state):
        super().__setstate__(state)
        # Pickling copies coef_ / intercept_ / _params separately: re-link the views, and keep what the user
        # assigned and no prediction or fit has taken yet (see _sync_params) for them to take
        if "_params" in state:
            self._bind_views(*np.shape(state.get("_coef_matrix", state["coef_"])))
            _keep_assigned(self, state, self._bound_views())

    def _penalty(self, coef):
        """Value of the penalty at ``coef`` (a Python float)."""
        if self.penalty is None or self.alpha == 0:
            return 0.0
        l1 = self.l1_ratio if self.penalty == "elasticnet" else float(self.penalty == "l1")
        value = 0.0
        if l1 > 0:
            value += l1 * float(np.abs(coef).sum(dtype=np.float64))
        if l1 < 1:
            flat = np.ravel(coef, order="K")
            value += (1 - l1) * 0.5 * float(np.dot(flat, flat))
        return self.alpha * value

    def _penalty_parts(self):
        """(alpha_l1, alpha_l2): the penalty is alpha_l1 |W|_1 + alpha_l2 / 2 ||W||^2."""
        if self.penalty is None or self.alpha == 0:
            return 0.0, 0.0
        l1 = self.l1_ratio if self.penalty == "elasticnet" else float(self.penalty == "l1")
        return self.alpha * l1, self.alpha * (1 - l1)

    def _batch_size(self, n_samples):
        size = AUTO_BATCH_SIZE if self.batch_size == "auto" else self.batch_size
        return max(1, min(size, n_samples))

    def _fit_epochs(self, X, y, weight, generator, *, incremental):
        """Train ``max_epochs`` epochs (or one for ``partial_fit``), in place."""
        self._sync_params()
        start = self._continued_state()
        self._prepare_params(X)
        if start is None:  # a fresh model, or one with assigned weights: they are the start
            start = self._params.copy(), [statistic.copy() for statistic in self._running_statistics()]
        early_stopping = self.early_stopping and not incremental
        if early_stopping:
            X, y, weight, X_val, y_val, weight_val = self._validation_split(X, y, weight, generator)
        # what can still refuse this fit does so before it changes anything (the optimizer's statistics)
        self._check_trainable(X.shape[0])
        self._follow_optimizer_settings()
        if early_stopping:
            self.validation_scores_ = getattr(self, "validation_scores_", []) if self.warm_start else []
            best_params = self._params.copy()
        elif not incremental:
            self.__dict__.pop("validation_scores_", None)  # an earlier fit's scores say nothing of this one
        # (X is the aligned copy already unless early stopping split it: see _finite_training_input)
        runner = self._batch_runner(X, y, weight, align_rows=self._aligns_rows(incremental))
        guard = DivergenceGuard(starting_level(self._starting_row_loss(start, X, y), weight, runner.mean_weight))
        if early_stopping:
            stopping = StoppingRule(self.tol, self.n_iter_no_change, higher_is_better=True)
        else:
            previous_best = min(self.loss_curve_) if (self.loss_curve_ and not incremental) else None
            stopping = StoppingRule(self.tol, self.n_iter_no_change, higher_is_better=False, best=previous_best)
        in_order = np.arange(X.shape[0], dtype=np.intp)
        schedule = self._learning_rate_schedule()
        converged = False
        started = time.perf_counter()
        with self._blas_threads():
            for _ in range(1 if incremental else self.max_epochs):
                lr = schedule(self._epochs_seen)
                order = permutation(generator, X.shape[0]) if self.shuffle else in_order
                try:
                    data_loss = runner.run_epoch(order, lr, guard)
                    with np.errstate(over="ignore", invalid="ignore"):
                        loss = data_loss / runner.total_weight + self._penalty(runner.weights)
                    guard.check_epoch(loss, self._params, order)
                except Diverged as reason:
                    self._diverged(lr, reason, runner.weights)  # (the model is restored by _unchanged_on_failure)
                self._epochs_seen += 1
                self.n_iter_ += 1
                self.loss_curve_.append(loss)
                message = f"Epoch {self.n_iter_}: loss={loss:.6g}"
                if early_stopping:
                    score = self._validation_score(X_val, y_val, weight_val)
                    self.validation_scores_.append(score)
                    message += f", validation score={score:.6g}"
                    if stopping.improved(score):
                        best_params[:] = self._params
                    stop = stopping.update(score)
                else:
                    stop = not incremental and stopping.update(loss)
                self._log(f"{message}, lr={lr:.3g}, elapsed={time.perf_counter() - started:.2f}s")
                if stop:
                    converged = True
                    what = "validation score" if early_stopping else "training loss"
                    self._log(f"{what} did not improve more than tol={self.tol} for {self.n_iter_no_change} "
                              f"consecutive epochs. Stopping.")
                    break
        finish = getattr(runner, "finish", None)  # the sparse runner writes its optimizer moments back once
        if finish is not None:
            finish()
        if early_stopping:
            self._params[:] = best_params
        self.t_ = self._optimizer_state.t
        if not incremental and not converged and self.tol is not None:
            warnings.warn(
                f"{type(self).__name__}: max_epochs={self.max_epochs} reached and the optimization "
                f"hasn't converged yet (tol={self.tol}, n_iter_no_change={self.n_iter_no_change}).",
                ConvergenceWarning,
            )

    def _prepare_params(self, X):
        """Make the flat parameter vector fit for training on ``X``: its dtype, aligned, the right width."""
        self._sync_params()
        if self._params.dtype != X.dtype:
            # warm start / partial_fit with data of another dtype: train in the data's dtype
            self._params = self._params.astype(X.dtype)
            self._bind_views()
            self._optimizer_state.astype(X.dtype)
        if not (is_aligned(self._params) and self._params.flags.writeable):
            # after unpickling or a user-assigned coef_: the fused kernel reads W once per row group;
            # a model loaded with joblib's mmap_mode="r" holds read-only arrays
            self._params = aligned_copy(self._params)
            self._bind_views()
        if self._coef_matrix.shape[1] != X.shape[1]:
            raise ValueError(f"X has {X.shape[1]} features but the model was fitted with "
                             f"{self._coef_matrix.shape[1]}")
        if not self.fit_intercept:
            self._forget_intercepts()

    def _batch_runner(self, X, y, weight, batch_size=None, align_rows=False):
        """The kernels, buffers and optimizer step of this fit, with the thread count chosen once.

        ``align_rows``: train a dense X on the Cython kernels from a cache-line-aligned copy (see
        :func:`fastlc._memory.aligned_for_training`; the other backends do not copy rows, so gain nothing).
        """
        n_threads = check_n_threads(self.n_threads)
        if sparse.issparse(X):
            batch_size = self._batch_size(X.shape[0]) if batch_size is None else batch_size
            # A second thread pays only for large batches: the weight update is serial (fixed order), and a
            # 256-row text batch (~26k non-zeros) ran 2-10x SLOWER on 2 threads of the shared 2-core machine.
            batch_work = batch_size * X.nnz / max(X.shape[0], 1) * self._n_outputs()
            kernel_threads = n_threads if batch_work >= SPARSE_PARALLEL_BATCH_WORK else 1
            return SparseBatchRunner(self, X, y, weight, self._sparse_gradient_kernel(X.dtype, kernel_threads),
                                     self.sparse_update, batch_size, self.backend, n_threads)
        backend = resolve_backend(self.backend, self._gradient_kernel_name)
        if align_rows:
            X = aligned_for_training(X)
        n_classes, n_features = self._coef_matrix.shape
        # The thread count changes the speed only, never the result (fixed chunks). A chunk is worth a
        # second thread by its arithmetic or by the bytes of X it streams (see the two constants). (Before
        # the pool's time-window back-off, a worker descheduled mid-chunk on a loaded machine stalled
        # single-output batches often enough to cost 1.7-2x in fit wall time, and only arithmetic counted.)
        chunk_work = 2 * CHUNK_ROWS * n_features * n_classes
        chunk_bytes = CHUNK_ROWS * n_features * X.itemsize
        kernel_threads = n_threads if chunk_work >= PARALLEL_CHUNK_WORK or chunk_bytes >= PARALLEL_CHUNK_BYTES else 1
        batch_gradient = self._gradient_kernel(X.dtype, backend, kernel_threads)
        batch_size = self._batch_size(X.shape[0]) if batch_size is None else batch_size
        defer = self._deferred_steps(backend)
        epoch = None if defer is None else self._epoch_kernel(X.dtype, kernel_threads, defer.capsule)
        runner = BatchRunner(self, X, y, weight, batch_gradient, self._stepper(n_threads, defer), batch_size,
                             epoch=epoch, defer=defer)
        runner.kernel_threads = kernel_threads  # for the benchmarks' kernel floor
        return runner

    def _stepper(self, n_threads, defer=None):
        """The fused optimizer step over ``_params``, with the L2 penalty as weight decay on the weights
        (recorded in ``defer`` for the gradient kernel to apply, if given)."""
        return self._optimizer_state.stepper(self._params, self.backend, n_threads, n_decayed=self._n_penalized(),
                                             weight_decay=self._penalty_parts()[1], defer=defer)

    def _deferred_steps(self, gradient_backend):
        """A ``DeferredSteps`` when the epoch can run as one Cython loop, else None.

        The loop (``_linear.pyx``, :meth:`_epoch_kernel`) runs every batch of an epoch: the fused gradient,
        then the batch's optimizer step, recorded beforehand by the step kernels (``defer=``) and applied
        to each part of the gradient as soon as the part is final, on the kernel's threads, in the same
        parallel pass as its chunk sum. Against a Python loop calling the kernel and then the step, this
        saves the Python work of every batch (about 5 us: a 20-epoch LinearRegressor fit on 16 000 x 100
        makes 1260 batches of 11 us of kernel each) and the step's own pass over memory (a float64 Adam
        step of 10 x 784 weights took 17 us a batch, on one thread). The same element loops run, so the
        model is the same bits. Needs both kernels from the Cython backend, and no L1 penalty (its
        subgradient is added to the gradient between the two).
        """
        if (gradient_backend != "cython" or self._penalty_parts()[0] > 0
                or self._optimizer_state.step_backend(self.backend) != "cython"):
            return None
        from .._cython._optim import DeferredSteps  # importable: the Cython step backend was chosen

        return DeferredSteps()

    def _learning_rate_schedule(self):
        """``epoch -> learning rate`` for this fit (epochs counted over every fit of a warm start)."""
        return epoch_schedule(self.learning_rate, self.lr_schedule, lr_decay=self.lr_decay,
                              lr_step_size=self.lr_step_size, power_t=self.power_t)

    def _running_statistics(self):
        """Arrays besides ``_params`` that training changes in place and predictions read (a network's batch
        norm statistics); none here."""
        return []

    def _continued_state(self):
        """(weights, running statistics) of the model this call continues from, taken from the copies of the
        call's snapshot (no copy more), or None when the call trains other weights (a fresh model, an
        assigned ``coef_``). Call after ``_sync_params`` and before ``_prepare_params`` (which may cast)."""
        snapshot = vars(self).get("_call_snapshot")
        if snapshot is None:
            return None
        (attributes, trained), statistics = self._split_snapshot(snapshot)
        if trained is None or self._params is not attributes["_params"]:
            return None
        params = trained[0] if trained[0] is not None else attributes["_params"]  # read-only: never trained
        return params, statistics

    @staticmethod
    def _split_snapshot(snapshot):
        """(the linear models' snapshot, copies of the running statistics) of a :meth:`_snapshot`."""
        return snapshot, []

    def _starting_row_loss(self, start, X, y):
        """``row_loss(rows)``: each of ``rows``' loss (float64) by the model of ``start`` (weights, running
        statistics), swapped in for the scores and back: computed only when the divergence rule asks."""

        def row_loss(rows):
            targets = [self._params, *self._running_statistics()]
            now = [target.copy() for target in targets]
            params, statistics = start
            try:
                for target, value in zip(targets, [params, *statistics]):
                    target[...] = value
                with np.errstate(over="ignore", invalid="ignore"):
                    return self._row_loss(self._linear_scores(X[rows]), y[rows])
            finally:
                for target, value in zip(targets, now):
                    target[...] = value

        return row_loss

    def _snapshot(self):
        """What :meth:`_restore` needs to put the estimator back as it is now: its attributes, and copies of
        what training changes in place (weights, optimizer state, shuffling stream, curves)."""
        attributes = dict(vars(self))
        if "_params" not in attributes:
            return attributes, None
        generator = getattr(self, "_stream_generator", None)
        params = self._params
        optimizer_state = copy.copy(self._optimizer_state)  # (its other attributes are numbers and a name)
        optimizer_state.buffers = {key: value.copy() for key, value in optimizer_state.buffers.items()}
        return attributes, (params.copy() if params.flags.writeable else None,  # read-only: never trained in place
                            optimizer_state,
                            None if generator is None else generator.bit_generator.state,
                            len(self.loss_curve_), len(getattr(self, "validation_scores_", None) or ()))

    def _diverged(self, lr, reason, weights):
        """Raise the DivergenceError of ``reason`` (a ``Diverged``); ``weights``: the penalised weights then."""
        dtype = self._params.dtype
        left = "The estimator is left as it was before this call (unfitted if it was not fitted)."
        if reason.at_start:
            raise DivergenceError(
                f"{type(self).__name__} cannot train in epoch {self.n_iter_ + 1}: {reason}. The loss at the "
                f"starting weights does not fit in {dtype}, the training dtype: the data (X, y, sample_weight) "
                f"are too large in scale for it. Standardise the data, or train in float64. {left}") from None
        penalized = self._penalty_dominates(reason.value, weights, lr)
        raise DivergenceError(
            f"{type(self).__name__} diverged in epoch {self.n_iter_ + 1} with learning_rate={lr!r} "
            f"(optimizer={self.optimizer!r}): {reason}. The learning rate may be too large for the data, "
            f"{f'alpha={self.alpha!r} too large, ' if penalized else ''}or the data (X, y, sample_weight) too "
            f"large in scale for {dtype}, the training dtype: use a smaller learning_rate"
            f"{' or alpha' if penalized else ''}, or standardise the data. {left}"
        ) from None

    def _penalty_dominates(self, loss, weights, lr):
        """Whether the penalty is a large part (a tenth or more) of the objective at ``weights``, where the
        loss that broke the rule was ``loss``; when either is not finite, whether ``lr * alpha`` is 1 or more
        (a weight-decay step that alone overshoots)."""
        if not any(self._penalty_parts()):
            return False
        with np.errstate(over="ignore", invalid="ignore"):
            penalty = self._penalty(weights)
        if loss is None or not (math.isfinite(loss) and math.isfinite(penalty)):
            return lr * self.alpha >= 1
        return penalty >= 0.1 * (abs(loss) + penalty)

    def _log(self, message):
        if self.verbose:
            print(message, flush=True)

    @staticmethod
    def _blas_threads():
        """Run NumPy's BLAS on one thread during training.

        The training loop's batch gradients no longer use BLAS (the fused
        kernel), but the numpy backend's kernel does, and OpenBLAS's
        multi-threaded products are not bit-identical to its single-threaded
        ones (a 4096-row batch gave different weights at 1 and 2 threads),
        which would break "same random_state, same model, whatever n_threads";
        its spin-waiting threads also slowed our OpenMP kernels 5-30x when they
        shared the cores. Parallelism comes from the kernel's batch chunks
        instead (see ``CHUNK_ROWS``).

        The controller is built once per process (finding the loaded BLAS
        libraries took about 1.3 ms, a quarter of a small fit's fixed cost);
        by the first fit NumPy's and SciPy's BLAS are loaded (scikit-learn
        imports both).
        """
        return blas_threads_at_most(1)

    def _restore(self, snapshot):
        attributes, trained = snapshot
        vars(self).clear()
        vars(self).update(attributes)
        if trained is None:
            return
        params, optimizer_state, generator_state, n_losses, n_scores = trained
        del self.loss_curve_[n_losses:]
        if getattr(self, "validation_scores_", None):
            del self.validation_scores_[n_scores:]
        if params is not None:
            self._params[...] = params
        self._optimizer_state = optimizer_state
        if generator_state is not None:
            self._stream_generator.bit_generator.state = generator_state

    def _validation_split(self, X, y, weight, generator):
        """Hold out ``validation_fraction`` of the samples (which ones: :meth:`_validation_rows`)."""
        n_samples = X.shape[0]
        n_val = int(np.ceil(self.validation_fraction * n_samples))
        out_of = f"out of {n_samples} sample{'s' if n_samples != 1 else ''}"
        if n_val < 1 or n_samples - n_val < 1:
            raise ValueError(f"validation_fraction={self.validation_fraction} leaves no samples for "
                             f"{'validation' if n_val < 1 else 'training'} {out_of}")
        if n_val < self._min_validation_samples:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves {n_val} validation sample {out_of}; "
                f"early stopping's score needs at least {self._min_validation_samples}")
        val_rows = self._validation_rows(y, generator.permutation(n_samples), n_val)
        train = np.ones(n_samples, dtype=bool)
        train[val_rows] = False
        if not train.any():
            raise ValueError(f"validation_fraction={self.validation_fraction} leaves no training samples")
        return X[train], y[train], weight[train], X[val_rows], y[val_rows], weight[val_rows]


class BaseLinearClassifier(ClassifierMixin, BaseLinearModel):
    """Base of the mini-batch linear classifiers (not for direct use).

    Subclasses implement :meth:`_gradient_kernel` and define ``__init__`` with all
    parameters spelled out (scikit-learn reads them from the signature).
    """

    _parameter_constraints = {
        **BaseLinearModel._parameter_constraints,
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

    def _n_outputs(self):
        return self.classes_.shape[0]

    # ------------------------------------------------------------ public API

    @_unchanged_on_failure
    def fit(self, X, y, sample_weight=None):
        """Train on ``(X, y)`` for up to ``max_epochs`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. float32 trains in float32, anything else in float64.
            scipy.sparse input (CSR; CSC / COO converted once) is trained on
            without densifying in the models that accept it (see ``sparse_update``).
        y : array-like of shape (n_samples,)
            Class labels (any type scikit-learn accepts; at least two classes).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample's loss (multiplied by the
            ``class_weight`` of its class).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        X, y = self._validated_input(X, y, fitting=True)
        _check_class_labels(y)
        classes, y_encoded = np.unique(y, return_inverse=True)
        if classes.shape[0] < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the data, "
                f"but the data contains only one class: {classes[0].item()!r}"
            )
        warm = self.warm_start and hasattr(self, "_params")
        if warm and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start=True but y has classes {classes.tolist()} while the fitted model has "
                f"{self.classes_.tolist()}; fit with warm_start=False to start over"
            )
        self.classes_ = classes
        weight = self._sample_weight(sample_weight, X, y_encoded, self.class_weight)
        generator = self._start_fit(X.shape[1], X.dtype, warm)
        self._fit_epochs(X, y_encoded, weight, generator, incremental=False)
        return self

    @_unchanged_on_failure
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch over ``(X, y)``, continuing from the current model.

        Meant for data that arrives in chunks (streaming, ``dask_ml.wrappers.Incremental``).
        No convergence check or early stopping is done; each call counts as one
        epoch for ``lr_schedule`` and appends one value to ``loss_curve_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            All the classes that can appear in ``y`` across calls. Required on
            the first call, ignored (but checked) later.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        first_call = not hasattr(self, "_params")
        self._validate_params()
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: class frequencies of a stream "
                "are unknown. Compute weights once with sklearn.utils.compute_class_weight('balanced', "
                "classes=classes, y=y_sample) and pass them as a dict."
            )
        X, y = self._validated_input(X, y, reset=first_call)
        _check_class_labels(y)
        if first_call:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            classes = _checked_classes(classes)
            if classes.shape[0] < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 classes; classes={classes.tolist()} has one"
                )
            self.classes_ = classes
            self._start_stream(X.shape[1], X.dtype)
        elif classes is not None and not np.array_equal(_checked_classes(classes), self.classes_):
            raise ValueError(f"classes={list(classes)} differs from the classes of the first call "
                             f"{self.classes_.tolist()}")
        unknown = ~np.isin(y, self.classes_)
        if unknown.any():
            raise ValueError(f"y contains label {y[np.flatnonzero(unknown)[0]].item()!r} that is not in "
                             f"classes={self.classes_.tolist()}")
        y_encoded = np.searchsorted(self.classes_, y)
        weight = self._sample_weight(sample_weight, X, y_encoded, self.class_weight)
        self._fit_epochs(X, y_encoded, weight, self._stream_generator, incremental=True)
        return self

    def decision_function(self, X):
        """Class scores ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes), or (n_samples,) for two classes
            For two classes, ``scores[:, 1] - scores[:, 0]`` (positive means
            ``classes_[1]``), as scikit-learn's binary classifiers return.
        """
        scores = self._scores(X)
        if scores.shape[1] == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def predict(self, X):
        """Predict the class of each sample (the highest score).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels taken from ``classes_``.
        """
        scores = self._scores(X)
        return self.classes_[np.argmax(scores, axis=1)]

    # --------------------------------------------------------------- helpers

    def _sample_weight(self, sample_weight, X, y_encoded, class_weight):
        factor = None
        if class_weight is not None:
            for label, value in (class_weight.items() if isinstance(class_weight, dict) else ()):
                if isinstance(value, (bool, np.bool_)):
                    raise TypeError(f"class_weight must hold numbers, not bools; got {value!r} for class {label!r}")
            per_class = compute_class_weight(class_weight, classes=self.classes_,
                                             y=self.classes_[y_encoded])
            bad = np.flatnonzero(~(np.isfinite(per_class) & (per_class >= 0)))
            if bad.size:  # scikit-learn does not check: a negative weight trained a model that avoids the class
                raise ValueError(f"class_weight must be finite and non-negative; got {per_class[bad[0]].item()!r} "
                                 f"for class {self.classes_[bad[0]].item()!r}")
            with np.errstate(over="ignore"):  # refused below, by name
                cast = per_class.astype(X.dtype)
            for label, value, held in zip(self.classes_, per_class, cast):
                if not np.isfinite(held):
                    label = label.item() if isinstance(label, np.generic) else label
                    check_fits(float(value), f"class_weight[{label!r}]", X.dtype)
            factor = cast[y_encoded]
        return self._checked_weight(sample_weight, X, factor, "the sample weights (times class_weight)")

    def _objective(self, X, y, sample_weight=None):
        """Full regularised objective and its gradient at the current model, as training computes them.

        Runs training's own fused gradient kernel on every row, with the
        sample weights times ``class_weight`` as ``fit`` uses them. Used by the
        tests (finite differences against this gradient check the gradient
        that training follows) and by users who want the exact training objective.

        Returns
        -------
        loss : float
            ``sum_i w_i L_i / sum_i w_i + penalty(coef_)``.
        grad_coef : ndarray of shape (n_classes, n_features)
        grad_intercept : ndarray of shape (n_classes,)
        """
        check_is_fitted(self)
        X = np.ascontiguousarray(X, dtype=self._params.dtype)
        y_encoded = np.searchsorted(self.classes_, y)
        weight = self._sample_weight(sample_weight, X, y_encoded, self.class_weight)
        with self._blas_threads():
            loss, grad = self._batch_runner(X, y_encoded, weight, batch_size=X.shape[0]).objective(self)
        return (loss, *self._split_gradient(grad))

    def _validation_rows(self, y, order, n_val):
        """Stratified by class when every class has two samples: the same fraction of each (at least one)."""
        counts = np.bincount(y, minlength=self.classes_.shape[0])
        if counts[counts > 0].min() < 2:
            return super()._validation_rows(y, order, n_val)
        val_rows = []
        for label in np.flatnonzero(counts):
            rows = order[y[order] == label]
            val_rows.append(rows[: max(1, int(round(self.validation_fraction * rows.shape[0])))])
        return np.sort(np.concatenate(val_rows))

    def _validation_score(self, X, y, weight):
        """Weighted accuracy."""
        correct = np.argmax(self._linear_scores(X), axis=1) == y
        return float(np.dot(correct, weight) / weight.sum())
