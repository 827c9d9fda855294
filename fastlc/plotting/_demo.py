"""The pictures of ``python -m fastlc --plots DIR`` (also the README's)."""
import os
import warnings
from functools import partial

import numpy as np

from ._loss_curve import LossCurveDisplay
from ._loss_landscape import LossLandscapeDisplay
from ._matplotlib import require_pyplot
from ._optimizer_path import OptimizerPathDisplay


def _tutorial_optimizers():
    """The tutorials' optimizers with the SPEC's worked hyper-parameters, plus Adam.

    AdaGrad and RMSProp put eps inside the square root, as the d2l tutorials
    whose worked values shared/SPEC.md pins.
    """
    from ..optim import SGD, Adagrad, Adam, RMSprop

    return {
        "GD lr 0.4": partial(SGD, lr=0.4),
        "momentum lr 0.6, β 0.5": partial(SGD, lr=0.6, momentum=0.5),
        "AdaGrad lr 0.4": partial(Adagrad, lr=0.4, eps=1e-6, eps_inside_sqrt=True),
        "RMSProp lr 0.4, α 0.9": partial(RMSprop, lr=0.4, alpha=0.9, eps=1e-6, eps_inside_sqrt=True),
        "Adam lr 0.5": partial(Adam, lr=0.5),
    }


def save_demo_pictures(directory, *, n_samples=None, max_epochs=None, backend="auto", random_state=0, dpi=72):
    """Write loss_curve.png, optimizer_paths.png and loss_landscape.png into ``directory``.

    A ``SoftmaxClassifier`` with early stopping is trained on the digits
    training split (the 75/25 split of ``python -m fastlc``, pixels scaled to
    [0, 1]); its loss curve and loss landscape (1-D and 2-D filter-normalised
    slices on the training data) are drawn, next to the optimizers' paths on
    the ellipse f(x) = 0.1 x1^2 + 2 x2^2 and on Rosenbrock's function.

    Parameters
    ----------
    directory : str or path-like
        Created if missing.
    n_samples, max_epochs, backend, random_state
        As for :func:`fastlc._compare.compare_on_digits`.
    dpi : int, default=72
        Keeps each PNG under 150 KB.

    Returns
    -------
    paths : list of str
        The files written.
    """
    require_pyplot("python -m fastlc --plots")  # fail before any training
    from matplotlib.figure import Figure  # no pyplot state: works without a display
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split

    from ..linear_model import SoftmaxClassifier

    os.makedirs(directory, exist_ok=True)
    X, y = load_digits(return_X_y=True)
    if n_samples is not None:
        X, y = X[:n_samples], y[:n_samples]
    X_train, _, y_train, _ = train_test_split(X / 16.0, y, test_size=0.25, random_state=random_state, stratify=y)
    options = {} if max_epochs is None else {"max_epochs": max_epochs}
    clf = SoftmaxClassifier(early_stopping=True, tol=None, random_state=random_state, backend=backend,
                            **{"max_epochs": 60, **options})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    written = []

    fig = Figure(figsize=(6, 4), dpi=dpi, layout="constrained")
    LossCurveDisplay.from_estimator(clf, ax=fig.subplots(), name="SoftmaxClassifier on digits")
    written.append(_save(fig, directory, "loss_curve.png"))

    fig = Figure(figsize=(12, 4.5), dpi=dpi, layout="constrained")
    left, right = fig.subplots(1, 2)
    optimizers = _tutorial_optimizers()
    OptimizerPathDisplay.from_optimizers(optimizers, "ellipse", start=(-5.0, -2.0), n_steps=20, ax=left, levels=15)
    rosenbrock = {"GD lr 0.001": partial(optimizers["GD lr 0.4"], lr=1e-3),
                  "momentum lr 0.001, β 0.9": partial(optimizers["momentum lr 0.6, β 0.5"], lr=1e-3, momentum=0.9),
                  "Adam lr 0.1": partial(optimizers["Adam lr 0.5"], lr=0.1)}
    OptimizerPathDisplay.from_optimizers(rosenbrock, "rosenbrock", start=(-1.5, 2.0), n_steps=500, ax=right,
                                         levels=15)
    for line in right.get_lines()[:-1]:  # 500 steps: lines, not dots
        line.set_marker("")
    right.get_lines()[0].set(linewidth=3, zorder=5)  # GD stops early, on top of the others' path
    written.append(_save(fig, directory, "optimizer_paths.png"))

    fig = Figure(figsize=(12, 4.5), dpi=dpi, layout="constrained")
    left, right = fig.subplots(1, 2)
    LossLandscapeDisplay.from_estimator(clf, X_train, y_train, n_directions=1, n_points=51, span=1.0,
                                        random_state=random_state, ax=left)
    LossLandscapeDisplay.from_estimator(clf, X_train, y_train, n_directions=2, n_points=41, span=1.0,
                                        random_state=random_state, ax=right, levels=20)
    written.append(_save(fig, directory, "loss_landscape.png"))
    return written


def _save(fig, directory, name):
    path = os.path.join(directory, name)
    fig.savefig(path)
    print(f"wrote {path}")
    return path
