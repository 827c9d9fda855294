"""Check that an installed (non-editable) fastlc holds every module of its source tree.

Usage: python check_installed.py SOURCE_DIR   (run from outside SOURCE_DIR)

Checks that ``fastlc`` is imported from the installation, not from SOURCE_DIR;
that every .py file under fastlc/ and kernels/{cython,numba}/ (installed as
fastlc._cython / fastlc._numba, see pyproject.toml) was installed, so a new
sub-package missing from pyproject's package list fails here rather than on a
user's machine; and that every Cython extension imports.
"""
import importlib
import pathlib
import sys

import fastlc

source = pathlib.Path(sys.argv[1]).resolve()
installed = pathlib.Path(fastlc.__file__).resolve().parent
if source in installed.parents:
    sys.exit(f"fastlc was imported from the source tree ({installed}), not from the installation")

expected = {path.relative_to(source / "fastlc") for path in (source / "fastlc").rglob("*.py")}
for directory, package in (("kernels/cython", "_cython"), ("kernels/numba", "_numba")):
    expected |= {pathlib.Path(package, path.name) for path in (source / directory).glob("*.py")}
missing = sorted(str(path) for path in expected if not (installed / path).is_file())
if missing:
    sys.exit(f"installed fastlc ({installed}) lacks: {', '.join(missing)}")

extensions = sorted(path.stem for path in (source / "kernels" / "cython").glob("*.pyx"))
for name in extensions:
    importlib.import_module(f"fastlc._cython.{name}")
print(f"installed fastlc at {installed}: {len(expected)} modules and {len(extensions)} extensions present")
