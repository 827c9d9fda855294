"""The pieces of the linear estimators' training loop, each with one job.

``_BaseLinearClassifier._fit_epochs`` (``_base.py``) strings them together:

- :class:`BatchRunner` runs the mini-batches of one epoch: the fused gradient
  kernel, the penalty terms and the optimizer step, with every buffer
  allocated once per fit;
- :class:`DivergenceGuard` applies the divergence rule after every batch and
  every epoch;
- :class:`StoppingRule` decides when the training loss (or the validation
  score) has stopped improving.
"""
import math

import numpy as np

from .._memory import aligned_zeros

#: A batch's mean loss or an epoch's objective above this many times max(L0, S, 1) counts as diverged (see
#: DivergenceGuard).
DIVERGENCE_FACTOR = 1000.0


class Diverged(Exception):
    """Raised inside the loop when the divergence rule fires; the estimator turns it into DivergenceError.

    ``value``: the loss that broke the rule (None for non-finite weights); ``at_start``: it is the first
    batch's loss of the call, taken before any step (so no learning rate is to blame).
    """

    def __init__(self, message, value=None, at_start=False):
        super().__init__(message)
        self.value, self.at_start = value, at_start


class DivergenceGuard:
    """The divergence rule: training has diverged as soon as

    - a mini-batch's mean loss, the epoch's objective or a weight is not finite, or
    - a mini-batch's mean loss or the epoch's objective exceeds ``DIVERGENCE_FACTOR * max(L0, S, 1)``, where
      L0 is the mean loss of the first mini-batch of this ``fit`` / ``partial_fit`` call (taken before any
      step) and S the mean loss that the call's starting model has on the same rows (the batch's, or all
      the epoch's), with the same weights: the model as it was when the call began (the weights a warm
      start or ``partial_fit`` continues from; the initial weights of a fresh fit, all zeros for the linear
      models, so there S is the loss of all-zero scores).

    Losses that are trained with a sound learning rate stay near or below where the call started; a
    thousandfold rise above it is certain divergence, caught within one step of it (the Python loop) or at
    the end of its epoch (the Cython epoch loop, which checks its batches' losses in order afterwards)
    instead of after the weights overflow (adaptive optimizers such as Adam keep their steps bounded and may
    never overflow at all). S keeps a batch whose loss is large because of its data (targets shifted far
    from the rest of the stream, heavily weighted rows) from counting as divergence: the model was that far
    off on it before any step. (S was the loss of all-zero scores before: about mean(y^2) / 2 for a
    regressor, so a model trained on y ~ 1000 +- 3 was allowed a thousandfold rise over 5e5 and a warm
    Adam run that rose from 0.017 to 8e4 went unnoticed.) Either way the error names the first batch that
    broke the rule.

    Parameters
    ----------
    starting_level : callable, optional
        ``starting_level(rows) -> S`` of those rows (see :func:`starting_level`); asked only for a value
        over ``DIVERGENCE_FACTOR * max(L0, 1)`` (``ceiling``), so it costs nothing otherwise. Without it S
        is 0.
    """

    def __init__(self, starting_level=None):
        self.starting_level = starting_level
        self.ceiling = None

    def check_batch(self, mean_loss, rows=None):
        """The rule on one batch's mean loss; ``rows``: the batch's rows (for S)."""
        if self.ceiling is None:
            if not math.isfinite(mean_loss):
                raise Diverged(f"the first mini-batch's mean loss at the starting weights, before any step, is "
                               f"not finite ({mean_loss!r})", mean_loss, at_start=True)
            self.ceiling = DIVERGENCE_FACTOR * max(mean_loss, 1.0)
        self._check(mean_loss, "a mini-batch's mean loss", rows)

    def check_batches(self, mean_losses, batch_rows=None):
        """``check_batch`` on each of ``mean_losses`` (Python floats) in order: the same ceiling, and the
        same error, raised for the first batch that broke the rule; one pass when none went over the
        ceiling. ``batch_rows(i)``: the rows of batch ``i``."""
        if not mean_losses:
            return
        rows = (lambda i: None) if batch_rows is None else batch_rows
        if self.ceiling is None:
            self.check_batch(mean_losses[0], rows(0))
        ceiling = self.ceiling
        if all(math.isfinite(loss) and loss <= ceiling for loss in mean_losses):
            return
        for i, loss in enumerate(mean_losses):
            self.check_batch(loss, rows(i))

    def check_epoch(self, objective, params, rows=None):
        """The rule on the epoch's objective (``rows``: the epoch's) and on the weights."""
        self._check(objective, "the epoch's objective", rows)
        if not np.isfinite(params).all():
            raise Diverged("the weights became non-finite")

    def _check(self, value, what, rows):
        if not math.isfinite(value):
            raise Diverged(f"{what} became non-finite ({value!r})", value)
        if value > self.ceiling:
            level = 0.0 if self.starting_level is None or rows is None else self.starting_level(rows)
            limit = max(self.ceiling, DIVERGENCE_FACTOR * level)
            if value > limit:
                raise Diverged(f"{what} rose to {value:.6g}, over {DIVERGENCE_FACTOR:g} x max(starting loss, "
                               f"loss of the starting model on its rows, 1) = {limit:.6g}", value)


def starting_level(starting_row_loss, weight, mean_weight):
    """``level(rows)``: S of :class:`DivergenceGuard`, the loss that the call's starting model has on
    ``rows``, normalised as training normalises a batch's mean loss (the weighted sum over the rows' count
    times the set's mean weight).

    ``starting_row_loss(rows)``: the loss of each of ``rows`` at the starting weights, float64 (see
    ``BaseLinearModel._starting_row_loss``); ``weight``, ``mean_weight``: as the runner trains on them.
    """

    def level(rows):
        return float(np.dot(weight[rows], starting_row_loss(rows))) / (rows.shape[0] * mean_weight)

    return level


class StoppingRule:
    """``tol`` / ``n_iter_no_change``: stop after that many epochs without an improvement of more than tol.

    Tracks the training loss (lower is better) or, with early stopping, the
    validation score (higher is better). ``tol=None`` never stops.
    """

    def __init__(self, tol, n_iter_no_change, *, higher_is_better, best=None):
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.sign = 1.0 if higher_is_better else -1.0
        self.best = -math.inf if best is None else self.sign * best
        self.epochs_without_improvement = 0

    def update(self, value):
        """Record one epoch's value; return True when training should stop."""
        signed = self.sign * value
        if self.tol is not None:
            if signed < self.best + self.tol:
                self.epochs_without_improvement += 1
            else:
                self.epochs_without_improvement = 0
        self.best = max(self.best, signed)
        return self.tol is not None and self.epochs_without_improvement >= self.n_iter_no_change

    def improved(self, value):
        """Whether ``value`` is the best seen so far (call before :meth:`update`)."""
        return self.sign * value > self.best


def batch_bounds(n_samples, batch_size, min_rows=1):
    """``[(start, stop), ...]`` of an epoch's batches: ``batch_size`` rows each, the last one the rest.

    A rest of fewer than ``min_rows`` rows joins the batch before it: batch norm's statistics need 2
    rows, and a network with batch norm fit on 257 samples in batches of 256 failed in its last batch.
    """
    starts = list(range(0, n_samples, batch_size))
    if len(starts) > 1 and n_samples - starts[-1] < min_rows:
        starts.pop()
    return list(zip(starts, starts[1:] + [n_samples]))


def run_batches(order, batch_size, mean_weight, row_loss, guard, gradient, update, min_rows=1):
    """The epoch loop of every runner (dense, sparse): batches of ``order`` in turn (see
    :func:`batch_bounds`), each ``gradient(rows, batch_weight, row_loss)`` (writes the weighted loss rows),
    the divergence check on the batch's mean loss, then ``update()``. Returns the summed weighted data loss
    (a Python float).

    ``batch_weight`` is the batch's row count times the set's mean sample weight (see BatchRunner).
    """
    data_loss = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for start, stop in batch_bounds(order.shape[0], batch_size, min_rows):
            batch_weight = (stop - start) * mean_weight
            losses = row_loss[: stop - start]
            rows = order[start:stop]
            gradient(rows, batch_weight, losses)
            batch_loss = float(losses.sum())
            guard.check_batch(batch_loss / batch_weight, rows)
            data_loss += batch_loss
            update()
    return data_loss


class BatchRunner:
    """Runs the mini-batches of an epoch: fused gradient, penalty terms, optimizer step.

    Parameters
    ----------
    estimator : the linear estimator being trained (its flat ``_params`` and views)
    X : ndarray of shape (n_samples, n_features), C-contiguous float32/float64
    y : ndarray of shape (n_samples,), class indices
    weight : ndarray of shape (n_samples,), sample weight times class weight
    batch_gradient : the fused kernel (see ``_BaseLinearClassifier._gradient_kernel``)
    step : ``step(grad, lr)`` of the optimizer state, updating ``params`` in place
    batch_size : int
    epoch : ``run_epoch`` of the Cython epoch loop, or None (see ``BaseLinearModel._deferred_steps``)
    defer : the ``DeferredSteps`` to which ``step`` adds its steps for ``epoch``, or None
    min_rows : int, default=1
        Fewest rows of a batch (see :func:`batch_bounds`); 1 with ``epoch``.
    """

    def __init__(self, estimator, X, y, weight, batch_gradient, step, batch_size, epoch=None, defer=None,
                 min_rows=1):
        dtype = X.dtype
        params = estimator._params
        n_weights = estimator._n_penalized()
        self.X, self.y, self.weight = X, y, weight  # y: class indices (intp) or float targets, as the kernel takes
        self.batch_gradient, self.step, self.batch_size = batch_gradient, step, batch_size
        self.epoch, self.defer = epoch, defer
        self.batch_losses = np.empty(-(-X.shape[0] // batch_size), dtype=np.float64) if epoch is not None else None
        self.dtype = dtype.type
        self.weights = params[:n_weights]  # flat, the penalised part (weights first, intercepts after)
        self.grad = aligned_zeros(params.shape, dtype)
        self.grad_weights = self.grad[:n_weights]
        # what batch_gradient takes as (coef, intercept, grad_coef, grad_intercept): views of params and grad
        self.coef, self.intercept, self.grad_coef, self.grad_intercept = estimator._kernel_views(self.grad)
        self.min_rows = min_rows
        self.row_loss = np.empty(batch_size + min_rows - 1, dtype=dtype)  # a last batch's rest may join it
        # Normalising every batch by the mean weight of the whole set (rather
        # than the batch's own weight sum) makes each batch gradient an unbiased
        # estimate of the gradient of sum(w L) / sum(w).
        self.total_weight = float(weight.sum(dtype=np.float64))
        self.mean_weight = self.total_weight / X.shape[0]
        # the L2 part of the penalty is the step's weight decay (see OptimizerState.stepper); the L1 part here
        alpha_l1, _ = estimator._penalty_parts()
        self.alpha_l1_grad = self.dtype(alpha_l1)
        self.penalty_buffer = np.empty_like(self.weights) if alpha_l1 > 0 else None

    def run_epoch(self, order, lr, guard):
        """One pass over the rows in ``order``; returns the summed weighted data loss (a Python float)."""
        if self.epoch is not None:
            return self._run_compiled_epoch(order, lr, guard)

        def gradient(rows, batch_weight, row_loss):
            self.batch_gradient(self.X, rows, self.y, self.weight, self.coef, self.intercept,
                                self.dtype(1 / batch_weight), row_loss, self.grad_coef, self.grad_intercept)

        def update():
            self._add_l1_gradient()
            self.step(self.grad, lr)

        return run_batches(order, self.batch_size, self.mean_weight, self.row_loss, guard, gradient, update,
                           self.min_rows)

    def _run_compiled_epoch(self, order, lr, guard):
        """The epoch as one Cython loop: each batch's step recorded first, the loop runs kernel and step of
        every batch, then the divergence rule on each batch's mean loss, in order. A batch that breaks the
        rule is found after the epoch instead of at once; the error and the restored model are the same.
        Batch losses are summed in double, in row order (the Python loop sums with numpy's ``sum``)."""
        n_samples, batch_size = order.shape[0], self.batch_size
        n_batches = -(-n_samples // batch_size)
        self.defer.clear()
        self.step(self.grad, lr, n_batches)
        self.defer.split(n_batches)
        batch_losses = self.batch_losses[:n_batches]
        self.epoch(self.X, order, self.y, self.weight, self.coef, self.intercept, batch_size, self.mean_weight,
                   self.row_loss, batch_losses, self.grad_coef, self.grad_intercept)
        losses = batch_losses.tolist()
        guard.check_batches([loss / (min(batch_size, n_samples - start) * self.mean_weight)
                             for start, loss in zip(range(0, n_samples, batch_size), losses)],
                            lambda i: order[i * batch_size:(i + 1) * batch_size])
        data_loss = 0.0
        for loss in losses:
            data_loss += loss
        return data_loss

    def objective(self, estimator):
        """The full objective and its gradient at the current weights, by training's own fused kernel.

        One batch of every row in order: ``sum_i w_i L_i / sum_i w_i + penalty(coef)``
        (``w`` the sample weight times the class weight, as training uses).

        Returns
        -------
        loss : float
        grad : ndarray of shape (n_params,)
            Gradient with respect to the flat parameter vector (zeros for the
            intercepts of a model without them).
        """
        n_samples = self.X.shape[0]
        row_loss = np.empty(n_samples, dtype=self.X.dtype)
        self.batch_gradient(self.X, np.arange(n_samples, dtype=np.intp), self.y, self.weight, self.coef,
                            self.intercept, self.dtype(1 / self.total_weight), row_loss, self.grad_coef,
                            self.grad_intercept)
        alpha_l1, alpha_l2 = estimator._penalty_parts()  # the whole penalty, decoupled (adamw) or not
        grad = self.grad.copy()
        grad[: self.weights.shape[0]] += alpha_l2 * self.weights + alpha_l1 * np.sign(self.weights)
        if not estimator.fit_intercept:
            grad[self.weights.shape[0]:] = 0
        loss = float(row_loss.sum(dtype=np.float64)) / self.total_weight + estimator._penalty(self.weights)
        return loss, grad

    def _add_l1_gradient(self):
        if self.alpha_l1_grad > 0:
            np.sign(self.weights, out=self.penalty_buffer)
            self.penalty_buffer *= self.alpha_l1_grad
            self.grad_weights += self.penalty_buffer
