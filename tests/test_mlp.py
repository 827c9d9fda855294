"""MLPClassifier and MLPRegressor: gradients, agreement with scikit-learn, the estimator contract."""
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastlc import DivergenceError, MLPClassifier, MLPRegressor
from fastlc.gradcheck import numerical_gradient

ACTIVATIONS = ["relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softplus", "silu"]


def small_classification(n_samples=40, n_features=5, n_classes=3, seed=0, dtype=np.float64):
    X, y = make_classification(n_samples, n_features, n_informative=3, n_redundant=0, n_classes=n_classes,
                               n_clusters_per_class=1, random_state=seed)
    return X.astype(dtype), y


def fitted(model, X, y):
    """The model after one short fit (its weights random, not trained towards a kink)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def check_objective_gradient(model, X, y, sample_weight=None):
    loss, grad = model._objective(X, y, sample_weight)
    params = model._params
    start = params.copy()

    def objective(values):
        params[:] = values
        return model._objective(X, y, sample_weight)[0]

    numeric = numerical_gradient(objective, start.copy(), h=1e-6)
    params[:] = start
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)
    return loss


@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu", "softplus"])
@pytest.mark.parametrize("extra", [{}, {"dropout": 0.3}, {"batch_norm": True}, {"dropout": 0.2, "batch_norm": True}])
def test_classifier_gradient_matches_finite_differences(activation, extra):
    """The whole network's gradient (output loss, layers, dropout with its fixed mask, batch norm, penalty)."""
    X, y = small_classification()
    model = fitted(MLPClassifier((6, 4), activation=activation, alpha=0.01, max_epochs=1, tol=None,
                                 random_state=0, **extra), X, y)
    weight = np.random.default_rng(1).random(X.shape[0]) + 0.5
    check_objective_gradient(model, X, y, weight)


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber"])
def test_regressor_gradient_matches_finite_differences(loss):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((30, 4))
    Y = np.c_[X @ rng.standard_normal(4), np.sin(X[:, 0])] + 0.3 * rng.standard_normal((30, 2))
    model = fitted(MLPRegressor((5,), activation="tanh", loss=loss, delta=0.5, batch_norm=True, max_epochs=1,
                                tol=None, random_state=0), X, Y)
    check_objective_gradient(model, X, Y)


def test_loss_curve_agrees_with_scikit_learn_configured_alike():
    """Same initial weights, plain SGD, same batches in order, no penalty: the same loss curve."""
    X, y = small_classification(200, 6, 3, seed=4)
    ours = MLPClassifier((8,), optimizer="sgd", learning_rate=0.1, alpha=0.0, penalty=None, batch_size=50,
                         shuffle=False, max_epochs=1, tol=None, random_state=0)
    fitted(ours, X, y)
    initial = [c.copy() for c in ours.coefs_], [b.copy() for b in ours.intercepts_]
    theirs = SklearnMLPClassifier((8,), solver="sgd", learning_rate_init=0.1, momentum=0.0, alpha=0.0,
                                  batch_size=50, shuffle=False, max_iter=1, tol=0.0, n_iter_no_change=1000,
                                  warm_start=True, random_state=0)
    fitted(theirs, X, y)
    for ours_array, their_array in zip(initial[0] + initial[1], theirs.coefs_ + theirs.intercepts_):
        their_array[...] = ours_array
    for array, value in zip(ours.coefs_ + ours.intercepts_, initial[0] + initial[1]):
        array[...] = value
    ours.set_params(max_epochs=8, warm_start=True)
    ours.loss_curve_ = []
    fitted(ours, X, y)
    theirs.set_params(max_iter=8)
    theirs.loss_curve_ = []
    fitted(theirs, X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_[-8:], rtol=1e-6)
    for ours_array, their_array in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(ours_array, their_array, rtol=1e-6, atol=1e-9)


def test_digits_accuracy_with_dropout_and_batch_norm():
    X, y = load_digits(return_X_y=True)
    X = X / 16
    train, test = slice(0, 1400), slice(1400, None)
    for extra in ({}, {"dropout": 0.1, "batch_norm": True}):
        model = MLPClassifier((64,), learning_rate=1e-2, max_epochs=15, tol=None, random_state=0, **extra)
        model.fit(X[train], y[train])
        assert model.score(X[test], y[test]) > 0.9, extra
        assert model.predict_proba(X[test]).sum(axis=1) == pytest.approx(1.0)


def test_huber_beats_squared_error_with_outliers():
    rng = np.random.default_rng(5)
    X = rng.uniform(-2, 2, (800, 2))
    clean = np.sin(X[:, 0]) + 0.5 * X[:, 1]
    y = clean + 0.05 * rng.standard_normal(800)
    outliers = rng.choice(800, 80, replace=False)
    y[outliers] += rng.choice([-1, 1], 80) * 50
    X_test = rng.uniform(-2, 2, (400, 2))
    y_test = np.sin(X_test[:, 0]) + 0.5 * X_test[:, 1]
    scores = {}
    for loss in ("squared_error", "huber"):
        model = MLPRegressor((32,), activation="tanh", loss=loss, learning_rate=1e-2, max_epochs=60, tol=None,
                             random_state=0).fit(X, y)
        scores[loss] = model.score(X_test, y_test)
    assert scores["huber"] > 0.9
    assert scores["huber"] > scores["squared_error"] + 0.1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_kept_and_same_seed_same_model(dtype):
    X, y = small_classification(120, 5, 3, dtype=dtype)
    params = dict(hidden_layer_sizes=(7,), dropout=0.2, batch_norm=True, max_epochs=3, tol=None, random_state=7)
    one, two = MLPClassifier(**params).fit(X, y), MLPClassifier(**params).fit(X, y)
    assert one.coefs_[0].dtype == dtype and one.predict_proba(X).dtype == dtype
    for a, b in zip(one.coefs_ + one.intercepts_, two.coefs_ + two.intercepts_):
        assert np.array_equal(a, b)
    other = MLPClassifier(**{**params, "random_state": 8}).fit(X, y)
    assert not np.array_equal(one.coefs_[0], other.coefs_[0])


def test_multi_output_regression_and_pickle():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((300, 3))
    Y = np.c_[X.sum(axis=1), X[:, 0] - X[:, 1]]
    model = MLPRegressor((16,), learning_rate=1e-2, max_epochs=40, tol=None, random_state=0).fit(X, Y)
    assert model.predict(X).shape == (300, 2) and model.score(X, Y) > 0.95
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.predict(X), model.predict(X))
    clone.partial_fit(X, Y)
    assert clone.n_iter_ == model.n_iter_ + 1
    assert model.best_loss_ == min(model.loss_curve_)
    assert [c.shape for c in model.coefs_] == [(3, 16), (16, 2)] and model.n_layers_ == 3


@pytest.mark.parametrize("params,match", [
    (dict(hidden_layer_sizes=(0,)), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes=(4.5,)), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes="wide"), "hidden_layer_sizes"),
    (dict(activation="swish"), "activation"),
    (dict(dropout=1.0), "dropout"),
    (dict(dropout=-0.1), "dropout"),
    (dict(batch_norm="yes"), "batch_norm"),
    (dict(optimizer="lbfgs"), "optimizer"),
])
def test_bad_parameters_name_the_parameter(params, match):
    X, y = small_classification()
    with pytest.raises((TypeError, ValueError), match=match):
        MLPClassifier(**params).fit(X, y)


def test_regressor_rejects_losses_it_does_not_have():
    X, y = small_classification()
    with pytest.raises(ValueError, match="loss"):
        MLPRegressor(loss="epsilon_insensitive").fit(X, y.astype(float))


def test_divergence_is_an_error():
    X, y = small_classification(100)
    model = MLPClassifier((8,), optimizer="sgd", learning_rate=1e8, max_epochs=5, tol=None, random_state=0)
    with pytest.raises(DivergenceError, match="learning_rate"):
        model.fit(X * 1e3, y)
    assert not hasattr(model, "coefs_")


def test_works_in_pipeline_grid_search_and_calibration():
    X, y = small_classification(300, 6, 3, seed=9)
    pipe = make_pipeline(StandardScaler(), MLPClassifier((8,), max_epochs=20, tol=None, random_state=0))
    search = GridSearchCV(pipe, {"mlpclassifier__learning_rate": [1e-4, 1e-2]}, cv=2, n_jobs=2).fit(X, y)
    assert search.best_params_["mlpclassifier__learning_rate"] == 1e-2
    calibrated = CalibratedClassifierCV(MLPClassifier((8,), learning_rate=1e-2, max_epochs=20, tol=None,
                                                      random_state=0), cv=3).fit(X, y)
    assert calibrated.predict_proba(X).shape == (300, 3)


# ---------------------------------------------------------------- the fused hidden layer


def test_the_activation_table_gives_the_public_kernels_at_their_defaults():
    """The networks call the private kernels with the (kernel, a, b) of ``ACTIVATIONS``: the public
    functions at PyTorch's default options, forward and backward, bit for bit."""
    from fastlc import kernels
    from fastlc._dispatch import get_kernel
    from fastlc.neural_network._multilayer import ACTIVATIONS as TABLE

    x = np.linspace(-30, 30, 1001)
    g = np.cos(x)
    assert sorted(TABLE) == sorted(ACTIVATIONS)
    for name, (kernel, a, b) in TABLE.items():
        forward, backward = np.empty_like(x), np.empty_like(x)
        get_kernel(kernel, "numpy")(x, a, b, forward, 1)
        get_kernel(f"{kernel}_backward", "numpy")(g, x, a, b, backward, 1)
        np.testing.assert_array_equal(forward, getattr(kernels, name)(x, backend="numpy"), err_msg=name)
        np.testing.assert_array_equal(backward, getattr(kernels, f"{name}_backward")(g, x, backend="numpy"),
                                      err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_fused_hidden_layer_trains_the_same_bits(activation, dropout, dtype, monkeypatch):
    """Bias, activation and dropout in one pass (``fastlc._cython._layer``) against the separate kernels:
    the same network, the same loss curve, on one and two threads. 7 units: rows that do not start on
    a 4-element dropout group."""
    from conftest import require_backend
    from fastlc.neural_network._multilayer import _MLPMixin

    require_backend("cython")
    X, y = small_classification(n_samples=150, n_features=6, dtype=dtype)
    models = []
    for fused, n_threads in ((True, 1), (True, 2), (False, 1)):
        with monkeypatch.context() as patch:
            if not fused:
                patch.setattr(_MLPMixin, "_fused_layer", lambda self: None)
            model = MLPClassifier((7, 5), activation=activation, dropout=dropout, max_epochs=3, batch_size=32,
                                  backend="cython", n_threads=n_threads, random_state=0)
            assert (model._fused_layer() is not None) == fused
            models.append(fitted(model, X, y))
    for other in models[1:]:
        for coef, expected in zip(other.coefs_ + other.intercepts_, models[0].coefs_ + models[0].intercepts_):
            np.testing.assert_array_equal(coef, expected)
        assert other.loss_curve_ == models[0].loss_curve_
    np.testing.assert_array_equal(models[0].predict_proba(X), models[2].predict_proba(X))


@pytest.mark.parametrize("shape", [(1000, 7), (90, 256), (3, 1)], ids=["many-blocks", "wide", "tiny"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_fused_hidden_layer_kernel_is_the_separate_kernels(shape, dtype):
    """Kernel level, over several blocks of rows (the blocks of 7 units start mid dropout group):
    z + bias, the activation and dropout (mask included), and the backward, against the public kernels."""
    from conftest import require_backend
    from fastlc import kernels
    from fastlc.kernels._dropout import generator_arguments

    require_backend("cython")
    from fastlc._cython import _layer

    rng = np.random.default_rng(0)
    z = rng.standard_normal(shape).astype(dtype)
    bias = rng.standard_normal(shape[1]).astype(dtype)
    delta = rng.standard_normal(shape).astype(dtype)
    pre = z + bias
    expected_h, expected_mask = kernels.dropout(kernels.gelu(pre), 0.3, seed=12345)
    expected_delta = kernels.gelu_backward(kernels.dropout_backward(delta, expected_mask, 0.3), pre)
    threshold, scale, key0, key1 = generator_arguments(0.3, 12345, np.dtype(dtype))
    for n_threads in (1, 2):
        z_run, out, mask = z.copy(), np.empty_like(z), np.empty(shape, dtype=bool)
        _layer.hidden_forward(_layer.OPS["gelu"], z_run, bias, dtype(0), dtype(0), threshold, scale, key0, key1,
                              out, mask.reshape(-1).view(np.uint8), n_threads)
        np.testing.assert_array_equal(z_run, pre)
        np.testing.assert_array_equal(out, expected_h)
        np.testing.assert_array_equal(mask, expected_mask)
        delta_run = delta.copy()
        _layer.hidden_backward(_layer.OPS["gelu"], delta_run, pre, mask.reshape(-1).view(np.uint8), scale, dtype(0),
                               dtype(0), n_threads)
        np.testing.assert_array_equal(delta_run, expected_delta)


def test_fit_keeps_a_users_blas_limit():
    # the fit limits BLAS to its own thread count, but never raises a limit the user set
    from threadpoolctl import threadpool_limits

    from fastlc.linear_model._base import _blas_controller

    X = np.random.default_rng(0).random((60, 4))
    y = (X[:, 0] > 0.5).astype(int)
    model = MLPClassifier((4,), max_epochs=1, tol=None, n_threads=2)
    seen = []
    forward = model._forward

    def spy(*args, **kwargs):
        seen.extend(lib.num_threads for lib in _blas_controller().select(user_api="blas").lib_controllers)
        return forward(*args, **kwargs)

    model._forward = spy
    with threadpool_limits(limits=1, user_api="blas"):
        model.fit(X, y)
    assert seen and set(seen) == {1}


# ---------------------------------------------------------------- defects found by a probe (each failed before)


def _backends():
    from fastlc import available_backends

    return [b for b in ("numpy", "numba", "cython") if b in available_backends()]


def test_batch_norm_fits_whatever_rows_the_last_batch_has():
    # 257 rows in batches of 256 left a last batch of one row, on which batch norm's statistics fail
    rng = np.random.default_rng(0)
    X = rng.standard_normal((257, 4))
    y = (X[:, 0] > 0).astype(int)
    model = MLPClassifier((5,), batch_norm=True, max_epochs=2, tol=None, random_state=0).fit(X, y)
    assert model.t_ == 2  # one batch of 257 an epoch: the last row joined the batch before it
    MLPRegressor((5,), batch_norm=True, batch_size=10, max_epochs=1, tol=None).fit(X[:21], X[:21, 0])


def test_batch_norm_with_batches_of_one_is_refused_by_name():
    X = np.random.default_rng(0).standard_normal((6, 3))
    with pytest.raises(ValueError, match="batch_norm=True needs batches of at least 2 samples .*batch_size=1"):
        MLPClassifier((4,), batch_norm=True, batch_size=1).fit(X, np.arange(6) % 2)


def test_batch_norm_on_one_sample_is_refused_and_leaves_the_model_unfitted():
    X, y = np.ones((1, 3)), np.array([1])
    model = MLPClassifier((4,), batch_norm=True)
    with pytest.raises(ValueError, match="batch_norm=True needs at least 2 samples .*got 1 sample"):
        model.partial_fit(X, y, classes=[0, 1])
    assert not hasattr(model, "coefs_") and not hasattr(model, "n_iter_")


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_batch_norm_hidden_intercepts_stay_zero_and_backends_agree_in_float32(Estimator):
    # the intercept before a batch norm has gradient 0 up to rounding; Adam made that rounding into steps
    # of the learning rate's size, and float32 fits of different backends drifted apart by 0.1
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) if Estimator is MLPClassifier else (X @ rng.standard_normal(5)).astype(np.float32)
    fits = {backend: Estimator((6, 3), batch_norm=True, max_epochs=3, tol=None, random_state=0, batch_size=8,
                               learning_rate=0.01, backend=backend).fit(X, y) for backend in _backends()}
    for model in fits.values():
        for intercept in model.intercepts_[:-1]:
            np.testing.assert_array_equal(intercept, 0)
        assert np.any(model.intercepts_[-1] != 0)  # the output layer's is trained
    if len(fits) < 2:
        pytest.skip("one backend only in this installation: nothing to compare it with")
    reference = next(iter(fits.values()))
    for model in fits.values():
        np.testing.assert_allclose(model.predict(X), reference.predict(X), rtol=1e-5, atol=1e-5)


def test_small_numpy_integer_layer_sizes():
    # np.int8(100) * np.int8(100) overflows: the sizes are taken as Python ints
    X, y = small_classification(30, 3, 2)
    model = MLPClassifier(hidden_layer_sizes=(np.int8(100), np.uint8(200)), max_epochs=1, tol=None).fit(X, y)
    assert [coef.shape for coef in model.coefs_] == [(3, 100), (100, 200), (200, 2)]


def test_a_network_too_large_for_memory_names_its_sizes():
    X, y = small_classification(30, 3, 2)
    with pytest.raises(MemoryError, match=r"hidden_layer_sizes=\(1000000000000,\)"):
        MLPClassifier(hidden_layer_sizes=(10**12,), max_epochs=1).fit(X, y)


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_warm_start_follows_the_optimizer_set_now(Estimator):
    # set_params(optimizer=...) before a warm start was ignored: Adam went on
    X, y = small_classification(60, 3, 2)
    switched = Estimator((4,), warm_start=True, max_epochs=2, tol=None, random_state=0).fit(X, y)
    # the same weights trained on by a network that has always used plain SGD (which keeps no statistics)
    always_sgd = Estimator((4,), optimizer="sgd", warm_start=True, max_epochs=1, tol=None, random_state=0).fit(X, y)
    always_sgd._params[...] = switched._params
    switched.set_params(optimizer="sgd").fit(X, y)
    always_sgd.set_params(max_epochs=2).fit(X, y)
    np.testing.assert_array_equal(switched._params, always_sgd._params)
    switched.set_params(optimizer="nesterov", momentum=0.5).partial_fit(X, y)
    assert (switched._optimizer_state.name, switched._optimizer_state.momentum) == ("nesterov", 0.5)


def test_early_stopping_regression_needs_two_validation_samples():
    # R^2 of one sample is NaN: every epoch looked worse and the untrained weights came back silently
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, 3))
    with pytest.raises(ValueError, match="leaves 1 validation sample out of 10 samples; .* at least 2"):
        MLPRegressor((4,), early_stopping=True).fit(X, X @ [1.0, 2.0, 3.0])


def test_memory_mapped_models_predict_and_train_on(tmp_path):
    # joblib.load(..., mmap_mode="r") gives read-only arrays: partial_fit failed in the Cython kernels,
    # and batch norm's running statistics were refused even in prediction
    import joblib

    X, y = small_classification(80, 4, 2)
    for model in (MLPClassifier((4,), max_epochs=2, tol=None, random_state=0),
                  MLPClassifier((4,), batch_norm=True, max_epochs=2, tol=None, random_state=0)):
        model.fit(X, y)
        joblib.dump(model, tmp_path / "model.joblib")
        loaded = joblib.load(tmp_path / "model.joblib", mmap_mode="r")
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
        loaded.partial_fit(X, y)
        model.partial_fit(X, y)
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_assigned_coefs_are_the_network_in_training_and_after_pickling():
    # coefs_ / intercepts_ assigned by the user were used by predict, but training and unpickling re-bound the
    # views of the old weights and dropped them
    X, y = small_classification(40)
    model = MLPRegressor((4,), max_epochs=2, random_state=0).fit(X, y.astype(float))
    model.coefs_ = [np.ones_like(coef) for coef in model.coefs_]
    model.intercepts_ = [np.zeros_like(intercept) for intercept in model.intercepts_]
    expected = np.maximum(X @ np.ones((5, 4)), 0).sum(axis=1)
    np.testing.assert_allclose(pickle.loads(pickle.dumps(model)).predict(X), expected)
    model.set_params(optimizer="sgd", learning_rate=1e-12).partial_fit(X, y.astype(float))
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-6, atol=1e-9)
    model.coefs_ = model.coefs_[:1]
    with pytest.raises(ValueError, match="coefs_ has 1 array, but the network has 2 layers"):
        model.predict(X)
    model.coefs_ = [np.ones((5, 3)), np.ones((4, 1))]
    with pytest.raises(ValueError, match=r"coefs_\[0\] has shape \(5, 3\), but that layer's is \(5, 4\)"):
        model.predict(X)


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_regressor_predictions_follow_the_y_of_the_latest_fit(how):
    # partial_fit on (n, 1) y after 1-d y went on predicting 1-d
    X, y = small_classification(40)
    y = y.astype(float)
    model = MLPRegressor((3,), max_epochs=2, tol=None, warm_start=True, random_state=0)
    train = model.fit if how == "warm_start" else model.partial_fit
    for targets in (y, y[:, None], y):
        train(X, targets)
        assert model.predict(X).shape == targets.shape
        assert pickle.loads(pickle.dumps(model)).predict(X).shape == targets.shape


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("sizes, hidden", [(3, [3]), (np.array([4, 2]), [4, 2]), (np.int16(2), [2])],
                         ids=["int", "array", "numpy-int"])
def test_hidden_layer_sizes_takes_an_int_or_an_array_like_as_scikit_learn(Estimator, sizes, hidden):
    # a tuple or list only were accepted
    X, y = small_classification(30, n_classes=2)
    model = Estimator(hidden_layer_sizes=sizes, max_epochs=1, tol=None).fit(X, y)
    assert [coef.shape[1] for coef in model.coefs_[:-1]] == hidden and model.n_layers_ == len(hidden) + 2
    assert model.get_params()["hidden_layer_sizes"] is sizes  # as given (no logic in __init__)
    assert [coef.shape[1] for coef in clone(model).fit(X, y).coefs_[:-1]] == hidden


@pytest.mark.parametrize("sizes", [0, True, np.array([True, True]), np.array([4.0]), np.array([[3, 4]])],
                         ids=["zero", "bool", "bool-array", "float-array", "2-d"])
def test_hidden_layer_sizes_must_be_positive_ints(sizes):
    X, y = small_classification(30, n_classes=2)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        MLPClassifier(hidden_layer_sizes=sizes, max_epochs=1).fit(X, y)
