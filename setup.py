"""Build the Cython kernels; everything else is declared in pyproject.toml.

Compile flags are chosen per compiler: MSVC gets ``/O2``; gcc, clang and
other Unix compilers get each flag of ``UNIX_FLAGS`` that a compile probe
accepts. No OpenMP runtime is linked: the kernels run on fastlc's own thread
pool (_threadpool_impl.h), and ``-fopenmp-simd`` only lets ``#pragma omp
simd`` vectorize loops.

A failed compile is not a failed install: fastlc then runs on its Numba and
NumPy backends, the build prints a warning, and ``fastlc/_cython/_build.json``
records what failed, so that ``backend="cython"`` can say why it is missing.

Environment variables:

``FASTLC_REQUIRE_CYTHON=1``
    a failed Cython build fails the install (CI sets it).
``FASTLC_NATIVE=1``
    add ``-march=native`` (off by default so that a wheel runs on any machine
    of its platform).
``FASTLC_PLAIN=1``
    plain C: no compiler extensions, SIMD hints or threads (the fallbacks an
    unknown compiler gets, see kernels/cython/_portable.h); for testing those.
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import BaseError, CCompilerError

# -fno-math-errno: a sqrt that must set errno for negative inputs cannot be
# vectorized. -fno-trapping-math lets the branch-free selects of our exp become
# vector blends. Neither is fast-math: NaN, infinities and rounding are
# unchanged (the kernels never read errno or trap).
# -Werror=implicit-function-declaration: a misspelt helper in a header macro would
# otherwise compile to a call of an undefined symbol, and the module fail on import.
UNIX_FLAGS = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd", "-Werror=implicit-function-declaration"]
MSVC_FLAGS = ["/O2"]
# Modules whose results must be the same bits from every build: no fused
# multiply-add contraction (_optim.h also says so in a pragma).
NO_CONTRACTION = {"_optim": {"unix": ["-ffp-contract=off"], "msvc": ["/fp:precise"]}}


def env_flag(name):
    return os.environ.get(name, "") not in ("", "0")


def accepted(compiler, flags):
    """The flags (in order) that a Unix compiler accepts without a warning."""
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "probe.c")
        with open(source, "w") as f:
            f.write("int main(void) { return 0; }\n")
        command = compiler.compiler_so + ["-Werror", "-c", source, "-o", os.path.join(tmp, "probe.o")]
        return [flag for flag in flags if subprocess.run(command + [flag], capture_output=True).returncode == 0]


def compiler_version(compiler):
    if compiler.compiler_type == "msvc":
        return "msvc"
    try:
        run = subprocess.run(compiler.compiler_so[:1] + ["--version"], capture_output=True, text=True)
        return run.stdout.splitlines()[0]
    except (OSError, IndexError):
        return compiler.compiler_so[0]


class BuildExt(build_ext):
    """build_ext with flags chosen per compiler, where a failed build warns instead of failing the install."""

    def compile_args(self):
        """Return (flags, macros) for this compiler and the environment variables."""
        if self.compiler.compiler_type == "msvc":
            return list(MSVC_FLAGS), []
        flags = UNIX_FLAGS + ["-march=native"] if env_flag("FASTLC_NATIVE") else list(UNIX_FLAGS)
        if env_flag("FASTLC_PLAIN"):
            flags.remove("-fopenmp-simd")
            return accepted(self.compiler, flags), [("FASTLC_PLAIN", None), ("FASTLC_POOL_SERIAL", None)]
        return accepted(self.compiler, flags), []

    def build_extensions(self):
        kind = self.compiler.compiler_type
        info = {"built": False, "plain": env_flag("FASTLC_PLAIN")}
        failed = "compiler"
        try:
            flags, macros = self.compile_args()
            info.update(compiler=compiler_version(self.compiler), flags=flags, macros=[m for m, _ in macros])
            self.check_extensions_list(self.extensions)
            for ext in self.extensions:
                failed = ext.name
                strict = NO_CONTRACTION.get(ext.name.rsplit(".", 1)[1], {}).get(kind, [])
                ext.extra_compile_args = flags + (strict if kind == "msvc" else accepted(self.compiler, strict))
                ext.define_macros = ext.define_macros + macros
                self.build_extension(ext)
            info["built"] = True
        except (CCompilerError, BaseError, OSError) as error:
            if env_flag("FASTLC_REQUIRE_CYTHON"):
                raise
            info["error"] = f"{failed}: {type(error).__name__}: {error}"
            self.remove_modules()  # no half-built backend
            print(f"\n{'=' * 78}\nWARNING: fastlc's Cython kernels failed to build ({info['error']}).\n"
                  "fastlc is installed without its 'cython' backend; the 'numba' and 'numpy' backends work.\n"
                  "Install a C compiler and reinstall fastlc for the Cython kernels; FASTLC_REQUIRE_CYTHON=1\n"
                  f"makes this failure an error.\n{'=' * 78}", file=sys.stderr)
        self.built = info["built"]
        # what was built and how, or why not: read by fastlc._cython.build_info()
        os.makedirs(os.path.dirname(self.marker()), exist_ok=True)
        with open(self.marker(), "w") as f:
            json.dump(info, f, indent=1)

    def marker(self):
        return os.path.join(self.build_lib, "fastlc", "_cython", "_build.json")

    def remove_modules(self):
        for ext in self.extensions:
            if os.path.exists(self.get_ext_fullpath(ext.name)):
                os.remove(self.get_ext_fullpath(ext.name))

    def copy_extensions_to_source(self):
        """--inplace and editable installs: the marker too, and no stale modules after a failure."""
        if self.built:
            super().copy_extensions_to_source()
        else:
            self.remove_modules()
        self.copy_file(self.marker(), os.path.dirname(self.get_ext_fullpath(self.extensions[0].name)))


def extensions():
    headers = sorted(glob.glob(os.path.join("kernels", "cython", "*.h")))
    exts = [
        Extension(
            f"fastlc._cython.{os.path.splitext(os.path.basename(source))[0]}",
            [source],
            include_dirs=[np.get_include(), os.path.join("kernels", "cython")],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
            depends=headers,  # an edited header rebuilds the modules (setuptools compares times)
        )
        for source in sorted(glob.glob(os.path.join("kernels", "cython", "*.pyx")))
    ]
    return cythonize(exts, language_level=3, compiler_directives={"embedsignature": True})


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
