"""Pictures of training, in scikit-learn's Display style (matplotlib is optional: ``pip install "fastlc[plot]"``).

- :class:`LossCurveDisplay`: training loss (and validation score) per epoch of a fitted estimator;
- :class:`OptimizerPathDisplay`: trajectories of ``fastlc.optim`` optimizers on 2-D test functions;
- :class:`LossLandscapeDisplay`: the training objective along random directions around the weights.

Each has a ``from_...`` class method that computes and draws, a ``plot(ax=None, ...)``
method, the plotted data as attributes, and ``ax_`` / ``figure_`` after drawing.
Nothing here imports matplotlib until a picture is drawn.
"""
from ._loss_curve import LossCurveDisplay
from ._loss_landscape import LossLandscapeDisplay, loss_landscape, random_directions
from ._optimizer_path import TEST_FUNCTIONS, OptimizerPathDisplay, TestFunction, optimizer_path

__all__ = [
    "TEST_FUNCTIONS",
    "LossCurveDisplay",
    "LossLandscapeDisplay",
    "OptimizerPathDisplay",
    "TestFunction",
    "loss_landscape",
    "optimizer_path",
    "random_directions",
]
