"""Benchmarks of the fused linear-model batch gradient (kernels */_linear).

One call = one training mini-batch: ``batch`` rows picked by index from an
(n_samples, n_features) float array, 10 classes (the estimator-speed problem:
784 features, batch 256). The naive backend runs a reduced batch (its cost is
linear in the batch rows) and reports ``scale`` so that time * scale estimates
the full size.

    pytest benchmarks/test_bench_linear.py --benchmark-json=/tmp/linear.json
"""
import numpy as np
import pytest

from fastlc._dispatch import get_kernel
from fastlc.kernels import available_backends

BACKENDS = ("naive", "numpy", "numba", "cython")
# (n_samples, n_features, n_classes, batch)
SIZES = {"784x10-b256": (48_000, 784, 10, 256), "64x10-b256": (1_437, 64, 10, 256)}
NAIVE_BATCH = 2


def _problem(size, dtype):
    n_samples, n_features, n_classes, batch = SIZES[size]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_samples, n_features)).astype(dtype)
    y = rng.integers(0, n_classes, n_samples).astype(np.intp)
    weight = np.ones(n_samples, dtype=dtype)
    coef = (0.01 * rng.standard_normal((n_classes, n_features))).astype(dtype)
    intercept = np.zeros(n_classes, dtype=dtype)
    rows = rng.permutation(n_samples)[:batch].astype(np.intp)
    return X, rows, y, weight, coef, intercept


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("loss", ["cross_entropy", "hinge"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_linear_gradient(benchmark, backend, loss, size, dtype, n_threads):
    if backend not in available_backends():
        pytest.skip(f"backend {backend!r} not available")
    if backend == "naive" and n_threads == 2:
        pytest.skip("naive ignores n_threads")
    X, rows, y, weight, coef, intercept = _problem(size, dtype)
    batch = rows.shape[0]
    if backend == "naive":
        rows = rows[:NAIVE_BATCH]
    n_classes, n_features = coef.shape
    loss_out = np.empty(rows.shape[0], dtype=dtype)
    grad_coef = np.empty((n_classes, n_features), dtype=dtype)
    grad_intercept = np.empty(n_classes, dtype=dtype)
    scale = dtype(1 / batch)
    if loss == "cross_entropy":
        kernel = get_kernel("linear_cross_entropy_gradient", backend)
        class_weight = np.ones(n_classes, dtype=dtype)
        args = (X, rows, y, class_weight, weight, coef, intercept, scale, dtype(0), loss_out, grad_coef,
                grad_intercept, n_threads)
    else:
        kernel = get_kernel("linear_hinge_gradient", backend)
        args = (X, rows, y, weight, coef, intercept, scale, dtype(1), False, loss_out, grad_coef, grad_intercept,
                n_threads)
    kernel(*args)  # warm-up: JIT compile, caches
    benchmark.group = f"linear_{loss}_gradient {np.dtype(dtype).name} {size} threads={n_threads}"
    benchmark.extra_info.update(kernel=f"linear_{loss}_gradient", backend=backend, dtype=np.dtype(dtype).name,
                                size=size, n_threads=n_threads, scale=batch / rows.shape[0])
    if backend == "naive":
        benchmark.pedantic(kernel, args=args, rounds=3, iterations=1, warmup_rounds=1)
    else:
        benchmark(kernel, *args)
