"""Public regression / binary losses and NLL (PyTorch's ``torch.nn.functional`` semantics).

Validate once, allocate, dispatch. The element-wise losses take arrays of any
shape (treated as flat) and return ``(loss, grad)``; the loss is summed per fixed
chunk (fastlc._chunking) in float64 and the chunks added in order, so it does not
depend on the thread count.
"""
import numpy as np

from .._chunking import n_chunks
from .._dispatch import get_kernel, resolve_backend
from .._validation import (
    _unit_weights,
    check_choice,
    check_fits,
    check_float_array,
    check_int,
    check_labels,
    check_n_threads,
    check_out,
    check_parameter_array,
    check_scalar,
    check_weights,
)
from ._losses import REDUCTIONS, _check_scores, _grad_scale, _reduce


#: The label an ignored row (``ignore_index``) is handed to the NLL kernels with.
IGNORED_LABEL = -1


def _check_like(array, name, input, input_name):
    array = check_float_array(array, name, dtype=input.dtype)
    if array.shape != input.shape:
        raise ValueError(f"{name} must have the shape of {input_name} {input.shape}; got {array.shape}")
    return array


def _check_broadcast_weight(weight, name, input, input_name):
    """Flat weights of ``input``'s size in its dtype, or an empty array when absent. Broadcast like PyTorch.

    A weight is a parameter, taken in the input's dtype as ``nll_loss``'s ``class_weight`` is (see
    check_parameter_array): ``weight=2.0`` or a list was refused for float32 input (they are float64)."""
    if weight is None:
        return np.empty(0, dtype=input.dtype)
    weight = check_parameter_array(weight, name, input.dtype)
    try:
        full = np.broadcast_to(weight, input.shape)
    except ValueError:
        raise ValueError(
            f"{name} of shape {weight.shape} does not broadcast to the shape of {input_name} {input.shape}"
        ) from None
    return np.ascontiguousarray(full).reshape(-1)


def _pointwise(name, input, target, *, input_name="input", param=0.0, param_name=None, param_underflows=False,
               weight=None, pos_weight=None, reduction, backend, n_threads, out, check_inputs=None, kernel_for=None,
               slope_factor=1):
    """The element-wise loss kernel ``name`` on validated inputs, reduced.

    ``param`` (delta, beta), named ``param_name``, must fit in the data's dtype (check_fits: 1e300 is inf in
    float32, where it was cast with a RuntimeWarning); ``param_underflows`` lets it be subnormal or 0 there.
    ``check_inputs(input, target)`` checks what only this loss requires of the values; ``kernel_for(dtype)``
    names the kernel to run where it depends on the data's dtype (default: ``name``); ``slope_factor``, a
    power of 2, multiplies the gradient's scale rather than each slope (MSE's 2 d overflowed float32 for
    |d| > 1.7e38 where the scaled gradient, PyTorch's, does not; the same bits otherwise).
    """
    input = check_float_array(input, input_name)
    target = _check_like(target, "target", input, input_name)
    reduction = check_choice(reduction, "reduction", REDUCTIONS)
    if check_inputs is not None:
        check_inputs(input, target)
    weight = _check_broadcast_weight(weight, "weight", input, input_name)
    pos_weight = _check_broadcast_weight(pos_weight, "pos_weight", input, input_name)
    n_threads = check_n_threads(n_threads)
    dtype = input.dtype
    if param_name is not None:
        check_fits(param, param_name, dtype, allow_underflow=param_underflows)
    if kernel_for is not None:
        name = kernel_for(dtype)
    kernel = get_kernel(name, resolve_backend(backend, name))
    grad = check_out(out, input.shape, dtype, inputs=(input, target))
    n = input.size
    loss_out = np.empty(input.shape if reduction == "none" else 0, dtype=dtype)
    partials = np.empty(n_chunks(n), dtype=np.float64)
    kernel(input.reshape(-1), target.reshape(-1), weight, pos_weight, dtype.type(param),
           dtype.type(slope_factor * float(_grad_scale(reduction, n, dtype))), loss_out.reshape(-1), partials,
           grad.reshape(-1), n_threads)
    if reduction == "none":
        return loss_out, grad
    total = float(partials.sum())
    with np.errstate(over="ignore"):  # a total beyond float32's range is inf, silently, as in PyTorch
        return dtype.type(total if reduction == "sum" else (total / n if n else float("nan"))), grad


_COMMON_DOC = """
    reduction : {"mean", "sum", "none"}, default="mean"
        "mean" averages over all elements (as PyTorch, also with ``weight``);
        "none" returns the per-element losses.
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional
        Threads of the compiled backends; None: as many as the process is allowed.
    out : ndarray of the input's shape, optional
        Array the gradient is written into.

    Returns
    -------
    loss : scalar of the input's dtype, or ndarray of the input's shape for "none"
    grad : ndarray of the input's shape
        Gradient of the reduced loss with respect to the input (for "none": of
        the sum of the per-element losses).

    Notes
    -----
    The input and target arrays must be float32 or float64 ndarrays (target in the input's
    dtype); a list of ints or floats becomes float64. The weights are parameters: ints or
    floats in any form, cast to the input's dtype. Bools are a TypeError everywhere.
"""


def _doc(text):
    def decorate(function):
        function.__doc__ = text + _COMMON_DOC
        return function
    return decorate


@_doc(r"""Mean squared error ``(x - t)^2`` and its gradient (``F.mse_loss``).

    Parameters
    ----------
    input : array_like of any shape, float32 or float64
    target : array_like of the same shape and dtype
""")
def mse_loss(input, target, *, reduction="mean", backend="auto", n_threads=None, out=None):
    return _pointwise("mse_loss", input, target, reduction=reduction, backend=backend, n_threads=n_threads,
                      out=out, slope_factor=2)


@_doc(r"""Absolute error ``|x - t|`` and its subgradient, 0 where ``x == t`` (``F.l1_loss``).

    Where ``x - t`` is NaN the gradient is NaN (PyTorch's is 0 there, from ``torch.sign(nan)``):
    NaN propagates through every fastlc kernel.

    Parameters
    ----------
    input : array_like of any shape, float32 or float64
    target : array_like of the same shape and dtype
""")
def l1_loss(input, target, *, reduction="mean", backend="auto", n_threads=None, out=None):
    return _pointwise("l1_loss", input, target, reduction=reduction, backend=backend, n_threads=n_threads, out=out)


@_doc(r"""Huber loss (``F.huber_loss``): ``d^2 / 2`` for ``|d| < delta``, else ``delta (|d| - delta / 2)``.

    Parameters
    ----------
    input : array_like of any shape, float32 or float64
    target : array_like of the same shape and dtype
    delta : float > 0, default=1.0
        It must hold in the input's dtype as a normal number (1e300 or 1e-50 in float32 is a ValueError).
""")
def huber_loss(input, target, *, delta=1.0, reduction="mean", backend="auto", n_threads=None, out=None):
    delta = check_scalar(delta, "delta", low=0.0, low_inclusive=False)
    return _pointwise("huber_loss", input, target, param=delta, param_name="delta", reduction=reduction,
                      backend=backend, n_threads=n_threads, out=out)


@_doc(r"""Smooth L1 loss (``F.smooth_l1_loss``): ``d^2 / (2 beta)`` for ``|d| < beta``, else ``|d| - beta / 2``.

    Parameters
    ----------
    input : array_like of any shape, float32 or float64
    target : array_like of the same shape and dtype
    beta : float >= 0, default=1.0
        0 gives the L1 loss (and its subgradient 0 at 0), as in PyTorch, and so does a beta that is 0 in
        the input's dtype (1e-50 in float32); one beyond the dtype's range (1e300 in float32) is a ValueError.
""")
def smooth_l1_loss(input, target, *, beta=1.0, reduction="mean", backend="auto", n_threads=None, out=None):
    beta = check_scalar(beta, "beta", low=0.0)

    def kernel_for(dtype):
        # beta = 0, or one so small that it is 0 in the data's dtype: the L1 loss, whose limit it is
        return "l1_loss" if dtype.type(beta) == 0 else "smooth_l1_loss"

    return _pointwise("smooth_l1_loss", input, target, param=beta, param_name="beta", param_underflows=True,
                      reduction=reduction, backend=backend, n_threads=n_threads, out=out, kernel_for=kernel_for)


def _check_probabilities(values, name):
    """Probabilities outside [0, 1] are refused, as PyTorch does. A NaN, which PyTorch refuses as well, is
    let through: NaN propagates through every fastlc kernel (the loss and its gradient are NaN)."""
    if values.size == 0:
        return
    low, high = values.min(), values.max()
    if not (low >= 0 and high <= 1):  # also when a NaN hides the extremes
        bad = (values < 0) | (values > 1)
        if bad.any():
            index = np.unravel_index(int(np.flatnonzero(bad.reshape(-1))[0]), values.shape)
            raise ValueError(f"{name}{[int(i) for i in index]} = {values[index]} is not a probability in [0, 1]")


def _check_bce_inputs(prob, target):
    """Both are probabilities (PyTorch checks the target too: "all elements of target should be between 0 and 1")."""
    _check_probabilities(prob, "prob")
    _check_probabilities(target, "target")


@_doc(r"""Binary cross-entropy on probabilities (``F.binary_cross_entropy``).

    ``-w (t log p + (1 - t) log(1 - p))`` with both logs clamped at -100, and the
    gradient ``w (p - t) / max(p (1 - p), 1e-12)``, as PyTorch.

    Parameters
    ----------
    prob : array_like of any shape, float32 or float64, values in [0, 1]
    target : array_like of the same shape and dtype, values in [0, 1] (as PyTorch, which rejects others)
        NaN is let through in either (it propagates to the loss and the gradient), where PyTorch raises.
    weight : array_like broadcastable to prob's shape, optional
        Per-element weight: ints or floats (an array, a list or a scalar), cast to prob's dtype;
        bools are a TypeError.
""")
def binary_cross_entropy(prob, target, *, weight=None, reduction="mean", backend="auto", n_threads=None, out=None):
    return _pointwise("binary_cross_entropy", prob, target, input_name="prob", weight=weight, reduction=reduction,
                      backend=backend, n_threads=n_threads, out=out, check_inputs=_check_bce_inputs)


@_doc(r"""Binary cross-entropy on logits (``F.binary_cross_entropy_with_logits``), stable for any logit.

    ``w ((1 - t) x + (1 + (pw - 1) t) softplus(-x))``, gradient
    ``w ((1 + (pw - 1) t) sigmoid(x) - pw t)``, both computed with the terms in x gathered
    by the sign of x (for x < 0, ``(1 - t) x - (1 + (pw - 1) t) x = -pw t x``), so that nothing
    cancels: a loss or gradient that is 0 in exact arithmetic is 0 (e.g. pw = 0 at a huge negative
    logit). An infinite logit gives the loss's limit, inf, at +inf for t < 1 and at -inf for
    pw t > 0 (PyTorch gives NaN at every -inf), and NaN (0 * inf) where that coefficient is 0;
    the gradient is finite there. NaN propagates.

    An infinite ``pos_weight`` (with t > 0, so that lw is inf) has an exact loss of inf and an exact
    gradient of -inf at every finite logit, but the backends compute ``lw log1p(e)``, e = exp(-|x|),
    which is inf * 0 = NaN where e underflows to 0, and a gradient ``coef + lw sigmoid(-|x|)`` that is
    -inf + inf = NaN for x < 0. So the loss is inf for |x| <= 87 (float32) or 708 (float64) in the numba
    and cython backends, whose exp flushes results below exp(-87) / exp(-708) to 0; for |x| up to about
    103.97 (float32) or 745.13 (float64) in numpy; for |x| up to about 745.13 in naive (which computes in
    float64); and NaN beyond. The gradient is -inf for x >= 0 within the same bounds and NaN elsewhere
    (PyTorch: NaN at every logit, and a NaN loss beyond its float32 exp's underflow as numpy's).

    Parameters
    ----------
    logits : array_like of any shape, float32 or float64
    target : array_like of the same shape and dtype
    weight : array_like broadcastable to logits' shape, optional
        Per-element weight: ints or floats (an array, a list or a scalar), cast to logits' dtype;
        bools are a TypeError.
    pos_weight : array_like broadcastable to logits' shape, optional
        Weight of the positive term, e.g. of shape (n_classes,) for logits of shape (n, n_classes); cast to
        logits' dtype as ``weight``.
""")
def binary_cross_entropy_with_logits(logits, target, *, weight=None, pos_weight=None, reduction="mean",
                                     backend="auto", n_threads=None, out=None):
    return _pointwise("binary_cross_entropy_with_logits", logits, target, input_name="logits", weight=weight,
                      pos_weight=pos_weight, reduction=reduction, backend=backend, n_threads=n_threads, out=out)


def nll_loss(log_prob, y, *, class_weight=None, ignore_index=-100, reduction="mean", backend="auto",
             n_threads=None, out=None):
    r"""Negative log-likelihood ``-w_{y_i} log_prob[i, y_i]`` and its gradient (``F.nll_loss``).

    Parameters
    ----------
    log_prob : array_like of shape (n_samples, n_classes)
        Log-probabilities (e.g. from ``log_softmax``), float32 or float64.
    y : array_like of int, shape (n_samples,)
        Class indices in [0, n_classes), or ``ignore_index``.
    class_weight : array_like of shape (n_classes,), optional
        PyTorch's ``weight``: finite non-negative ints or floats, cast to log_prob's dtype; bools are a
        TypeError. A row of weight 0 is weighed, not skipped: a NaN log-probability there gives NaN,
        as in PyTorch.
    ignore_index : int, default=-100
        Samples with this label contribute nothing and are left out of the mean.
    reduction : {"mean", "sum", "none"}, default="mean"
        "mean" divides by ``sum_i w_{y_i}`` over the samples not ignored (NaN when that is 0), as PyTorch.
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional
    out : ndarray of shape (n_samples, n_classes), optional
        Array the gradient is written into.

    Returns
    -------
    loss : scalar of log_prob's dtype, or ndarray of shape (n_samples,) for "none"
    grad : ndarray of shape (n_samples, n_classes)
    """
    log_prob = _check_scores(log_prob, "log_prob")
    n_samples, n_classes = log_prob.shape
    dtype = log_prob.dtype
    reduction = check_choice(reduction, "reduction", REDUCTIONS)
    ignore_index = check_int(ignore_index, "ignore_index")  # an int, as in F.nll_loss
    unweighted = class_weight is None
    class_weight = check_weights(class_weight, n_classes, "class_weight", dtype, what="class")
    y, ignored = check_labels(y, n_samples, n_classes, "y", ignore_index=ignore_index)
    if unweighted and ignored is None:
        # every row weighs 1: no gather of the class weights, no sum (a third of the time on 65 536 rows)
        row_weight = _unit_weights(n_samples, dtype)
        denominator = float(n_samples)
    else:
        row_weight = class_weight[y]
        if ignored is not None:
            row_weight = np.where(ignored, dtype.type(0), row_weight)
        denominator = float(row_weight.sum(dtype=np.float64))
    if ignored is not None:
        # the kernels skip the rows whose label is negative (loss and gradient 0, whatever log_prob holds);
        # every other row is -w log_prob, so a weight of 0 still lets a NaN through, as in PyTorch
        y = np.where(ignored, IGNORED_LABEL, y)
    n_threads = check_n_threads(n_threads)
    kernel = get_kernel("nll_loss", resolve_backend(backend, "nll_loss"))
    grad = check_out(out, log_prob.shape, dtype, inputs=(log_prob,))
    row_losses = np.empty(n_samples, dtype=dtype)
    kernel(log_prob, y, np.ascontiguousarray(row_weight), _grad_scale(reduction, denominator, dtype), row_losses,
           grad, n_threads)
    return _reduce(row_losses, reduction, denominator), grad
