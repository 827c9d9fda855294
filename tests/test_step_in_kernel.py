"""The Cython epoch loop: every batch's fused gradient, then its optimizer step applied inside the kernel.

The estimators record each batch's step (``defer=`` of the Cython step kernels, in a ``DeferredSteps``)
and ``linear_*_epoch`` runs the batches, applying batch b's step to each part of the gradient once the
part is final. It must be exactly the Python loop of kernel then step: the same bits, for every
optimizer, dtype, thread count and batch shape, and in the fitted models (compared with the Python
loop, reached by switching the epoch loop off)."""
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification

from fastlc import LinearRegressor, LinearSVMClassifier, SoftmaxClassifier
from fastlc._memory import aligned_zeros
from fastlc.linear_model._base import BaseLinearModel

from conftest import require_backend

# (step kernel, its scalar arguments between grad and the arrays, how many state buffers): the scalars
# are arbitrary but in range, so each optimizer's own formula runs; the first one is the learning rate
STEPS = {
    "adam": ("adam_step", (1e-2, 1.1, 0.9, 0.1, 0.999, 0.001, 1e-8, 0.01, 1.0, False, False), 3),
    "adamw-amsgrad": ("adam_step", (1e-2, 1.1, 0.9, 0.1, 0.999, 0.001, 1e-8, 0.0, 0.99, True, False), 3),
    "rmsprop-centered-momentum": ("rmsprop_step", (1e-2, 0.99, 0.01, 0.0, 1e-8, 0.01, 0.9, True, False), 3),
    "sgd-nesterov": ("sgd_step", (1e-2, 0.9, 1.0, 0.01, True, False, False), 1),
    "adagrad": ("adagrad_step", (1e-2, 0.0, 1e-10, 0.01, False), 1),
}

# (rows, batch size, classes, features): short batches of a short gradient (one chunk, one part), and
# 200-row batches of a 10 x 784 model (four chunks, two parts), each epoch ending on a shorter batch
SHAPES = [(50, 20, 3, 5), (530, 200, 10, 784)]


def _kernel_problem(dtype, n_rows, n_classes, n_features, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((600, n_features)).astype(dtype)
    y = rng.integers(0, n_classes, 600).astype(np.intp)
    order = rng.permutation(600)[:n_rows].astype(np.intp)
    params = aligned_zeros(n_classes * n_features + n_classes, dtype)
    params[:] = rng.standard_normal(params.shape[0])
    # positive state buffers; the third small (centered RMSprop's grad_avg: its square stays below
    # square_avg, so the variance under the sqrt is positive)
    buffers = [rng.uniform(low, high, params.shape[0]).astype(dtype) for low, high in ((0.1, 1), (0.1, 1), (0, 0.1))]
    return X, y, order, params, buffers


def _epoch(optim, linear, step_name, dtype, shape, n_threads, compiled):
    """One epoch of hinge batches, each followed by its step (a learning rate of its own, so that a
    mixed-up batch shows), split in two pieces as the estimators do. Returns params, buffers, batch losses."""
    n_rows, batch_size, n_classes, n_features = shape
    X, y, order, params, buffers = _kernel_problem(dtype, n_rows, n_classes, n_features)
    kernel_name, scalars, n_buffers = STEPS[step_name]
    step_kernel = getattr(optim, kernel_name)
    n_weights = n_classes * n_features
    grad = aligned_zeros(params.shape, dtype)
    coef, intercept = params[:n_weights].reshape(n_classes, n_features), params[n_weights:]
    grad_coef, grad_intercept = grad[:n_weights].reshape(n_classes, n_features), grad[n_weights:]
    weight = np.ones(600, dtype)
    defer = optim.DeferredSteps() if compiled else None
    starts = range(0, n_rows, batch_size)

    def step(batch):
        cast = [dtype(v) if isinstance(v, float) else v for v in ((batch + 1) * scalars[0], *scalars[1:])]
        for lo, hi in ((0, n_weights), (n_weights, params.shape[0])):
            extra = {"defer": defer} if compiled else {}
            step_kernel(grad[lo:hi], *cast, params[lo:hi], *[b[lo:hi] for b in buffers[:n_buffers]], n_threads,
                        **extra)

    row_loss = np.empty(batch_size, dtype)
    if compiled:
        for batch in range(len(starts)):
            step(batch)
        defer.split(len(starts))
        batch_losses = np.empty(len(starts))
        linear.linear_hinge_epoch(X, order, y, weight, coef, intercept, batch_size, 1.0, dtype(1.0), False,
                                  row_loss, batch_losses, grad_coef, grad_intercept, n_threads, after=defer.capsule)
        return params, buffers, batch_losses
    batch_losses = []
    for batch, start in enumerate(starts):
        rows = order[start:start + batch_size]
        loss = row_loss[: rows.shape[0]]
        linear.linear_hinge_gradient(X, rows, y, weight, coef, intercept, dtype(1 / (rows.shape[0] * 1.0)),
                                     dtype(1.0), False, loss, grad_coef, grad_intercept, n_threads)
        batch_losses.append(np.cumsum(loss, dtype=np.float64)[-1])  # in double, in row order
        step(batch)
    return params, buffers, np.array(batch_losses)


@pytest.mark.parametrize("shape", SHAPES, ids=["one-chunk", "four-chunks"])
@pytest.mark.parametrize("step_name", list(STEPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_epoch_loop_is_the_python_loop_of_kernel_then_step(dtype, step_name, shape):
    require_backend("cython")
    from fastlc._cython import _linear, _optim

    reference, reference_buffers, reference_losses = _epoch(_optim, _linear, step_name, dtype, shape, 1, False)
    assert np.all(np.isfinite(reference))
    for n_threads in (1, 2):
        params, buffers, batch_losses = _epoch(_optim, _linear, step_name, dtype, shape, n_threads, True)
        np.testing.assert_array_equal(params, reference)
        for buffer, expected in zip(buffers, reference_buffers):
            np.testing.assert_array_equal(buffer, expected)
        np.testing.assert_array_equal(batch_losses, reference_losses)


def _adam_epoch(optim, linear, repeat):
    """Two batches of a 2 x 4 hinge model (10 values) and their Adam steps, the second recorded in full or
    as a repeat of the first with its own scalars. Returns the parameters after the epoch."""
    defer = optim.DeferredSteps()
    params, grad, m, v = np.ones(10), np.zeros(10), np.zeros(10), np.zeros(10)
    for step_size, bias in ((0.1, 1.5), (0.2, 1.25)):
        if repeat and defer.n_steps:
            defer.repeat_adam(1, step_size, bias)
        else:
            optim.adam_step(grad, step_size, bias, 0.9, 0.1, 0.999, 0.001, 1e-8, 0.0, 1.0, False, False, params, m,
                            v, np.empty(0), 1, defer=defer)
    defer.split(2)
    X, y = np.arange(16.0).reshape(4, 4) / 16, np.array([0, 1, 1, 0], dtype=np.intp)
    linear.linear_hinge_epoch(X, np.arange(4, dtype=np.intp), y, np.ones(4), params[:8].reshape(2, 4), params[8:],
                              2, 1.0, 1.0, False, np.empty(2), np.empty(2), grad[:8].reshape(2, 4), grad[8:], 1,
                              after=defer.capsule)
    return params


def test_a_repeated_adam_step_is_the_step_recorded_in_full():
    require_backend("cython")
    from fastlc._cython import _linear, _optim

    full, repeated = (_adam_epoch(_optim, _linear, repeat) for repeat in (False, True))
    np.testing.assert_array_equal(repeated, full)
    assert np.all(full != 1.0)


def test_repeating_steps_in_one_call_is_repeating_them_one_at_a_time():
    require_backend("cython")
    from fastlc._cython import _optim

    def recorded(one_call):
        """Parameters after a 3-batch epoch of 2 Adam steps each (two slices of a 10-value model)."""
        defer = _optim.DeferredSteps()
        params, grad, m, v = np.ones(10), np.linspace(-1, 1, 10), np.zeros(10), np.zeros(10)
        for lo, hi in ((0, 8), (8, 10)):
            _optim.adam_step(grad[lo:hi], 0.1, 1.5, 0.9, 0.1, 0.999, 0.001, 1e-8, 0.0, 1.0, False, False,
                             params[lo:hi], m[lo:hi], v[lo:hi], np.empty(0), 1, defer=defer)
        scalars = [(0.2, 1.25), (0.3, 1.125)]
        if one_call:
            defer.repeat_adam_each(2, np.array([s for s, _ in scalars]), np.array([b for _, b in scalars]))
        else:
            for step_size, bias in scalars:
                defer.repeat_adam(2, step_size, bias)
        assert defer.n_steps == 6
        defer.split(3)
        X, y = np.arange(24.0).reshape(6, 4) / 24, np.array([0, 1, 1, 0, 1, 0], dtype=np.intp)
        _linear_epoch(X, y, params, grad, defer)
        return params

    np.testing.assert_array_equal(recorded(True), recorded(False))


def _linear_epoch(X, y, params, grad, defer):
    from fastlc._cython import _linear

    _linear.linear_hinge_epoch(X, np.arange(X.shape[0], dtype=np.intp), y, np.ones(X.shape[0]),
                               params[:8].reshape(2, 4), params[8:], 2, 1.0, 1.0, False, np.empty(2),
                               np.empty(X.shape[0] // 2), grad[:8].reshape(2, 4), grad[8:], 1, after=defer.capsule)


def test_recordings_refuse_what_they_cannot_do():
    require_backend("cython")
    from fastlc._cython import _linear, _optim

    defer = _optim.DeferredSteps()
    args = (np.zeros(8), 0.1, 0.0, 1.0, 0.0, False, False, False, np.zeros(8), np.empty(0), 1)
    with pytest.raises(ValueError, match="cannot repeat the last 1 steps of 0"):
        defer.repeat(1)
    for _ in range(3):
        _optim.sgd_step(*args, defer=defer)
    defer.repeat(2)
    assert defer.n_steps == 5
    defer.repeat(1, times=0)
    with pytest.raises(ValueError, match="times must be >= 0, got -1"):
        defer.repeat(1, times=-1)
    with pytest.raises(ValueError, match="cannot repeat the last 6 steps of 5"):
        defer.repeat(6, times=2)
    with pytest.raises(ValueError, match="must be Adam steps"):
        defer.repeat_adam(1, 0.1, 1.0)
    with pytest.raises(ValueError, match="must be Adam steps"):
        defer.repeat_adam_each(1, np.array([0.1, 0.2]), np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="2 step sizes but 1 bias corrections"):
        defer.repeat_adam_each(1, np.array([0.1, 0.2]), np.array([1.0]))
    assert defer.n_steps == 5
    twice = _optim.DeferredSteps()
    _optim.sgd_step(*args, defer=twice)
    twice.repeat(1, times=2)
    assert twice.n_steps == 3
    with pytest.raises(ValueError, match="cannot split 5 recorded steps into 2"):
        defer.split(2)
    defer.split(5)
    X, y = np.ones((30, 4)), np.zeros(30, dtype=np.intp)
    grad = np.zeros(8)
    epoch = (X, np.arange(30, dtype=np.intp), y, np.ones(30), np.zeros((1, 4)), np.zeros(1), 5, 1.0, 1.0, False)
    with pytest.raises(ValueError, match="5 groups of steps, fewer than the 6 batches"):
        _linear.linear_hinge_epoch(*epoch, np.empty(5), np.empty(6), grad[:4].reshape(1, 4), grad[4:5], 1,
                                   after=defer.capsule)
    with pytest.raises(ValueError, match="needs row_loss of >= 5 values"):
        _linear.linear_hinge_epoch(*epoch, np.empty(4), np.empty(6), grad[:4].reshape(1, 4), grad[4:5], 1)
    defer.clear()
    assert defer.n_steps == 0


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
def test_estimators_train_the_same_bits_in_the_epoch_loop(Estimator, optimizer, fit_intercept,
                                                                    monkeypatch):
    require_backend("cython")
    X, y = make_classification(n_samples=300, n_features=20, n_informative=6, n_classes=3, random_state=0)
    if Estimator is LinearRegressor:
        y = X[:, :3] @ np.array([1.0, -2.0, 0.5]) + 0.1
    X = X.astype(np.float32)
    params = dict(optimizer=optimizer, fit_intercept=fit_intercept, learning_rate=1e-2, alpha=1e-3)
    fused = _fit(Estimator, X, y, True, monkeypatch, **params)
    assert fused._deferred_steps("cython") is not None  # the epoch loop really ran
    plain = _fit(Estimator, X, y, False, monkeypatch, **params)
    np.testing.assert_array_equal(fused.coef_, plain.coef_)
    np.testing.assert_array_equal(fused.intercept_, plain.intercept_)
    # the loss rows are the same; the epoch loop sums each batch's in double, the Python loop with numpy
    np.testing.assert_allclose(fused.loss_curve_, plain.loss_curve_, rtol=1e-6)
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
