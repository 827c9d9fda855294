"""LinearRegressor: its fused gradient kernel in every backend, the training objective, and the estimator."""
import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fastlc
from fastlc import DivergenceError, LinearRegressor
from fastlc._constants import REGRESSION_EPSILON_INSENSITIVE, REGRESSION_HUBER
from fastlc._dispatch import get_kernel
from fastlc.gradcheck import numerical_gradient

COMPILED = [b for b in ("numba", "cython") if b in fastlc.available_backends()]
LOSSES = ["squared_error", "absolute_error", "huber", "epsilon_insensitive"]
POINTS = [(REGRESSION_HUBER, np.inf), (REGRESSION_HUBER, 0.7), (REGRESSION_EPSILON_INSENSITIVE, 0.0),
          (REGRESSION_EPSILON_INSENSITIVE, 0.3)]


def linear_data(n_samples=400, n_features=6, n_targets=1, noise=0.1, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    coef = rng.standard_normal((n_features, n_targets)) * 2
    y = X @ coef + 0.5 + noise * rng.standard_normal((n_samples, n_targets))
    return X.astype(dtype), (y[:, 0] if n_targets == 1 else y).astype(dtype)


def run_kernel(backend, X, rows, targets, weight, W, b, point, param, n_threads=1, grad_scale=0.01):
    dtype = X.dtype.type
    loss = np.empty(rows.shape[0], X.dtype)
    grad_W, grad_b = np.empty_like(W), np.empty_like(b)
    get_kernel("linear_regression_gradient", backend)(X, rows, targets, weight, W, b, dtype(grad_scale), point,
                                                      dtype(param), loss, grad_W, grad_b, n_threads)
    return loss, grad_W, grad_b


# ------------------------------------------------------------------ the kernel


def test_worked_values_of_each_loss_row():
    """Residuals (score - target) of 3, -2, 0.25 with zero weights: the score is 0, the target -r."""
    X = np.ones((3, 2))
    targets = -np.array([[3.0], [-2.0], [0.25]])
    W, b = np.zeros((1, 2)), np.zeros(1)
    rows, weight = np.arange(3, dtype=np.intp), np.ones(3)
    cases = {
        (REGRESSION_HUBER, np.inf): ([4.5, 2.0, 0.03125], [3.0, -2.0, 0.25]),  # r^2 / 2, slope r
        (REGRESSION_HUBER, 1.0): ([2.5, 1.5, 0.03125], [1.0, -1.0, 0.25]),  # delta (|r| - delta / 2)
        (REGRESSION_EPSILON_INSENSITIVE, 0.0): ([3.0, 2.0, 0.25], [1.0, -1.0, 1.0]),  # |r|
        (REGRESSION_EPSILON_INSENSITIVE, 0.5): ([2.5, 1.5, 0.0], [1.0, -1.0, 0.0]),  # max(|r| - 0.5, 0)
    }
    for backend in ("naive", "numpy", *COMPILED):
        for (point, param), (losses, slopes) in cases.items():
            loss, _, grad_b = run_kernel(backend, X, rows, targets, weight, W, b, point, param, grad_scale=1.0)
            np.testing.assert_allclose(loss, losses, err_msg=f"{backend} {point} {param}")
            np.testing.assert_allclose(grad_b, [sum(slopes)], err_msg=f"{backend} {point} {param}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("point,param", POINTS)
def test_backends_agree_with_the_loops_and_do_not_depend_on_threads(dtype, point, param):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 17)).astype(dtype)
    targets = rng.standard_normal((300, 3)).astype(dtype)
    rows = rng.permutation(300)[:150].astype(np.intp)
    weight = rng.random(300).astype(dtype)
    weight[rows[3]] = 0  # takes no part
    W, b = rng.standard_normal((3, 17)).astype(dtype), rng.standard_normal(3).astype(dtype)
    expected = run_kernel("naive", X, rows, targets, weight, W, b, point, param)
    assert expected[0][3] == 0
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for backend in ("numpy", *COMPILED):
        one = run_kernel(backend, X, rows, targets, weight, W, b, point, param, n_threads=1)
        for got, want in zip(one, expected):
            assert got.dtype == dtype
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10, err_msg=backend)
        if backend in COMPILED:
            two = run_kernel(backend, X, rows, targets, weight, W, b, point, param, n_threads=2)
            for a, c in zip(one, two):
                assert np.array_equal(a, c), f"{backend}: 1 and 2 threads differ"


@pytest.mark.parametrize("backend", COMPILED)
def test_nan_propagates_through_the_kernel(backend):
    X = np.ones((4, 3))
    X[1, 2] = np.nan
    targets = np.zeros((4, 1))
    W, b = np.ones((1, 3)), np.zeros(1)
    for point, param in POINTS:
        loss, grad_W, _ = run_kernel(backend, X, np.arange(4, dtype=np.intp), targets, np.ones(4), W, b, point,
                                     param)
        assert np.isnan(loss[1]) and not np.isnan(loss[[0, 2, 3]]).any()
        assert np.isnan(grad_W).all()


# -------------------------------------------------------- the training objective


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("backend", ["numpy", *COMPILED])
def test_objective_gradient_matches_finite_differences(loss, backend):
    """The gradient training follows (fused kernel + penalty) is the derivative of the stated objective."""
    X, y = linear_data(60, 4, n_targets=2, seed=3)
    sample_weight = np.random.default_rng(4).random(60) + 0.5
    model = LinearRegressor(loss=loss, delta=0.8, margin=0.2, alpha=0.05, penalty="l2", backend=backend,
                            max_epochs=1, tol=None, random_state=0).fit(X, y)
    rng = np.random.default_rng(5)
    model.coef_[...] = rng.standard_normal(model.coef_.shape)
    model.intercept_[...] = rng.standard_normal(2)
    _, grad_coef, grad_intercept = model._objective(X, y, sample_weight)
    flat = np.concatenate([model.coef_.ravel(), model.intercept_])

    def objective(values):
        model.coef_[...] = values[:8].reshape(2, 4)
        model.intercept_[...] = values[8:]
        return model._objective(X, y, sample_weight)[0]

    numeric = numerical_gradient(objective, flat.copy(), h=1e-6)
    np.testing.assert_allclose(np.concatenate([grad_coef.ravel(), grad_intercept]), numeric, rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------ the estimator


def test_squared_error_finds_the_ridge_solution():
    X, y = linear_data(2000, 5)
    model = LinearRegressor(optimizer="sgd", learning_rate=0.1, alpha=0.0, penalty=None, max_epochs=60, tol=None,
                            random_state=0).fit(X, y)
    ridge = Ridge(alpha=1e-8).fit(X, y)
    np.testing.assert_allclose(model.coef_, ridge.coef_, atol=0.02)
    np.testing.assert_allclose(model.intercept_, [ridge.intercept_], atol=0.02)
    assert model.coef_.shape == (5,) and model.intercept_.shape == (1,)
    assert model.predict(X).shape == (2000,)
    assert model.score(X, y) == pytest.approx(ridge.score(X, y), abs=1e-3)


def test_huber_beats_squared_error_with_outliers():
    X, y = linear_data(1000, 5, noise=0.1, seed=2)
    X_test, y_test = linear_data(500, 5, noise=0.1, seed=2)[0], None
    rng = np.random.default_rng(7)
    coef_true = np.linalg.lstsq(np.c_[X, np.ones(1000)], y, rcond=None)[0]
    y_test = np.c_[X_test, np.ones(500)] @ coef_true
    y_dirty = y.copy()
    outliers = rng.choice(1000, 100, replace=False)
    y_dirty[outliers] += rng.choice([-1, 1], 100) * 200  # 10 % gross errors
    scores = {}
    for loss in ("squared_error", "huber"):
        model = LinearRegressor(loss=loss, optimizer="adam", learning_rate=0.05, max_epochs=60, tol=None,
                                random_state=0).fit(X, y_dirty)
        scores[loss] = model.score(X_test, y_test)
    assert scores["huber"] > 0.99
    assert scores["huber"] > scores["squared_error"] + 0.05


def test_multi_output_fits_each_target_as_on_its_own():
    X, Y = linear_data(500, 4, n_targets=3, seed=8)
    params = dict(optimizer="adam", learning_rate=0.05, max_epochs=5, tol=None, random_state=0)
    both = LinearRegressor(**params).fit(X, Y)
    assert both.coef_.shape == (3, 4) and both.intercept_.shape == (3,) and both.predict(X).shape == (500, 3)
    for j in range(3):
        alone = LinearRegressor(**params).fit(X, Y[:, j])
        np.testing.assert_allclose(both.coef_[j], alone.coef_, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(both.intercept_[j], alone.intercept_[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_and_the_seed_fixes_the_model(dtype):
    X, y = linear_data(700, 6, dtype=dtype)
    params = dict(max_epochs=3, tol=None, random_state=3, batch_size=128)
    one = LinearRegressor(n_threads=1, **params).fit(X, y)
    two = LinearRegressor(n_threads=2, **params).fit(X, y)
    assert one.coef_.dtype == dtype and one.predict(X).dtype == dtype
    assert np.array_equal(one.coef_, two.coef_) and np.array_equal(one.intercept_, two.intercept_)
    assert one.loss_curve_ == two.loss_curve_


def test_wide_float64_rows_run_on_two_threads_with_the_same_model():
    # 100 float64 features: a 64-row chunk streams 51 KB of X, enough for a second thread
    # (PARALLEL_CHUNK_BYTES); float32 rows of the same width stay on one
    from fastlc.linear_model._base import CHUNK_ROWS, PARALLEL_CHUNK_BYTES, PARALLEL_CHUNK_WORK

    assert 2 * CHUNK_ROWS * 100 < PARALLEL_CHUNK_WORK  # not by its arithmetic
    assert CHUNK_ROWS * 100 * 4 < PARALLEL_CHUNK_BYTES <= CHUNK_ROWS * 100 * 8
    params = dict(max_epochs=3, tol=None, random_state=3)
    for dtype, expected_threads in ((np.float32, 1), (np.float64, 2)):
        X, y = linear_data(1200, 100, dtype=dtype)
        one = LinearRegressor(n_threads=1, **params).fit(X, y)
        two = LinearRegressor(n_threads=2, **params).fit(X, y)
        runner = two._batch_runner(X, y.reshape(-1, 1), np.ones(1200, dtype))
        assert runner.kernel_threads == expected_threads
        assert np.array_equal(one.coef_, two.coef_) and one.loss_curve_ == two.loss_curve_


def test_partial_fit_warm_start_and_pickle():
    X, y = linear_data(400, 3)
    model = LinearRegressor(random_state=0, learning_rate=0.05)
    for _ in range(3):
        model.partial_fit(X, y)
    assert model.n_iter_ == 3 and len(model.loss_curve_) == 3
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.predict(X), model.predict(X))
    clone.partial_fit(X, y)
    model.partial_fit(X, y)
    np.testing.assert_array_equal(clone.coef_, model.coef_)
    with pytest.raises(ValueError, match="targets"):
        model.partial_fit(X, np.c_[y, y])
    warm = LinearRegressor(warm_start=True, max_epochs=2, tol=None, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="warm_start=True but y has 2 targets"):
        warm.fit(X, np.c_[y, y])


def test_early_stopping_scores_r2():
    X, y = linear_data(1000, 4)
    model = LinearRegressor(early_stopping=True, max_epochs=30, learning_rate=0.05, tol=None, random_state=0)
    model.fit(X, y)
    assert len(model.validation_scores_) == model.n_iter_
    assert max(model.validation_scores_) > 0.99


@pytest.mark.parametrize("params,match", [
    (dict(loss="l2"), "loss"),
    (dict(loss=None), "loss"),
    (dict(delta=0.0), "delta"),
    (dict(delta="1"), "delta"),
    (dict(margin=-0.1), "margin"),
    (dict(fit_intercept="no"), "fit_intercept"),
    (dict(class_weight="balanced"), "class_weight"),
])
def test_bad_parameters_name_the_parameter(params, match):
    X, y = linear_data(50, 2)
    with pytest.raises((TypeError, ValueError), match=match):
        LinearRegressor(**params).fit(X, y)


def test_bad_data_is_refused():
    X, y = linear_data(50, 2)
    y_nan = y.copy()
    y_nan[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LinearRegressor().fit(X, y_nan)
    with pytest.raises(ValueError):
        LinearRegressor().fit(X, np.array(["a"] * 50))
    with pytest.raises(ValueError, match="non-zero|sum to zero"):
        LinearRegressor().fit(X, y, sample_weight=np.zeros(50))


def test_divergence_is_an_error_naming_the_learning_rate():
    X, y = linear_data(300, 3)
    model = LinearRegressor(optimizer="sgd", learning_rate=1e6, max_epochs=5, tol=None, random_state=0)
    with pytest.raises(DivergenceError, match="learning_rate=1000000"):
        model.fit(X * 100, y)
    assert not hasattr(model, "coef_")


def test_works_in_pipeline_and_grid_search():
    X, y = linear_data(300, 3)
    pipe = make_pipeline(StandardScaler(), LinearRegressor(optimizer="sgd", max_epochs=20, tol=None, random_state=0))
    search = GridSearchCV(pipe, {"linearregressor__learning_rate": [0.001, 0.3]}, cv=2, n_jobs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        search.fit(X, y)
    assert search.best_params_["linearregressor__learning_rate"] == 0.3
    assert search.best_score_ > 0.95


def test_early_stopping_needs_two_validation_samples():
    # R^2 of one sample is NaN: every epoch looked worse and the untrained weights came back silently
    X = np.random.default_rng(0).standard_normal((10, 3))
    with pytest.raises(ValueError, match="leaves 1 validation sample out of 10 samples; .* at least 2"):
        LinearRegressor(early_stopping=True).fit(X, X @ [1.0, 2.0, 3.0])
    model = LinearRegressor(early_stopping=True, validation_fraction=0.2, max_epochs=5, tol=None).fit(
        X, X @ [1.0, 2.0, 3.0])
    assert len(model.validation_scores_) == 5 and np.isfinite(model.validation_scores_).all()


def test_warm_start_follows_the_optimizer_set_now():
    X = np.random.default_rng(0).standard_normal((60, 3))
    model = LinearRegressor(warm_start=True, max_epochs=2, tol=None, random_state=0).fit(X, X @ [1.0, 2.0, 3.0])
    model.set_params(optimizer="sgd").fit(X, X @ [1.0, 2.0, 3.0])
    assert model._optimizer_state.name == "sgd" and model.t_ == 2  # a fresh optimizer: its steps only


def test_a_refused_warm_fit_keeps_the_optimizer_statistics():
    # the optimizer was switched (and Adam's moments dropped) before the validation split refused the fit
    X = np.random.default_rng(0).standard_normal((10, 3))
    y = X @ [1.0, 2.0, 3.0]
    model = LinearRegressor(warm_start=True, max_epochs=3, tol=None).fit(X, y)
    moments = {key: value.copy() for key, value in model._optimizer_state.buffers.items()}
    with pytest.raises(ValueError, match="validation sample"):
        model.set_params(optimizer="sgd", early_stopping=True).fit(X, y)
    assert model._optimizer_state.name == "adam" and model._optimizer_state.t == model.t_ == 3
    for key, value in moments.items():
        np.testing.assert_array_equal(model._optimizer_state.buffers[key], value)


def test_restoring_a_snapshot_drops_the_validation_scores_after_it():
    # _restore (divergence, or any failure inside an epoch) trimmed loss_curve_ but not validation_scores_
    X = np.random.default_rng(0).standard_normal((100, 3))
    model = LinearRegressor(early_stopping=True, max_epochs=2, tol=None, random_state=0).fit(X, X @ [1.0, 2.0, 3.0])
    snapshot = model._snapshot()
    model.validation_scores_.append(0.5)
    model.loss_curve_.append(0.5)
    model._restore(snapshot)
    assert len(model.validation_scores_) == len(model.loss_curve_) == 2


def test_an_assigned_view_of_the_weights_is_the_model():
    # coef_[::-1] shares the weights' memory and was taken for them: ignored at predict, after pickling too
    X, y = linear_data(40, 3)
    model = LinearRegressor(max_epochs=2, random_state=0).fit(X, y)
    model.coef_ = model.coef_[::-1]
    np.testing.assert_allclose(model.predict(X), X @ model.coef_ + model.intercept_)
    model.coef_ = model.coef_[::-1]
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(restored.predict(X), X @ model.coef_ + model.intercept_)
    model.coef_ = model.coef_[:2]
    with pytest.raises(ValueError, match=r"coef_ has shape \(2,\), but the model has 1 output and 3 features"):
        model.predict(X)


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_the_shapes_follow_the_y_of_the_latest_fit(how):
    # after 1-d y, a warm start on (n, 1) y kept coef_ (n_features,) but predicted (n, 1), and a pickle round
    # trip made coef_ (1, n_features); partial_fit on (n, 1) y went on predicting 1-d
    X, y = linear_data(40, 3)
    model = LinearRegressor(max_epochs=2, tol=None, warm_start=True, random_state=0)
    train = model.fit if how == "warm_start" else model.partial_fit
    for targets, coef_shape, prediction_shape in [(y, (3,), (40,)), (y[:, None], (1, 3), (40, 1)), (y, (3,), (40,))]:
        train(X, targets)
        for fitted in (model, pickle.loads(pickle.dumps(model))):
            assert fitted.coef_.shape == coef_shape and fitted.predict(X).shape == prediction_shape
            np.testing.assert_allclose(fitted.predict(X), X @ fitted.coef_.T + fitted.intercept_)


@pytest.mark.parametrize("Estimator", [LinearRegressor, fastlc.MLPRegressor], ids=["linear", "mlp"])
def test_targets_that_overflow_the_training_dtype_are_refused_by_name(Estimator):
    # y is checked finite as given; 1e40 became inf in float32 and training ended in a DivergenceError
    X, y = linear_data(20, 3, dtype=np.float32)
    y = y.astype(np.float64)
    y[7] = 1e40
    with pytest.raises(ValueError, match=r"y holds values too large for float32, the training dtype \(X's\): 1e\+40"):
        Estimator(max_epochs=2).fit(X, y)
    Estimator(max_epochs=2, tol=None).fit(X.astype(np.float64), y / 1e35)  # fine in float64
