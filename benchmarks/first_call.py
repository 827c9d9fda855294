"""Import time and first-call latency of each backend, each in a fresh process.

Usage::

    python benchmarks/first_call.py [--markdown OUT.md]

For every backend, a new Python process imports fastlc, then times the first
call of each loss kernel (float32, 256 x 10). For Numba it measures twice: with
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
result = {"import": imported}
for name in ("softmax_cross_entropy", "multiclass_hinge", "softmax"):
    function = getattr(kernels, name)
    args = (scores,) if name == "softmax" else (scores, y)
    start = time.perf_counter()
    function(*args, backend=backend)
    result[name] = time.perf_counter() - start
print(json.dumps(result))
"""


def run(backend, env):
    out = subprocess.run([sys.executable, "-c", CHILD, backend], env=env, capture_output=True, text=True, check=True)
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


def markdown(rows):
    lines = ["| backend | import fastlc | first softmax_cross_entropy | first multiclass_hinge | first softmax |",
             "|---|---:|---:|---:|---:|"]
    for name, r in rows:
        lines.append(f"| {name} | {r['import'] * 1e3:.0f} ms | {r['softmax_cross_entropy'] * 1e3:.1f} ms | "
                     f"{r['multiclass_hinge'] * 1e3:.1f} ms | {r['softmax'] * 1e3:.1f} ms |")
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
