"""The loss kernels and fused gradients of this checkout against those of an earlier commit.

Issue 11 moved every loss row to one source per compiled backend; its condition was
"no slowdown (±5%)". This script checks such a condition for any two commits: it builds
the earlier commit's Cython kernels in a temporary git worktree, then times both builds in
alternating subprocesses (rounds interleaved, medians of medians), one thread, by the
thread's CPU time (``time.thread_time``): the machine is shared, and CPU time is what
another process's load disturbs least. Cases: ``multiclass_hinge`` (plain and squared)
and ``softmax_cross_entropy`` on 65536 x 10, the fused hinge and cross-entropy gradients
on 10 batches of 200 x 784 x 10, float32 and float64, Numba and Cython (where built).

Run::

    python benchmarks/compare_builds.py 140d03b            # about 3 minutes
    python benchmarks/compare_builds.py 140d03b --rounds 1 --quick   # a smoke run
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure(quick):
    """{case: median seconds per call} for the fastlc that ``import fastlc`` finds."""
    import warnings

    import numpy as np

    import fastlc.kernels as K
    from fastlc._dispatch import available_backends, get_kernel

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    n_rows, n_train, repeats = (4096, 600, 3) if quick else (65536, 3000, 15)
    out = {}

    def median_cpu_time(call, inner=5):
        call()
        times = []
        for _ in range(repeats):
            start = time.thread_time()
            for _ in range(inner):
                call()
            times.append((time.thread_time() - start) / inner)
        return statistics.median(times)

    for dtype in (np.float32, np.float64):
        name = np.dtype(dtype).name
        scores = rng.standard_normal((n_rows, 10)).astype(dtype)
        y = rng.integers(0, 10, n_rows)
        X = rng.standard_normal((n_train, 784)).astype(dtype)
        labels = rng.integers(0, 10, n_train).astype(np.intp)
        W = (0.01 * rng.standard_normal((10, 784))).astype(dtype)
        b, row_weight, class_weight = np.zeros(10, dtype), np.ones(n_train, dtype), np.ones(10, dtype)
        loss, grad_W, grad_b = np.empty(200, dtype), np.empty_like(W), np.empty_like(b)
        batches = [rng.permutation(n_train)[:200].astype(np.intp) for _ in range(10)]
        for backend in [b for b in ("numba", "cython") if b in available_backends()]:
            hinge = get_kernel("linear_hinge_gradient", backend)
            cross_entropy = get_kernel("linear_cross_entropy_gradient", backend)
            cases = {
                "multiclass_hinge": lambda: K.multiclass_hinge(scores, y, backend=backend, n_threads=1),
                "multiclass_hinge squared": lambda: K.multiclass_hinge(scores, y, squared=True, backend=backend,
                                                                       n_threads=1),
                "softmax_cross_entropy": lambda: K.softmax_cross_entropy(scores, y, backend=backend, n_threads=1),
                "fused hinge gradient": lambda: [
                    hinge(X, rows, labels, row_weight, W, b, dtype(1 / 200), dtype(1), False, loss, grad_W, grad_b, 1)
                    for rows in batches],
                "fused cross-entropy gradient": lambda: [
                    cross_entropy(X, rows, labels, class_weight, row_weight, W, b, dtype(1 / 200), dtype(0), loss,
                                  grad_W, grad_b, 1) for rows in batches],
            }
            for case, call in cases.items():
                out[f"{case}, {name}, {backend}"] = median_cpu_time(call)
    return out


def prepare_base(ref, workdir):
    """A checkout of ``ref`` with its Cython kernels built in place, and a directory that imports it as fastlc."""
    tree = os.path.join(workdir, "tree")
    subprocess.run(["git", "-C", REPO, "worktree", "add", "--detach", tree, ref], check=True, capture_output=True)
    subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace", "-q"], cwd=tree, check=True,
                   capture_output=True)
    package_root = os.path.join(workdir, "import")
    shutil.copytree(os.path.join(tree, "fastlc"), os.path.join(package_root, "fastlc"))
    # the kernels install as fastlc._cython / fastlc._numba (pyproject.toml's package-dir)
    os.symlink(os.path.join(tree, "kernels", "cython"), os.path.join(package_root, "fastlc", "_cython"))
    os.symlink(os.path.join(tree, "kernels", "numba"), os.path.join(package_root, "fastlc", "_numba"))
    return tree, package_root


def run_round(package_root, quick):
    """One measurement in a fresh interpreter that imports fastlc from ``package_root`` (None: this checkout)."""
    env = dict(os.environ)
    if package_root is not None:
        env["PYTHONPATH"] = package_root + os.pathsep + env.get("PYTHONPATH", "")
    command = [sys.executable, os.path.abspath(__file__), "--measure"] + (["--quick"] if quick else [])
    result = subprocess.run(command, env=env, cwd=tempfile.gettempdir(), check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", nargs="?", help="the earlier commit (any git ref)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per build (default 3)")
    parser.add_argument("--quick", action="store_true", help="small problems, for a smoke run")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.quick)))
        return
    if args.base is None:
        parser.error("the earlier commit is required")
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    workdir = tempfile.mkdtemp(prefix="fastlc-compare-")
    tree = None
    try:
        tree, package_root = prepare_base(args.base, workdir)
        rounds = {"base": [], "this": []}
        for _ in range(args.rounds):
            rounds["base"].append(run_round(package_root, args.quick))
            rounds["this"].append(run_round(None, args.quick))
    finally:
        if tree is not None:
            subprocess.run(["git", "-C", REPO, "worktree", "remove", "--force", tree], capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"| case | {args.base} | this checkout | this / {args.base} |\n|---|---:|---:|---:|")
    for case in rounds["this"][0]:
        base = statistics.median(r[case] for r in rounds["base"])
        this = statistics.median(r[case] for r in rounds["this"])
        print(f"| {case} | {base * 1e3:.3f} ms | {this * 1e3:.3f} ms | {this / base:.2f} |")


if __name__ == "__main__":
    main()
