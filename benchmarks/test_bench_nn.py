"""Benchmarks of the neural-network building blocks (issue 13).

- element-wise activations forward and backward, dropout forward and backward, on
  10 M float32, with ``extra_info["bytes"]`` the memory traffic of one call (inputs
  read once, output written once; the dropout mask is 1 byte per element), so that
  ``bytes / time`` compares with the copy kernels of the same run (``copy`` group:
  NumPy's single-threaded copyto and a Numba copy on all cores);
- each loss with its gradient on 1 M float32 elements (NLL on 65 536 x 10);
- batch norm forward + backward on (256, 1024) and (64, 32, 32, 32) float32.

The naive backend runs on a reduced problem; ``scale`` says how much larger the full one is.

    pytest benchmarks/test_bench_nn.py --benchmark-json=nn.json
"""
import functools

import numpy as np
import pytest

from fastlc import kernels as K
from fastlc._dispatch import available_backends

BACKENDS = ["naive", "numpy", "numba", "cython"]
ELEMENTWISE_SIZE = 10_000_000
LOSS_SIZE = 1_000_000
NAIVE_SIZE = 10_000
DTYPE = np.float32

ACTIVATIONS = {
    "relu": {}, "leaky_relu": {}, "elu": {}, "gelu": {}, "gelu-tanh": dict(approximate="tanh"),
    "sigmoid": {}, "tanh": {}, "softplus": {}, "silu": {},
}


def _skip_missing(backend):
    if backend not in available_backends():
        pytest.skip(f"backend {backend} not available")


def _record(benchmark, group, kernel, backend, size, scale, nbytes=None):
    benchmark.group = group
    benchmark.extra_info.update(kernel=kernel, backend=backend, dtype=np.dtype(DTYPE).name, size=str(size),
                                scale=float(scale))
    if nbytes is not None:
        benchmark.extra_info["bytes"] = int(nbytes)


def _run(benchmark, call, backend):
    call()  # warm-up: JIT compilation, first touch of the pages
    benchmark.pedantic(call, rounds=3 if backend == "naive" else 10, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("case", list(ACTIVATIONS))
def test_bench_activation(benchmark, case, direction, backend):
    _skip_missing(backend)
    size = NAIVE_SIZE if backend == "naive" else ELEMENTWISE_SIZE
    rng = np.random.default_rng(0)
    x = rng.standard_normal(size).astype(DTYPE)
    grad = rng.standard_normal(size).astype(DTYPE)
    out = np.empty_like(x)
    name = case.split("-")[0]
    options = dict(ACTIVATIONS[case], backend=backend, out=out)
    if direction == "forward":
        function = getattr(K, name)
        call = functools.partial(function, x, **options)
        per_element = 8
    else:
        function = getattr(K, f"{name}_backward")
        call = functools.partial(function, grad, x, **options)
        per_element = 12
    _record(benchmark, f"{case} {direction} float32 {ELEMENTWISE_SIZE}", f"{case}_{direction}", backend,
            ELEMENTWISE_SIZE, ELEMENTWISE_SIZE / size, per_element * ELEMENTWISE_SIZE)
    _run(benchmark, call, backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_bench_dropout(benchmark, direction, backend):
    _skip_missing(backend)
    size = NAIVE_SIZE if backend == "naive" else ELEMENTWISE_SIZE
    rng = np.random.default_rng(0)
    x = rng.standard_normal(size).astype(DTYPE)
    out = np.empty_like(x)
    _, mask = K.dropout(x, 0.5, seed=1, backend="numpy")
    if direction == "forward":
        call = functools.partial(K.dropout, x, 0.5, seed=1, backend=backend, out=out)
    else:
        call = functools.partial(K.dropout_backward, x, mask, 0.5, backend=backend, out=out)
    # x read, out written (4 + 4 bytes), the mask written or read (1 byte)
    _record(benchmark, f"dropout {direction} float32 {ELEMENTWISE_SIZE}", f"dropout_{direction}", backend,
            ELEMENTWISE_SIZE, ELEMENTWISE_SIZE / size, 9 * ELEMENTWISE_SIZE)
    _run(benchmark, call, backend)


@functools.lru_cache(maxsize=None)
def _parallel_copy():
    import numba

    @numba.njit(parallel=True, cache=True)
    def copy(src, dst):
        for i in numba.prange(src.shape[0]):
            dst[i] = src[i]

    return copy


@pytest.mark.parametrize("kernel", ["copyto", "numba-copy"])
def test_bench_copy(benchmark, kernel):
    """The bandwidth references: copy 10 M float32 (8 bytes moved per element)."""
    src = np.random.default_rng(0).standard_normal(ELEMENTWISE_SIZE).astype(DTYPE)
    dst = np.empty_like(src)
    if kernel == "copyto":
        call = functools.partial(np.copyto, dst, src)
    else:
        if "numba" not in available_backends():
            pytest.skip("numba not available")
        call = functools.partial(_parallel_copy(), src, dst)
    _record(benchmark, f"copy float32 {ELEMENTWISE_SIZE}", kernel, kernel, ELEMENTWISE_SIZE, 1.0,
            2 * src.nbytes)
    _run(benchmark, call, "copy")


LOSSES = {
    "mse_loss": (K.mse_loss, {}), "l1_loss": (K.l1_loss, {}), "huber_loss": (K.huber_loss, {}),
    "smooth_l1_loss": (K.smooth_l1_loss, {}), "binary_cross_entropy": (K.binary_cross_entropy, {}),
    "binary_cross_entropy_with_logits": (K.binary_cross_entropy_with_logits, {}),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("loss", list(LOSSES) + ["nll_loss"])
def test_bench_loss(benchmark, loss, backend):
    _skip_missing(backend)
    rng = np.random.default_rng(0)
    if loss == "nll_loss":
        rows = 65_536
        run_rows = NAIVE_SIZE // 10 if backend == "naive" else rows
        scores = rng.standard_normal((run_rows, 10))
        log_prob = (scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))).astype(DTYPE)
        y = rng.integers(0, 10, run_rows)
        grad = np.empty_like(log_prob)
        call = functools.partial(K.nll_loss, log_prob, y, backend=backend, out=grad)
        size, scale = f"{rows}x10", rows / run_rows
    else:
        run_size = NAIVE_SIZE if backend == "naive" else LOSS_SIZE
        function, options = LOSSES[loss]
        if loss == "binary_cross_entropy":
            x = rng.uniform(0.01, 0.99, run_size).astype(DTYPE)
            t = (rng.uniform(size=run_size) < 0.5).astype(DTYPE)
        else:
            x = rng.standard_normal(run_size).astype(DTYPE)
            t = rng.standard_normal(run_size).astype(DTYPE)
        grad = np.empty_like(x)
        call = functools.partial(function, x, t, backend=backend, out=grad, **options)
        size, scale = LOSS_SIZE, LOSS_SIZE / run_size
    _record(benchmark, f"{loss} float32 {size}", loss, backend, size, scale)
    _run(benchmark, call, backend)


BN_SHAPES = [(256, 1024), (64, 32, 32, 32)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", BN_SHAPES, ids=["256x1024", "64x32x32x32"])
def test_bench_batch_norm(benchmark, shape, backend):
    _skip_missing(backend)
    run_shape = (2,) + shape[1:] if backend == "naive" else shape
    if backend == "naive" and len(shape) == 4:
        run_shape = (2, 32, 8, 8)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(run_shape).astype(DTYPE)
    g = rng.standard_normal(run_shape).astype(DTYPE)
    channels = shape[1]
    gamma = rng.uniform(0.5, 2, channels).astype(DTYPE)
    beta = rng.standard_normal(channels).astype(DTYPE)
    running_mean, running_var = np.zeros(channels, DTYPE), np.ones(channels, DTYPE)

    def forward_backward():
        out, mean, invstd = K.batch_norm(x, gamma, beta, running_mean=running_mean, running_var=running_var,
                                         backend=backend)
        return K.batch_norm_backward(g, x, gamma, mean, invstd, backend=backend)

    _record(benchmark, f"batch_norm fwd+bwd float32 {'x'.join(map(str, shape))}", "batch_norm", backend,
            "x".join(map(str, shape)), np.prod(shape) / np.prod(run_shape))
    _run(benchmark, forward_backward, backend)
