"""Training on scipy.sparse CSR input without densifying X.

:class:`SparseBatchRunner` is the sparse counterpart of ``BatchRunner``
(``_training.py``) and has the same ``run_epoch`` / ``total_weight`` /
``weights`` interface, so ``BaseLinearModel._fit_epochs`` drives both. For the
fit it keeps the parameters (and the optimizer's moment buffers) feature-major,
``[W^T (n_features, n_outputs) flat, b]``, because a non-zero ``x_ij`` then
reads and writes one contiguous row of ``n_outputs`` values; the estimator's
class-major ``_params`` is written back at the end of every epoch (the
divergence and stopping checks, early stopping and ``coef_`` see it). The
element-wise optimizer kernels do not care about the order of the values.

Per batch: the fused sparse kernel (``fastlc._numba._sparse_linear``) gives the
loss rows, the intercept gradient and the weight gradient on the feature rows
present in the batch; then one of two steps (``sparse_update``):

- ``"dense"``: the optimizer's ordinary step over every parameter, the exact
  update of the dense path (the same model as on ``X.toarray()`` to rounding);
  costs O(n_features * n_outputs) per batch.
- ``"lazy"``: the step on the rows of the features present in the batch (and
  the intercepts) only. For plain ``"sgd"`` the kernel itself takes it, in
  place, with the L2 decay of every weight on one scale factor
  (scikit-learn's scaled-weights trick): exactly the dense update, to
  rounding. Its L1 part is cumulative truncation (Tsuruoka, Tsujii and
  Ananiadou 2009, as scikit-learn's SGD with ``penalty="l1"``): the penalty
  each weight could have had so far, minus what it had, moves it towards 0
  and never past it, caught up on a feature's rows just before a batch reads
  them and on every row at the end of an epoch; with L1 alone that is exactly
  truncating every weight after every step (truncations compose), and it
  gives exact zeros. (Elsewhere, dense X and ``"dense"``, L1 is the
  subgradient ``alpha_l1 sign(W)`` added to the gradient.) ``"adagrad"``
  steps the touched rows in place (``sparse_adagrad_rows``), exactly the
  dense step when there is no penalty (an absent feature's Adagrad step is
  nothing). Otherwise as
  ``torch.optim.SparseAdam``: the rows are gathered into a packed buffer,
  stepped by the same optimizer kernel, and scattered back; a feature absent
  from a batch keeps its weights AND its optimizer moments unchanged (no
  momentum decay, no drift from old momentum, no weight decay or L1 pull in
  that batch), so the model differs from the dense update's. Costs O(batch
  non-zeros) per batch.

"Touched" means: present in a batch row whose loss gradient is not zero (a
hinge row with every margin met, or a zero-weight row, adds nothing and
touches nothing), for every optimizer.
"""
import copy
from functools import partial

import numpy as np

from .._dispatch import get_kernel, resolve_backend
from .._memory import aligned_zeros
from ._training import run_batches

#: What ``sparse_update`` accepts (see the module docstring).
SPARSE_UPDATES = ("lazy", "dense")

#: The estimators' docstring entry of ``sparse_update``.
SPARSE_UPDATE_DOC = """    sparse_update : {"lazy", "dense"}, default="lazy"
        How a mini-batch of scipy.sparse X updates the model (dense X: ignored).
        ``"lazy"`` steps only the weights of the features present in the batch
        (and the intercepts), costing the batch's non-zeros instead of
        n_features x n_classes. For ``optimizer="sgd"`` the L2 decay of all
        weights rides on one scale factor (scikit-learn's scaled-weights
        trick), the same model as ``"dense"`` to rounding, and an L1 penalty
        is applied by cumulative truncation (Tsuruoka et al. 2009, as
        ``SGDClassifier(penalty="l1")``; exact zeros; with L1 alone exactly
        truncating every weight at every step, which differs from the dense
        path's subgradient step). ``optimizer="adagrad"`` without a penalty
        is the dense step too; otherwise (as
        ``torch.optim.SparseAdam``) a feature absent from a batch (or present
        only in rows whose loss gradient is zero) keeps its weights and
        optimizer moments unchanged in that batch (no moment decay, no penalty
        pull), so the model differs from the dense step's. On sparse text
        ``optimizer="adagrad"`` (a step size per feature, which rare words
        need) with the lazy step is the accurate fast path. ``"dense"`` takes
        the ordinary optimizer step over every parameter: the same model as on
        ``X.toarray()`` to rounding, at O(n_features x n_classes) per batch.
"""


def sparse_kernel(name, backend):
    """The sparse gradient kernel ``name`` of ``backend``, or of the automatic choice if it has none."""
    try:
        return get_kernel(name, resolve_backend(backend, name))
    except (ImportError, AttributeError):
        return get_kernel(name, resolve_backend("auto", name))


#: The integer dtypes the compiled sparse kernels take for ``indices`` and ``indptr`` (both of one dtype).
KERNEL_INDEX_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))


def kernel_index_arrays(indices, indptr, n_features):
    """``indices`` and ``indptr`` of a CSR matrix in one dtype of ``KERNEL_INDEX_DTYPES``, copied only if needed.

    The Cython kernels take int32 or int64 for both arrays together: int64 indices with int32 indptr
    (``X.indices = X.indices.astype(np.int64)``) failed with Cython's "Buffer dtype mismatch", uint32
    or int16 with "ambiguous argument types"; Numba compiled a new specialization for every pair.
    Called once per fit. When one array already has a kernel dtype that holds every value, the other
    one is cast to it (usually the short indptr); otherwise both go to int32 if every column index and
    the non-zero count fit in it, else int64.

    Parameters
    ----------
    indices : ndarray of shape (nnz,), integer
    indptr : ndarray of shape (n_samples + 1,), integer
    n_features : int

    Returns
    -------
    indices, indptr : ndarrays of one dtype, int32 or int64 (the given arrays when they already are)
    """
    if indices.dtype == indptr.dtype and indices.dtype in KERNEL_INDEX_DTYPES:
        return indices, indptr
    nnz = int(indptr[-1]) if indptr.shape[0] else 0
    fits_int32 = max(n_features, nnz) <= np.iinfo(np.int32).max
    if indices.dtype in KERNEL_INDEX_DTYPES and (fits_int32 or indices.dtype == np.int64):
        dtype = indices.dtype
    elif indptr.dtype in KERNEL_INDEX_DTYPES and (fits_int32 or indptr.dtype == np.int64):
        dtype = indptr.dtype
    else:
        dtype = np.dtype(np.int32) if fits_int32 else np.dtype(np.int64)
    return indices.astype(dtype, copy=False), indptr.astype(dtype, copy=False)


def _feature_major(flat, n_outputs, n_features):
    """[W (n_outputs, n_features) flat, b] -> [W^T flat, b] (a new array)."""
    out = np.empty_like(flat)
    n_weights = n_outputs * n_features
    out[:n_weights].reshape(n_features, n_outputs)[:] = flat[:n_weights].reshape(n_outputs, n_features).T
    out[n_weights:] = flat[n_weights:]
    return out


def _class_major_into(flat_t, n_outputs, n_features, out):
    """The inverse of _feature_major, written into ``out``."""
    n_weights = n_outputs * n_features
    out[:n_weights].reshape(n_outputs, n_features)[:] = flat_t[:n_weights].reshape(n_features, n_outputs).T
    out[n_weights:] = flat_t[n_weights:]


def _no_step():
    """The update after a batch whose fused kernel already took the SGD step."""


class SparseBatchRunner:
    """Runs the mini-batches of an epoch on CSR input (see the module docstring).

    Parameters
    ----------
    estimator : the linear estimator being trained (``_params``, ``_optimizer_state``)
    X : scipy.sparse CSR matrix of shape (n_samples, n_features), float32/float64
    y : ndarray of shape (n_samples,), class indices (or targets)
    weight : ndarray of shape (n_samples,), sample weight times class weight
    batch_gradient : ``batch_gradient(data, indices, indptr, rows, y, row_weight, coef_t, intercept, grad_scale,
        grad_scores, touched, n_previous, seen, sgd, loss_out, grad_coef_t, grad_intercept) -> n_touched``
    update : "lazy" or "dense"
    batch_size, backend, n_threads : as the estimator's
    """

    def __init__(self, estimator, X, y, weight, batch_gradient, update, batch_size, backend, n_threads):
        self.estimator = estimator
        dtype = X.dtype
        self.cast = dtype.type
        self.X, self.y, self.weight = X, y, weight
        self.batch_gradient, self.update, self.batch_size = batch_gradient, update, batch_size
        self.backend, self.n_threads = backend, n_threads
        self.n_outputs, self.n_features = n_outputs, n_features = estimator._coef_matrix.shape
        n_weights = n_outputs * n_features
        self.n_weights = n_weights
        self.params_t = _feature_major(estimator._params, n_outputs, n_features)
        self.state = estimator._optimizer_state
        self.buffers_t = {k: _feature_major(v, n_outputs, n_features) for k, v in self.state.buffers.items()}
        self.weights = self.params_t[:n_weights]  # the penalty is a sum over them: any order does
        self.coef_t = self.params_t[:n_weights].reshape(n_features, n_outputs)
        self.intercept = self.params_t[n_weights:] if estimator.fit_intercept else np.zeros(n_outputs, dtype)
        self.grad_t = aligned_zeros(self.params_t.shape, dtype)
        self.grad_coef_t = self.grad_t[:n_weights].reshape(n_features, n_outputs)
        self.grad_intercept = self.grad_t[n_weights:] if estimator.fit_intercept else np.empty(n_outputs, dtype)
        self.grad_scores = np.empty((batch_size, n_outputs), dtype=dtype)
        self.row_loss = np.empty(batch_size, dtype=dtype)
        self.touched = np.empty(n_features, dtype=np.intp)
        self.seen = np.zeros(n_features, dtype=np.bool_)
        self.n_touched = 0
        self.total_weight = float(weight.sum(dtype=np.float64))
        self.mean_weight = self.total_weight / X.shape[0]
        self.alpha_l1, self.alpha_l2 = estimator._penalty_parts()
        # one index dtype the kernels take, cast here once rather than on every batch
        self.data = X.data
        self.indices, self.indptr = kernel_index_arrays(X.indices, X.indptr, n_features)
        # [lr, weight decay factor, fit_intercept, scale of the weights]: lr > 0 makes the kernel step in place
        self.sgd = np.array([0, 1, estimator.fit_intercept, 1], dtype=dtype)
        self.fused_sgd = update == "lazy" and self.state.name == "sgd"
        # the L1 part of the fused SGD: cumulative truncation (see _sparse_l1_catch_up)
        self.truncate_l1 = self.fused_sgd and self.alpha_l1 > 0
        self.l1_total = 0.0  # the L1 penalty each weight could have had so far (true units)
        if self.truncate_l1:
            self.l1_applied = np.zeros(n_weights, dtype)  # what each one had
            self.l1_catch_up = sparse_kernel("sparse_l1_catch_up", backend)
            self.l1_truncate_all = sparse_kernel("sparse_l1_truncate_all", backend)
        self.adagrad_rows = None
        if update == "dense":
            dense_state = copy.copy(self.state)
            dense_state.buffers = self.buffers_t
            self.dense_state = dense_state
            self.dense_step = dense_state.stepper(self.params_t, backend, n_threads, n_decayed=n_weights,
                                                  weight_decay=self.alpha_l2)
            self.step_grad = np.empty_like(self.grad_t) if self.alpha_l1 > 0 else None
        elif self.state.name == "adagrad" and self.alpha_l1 == 0:
            # Adagrad's lazy step in place on the touched rows (no packed copies; the same arithmetic)
            self.adagrad_rows = sparse_kernel("sparse_adagrad_rows", backend)
        elif not self.fused_sgd:
            self.gather = sparse_kernel("sparse_gather_rows", backend)
            self.scatter = sparse_kernel("sparse_scatter_rows", backend)
            # packed rows of one batch: at most its non-zeros (or every feature) rows plus the intercepts
            max_nnz = int(np.diff(X.indptr).max(initial=0))
            rows = min(n_features, max_nnz * batch_size)
            self.packed = {k: np.empty((rows + 1) * n_outputs, dtype) for k in ("params", "grad", *self.buffers_t)}
            self.lazy_state = copy.copy(self.state)

    def run_epoch(self, order, lr, guard):
        """One pass over the rows in ``order``; returns the summed weighted data loss (a Python float)."""

        def gradient(rows, batch_weight, row_loss):
            if self.truncate_l1:
                self.l1_catch_up(self.indices, self.indptr, rows, self.n_outputs, self.cast(self.l1_total),
                                 self.sgd[3], self.touched, self.seen, self.weights, self.l1_applied, 1)
            if self.fused_sgd:
                self.sgd[0] = lr
                self.sgd[1] = 1 - lr * self.alpha_l2
                self.state.t += 1
                self.l1_total += lr * self.alpha_l1
            self.n_touched = self.batch_gradient(
                self.data, self.indices, self.indptr, rows, self.y, self.weight, self.coef_t,
                self.intercept, self.cast(1 / batch_weight), self.grad_scores, self.touched, self.n_touched,
                self.seen, self.sgd, row_loss, self.grad_coef_t, self.grad_intercept)

        if self.fused_sgd:
            update = _no_step  # the kernel took the step
        elif self.update == "dense":
            update = partial(self._dense_step, lr)
        elif self.adagrad_rows is not None:
            update = partial(self._lazy_adagrad_step, lr)
        else:
            update = partial(self._lazy_step, lr)
        data_loss = run_batches(order, self.batch_size, self.mean_weight, self.row_loss, guard, gradient, update)
        self.sync()
        return data_loss

    def _dense_step(self, lr):
        grad = self.grad_t
        if self.step_grad is not None:
            # the L1 subgradient over every weight, as the dense path (a copy: grad_t stays zero off the batch rows)
            np.sign(self.weights, out=self.step_grad[: self.n_weights])
            self.step_grad[: self.n_weights] *= self.cast(self.alpha_l1)
            self.step_grad[: self.n_weights] += grad[: self.n_weights]
            self.step_grad[self.n_weights:] = grad[self.n_weights:]
            grad = self.step_grad
        self.dense_step(grad, lr)
        self.state.t = self.dense_state.t

    def _lazy_adagrad_step(self, lr):
        self.adagrad_rows(self.n_outputs, self.cast(lr), self.cast(self.state.epsilon), self.cast(self.alpha_l2),
                          self.touched, self.n_touched, self.grad_t, self.seen, self.params_t,
                          self.buffers_t["sum_sq"], self.n_threads)
        self.n_touched = 0  # the step cleared the touched rows of grad_t and seen
        self.state.t += 1

    def _lazy_step(self, lr):
        n_touched, n_outputs = self.n_touched, self.n_outputs
        size = (n_touched + 1) * n_outputs
        packed = {k: v[:size] for k, v in self.packed.items()}
        self.gather(self.params_t, n_outputs, self.touched, n_touched, packed["params"], 1)
        self.gather(self.grad_t, n_outputs, self.touched, n_touched, packed["grad"], 1)
        for key, buffer in self.buffers_t.items():
            self.gather(buffer, n_outputs, self.touched, n_touched, packed[key], 1)
        n_packed_weights = n_touched * n_outputs
        if self.alpha_l1 > 0:
            head = packed["params"][:n_packed_weights]
            packed["grad"][:n_packed_weights] += self.cast(self.alpha_l1) * np.sign(head)
        state = self.lazy_state
        state.buffers = {key: packed[key] for key in self.buffers_t}
        state.t = self.state.t
        state.stepper(packed["params"], self.backend, self.n_threads, n_decayed=n_packed_weights,
                      weight_decay=self.alpha_l2)(packed["grad"], lr)
        self.state.t = state.t
        self.scatter(packed["params"], n_outputs, self.touched, n_touched, self.params_t, 1)
        for key, buffer in self.buffers_t.items():
            self.scatter(packed[key], n_outputs, self.touched, n_touched, buffer, 1)

    def sync(self):
        """Write the feature-major parameters back into the estimator's class-major ``_params`` (every epoch:
        the divergence and stopping checks, early stopping and ``coef_`` read them)."""
        if self.truncate_l1:
            # every weight gets its missed L1 penalty now: the model at the epoch's end is the one that
            # truncating every weight at every step gives
            self.l1_truncate_all(self.n_outputs, self.cast(self.l1_total), self.sgd[3], self.weights,
                                 self.l1_applied, 1)
        if self.sgd[3] != 1:
            self.weights *= self.sgd[3]
            self.sgd[3] = 1
        _class_major_into(self.params_t, self.n_outputs, self.n_features, self.estimator._params)

    def finish(self):
        """Write the optimizer moments back, once at the end of the fit (nothing reads them in between; a
        diverged fit restores its snapshot instead): two transpositions of n_features x n_outputs less per
        epoch, ~8% of a 10-epoch Adagrad fit on 2^18 features."""
        for key, buffer in self.buffers_t.items():
            _class_major_into(buffer, self.n_outputs, self.n_features, self.state.buffers[key])
