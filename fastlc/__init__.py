"""fastlc: fast training kernels for linear classifiers, behind a scikit-learn API."""
from . import kernels
from ._dispatch import available_backends

__version__ = "0.1.0"

__all__ = ["available_backends", "kernels", "__version__"]
