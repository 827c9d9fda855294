"""The linear estimators' training loop (fastlc/linear_model/_training.py): the objective it
follows, the divergence rule, tol=None and the per-epoch log. (The finite-difference check of the
gradient training follows is test_estimators.py::test_objective_gradient_matches_finite_differences.)"""
import io
import re
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from fastlc import DivergenceError, LinearRegressor, LinearSVMClassifier, SoftmaxClassifier, kernels
from fastlc.linear_model._optimizers import OPTIMIZERS
from fastlc.linear_model._training import DIVERGENCE_FACTOR, DivergenceGuard, Diverged

ESTIMATORS = [SoftmaxClassifier, LinearSVMClassifier]
IDS = ["softmax", "svm"]
CLASS_WEIGHT = {0: 2.0, 1: 0.5, 2: 1.5}


def _problem(seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, 5))
    y = rng.integers(0, 3, 40)
    return X, y, rng.uniform(0.5, 2.0, 40), rng


def _model_at_random_weights(Estimator, X, y, rng, **params):
    model = Estimator(max_epochs=1, tol=None, random_state=0, **params).fit(X, y)
    model.coef_[...] = rng.standard_normal(model.coef_.shape)
    model.intercept_[...] = rng.standard_normal(model.intercept_.shape)
    return model


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_objective_is_the_weighted_mean_loss_of_the_public_kernels(Estimator):
    # an independent reference: the public loss kernel on X W^T + b with weights sample_weight * class_weight
    X, y, sample_weight, rng = _problem()
    model = _model_at_random_weights(Estimator, X, y, rng, class_weight=CLASS_WEIGHT, alpha=0.0)
    loss, _, _ = model._objective(X, y, sample_weight)
    scores = X @ model.coef_.T + model.intercept_
    weights = sample_weight * np.array([CLASS_WEIGHT[label] for label in y])
    if Estimator is SoftmaxClassifier:
        expected, _ = kernels.softmax_cross_entropy(scores, y, sample_weight=weights, backend="naive")
    else:
        expected, _ = kernels.multiclass_hinge(scores, y, sample_weight=weights, backend="naive")
    assert loss == pytest.approx(expected, rel=1e-12)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16, y


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_a_huge_learning_rate_is_caught_in_the_first_epoch(digits, Estimator, optimizer):
    X, y = digits
    model = Estimator(optimizer=optimizer, learning_rate=1e6, max_epochs=20, random_state=0)
    with pytest.raises(DivergenceError, match=r"diverged in epoch 1 with learning_rate=1000000\.0"):
        model.fit(X, y)
    assert not hasattr(model, "coef_")  # a fresh model that diverged is left unfitted


def test_divergence_rule():
    guard = DivergenceGuard()
    guard.check_batch(2.3)  # the first batch sets the ceiling: 1000 x max(2.3, 1)
    guard.check_batch(DIVERGENCE_FACTOR * 2.3)
    with pytest.raises(Diverged, match="rose to"):
        guard.check_batch(DIVERGENCE_FACTOR * 2.3 * 1.01)
    with pytest.raises(Diverged, match="non-finite"):
        guard.check_batch(np.nan)
    with pytest.raises(Diverged, match="weights"):
        guard.check_epoch(1.0, np.array([0.0, np.inf]))
    small = DivergenceGuard()
    small.check_batch(1e-3)  # a tiny starting loss: the ceiling is 1000 x 1
    with pytest.raises(Diverged):
        small.check_batch(1001.0)


def test_divergence_is_judged_against_the_starting_models_level_too():
    # a batch whose loss is high because of its data (the starting model's loss on it) is not divergence
    levels = {0: 1.0, 1: 10.0, 2: 1.0}
    guard = DivergenceGuard(lambda rows: levels[int(rows[0])])
    guard.check_batch(2.0, np.array([0]))
    guard.check_batch(DIVERGENCE_FACTOR * 9.9, np.array([1]))
    with pytest.raises(Diverged, match=r"rose to 2100, over 1000 x max\(starting loss, loss of the starting "
                                       r"model on its rows, 1\) = 2000"):
        guard.check_batch(DIVERGENCE_FACTOR * 2.1, np.array([2]))
    batches = DivergenceGuard(lambda rows: levels[int(rows[0])])
    batches.check_batches([2.0, DIVERGENCE_FACTOR * 9.9, 3.0], lambda i: np.array([i]))
    with pytest.raises(Diverged, match="rose to 1e\\+06"):
        batches.check_epoch(1e6, np.zeros(2), np.array([1]))


@pytest.mark.parametrize("backend", ["numpy", "cython"])  # the Python loop, and the Cython epoch loop
def test_a_level_shifted_batch_of_a_stable_stream_is_not_divergence(backend):
    # its squared error (~5000) was over 1000 x max(L0, 1) of a call that started on a trained model
    rng = np.random.default_rng(0)
    w = np.arange(5.0)
    Xa = rng.standard_normal((300, 5))
    model = LinearRegressor(optimizer="sgd", learning_rate=0.1, max_epochs=30, tol=None, backend=backend)
    model.fit(Xa, Xa @ w)
    Xb = rng.standard_normal((300, 5))
    yb = Xb @ w
    yb[256:] += 100
    model.set_params(shuffle=False, batch_size=128).partial_fit(Xb, yb)
    assert model.loss_curve_[-1] > 100 and np.isfinite(model.coef_).all()
    with pytest.raises(DivergenceError, match="rose to"):  # real divergence still is
        model.set_params(learning_rate=100.0).partial_fit(Xb, yb)


def test_a_warm_adam_divergence_on_uncentred_targets_is_caught():
    # y ~ 1000: the loss of zero scores (~5e5) set the ceiling, and a rise from 1e-4 to 1e5 went unnoticed
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 1000.0
    model = LinearRegressor(optimizer="sgd", learning_rate=0.05, max_epochs=200, tol=None, batch_size=16,
                            random_state=0).fit(X, y)
    assert model.loss_curve_[-1] < 1e-2
    model.set_params(optimizer="adam", learning_rate=300.0)
    with pytest.raises(DivergenceError, match=r"loss of the starting model on its rows, 1\) = 1000\b") as error:
        model.partial_fit(X, y)
    assert "alpha" not in str(error.value)  # alpha=1e-4 is no part of this


@pytest.mark.parametrize("backend", ["numpy", "cython"])
def test_a_starting_loss_that_the_dtype_cannot_hold_blames_the_data_not_the_learning_rate(backend):
    X = np.random.default_rng(0).standard_normal((50, 3)).astype(np.float32)
    with pytest.raises(DivergenceError, match=r"at the starting weights, before any step, is not finite \(inf\)\. "
                       r"The loss at the starting weights does not fit in float32, the training dtype: the data") as error:
        LinearRegressor(backend=backend).fit(X, np.full(50, 1e20))  # 0.5 y^2 overflows float32
    assert "learning_rate" not in str(error.value) and "alpha" not in str(error.value)


def test_a_warm_classifier_divergence_under_its_zero_score_level_is_caught():
    # a squared hinge of margin 10 over 3 classes costs 200 at zero scores: the old ceiling was 2e5
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 20)
    X = 10 * (rng.standard_normal((60, 2)) + 2 * np.eye(3)[y][:, :2] - 2 * (y == 2)[:, None])
    model = LinearSVMClassifier(margin=10.0, squared_hinge=True, learning_rate=0.1, alpha=0, batch_size=10,
                                max_epochs=300, tol=None, random_state=0).fit(X, y)
    assert model.loss_curve_[-1] < 20
    with pytest.raises(DivergenceError, match="rose to"):
        model.set_params(learning_rate=3.0).partial_fit(X, y)


@pytest.mark.parametrize("losses", [[2.3, 5.0, DIVERGENCE_FACTOR * 2.3], [2.3, 5.0, DIVERGENCE_FACTOR * 2.3 * 1.01],
                                    [np.nan, 1.0], [2.0, np.inf, 1e9], [1e-3, 1001.0], [0.5]])
def test_checking_batches_at_once_is_checking_them_one_by_one(losses):
    def outcome(check):
        guard = DivergenceGuard()
        try:
            check(guard)
        except Diverged as error:
            return str(error), guard.ceiling
        return None, guard.ceiling

    one_by_one = outcome(lambda guard: [guard.check_batch(loss) for loss in losses])
    assert outcome(lambda guard: guard.check_batches(losses)) == one_by_one
    # a guard that has seen batches before keeps its ceiling
    primed = DivergenceGuard()
    primed.check_batch(3.0)
    primed.check_batches([])
    assert primed.ceiling == DIVERGENCE_FACTOR * 3.0


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_tol_none_runs_every_epoch_without_a_convergence_warning(digits, Estimator):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = Estimator(tol=None, max_epochs=7, random_state=0).fit(X, y)
    assert model.n_iter_ == 7 and len(model.loss_curve_) == 7


@pytest.mark.parametrize("early_stopping", [False, True])
def test_verbose_prints_the_loss_in_six_significant_digits(digits, early_stopping):
    X, y = digits
    out = io.StringIO()
    with redirect_stdout(out):
        SoftmaxClassifier(max_epochs=2, tol=None, verbose=1, early_stopping=early_stopping,
                          random_state=0).fit(X, y)
    lines = [line for line in out.getvalue().splitlines() if line.startswith("Epoch")]
    assert len(lines) == 2
    match = re.match(r"Epoch 1: loss=(\S+?)(?:, validation score=(\S+?))?, lr=", lines[0])
    assert match, lines[0]
    for text in filter(None, match.groups()):
        assert text == f"{float(text):.6g}", lines[0]  # printed as %.6g, not fixed point


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"])
def test_step_decays_only_the_weights(optimizer):
    """The L2 penalty rides in the step kernel as weight decay on the head of params (the weights), never on
    the intercepts: with a zero gradient the weights shrink (by lr * alpha in the first step of sgd, momentum
    and adamw) and the intercepts stay."""
    from fastlc.linear_model._optimizers import OptimizerState

    params = np.ones(5)
    state = OptimizerState(optimizer, 5, np.float64, momentum=0.9, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    step = state.stepper(params, "numpy", 1, n_decayed=3, weight_decay=0.5)
    step(np.zeros(5), 0.1)
    assert np.array_equal(params[3:], [1.0, 1.0])
    assert np.all(params[:3] < 1.0)
    if optimizer in ("sgd", "momentum", "adamw"):  # (nesterov looks ahead: 1 + momentum times that)
        np.testing.assert_allclose(params[:3], 1 - 0.1 * 0.5)
