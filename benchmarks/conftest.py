"""Shared helpers for the benchmark suite (pytest-benchmark).

Every benchmark records in ``extra_info`` what the report needs: the kernel,
backend, dtype, problem size, thread count and ``scale`` — the naive backend
runs on a reduced problem and ``scale`` is full work / reduced work, so that
``median * scale`` estimates the naive time at full size.
"""
import numpy as np
import pytest

from fastlc._threads import allowed_n_threads
from fastlc.kernels import available_backends

BACKENDS = ("naive", "numpy", "numba", "cython")
COMPILED = ("numba", "cython")
ALL_CORES = allowed_n_threads()


def backend_thread_cases():
    """(backend, n_threads) pairs: naive and numpy once, compiled ones at 1 thread and all cores."""
    cases = [("naive", None), ("numpy", None)]
    for backend in COMPILED:
        cases.append((backend, ALL_CORES))
        if ALL_CORES > 1:
            cases.append((backend, 1))
    return cases


def case_id(case):
    backend, n_threads = case
    return backend if n_threads is None else f"{backend}-{n_threads}t"


@pytest.fixture
def measure(benchmark):
    """Time ``function()`` after one warm-up call (JIT compilation is not timed)."""

    def run(function, *, group, kernel, backend, dtype, size, n_threads=None, scale=1.0, rounds=None):
        if backend not in available_backends():
            pytest.skip(f"backend {backend!r} is not available in this installation")
        benchmark.group = group
        # the label convention of the whole suite: "numba" runs on all cores, "numba-1thread" on one
        label = f"{backend}-1thread" if n_threads == 1 and backend in COMPILED and ALL_CORES > 1 else backend
        benchmark.extra_info.update(
            kernel=kernel, backend=label, dtype=np.dtype(dtype).name, size=str(size),
            n_threads=n_threads if n_threads is not None else 1, scale=float(scale),
        )
        function()  # warm-up: JIT compile, page in buffers
        if rounds is None:
            return benchmark(function)
        return benchmark.pedantic(function, rounds=rounds, iterations=1, warmup_rounds=0)

    return run
