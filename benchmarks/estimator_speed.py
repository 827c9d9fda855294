"""Reproduce the estimator speed target: fastlc vs scikit-learn on 60k x 784.

Data: ``make_classification(n_samples=60_000, n_features=784, n_informative=100,
n_classes=10, random_state=0)`` cast to float32, 80/20 split, 20 epochs of
batch 256 for every model, the same learning rate and the same penalty:

* ``SoftmaxClassifier(optimizer="adam")`` vs ``MLPClassifier(hidden_layer_sizes=(), solver="adam")``
  (MLP's ``alpha`` is divided by its batch size in its objective, so it gets
  ``alpha * batch_size`` to minimise the same per-sample objective);
* ``LinearSVMClassifier`` vs ``SGDClassifier(loss="hinge", learning_rate="constant",
  eta0=learning_rate)`` (one-vs-rest, one sample per step), plus SGDClassifier
  with its default ``learning_rate="optimal"`` schedule for reference (its own
  learning rate, so not the same-learning-rate comparison).

Each fit runs ``--repeats`` times after one untimed warm-up fit (so Numba's JIT
and caches are excluded); the table shows the median fit time, the test
accuracy and the speed-up. Run::

    python benchmarks/estimator_speed.py            # full size, takes ~1-2 minutes
    python benchmarks/estimator_speed.py --single-thread   # every library on one thread
    python benchmarks/estimator_speed.py --n-samples 6000 --repeats 1   # quick look
"""
import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from fastlc import LinearSVMClassifier, SoftmaxClassifier


def make_data(n_samples, n_features, random_state=0):
    X, y = make_classification(n_samples=n_samples, n_features=n_features, n_informative=100, n_classes=10,
                               random_state=random_state)
    X = X.astype(np.float32)
    return train_test_split(X, y, test_size=0.2, random_state=random_state)


def models(epochs, batch_size, learning_rate, alpha, backend, n_threads):
    ours = dict(learning_rate=learning_rate, alpha=alpha, batch_size=batch_size, max_epochs=epochs,
                n_iter_no_change=epochs + 1, random_state=0, backend=backend, n_threads=n_threads)
    return {
        "softmax": [
            ("fastlc SoftmaxClassifier(adam)", SoftmaxClassifier(optimizer="adam", **ours)),
            ("sklearn MLPClassifier((), adam)",
             MLPClassifier(hidden_layer_sizes=(), solver="adam", learning_rate_init=learning_rate,
                           alpha=alpha * batch_size, batch_size=batch_size, max_iter=epochs,
                           n_iter_no_change=epochs + 1, tol=0.0, random_state=0)),
        ],
        "svm": [
            ("fastlc LinearSVMClassifier(adam)", LinearSVMClassifier(optimizer="adam", **ours)),
            ("sklearn SGDClassifier(hinge, constant)",
             SGDClassifier(loss="hinge", alpha=alpha, learning_rate="constant", eta0=learning_rate,
                           max_iter=epochs, tol=None, random_state=0)),
            ("sklearn SGDClassifier(hinge, optimal) [own lr]",
             SGDClassifier(loss="hinge", alpha=alpha, max_iter=epochs, tol=None, random_state=0)),
        ],
    }


def time_fit(model, X_train, y_train, X_test, y_test, repeats):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train[:2000], y_train[:2000])  # warm-up: JIT, caches, BLAS threads
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model.fit(X_train, y_train)
            times.append(time.perf_counter() - start)
    return statistics.median(times), model.score(X_test, y_test)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=60_000)
    parser.add_argument("--n-features", type=int, default=784)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=256)
    # 1e-4: at 1e-3, Adam's noise floor with batch 256 costs both softmax models ~1% accuracy
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--alpha", type=float, default=1e-4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--n-threads", type=int, default=None)
    parser.add_argument("--single-thread", action="store_true",
                        help="limit every BLAS and OpenMP pool to one thread (threadpoolctl) and fastlc to "
                             "n_threads=1: the fair comparison on a shared, noisy machine")
    args = parser.parse_args(argv)
    if args.single_thread:
        from threadpoolctl import threadpool_limits

        args.n_threads = 1
        with threadpool_limits(limits=1):
            return run(args)
    return run(args)


def run(args):
    X_train, X_test, y_train, y_test = make_data(args.n_samples, args.n_features)
    print(f"{'single-threaded' if args.single_thread else 'default threads'}; data: {X_train.shape[0]} train / "
          f"{X_test.shape[0]} test samples, {X_train.shape[1]} features, float32; "
          f"{args.epochs} epochs, batch {args.batch_size}, learning rate {args.learning_rate}, alpha {args.alpha}")
    groups = models(args.epochs, args.batch_size, args.learning_rate, args.alpha, args.backend, args.n_threads)
    print(f"{'model':48s} {'fit [s]':>9s} {'test acc':>9s} {'fastlc speed-up':>16s}")
    for rows in groups.values():
        ours_time = None
        for name, model in rows:
            seconds, accuracy = time_fit(model, X_train, y_train, X_test, y_test, args.repeats)
            if ours_time is None:
                ours_time, ours_acc = seconds, accuracy
                ratio = ""
            else:
                ratio = f"{seconds / ours_time:.1f}x" + ("" if ours_acc >= accuracy else " (acc lower!)")
            print(f"{name:48s} {seconds:9.3f} {accuracy:9.4f} {ratio:>16s}", flush=True)


if __name__ == "__main__":
    main()
