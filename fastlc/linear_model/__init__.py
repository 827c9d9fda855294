"""scikit-learn estimators trained on the fastlc kernels."""
from ._base import DivergenceError
from ._regressor import LinearRegressor
from ._softmax import SoftmaxClassifier
from ._svm import LinearSVMClassifier

__all__ = ["DivergenceError", "LinearRegressor", "LinearSVMClassifier", "SoftmaxClassifier"]
