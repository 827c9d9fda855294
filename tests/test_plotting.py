"""fastlc.plotting: the drawn data is the estimator's record or the optimizer's own steps."""
import sys
from functools import partial

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError

from fastlc import LinearSVMClassifier, SoftmaxClassifier
from fastlc.optim import SGD, Adagrad, Adam, RMSprop
from fastlc.plotting import (
    TEST_FUNCTIONS,
    LossCurveDisplay,
    LossLandscapeDisplay,
    OptimizerPathDisplay,
    loss_landscape,
    random_directions,
)

matplotlib = pytest.importorskip("matplotlib", reason="fastlc.plotting draws with matplotlib (the plot extra)")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    return SoftmaxClassifier(max_epochs=8, tol=None, random_state=0).fit(X, y)


# ---------------------------------------------------------------- loss curve

def test_loss_curve_plots_loss_curve_(fitted, tmp_path):
    display = LossCurveDisplay.from_estimator(fitted)
    np.testing.assert_array_equal(display.line_.get_xdata(), np.arange(1, 9))
    np.testing.assert_array_equal(display.line_.get_ydata(), fitted.loss_curve_)
    assert display.validation_line_ is None and display.validation_ax_ is None
    assert display.figure_ is display.ax_.figure
    display.figure_.savefig(tmp_path / "loss.png")
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("Estimator", [SoftmaxClassifier, LinearSVMClassifier])
def test_loss_curve_with_early_stopping_draws_validation_scores(Estimator, digits):
    X, y = digits
    est = Estimator(early_stopping=True, max_epochs=6, tol=None, random_state=0).fit(X, y)
    _, ax = plt.subplots()
    display = LossCurveDisplay.from_estimator(est, ax=ax)
    assert display.ax_ is ax
    np.testing.assert_array_equal(display.line_.get_ydata(), est.loss_curve_)
    np.testing.assert_array_equal(display.validation_line_.get_ydata(), est.validation_scores_)
    assert display.validation_ax_ is not ax


def test_loss_curve_ignores_stale_validation_scores(digits):
    X, y = digits
    est = SoftmaxClassifier(early_stopping=True, max_epochs=3, tol=None, random_state=0).fit(X, y)
    est.set_params(early_stopping=False).fit(X, y)  # validation_scores_ of the first fit remain
    assert LossCurveDisplay.from_estimator(est).validation_line_ is None


def test_loss_curve_of_sklearn_mlp(digits):
    from sklearn.neural_network import MLPClassifier

    X, y = digits
    mlp = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    with pytest.warns(Warning):  # ConvergenceWarning after 5 iterations
        mlp.fit(X, y)
    np.testing.assert_array_equal(LossCurveDisplay.from_estimator(mlp).line_.get_ydata(), mlp.loss_curve_)


def test_loss_curve_errors(digits):
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(SoftmaxClassifier())
    from sklearn.dummy import DummyClassifier

    X, y = digits
    with pytest.raises(TypeError, match="no loss_curve_"):
        LossCurveDisplay.from_estimator(DummyClassifier().fit(X, y))
    with pytest.raises(ValueError, match="validation_scores has shape"):
        LossCurveDisplay([1.0, 0.5], [0.9, 0.8, 0.7])
    with pytest.raises(TypeError, match="log_scale must be True or False; got 'no'"):
        LossCurveDisplay([1.0, 0.5]).plot(log_scale="no")
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes or None; got str"):
        LossCurveDisplay([1.0, 0.5]).plot(ax="x")


def test_loss_curve_after_partial_fit_on_an_early_stopping_fit(digits):
    # partial_fit adds epochs without validation scores: they are drawn on the epochs that have them
    X, y = digits
    clf = SoftmaxClassifier(max_epochs=3, early_stopping=True, n_iter_no_change=50, random_state=0).fit(X, y)
    clf.partial_fit(X, y)
    display = LossCurveDisplay.from_estimator(clf)
    assert list(display.line_.get_xdata()) == [1, 2, 3, 4]
    assert list(display.validation_line_.get_xdata()) == [1, 2, 3]


# ---------------------------------------------------------------- optimizer paths

# shared/SPEC.md worked values: f(x) = 0.1 x1^2 + 2 x2^2 from (-5, -2), 20 steps. The d2l
# tutorials put eps inside the square root for AdaGrad and RMSProp.
SPEC_PATH_ENDS = {
    "GD lr 0.4": (partial(SGD, lr=0.4), (-0.943467, -0.000073)),
    "momentum lr 0.6 beta 0.5": (partial(SGD, lr=0.6, momentum=0.5), (0.007188, 0.002553)),
    "momentum lr 0.6 beta 0.25": (partial(SGD, lr=0.6, momentum=0.25), (-0.126340, -0.186632)),
    "AdaGrad lr 0.4": (partial(Adagrad, lr=0.4, eps=1e-6, eps_inside_sqrt=True), (-2.382563, -0.158591)),
    "AdaGrad lr 2": (partial(Adagrad, lr=2.0, eps=1e-6, eps_inside_sqrt=True), (-0.002295, 0.000000)),
    "RMSProp lr 0.4 alpha 0.9": (partial(RMSprop, lr=0.4, alpha=0.9, eps=1e-6, eps_inside_sqrt=True),
                                 (-0.010599, 0.000000)),
}


def test_optimizer_paths_end_at_spec_worked_values():
    display = OptimizerPathDisplay.from_optimizers({label: f for label, (f, _) in SPEC_PATH_ENDS.items()})
    for label, (_, end) in SPEC_PATH_ENDS.items():
        path = display.paths[label]
        assert path.shape == (21, 2)
        np.testing.assert_array_equal(path[0], [-5.0, -2.0])
        np.testing.assert_allclose(path[-1], end, atol=1e-6, err_msg=label)
        np.testing.assert_array_equal(display.lines_[label].get_xydata(), path)


def test_gd_lr_06_diverges_in_x2():
    path = OptimizerPathDisplay.from_optimizers([("GD lr 0.6", partial(SGD, lr=0.6))]).paths["GD lr 0.6"]
    # x2 <- (1 - 0.6 * 4) x2 = -1.4 x2: it grows in size and flips sign every step
    assert abs(path[-1, 1]) > 1000 and np.all(np.sign(path[1:, 1]) == -np.sign(path[:-1, 1]))
    assert abs(path[-1, 0]) < 5


@pytest.mark.parametrize("function", ["ellipse", "rosenbrock", "beale"])
def test_path_is_the_optimizers_own_steps(function):
    x = np.array([-1.5, 2.0])
    optimizer = Adam([x], lr=0.05)
    expected = [x.copy()]
    for _ in range(15):
        optimizer.step([TEST_FUNCTIONS[function].grad(x)])
        expected.append(x.copy())
    display = OptimizerPathDisplay.from_optimizers({"Adam": lambda p: Adam(p, lr=0.05)}, function=function,
                                                   start=(-1.5, 2.0), n_steps=15)
    np.testing.assert_array_equal(display.paths["Adam"], np.array(expected))


@pytest.mark.parametrize("name", sorted(TEST_FUNCTIONS))
def test_gradients_of_the_test_functions(name):
    function = TEST_FUNCTIONS[name]
    rng = np.random.default_rng(0)
    h = 1e-6
    for x in rng.uniform(-2, 2, size=(5, 2)):
        numeric = [(function.f(x + h * e) - function.f(x - h * e)) / (2 * h) for e in np.eye(2)]
        np.testing.assert_allclose(function.grad(x), numeric, rtol=1e-6, atol=1e-5)
    assert function.f(np.array(function.minimum)) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(function.grad(np.array(function.minimum)), 0.0, atol=1e-12)


def test_users_function_and_png(tmp_path):
    def f(x):
        return (x[0] - 1.0) ** 2 + (x[1] + 2.0) ** 2

    def grad(x):
        return np.array([2 * (x[0] - 1.0), 2 * (x[1] + 2.0)])

    display = OptimizerPathDisplay.from_optimizers({"GD": partial(SGD, lr=0.25)}, function=(f, grad),
                                                   start=(3.0, 0.0), n_steps=3)
    # GD with lr 0.25 halves the distance to (1, -2) every step
    np.testing.assert_allclose(display.paths["GD"], [[3, 0], [2, -1], [1.5, -1.5], [1.25, -1.75]])
    display.figure_.savefig(tmp_path / "paths.png")
    assert (tmp_path / "paths.png").stat().st_size > 1000


def test_optimizer_path_errors():
    with pytest.raises(ValueError, match=r"function='himmelblau'.*\['beale', 'ellipse', 'rosenbrock'\]"):
        OptimizerPathDisplay.from_optimizers({"GD": SGD}, function="himmelblau")
    with pytest.raises(TypeError, match="function must be"):
        OptimizerPathDisplay.from_optimizers({"GD": SGD}, function=42)
    with pytest.raises(TypeError, match=r"optimizers\['GD'\] must be a callable"):
        OptimizerPathDisplay.from_optimizers({"GD": "sgd"})
    with pytest.raises(TypeError, match="must return a fastlc.optim.Optimizer"):
        OptimizerPathDisplay.from_optimizers({"GD": lambda params: None})
    with pytest.raises(ValueError, match="optimizers is empty"):
        OptimizerPathDisplay.from_optimizers({})
    with pytest.raises(ValueError, match="paths must be a non-empty dict"):
        OptimizerPathDisplay({"GD": np.zeros((3, 3))}, "ellipse")
    with pytest.raises(ValueError, match="start must be a point"):
        OptimizerPathDisplay.from_optimizers({"GD": SGD}, start=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="n_steps must be an int >= 0; got -1"):
        OptimizerPathDisplay.from_optimizers({"GD": SGD}, n_steps=-1)
    display = OptimizerPathDisplay({"GD": np.zeros((3, 2))}, "ellipse")
    for kw, message in ((dict(levels=-3), "levels must be"), (dict(grid_points=1), "grid_points must be"),
                        (dict(xlim=(1,)), "xlim must be a pair of numbers"),
                        (dict(ylim=(2.0, 1.0)), "ylim must be a pair of finite numbers with low < high")):
        with pytest.raises(ValueError, match=message):
            display.plot(**kw)


# ---------------------------------------------------------------- loss landscape

@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("make", [
    lambda: SoftmaxClassifier(max_epochs=4, tol=None, random_state=0, label_smoothing=0.1,
                              penalty="elasticnet", alpha=1e-2, class_weight="balanced"),
    lambda: LinearSVMClassifier(max_epochs=4, tol=None, random_state=0, margin=0.5, squared_hinge=True,
                                penalty="l1", alpha=1e-3),
], ids=["softmax", "svm"])
def test_landscape_is_the_training_objective(make, dtype, digits):
    X, y = digits
    X = X.astype(dtype)
    est = make().fit(X, y)
    sample_weight = np.random.default_rng(0).uniform(0.5, 2.0, X.shape[0])
    directions = random_directions(est.coef_, 2, random_state=0)
    alphas, betas = np.array([-0.5, 0.0, 0.3]), np.array([0.0, 0.7])
    losses = loss_landscape(est, X, y, directions, alphas, betas, sample_weight=sample_weight)
    line = loss_landscape(est, X, y, directions[:1], alphas, sample_weight=sample_weight)
    # reference: move the weights and ask training's own objective (its fused kernel)
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    moved = clone(est).fit(X[:60], y[:60])
    moved.intercept_[:] = est.intercept_
    for i, a in enumerate(alphas):
        for j, b in enumerate(betas):
            moved.coef_[:] = est.coef_ + dtype(a) * directions[0] + dtype(b) * directions[1]
            expected = moved._objective(X, y, sample_weight)[0]
            assert losses[i, j] == pytest.approx(expected, rel=rtol)
            if b == 0:
                assert line[i] == pytest.approx(expected, rel=rtol)


def test_landscape_display_one_and_two_directions(fitted, digits, tmp_path):
    X, y = digits
    line = LossLandscapeDisplay.from_estimator(fitted, X, y, n_points=11, span=0.5, random_state=0)
    np.testing.assert_array_equal(line.alphas, np.linspace(-0.5, 0.5, 11))
    np.testing.assert_array_equal(line.line_.get_ydata(), line.losses)
    assert line.center_loss == pytest.approx(fitted._objective(X, y)[0], rel=1e-12)
    # cross-entropy + L2 is convex in the weights, so along a line too
    assert np.all(np.diff(line.losses, 2) >= -1e-12)
    surface = LossLandscapeDisplay.from_estimator(fitted, X, y, n_directions=2, n_points=7, random_state=0,
                                                  kind="heatmap")
    assert surface.losses.shape == (7, 7) and surface.colorbar_ is not None
    # same seed: the first direction and hence the alpha axis through beta = 0 agree with the 1-D slice
    np.testing.assert_array_equal(surface.directions[0], line.directions[0])
    surface.figure_.savefig(tmp_path / "landscape.png")
    assert (tmp_path / "landscape.png").stat().st_size > 1000


def test_filter_normalisation_matches_weight_rows(fitted):
    (d,) = random_directions(fitted.coef_, 1, normalize="filter", random_state=1)
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), np.linalg.norm(fitted.coef_, axis=1), rtol=1e-12)
    (d,) = random_directions(fitted.coef_, 1, normalize="layer", random_state=1)
    assert np.linalg.norm(d) == pytest.approx(np.linalg.norm(fitted.coef_), rel=1e-12)


def test_landscape_errors(fitted, digits):
    X, y = digits
    with pytest.raises(TypeError, match="log_scale must be True or False; got 'no'"):
        LossLandscapeDisplay([-1, 0, 1], [2.0, 1.0, 2.0]).plot(log_scale="no")
    with pytest.raises(ValueError, match="levels must be"):
        LossLandscapeDisplay([-1, 0, 1], np.ones((3, 3)), betas=[-1, 0, 1]).plot(levels=-1)
    for n_directions in (0, 3, True):
        with pytest.raises(ValueError, match=f"n_directions must be 1 .* or 2 .*; got {n_directions}"):
            LossLandscapeDisplay.from_estimator(fitted, X, y, n_directions=n_directions)
    with pytest.raises(NotFittedError):
        LossLandscapeDisplay.from_estimator(SoftmaxClassifier(), X, y)
    with pytest.raises(ValueError, match="n_points must be an int >= 2; got 1"):
        LossLandscapeDisplay.from_estimator(fitted, X, y, n_points=1)
    with pytest.raises(ValueError, match="span must be a finite number > 0; got 0"):
        LossLandscapeDisplay.from_estimator(fitted, X, y, span=0)
    with pytest.raises(ValueError, match="normalize must be one of"):
        LossLandscapeDisplay.from_estimator(fitted, X, y, normalize="batch")
    with pytest.raises(ValueError, match="label 99"):
        LossLandscapeDisplay.from_estimator(fitted, X, np.full(X.shape[0], 99))
    with pytest.raises(ValueError, match=r"y must have shape \(600,\)"):
        LossLandscapeDisplay.from_estimator(fitted, X, y[:10])
    with pytest.raises(ValueError, match="features"):
        LossLandscapeDisplay.from_estimator(fitted, X[:, :10], y)
    from sklearn.neural_network import MLPClassifier

    with pytest.warns(Warning):  # ConvergenceWarning after 5 iterations
        mlp = MLPClassifier(hidden_layer_sizes=(), max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(TypeError, match="SoftmaxClassifier or LinearSVMClassifier; got MLPClassifier"):
        LossLandscapeDisplay.from_estimator(mlp, X, y)
    with pytest.raises(ValueError, match="kind must be"):
        LossLandscapeDisplay.from_estimator(fitted, X, y, n_directions=2, n_points=3, kind="surface")


# ---------------------------------------------------------------- matplotlib missing

def test_missing_matplotlib_names_the_extra(fitted, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes "import matplotlib..." raise ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'LossCurveDisplay.plot .*pip install "fastlc\[plot\]"'):
        LossCurveDisplay.from_estimator(fitted)
    with pytest.raises(ImportError, match=r'fastlc\[plot\]'):
        OptimizerPathDisplay.from_optimizers({"GD": SGD})


def test_cli_writes_the_three_pictures(tmp_path, capsys):
    from fastlc.__main__ import main

    assert main(["--n-samples", "200", "--epochs", "3", "--no-speed-table", "--plots", str(tmp_path / "pics")]) == 0
    out = capsys.readouterr().out
    for name in ("loss_curve.png", "optimizer_paths.png", "loss_landscape.png"):
        assert (tmp_path / "pics" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"wrote {tmp_path / 'pics' / name}" in out
