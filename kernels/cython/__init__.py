"""The ``cython`` backend: compiled ``nogil`` kernels on fastlc's own thread pool (installed as ``fastlc._cython``)."""
