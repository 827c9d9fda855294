"""fastlc: fast training kernels for linear classifiers, behind a scikit-learn API."""
__version__ = "0.1.0"

from . import kernels
from ._dispatch import available_backends
from ._threads import _register_threadpoolctl_controller, config_context, get_config, set_config

__all__ = ["available_backends", "config_context", "get_config", "kernels", "set_config", "__version__"]
__all__ += ["DivergenceError", "LinearRegressor", "LinearSVMClassifier", "SoftmaxClassifier"]
__all__ += ["MLPClassifier", "MLPRegressor"]

#: Estimators load on first use (PEP 562): they import scikit-learn, which takes
#: most of a second, and users of the kernels alone should not pay for it.
_LAZY_ESTIMATORS = {"DivergenceError", "LinearRegressor", "LinearSVMClassifier", "SoftmaxClassifier"}


_register_threadpoolctl_controller()
try:
    # load the thread pool's shared library now, so that threadpoolctl finds it (see fastlc._threads)
    from ._cython import _fastlc_threadpool  # noqa: F401
except ImportError:  # the Cython backend is not built: the Numba and NumPy backends still work
    pass


_LAZY_NETWORKS = {"MLPClassifier", "MLPRegressor"}


def __getattr__(name):
    if name in _LAZY_ESTIMATORS:
        from . import linear_model

        return getattr(linear_model, name)
    if name in _LAZY_NETWORKS:
        from . import neural_network

        return getattr(neural_network, name)
    raise AttributeError(f"module 'fastlc' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _LAZY_ESTIMATORS | _LAZY_NETWORKS)
