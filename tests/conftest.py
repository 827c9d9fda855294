"""Shared fixtures: which backends to compare against the naive reference."""
import numpy as np
import pytest

from fastlc.kernels import available_backends

#: Backends compared against "naive". A backend missing from this installation
#: is reported as skipped with the reason, never silently dropped.
FAST_BACKENDS = ("numpy", "numba", "cython")


def require_backend(backend):
    if backend not in available_backends():
        pytest.skip(f"backend {backend!r} is not available in this installation")


@pytest.fixture(params=FAST_BACKENDS)
def backend(request):
    require_backend(request.param)
    return request.param


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return np.dtype(request.param)


def tolerance(dtype):
    """rtol/atol for comparing a fast backend to the float64 Python reference."""
    return dict(rtol=2e-5, atol=2e-6) if np.dtype(dtype) == np.float32 else dict(rtol=1e-10, atol=1e-12)
