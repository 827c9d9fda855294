"""The ``numba`` backend: ``@njit`` kernels, parallel over rows (installed as ``fastlc._numba``)."""
