"""Benchmarks of the fused optimizer steps (one step over `size` parameters).

Each step is timed on arrays that stay allocated between rounds (the state of
a training loop), with a fixed step number. ``extra_info["bytes"]`` is the
memory traffic of one fused step (every array read once, the written ones
written once), so ``bytes / time`` is the bandwidth a kernel achieves; the
``copyto`` benchmark of the same size is the machine's reference in the same run.
The naive backend runs on NAIVE_SIZE elements and ``scale`` says how many
times more work the full size is.

    pytest benchmarks/test_bench_optim.py --benchmark-json=optim.json
    python benchmarks/report.py optim.json   # GB/s column from extra_info["bytes"]; copyto is its own group
"""
import functools

import numpy as np
import pytest

from fastlc import kernels as K
from fastlc._dispatch import available_backends

SIZES = [100_000, 10_000_000]
NAIVE_SIZE = 10_000
DTYPES = [np.float32, np.float64]


def _adam(p, g, s):
    K.adam_step(p, g, s[0], s[1], step=10, **s.options)


def _rmsprop(p, g, s):
    K.rmsprop_step(p, g, s[0], **s.options)


def _sgd(p, g, s):
    K.sgd_step(p, g, lr=0.01, momentum=0.9, momentum_buffer=s[0], **s.options)


def _adagrad(p, g, s):
    K.adagrad_step(p, g, s[0], step=10, **s.options)


# kernel -> (call, number of state arrays); bytes per element = (2 + 2 * n_state + 1) * itemsize:
# param and state read and written, grad read.
KERNELS = {"adam_step": (_adam, 2), "rmsprop_step": (_rmsprop, 1), "sgd_step": (_sgd, 1), "adagrad_step": (_adagrad, 1)}


class _State(list):
    options = {}


def _arrays(size, dtype, n_state):
    rng = np.random.default_rng(0)
    param = rng.standard_normal(size).astype(dtype)
    grad = rng.standard_normal(size).astype(dtype)
    state = _State(np.abs(rng.standard_normal(size)).astype(dtype) for _ in range(n_state))
    return param, grad, state


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s:.0e}".replace("+0", ""))
@pytest.mark.parametrize("backend", ["naive", "numpy", "numba", "cython"])
@pytest.mark.parametrize("kernel", list(KERNELS))
def test_bench_optim_step(benchmark, kernel, backend, size, dtype):
    if backend not in available_backends():
        pytest.skip(f"backend {backend} not available")
    call, n_state = KERNELS[kernel]
    run_size = NAIVE_SIZE if backend == "naive" else size
    param, grad, state = _arrays(run_size, dtype, n_state)
    state.options = {"backend": backend}
    call(param, grad, state)  # warm-up: JIT compilation and first touch of the pages
    itemsize = np.dtype(dtype).itemsize
    benchmark.group = f"{kernel} {np.dtype(dtype).name} {size}"
    benchmark.extra_info.update(kernel=kernel, backend=backend, dtype=np.dtype(dtype).name, size=size,
                                scale=size / run_size, bytes=(3 + 2 * n_state) * itemsize * size)
    rounds = 3 if backend == "naive" else 15
    benchmark.pedantic(call, args=(param, grad, state), rounds=rounds, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("kernel", ["adam_step", "rmsprop_step"])
def test_bench_optim_step_one_thread(benchmark, kernel, backend, dtype):
    """The compiled kernels on one thread: how much of the bandwidth one core reaches."""
    if backend not in available_backends():
        pytest.skip(f"backend {backend} not available")
    size = SIZES[-1]
    call, n_state = KERNELS[kernel]
    param, grad, state = _arrays(size, dtype, n_state)
    state.options = {"backend": backend, "n_threads": 1}
    call(param, grad, state)
    benchmark.group = f"{kernel} {np.dtype(dtype).name} {size}"
    benchmark.extra_info.update(kernel=kernel, backend=f"{backend}-1thread", dtype=np.dtype(dtype).name, size=size,
                                scale=1.0, bytes=(3 + 2 * n_state) * np.dtype(dtype).itemsize * size)
    benchmark.pedantic(call, args=(param, grad, state), rounds=15, iterations=1, warmup_rounds=1)


def _adam_cs231n(param, grad, state, t=10, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam as the CS231n notes write it (bias-corrected arrays mt, vt), updating in place."""
    m, v = state
    m[...] = beta1 * m + (1 - beta1) * grad
    mt = m / (1 - beta1 ** t)
    v[...] = beta2 * v + (1 - beta2) * (grad ** 2)
    vt = v / (1 - beta2 ** t)
    param -= lr * mt / (np.sqrt(vt) + eps)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s:.0e}".replace("+0", ""))
def test_bench_adam_cs231n_numpy(benchmark, size, dtype):
    """A second baseline: the tutorials' Adam (two more array passes than the numpy backend)."""
    param, grad, state = _arrays(size, dtype, 2)
    _adam_cs231n(param, grad, state)
    benchmark.group = f"adam_step {np.dtype(dtype).name} {size}"
    benchmark.extra_info.update(kernel="adam_step", backend="numpy-cs231n", dtype=np.dtype(dtype).name, size=size,
                                scale=1.0, bytes=7 * np.dtype(dtype).itemsize * size)
    benchmark.pedantic(_adam_cs231n, args=(param, grad, state), rounds=15, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s:.0e}".replace("+0", ""))
def test_bench_copyto(benchmark, size, dtype):
    """The bandwidth reference: copy one array of the same size into another."""
    src = np.random.default_rng(0).standard_normal(size).astype(dtype)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    benchmark.group = f"copyto {np.dtype(dtype).name} {size}"
    benchmark.extra_info.update(kernel="copyto", backend="numpy", dtype=np.dtype(dtype).name, size=size, scale=1.0,
                                bytes=2 * src.nbytes)
    benchmark.pedantic(np.copyto, args=(dst, src), rounds=15, iterations=1, warmup_rounds=1)


@functools.lru_cache(maxsize=None)  # compiled once per session, not once per test
def _traffic_floor_kernels():
    """Numba kernels with the memory traffic of a fused step and next to no arithmetic.

    ``param`` and the state arrays are read and written, ``grad`` read, as in the
    fused steps, so their time is the floor that the memory of this machine sets
    for one step at that moment: a fused step cannot be faster, and the speed-up
    over numpy a step could reach at best is this floor's speed-up.
    """
    import numba

    @numba.njit(parallel=True, cache=True)
    def one_state(param, grad, state):
        for i in numba.prange(param.shape[0]):
            g = grad[i]
            param[i] += g
            state[i] += g

    @numba.njit(parallel=True, cache=True)
    def two_states(param, grad, state0, state1):
        for i in numba.prange(param.shape[0]):
            g = grad[i]
            param[i] += g
            state0[i] += g
            state1[i] += g

    return {1: one_state, 2: two_states}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("kernel", ["adam_step", "rmsprop_step"])
def test_bench_traffic_floor(benchmark, kernel, dtype):
    """The memory floor of a step at the largest size (see _traffic_floor_kernels), all cores."""
    if "numba" not in available_backends():
        pytest.skip("the floor kernels are written in numba, which is not available")
    size = SIZES[-1]
    _, n_state = KERNELS[kernel]
    floor = _traffic_floor_kernels()[n_state]
    param, grad, state = _arrays(size, dtype, n_state)
    floor(param, grad, *state)  # compile (or load from the cache) and touch the pages
    benchmark.group = f"{kernel} {np.dtype(dtype).name} {size}"
    benchmark.extra_info.update(kernel=kernel, backend="memory floor (same traffic, no math)",
                                dtype=np.dtype(dtype).name, size=size, scale=1.0,
                                bytes=(3 + 2 * n_state) * np.dtype(dtype).itemsize * size)
    benchmark.pedantic(floor, args=(param, grad, *state), rounds=15, iterations=1, warmup_rounds=1)
