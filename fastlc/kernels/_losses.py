"""Public loss functions: validate once, allocate, dispatch to a backend kernel."""
import numpy as np

from .._config import rowwise_n_threads
from .._dispatch import get_kernel, resolve_backend
from .._validation import (
    check_bool,
    check_choice,
    check_fits,
    check_int,
    check_float_array,
    check_labels,
    check_n_threads,
    check_out,
    check_scalar,
    check_weights,
)

REDUCTIONS = ("mean", "sum", "none")


def _check_scores(scores, name):
    scores = check_float_array(scores, name, ndim=2)
    if scores.shape[1] < 1:
        raise ValueError(f"{name} must have at least one class (column); got shape {scores.shape}")
    return scores


def _reduce(row_losses, reduction, denominator):
    """Turn per-row (already weighted) losses into the requested reduction."""
    if reduction == "none":
        return row_losses
    # np.sum is pairwise and sequential: the result does not depend on n_threads.
    total = row_losses.sum(dtype=row_losses.dtype)
    if reduction == "sum":
        return total
    # in Python floats (float64, as NumPy would): no errstate context on the hot path
    return row_losses.dtype.type(float(total) / denominator if denominator != 0 else float("nan"))


def _grad_scale(reduction, denominator, dtype):
    if reduction != "mean":
        return dtype.type(1)
    return dtype.type(1.0 / denominator) if denominator != 0 else dtype.type(np.nan)


def multiclass_hinge(scores, y, *, margin=1.0, squared=False, sample_weight=None, reduction="mean",
                     backend="auto", n_threads=None, out=None):
    r"""Multiclass SVM (Weston-Watkins) hinge loss and its gradient.

    .. math:: L_i = \sum_{j \ne y_i} h(s_{ij} - s_{i y_i} + \Delta),\quad
              h(z) = \max(0, z)\ \text{or}\ \max(0, z)^2 \text{ when squared}

    This is the sum over wrong classes (CS231n); PyTorch's ``multi_margin_loss``
    divides that sum by C. At the kink z = 0 the subgradient is 0.

    Parameters
    ----------
    scores : array_like of shape (n_samples, n_classes)
        Class scores, float32 or float64 (the result keeps this dtype).
    y : array_like of int, shape (n_samples,)
        Correct class of each sample, in [0, n_classes).
    margin : float, default=1.0
        The margin Delta, >= 0.
    squared : bool, default=False
        Use the squared hinge (L2-SVM).
    sample_weight : array_like of shape (n_samples,), optional
        Non-negative weight of each sample's loss.
    reduction : {"mean", "sum", "none"}, default="mean"
        "mean" is ``sum(w_i L_i) / sum(w_i)``; "none" returns ``w_i L_i`` per sample.
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional
        Threads of the compiled backends; None: as many as the process is allowed.
    out : ndarray of shape (n_samples, n_classes), optional
        Array the gradient is written into.

    Returns
    -------
    loss : scalar of the scores' dtype, or ndarray of shape (n_samples,) for "none"
    grad : ndarray of shape (n_samples, n_classes)
        Gradient of the reduced loss with respect to ``scores`` (for "none":
        of the sum of the per-sample losses).
    """
    scores = _check_scores(scores, "scores")
    n_samples, n_classes = scores.shape
    dtype = scores.dtype
    y, _ = check_labels(y, n_samples, n_classes, "y")
    # 1e300 is inf in float32 (an inf loss), 1e-50 is 0 (a margin that ties count as met)
    margin = check_fits(check_scalar(margin, "margin", low=0.0), "margin", dtype)
    squared = check_bool(squared, "squared")
    reduction = check_choice(reduction, "reduction", REDUCTIONS)
    row_weight = check_weights(sample_weight, n_samples, "sample_weight", dtype)
    n_threads = rowwise_n_threads(scores.size, check_n_threads(n_threads))
    kernel = get_kernel("multiclass_hinge", resolve_backend(backend, "multiclass_hinge"))
    grad = check_out(out, scores.shape, dtype, inputs=(scores,))
    row_losses = np.empty(n_samples, dtype=dtype)
    denominator = float(n_samples) if sample_weight is None else float(row_weight.sum(dtype=np.float64))
    kernel(scores, y, row_weight, _grad_scale(reduction, denominator, dtype), dtype.type(margin), squared,
           row_losses, grad, n_threads)
    return _reduce(row_losses, reduction, denominator), grad


def softmax_cross_entropy(logits, y, *, class_weight=None, sample_weight=None, label_smoothing=0.0,
                          ignore_index=-100, reduction="mean", backend="auto", n_threads=None, out=None):
    r"""Softmax cross-entropy and its gradient, computed stably (max-shifted).

    .. math:: L_i = -\sum_c q_{ic} \log \mathrm{softmax}(s_i)_c,\qquad
              \frac{\partial L_i}{\partial s_{ic}} = \Big(\sum_k q_{ik}\Big)\,\mathrm{softmax}(s_i)_c - q_{ic}

    with target weights ``q`` as in PyTorch's ``F.cross_entropy``: for class
    indices ``q_ic = (1 - eps) w_{y_i} [c = y_i] + eps / C * w_c``; for target
    probabilities ``t`` ``q_ic = w_c ((1 - eps) t_ic + eps / C)``, where ``w`` is
    ``class_weight`` and ``eps`` is ``label_smoothing``. Each row is further
    multiplied by ``sample_weight``.

    Parameters
    ----------
    logits : array_like of shape (n_samples, n_classes)
        Unnormalised scores, float32 or float64 (the result keeps this dtype).
    y : array_like of shape (n_samples,) of int, or (n_samples, n_classes) of float
        Class indices in [0, n_classes), or target probabilities (soft labels).
    class_weight : array_like of shape (n_classes,), optional
        Weight of each class.
    sample_weight : array_like of shape (n_samples,), optional
        Weight of each sample (beyond PyTorch; 0 removes the sample).
    label_smoothing : float in [0, 1], default=0.0
    ignore_index : int or None, default=-100
        Samples whose label equals this value contribute nothing and are left
        out of the mean (PyTorch's default, -100); None ignores no label. Only
        for class-index targets: with target probabilities it must keep its
        default (or be None).
    reduction : {"mean", "sum", "none"}, default="mean"
        "mean" divides by the summed weights ``sum_i sw_i * w_{y_i}`` of the
        non-ignored samples (by ``sum_i sw_i`` for probability targets), as PyTorch does.
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional
        Threads of the compiled backends; None: as many as the process is allowed.
    out : ndarray of shape (n_samples, n_classes), optional
        Array the gradient is written into.

    Returns
    -------
    loss : scalar of the logits' dtype, or ndarray of shape (n_samples,) for "none"
    grad : ndarray of shape (n_samples, n_classes)
        Gradient of the reduced loss with respect to ``logits`` (for "none": of
        the sum of the per-sample losses).
    """
    logits = _check_scores(logits, "logits")
    n_samples, n_classes = logits.shape
    dtype = logits.dtype
    reduction = check_choice(reduction, "reduction", REDUCTIONS)
    label_smoothing = check_scalar(label_smoothing, "label_smoothing", low=0.0, high=1.0)
    class_weight = check_weights(class_weight, n_classes, "class_weight", dtype, what="class")
    row_weight = check_weights(sample_weight, n_samples, "sample_weight", dtype)
    n_threads = rowwise_n_threads(logits.size, check_n_threads(n_threads))
    ignore_index = check_int(ignore_index, "ignore_index", allow_none=True)
    y = np.asarray(y)
    soft = y.ndim == 2 and y.dtype.kind == "f"
    if soft:
        if ignore_index is not None and ignore_index != -100:
            raise ValueError(f"ignore_index={ignore_index!r} applies to class-index targets only, not to target "
                             f"probabilities (leave it at its default, -100)")
        target = check_float_array(y, "y", ndim=2, dtype=dtype)
        if target.shape != logits.shape:
            raise ValueError(f"y holds target probabilities of shape {target.shape}; logits have shape {logits.shape}")
        denominator = row_weight.sum(dtype=np.float64)
        name = "cross_entropy_soft"
    else:
        target, ignored = check_labels(y, n_samples, n_classes, "y", ignore_index=ignore_index)
        if ignored is not None:
            row_weight = np.where(ignored, dtype.type(0), row_weight)
        denominator = (row_weight * class_weight[target]).sum(dtype=np.float64)
        name = "cross_entropy_hard"
    kernel = get_kernel(name, resolve_backend(backend, name))
    grad = check_out(out, logits.shape, dtype, inputs=(logits, target))
    row_losses = np.empty(n_samples, dtype=dtype)
    kernel(logits, target, class_weight, row_weight, _grad_scale(reduction, denominator, dtype),
           dtype.type(label_smoothing), row_losses, grad, n_threads)
    return _reduce(row_losses, reduction, denominator), grad


def _rowwise(name, logits, backend, n_threads, out):
    logits = _check_scores(logits, "logits")
    n_threads = rowwise_n_threads(logits.size, check_n_threads(n_threads))
    kernel = get_kernel(name, resolve_backend(backend, name))
    result = check_out(out, logits.shape, logits.dtype, inputs=(logits,))
    kernel(logits, result, n_threads)
    return result


def log_softmax(logits, *, backend="auto", n_threads=None, out=None):
    """Stable log-softmax over the last axis.

    Parameters
    ----------
    logits : array_like of shape (n_samples, n_classes)
        float32 or float64; the result keeps the dtype.
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional
    out : ndarray of shape (n_samples, n_classes), optional

    Returns
    -------
    log_prob : ndarray of shape (n_samples, n_classes)
        ``s - max(s) - log(sum(exp(s - max(s))))`` row by row.
    """
    return _rowwise("log_softmax", logits, backend, n_threads, out)


def softmax(logits, *, backend="auto", n_threads=None, out=None):
    """Stable softmax over the last axis.

    Parameters
    ----------
    logits : array_like of shape (n_samples, n_classes)
        float32 or float64; the result keeps the dtype.
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional
    out : ndarray of shape (n_samples, n_classes), optional

    Returns
    -------
    prob : ndarray of shape (n_samples, n_classes)
        Rows sum to 1; never exponentiates an unshifted logit.
    """
    return _rowwise("softmax", logits, backend, n_threads, out)
