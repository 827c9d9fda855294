"""Benchmarks of 2-D max/avg pooling, forward + backward and backward alone.

x of shape (64, 32, 32, 32) (N, C, H, W), kernel 2 stride 2 and kernel 3
stride 2. The naive backend runs on (1, 2, 32, 32) and reports
``scale`` = full planes / reduced planes, so time * scale estimates the full size.

Baseline for the backward passes (backend "baseline"): what any max-pool
backward must at least do -- get a zeroed (64, 32, 32, 32) gradient
(``np.zeros``) and scatter-add one value per output into it with a compiled
loop, parallel over the (n, c) planes like the kernels. Backend "zero-fill"
is the memory floor alone: ``np.empty(...).fill(0)`` (``np.zeros`` by itself
is lazily zeroed by the OS and would look free).

    pytest benchmarks/test_bench_pooling.py --benchmark-json=/tmp/pool.json
    python benchmarks/report.py /tmp/pool.json   # baseline rows sit beside the kernels in each group
"""
import numba
import numpy as np
import pytest

from fastlc.kernels import (
    available_backends,
    avg_pool2d,
    avg_pool2d_backward,
    max_pool2d,
    max_pool2d_backward,
)

FULL_SHAPE = (64, 32, 32, 32)
NAIVE_SHAPE = (1, 2, 32, 32)
CONFIGS = {"k2s2": (2, 2), "k3s2": (3, 2)}
BACKENDS = [b for b in ("naive", "numpy", "numba", "cython") if b in available_backends()]
# the compiled backends run with all cores (n_threads=None) and with one thread: a
# 2-thread parallel region on a shared machine waits whenever the OS preempts one
# of its threads, and the single-thread figure is the one such noise cannot inflate
VARIANTS = BACKENDS + [f"{b}-1thread" for b in ("numba", "cython") if b in BACKENDS]
ROUNDS = {"naive": 3, "numpy": 15, "baseline": 60, "zero-fill": 60}


def _backend_and_threads(variant):
    """"numba-1thread" -> ("numba", 1); other names run with all cores (None)."""
    if variant.endswith("-1thread"):
        return variant[:-len("-1thread")], 1
    return variant, None


def _size_label(shape, config):
    return "x".join(map(str, shape)) + " " + config


@numba.njit(parallel=True, cache=True)
def _scatter_add(grad_in, indices, grad_out):
    """grad_in[p, indices[p, j]] += grad_out[p, j], parallel over planes (the baseline's scatter)."""
    for p in numba.prange(grad_in.shape[0]):
        for j in range(indices.shape[1]):
            grad_in[p, indices[p, j]] += grad_out[p, j]


def _setup(backend, config, dtype):
    shape = NAIVE_SHAPE if backend == "naive" else FULL_SHAPE
    scale = (FULL_SHAPE[0] * FULL_SHAPE[1]) // (shape[0] * shape[1])
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    kernel, stride = CONFIGS[config]
    out, indices = max_pool2d(x, kernel, stride, backend="numpy")
    grad_out = rng.standard_normal(out.shape).astype(dtype)
    return shape, scale, x, kernel, stride, indices, grad_out


def _run(benchmark, function, backend, kernel_name, config, dtype, shape, scale):
    function()  # warm-up: JIT compilation and first-touch page faults stay out of the timing
    benchmark.group = f"{kernel_name} {np.dtype(dtype).name} {_size_label(FULL_SHAPE, config)}"
    benchmark.extra_info.update(kernel=kernel_name, backend=backend, dtype=np.dtype(dtype).name,
                                size=_size_label(shape, config), scale=scale)
    benchmark.pedantic(function, rounds=ROUNDS.get(backend, 60), iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("variant", VARIANTS)
def test_max_pool2d_forward_backward(benchmark, variant, config, dtype):
    backend, n_threads = _backend_and_threads(variant)
    shape, scale, x, kernel, stride, _, grad_out = _setup(backend, config, dtype)

    def step():
        out, indices = max_pool2d(x, kernel, stride, backend=backend, n_threads=n_threads)
        return max_pool2d_backward(grad_out, indices, x.shape, backend=backend, n_threads=n_threads)

    _run(benchmark, step, variant, "max_pool2d fwd+bwd", config, dtype, shape, scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("variant", VARIANTS)
def test_avg_pool2d_forward_backward(benchmark, variant, config, dtype):
    backend, n_threads = _backend_and_threads(variant)
    shape, scale, x, kernel, stride, _, grad_out = _setup(backend, config, dtype)

    def step():
        avg_pool2d(x, kernel, stride, backend=backend, n_threads=n_threads)
        return avg_pool2d_backward(grad_out, x.shape, kernel, stride, backend=backend, n_threads=n_threads)

    _run(benchmark, step, variant, "avg_pool2d fwd+bwd", config, dtype, shape, scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("variant", VARIANTS + ["baseline", "zero-fill"])
def test_max_pool2d_backward(benchmark, variant, config, dtype):
    backend, n_threads = _backend_and_threads(variant)
    shape, scale, x, kernel, stride, indices, grad_out = _setup(
        "numpy" if backend in ("baseline", "zero-fill") else backend, config, dtype)
    if backend == "baseline":
        n_planes = shape[0] * shape[1]
        flat_indices = indices.reshape(n_planes, -1)
        flat_grad_out = grad_out.reshape(n_planes, -1)

        def step():
            grad_in = np.zeros(shape, dtype=dtype)
            _scatter_add(grad_in.reshape(n_planes, -1), flat_indices, flat_grad_out)
            return grad_in
    elif backend == "zero-fill":
        def step():
            grad_in = np.empty(shape, dtype=dtype)
            grad_in.fill(0)
            return grad_in
    else:
        def step():
            return max_pool2d_backward(grad_out, indices, x.shape, backend=backend, n_threads=n_threads)

    _run(benchmark, step, variant, "max_pool2d_backward", config, dtype, shape, scale)


@pytest.mark.parametrize("dtype", [np.float32], ids=["float32"])
@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("variant", VARIANTS)
def test_avg_pool2d_backward(benchmark, variant, config, dtype):
    backend, n_threads = _backend_and_threads(variant)
    shape, scale, x, kernel, stride, _, grad_out = _setup(backend, config, dtype)

    def step():
        return avg_pool2d_backward(grad_out, x.shape, kernel, stride, backend=backend, n_threads=n_threads)

    _run(benchmark, step, variant, "avg_pool2d_backward", config, dtype, shape, scale)
