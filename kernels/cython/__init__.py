"""The ``cython`` backend: compiled ``nogil`` kernels with OpenMP ``prange`` (installed as ``fastlc._cython``)."""
