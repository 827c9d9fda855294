"""Multilayer perceptrons trained on the fastlc kernels."""
from ._multilayer import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
