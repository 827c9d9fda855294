"""The ``cython`` backend: compiled ``nogil`` kernels on fastlc's own thread pool (installed as ``fastlc._cython``)."""
import json
import os


def build_info():
    """Return how the Cython kernels were built, as setup.py recorded it.

    Returns
    -------
    info : dict
        ``"built"`` (bool), ``"plain"`` (bool, the FASTLC_PLAIN build), and when
        known ``"compiler"`` (its version line), ``"flags"`` and ``"macros"``
        (lists of str), and ``"error"`` (str, why the build failed). An empty
        dict when no record exists (a build older than the record).
    """
    try:
        with open(os.path.join(os.path.dirname(__file__), "_build.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
