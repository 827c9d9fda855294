"""Train fastlc's classifiers and their scikit-learn counterparts on the digits data.

Used by ``python -m fastlc``: the rows show test accuracy and fit time of
``SoftmaxClassifier`` and ``LinearSVMClassifier`` next to scikit-learn's
``SGDClassifier(loss="hinge")`` and ``MLPClassifier(hidden_layer_sizes=())``
(a softmax regression trained with Adam), then fastlc's ``MLPClassifier`` next to
scikit-learn's with the same hidden layer (64 ReLU units), Adam, learning rate
1e-3, batch 200 and epoch budget, all on the same split.
"""
import contextlib
import time
import warnings
from typing import NamedTuple

import numpy as np

from ._threads import check_n_threads_value


class ComparisonRow(NamedTuple):
    """One model's result: its name, test accuracy and fit time in seconds."""

    model: str
    accuracy: float
    fit_seconds: float


def _models(max_epochs, backend, random_state, n_threads):
    from sklearn.linear_model import SGDClassifier
    from sklearn.neural_network import MLPClassifier

    from .linear_model import LinearSVMClassifier, SoftmaxClassifier
    from .neural_network import MLPClassifier as FastMLPClassifier

    ours = dict(random_state=random_state, backend=backend, n_threads=n_threads)
    sgd = dict(random_state=random_state)
    mlp = dict(hidden_layer_sizes=(), random_state=random_state)
    if max_epochs is not None:
        ours["max_epochs"] = sgd["max_iter"] = mlp["max_iter"] = max_epochs
    # the two networks: the same architecture, optimizer, batches and epoch budget
    epochs = 100 if max_epochs is None else max_epochs
    network = dict(hidden_layer_sizes=(64,), batch_size=200, random_state=random_state)
    return [
        ("fastlc SoftmaxClassifier", SoftmaxClassifier(**ours)),
        ("fastlc LinearSVMClassifier", LinearSVMClassifier(**ours)),
        ('sklearn SGDClassifier(loss="hinge")', SGDClassifier(loss="hinge", **sgd)),
        ("sklearn MLPClassifier(hidden_layer_sizes=())", MLPClassifier(**mlp)),
        ("fastlc MLPClassifier((64,))", FastMLPClassifier(max_epochs=epochs, backend=backend, n_threads=n_threads,
                                                         **network)),
        ("sklearn MLPClassifier((64,))", MLPClassifier(max_iter=epochs, **network)),
    ]


def compare_on_digits(*, n_samples=None, max_epochs=None, backend="auto", random_state=0, n_threads=None):
    """Fit fastlc's and scikit-learn's linear classifiers on digits; time them.

    The digits images (8x8 pixels, values 0..16) are scaled to [0, 1] and split
    75/25 with ``train_test_split(..., random_state=random_state, stratify=y)``.
    Every model is fitted once on a few samples first, untimed, so that
    one-time costs (imports, Numba's JIT or cache load) do not count; then it
    is fitted on the training set and timed.

    Parameters
    ----------
    n_samples : int, optional
        Use only the first ``n_samples`` images (default: all 1797).
    max_epochs : int, optional
        Epoch limit for every model (``max_epochs`` / ``max_iter``); default:
        each model's own default.
    backend : str, default="auto"
        Kernel backend of the fastlc models.
    random_state : int, default=0
        Seed of the split and of every model.
    n_threads : int >= 1 or None, default=None
        Threads of every fit and score: the fastlc models' ``n_threads``, and
        a threadpoolctl limit on BLAS (scikit-learn's MLPs multiply there, and
        every model's scores). None: each library's default (fastlc's: what
        the process is allowed).

    Returns
    -------
    rows : list of ComparisonRow
        ``(model, accuracy, fit_seconds)`` per model, fastlc's first.
    """
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split

    n_threads = check_n_threads_value(n_threads)
    X, y = load_digits(return_X_y=True)
    if n_samples is not None:
        if n_samples < 40:
            raise ValueError(f"n_samples must be at least 40 (4 per class); got {n_samples}")
        X, y = X[:n_samples], y[:n_samples]
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=random_state,
                                                        stratify=y)
    rows = []
    if n_threads is None:
        blas_limit = contextlib.nullcontext()
    else:
        from .linear_model._base import blas_threads_at_most

        blas_limit = blas_threads_at_most(n_threads)
    with warnings.catch_warnings(), blas_limit:
        # fixed epoch budgets often stop before the tolerance is met: expected here
        warnings.simplefilter("ignore", ConvergenceWarning)
        # the untimed warm-up fit has fewer samples than the networks' batch of 200
        warnings.filterwarnings("ignore", message="Got `batch_size` less than 1 or larger than sample size")
        for name, model in _models(max_epochs, backend, random_state, n_threads):
            warm_up = np.concatenate([np.flatnonzero(y_train == label)[:2] for label in np.unique(y_train)])
            model.fit(X_train[warm_up], y_train[warm_up])
            start = time.perf_counter()
            model.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            rows.append(ComparisonRow(name, float(model.score(X_test, y_test)), seconds))
    return rows


def format_comparison(rows):
    """Format :func:`compare_on_digits` rows as a text table (one line per model)."""
    width = max(len("model"), *(len(row.model) for row in rows))
    lines = [f"{'model':<{width}}  {'test accuracy':>13}  {'fit time':>10}"]
    lines += [f"{row.model:<{width}}  {row.accuracy:>13.4f}  {row.fit_seconds * 1e3:>8.1f}ms" for row in rows]
    return "\n".join(lines)
