"""The fused linear-model gradients (kernels */_linear) against the loss kernels (kernels */_losses).

Both call one row function per loss in each backend (Numba: kernels/numba/_rowmath.py;
Cython: kernels/cython/_rowmath.h), so on the same scores they must agree, also on the
rows where copies of a formula drift apart: +-inf, NaN, huge values, float32 values whose
+1 is lost, and ties. One sample with the single feature 1, weights = the scores and a zero
intercept makes the fused kernel's scores exactly the row (s * 1 + 0 == s, also for +-inf
and NaN), so its intercept gradient is the loss kernel's score gradient and its
coefficient gradient that times 1.
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastlc._dispatch import get_kernel

from conftest import require_backend

# (scores, label): each row is one sample of the batch
EXTREME_ROWS = {
    "plus-inf": ([0.0, np.inf], 0),
    "plus-inf-correct": ([np.inf, 0.0, -1.0], 0),
    "minus-inf": ([-np.inf, 0.0, 1.0], 1),
    "minus-inf-correct": ([-np.inf, 0.0, 1.0], 0),
    "nan": ([0.5, np.nan, -0.5], 0),
    "huge": ([1e30, -1e30, 0.0], 2),
    "float32-1e8": ([1e8, 0.0], 1),
    "ties": ([2.0, 2.0, 2.0], 1),
}

LOSSES = {
    "hinge": dict(kind="hinge", squared=False),
    "squared-hinge": dict(kind="hinge", squared=True),
    "cross-entropy": dict(kind="ce", class_weight=False, label_smoothing=0.0),
    # a class weight of 0 checks the "0 * -inf is not NaN" guard, smoothing the second sum
    "cross-entropy-weighted-smoothed": dict(kind="ce", class_weight=True, label_smoothing=0.1),
}


def fused_and_loss_kernel(backend, dtype, scores, label, options):
    """(loss, grad_coef[:, 0], grad_intercept) of the fused kernel and (loss, grad) of the loss kernel."""
    scores = np.array([scores], dtype=dtype)
    n_classes = scores.shape[1]
    X, rows, y = np.ones((1, 1), dtype=dtype), np.zeros(1, dtype=np.intp), np.array([label], dtype=np.intp)
    weight, scale = np.ones(1, dtype=dtype), dtype(0.5)
    coef, intercept = scores.T.copy(), np.zeros(n_classes, dtype)
    # outputs start as NaN garbage: both kernels must overwrite them
    fused_loss, grad_coef, grad_intercept = (np.full(1, np.nan, dtype), np.full((n_classes, 1), np.nan, dtype),
                                             np.full(n_classes, np.nan, dtype))
    row_loss, grad_scores = np.full(1, np.nan, dtype), np.full_like(scores, np.nan)
    if options["kind"] == "hinge":
        margin, squared = dtype(1), options["squared"]
        get_kernel("linear_hinge_gradient", backend)(X, rows, y, weight, coef, intercept, scale, margin, squared,
                                                     fused_loss, grad_coef, grad_intercept, 1)
        get_kernel("multiclass_hinge", backend)(scores, y, weight, scale, margin, squared, row_loss, grad_scores, 1)
    else:
        class_weight = np.array([0.5, 2.0, 0.0][:n_classes] if options["class_weight"] else np.ones(n_classes),
                                dtype=dtype)
        smoothing = dtype(options["label_smoothing"])
        get_kernel("linear_cross_entropy_gradient", backend)(X, rows, y, class_weight, weight, coef, intercept,
                                                             scale, smoothing, fused_loss, grad_coef,
                                                             grad_intercept, 1)
        get_kernel("cross_entropy_hard", backend)(scores, y, class_weight, weight, scale, smoothing, row_loss,
                                                  grad_scores, 1)
    return (fused_loss, grad_coef[:, 0], grad_intercept), (row_loss, grad_scores[0])


@pytest.mark.parametrize("loss", LOSSES, ids=list(LOSSES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("any_backend", ["naive", "numpy", "numba", "cython"])
def test_fused_gradient_equals_the_loss_kernel_on_extreme_rows(any_backend, dtype, loss):
    require_backend(any_backend)
    options = LOSSES[loss]
    for name, (scores, label) in EXTREME_ROWS.items():
        (fused_loss, grad_coef, grad_intercept), (row_loss, grad) = fused_and_loss_kernel(
            any_backend, dtype, scores, label, options)
        for got, want, what in [(fused_loss, row_loss, "loss"), (grad_intercept, grad, "grad_intercept"),
                                (grad_coef, grad, "grad_coef")]:
            assert got.dtype == dtype
            message = f"row {name} {scores}, label {label}: {what}"
            if options["kind"] == "hinge":
                # the same row function on the same values: the same bits
                assert_array_equal(got, want, err_msg=message)
            else:
                # The same row function, but Numba compiles the fused kernel without re-association
                # (see kernels/numba/_linear.py), so the sum of the exps may round differently.
                assert_allclose(got, want, rtol=4 * np.finfo(dtype).eps, atol=0, err_msg=message)
