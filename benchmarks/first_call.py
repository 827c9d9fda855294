"""Import time and first-call latency of each backend, each in a fresh process.

Usage::

    python benchmarks/first_call.py [--markdown OUT.md]

For every backend, a new Python process imports fastlc, then times the first
call of one kernel of each family (float32): the two losses and softmax on
256 x 10, adam_step on 10,000 parameters, max_pool2d forward + backward on
(2, 3, 16, 16). For Numba it measures twice: with
an empty cache directory (the JIT compiles: what the very first user pays) and
with the cache warm (what every later process pays).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, sys, time
start = time.perf_counter()
import numpy as np
import fastlc
from fastlc import kernels
imported = time.perf_counter() - start
backend = sys.argv[1]
rng = np.random.default_rng(0)
scores = rng.standard_normal((256, 10)).astype(np.float32)
y = rng.integers(0, 10, 256)
param, grad = np.zeros(10_000, np.float32), np.ones(10_000, np.float32)
moments = [np.zeros_like(param), np.zeros_like(param)]
image = rng.standard_normal((2, 3, 16, 16)).astype(np.float32)


def max_pool(backend):
    out, indices = kernels.max_pool2d(image, 2, backend=backend)
    kernels.max_pool2d_backward(out, indices, image.shape, backend=backend)


calls = {
    "softmax_cross_entropy": lambda b: kernels.softmax_cross_entropy(scores, y, backend=b),
    "multiclass_hinge": lambda b: kernels.multiclass_hinge(scores, y, backend=b),
    "softmax": lambda b: kernels.softmax(scores, backend=b),
    "adam_step": lambda b: kernels.adam_step(param, grad, *moments, step=1, backend=b),
    "max_pool2d": max_pool,
}
result = {"import": imported}
for name, call in calls.items():
    start = time.perf_counter()
    call(backend)
    result[name] = time.perf_counter() - start
print(json.dumps(result))
"""


def run(backend, env):
    out = subprocess.run([sys.executable, "-c", CHILD, backend], env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"the {backend} child process failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure():
    rows = []
    for backend in ("numpy", "cython", "numba"):
        if backend == "numba":
            with tempfile.TemporaryDirectory() as cache:
                env = dict(os.environ, NUMBA_CACHE_DIR=cache)
                rows.append(("numba (cold cache: JIT compiles)", run(backend, env)))
                rows.append(("numba (warm cache)", run(backend, env)))
        else:
            rows.append((backend, run(backend, dict(os.environ))))
    return rows


KERNELS = ("softmax_cross_entropy", "multiclass_hinge", "softmax", "adam_step", "max_pool2d")


def markdown(rows):
    lines = ["| backend | import fastlc | " + " | ".join(f"first {k}" for k in KERNELS) + " |",
             "|---|---:|" + "---:|" * len(KERNELS)]
    for name, r in rows:
        lines.append(f"| {name} | {r['import'] * 1e3:.0f} ms | "
                     + " | ".join(f"{r[k] * 1e3:.1f} ms" for k in KERNELS) + " |")
    lines.append("")
    lines.append("The first numba row includes compiling each kernel (the first process on a machine); "
                 "compiled kernels are cached on disk, so every later process pays the second row. "
                 "Numba itself is imported only when a numba kernel is first called.")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markdown", help="write the table here (default: stdout)")
    args = parser.parse_args(argv)
    text = markdown(measure())
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
