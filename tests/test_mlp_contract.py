"""MLPClassifier / MLPRegressor against scikit-learn's MLPs from the same seed, and the estimator contract.

scikit-learn draws its Glorot-uniform initial weights layer by layer (weights, then
intercepts) from ``check_random_state(random_state)``; fastlc draws them in the same
order with the same bounds, so with the same ``random_state`` (and more than two
classes: scikit-learn's binary output is a single logistic unit) both networks start
from the same weights. With the same batches (``shuffle=False``) and optimizer the
training then follows the same path: exactly for SGD and momentum (the same
arithmetic), to ~1e-6 for Adam (scikit-learn adds epsilon to ``sqrt(v)`` before the
bias correction, PyTorch's formula after it).
"""
import contextlib
import io
import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor

from fastlc import MLPClassifier, MLPRegressor

#: fastlc optimizer -> scikit-learn solver options doing the same update
SKLEARN_SOLVER = {
    "sgd": dict(solver="sgd", momentum=0.0),
    "momentum": dict(solver="sgd", momentum=0.9, nesterovs_momentum=False),
    "nesterov": dict(solver="sgd", momentum=0.9, nesterovs_momentum=True),
    "adam": dict(solver="adam"),
}
#: relative agreement of the loss curves: the same arithmetic, or Adam's epsilon placement
RTOL = {"sgd": 1e-12, "momentum": 1e-12, "nesterov": 1e-12, "adam": 1e-4}


@pytest.fixture(autouse=True)
def _no_convergence_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # scikit-learn's, at a fixed epoch budget
        yield


def three_classes(n_samples=200, dtype=np.float64, seed=4):
    X, y = make_classification(n_samples, 6, n_informative=3, n_redundant=0, n_classes=3, n_clusters_per_class=1,
                               random_state=seed)
    return X.astype(dtype), y


def regression_data(n_samples=200):
    X, y = make_regression(n_samples, 6, noise=1.0, random_state=0)
    return X, y / y.std()


def pair(kind, optimizer, activation="relu", alpha_sklearn=0.0, batch_size=50, epochs=10):
    """(fastlc, scikit-learn) MLPs configured alike: same seed, batches in order, same optimizer and penalty.

    scikit-learn's ``alpha`` is per batch: it adds ``alpha / batch_rows * W`` to the
    gradient, which is fastlc's L2 penalty with ``alpha = alpha_sklearn / batch_size``.
    """
    Ours, Theirs = {"classifier": (MLPClassifier, SklearnMLPClassifier),
                    "regressor": (MLPRegressor, SklearnMLPRegressor)}[kind]
    ours = Ours(hidden_layer_sizes=(8,), activation=activation, optimizer=optimizer, learning_rate=0.01,
                alpha=alpha_sklearn / batch_size, penalty="l2" if alpha_sklearn else None, batch_size=batch_size,
                shuffle=False, max_epochs=epochs, tol=None, random_state=0)
    theirs = Theirs(hidden_layer_sizes=(8,), activation={"sigmoid": "logistic"}.get(activation, activation),
                    learning_rate_init=0.01, alpha=alpha_sklearn, batch_size=batch_size, shuffle=False,
                    max_iter=epochs, tol=0.0, n_iter_no_change=10**6, random_state=0, **SKLEARN_SOLVER[optimizer])
    return ours, theirs


def assert_same_weights(ours, theirs, rtol, atol):
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    for mine, their in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, their, rtol=rtol, atol=atol)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adam"])
def test_classifier_follows_scikit_learn_from_the_same_seed(optimizer):
    X, y = three_classes()
    ours, theirs = pair("classifier", optimizer)
    ours.fit(X, y)
    theirs.fit(X, y)
    assert ours.loss_curve_[-1] < 0.9 * ours.loss_curve_[0]  # it trained: the comparison is not of two idle nets
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=RTOL[optimizer])
    assert_same_weights(ours, theirs, rtol=RTOL[optimizer], atol=1e-4 if optimizer == "adam" else 1e-12)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_classifier_follows_scikit_learn_with_other_activations(activation):
    """sigmoid also checks the Glorot bound factor 2 (scikit-learn's for its "logistic")."""
    X, y = three_classes()
    ours, theirs = pair("classifier", "adam", activation=activation)
    ours.fit(X, y)
    theirs.fit(X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-4)
    assert_same_weights(ours, theirs, rtol=1e-4, atol=1e-4)


def test_classifier_follows_scikit_learn_in_float32():
    X, y = three_classes(dtype=np.float32)
    ours, theirs = pair("classifier", "adam")
    ours.fit(X, y)
    theirs.fit(X, y)
    assert ours.coefs_[0].dtype == np.float32
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-4)
    assert_same_weights(ours, theirs, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_l2_penalty_is_scikit_learns_alpha_over_the_batch_size(optimizer):
    X, y = three_classes()
    ours, theirs = pair("classifier", optimizer, alpha_sklearn=0.5)
    ours.fit(X, y)
    theirs.fit(X, y)
    assert_same_weights(ours, theirs, rtol=1e-4 if optimizer == "adam" else 1e-10,
                        atol=1e-4 if optimizer == "adam" else 1e-12)
    unpenalized = pair("classifier", optimizer)[0].fit(X, y)
    assert np.abs(ours.coefs_[0]).sum() < np.abs(unpenalized.coefs_[0]).sum()  # the penalty did something


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_regressor_follows_scikit_learn_from_the_same_seed(optimizer):
    """Squared error: both train on half the mean squared residual."""
    X, y = regression_data()
    ours, theirs = pair("regressor", optimizer)
    ours.fit(X, y)
    theirs.fit(X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=RTOL[optimizer])
    assert_same_weights(ours, theirs, rtol=RTOL[optimizer], atol=1e-4 if optimizer == "adam" else 1e-12)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-4, atol=1e-4)


def test_binary_classification_with_string_labels():
    X, y = make_classification(120, 5, n_informative=3, n_redundant=0, class_sep=2.0, random_state=0)
    labels = np.array(["no", "yes"])[y]
    model = MLPClassifier((6,), learning_rate=1e-2, max_epochs=30, tol=None, random_state=0).fit(X, labels)
    proba = model.predict_proba(X)
    assert list(model.classes_) == ["no", "yes"] and proba.shape == (120, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])
    # the binary decision function is the positive class's log-odds
    np.testing.assert_allclose(model.decision_function(X), np.log(proba[:, 1] / proba[:, 0]), rtol=1e-6, atol=1e-9)
    assert model.score(X, labels) > 0.8


def test_sample_weight_is_row_repetition():
    """Integer weights train the same network as repeating the rows (one batch holding every row, plain SGD)."""
    X, y = three_classes(120)
    weight = np.random.default_rng(0).integers(0, 3, X.shape[0])
    params = dict(hidden_layer_sizes=(6,), optimizer="sgd", learning_rate=0.1, batch_size=1000, shuffle=False,
                  max_epochs=5, tol=None, random_state=0)
    weighted = MLPClassifier(**params).fit(X, y, sample_weight=weight)
    repeated = MLPClassifier(**params).fit(np.repeat(X, weight, axis=0), np.repeat(y, weight))
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-10)
    assert_same_weights(weighted, repeated, rtol=1e-10, atol=1e-12)
    unweighted = MLPClassifier(**params).fit(X, y)
    assert not np.allclose(unweighted.coefs_[0], weighted.coefs_[0])


@pytest.mark.parametrize("extra", [{}, {"dropout": 0.2, "batch_norm": True}])
def test_warm_start_continues_the_same_training(extra):
    """Two warm-started fits of 2 epochs are one fit of 4 (batches in order: the dropout masks and the
    optimizer's moments carry over)."""
    X, y = three_classes(120)
    params = dict(hidden_layer_sizes=(6,), batch_size=32, shuffle=False, tol=None, random_state=0, **extra)
    resumed = MLPClassifier(max_epochs=2, warm_start=True, **params).fit(X, y).fit(X, y)
    straight = MLPClassifier(max_epochs=4, **params).fit(X, y)
    assert resumed.n_iter_ == straight.n_iter_ == 4
    np.testing.assert_array_equal(resumed.loss_curve_, straight.loss_curve_)
    for a, b in zip(resumed.coefs_ + resumed.intercepts_, straight.coefs_ + straight.intercepts_):
        np.testing.assert_array_equal(a, b)
    stepped = MLPClassifier(max_epochs=4, **params)
    for _ in range(4):
        stepped.partial_fit(X, y, classes=[0, 1, 2])
    assert stepped.n_iter_ == 4
    np.testing.assert_array_equal(stepped.coefs_[0], straight.coefs_[0])


def test_batch_norm_predictions_do_not_depend_on_the_other_rows():
    """In predict, batch norm uses the running statistics, so a row's output is the same alone or in a batch."""
    X, y = three_classes(120)
    model = MLPClassifier((6, 5), batch_norm=True, learning_rate=1e-2, max_epochs=5, tol=None,
                          random_state=0).fit(X, y)
    alone = np.vstack([model.predict_proba(X[i: i + 1]) for i in range(5)])
    np.testing.assert_allclose(alone, model.predict_proba(X)[:5], rtol=1e-12)
    # and the running statistics moved away from their start (0, 1) toward the data's
    assert not np.allclose(model._running_mean[0], 0.0)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))


def test_dropout_is_training_only():
    """Dropout changes the training path; prediction is deterministic (no mask at inference)."""
    X, y = three_classes(120)
    params = dict(hidden_layer_sizes=(16,), learning_rate=1e-2, max_epochs=5, tol=None, random_state=0)
    plain = MLPClassifier(**params).fit(X, y)
    dropped = MLPClassifier(dropout=0.5, **params).fit(X, y)
    assert not np.allclose(plain.coefs_[0], dropped.coefs_[0])
    np.testing.assert_array_equal(dropped.predict_proba(X), dropped.predict_proba(X))


@pytest.mark.parametrize("n_threads", [1, 2])
def test_same_seed_and_threads_give_the_same_network(n_threads):
    X, y = three_classes(300, dtype=np.float32)
    params = dict(hidden_layer_sizes=(32,), dropout=0.3, batch_norm=True, max_epochs=3, tol=None, random_state=3,
                  n_threads=n_threads)
    one, two = MLPClassifier(**params).fit(X, y), MLPClassifier(**params).fit(X, y)
    for a, b in zip(one.coefs_ + one.intercepts_, two.coefs_ + two.intercepts_):
        np.testing.assert_array_equal(a, b)
    # another thread count: the same network up to BLAS's summation order
    other = MLPClassifier(**{**params, "n_threads": 3 - n_threads}).fit(X, y)
    for a, b in zip(one.coefs_, other.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_early_stopping_keeps_validation_scores():
    X, y = three_classes(300)
    # patience 10: with 3 epochs a 30-row validation set's noise stopped some seeds' fits at chance level
    model = MLPClassifier((8,), learning_rate=1e-2, early_stopping=True, n_iter_no_change=10, max_epochs=500,
                          random_state=0).fit(X, y)
    assert model.n_iter_ < 500  # it stopped early
    assert len(model.validation_scores_) == model.n_iter_ == len(model.loss_curve_)
    assert model.best_loss_ is None
    # learnt: well above chance (1/3); seeds 0-7 reach 0.67-0.9 on these 30 validation rows
    assert all(0 <= s <= 1 for s in model.validation_scores_) and max(model.validation_scores_) > 0.6


def test_verbose_prints_one_line_per_epoch():
    X, y = three_classes(100)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        model = MLPRegressor((4,), verbose=1, max_epochs=3, tol=None, random_state=0).fit(X, y.astype(float))
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and all("loss=" in line for line in lines)
    assert f"{model.loss_curve_[-1]:.6f}" in lines[-1]


def test_predict_checks_its_input():
    X, y = three_classes(100)
    model = MLPClassifier((4,), max_epochs=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        MLPClassifier((4,)).fit(np.where(X > 1.5, np.nan, X), y)


@pytest.mark.parametrize("change", [dict(batch_norm=True), dict(hidden_layer_sizes=(3, 3))])
@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_training_on_needs_the_fitted_layers(change, how):
    # batch_norm switched on failed with an IndexError; a new hidden_layer_sizes was silently ignored
    X, y = make_classification(60, 6, n_informative=4, n_classes=3, random_state=0)
    model = MLPClassifier((8,), warm_start=how == "warm_start", max_epochs=2, random_state=0)
    model.fit(X, y) if how == "warm_start" else model.partial_fit(X, y, classes=[0, 1, 2])
    model.set_params(**change)
    with pytest.raises(ValueError, match=r"but the model was fitted with hidden layers \(8,\) and batch_norm=False"):
        model.fit(X, y) if how == "warm_start" else model.partial_fit(X, y)
    model.set_params(warm_start=False).fit(X, y)  # starting over takes the new layers
    assert [c.shape for c in model.coefs_][0][1] == (3 if "hidden_layer_sizes" in change else 8)
