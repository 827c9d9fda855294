"""The installation: what setup.py built, and how a missing Cython backend is reported."""
import importlib
import os
import pkgutil

import pytest

import fastlc
from fastlc import _dispatch


def test_cython_backend_present_when_its_build_is_required():
    # CI builds with FASTLC_REQUIRE_CYTHON=1: there a missing backend (a module
    # left out of the wheel, an import error) must fail, not skip every cython test.
    if os.environ.get("FASTLC_REQUIRE_CYTHON", "") in ("", "0"):
        pytest.skip("FASTLC_REQUIRE_CYTHON is not set: this installation may lack the Cython backend")
    assert "cython" in fastlc.available_backends()


def test_build_record_agrees_with_available_backends():
    from fastlc._cython import build_info

    info = build_info()
    if not info:
        pytest.skip("no build record (_build.json): built by an older setup.py")
    assert info["built"] == ("cython" in fastlc.available_backends()), info
    assert info["built"] == ("error" not in info), info


def test_failed_build_is_named_in_the_error(monkeypatch):
    error = "fastlc._cython._linear: CompileError: command 'cc' failed with exit code 1"
    monkeypatch.setattr(_dispatch, "_backend_present", lambda backend: backend in ("naive", "numpy", "numba"))
    monkeypatch.setattr(_dispatch, "_cython_build_info", lambda: {"built": False, "error": error})
    with pytest.raises(ValueError, match="backend='cython' is not available") as raised:
        _dispatch.resolve_backend("cython", "softmax")
    assert "failed to build" in str(raised.value)
    assert error in str(raised.value)
    assert _dispatch.resolve_backend("auto", "softmax") == "numba"


def test_every_cython_kernel_module_imports():
    # The backend counts as present when one module imports; a module with an undefined
    # symbol (a helper misspelt in a header macro) would fail only when its kernel is called.
    if "cython" not in fastlc.available_backends():
        pytest.skip("no Cython backend in this installation (test_build_record_agrees_with_available_backends)")
    import fastlc._cython as package

    installed = {info.name for info in pkgutil.iter_modules(package.__path__)}
    for module in sorted(installed | set(_dispatch.KERNEL_MODULES.values())):
        importlib.import_module(f"{package.__name__}.{module}")
