"""MLPClassifier against scikit-learn's MLPClassifier (and a plain PyTorch loop when torch is installed).

``make_classification(60000 + 10000, 784, n_informative=50, n_classes=10)`` (60 000 to
train, 10 000 to test), one hidden layer of 256 ReLU units, Adam (lr 1e-3), batch 200,
20 epochs, no early stop, in float32 and float64: fit times and test accuracies side by
side (targets: >= 3x scikit-learn in float32, >= 2x in float64, accuracy within 0.01; at
least as fast as the PyTorch loop). Beside them, timed in the same interleaved rounds, the
floor of any implementation of this training: the two 200 x 784 x 256 matrix products of
every batch (the same BLAS, the same threads) and one Adam step over the network's 203 530
parameters (a memory-bound pass: read parameters, gradient and both moments, write three of
them), times the batches.

Configured alike: the same L2 penalty on the weights (not the intercepts) in all three.
scikit-learn's ``alpha=1e-4`` (its default) is per batch -- it adds ``alpha / 200 * W``
to each batch's gradient -- which is fastlc's ``alpha=1e-4 / 200`` and PyTorch's
``weight_decay=1e-4 / 200`` on the weight matrices; with fastlc's default ``alpha=1e-4``
the network would be penalised 200 times harder than scikit-learn's, and the
accuracies would differ for that reason alone. fastlc and scikit-learn also start from
the same Glorot-uniform weights (the same ``random_state``; see tests/test_mlp_contract.py).

Ratios of medians of interleaved rounds in this one run (the machine is shared and noisy).
Run::

    python benchmarks/mlp_speed.py                      # several minutes on 2 cores
    python benchmarks/mlp_speed.py --quick --repeats 1  # a smoke run
    OMP_NUM_THREADS=1 python benchmarks/mlp_speed.py    # all three on one thread (BLAS, fastlc, torch)

On a machine shared with other busy processes, two-thread BLAS products are erratic
(a product waits for a descheduled worker: 10-40x its quiet time per call, for all
three libraries alike), so a one-thread run gives the steadier ratios.
"""
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from workflow_speed import median_times, run_comparison

import fastlc
from fastlc import MLPClassifier


def data(n_train, n_test, seed=0):
    X, y = make_classification(n_train + n_test, 784, n_informative=50, n_classes=10, random_state=seed)
    return X[:n_train], X[n_train:], y[:n_train], y[n_train:]


def floor_run(X, hidden, batch, epochs, n_threads):
    """A callable that runs the two big products (forward, weight gradient) and one Adam step per batch,
    alone, for as many batches as the fits make: timed in the same interleaved rounds as the fits, so
    that it sees the same state of the shared machine (whose memory bandwidth varies by up to 2x over
    tens of seconds with its neighbours' load)."""
    from fastlc.linear_model._base import _blas_controller
    from fastlc.linear_model._optimizers import OptimizerState

    W = np.full((X.shape[1], hidden), 0.01, dtype=X.dtype)
    delta = np.ones((batch, hidden), dtype=X.dtype)
    A = np.ascontiguousarray(X[:batch])
    n_params = X.shape[1] * hidden + hidden + hidden * 10 + 10
    params, grad = np.zeros(n_params, X.dtype), np.full(n_params, 1e-3, X.dtype)
    adam = OptimizerState("adam", n_params, X.dtype, momentum=0.9, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    step = adam.stepper(params, "auto", n_threads, n_decayed=n_params - hidden - 10,
                        weight_decay=SKLEARN_ALPHA / batch)
    n_batches = epochs * ((X.shape[0] + batch - 1) // batch)

    def run():
        with _blas_controller().limit(limits=n_threads, user_api="blas"):
            for _ in range(n_batches):
                A @ W
                A.T @ delta
                step(grad, 1e-3)

    return run


#: scikit-learn's default per-batch L2 penalty; fastlc's and PyTorch's equivalent is this over the batch size
SKLEARN_ALPHA = 1e-4


def torch_loop(X, y, hidden, batch, epochs, n_threads):
    """The same network in a plain PyTorch training loop, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(n_threads)
    dtype = torch.float32 if X.dtype == np.float32 else torch.float64
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))

    def fit():
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], hidden), torch.nn.ReLU(),
                                    torch.nn.Linear(hidden, 10)).to(dtype)
        weights = [layer.weight for layer in model if isinstance(layer, torch.nn.Linear)]
        biases = [layer.bias for layer in model if isinstance(layer, torch.nn.Linear)]
        optimizer = torch.optim.Adam([{"params": weights, "weight_decay": SKLEARN_ALPHA / batch},
                                      {"params": biases, "weight_decay": 0.0}], lr=1e-3)
        for _ in range(epochs):
            order = torch.randperm(X.shape[0])
            for first in range(0, X.shape[0], batch):
                rows = order[first:first + batch]
                optimizer.zero_grad()
                torch.nn.functional.cross_entropy(model(Xt[rows]), yt[rows]).backward()
                optimizer.step()
        return model

    return fit


def against_scikit_learn(repeats, quick):
    n_train, n_test = (3000, 1000) if quick else (60000, 10000)
    epochs, hidden, batch = (2 if quick else 20), 256, 200
    X_train, X_test, y_train, y_test = data(n_train, n_test)
    n_threads = fastlc.get_config()["n_threads"] or fastlc._threads.allowed_n_threads()
    rows = []
    for dtype in (np.float32, np.float64):
        X, X_eval = X_train.astype(dtype), X_test.astype(dtype)
        ours = MLPClassifier((hidden,), learning_rate=1e-3, alpha=SKLEARN_ALPHA / batch, batch_size=batch,
                             max_epochs=epochs, tol=None, random_state=0)
        theirs = SklearnMLPClassifier((hidden,), learning_rate_init=1e-3, alpha=SKLEARN_ALPHA, batch_size=batch,
                                      max_iter=epochs, tol=0.0, n_iter_no_change=10**6, random_state=0)
        fits = {"fastlc": lambda: ours.fit(X, y_train), "sklearn": lambda: theirs.fit(X, y_train)}
        torch_fit = torch_loop(X, y_train, hidden, batch, epochs, n_threads)
        if torch_fit is not None:
            fits["torch"] = torch_fit
        fits["floor"] = floor_run(X, hidden, batch, epochs, n_threads)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn's ConvergenceWarning at a fixed epoch budget
            times = median_times(fits, repeats)
        floor = times["floor"]
        name = np.dtype(dtype).name
        ours_acc, theirs_acc = ours.score(X_eval, y_test), theirs.score(X_eval, y_test)
        target = ">= 3x, accuracy within 0.01" if dtype == np.float32 else ">= 2x, accuracy within 0.01"
        rows.append((
            f"MLPClassifier((256,)) {name} vs scikit-learn, {epochs} epochs (accuracy {ours_acc:.4f} vs "
            f"{theirs_acc:.4f})",
            f"{times['fastlc']:.2f} vs {times['sklearn']:.2f} s; products + Adam step alone {floor:.2f} s "
            f"(ratio if everything else were free {times['sklearn'] / floor:.2f}x)",
            times["sklearn"] / times["fastlc"], target,
        ))
        if "torch" in times:
            rows.append((f"MLPClassifier((256,)) {name} vs a plain PyTorch loop ({n_threads} threads)",
                         f"{times['fastlc']:.2f} vs {times['torch']:.2f} s", times["torch"] / times["fastlc"],
                         ">= 1x"))
    return rows


def main(argv=None):
    run_comparison(argv, __doc__, "MLPClassifier speed", "mlp_speed.py", against_scikit_learn, default_repeats=3)


if __name__ == "__main__":
    main()
