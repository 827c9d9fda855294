"""Estimators: fastlc's classifiers vs scikit-learn's on the same data, time and test accuracy.

A reduced version of the issue's target problem so that the suite stays quick:
``make_classification(n_samples=10_000, n_features=784, n_informative=100,
n_classes=10)`` in float32, 80/20 split, 5 epochs of batch 256, the same
learning rate and per-sample penalty everywhere (MLPClassifier divides its
alpha by the batch size, so it gets ``alpha * batch_size``). The full-size
comparison (60k x 784, 20 epochs) is ``python benchmarks/estimator_speed.py``.

Each benchmark records the model's test accuracy in ``extra_info`` beside the time.
"""
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from fastlc import LinearSVMClassifier, SoftmaxClassifier

N_SAMPLES, N_FEATURES, EPOCHS, BATCH, LEARNING_RATE, ALPHA = 10_000, 784, 5, 256, 1e-3, 1e-4

MODELS = {
    "fastlc SoftmaxClassifier(adam)": lambda backend: SoftmaxClassifier(
        optimizer="adam", learning_rate=LEARNING_RATE, alpha=ALPHA, batch_size=BATCH, max_epochs=EPOCHS,
        n_iter_no_change=EPOCHS + 1, random_state=0, backend=backend),
    "fastlc LinearSVMClassifier(adam)": lambda backend: LinearSVMClassifier(
        optimizer="adam", learning_rate=LEARNING_RATE, alpha=ALPHA, batch_size=BATCH, max_epochs=EPOCHS,
        n_iter_no_change=EPOCHS + 1, random_state=0, backend=backend),
    "sklearn MLPClassifier((), adam)": lambda backend: MLPClassifier(
        hidden_layer_sizes=(), solver="adam", learning_rate_init=LEARNING_RATE, alpha=ALPHA * BATCH,
        batch_size=BATCH, max_iter=EPOCHS, n_iter_no_change=EPOCHS + 1, tol=0.0, random_state=0),
    "sklearn SGDClassifier(hinge)": lambda backend: SGDClassifier(
        loss="hinge", alpha=ALPHA, learning_rate="constant", eta0=LEARNING_RATE, max_iter=EPOCHS, tol=None,
        random_state=0),
    "sklearn LogisticRegression(lbfgs)": lambda backend: LogisticRegression(
        C=1.0 / (ALPHA * N_SAMPLES * 0.8), max_iter=50),
}
CASES = [(name, backend) for name in MODELS for backend in
         (("cython", "numba") if name.startswith("fastlc") else ("-",))]


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=N_SAMPLES, n_features=N_FEATURES, n_informative=100, n_classes=10,
                               random_state=0)
    return train_test_split(X.astype(np.float32), y, test_size=0.2, random_state=0)


@pytest.mark.parametrize("name, backend", CASES, ids=[f"{n}-{b}" for n, b in CASES])
def test_fit(benchmark, data, name, backend):
    X_train, X_test, y_train, y_test = data
    model = MODELS[name](backend)
    benchmark.group = f"fit float32 {N_SAMPLES}x{N_FEATURES} {EPOCHS} epochs"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train[:500], y_train[:500])  # warm-up: JIT, caches
        benchmark.pedantic(model.fit, args=(X_train, y_train), rounds=3, iterations=1, warmup_rounds=0)
    accuracy = float(model.score(X_test, y_test))
    benchmark.extra_info.update(kernel="fit", backend=name if backend == "-" else f"{name} [{backend}]",
                                dtype="float32", size=f"{N_SAMPLES}x{N_FEATURES}", n_threads=None, scale=1.0,
                                test_accuracy=accuracy)
    assert accuracy > 0.2  # far above chance (0.1): the model really trained
