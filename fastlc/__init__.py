"""fastlc: fast training kernels for linear classifiers, behind a scikit-learn API."""
from . import kernels
from ._dispatch import available_backends

__version__ = "0.1.0"

__all__ = ["available_backends", "kernels", "__version__"]
__all__ += ["DivergenceError", "LinearSVMClassifier", "SoftmaxClassifier"]

#: Estimators load on first use (PEP 562): they import scikit-learn, which takes
#: most of a second, and users of the kernels alone should not pay for it.
_LAZY_ESTIMATORS = {"DivergenceError", "LinearSVMClassifier", "SoftmaxClassifier"}


def __getattr__(name):
    if name in _LAZY_ESTIMATORS:
        from . import linear_model

        return getattr(linear_model, name)
    raise AttributeError(f"module 'fastlc' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _LAZY_ESTIMATORS)
