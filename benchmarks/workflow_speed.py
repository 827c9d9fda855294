"""Speed where users run fastlc: GridSearchCV workers, a busy core, small image data.

Three comparisons, each a ratio of medians of interleaved rounds taken in this
one run (the machine is shared and noisy):

1. ``GridSearchCV(SoftmaxClassifier(max_epochs=10, tol=0.0, n_iter_no_change=1000),
   {"alpha": [1e-5, 1e-4, 1e-3], "learning_rate": [1e-3, 1e-2]}, cv=3, n_jobs=2)`` on
   ``make_classification(20000, 200, n_informative=50, n_classes=10)`` float32: the
   default ``n_threads`` against the best of ``n_threads`` in {1, 2} (target <= 1.2x).
2. A fit of 4000 x 784 float64 (20 epochs, batch 200) while a CPU-bound process that
   this script starts and stops holds one core: default ``n_threads`` against
   ``n_threads=1`` (target <= 1.3x).
3. Quiet machine, 4000 x 784 "image" data (scikit-learn's digits, upsampled to 28 x 28
   and shifted by up to 2 pixels to make 4000 images), 20 epochs, batch 200, adam,
   lr 1e-3: ``SoftmaxClassifier`` against ``MLPClassifier(hidden_layer_sizes=())``
   (target >= 4x) and ``LinearSVMClassifier`` against ``SGDClassifier(loss="hinge")``
   (target >= 8x), in float32 and float64, with test accuracies; and fastlc's float32
   fit against its float64 fit (target >= 1.5x).
4. The fused gradient kernel's multiply-add rate on one thread, as a fraction of
   single-thread BLAS GEMM in the same run (the practical FMA peak of this core).

Run::

    python benchmarks/workflow_speed.py                  # about 3-4 minutes on 2 cores
    python benchmarks/workflow_speed.py --repeats 1 --quick   # a smoke run (seconds)

It prints a Markdown report (``--out FILE`` also writes it) naming the CPU, its
instruction sets and the code path of the fused kernel.
"""
import argparse
import glob
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
from scipy.ndimage import shift as shift_image
from scipy.ndimage import zoom
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier

import fastlc
from fastlc import LinearSVMClassifier, SoftmaxClassifier

SPINNER = "while True:\n    pass\n"


def cpu_description():
    """CPU model (with its family and model numbers and cache sizes: "AMD EPYC" alone does not say
    whether it is a Zen 4 or a Zen 5, whose FMA units differ) and the vector instruction sets that
    matter for the kernels."""
    model, flags, numbers = platform.processor() or "unknown CPU", set(), {}
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name":
                    model = value.strip()
                elif key in ("cpu family", "model"):
                    numbers.setdefault(key, value.strip())
                elif key == "flags":
                    flags = set(value.split())
                    break  # the first CPU's entry is enough
    except OSError:
        pass
    details = [f"family {numbers['cpu family']} model {numbers['model']}"] if len(numbers) == 2 else []
    details += _cache_sizes()
    if details:
        model = f"{model} ({', '.join(details)})"
    wanted = ["sse2", "avx2", "fma", "avx512f", "avx512bw", "avx512vl"]
    return model, [flag for flag in wanted if flag in flags], os.cpu_count()


def _cache_sizes():
    """["L1d 48K", "L2 1024K", "L3 32768K"] of the first CPU as Linux reports them (empty elsewhere)."""
    sizes = []
    for index in sorted(glob.glob("/sys/devices/system/cpu/cpu0/cache/index*")):
        try:
            with open(f"{index}/level") as level, open(f"{index}/type") as kind, open(f"{index}/size") as size:
                level, kind, size = level.read().strip(), kind.read().strip(), size.read().strip()
        except OSError:
            continue
        if kind != "Instruction":
            sizes.append(f"L{level}{'d' if kind == 'Data' else ''} {size}")
    return sizes


def code_path():
    if "cython" not in fastlc.available_backends():
        return "numba (the Cython backend is not built)"
    from fastlc._cython import _linear

    return f"cython, fused-gradient tiles: {_linear.code_path()}"


def image_data(n_samples=4000, seed=0):
    """Digits upsampled to 28 x 28 and randomly shifted: a small image set with 784 features."""
    digits = load_digits()
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(digits.images), n_samples)
    images = zoom(digits.images[picks] / 16.0, (1, 3.5, 3.5), order=1)
    shifts = rng.integers(-2, 3, size=(n_samples, 2))
    images = np.stack([shift_image(image, s, order=0) for image, s in zip(images, shifts)])
    X = images.reshape(n_samples, -1)
    return train_test_split(X, digits.target[picks], test_size=0.25, random_state=seed)


#: Seconds between two timed fits. OpenBLAS's worker threads keep spinning for up to about 0.1 s after
#: a BLAS call returns; a fit started in that time shares the second core with them (a fastlc float64
#: SVM fit took 91 ms right after scikit-learn's MLPClassifier fit and 53 ms after a 0.1 s pause), so
#: without a pause each fit would pay for the one timed before it.
SETTLE_SECONDS = 0.2


def median_times(fits, repeats):
    """Median seconds of each named fit, interleaved round by round (after one warm-up round), each
    started ``SETTLE_SECONDS`` after the previous one ended."""
    times = {name: [] for name in fits}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for round_ in range(repeats + 1):
            for name, fit in fits.items():
                time.sleep(SETTLE_SECONDS)
                start = time.perf_counter()
                fit()
                if round_:
                    times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


#: Rounds of the GridSearchCV case per ``--repeats``: its searches take half a second, and on the shared
#: machine the same search (in the workers the default is one thread, as n_threads=1) varied by 0.85-1.23x
#: between the medians of 7-round runs minutes apart.
GRID_ROUNDS_PER_REPEAT = 3


def grid_search(repeats, quick):
    n = 4000 if quick else 20000
    X, y = make_classification(n, 200, n_informative=50, n_classes=10, random_state=0)
    X = X.astype(np.float32)

    def run(n_threads):
        estimator = SoftmaxClassifier(max_epochs=10, tol=0.0, n_iter_no_change=1000, n_threads=n_threads,
                                      random_state=0)
        grid = {"alpha": [1e-5, 1e-4, 1e-3], "learning_rate": [1e-3, 1e-2]}
        return lambda: GridSearchCV(estimator, grid, cv=3, n_jobs=2).fit(X, y)

    rounds = GRID_ROUNDS_PER_REPEAT * repeats
    times = median_times({"default": run(None), "1": run(1), "2": run(2)}, rounds)
    best = min(times["1"], times["2"])
    return [("GridSearchCV(n_jobs=2), 6 x 3 fits, 20000 x 200 float32",
             f"default {times['default']:.2f} s, n_threads=1 {times['1']:.2f} s, n_threads=2 {times['2']:.2f} s "
             f"(medians of {rounds} rounds)",
             times["default"] / best, "<= 1.2x of the best")]


def busy_core(data, repeats):
    X_train, X_test, y_train, y_test = data
    X_train, y_train = np.vstack([X_train, X_test]), np.concatenate([y_train, y_test])

    def run(n_threads):
        model = SoftmaxClassifier(optimizer="adam", learning_rate=1e-3, batch_size=200, max_epochs=20, tol=0.0,
                                  n_iter_no_change=1000,
                                  n_threads=n_threads, random_state=0)
        return lambda: model.fit(X_train, y_train)

    spinner = subprocess.Popen([sys.executable, "-c", SPINNER])
    try:
        time.sleep(0.2)
        times = median_times({"default": run(None), "1": run(1)}, repeats)
    finally:
        spinner.kill()
        spinner.wait()
    return [(f"fit {X_train.shape[0]} x 784 float64 while another process holds a core",
             f"default {times['default']:.3f} s, n_threads=1 {times['1']:.3f} s",
             times["default"] / times["1"], "<= 1.3x of n_threads=1")]


def against_scikit_learn(data, repeats, epochs=20, batch=200, lr=1e-3):
    """Both libraries' fits in float32 and float64, all eight in the same interleaved rounds: the
    float32-against-float64 ratios compare fits timed in the same state of the shared machine (its
    memory speed moves by up to 1.5x over minutes, and timing the two dtypes one after the other
    once gave float32 fits 50% slower than in the rounds before and after)."""
    X_train, X_test, y_train, y_test = data
    ours = dict(optimizer="adam", learning_rate=lr, batch_size=batch, max_epochs=epochs, tol=0.0,
                n_iter_no_change=epochs + 1, random_state=0)
    fits, models, test_sets = {}, {}, {}
    for dtype in (np.float32, np.float64):
        name = np.dtype(dtype).name
        Xtr, test_sets[name] = X_train.astype(dtype), X_test.astype(dtype)
        models[name] = {
            "softmax": SoftmaxClassifier(**ours),
            "mlp": MLPClassifier(hidden_layer_sizes=(), solver="adam", learning_rate_init=lr, batch_size=batch,
                                 max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1, random_state=0),
            "svm": LinearSVMClassifier(**ours),
            "sgd": SGDClassifier(loss="hinge", max_iter=epochs, tol=None, random_state=0),
        }
        fits.update({(name, model): (lambda m=m, Xtr=Xtr: m.fit(Xtr, y_train)) for model, m in models[name].items()})
    all_times = median_times(fits, repeats)
    rows = []
    for name, by_model in models.items():
        times = {model: all_times[(name, model)] for model in by_model}
        accuracy = {model: m.score(test_sets[name], y_test) for model, m in by_model.items()}
        rows.append((f"SoftmaxClassifier vs MLPClassifier((),), {name}",
                     f"{times['softmax']:.3f} s vs {times['mlp']:.3f} s; accuracy {accuracy['softmax']:.3f} vs "
                     f"{accuracy['mlp']:.3f}", times["mlp"] / times["softmax"], ">= 4x"))
        rows.append((f"LinearSVMClassifier vs SGDClassifier(hinge), {name}",
                     f"{times['svm']:.3f} s vs {times['sgd']:.3f} s; accuracy {accuracy['svm']:.3f} vs "
                     f"{accuracy['sgd']:.3f}", times["sgd"] / times["svm"], ">= 8x"))
    for model in ("softmax", "svm"):
        f32, f64 = all_times[("float32", model)], all_times[("float64", model)]
        rows.append((f"{model}: float32 fit vs float64 fit", f"{f32:.3f} s vs {f64:.3f} s", f64 / f32, ">= 1.5x"))
    return rows


def kernel_efficiency(repeats, batch=200, n_features=784, n_classes=10):
    """The fused gradient kernel's multiply-add rate at 1 thread, against BLAS GEMM on one thread.

    A batch of the image benchmark does 2 x batch x features x classes multiply-adds
    (scores, then the weight gradient). OpenBLAS's GEMM on one core, timed in the
    same run, is the practical peak of the machine's FMA units.
    """
    from threadpoolctl import threadpool_limits

    from fastlc._dispatch import get_kernel
    from fastlc._memory import aligned_for_training

    rng = np.random.default_rng(0)
    rows = []
    for dtype in (np.float32, np.float64):
        # as a fit hands it to the kernel: aligned to a cache line (fastlc._memory.aligned_for_training)
        X = aligned_for_training(rng.standard_normal((3000, n_features)).astype(dtype))
        y = rng.integers(0, n_classes, 3000).astype(np.intp)
        W = (0.01 * rng.standard_normal((n_classes, n_features))).astype(dtype)
        b, weight = np.zeros(n_classes, dtype), np.ones(3000, dtype)
        loss, grad_W, grad_b = np.empty(batch, dtype), np.empty_like(W), np.empty_like(b)
        kernel = get_kernel("linear_hinge_gradient", "cython")
        batches = [rng.permutation(3000)[:batch].astype(np.intp) for _ in range(50)]

        def run_kernel():
            for r in batches:
                kernel(X, r, y, weight, W, b, dtype(1 / batch), dtype(1), False, loss, grad_W, grad_b, 1)

        A = rng.standard_normal((512, 512)).astype(dtype)

        def run_gemm():
            for _ in range(4):
                A @ A

        with threadpool_limits(limits=1, user_api="blas"):
            times = median_times({"kernel": run_kernel, "gemm": run_gemm}, repeats)
        kernel_rate = 2 * batch * n_features * n_classes * len(batches) / times["kernel"] / 1e9
        gemm_rate = 4 * 512**3 / times["gemm"] / 1e9
        rows.append((f"fused gradient kernel, {batch} x {n_features} x {n_classes} {np.dtype(dtype).name}, 1 thread",
                     f"{kernel_rate:.1f} G multiply-adds/s; BLAS GEMM on one thread {gemm_rate:.1f} G/s",
                     kernel_rate / gemm_rate, "fraction of the practical FMA peak"))
    return rows


def report(rows, repeats):
    model, flags, n_cpus = cpu_description()
    lines = [
        "# Workflow speed",
        "",
        f"CPU: {model}, {n_cpus} logical CPUs; instruction sets: {', '.join(flags)}.  ",
        f"Code path: {code_path()}.  ",
        f"fastlc {fastlc.__version__}, NumPy {np.__version__}, Python {platform.python_version()}; "
        f"medians of {repeats} interleaved rounds after a warm-up round. "
        f"Regenerate with `python benchmarks/workflow_speed.py`.",
        "",
        "| case | times | ratio | target |",
        "|---|---|---:|---|",
    ]
    lines += [f"| {case} | {times} | {ratio:.2f}x | {target} |" for case, times, ratio, target in rows]
    return "\n".join(lines) + "\n"


def run_comparison(argv, doc, title, script, comparison, default_repeats):
    """The command line of a one-comparison benchmark script: parse, run ``comparison(repeats, quick)``,
    print its Markdown report (titled ``title``, regenerated by ``script``) and write it to ``--out``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=default_repeats,
                        help=f"timed rounds per case (default {default_repeats})")
    parser.add_argument("--quick", action="store_true", help="small data, for a smoke run")
    parser.add_argument("--out", help="also write the Markdown report here")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    text = report(comparison(args.repeats, args.quick), args.repeats).replace(
        "# Workflow speed", f"# {title}").replace("workflow_speed.py", script)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per case (default 3)")
    parser.add_argument("--quick", action="store_true", help="small data, for a smoke run")
    parser.add_argument("--only", choices=["grid", "busy", "sklearn", "kernel"], help="run one comparison")
    parser.add_argument("--out", help="also write the Markdown report here")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    data = image_data(800 if args.quick else 4000)
    rows = []
    if args.only in (None, "grid"):
        rows += grid_search(args.repeats, args.quick)
    if args.only in (None, "busy"):
        rows += busy_core(data, args.repeats)
    if args.only in (None, "sklearn"):
        rows += against_scikit_learn(data, args.repeats, epochs=2 if args.quick else 20)
    if args.only in (None, "kernel") and "cython" in fastlc.available_backends():
        rows += kernel_efficiency(args.repeats)
    text = report(rows, args.repeats)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
