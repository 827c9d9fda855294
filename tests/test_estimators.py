"""Behaviour of SoftmaxClassifier and LinearSVMClassifier beyond scikit-learn's checks."""
import copy
import io
import pickle
import re
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest
from scipy import sparse
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_digits, make_blobs, make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import InvalidParameterError

import fastlc
from fastlc import DivergenceError, LinearSVMClassifier, SoftmaxClassifier
from fastlc.linear_model._optimizers import LR_SCHEDULES, OPTIMIZERS, OptimizerState, scheduled_learning_rate

ESTIMATORS = [SoftmaxClassifier, LinearSVMClassifier]
IDS = ["softmax", "svm"]


@pytest.fixture(autouse=True)
def _quiet_convergence():
    # Most tests run few epochs on purpose; the warning itself is tested below.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0)


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=300, centers=4, n_features=6, cluster_std=1.0, random_state=0)
    return X, y


# --------------------------------------------------------------------------- accuracy


@pytest.mark.parametrize("Estimator, minimum", [(SoftmaxClassifier, 0.95), (LinearSVMClassifier, 0.93)], ids=IDS)
def test_digits_accuracy_with_default_parameters(Estimator, minimum, digits_split):
    # Raw digits (pixel values 0..16, no scaling), train_test_split(test_size=0.25, random_state=0).
    X_train, X_test, y_train, y_test = digits_split
    model = Estimator(random_state=0).fit(X_train, y_train)
    assert model.score(X_test, y_test) >= minimum


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_loss_curve_decreases_on_separable_problem(Estimator):
    X, y = make_blobs(n_samples=200, centers=[[-4, -4], [4, 4], [-4, 4]], cluster_std=0.5, random_state=0)
    # full-batch plain gradient descent with a small step: every epoch must lower the objective
    model = Estimator(optimizer="sgd", learning_rate=0.01, batch_size=200, max_epochs=50, random_state=0).fit(X, y)
    curve = np.asarray(model.loss_curve_)
    assert len(curve) == model.n_iter_
    assert np.all(np.diff(curve) <= 1e-12), curve
    assert curve[-1] < 0.5 * curve[0]
    assert model.score(X, y) == 1.0


@pytest.mark.parametrize("schedule", LR_SCHEDULES)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_every_optimizer_and_schedule_trains(Estimator, optimizer, schedule, blobs):
    X, y = blobs
    learning_rate = {"sgd": 0.05, "momentum": 0.01, "nesterov": 0.01, "adagrad": 0.1}.get(optimizer, 0.01)
    model = Estimator(optimizer=optimizer, lr_schedule=schedule, learning_rate=learning_rate, max_epochs=30,
                      batch_size=32, random_state=0).fit(X, y)
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    assert model.score(X, y) > 0.9
    assert model.t_ == model.n_iter_ * int(np.ceil(X.shape[0] / 32))


def test_learning_rate_schedules():
    kw = dict(lr_decay=0.5, lr_step_size=3, power_t=0.5)
    assert [scheduled_learning_rate(1.0, "constant", e, **kw) for e in range(3)] == [1.0, 1.0, 1.0]
    assert [scheduled_learning_rate(1.0, "step", e, **kw) for e in range(7)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]
    assert [scheduled_learning_rate(1.0, "exponential", e, **kw) for e in range(3)] == [1.0, 0.5, 0.25]
    assert scheduled_learning_rate(1.0, "invscaling", 3, **kw) == pytest.approx(0.5)


# ------------------------------------------------------------- objective and gradient


def _fitted(Estimator, X, y, **params):
    return Estimator(max_epochs=1, random_state=0, **params).fit(X, y)


@pytest.mark.parametrize("Estimator, expected", [(SoftmaxClassifier, np.log(10)), (LinearSVMClassifier, 9.0)],
                         ids=IDS)
def test_tiny_weights_sanity_values(Estimator, expected):
    # CS231n sanity check: with tiny random weights the softmax loss is ~log C, the SVM loss ~C - 1 (margin 1)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 20))
    y = np.arange(500) % 10
    model = _fitted(Estimator, X, y, alpha=0.0)
    model.coef_[...] = 1e-4 * rng.standard_normal(model.coef_.shape)
    model.intercept_[...] = 0
    loss, _, _ = model._objective(X, y)
    assert loss == pytest.approx(expected, rel=1e-2)


@pytest.mark.parametrize("class_weight", [None, {0: 2.0, 1: 0.5, 2: 1.5}], ids=["unweighted", "class-weight"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet", None])
@pytest.mark.parametrize("Estimator, extra", [
    (SoftmaxClassifier, {}),
    (SoftmaxClassifier, {"label_smoothing": 0.1}),
    (LinearSVMClassifier, {}),
    (LinearSVMClassifier, {"squared_hinge": True, "margin": 0.5}),
], ids=["softmax", "softmax-smoothing", "svm", "svm-squared"])
def test_objective_gradient_matches_finite_differences(Estimator, extra, penalty, fit_intercept, class_weight):
    # _objective runs training's own fused kernel, with sample weights times class weights as fit uses them
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 5))
    y = rng.integers(0, 3, 40)
    sample_weight = rng.uniform(0.5, 2.0, 40)
    model = _fitted(Estimator, X, y, alpha=0.3, penalty=penalty, l1_ratio=0.4, fit_intercept=fit_intercept,
                    class_weight=class_weight, **extra)
    model.coef_[...] = rng.standard_normal(model.coef_.shape)
    if fit_intercept:
        model.intercept_[...] = rng.standard_normal(3)
    _, grad_coef, grad_intercept = model._objective(X, y, sample_weight)
    h = 1e-6

    def numeric_gradient(array):
        result = np.empty(array.shape)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + h
            up = model._objective(X, y, sample_weight)[0]
            array[index] = saved - h
            down = model._objective(X, y, sample_weight)[0]
            array[index] = saved
            result[index] = (up - down) / (2 * h)
        return result

    np.testing.assert_allclose(grad_coef, numeric_gradient(model.coef_), rtol=1e-5, atol=1e-7)
    if fit_intercept:
        np.testing.assert_allclose(grad_intercept, numeric_gradient(model.intercept_), rtol=1e-5, atol=1e-7)
    else:
        assert np.all(grad_intercept == 0)


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_optimizer_stepper_matches_public_step_functions(name, dtype, backend):
    # The estimators call the private kernels directly; they must do exactly what the public functions do.
    rng = np.random.default_rng(0)
    params = rng.standard_normal(50).astype(dtype)
    reference = params.copy()
    state = OptimizerState(name, 50, dtype, momentum=0.8, beta_1=0.85, beta_2=0.99, epsilon=1e-7)
    mirror = {k: np.zeros(50, dtype) for k in ("buf", "m", "v", "s")}
    step = state.stepper(params, backend, 1)
    for t in range(1, 4):
        grad = rng.standard_normal(50).astype(dtype)
        step(grad, 0.05)
        k = fastlc.kernels
        if name in ("sgd", "momentum", "nesterov"):
            momentum = 0.0 if name == "sgd" else 0.8
            k.sgd_step(reference, grad, lr=0.05, momentum=momentum, nesterov=name == "nesterov",
                       momentum_buffer=mirror["buf"] if momentum else None, backend=backend)
        elif name == "adagrad":
            k.adagrad_step(reference, grad, mirror["s"], step=t, lr=0.05, eps=1e-7, backend=backend)
        elif name == "rmsprop":
            k.rmsprop_step(reference, grad, mirror["s"], lr=0.05, alpha=0.99, eps=1e-7, backend=backend)
        else:
            k.adam_step(reference, grad, mirror["m"], mirror["v"], step=t, lr=0.05, beta1=0.85, beta2=0.99, eps=1e-7,
                        backend=backend)
        np.testing.assert_array_equal(params, reference)
    assert state.t == 3


def test_adamw_decays_weights_but_not_intercept(blobs):
    X, y = blobs
    common = dict(learning_rate=0.01, max_epochs=3, random_state=0)
    plain = SoftmaxClassifier(optimizer="adam", alpha=0.0, **common).fit(X, y)
    decayed = SoftmaxClassifier(optimizer="adamw", alpha=5.0, **common).fit(X, y)
    assert np.linalg.norm(decayed.coef_) < np.linalg.norm(plain.coef_)
    no_penalty = SoftmaxClassifier(optimizer="adamw", alpha=0.0, **common).fit(X, y)
    np.testing.assert_array_equal(no_penalty.coef_, plain.coef_)


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
def test_l1_penalty_shrinks_weights(blobs, penalty):
    X, y = blobs
    free = LinearSVMClassifier(alpha=0.0, max_epochs=20, random_state=0).fit(X, y)
    shrunk = LinearSVMClassifier(alpha=0.5, penalty=penalty, l1_ratio=0.9, max_epochs=20, random_state=0).fit(X, y)
    assert np.abs(shrunk.coef_).sum() < np.abs(free.coef_).sum()


# ---------------------------------------------------------------- shapes and dtypes


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_training_dtype_follows_input(Estimator, dtype, blobs):
    X, y = blobs
    model = Estimator(max_epochs=3, random_state=0).fit(X.astype(dtype), y)
    assert model.coef_.dtype == dtype and model.intercept_.dtype == dtype
    assert model.decision_function(X.astype(dtype)).dtype == dtype
    assert Estimator(max_epochs=1).fit(X.astype(np.int64), y).coef_.dtype == np.float64


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_binary_problem(Estimator):
    X, y = make_blobs(n_samples=100, centers=[[-2, -2], [2, 2]], random_state=0)
    labels = np.array(["no", "yes"])[y]
    model = Estimator(random_state=0).fit(X, labels)
    assert model.coef_.shape == (2, 2) and model.intercept_.shape == (2,)
    decision = model.decision_function(X)
    assert decision.shape == (100,)
    np.testing.assert_array_equal(model.predict(X), np.where(decision > 0, "yes", "no"))
    assert model.score(X, labels) > 0.95
    if hasattr(model, "predict_proba"):
        proba = model.predict_proba(X)
        assert proba.shape == (100, 2)
        np.testing.assert_allclose(proba.sum(axis=1), 1)
        np.testing.assert_allclose(np.log(proba), model.predict_log_proba(X), rtol=1e-10)


def test_svm_has_no_predict_proba_but_calibrates(blobs):
    X, y = blobs
    assert not hasattr(LinearSVMClassifier(), "predict_proba")
    calibrated = CalibratedClassifierCV(LinearSVMClassifier(max_epochs=20, random_state=0), cv=3).fit(X, y)
    np.testing.assert_allclose(calibrated.predict_proba(X).sum(axis=1), 1)


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_without_intercept(Estimator, blobs):
    X, y = blobs
    model = Estimator(fit_intercept=False, max_epochs=5, random_state=0).fit(X, y)
    assert np.all(model.intercept_ == 0)


@pytest.mark.parametrize("backend", fastlc.available_backends())
@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_every_backend_trains_the_same_model(Estimator, backend):
    X, y = make_blobs(n_samples=60, centers=3, n_features=4, random_state=0)
    reference = Estimator(max_epochs=3, batch_size=16, random_state=0, backend="numpy").fit(X, y)
    model = Estimator(max_epochs=3, batch_size=16, random_state=0, backend=backend).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------- determinism, pickle


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_same_random_state_gives_bit_identical_model_across_runs_and_threads(Estimator, dtype):
    from fastlc.linear_model._base import CHUNK_ROWS, PARALLEL_CHUNK_WORK

    X, y = make_classification(n_samples=1500, n_features=512, n_informative=10, n_classes=8, random_state=0)
    X = X.astype(dtype)
    assert 2 * CHUNK_ROWS * 512 * 8 >= PARALLEL_CHUNK_WORK  # the batch chunks really run on 2 threads
    models = [Estimator(max_epochs=4, random_state=7, n_threads=n).fit(X, y) for n in (1, 2, 1, None)]
    for other in models[1:]:
        np.testing.assert_array_equal(other.coef_, models[0].coef_)
        np.testing.assert_array_equal(other.intercept_, models[0].intercept_)
        assert other.loss_curve_ == models[0].loss_curve_
    different = Estimator(max_epochs=4, random_state=8).fit(X, y)
    assert not np.array_equal(different.coef_, models[0].coef_)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_bit_identical_whatever_the_alignment_of_X(Estimator, dtype):
    """fit trains on an aligned copy of a misaligned X (below working_memory): the kernel then reads the rows
    in place instead of copying each one, and must give the bits it gives on the rows' copies."""
    import sklearn

    from fastlc._memory import ALIGNMENT, aligned_zeros, is_aligned

    X, y = make_classification(n_samples=300, n_features=96, n_informative=10, n_classes=4, random_state=0)
    aligned = aligned_zeros(X.shape, dtype)
    aligned[...] = X
    buffer = aligned_zeros(X.size + ALIGNMENT, dtype)
    shift = 16 // np.dtype(dtype).itemsize  # where NumPy's large arrays start
    misaligned = buffer[shift:shift + X.size].reshape(X.shape)
    misaligned[...] = X
    assert is_aligned(aligned) and not is_aligned(misaligned)
    from fastlc.linear_model._base import ALIGN_MIN_EPOCHS

    fit = lambda data: Estimator(max_epochs=ALIGN_MIN_EPOCHS, batch_size=64, random_state=0, n_threads=1).fit(data, y)
    reference = fit(aligned)
    with sklearn.config_context(working_memory=0):  # no copy: the kernel copies misaligned rows itself
        in_place = fit(misaligned)
    copied = fit(misaligned)
    for model in (in_place, copied):
        np.testing.assert_array_equal(model.coef_, reference.coef_)
        assert model.loss_curve_ == reference.loss_curve_


def test_fit_aligns_X_only_when_the_epochs_pay_for_the_copy(monkeypatch):
    """The aligned copy (checking X finite in the same pass) is made by fit with >= ALIGN_MIN_EPOCHS epochs on
    the Cython backend, not by a shorter fit, not by partial_fit, not on the numpy backend (which copies no
    rows); the fit trains on it."""
    import fastlc.linear_model._base as base
    from fastlc._memory import aligned_zeros, is_aligned

    if "cython" not in fastlc.available_backends():
        pytest.skip("the Cython backend is not built in this install (it alone copies rows)")
    copies, trained_on = [], []
    real_copy, real_runner = base.aligned_finite_copy, base.BaseLinearModel._batch_runner
    monkeypatch.setattr(base, "aligned_finite_copy", lambda X: copies.append(X.shape) or real_copy(X))
    monkeypatch.setattr(base.BaseLinearModel, "_batch_runner",
                        lambda self, X, *args, **kwargs: trained_on.append(is_aligned(X)) or real_runner(
                            self, X, *args, **kwargs))
    blobs, y = make_blobs(n_samples=120, centers=3, n_features=5, random_state=0)
    X = aligned_zeros(blobs.size + 1, blobs.dtype)[1:].reshape(blobs.shape)  # one value past a cache line
    X[...] = blobs
    SoftmaxClassifier(max_epochs=base.ALIGN_MIN_EPOCHS, backend="cython", random_state=0).fit(X, y)
    assert copies == [X.shape] and trained_on == [True]
    SoftmaxClassifier(max_epochs=base.ALIGN_MIN_EPOCHS - 1, backend="cython", random_state=0).fit(X, y)
    SoftmaxClassifier(backend="cython", random_state=0).partial_fit(X, y, classes=np.unique(y))
    SoftmaxClassifier(max_epochs=base.ALIGN_MIN_EPOCHS, backend="numpy", random_state=0).fit(X, y)
    assert copies == [X.shape] and trained_on == [True, False, False, False]


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_bit_identical_whatever_the_ambient_blas_threads(Estimator):
    # large batch products are where OpenBLAS would split work differently on 1 and 2 threads
    from threadpoolctl import threadpool_limits

    X, y = make_classification(n_samples=4096, n_features=512, n_informative=20, n_classes=8, random_state=0)
    X = X.astype(np.float32)
    models = []
    for blas_threads, n_threads in [(1, 1), (2, 2), (2, None)]:
        with threadpool_limits(limits=blas_threads, user_api="blas"):
            models.append(Estimator(batch_size=4096, max_epochs=3, random_state=0, n_threads=n_threads).fit(X, y))
    for other in models[1:]:
        np.testing.assert_array_equal(other.coef_, models[0].coef_)
        np.testing.assert_array_equal(other.intercept_, models[0].intercept_)


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_pickle_round_trip(Estimator, blobs):
    X, y = blobs
    model = Estimator(max_epochs=5, random_state=0).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.decision_function(X), model.decision_function(X))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    # training continues identically after a round trip (optimizer state and shuffling stream travel along)
    model.partial_fit(X, y)
    restored.partial_fit(X, y)
    np.testing.assert_array_equal(restored.coef_, model.coef_)
    assert np.shares_memory(restored.coef_, restored._params)


# ---------------------------------------------------------- partial_fit, warm start


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_partial_fit_streams_chunks(Estimator, blobs):
    X, y = blobs
    model = Estimator(random_state=0)
    for epoch in range(10):
        for chunk in np.array_split(np.arange(X.shape[0]), 5):
            model.partial_fit(X[chunk], y[chunk], classes=np.unique(y))
    assert model.n_iter_ == 50 and len(model.loss_curve_) == 50
    assert model.score(X, y) > 0.95


def test_partial_fit_errors(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        SoftmaxClassifier().partial_fit(X, y)
    with pytest.raises(ValueError, match="class_weight='balanced' is not supported by partial_fit"):
        SoftmaxClassifier(class_weight="balanced").partial_fit(X, y, classes=np.unique(y))
    model = SoftmaxClassifier().partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"y contains label 7 that is not in classes=\[0, 1, 2, 3\]"):
        model.partial_fit(X[:3], [0, 1, 7])
    with pytest.raises(ValueError, match="differs from the classes of the first call"):
        model.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        SoftmaxClassifier().partial_fit(X, np.zeros_like(y), classes=[0])


@pytest.mark.parametrize("Estimator", [SoftmaxClassifier, LinearSVMClassifier, fastlc.MLPClassifier],
                         ids=["softmax", "svm", "mlp"])
@pytest.mark.parametrize("classes, match", [([0, 1, 2, np.nan], "contains NaN"), ([0, 1, 2, 0.5], "continuous"),
                                            ([0, 1, 2, None], "Unknown label type"),
                                            (["a", 1], "Mix of label input types")], ids=["nan", "0.5", "None", "mixed"])
def test_partial_fit_checks_its_classes_as_scikit_learn(Estimator, classes, match):
    # np.unique(classes) took NaN and 0.5 for classes, and None failed with a TypeError from sorting
    X, y = np.arange(12.0).reshape(6, 2), np.array([0, 1, 2, 0, 1, 2])
    with pytest.raises(ValueError, match=rf"classes=.* must be a 1-d array of class labels: .*{match}"):
        Estimator(max_epochs=1).partial_fit(X, y, classes=classes)
    model = Estimator(max_epochs=1).partial_fit(X, y, classes=(2, 0, 1))
    with pytest.raises(ValueError, match="must be a 1-d array of class labels"):
        model.partial_fit(X, y, classes=classes)
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_warm_start_continues(Estimator, blobs):
    X, y = blobs
    once = Estimator(max_epochs=10, n_iter_no_change=100, random_state=0).fit(X, y)
    warm = Estimator(max_epochs=5, n_iter_no_change=100, random_state=0, warm_start=True).fit(X, y)
    first = warm.coef_.copy()
    warm.fit(X, y)
    assert warm.n_iter_ == 10 and len(warm.loss_curve_) == 10
    assert not np.array_equal(first, warm.coef_)
    assert warm.loss_curve_[-1] == pytest.approx(once.loss_curve_[-1], rel=0.2)
    cold = Estimator(max_epochs=5, random_state=0).fit(X, y).fit(X, y)
    assert cold.n_iter_ == 5
    with pytest.raises(ValueError, match="warm_start=True but y has classes"):
        warm.fit(X[y < 2], y[y < 2])


# ------------------------------------------------------------------ stopping rules


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_early_stopping(Estimator, blobs):
    X, y = blobs
    model = Estimator(early_stopping=True, validation_fraction=0.2, n_iter_no_change=5, max_epochs=200, batch_size=32,
                      random_state=0).fit(X, y)
    assert model.n_iter_ < 200
    assert len(model.validation_scores_) == model.n_iter_
    assert model.score(X, y) > 0.9
    assert not hasattr(Estimator(max_epochs=2).fit(X, y), "validation_scores_")


def test_early_stopping_validation_fraction_too_large():
    X, y = make_blobs(n_samples=4, centers=2, random_state=0)
    with pytest.raises(ValueError, match="validation_fraction=0.9 leaves no samples for training"):
        SoftmaxClassifier(early_stopping=True, validation_fraction=0.9).fit(X, y)


def test_convergence_warning_and_tol_stop(blobs):
    X, y = blobs
    with pytest.warns(ConvergenceWarning, match="max_epochs=2 reached"):
        SoftmaxClassifier(max_epochs=2).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = SoftmaxClassifier(tol=1.0, n_iter_no_change=2, max_epochs=50).fit(X, y)
    assert model.n_iter_ < 50


# --------------------------------------------------------------------- weights


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_integer_sample_weight_equals_repetition_full_batch(Estimator):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4))
    y = rng.integers(0, 3, 30)
    weight = rng.integers(0, 4, 30)
    params = dict(batch_size=500, max_epochs=20, shuffle=False, random_state=0)
    weighted = Estimator(**params).fit(X, y, sample_weight=weight)
    repeated = Estimator(**params).fit(np.repeat(X, weight, axis=0), np.repeat(y, weight))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-9, atol=1e-12)


def test_class_weight_shifts_predictions():
    X, y = make_blobs(n_samples=300, centers=3, cluster_std=4.0, random_state=0)
    plain = SoftmaxClassifier(random_state=0).fit(X, y)
    heavy = SoftmaxClassifier(random_state=0, class_weight={0: 20.0, 1: 1.0, 2: 1.0}).fit(X, y)
    assert np.mean(heavy.predict(X) == 0) > np.mean(plain.predict(X) == 0)
    balanced = SoftmaxClassifier(random_state=0, class_weight="balanced", max_epochs=5).fit(X[:150], y[:150])
    assert balanced.coef_.shape == (3, 2)


def test_zero_total_weight_is_rejected(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="Sample weights must contain at least one non-zero number"):
        SoftmaxClassifier().fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="the sample weights \\(times class_weight\\) sum to zero"):
        SoftmaxClassifier(class_weight={0: 0, 1: 0, 2: 0, 3: 0}).fit(X, y)


# ----------------------------------------------------------- data and divergence


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_sparse_input_is_accepted(Estimator, blobs):
    # sparse input (issue 15) trains without densifying; tests/test_sparse.py checks the model in detail
    X, y = blobs
    model = Estimator(max_epochs=1).fit(sparse.csr_matrix(X), y)
    np.testing.assert_array_equal(model.predict(sparse.csr_matrix(X)), model.predict(X))


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_divergence_raises_naming_learning_rate_and_epoch(Estimator):
    X, y = load_digits(return_X_y=True)
    model = Estimator(optimizer="sgd", learning_rate=1e30, random_state=0)
    with pytest.raises(DivergenceError, match=r"diverged in epoch 1 with learning_rate=1e\+30"):
        model.fit(X * 1e10, y)
    with pytest.raises(NotFittedError):
        model.predict(X)
    # a model that was fitted before keeps its finite weights when a later call diverges
    model = Estimator(optimizer="sgd", learning_rate=1e-3, random_state=0, max_epochs=2).fit(X, y)
    before = model.coef_.copy()
    model.set_params(learning_rate=1e30)
    with pytest.raises(DivergenceError, match="learning_rate=1e\\+30"):
        model.partial_fit(X * 1e10, y)
    np.testing.assert_array_equal(model.coef_, before)
    assert np.isfinite(model.decision_function(X)).all()


FIVE = [SoftmaxClassifier, LinearSVMClassifier, fastlc.LinearRegressor, fastlc.MLPClassifier, fastlc.MLPRegressor]


def _tiny_fitted(Estimator, **params):
    X = np.random.default_rng(0).standard_normal((30, 5))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    if Estimator in (fastlc.MLPClassifier, fastlc.MLPRegressor):
        params = {"hidden_layer_sizes": (3,), **params}
    return Estimator(max_epochs=2, tol=None, random_state=0, **params).fit(X, y), X, y


@pytest.mark.parametrize("Estimator", FIVE, ids=lambda E: E.__name__)
def test_a_failed_warm_fit_leaves_the_model_as_it_was(Estimator):
    # validate_data(reset=True) had set n_features_in_ to the refused X's: the model refused its own features
    model, X, y = _tiny_fitted(Estimator, warm_start=True)
    before = pickle.dumps(model)
    with pytest.raises(ValueError, match="X has 4 features but the model was fitted with 5"):
        model.fit(X[:, :4], y)
    assert model.n_features_in_ == 5 and pickle.dumps(model) == before
    model.predict(X)


@pytest.mark.parametrize("Estimator", [SoftmaxClassifier, LinearSVMClassifier, fastlc.MLPClassifier],
                         ids=["softmax", "svm", "mlp"])
def test_a_refused_first_partial_fit_leaves_the_model_unfitted(Estimator):
    # n_features_in_ was set before the missing classes were noticed
    model = Estimator()
    with pytest.raises(ValueError, match="classes must be passed"):
        model.partial_fit(np.zeros((4, 3)), [0, 1, 0, 1])
    assert vars(model) == vars(Estimator())


@pytest.mark.parametrize("Estimator", FIVE, ids=lambda E: E.__name__)
def test_a_diverged_call_leaves_the_model_as_it_was(Estimator):
    # the snapshot was taken after the call had moved the model to float32 (and zeroed intercepts): a diverged
    # partial_fit on float32 data left float32 weights and optimizer state; a re-fit without warm_start that
    # diverged left a fitted model unfitted, although the message said it was reset to its state before
    model, X, y = _tiny_fitted(Estimator)
    before = pickle.dumps(model)
    model.set_params(optimizer="sgd", learning_rate=1e30)
    with pytest.raises(DivergenceError, match="left as it was before this call"):
        model.partial_fit((X * 1e10).astype(np.float32), y)
    with pytest.raises(DivergenceError, match="left as it was before this call"):
        model.fit(X * 1e10, y)
    assert pickle.dumps(model.set_params(optimizer="adam", learning_rate=Estimator().learning_rate)) == before
    # a pickle does not tell a view from a copy: the restored weights must still be what the model trains
    for coef in model.coefs_ if hasattr(model, "coefs_") else [model.coef_, model.intercept_]:
        assert np.shares_memory(coef, model._params)


@pytest.mark.parametrize("Estimator", FIVE, ids=lambda E: E.__name__)
def test_weights_that_overflow_are_refused_before_training(Estimator):
    # they trained into a DivergenceError that blamed the learning rate
    X = np.random.default_rng(0).standard_normal((30, 5))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    with pytest.raises(ValueError, match=r"sum to inf \(they overflow float64\): scale sample_weight down"):
        Estimator().fit(X, y, sample_weight=np.full(30, 1e308))
    if Estimator in (SoftmaxClassifier, LinearSVMClassifier, fastlc.MLPClassifier):
        with pytest.raises(ValueError, match="overflow float32, the training dtype: scale sample_weight or class_weight"):
            Estimator(class_weight={0: 1e10, 1: 1.0, 2: 1.0}).fit(X.astype(np.float32), y,
                                                                  sample_weight=np.full(30, 1e30))


@pytest.mark.parametrize("Estimator, params, name", [
    (fastlc.LinearRegressor, {"loss": "huber", "delta": 1e300}, "delta"),
    (fastlc.LinearRegressor, {"loss": "epsilon_insensitive", "margin": 1e300}, "margin"),
    (LinearSVMClassifier, {"margin": 1e300}, "margin"),
    (SoftmaxClassifier, {"epsilon": 1e300}, "epsilon"),
    (fastlc.MLPRegressor, {"hidden_layer_sizes": (2,), "epsilon": 1e300}, "epsilon"),
    (SoftmaxClassifier, {"class_weight": {0: 1e39, 1: 1.0}}, r"class_weight\[0\]"),
    (fastlc.MLPClassifier, {"hidden_layer_sizes": (2,), "class_weight": {0: 1.0, 1: 1e39}}, r"class_weight\[1\]"),
], ids=["huber-delta", "epsilon-insensitive-margin", "svm-margin", "adam-epsilon", "mlp-epsilon", "class-weight",
        "mlp-class-weight"])
@pytest.mark.parametrize("sparse_X", [False, True], ids=["dense", "sparse"])
def test_loss_parameters_that_the_training_dtype_cannot_hold_are_refused_by_name(Estimator, params, name, sparse_X):
    # in float32 they were cast to inf with a RuntimeWarning: the Huber loss became the squared error
    X = np.random.default_rng(0).standard_normal((8, 2)).astype(np.float32)
    y = np.arange(8) % 2
    X = sparse.csr_matrix(X) if sparse_X and getattr(Estimator, "_accept_sparse", False) else X
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=f"{name}=1e\\+(300|39) does not fit in float32"):
            Estimator(max_epochs=1, **params).fit(X, y)


@pytest.mark.parametrize("Estimator", FIVE, ids=lambda E: E.__name__)
def test_a_convergence_warning_raised_as_an_error_leaves_the_model_fitted(Estimator):
    # as scikit-learn's estimators: the warning comes after training; it was rolled back to unfitted
    X = np.random.default_rng(0).standard_normal((12, 2))
    y = np.arange(12) % 2
    model = Estimator(max_epochs=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ConvergenceWarning):
            model.fit(X, y)
    assert model.n_iter_ == 2 and len(model.loss_curve_) == 2
    assert model.predict(X).shape == (12,)
    if hasattr(model, "best_loss_"):
        assert model.best_loss_ == min(model.loss_curve_)


@pytest.mark.parametrize("Estimator", FIVE, ids=lambda E: E.__name__)
@pytest.mark.parametrize("sample_weight", [np.ones(8, bool), [True] * 8, [1.0] * 7 + [True]],
                         ids=["bool-array", "bool-list", "one-bool"])
def test_bool_sample_weights_are_refused_by_name(Estimator, sample_weight):
    X = np.random.default_rng(0).standard_normal((8, 2))
    y = np.arange(8) % 2
    with pytest.raises(TypeError, match="sample_weight must hold numbers, not bools"):
        Estimator(max_epochs=1).fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize("Estimator", [SoftmaxClassifier, LinearSVMClassifier, fastlc.MLPClassifier],
                         ids=lambda E: E.__name__)
@pytest.mark.parametrize("value", [True, np.bool_(True)], ids=["bool", "np.bool_"])
def test_bool_class_weights_are_refused_by_name(Estimator, value):
    X = np.random.default_rng(0).standard_normal((8, 2))
    y = np.arange(8) % 2
    with pytest.raises(TypeError, match=r"class_weight must hold numbers, not bools; got (np\.)?True_? for class 0"):
        Estimator(max_epochs=1, class_weight={0: value, 1: 1.0}).fit(X, y)


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_divergence_names_the_other_causes_than_the_learning_rate(Estimator):
    X = np.random.default_rng(0).standard_normal((30, 5))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    with pytest.raises(DivergenceError, match=r"learning_rate=0\.01 .* The learning rate may be too large for the "
                       r"data, alpha=1e\+21 too large, or the data \(X, y, sample_weight\) too large in scale for "
                       r"float64, the training dtype: use a smaller learning_rate or alpha"):
        Estimator(alpha=1e21, max_epochs=2).fit(X, y)


def test_single_class_is_rejected(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="at least 2 classes in the data, but the data contains only one class: 3"):
        LinearSVMClassifier().fit(X, np.full(X.shape[0], 3))


def test_feature_count_mismatch_at_predict(blobs):
    X, y = blobs
    model = SoftmaxClassifier(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="X has 5 features, but SoftmaxClassifier is expecting 6 features"):
        model.predict(X[:, :5])


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_verbose_prints_one_line_per_epoch(Estimator, blobs):
    X, y = blobs
    out = io.StringIO()
    with redirect_stdout(out):
        Estimator(verbose=1, max_epochs=3, early_stopping=True, random_state=0).fit(X, y)
    lines = [line for line in out.getvalue().splitlines() if line.startswith("Epoch")]
    assert len(lines) == 3
    assert re.match(r"Epoch 1: loss=\d+\.\d+, validation score=\d\.\d+, lr=0\.01, elapsed=\d+\.\d+s", lines[0])


# ------------------------------------------------------------- parameter validation

INVALID_PARAMETERS = [
    ("optimizer", "lbfgs"), ("optimizer", None), ("learning_rate", 0.0), ("learning_rate", -1.0),
    ("learning_rate", "high"), ("lr_schedule", "cosine"), ("lr_decay", 0.0), ("lr_decay", 1.5),
    ("lr_step_size", 0), ("lr_step_size", 2.5), ("power_t", -0.5), ("momentum", 1.0), ("momentum", -0.1),
    ("beta_1", 1.0), ("beta_2", -0.1), ("epsilon", 0.0), ("batch_size", 0), ("batch_size", "big"),
    ("batch_size", 3.5), ("max_epochs", 0), ("max_epochs", 1.5), ("alpha", -1e-4), ("penalty", "l3"),
    ("l1_ratio", 1.5), ("fit_intercept", "yes"), ("class_weight", "uniform"), ("class_weight", [1, 2]),
    ("tol", -1.0), ("n_iter_no_change", 0), ("early_stopping", 1.5), ("validation_fraction", 0.0),
    ("validation_fraction", 1.0), ("shuffle", "no"), ("random_state", "seed"), ("warm_start", "no"),
    ("verbose", "loud"), ("backend", "cuda"), ("n_threads", 0), ("n_threads", 1.5),
]


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
@pytest.mark.parametrize("name, value", INVALID_PARAMETERS, ids=[f"{n}={v!r}" for n, v in INVALID_PARAMETERS])
def test_invalid_parameter_is_rejected_by_name(Estimator, name, value, blobs):
    X, y = blobs
    message = f"The '{name}' parameter of {Estimator.__name__} must be"
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        Estimator(**{name: value}).fit(X, y)
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        Estimator(**{name: value}).partial_fit(X, y, classes=np.unique(y))


@pytest.mark.parametrize("Estimator, name, value", [
    (SoftmaxClassifier, "label_smoothing", 1.5), (SoftmaxClassifier, "label_smoothing", -0.1),
    (LinearSVMClassifier, "margin", -1.0), (LinearSVMClassifier, "squared_hinge", "yes"),
])
def test_invalid_loss_parameter_is_rejected_by_name(Estimator, name, value, blobs):
    X, y = blobs
    with pytest.raises(InvalidParameterError, match=re.escape(f"The '{name}' parameter of {Estimator.__name__}")):
        Estimator(**{name: value}).fit(X, y)


def test_unavailable_backend_is_reported(blobs, monkeypatch):
    from fastlc import _dispatch

    X, y = blobs
    monkeypatch.setattr(_dispatch, "_backend_present", lambda backend: backend in ("naive", "numpy"))
    with pytest.raises(ValueError, match="backend='cython' is not available in this installation"):
        SoftmaxClassifier(backend="cython").fit(X, y)


# ------------------------------------------------------------- python -m fastlc


def test_compare_on_digits_rows_and_table():
    from fastlc._compare import ComparisonRow, compare_on_digits, format_comparison

    rows = compare_on_digits(n_samples=200, max_epochs=3)
    assert [row.model for row in rows] == [
        "fastlc SoftmaxClassifier", "fastlc LinearSVMClassifier", 'sklearn SGDClassifier(loss="hinge")',
        "sklearn MLPClassifier(hidden_layer_sizes=())", "fastlc MLPClassifier((64,))", "sklearn MLPClassifier((64,))",
    ]
    assert all(isinstance(row, ComparisonRow) and 0 <= row.accuracy <= 1 and row.fit_seconds > 0 for row in rows)
    table = format_comparison(rows).splitlines()
    assert table[0].split() == ["model", "test", "accuracy", "fit", "time"]
    assert len(table) == 7 and table[1].startswith("fastlc SoftmaxClassifier")
    with pytest.raises(ValueError, match="n_samples must be at least 40"):
        compare_on_digits(n_samples=10)


@pytest.mark.parametrize("Estimator", [SoftmaxClassifier, LinearSVMClassifier, fastlc.MLPClassifier],
                         ids=["softmax", "svm", "mlp"])
@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_class_weight_must_be_finite_and_non_negative(Estimator, bad):
    # scikit-learn does not check: -1 trained a model that never predicts the class, NaN and inf failed later
    # with messages about the sample weights or the learning rate
    X, y = make_classification(60, 4, n_informative=3, n_redundant=0, n_classes=3, random_state=0)
    with pytest.raises(ValueError, match=f"class_weight must be finite and non-negative; got {bad} for class 0"):
        Estimator(class_weight={0: bad, 1: 1.0, 2: 1.0}, max_epochs=2).fit(X, y)


@pytest.mark.parametrize("Estimator", [SoftmaxClassifier, LinearSVMClassifier, fastlc.LinearRegressor,
                                       fastlc.MLPClassifier], ids=["softmax", "svm", "regressor", "mlp"])
@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_turning_fit_intercept_off_zeroes_the_intercepts(Estimator, how):
    # the intercepts a model was fitted with, and their optimizer state, are dropped: intercept_ is what the
    # predictions use (nothing), and Adam's momentum no longer moves it
    X, y = make_classification(80, 5, n_informative=3, n_redundant=0, n_classes=3, random_state=0)
    model = Estimator(random_state=0, max_epochs=3, warm_start=how == "warm_start", optimizer="adam")
    regressor = Estimator is fastlc.LinearRegressor
    target = y.astype(float) if regressor else y
    if how == "partial_fit":
        model.partial_fit(X, target, **({} if regressor else {"classes": [0, 1, 2]}))
    else:
        model.fit(X, target)
    intercepts = model.intercepts_ if hasattr(model, "intercepts_") else [model.intercept_]
    assert any(np.any(b != 0) for b in intercepts)
    model.set_params(fit_intercept=False)
    model.partial_fit(X, target) if how == "partial_fit" else model.fit(X, target)
    intercepts = model.intercepts_ if hasattr(model, "intercepts_") else [model.intercept_]
    assert all(np.all(b == 0) for b in intercepts)
    for buffer in model._optimizer_state.buffers.values():
        for part in model._intercept_views(buffer):
            assert np.all(part == 0)


@pytest.mark.parametrize("parameter", ["label_smoothing", "max_epochs", "batch_size", "tol", "alpha",
                                       "n_iter_no_change", "learning_rate", "lr_step_size", "n_threads",
                                       "random_state"])
def test_a_bool_is_not_a_number(parameter):
    # scikit-learn's Interval(Integral / Real) takes True as 1: label_smoothing=True trained a uniform model
    X, y = make_classification(40, 4, random_state=0)
    with pytest.raises(InvalidParameterError, match=f"'{parameter}' parameter of SoftmaxClassifier must not be a "
                                                    "bool; got True"):
        SoftmaxClassifier(**{parameter: True}).fit(X, y)
    SoftmaxClassifier(verbose=False, shuffle=True, max_epochs=1, tol=None).fit(X, y)  # real flags stay flags


def test_predictions_use_an_assigned_coef():
    # as scikit-learn's linear models: coef_ and intercept_ assigned by the user are the model
    X, y = make_classification(60, 4, n_informative=3, n_redundant=0, n_classes=3, random_state=0)
    clf = SoftmaxClassifier(max_epochs=2, random_state=0).fit(X, y)
    clf.coef_ = np.zeros_like(clf.coef_)
    clf.intercept_ = np.array([0.0, 1.0, 0.0])
    np.testing.assert_array_equal(clf.decision_function(X), np.tile([0.0, 1.0, 0.0], (60, 1)))
    assert (clf.predict(X) == clf.classes_[1]).all()


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_an_assigned_view_of_the_weights_is_the_model(Estimator):
    # a view of the current weights (coef_[::-1]) shared their memory and was taken for them: ignored, and
    # predictions mixed the reversed intercepts with the old coef_
    X, y = make_classification(60, 4, n_informative=3, n_redundant=0, n_classes=3, random_state=0)
    model = Estimator(max_epochs=2, random_state=0).fit(X, y)
    model.coef_, model.intercept_ = model.coef_[::-1], model.intercept_[::-1]
    np.testing.assert_allclose(model.decision_function(X), X @ model.coef_.T + model.intercept_)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.decision_function(X), model.decision_function(X))
    twin = copy.deepcopy(model)  # no attribute of the copy is a view of its _params: its coef_ is the model
    twin.partial_fit(X, y)
    np.testing.assert_allclose(twin.decision_function(X), X @ twin.coef_.T + twin.intercept_)
    model.coef_ = model.coef_[:, :3]  # scikit-learn fails on such a coef_; it was ignored
    with pytest.raises(ValueError, match=r"coef_ has shape \(3, 3\), but the model has 3 outputs and 4 features"):
        model.predict(X)
    model.coef_ = np.zeros((3, 4))
    model.intercept_ = np.zeros(2)
    with pytest.raises(ValueError, match=r"intercept_ has shape \(2,\)"):
        model.predict(X)


@pytest.mark.parametrize("Estimator", [SoftmaxClassifier, LinearSVMClassifier])
@pytest.mark.parametrize("y", [np.array([0.5, 1.5, 0.5, 1.5, 2.5, 0.5]), np.array([[0, 1], [1, 0]] * 3)],
                         ids=["continuous", "multilabel"])
def test_non_class_labels_are_rejected(Estimator, y):
    # the labels' fast path (a 1-d integer array is always a class vector) leaves the rest to scikit-learn
    X = np.arange(12.0).reshape(6, 2)
    with pytest.raises(ValueError, match="Unknown label type|1d array"):
        Estimator(max_epochs=2).fit(X, y)


@pytest.mark.parametrize("labels", [np.array([3, 7, 3, 7, 9, 3], dtype=np.uint8), np.array([-1, 2, -1, 2, 5, -1]),
                                    np.array(["b", "a", "b", "a", "c", "b"]), np.array([True, False] * 3)])
def test_any_class_label_vector_is_accepted(labels):
    X = np.arange(12.0).reshape(6, 2)
    model = SoftmaxClassifier(max_epochs=2, tol=None).fit(X, labels)
    np.testing.assert_array_equal(model.classes_, np.unique(labels))


def test_parameter_names_are_each_class_own():
    # read once per class (cached): a subclass with another constructor has its own names
    class Narrow(SoftmaxClassifier):
        def __init__(self, alpha=0.5):
            super().__init__(alpha=alpha)

    assert Narrow().get_params() == {"alpha": 0.5}
    assert "alpha" in SoftmaxClassifier().get_params() and len(SoftmaxClassifier().get_params()) > 1
    assert LinearSVMClassifier._get_param_names() == sorted(LinearSVMClassifier().get_params())


@pytest.mark.parametrize("Estimator", [SoftmaxClassifier, LinearSVMClassifier])
def test_warm_start_trains_with_the_optimizer_set_now(Estimator, blobs):
    # set_params(optimizer=...) before a warm start or partial_fit was ignored: Adam went on
    X, y = blobs
    switched = Estimator(warm_start=True, max_epochs=3, tol=None, random_state=0).fit(X, y)
    # the same weights trained on by a model that has always used plain SGD (which keeps no statistics)
    always_sgd = Estimator(optimizer="sgd", warm_start=True, max_epochs=1, tol=None, random_state=0).fit(X, y)
    always_sgd.coef_[...] = switched.coef_
    always_sgd.intercept_[...] = switched.intercept_
    switched.set_params(optimizer="sgd").fit(X, y)
    always_sgd.set_params(max_epochs=3).fit(X, y)
    np.testing.assert_array_equal(switched.coef_, always_sgd.coef_)
    np.testing.assert_array_equal(switched.intercept_, always_sgd.intercept_)
    switched.set_params(optimizer="momentum", momentum=0.5).partial_fit(X, y)
    assert switched._optimizer_state.name == "momentum"
    assert switched._optimizer_state.momentum == 0.5


@pytest.mark.parametrize("damage", ["index past the last feature", "negative index", "indptr past nnz"])
@pytest.mark.parametrize("Estimator", [SoftmaxClassifier, LinearSVMClassifier])
def test_a_malformed_sparse_matrix_is_refused(Estimator, damage):
    # the kernels index with X.indices / X.indptr unchecked: a bad index crashed the process or (negative)
    # trained on the wrong feature
    X = sparse.csr_matrix(np.random.default_rng(0).standard_normal((40, 15)))
    y = np.arange(40) % 3
    model = Estimator(max_epochs=1, tol=None).fit(X, y)
    bad = X.copy()
    if damage == "index past the last feature":
        bad.indices[3] = 10**6
    elif damage == "negative index":
        bad.indices[3] = -5
    else:
        bad.indptr[-1] += 50
    with pytest.raises(ValueError, match="X is a malformed sparse matrix"):
        Estimator(max_epochs=1).fit(bad, y)
    with pytest.raises(ValueError, match="X is a malformed sparse matrix"):
        model.predict(bad)


@pytest.mark.parametrize("Estimator", [SoftmaxClassifier, LinearSVMClassifier])
def test_memory_mapped_model_trains_on(Estimator, blobs, tmp_path):
    # joblib.load(..., mmap_mode="r") gives read-only arrays, which the kernels refused in partial_fit
    import joblib

    X, y = blobs
    model = Estimator(max_epochs=2, tol=None, random_state=0).fit(X, y)
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib", mmap_mode="r")
    loaded.partial_fit(X, y)
    model.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.decision_function(X), model.decision_function(X))


def test_a_refit_without_early_stopping_drops_the_old_validation_scores(blobs):
    X, y = blobs
    model = SoftmaxClassifier(early_stopping=True, max_epochs=3, tol=None, random_state=0).fit(X, y)
    assert len(model.validation_scores_) == 3
    model.set_params(early_stopping=False).fit(X, y)
    assert not hasattr(model, "validation_scores_")


def test_early_stopping_on_one_sample_names_it():
    with pytest.raises(ValueError, match="leaves no samples for training out of 1 sample$"):
        SoftmaxClassifier(early_stopping=True)._validation_split(np.ones((1, 2)), np.array([0]), np.ones(1),
                                                                 np.random.default_rng(0))


def test_the_parameter_name_cache_lets_classes_go():
    import gc
    import weakref

    class Narrow(SoftmaxClassifier):
        def __init__(self, alpha=0.5):
            super().__init__(alpha=alpha)

    assert Narrow().get_params() == {"alpha": 0.5}
    gone = weakref.ref(Narrow)
    del Narrow
    gc.collect()
    assert gone() is None
