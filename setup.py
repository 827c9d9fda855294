"""Build the Cython kernels; everything else is declared in pyproject.toml.

OpenMP is found by a compile probe: when the compiler has it the kernels run
``prange`` loops in parallel, otherwise the build still succeeds and they run
single-threaded. ``-fno-math-errno`` lets GCC vectorize ``sqrt`` (the optimizer
steps). ``FASTLC_NATIVE=1`` adds ``-march=native`` (off by default so
that a built wheel runs on any x86-64 machine).
"""
import glob
import os
import subprocess
import sys
import sysconfig
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

OPENMP_PROBE = r"""
#include <omp.h>
int main(void) { int n = 0;
#pragma omp parallel reduction(+:n)
  n += 1;
  return n > 0 ? 0 : 1; }
"""


def openmp_flags():
    """Return (compile_args, link_args) for OpenMP, or empty lists without it."""
    if os.environ.get("FASTLC_NO_OPENMP"):
        return [], []
    if sys.platform == "win32":
        return ["/openmp"], []
    compiler = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    compiler = compiler.split()
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "probe.c")
        with open(source, "w") as f:
            f.write(OPENMP_PROBE)
        cmd = compiler + ["-fopenmp", source, "-o", os.path.join(tmp, "probe")]
        try:
            ok = subprocess.run(cmd, capture_output=True).returncode == 0
        except OSError:
            ok = False
    if not ok:
        print("fastlc: compiler has no OpenMP; building single-threaded kernels")
        return [], []
    return ["-fopenmp"], ["-fopenmp"]


def extensions():
    omp_compile, omp_link = openmp_flags()
    # -fno-math-errno: a sqrt that must set errno for negative inputs cannot be
    # vectorized. It is not fast-math: NaN, infinities and rounding are unchanged
    # (the kernels never read errno).
    compile_args = ["-O3", "-fno-math-errno"] + omp_compile
    if sys.platform != "win32":
        # OpenMP SIMD pragmas (vectorized max in _rowmath.h) work without the OpenMP
        # runtime. Not trapping on FP exceptions lets gcc turn the branch-free
        # selects of our exp into vector blends; NaN and inf semantics are unchanged.
        compile_args += ["-fopenmp-simd", "-fno-trapping-math"]
    if os.environ.get("FASTLC_NATIVE"):
        compile_args.append("-march=native")
    exts = []
    for source in sorted(glob.glob(os.path.join("kernels", "cython", "*.pyx"))):
        name = os.path.splitext(os.path.basename(source))[0]
        exts.append(
            Extension(
                f"fastlc._cython.{name}",
                [source],
                include_dirs=[np.get_include(), os.path.join("kernels", "cython")],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
                extra_compile_args=compile_args,
                extra_link_args=omp_link,
            )
        )
    return cythonize(exts, language_level=3, compiler_directives={"embedsignature": True})


setup(ext_modules=extensions())
