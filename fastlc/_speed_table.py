"""The kernel speed table printed by ``python -m fastlc``.

Each case builds its inputs for a given size (the naive backend gets a small
one, scaled up) and returns a callable taking (backend, n_threads); the table
shows the median of a few repeats, the speed-up over the numpy backend, and
the first call's time (which includes Numba's JIT compilation or cache load).
For exact figures use the benchmark suite (benchmarks/); this is a quick look.
"""
import time

import numpy as np

from . import kernels

BACKENDS = ("naive", "numpy", "numba", "cython")


def _loss_case(function, n_samples, n_classes, dtype):
    def build(rows):
        rng = np.random.default_rng(0)
        scores = rng.standard_normal((rows, n_classes)).astype(dtype)
        y = rng.integers(0, n_classes, rows)
        return lambda backend, n_threads: function(scores, y, backend=backend, n_threads=n_threads)

    name = f"{function.__name__} {np.dtype(dtype).name} N={n_samples} C={n_classes}"
    # naive Python loops: run on about 20k values and scale up
    naive_rows = max(1, min(n_samples, 20_000 // n_classes))
    return name, build, n_samples, naive_rows


def _adam_case(n_params):
    def build(size):
        rng = np.random.default_rng(0)
        param, grad = rng.standard_normal((2, size), dtype=np.float32)
        exp_avg, exp_avg_sq = np.zeros(size, np.float32), np.zeros(size, np.float32)
        return lambda backend, n_threads: kernels.adam_step(param, grad, exp_avg, exp_avg_sq, step=1, backend=backend,
                                                            n_threads=n_threads)

    return f"adam_step float32 {n_params:,} params", build, n_params, 20_000


def _max_pool_case(shape):
    def build(planes):
        x = np.random.default_rng(0).standard_normal((planes,) + shape[1:], dtype=np.float32)

        def forward_backward(backend, n_threads):
            out, indices = kernels.max_pool2d(x, 2, backend=backend, n_threads=n_threads)
            kernels.max_pool2d_backward(out, indices, x.shape, backend=backend, n_threads=n_threads)

        return forward_backward

    return f"max_pool2d fwd+bwd float32 {'x'.join(map(str, shape))} k=2", build, shape[0], 1


def default_cases(quick=False):
    """The (name, build, full_size, naive_size) cases shown in the table."""
    n = 1024 if quick else 4096
    cases = [
        _loss_case(kernels.softmax_cross_entropy, n, 1000, np.float32),
        _loss_case(kernels.softmax_cross_entropy, 2 * n, 10, np.float64),
        _loss_case(kernels.multiclass_hinge, n, 1000, np.float32),
        _loss_case(kernels.multiclass_hinge, 2 * n, 10, np.float64),
        _adam_case(1_000_000 if quick else 10_000_000),
        _max_pool_case((16 if quick else 64, 32, 32, 32)),
    ]
    return cases


def _time(call, repeats):
    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return first, float(np.median(times))


def speed_table(cases, *, backends=BACKENDS, repeats=5, n_threads=None):
    """Measure every case in every available backend; return rows of results."""
    available = kernels.available_backends()
    rows = []
    for name, build, full_size, naive_size in cases:
        for backend in backends:
            if backend not in available:
                continue
            scale = full_size / naive_size if backend == "naive" else 1.0
            call = build(naive_size if backend == "naive" else full_size)
            first, median = _time(lambda: call(backend, n_threads), 1 if backend == "naive" else repeats)
            rows.append(dict(case=name, backend=backend, first=first * scale, median=median * scale,
                             scaled=scale != 1.0))
    for row in rows:
        numpy_row = next((r for r in rows if r["case"] == row["case"] and r["backend"] == "numpy"), None)
        row["vs_numpy"] = numpy_row["median"] / row["median"] if numpy_row else float("nan")
    return rows


def format_table(rows):
    lines = [f"{'kernel':<46} {'backend':<8} {'median':>10} {'x numpy':>8} {'first call':>11}"]
    previous = None
    for row in rows:
        case = row["case"] if row["case"] != previous else ""
        previous = row["case"]
        star = "*" if row["scaled"] else " "
        lines.append(
            f"{case:<46} {row['backend']:<8} {row['median'] * 1e3:>8.2f}ms{star} {row['vs_numpy']:>7.1f}x "
            f"{row['first'] * 1e3:>9.1f}ms"
        )
    lines.append("* naive: measured on a smaller problem and scaled to the full size")
    return "\n".join(lines)
