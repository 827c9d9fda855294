"""Speed of the neural-network building blocks against their targets (issue 13), interleaved.

    python benchmarks/nn_speed.py [--repeats 5] [--threads 2] [--size N] [--cases gelu,nll]
                                  [--out benchmarks/results/nn.md]

Every case times the numpy, numba and cython backends and, for the element-wise kernels, two copy
kernels (NumPy's single-threaded ``copyto`` and a Numba copy on ``--threads`` threads) in the same
interleaved rounds, so that a machine busy with other work slows the references too (the element-wise
cases share one set of rounds, each round timing every case in turn). Reported: the
median time, the speed-up over numpy, and for the element-wise kernels the bandwidth (bytes moved:
inputs read once, output written once, the dropout mask 1 byte per element) next to the faster copy's,
and beside it the Cython kernel's arithmetic floor: the same work on a slice that stays in L2; below
the table, the floor of every exp-based kernel: one exp per element on such slices.
Targets: activations and dropout on 10 M float32 >= 3x numpy and >= 0.8x a copy's bandwidth;
each loss with its gradient (1 M elements, NLL 65 536 x 10) >= 3x numpy; batch norm forward +
backward >= 3x numpy. benchmarks/test_bench_nn.py times the same kernels under pytest-benchmark.
"""
import argparse
import functools
import platform
import statistics
import time

import numba
import numpy as np
from workflow_speed import code_path, cpu_description

import fastlc
from fastlc import kernels as K
from fastlc._numba._nn_math import exp_upto88

BACKENDS = ("numpy", "numba", "cython")
ACTIVATIONS = {
    "relu": ("relu", {}), "leaky_relu": ("leaky_relu", {}), "elu": ("elu", {}), "gelu": ("gelu", {}),
    "gelu-tanh": ("gelu", dict(approximate="tanh")), "sigmoid": ("sigmoid", {}), "tanh": ("tanh", {}),
    "softplus": ("softplus", {}), "silu": ("silu", {}),
}


@functools.lru_cache(maxsize=None)
def _parallel_copy():
    @numba.njit(parallel=True, cache=True)
    def copy(src, dst):
        for i in numba.prange(src.shape[0]):
            dst[i] = src[i]

    return copy


@numba.njit(parallel=True, cache=True)
def _exp_floor(src, dst, times):
    """One float32 exp per element, ``times`` passes over ``src``: the least arithmetic any exp-based
    activation does (the kernels' own cheapest exp, exp_upto88: Cephes' polynomial, about 1 ulp)."""
    for _ in range(times):
        for i in numba.prange(src.shape[0]):
            dst[i] = exp_upto88(-abs(src[i]))


def elementwise_cases(size):
    """(name, bytes moved, {backend: call(n_threads)}) of every activation, direction and dropout."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(size).astype(np.float32)
    g = rng.standard_normal(size).astype(np.float32)
    out = np.empty_like(x)
    _, mask = K.dropout(x, 0.5, seed=1, backend="numpy")
    for case, (name, options) in ACTIVATIONS.items():
        forward, backward = getattr(K, name), getattr(K, f"{name}_backward")
        yield (f"{case} forward", 8 * size,
               lambda backend, n, f=forward, o=options: f(x, backend=backend, n_threads=n, out=out, **o))
        yield (f"{case} backward", 12 * size,
               lambda backend, n, f=backward, o=options: f(g, x, backend=backend, n_threads=n, out=out, **o))
    yield ("dropout forward", 9 * size,
           lambda backend, n: K.dropout(x, 0.5, seed=1, backend=backend, n_threads=n, out=out))
    yield ("dropout backward", 9 * size,
           lambda backend, n: K.dropout_backward(g, mask, 0.5, backend=backend, n_threads=n, out=out))


def other_cases(quick):
    """(name, call(backend, n_threads)) of the losses (with their gradients) and batch norm."""
    rng = np.random.default_rng(0)
    n = 10_000 if quick else 1_000_000
    x = rng.standard_normal(n).astype(np.float32)
    t = rng.standard_normal(n).astype(np.float32)
    p = rng.uniform(0.01, 0.99, n).astype(np.float32)
    labels = (rng.uniform(size=n) < 0.5).astype(np.float32)
    grad = np.empty_like(x)
    for name in ("mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy_with_logits"):
        yield (f"{name} {n}", lambda backend, k, f=getattr(K, name): f(x, t, backend=backend, n_threads=k, out=grad))
    yield (f"binary_cross_entropy {n}",
           lambda backend, k: K.binary_cross_entropy(p, labels, backend=backend, n_threads=k, out=grad))
    rows = 1024 if quick else 65_536
    scores = rng.standard_normal((rows, 10))
    log_prob = (scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))).astype(np.float32)
    y = rng.integers(0, 10, rows)
    nll_grad = np.empty_like(log_prob)
    yield (f"nll_loss {rows}x10",
           lambda backend, k: K.nll_loss(log_prob, y, backend=backend, n_threads=k, out=nll_grad))
    for shape in ([(16, 64), (4, 8, 8, 8)] if quick else [(256, 1024), (64, 32, 32, 32)]):
        xs = rng.standard_normal(shape).astype(np.float32)
        gs = rng.standard_normal(shape).astype(np.float32)
        gamma = rng.uniform(0.5, 2, shape[1]).astype(np.float32)
        beta = rng.standard_normal(shape[1]).astype(np.float32)
        stats = (np.zeros(shape[1], np.float32), np.ones(shape[1], np.float32))

        def forward_backward(backend, k, xs=xs, gs=gs, gamma=gamma, beta=beta, stats=stats):
            _, mean, invstd = K.batch_norm(xs, gamma, beta, running_mean=stats[0], running_var=stats[1],
                                           backend=backend, n_threads=k)
            return K.batch_norm_backward(gs, xs, gamma, mean, invstd, backend=backend, n_threads=k)

        yield f"batch_norm fwd+bwd {'x'.join(map(str, shape))}", forward_backward


#: Seconds of untimed calls of a kernel before each timed call (at least one call).
WARM = 0.02


def median_times(fits, repeats, warm=WARM):
    """Median seconds of each named call, interleaved round by round after a warm-up round.

    Each timed call follows untimed calls of the same kernel for at least ``warm`` seconds, as in
    a training loop: on a machine with other work, the first call after another library's calls
    can wait milliseconds for its sleeping worker threads to get a CPU back, and the previous
    kernel's threads may still be spinning for their next job on a core this one needs (Numba's
    OpenMP workers spin for milliseconds after a parallel loop: the Cython NLL measured 380 us
    right after one untimed call, 220-250 us once they had gone to sleep; on a Zen 4 EPYC the
    Cython tanh on 10 M values took 2.3-3.3 ms in the first calls after Numba's and 1.8-1.9 ms
    alone, and 5 ms of untimed calls did not cover that, 20 ms did); neither says anything about
    the kernel.
    """
    times = {name: [] for name in fits}
    for round_ in range(repeats + 1):
        for name, fit in fits.items():
            start = time.perf_counter()
            fit()
            while time.perf_counter() - start < warm:
                fit()
            start = time.perf_counter()
            fit()
            if round_:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


#: Values of the in-cache runs of the element-wise cases: 1 MB of float32 per array, so that a backward's
#: three arrays (1.5 MB a thread on 2 threads) stay in a 2 MB L2.
CACHED_SIZE = 1 << 18


def _repeated(cached_call, times, n_threads):
    """The Cython kernel on a cache-resident slice, ``times`` times: the same work as one full-size call
    with (almost) no memory traffic, so the time its arithmetic takes (plus ``times`` calls' overhead)."""
    for _ in range(times):
        cached_call("cython", n_threads)


def _ms(seconds):
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.1f} us"


def _selected(name, cases):
    return not cases or any(case in name for case in cases)


def _copy_rate(times, copies, nbytes):
    """GB/s of the faster copy among ``copies`` in ``times``, for an array of ``nbytes`` read and written."""
    return max(2 * nbytes / times[copy] for copy in copies) / 1e9


def measure(repeats, quick, n_threads, size=None, cases=None):
    """Times of every case whose name contains one of ``cases`` (all cases when None)."""
    size = size or (100_000 if quick else 10_000_000)
    elementwise, others = [], []
    src = np.random.default_rng(1).standard_normal(size).astype(np.float32)
    dst = np.empty_like(src)
    copies = {"copy 1 thread": lambda: np.copyto(dst, src),
              f"copy {n_threads} threads": lambda: _parallel_copy()(src, dst)}
    in_cache = min(size, CACHED_SIZE)
    # One set of rounds for all the element-wise cases, each round timing every case in turn (its
    # backends, its in-cache run, then the copies): a slow spell of the shared machine (seconds long,
    # it slowed every backend of two or three neighbouring cases by half) then falls in one round of
    # several cases, which their medians drop, instead of in every round of one case.
    fits, selected = {}, []
    for (name, nbytes, call), (_, _, cached_call) in zip(elementwise_cases(size), elementwise_cases(in_cache)):
        if not _selected(name, cases):
            continue
        fits.update({(name, backend): functools.partial(call, backend, n_threads) for backend in BACKENDS})
        fits[(name, "cython in cache")] = functools.partial(_repeated, cached_call, size // in_cache, n_threads)
        fits.update({(name, label): copy for label, copy in copies.items()})
        selected.append((name, nbytes))
    all_times = median_times(fits, repeats) if fits else {}
    for name, nbytes in selected:
        times = {label: seconds for (case, label), seconds in all_times.items() if case == name}
        elementwise.append((name, nbytes, times, _copy_rate(times, copies, src.nbytes)))
    exp_floor = None
    if elementwise:
        # the exp floor on L2-resident slices, timed in rounds with the copies
        src_cached, dst_cached = src[:in_cache], dst[:in_cache]
        fits = {"exp": lambda: _exp_floor(src_cached, dst_cached, size // in_cache), **copies}
        times = median_times(fits, repeats)
        exp_floor = (times["exp"], _copy_rate(times, copies, src.nbytes))
    for name, call in other_cases(quick):
        if not _selected(name, cases):
            continue
        times = median_times({backend: functools.partial(call, backend, n_threads) for backend in BACKENDS}, repeats)
        others.append((name, times))
    return size, elementwise, exp_floor, others


def report(size, elementwise, exp_floor, others, repeats, n_threads):
    model, flags, n_cpus = cpu_description()
    lines = [
        "# Neural-network building blocks: speed",
        "",
        f"CPU: {model}, {n_cpus} logical CPUs; instruction sets: {', '.join(flags)}.  ",
        f"Code path: {code_path()}.  ",
        f"fastlc {fastlc.__version__}, NumPy {np.__version__}, Numba {numba.__version__}, "
        f"Python {platform.python_version()}; {n_threads} threads; medians of {repeats} interleaved rounds "
        f"after a warm-up round, each timed call right after untimed calls of the same kernel for at least "
        f"{WARM * 1e3:.0f} ms; each round of the element-wise kernels times every case in turn, each case "
        f"beside its own copies. "
        f"Regenerate with `python benchmarks/nn_speed.py`.",
        "",
        f"Element-wise kernels on {size:,} float32 (targets: >= 3x numpy, >= 0.8x the faster copy's GB/s,"
        " measured in the same rounds). The last column is the Cython kernel's floor: the same work on a "
        f"{CACHED_SIZE:,}-value slice that stays in L2, repeated (its arithmetic, plus the calls' overhead), and "
        "the fraction of copy the kernel would reach if moving the data took no time at all:",
        "",
        "| case | numpy | numba | cython | copy | cython in cache |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, nbytes, times, copy_rate in elementwise:
        cells = [_ms(times["numpy"])]
        for backend in ("numba", "cython"):
            rate = nbytes / times[backend] / 1e9
            cells.append(f"{_ms(times[backend])}: {times['numpy'] / times[backend]:.1f}x, {rate:.1f} GB/s "
                         f"({rate / copy_rate:.2f} of copy)")
        cells.append(f"{copy_rate:.1f} GB/s")
        floor_rate = nbytes / times["cython in cache"] / 1e9
        cells.append(f"{_ms(times['cython in cache'])}: at most {floor_rate / copy_rate:.2f} of copy")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if exp_floor:
        seconds, copy_rate = exp_floor
        lines += ["", f"Floor of the exp-based kernels (elu, gelu, gelu-tanh, sigmoid, softplus, silu forward): one "
                  f"float32 exp per element (the kernels' cheapest, Cephes' polynomial), {size:,} values in "
                  f"{CACHED_SIZE:,}-value slices that stay in L2, {n_threads} threads: {_ms(seconds)}. A forward "
                  f"moves {8 * size / 1e6:.0f} MB, so even this exp alone reaches at most "
                  f"{8 * size / seconds / 1e9 / copy_rate:.2f} of the copy timed in the same rounds "
                  f"({copy_rate:.1f} GB/s)."]
    lines += ["", "Losses with their gradients and batch norm (target: >= 3x numpy):", "",
              "| case | numpy | numba | cython |", "|---|---:|---:|---:|"]
    for name, times in others:
        cells = [_ms(times["numpy"])]
        cells += [f"{_ms(times[b])}: {times['numpy'] / times[b]:.1f}x" for b in ("numba", "cython")]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds per case (default 5)")
    parser.add_argument("--threads", type=int, default=2, help="threads of the compiled kernels (default 2)")
    parser.add_argument("--size", type=int, help="elements of the element-wise cases (default 10 M; e.g. 262144 "
                        "with --threads 1 for the compute cost of cache-resident data)")
    parser.add_argument("--quick", action="store_true", help="small data, for a smoke run")
    parser.add_argument("--cases", help="comma-separated parts of case names to run (e.g. 'gelu,nll_loss'); "
                        "default: every case")
    parser.add_argument("--out", help="also write the Markdown report here")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.threads < 1 or (args.size is not None and args.size < 1):
        parser.error("--repeats, --threads and --size must be at least 1")
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    cases = [case.strip() for case in args.cases.split(",") if case.strip()] if args.cases else None
    text = report(*measure(args.repeats, args.quick, args.threads, args.size, cases), args.repeats, args.threads)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
