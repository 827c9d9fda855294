"""LinearRegressor against scikit-learn's SGDRegressor, at the same epochs.

On ``make_regression(20000, 100, noise=10)`` (80 % to train, 20 % to test), ``epochs``
epochs each (``tol=None``: every epoch runs): ``SGDRegressor`` with its defaults
(per-sample SGD, float64) against ``LinearRegressor(loss="squared_error",
optimizer="sgd", learning_rate=0.05)`` with the default batch ("auto", 256 rows) and
with 1000-row batches, in float64 and float32; the target is >= 3x at R^2 within 0.01.
Beside each, the floor of the fastlc fit, timed in the same interleaved rounds: the fused
gradient kernel alone over the shuffled batches of every epoch (all that must touch the
data), on the thread count the fit gives it; and the cost above that floor per batch,
``(fit - kernel) / batches`` (the per-fit input checks and per-epoch shuffles spread
over the batches, plus each batch's Python loop, optimizer step and divergence check).

Ratios of medians of interleaved rounds taken in this one run (the machine is shared
and noisy). Run::

    python benchmarks/regressor_speed.py                 # about 20 seconds
    python benchmarks/regressor_speed.py --quick --repeats 1   # a smoke run
"""

import numpy as np
from sklearn.datasets import make_regression
from sklearn.linear_model import SGDRegressor
from sklearn.model_selection import train_test_split
from workflow_speed import median_times, run_comparison

from fastlc import LinearRegressor
from fastlc._dispatch import get_kernel, resolve_backend


def regression_data(n_samples, n_features=100, seed=0):
    X, y = make_regression(n_samples, n_features, noise=10.0, random_state=seed)
    return train_test_split(X, y, test_size=0.2, random_state=seed)


def kernel_epochs(X, y, batch_size, epochs, n_threads):
    """``run()``: the fused gradient kernel alone over ``epochs`` epochs of shuffled batches (the fit's floor)."""
    backend = resolve_backend("auto", "linear_regression_gradient")
    kernel = get_kernel("linear_regression_gradient", backend)
    dtype = X.dtype.type
    targets = np.ascontiguousarray(y.reshape(-1, 1), dtype=X.dtype)
    weight = np.ones(X.shape[0], dtype=X.dtype)
    coef = np.zeros((1, X.shape[1]), dtype=X.dtype)
    intercept, grad_intercept = np.zeros(1, X.dtype), np.zeros(1, X.dtype)
    grad_coef, row_loss = np.empty_like(coef), np.empty(batch_size, X.dtype)
    order = np.random.default_rng(0).permutation(X.shape[0])

    def run():
        for _ in range(epochs):
            for first in range(0, X.shape[0], batch_size):
                rows = order[first:first + batch_size]
                kernel(X, rows, targets, weight, coef, intercept, dtype(1 / batch_size), 0, dtype(np.inf),
                       row_loss[: rows.shape[0]], grad_coef, grad_intercept, n_threads)

    return run


def against_sgd_regressor(repeats, quick):
    epochs = 2 if quick else 20
    X_train, X_test, y_train, y_test = regression_data(2000 if quick else 20000)
    data = {np.float64: X_train, np.float32: X_train.astype(np.float32)}
    sklearn_model = SGDRegressor(max_iter=epochs, tol=None, random_state=0)
    runs = {"SGDRegressor": lambda: sklearn_model.fit(X_train, y_train)}
    models = {}
    for batch in ("auto", 1000):
        for dtype in (np.float64, np.float32):
            name = f"fastlc {np.dtype(dtype).name} batch {batch}"
            model = LinearRegressor(optimizer="sgd", learning_rate=0.05, batch_size=batch, max_epochs=epochs,
                                    tol=None, random_state=0).fit(data[dtype], y_train)
            batch_rows = 256 if batch == "auto" else batch
            # the kernel alone on the thread count the estimator gives it, timed in the same rounds
            kernel_threads = model._batch_runner(data[dtype], y_train.reshape(-1, 1),
                                                 np.ones(y_train.shape[0], dtype), batch_rows).kernel_threads
            models[name] = (dtype, model, batch_rows, kernel_threads)
            runs[name] = (lambda m, d: lambda: m.fit(d, y_train))(model, data[dtype])
            runs[name + " kernel"] = kernel_epochs(data[dtype], y_train, batch_rows, epochs, kernel_threads)

    times = median_times(runs, repeats)
    sklearn_time = times["SGDRegressor"]
    sklearn_r2 = sklearn_model.score(X_test, y_test)
    rows = []
    for name, (dtype, model, batch_rows, kernel_threads) in models.items():
        r2 = model.score(X_test.astype(dtype), y_test)
        floor = times[name + " kernel"]
        n_batches = epochs * -(-X_train.shape[0] // batch_rows)
        rows.append((
            f"{name} vs SGDRegressor, {epochs} epochs (R^2 {r2:.4f} vs {sklearn_r2:.4f})",
            f"{times[name] * 1e3:.1f} vs {sklearn_time * 1e3:.1f} ms; kernel alone {floor * 1e3:.1f} ms on "
            f"{kernel_threads} thread(s) (ratio at zero overhead {sklearn_time / floor:.2f}x); above it "
            f"{(times[name] - floor) / n_batches * 1e6:.1f} us per batch",
            sklearn_time / times[name],
            ">= 3x, R^2 within 0.01",
        ))
    return rows


def main(argv=None):
    run_comparison(argv, __doc__, "LinearRegressor speed", "regressor_speed.py", against_sgd_regressor, default_repeats=5)


if __name__ == "__main__":
    main()
