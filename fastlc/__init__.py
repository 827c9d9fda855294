"""fastlc: fast training kernels for linear classifiers, behind a scikit-learn API."""
from . import kernels
from ._dispatch import available_backends
from .linear_model import DivergenceError, LinearSVMClassifier, SoftmaxClassifier

__version__ = "0.1.0"

__all__ = ["available_backends", "kernels", "__version__"]
__all__ += ["DivergenceError", "LinearSVMClassifier", "SoftmaxClassifier"]
