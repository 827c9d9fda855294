"""The optimizer step applied inside the Cython fused gradient kernel (``DeferredSteps``, ``after=``).

The estimators record the step (``defer=`` of the Cython step kernels) and the gradient kernel applies
it to each part of the gradient once the part is final. It must be exactly the step run after the
kernel: the same bits, for every optimizer, dtype, thread count and batch shape, and in the fitted
models (compared with the unfused loop, reached by switching the fusion off)."""
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification

from fastlc import LinearRegressor, LinearSVMClassifier, SoftmaxClassifier
from fastlc._memory import aligned_zeros
from fastlc.linear_model._base import BaseLinearModel

from conftest import require_backend

# (step kernel, its arguments between grad and the arrays, its optional-buffer arguments): the
# scalars are arbitrary but in range, so each optimizer's own formula runs
STEPS = {
    "adam": ("adam_step", (1e-2, 1.1, 0.9, 0.1, 0.999, 0.001, 1e-8, 0.01, 1.0, False, False), 3),
    "adamw-amsgrad": ("adam_step", (1e-2, 1.1, 0.9, 0.1, 0.999, 0.001, 1e-8, 0.0, 0.99, True, False), 3),
    "rmsprop-centered-momentum": ("rmsprop_step", (1e-2, 0.99, 0.01, 0.0, 1e-8, 0.01, 0.9, True, False), 3),
    "sgd-nesterov": ("sgd_step", (1e-2, 0.9, 1.0, 0.01, True, False, False), 1),
    "adagrad": ("adagrad_step", (1e-2, 0.0, 1e-10, 0.01, False), 1),
}

# (batch rows, classes, features): one chunk with a short gradient, several chunks with several parts
SHAPES = [(20, 3, 5), (200, 10, 784)]


def _kernel_problem(dtype, n_batch, n_classes, n_features, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((300, n_features)).astype(dtype)
    y = rng.integers(0, n_classes, 300).astype(np.intp)
    rows = rng.permutation(300)[:n_batch].astype(np.intp)
    params = aligned_zeros(n_classes * n_features + n_classes, dtype)
    params[:] = rng.standard_normal(params.shape[0])
    # positive state buffers; the third small (centered RMSprop's grad_avg: its square stays below
    # square_avg, so the variance under the sqrt is positive)
    buffers = [rng.uniform(low, high, params.shape[0]).astype(dtype) for low, high in ((0.1, 1), (0.1, 1), (0, 0.1))]
    return X, y, rows, params, buffers


def _train_three_batches(optim, linear, step_name, dtype, shape, n_threads, fused):
    """Three batches of gradient + step on the flat params, split in two step pieces as the estimators do."""
    n_batch, n_classes, n_features = shape
    X, y, rows, params, buffers = _kernel_problem(dtype, *shape)
    kernel_name, scalars, n_buffers = STEPS[step_name]
    step_kernel = getattr(optim, kernel_name)
    n_weights = n_classes * n_features
    grad = aligned_zeros(params.shape, dtype)
    coef, intercept = params[:n_weights].reshape(n_classes, n_features), params[n_weights:]
    grad_coef, grad_intercept = grad[:n_weights].reshape(n_classes, n_features), grad[n_weights:]
    weight = np.ones(300, dtype)
    defer = optim.DeferredSteps() if fused else None
    cast = [dtype(value) if isinstance(value, float) else value for value in scalars]

    def step():
        if fused:
            defer.clear()
        for lo, hi in ((0, n_weights), (n_weights, params.shape[0])):
            pieces = [b[lo:hi] for b in buffers[:n_buffers]]
            extra = {"defer": defer} if fused else {}
            step_kernel(grad[lo:hi], *cast, params[lo:hi], *pieces, n_threads, **extra)

    for _ in range(3):
        if fused:
            step()
        loss = np.empty(n_batch, dtype)
        after = {"after": defer.capsule} if fused else {}
        linear.linear_hinge_gradient(X, rows, y, weight, coef, intercept, dtype(1 / max(n_batch, 1)), dtype(1.0), False,
                                     loss, grad_coef, grad_intercept, n_threads, **after)
        if not fused:
            step()
    return params, buffers


@pytest.mark.parametrize("shape", SHAPES, ids=["one-chunk", "four-chunks"])
@pytest.mark.parametrize("step_name", list(STEPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_step_in_the_kernel_is_the_step_after_it(dtype, step_name, shape):
    require_backend("cython")
    from fastlc._cython import _linear, _optim

    reference, reference_buffers = _train_three_batches(_optim, _linear, step_name, dtype, shape, 1, fused=False)
    assert np.all(np.isfinite(reference))
    for n_threads in (1, 2):
        params, buffers = _train_three_batches(_optim, _linear, step_name, dtype, shape, n_threads, fused=True)
        np.testing.assert_array_equal(params, reference)
        for buffer, expected in zip(buffers, reference_buffers):
            np.testing.assert_array_equal(buffer, expected)


def test_an_empty_batch_still_steps():
    """No rows: the gradient is zero and the step still runs (Adam's momentum moves the weights)."""
    require_backend("cython")
    from fastlc._cython import _linear, _optim

    results = []
    for fused in (False, True):
        params, _ = _train_three_batches(_optim, _linear, "adam", np.float64, (0, 2, 6), 1, fused)
        results.append(params)
    np.testing.assert_array_equal(results[1], results[0])
    _, _, _, start, _ = _kernel_problem(np.float64, 0, 2, 6)
    assert not np.array_equal(results[0], start)


def test_deferred_steps_hold_at_most_four_steps():
    require_backend("cython")
    from fastlc._cython import _optim

    defer = _optim.DeferredSteps()
    grad = np.zeros(8)
    for _ in range(4):
        _optim.sgd_step(grad, 0.1, 0.0, 1.0, 0.0, False, False, False, np.zeros(8), np.empty(0), 1, defer=defer)
    with pytest.raises(ValueError, match="at most 4 steps"):
        _optim.sgd_step(grad, 0.1, 0.0, 1.0, 0.0, False, False, False, np.zeros(8), np.empty(0), 1, defer=defer)
    defer.clear()
    _optim.sgd_step(grad, 0.1, 0.0, 1.0, 0.0, False, False, False, np.zeros(8), np.empty(0), 1, defer=defer)


def test_a_recorded_step_does_not_run_until_the_kernel_runs_it():
    require_backend("cython")
    from fastlc._cython import _optim

    params = np.ones(8)
    _optim.sgd_step(np.ones(8), 0.1, 0.0, 1.0, 0.0, False, False, False, params, np.empty(0), 1,
                    defer=_optim.DeferredSteps())
    assert np.array_equal(params, np.ones(8))


# ---------------------------------------------------------------- estimators


def _fit(Estimator, X, y, fused, monkeypatch, **params):
    with monkeypatch.context() as patch:
        if not fused:
            patch.setattr(BaseLinearModel, "_deferred_steps", lambda self, backend: None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Estimator(max_epochs=3, batch_size=64, random_state=0, backend="cython", **params).fit(X, y)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("optimizer", ["sgd", "nesterov", "adagrad", "rmsprop", "adam", "adamw"])
@pytest.mark.parametrize("Estimator", [SoftmaxClassifier, LinearSVMClassifier, LinearRegressor],
                         ids=["softmax", "svm", "regressor"])
def test_estimators_train_the_same_bits_with_the_step_in_the_kernel(Estimator, optimizer, fit_intercept,
                                                                    monkeypatch):
    require_backend("cython")
    X, y = make_classification(n_samples=300, n_features=20, n_informative=6, n_classes=3, random_state=0)
    if Estimator is LinearRegressor:
        y = X[:, :3] @ np.array([1.0, -2.0, 0.5]) + 0.1
    X = X.astype(np.float32)
    params = dict(optimizer=optimizer, fit_intercept=fit_intercept, learning_rate=1e-2, alpha=1e-3)
    fused = _fit(Estimator, X, y, True, monkeypatch, **params)
    assert fused._deferred_steps("cython") is not None  # the fusion really ran
    plain = _fit(Estimator, X, y, False, monkeypatch, **params)
    np.testing.assert_array_equal(fused.coef_, plain.coef_)
    np.testing.assert_array_equal(fused.intercept_, plain.intercept_)
    assert fused.loss_curve_ == plain.loss_curve_
    assert not np.array_equal(fused.coef_, np.zeros_like(fused.coef_))


@pytest.mark.parametrize("params", [dict(penalty="l1"), dict(penalty="elasticnet"), dict(backend="numba")],
                         ids=["l1", "elasticnet", "numba"])
def test_no_fusion_with_an_l1_term_or_another_backend(params):
    """The L1 subgradient is added to the gradient between kernel and step; Numba has no such kernel."""
    require_backend("cython")
    model = SoftmaxClassifier(**params)
    X, y = make_classification(n_samples=50, n_features=4, n_informative=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.set_params(max_epochs=1).fit(X, y)
    backend = params.get("backend", "cython")
    assert model._deferred_steps(backend) is None
