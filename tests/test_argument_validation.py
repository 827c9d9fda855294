"""Every public parameter rejects bad values with a TypeError/ValueError that names it.

One table (``CASES``) lists, for every public function and class of fastlc, a
valid call and values of the wrong type or range for each parameter. The tests

- run the valid call (so the table's good arguments really are good, and a bad
  value is the only thing wrong in the calls below);
- call with one bad value at a time and expect a TypeError or ValueError whose
  message names the parameter;
- introspect the signatures of everything public (``fastlc.__all__``,
  ``fastlc.kernels.__all__``, ``fastlc.optim.__all__``, the estimators and
  ``fastlc.gradcheck``) and fail when a function or one of its parameters has
  no entry, so a new parameter cannot arrive unchecked.

``n_threads`` is left out on purpose: its validation and the choice of thread
counts belong to the thread-limit work (fastlc/_threads.py, tests/test_threads.py).
The command-line options are checked in tests/test_cli.py. ``fastlc.plotting``
(optional, needs matplotlib) is not in this table yet: its Display classes check
their own arguments (tests/test_plotting.py).
"""
import inspect
import math
import re

import numpy as np
import pytest

import fastlc
import fastlc.gradcheck
from fastlc import (
    LinearRegressor, LinearSVMClassifier, MLPClassifier, MLPRegressor, SoftmaxClassifier, kernels, optim,
)

#: Parameters this table does not cover, with the reason.
NOT_HERE = {
    "n_threads": "thread counts are validated and chosen by the thread-limit code (tests/test_threads.py)",
}

#: Public callables without a table entry, with the reason.
EXCLUDED = {
    "fastlc.set_config": "its only parameter is n_threads (see NOT_HERE)",
    "fastlc.config_context": "its only parameter is n_threads (see NOT_HERE)",
    "fastlc.optim.Optimizer": "abstract base; its parameters are covered through every subclass",
    "fastlc.optim.LRSchedule": "abstract base without parameters",
}

NAN, INF = math.nan, math.inf
FLAG = ["no", 1, None, np.float64(1.0)]
BACKEND = ["cuda", 3, None]
REDUCTION = ["average", None, 0]
TEXT = "text"


def real(*out_of_range):
    """Bad values of a real parameter: wrong types, NaN, infinity and the given out-of-range values."""
    return ["1.0", None, True, NAN, INF, *out_of_range]


def count(*out_of_range):
    """Bad values of an integer parameter."""
    return [1.5, "2", True, *out_of_range]


def _data(shape=(4, 3)):
    return np.random.default_rng(0).standard_normal(shape)


LABELS = np.array([0, 1, 2, 1])


def _optim_step_arrays(*names):
    def make():
        arrays = {"param": np.zeros(5), "grad": np.ones(5)}
        arrays.update({name: np.zeros(5) for name in names})
        return arrays

    return make


def _activation_case(name, extra_good=None, extra_bad=None, backward=False):
    function = getattr(kernels, name + ("_backward" if backward else ""))

    def valid():
        args = {"x": _data(), "backend": "numpy", "out": None, **(extra_good or {})}
        if backward:
            args["grad_out"] = np.ones((4, 3))
        return args

    bad = {"x": [TEXT, None, np.ones((4, 3), dtype=np.complex128)], "backend": BACKEND,
           "out": [TEXT, np.empty((2, 2)), np.empty((4, 3), dtype=np.float32)], **(extra_bad or {})}
    if backward:
        bad["grad_out"] = [TEXT, np.ones((2, 2))]
    return function, valid, bad


def _fit(Estimator):
    """A public ``fit`` path as one function: constructor parameters plus fit's own."""

    def fit(X, y, sample_weight=None, **params):
        return Estimator(**params).fit(X, y, sample_weight=sample_weight)

    fit.estimator = Estimator
    return fit


ESTIMATOR_BAD = {
    "optimizer": ["lbfgs", None], "learning_rate": [0.0, -1.0, "high", INF, NAN],
    "lr_schedule": ["cosine", None], "lr_decay": [0.0, 1.5, NAN], "lr_step_size": [0, 2.5, "1"],
    "power_t": [-0.5, INF, "a"], "momentum": [1.0, -0.1, NAN], "beta_1": [1.0, -0.1], "beta_2": [1.0, -0.1],
    "epsilon": [0.0, INF], "batch_size": [0, "big", 3.5], "max_epochs": [0, 1.5, None], "alpha": [-1e-4, INF],
    "penalty": ["l3", 2], "l1_ratio": [1.5, -0.1, NAN], "fit_intercept": ["yes", None],
    "class_weight": ["uniform", [1, 2]], "tol": [-1.0, INF, "small"], "n_iter_no_change": [0, 1.5],
    "early_stopping": [1.5, "no"], "validation_fraction": [0.0, 1.0, NAN], "shuffle": ["no", None],
    "random_state": ["seed", 1.5], "warm_start": ["no", None], "verbose": ["loud", None],
    "backend": ["cuda", None],
    # X and y go through scikit-learn's validate_data, whose messages name them for these values (for
    # X="text" or a 1-D X they do not: "could not convert string to float", "Expected 2D array")
    "X": [np.full((30, 4), NAN), np.full((30, 4), INF)], "y": [None, np.full(30, NAN)],
    "sample_weight": [-np.ones(30), np.ones(3)],
}


MLP_BAD = {"hidden_layer_sizes": [(0,), (2.5,), "wide", None, (True,)], "activation": ["swish", None],
           "dropout": [1.0, -0.1, NAN, "a"], "batch_norm": ["yes", None]}


def _estimator_valid():
    rng = np.random.default_rng(0)
    return {"X": rng.standard_normal((30, 4)), "y": np.arange(30) % 3, "sample_weight": None, "max_epochs": 2,
            "tol": None}


CASES = {
    # ---------------------------------------------------------------- classification losses
    "fastlc.kernels.multiclass_hinge": (
        kernels.multiclass_hinge,
        lambda: dict(scores=_data(), y=LABELS, margin=1.0, squared=False, sample_weight=np.ones(4),
                     reduction="mean", backend="numpy", out=None),
        dict(scores=[TEXT, np.ones(4)], y=[LABELS.astype(float), [0, 1, 5, 1], [0, 1]], margin=real(-1.0),
             squared=FLAG, sample_weight=[np.ones(3), -np.ones(4), TEXT], reduction=REDUCTION, backend=BACKEND,
             out=[TEXT, np.empty((2, 2))]),
    ),
    "fastlc.kernels.softmax_cross_entropy": (
        kernels.softmax_cross_entropy,
        lambda: dict(logits=_data(), y=LABELS, class_weight=np.ones(3), sample_weight=np.ones(4),
                     label_smoothing=0.1, ignore_index=-100, reduction="mean", backend="numpy", out=None),
        dict(logits=[TEXT, np.ones(4)], y=[LABELS.astype(float), [0, 1, 5, 1]], class_weight=[np.ones(2), TEXT],
             sample_weight=[np.ones(3), -np.ones(4)], label_smoothing=real(-0.1, 1.5),
             ignore_index=[1.5, True, "a"], reduction=REDUCTION, backend=BACKEND, out=[TEXT, np.empty((2, 2))]),
    ),
    "fastlc.kernels.softmax": (
        kernels.softmax, lambda: dict(logits=_data(), backend="numpy", out=None),
        dict(logits=[TEXT, np.ones(4)], backend=BACKEND, out=[TEXT, np.empty((2, 2))]),
    ),
    "fastlc.kernels.log_softmax": (
        kernels.log_softmax, lambda: dict(logits=_data(), backend="numpy", out=None),
        dict(logits=[TEXT, np.ones(4)], backend=BACKEND, out=[TEXT, np.empty((2, 2))]),
    ),
    # ---------------------------------------------------------------- regression and binary losses
    **{
        f"fastlc.kernels.{name}": (
            getattr(kernels, name),
            (lambda extra: lambda: dict(input=_data(), target=_data(), reduction="mean", backend="numpy",
                                        out=None, **extra))(extra),
            dict(input=[TEXT, None], target=[TEXT, np.ones(3)], reduction=REDUCTION, backend=BACKEND,
                 out=[TEXT, np.empty((2, 2))], **bad),
        )
        for name, extra, bad in [
            ("mse_loss", {}, {}),
            ("l1_loss", {}, {}),
            ("huber_loss", {"delta": 1.0}, {"delta": real(0.0, -1.0)}),
            ("smooth_l1_loss", {"beta": 1.0}, {"beta": real(-1.0)}),
        ]
    },
    "fastlc.kernels.binary_cross_entropy": (
        kernels.binary_cross_entropy,
        lambda: dict(prob=np.full((4, 3), 0.5), target=np.ones((4, 3)), weight=np.ones(3), reduction="mean",
                     backend="numpy", out=None),
        dict(prob=[TEXT, np.full((4, 3), 1.5)], target=[TEXT, np.ones(3)], weight=[TEXT, np.ones(5)],
             reduction=REDUCTION, backend=BACKEND, out=[TEXT, np.empty((2, 2))]),
    ),
    "fastlc.kernels.binary_cross_entropy_with_logits": (
        kernels.binary_cross_entropy_with_logits,
        lambda: dict(logits=_data(), target=np.ones((4, 3)), weight=np.ones(3), pos_weight=np.ones(3),
                     reduction="mean", backend="numpy", out=None),
        dict(logits=[TEXT, None], target=[TEXT, np.ones(3)], weight=[TEXT, np.ones(5)],
             pos_weight=[TEXT, np.ones(5)], reduction=REDUCTION, backend=BACKEND, out=[TEXT, np.empty((2, 2))]),
    ),
    "fastlc.kernels.nll_loss": (
        kernels.nll_loss,
        lambda: dict(log_prob=kernels.log_softmax(_data()), y=LABELS, class_weight=np.ones(3), ignore_index=-100,
                     reduction="mean", backend="numpy", out=None),
        dict(log_prob=[TEXT, np.ones(4)], y=[LABELS.astype(float), [0, 1, 5, 1]], class_weight=[np.ones(2), TEXT],
             ignore_index=[1.5, True, "a", None], reduction=REDUCTION, backend=BACKEND,
             out=[TEXT, np.empty((2, 2))]),
    ),
    # ---------------------------------------------------------------- activations
    **{
        f"fastlc.kernels.{name}{'_backward' if backward else ''}": _activation_case(name, good, bad, backward)
        for name, good, bad in [
            ("relu", {}, {}),
            ("sigmoid", {}, {}),
            ("tanh", {}, {}),
            ("silu", {}, {}),
            ("leaky_relu", {"negative_slope": 0.01}, {"negative_slope": real()}),
            ("elu", {"alpha": 1.0}, {"alpha": real()}),
            ("gelu", {"approximate": "tanh"}, {"approximate": ["exact", None, True]}),
            # threshold=inf means "never linear" (PyTorch takes it too)
            ("softplus", {"beta": 1.0, "threshold": 20.0},
             {"beta": real(0.0), "threshold": [value for value in real() if value is not INF]}),
        ]
        for backward in (False, True)
    },
    # ---------------------------------------------------------------- dropout and normalization
    "fastlc.kernels.dropout": (
        kernels.dropout,
        lambda: dict(x=_data(), p=0.5, seed=1, training=True, backend="numpy", out=None),
        dict(x=[TEXT, None], p=real(-0.1, 1.5), seed=count(-1, 1 << 64, None), training=FLAG, backend=BACKEND,
             out=[TEXT, np.empty((2, 2))]),
    ),
    "fastlc.kernels.dropout_backward": (
        kernels.dropout_backward,
        lambda: dict(grad_out=np.ones((4, 3)), mask=np.ones((4, 3), dtype=bool), p=0.5, backend="numpy", out=None),
        dict(grad_out=[TEXT, None], mask=[TEXT, np.ones(3, dtype=bool), np.ones((4, 3))], p=real(-0.1, 1.5),
             backend=BACKEND, out=[TEXT, np.empty((2, 2))]),
    ),
    "fastlc.kernels.batch_norm": (
        kernels.batch_norm,
        lambda: dict(x=_data(), gamma=np.ones(3), beta=np.zeros(3), running_mean=np.zeros(3),
                     running_var=np.ones(3), training=True, momentum=0.1, eps=1e-5, backend="numpy"),
        dict(x=[TEXT, np.ones(4)], gamma=[TEXT, np.ones(5)], beta=[TEXT, np.ones(5)],
             running_mean=[[0.0] * 3, np.zeros(5)], running_var=[[1.0] * 3, np.ones(5)], training=FLAG,
             momentum=real(-0.1, 1.5), eps=real(0.0, -1.0), backend=BACKEND),
    ),
    "fastlc.kernels.batch_norm_backward": (
        kernels.batch_norm_backward,
        lambda: dict(grad_out=np.ones((4, 3)), x=_data(), gamma=np.ones(3), save_mean=np.zeros(3),
                     save_invstd=np.ones(3), training=True, backend="numpy"),
        dict(grad_out=[TEXT, np.ones((2, 2))], x=[TEXT, np.ones(4)], gamma=[TEXT, np.ones(5)],
             save_mean=[TEXT, np.ones(5)], save_invstd=[TEXT, np.ones(5)], training=FLAG, backend=BACKEND),
    ),
    "fastlc.kernels.layer_norm": (
        kernels.layer_norm,
        lambda: dict(x=_data(), normalized_shape=3, gamma=np.ones(3), beta=np.zeros(3), eps=1e-5, backend="numpy"),
        dict(x=[TEXT, None], normalized_shape=[1.5, (7,), 0, "3"], gamma=[TEXT, np.ones(5)],
             beta=[TEXT, np.ones(5)], eps=real(0.0, -1.0), backend=BACKEND),
    ),
    "fastlc.kernels.layer_norm_backward": (
        kernels.layer_norm_backward,
        lambda: dict(grad_out=np.ones((4, 3)), x=_data(), normalized_shape=3, save_mean=np.zeros(4),
                     save_rstd=np.ones(4), gamma=np.ones(3), backend="numpy"),
        dict(grad_out=[TEXT, np.ones((2, 2))], x=[TEXT, None], normalized_shape=[1.5, (7,), 0],
             save_mean=[TEXT, np.ones(7)], save_rstd=[TEXT, np.ones(7)], gamma=[TEXT, np.ones(5)], backend=BACKEND),
    ),
    # ---------------------------------------------------------------- optimizer steps
    "fastlc.kernels.adam_step": (
        kernels.adam_step,
        lambda: dict(**_optim_step_arrays("exp_avg", "exp_avg_sq", "max_exp_avg_sq")(), step=1, lr=1e-3,
                     beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False,
                     amsgrad=True, maximize=False, backend="numpy"),
        dict(param=[[0.0] * 5, np.zeros(5, dtype=int)], grad=[TEXT, np.ones(3)], exp_avg=[np.zeros(3), None],
             exp_avg_sq=[np.zeros(3), None], max_exp_avg_sq=[np.zeros(3), None], step=count(0),
             lr=real(-1.0), beta1=real(1.0, -0.1), beta2=real(1.0, -0.1), eps=real(0.0), weight_decay=real(-1.0),
             decoupled_weight_decay=FLAG, amsgrad=FLAG, maximize=FLAG, backend=BACKEND),
    ),
    "fastlc.kernels.rmsprop_step": (
        kernels.rmsprop_step,
        lambda: dict(**_optim_step_arrays("square_avg", "momentum_buffer", "grad_avg")(), lr=1e-2, alpha=0.99,
                     eps=1e-8, weight_decay=0.0, momentum=0.9, centered=True, maximize=False,
                     eps_inside_sqrt=False, backend="numpy"),
        dict(param=[[0.0] * 5], grad=[TEXT, np.ones(3)], square_avg=[np.zeros(3), None],
             momentum_buffer=[np.zeros(3), None], grad_avg=[np.zeros(3), None], lr=real(-1.0),
             alpha=real(-0.1, 1.5), eps=real(0.0), weight_decay=real(-1.0), momentum=real(-0.1), centered=FLAG,
             maximize=FLAG, eps_inside_sqrt=FLAG, backend=BACKEND),
    ),
    "fastlc.kernels.sgd_step": (
        kernels.sgd_step,
        lambda: dict(**_optim_step_arrays("momentum_buffer")(), lr=0.1, momentum=0.9, dampening=0.0, nesterov=True,
                     weight_decay=0.0, first_step=False, maximize=False, backend="numpy"),
        dict(param=[[0.0] * 5], grad=[TEXT, np.ones(3)], momentum_buffer=[np.zeros(3), None], lr=real(-1.0),
             momentum=real(-0.1), dampening=real(-0.1, 1.5), nesterov=FLAG, weight_decay=real(-1.0),
             first_step=FLAG, maximize=FLAG, backend=BACKEND),
    ),
    "fastlc.kernels.adagrad_step": (
        kernels.adagrad_step,
        lambda: dict(**_optim_step_arrays("sum_sq")(), step=1, lr=1e-2, lr_decay=0.0, eps=1e-10, weight_decay=0.0,
                     maximize=False, eps_inside_sqrt=False, backend="numpy"),
        dict(param=[[0.0] * 5], grad=[TEXT, np.ones(3)], sum_sq=[np.zeros(3), None], step=count(0), lr=real(-1.0),
             lr_decay=real(-1.0), eps=real(0.0), weight_decay=real(-1.0), maximize=FLAG, eps_inside_sqrt=FLAG,
             backend=BACKEND),
    ),
    # ---------------------------------------------------------------- pooling
    "fastlc.kernels.max_pool2d": (
        kernels.max_pool2d,
        lambda: dict(x=_data((1, 1, 4, 4)), kernel_size=2, stride=2, padding=0, ceil_mode=False, backend="numpy"),
        dict(x=[TEXT, np.ones(4)], kernel_size=[0, 1.5, (2, 2, 2), True], stride=[0, 1.5, "2"],
             padding=[-1, 2, 0.5], ceil_mode=FLAG, backend=BACKEND),
    ),
    "fastlc.kernels.max_pool2d_backward": (
        kernels.max_pool2d_backward,
        lambda: dict(grad_out=np.ones((1, 1, 2, 2)), indices=np.zeros((1, 1, 2, 2), dtype=np.int64),
                     input_shape=(1, 1, 4, 4), backend="numpy"),
        dict(grad_out=[TEXT, np.ones(4)], indices=[TEXT, np.zeros((1, 1, 2, 2)), np.full((1, 1, 2, 2), 99)],
             input_shape=["abc", (1, 1, 4), None], backend=BACKEND),
    ),
    "fastlc.kernels.avg_pool2d": (
        kernels.avg_pool2d,
        lambda: dict(x=_data((1, 1, 4, 4)), kernel_size=2, stride=2, padding=1, ceil_mode=False,
                     count_include_pad=True, backend="numpy"),
        dict(x=[TEXT, np.ones(4)], kernel_size=[0, 1.5, (2, 2, 2)], stride=[0, 1.5], padding=[-1, 2, 0.5],
             ceil_mode=FLAG, count_include_pad=FLAG, backend=BACKEND),
    ),
    "fastlc.kernels.avg_pool2d_backward": (
        kernels.avg_pool2d_backward,
        lambda: dict(grad_out=np.ones((1, 1, 2, 2)), input_shape=(1, 1, 4, 4), kernel_size=2, stride=2, padding=0,
                     ceil_mode=False, count_include_pad=True, backend="numpy"),
        dict(grad_out=[TEXT, np.ones(4)], input_shape=["abc", (1, 1, 4), None], kernel_size=[0, 1.5],
             stride=[0, 1.5], padding=[-1, 2], ceil_mode=FLAG, count_include_pad=FLAG, backend=BACKEND),
    ),
    "fastlc.kernels.pooled_size": (
        kernels.pooled_size,
        lambda: dict(size=4, kernel=2, stride=2, padding=1, ceil_mode=False),
        dict(size=count(0), kernel=count(0), stride=count(0), padding=count(-1, 2), ceil_mode=FLAG),
    ),
    # ---------------------------------------------------------------- optimizers
    **{
        f"fastlc.optim.{cls.__name__}": (
            cls,
            (lambda good: lambda: dict(params=[np.zeros(3)], lr=0.01, clip_value=1.0, max_grad_norm=1.0,
                                       backend="numpy", **good))(good),
            dict(params=[[], TEXT, [[0.0]], 5], lr=real(-1.0), clip_value=real(-1.0)[2:] + ["1"],
                 max_grad_norm=real(-1.0)[2:] + ["1"],
                 backend=BACKEND, **bad),
        )
        for cls, good, bad in [
            (optim.Adam, dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False,
                              decoupled_weight_decay=False),
             dict(betas=[(0.9,), (1.0, 0.999), (0.9, NAN), "ab", None], eps=real(0.0), weight_decay=real(-1.0),
                  amsgrad=FLAG, maximize=FLAG, decoupled_weight_decay=FLAG)),
            (optim.AdamW, dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, amsgrad=False, maximize=False),
             dict(betas=[(0.9,), (0.9, 1.0), "ab"], eps=real(0.0), weight_decay=real(-1.0), amsgrad=FLAG,
                  maximize=FLAG)),
            (optim.RMSprop, dict(alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                                 maximize=False, eps_inside_sqrt=False),
             dict(alpha=real(-0.1, 1.5), eps=real(0.0), weight_decay=real(-1.0), momentum=real(-0.1),
                  centered=FLAG, maximize=FLAG, eps_inside_sqrt=FLAG)),
            (optim.SGD, dict(momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=True, maximize=False),
             dict(momentum=real(-0.1), dampening=real(-0.1, 1.5), weight_decay=real(-1.0), nesterov=FLAG,
                  maximize=FLAG)),
            (optim.Adagrad, dict(lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                                 maximize=False, eps_inside_sqrt=False),
             dict(lr_decay=real(-1.0), weight_decay=real(-1.0), initial_accumulator_value=real(-1.0), eps=real(0.0),
                  maximize=FLAG, eps_inside_sqrt=FLAG)),
        ]
    },
    # ---------------------------------------------------------------- schedules and clipping
    "fastlc.optim.ConstantLR": (optim.ConstantLR, lambda: dict(lr=0.1), dict(lr=real(-1.0))),
    "fastlc.optim.StepDecayLR": (
        optim.StepDecayLR, lambda: dict(lr=0.1, step_size=2, gamma=0.5),
        dict(lr=real(-1.0), step_size=count(0), gamma=real(0.0, 1.5)),
    ),
    "fastlc.optim.ExponentialDecayLR": (
        optim.ExponentialDecayLR, lambda: dict(lr=0.1, gamma=0.5), dict(lr=real(-1.0), gamma=real(0.0, 1.5)),
    ),
    "fastlc.optim.InverseScalingLR": (
        optim.InverseScalingLR, lambda: dict(lr=0.1, power_t=0.5), dict(lr=real(-1.0), power_t=real(-0.5)),
    ),
    "fastlc.optim.LinearWarmup": (
        optim.LinearWarmup, lambda: dict(base=optim.ConstantLR(0.1), warmup_steps=3, start_factor=0.1),
        dict(base=["fast", None], warmup_steps=count(-1), start_factor=real(-0.1, 1.5)),
    ),
    "fastlc.optim.make_schedule": (
        optim.make_schedule,
        lambda: dict(name="step", lr=0.1, gamma=0.5, step_size=2, power_t=0.5, warmup_steps=2,
                     warmup_start_factor=0.1),
        dict(name=["cosine", None], lr=real(-1.0), gamma=["0.5", NAN, 0.0, 1.5], step_size=count(0),
             power_t=real(-0.5), warmup_steps=count(-1, None), warmup_start_factor=real(-0.1, 1.5)),
    ),
    "fastlc.optim.clip_grad_norm": (
        optim.clip_grad_norm,
        lambda: dict(grads=[np.ones(3)], max_norm=1.0, norm_type=2.0, error_if_nonfinite=True),
        dict(grads=[5, [TEXT], [np.ones(3, dtype=int)]], max_norm=real(-1.0), norm_type=["2", NAN, 0.0, -1.0],
             error_if_nonfinite=FLAG),
    ),
    "fastlc.optim.clip_grad_value": (
        optim.clip_grad_value, lambda: dict(grads=[np.ones(3)], clip_value=0.5),
        dict(grads=[5, [TEXT]], clip_value=real(-1.0)),
    ),
    "fastlc.optim.global_grad_norm": (
        optim.global_grad_norm, lambda: dict(grads=[np.ones(3)], norm_type=2.0),
        dict(grads=[5, [TEXT]], norm_type=["2", NAN, 0.0, -1.0]),
    ),
    # ---------------------------------------------------------------- utilities
    "fastlc.gradcheck.numerical_gradient": (
        fastlc.gradcheck.numerical_gradient,
        lambda: dict(f=lambda x: float((x ** 2).sum()), x=np.ones(3), h=1e-5),
        dict(f=[5, None], x=[[1.0], np.ones(3, dtype=int)], h=real(0.0, -1.0)),
    ),
    # ---------------------------------------------------------------- estimators (constructor + fit)
    "fastlc.SoftmaxClassifier": (
        _fit(SoftmaxClassifier), _estimator_valid,
        {**ESTIMATOR_BAD, "label_smoothing": [-0.1, 1.5, NAN, "a"], "sparse_update": ["sometimes", None, True]},
    ),
    "fastlc.LinearSVMClassifier": (
        _fit(LinearSVMClassifier), _estimator_valid,
        {**ESTIMATOR_BAD, "margin": [-1.0, INF, "a"], "squared_hinge": ["no", None],
         "sparse_update": ["sometimes", None, True]},
    ),
    "fastlc.LinearRegressor": (
        _fit(LinearRegressor), lambda: {**_estimator_valid(), "y": np.linspace(-1.0, 1.0, 30)},
        {**{k: v for k, v in ESTIMATOR_BAD.items() if k != "class_weight"}, "y": [None, np.full(30, NAN), np.array(["a"] * 30)],
         "loss": ["l2", None, "hinge"], "delta": [0.0, -1.0, INF, "a"], "margin": [-1.0, INF, "a"],
         "sparse_update": ["sometimes", None, True]},
    ),
    "fastlc.MLPClassifier": (
        _fit(MLPClassifier), lambda: {**_estimator_valid(), "hidden_layer_sizes": (3,)},
        {**ESTIMATOR_BAD, **MLP_BAD},
    ),
    "fastlc.MLPRegressor": (
        _fit(MLPRegressor), lambda: {**_estimator_valid(), "hidden_layer_sizes": (3,), "y": np.linspace(-1, 1, 30)},
        {**{k: v for k, v in ESTIMATOR_BAD.items() if k != "class_weight"}, **MLP_BAD,
         "y": [None, np.full(30, NAN), np.array(["a"] * 30)], "loss": ["epsilon_insensitive", None],
         "delta": [0.0, INF, "a"]},
    ),
}


# ------------------------------------------------------------------------ introspection


def public_callables():
    """{qualified name: object} of everything public, found from the packages, not from CASES."""
    found = {}
    for prefix, module in (("fastlc", fastlc), ("fastlc.kernels", kernels), ("fastlc.optim", optim)):
        for name in module.__all__:
            obj = getattr(module, name)
            if callable(obj) and not (isinstance(obj, type) and issubclass(obj, BaseException)):
                found[f"{prefix}.{name}"] = obj
    found["fastlc.gradcheck.numerical_gradient"] = fastlc.gradcheck.numerical_gradient
    found.pop("fastlc.kernels", None)
    # nothing to validate in a callable without parameters (available_backends, get_config)
    return {name: obj for name, obj in found.items() if name in EXCLUDED or public_parameters(obj)}


def public_parameters(obj):
    """Names of the parameters a user passes to ``obj``.

    Classes: their constructor, with ``**options`` expanded to the keyword-only
    parameters of the base class that receives them. Estimators: the
    constructor and ``fit``.
    """
    if isinstance(obj, type) and hasattr(obj, "fit"):
        names = list(inspect.signature(obj).parameters)
        names += [n for n in inspect.signature(obj.fit).parameters if n != "self"]
        return names
    signature = inspect.signature(obj)
    names = [n for n, p in signature.parameters.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    if isinstance(obj, type) and any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        # **options travel up to the first base whose constructor takes no **kwargs (Optimizer)
        base = next(c for c in obj.__mro__[1:] if not any(
            p.kind is p.VAR_KEYWORD for p in inspect.signature(c.__init__).parameters.values()))
        names += [n for n, p in inspect.signature(base.__init__).parameters.items() if p.kind is p.KEYWORD_ONLY]
    return names


def test_every_public_callable_has_an_entry():
    missing = sorted(set(public_callables()) - set(CASES) - set(EXCLUDED))
    assert not missing, f"public callables without a bad-value entry in CASES: {missing}"
    assert not set(CASES) - set(public_callables()), "CASES names something that is not public"


def _table_target(name):
    function = CASES[name][0]
    return getattr(function, "estimator", function)


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_public_parameter_has_bad_values(name):
    parameters = [p for p in public_parameters(_table_target(name)) if p not in NOT_HERE]
    missing = [p for p in parameters if not CASES[name][2].get(p)]
    assert not missing, f"{name}: parameters without bad values in CASES: {missing}"
    unknown = set(CASES[name][2]) - set(parameters)
    assert not unknown, f"{name}: CASES lists parameters it does not have: {sorted(unknown)}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_valid_call_succeeds(name):
    function, valid, _ = CASES[name]
    function(**valid())


def _names(parameter, message):
    # the parameter's name as a word: "x must ...", "The 'alpha' parameter", "betas[0] must", "seed=..."
    return re.search(rf"(?<![\w.]){re.escape(parameter)}(?!\w)", message) is not None


BAD_CALLS = [
    pytest.param(name, parameter, value, id=f"{name.rsplit('.', 1)[1]}-{parameter}={value!r:.20}")
    for name in sorted(CASES)
    for parameter, values in CASES[name][2].items()
    for value in values
]


@pytest.mark.parametrize("name, parameter, value", BAD_CALLS)
def test_bad_value_raises_naming_the_parameter(name, parameter, value):
    function, valid, _ = CASES[name]
    arguments = valid()
    arguments[parameter] = value
    with pytest.raises((TypeError, ValueError)) as error:
        function(**arguments)
    assert _names(parameter, str(error.value)), f"the message does not name {parameter!r}: {error.value}"


def test_normalization_eps_must_stay_positive_in_the_dtype():
    # eps = 1e-50 is 0 in float32: a constant channel would be divided by sqrt(0)
    x = np.ones((4, 3), np.float32)
    for call in (lambda: kernels.batch_norm(x, eps=1e-50), lambda: kernels.layer_norm(x, 3, eps=1e-50)):
        with pytest.raises(ValueError, match="eps=1e-50 does not fit in float32"):
            call()
    assert np.isfinite(kernels.layer_norm(x.astype(np.float64), 3, eps=1e-50)[0]).all()


def test_batch_norm_running_statistics_message_names_what_they_must_match():
    x = np.ones((3, 2))
    with pytest.raises(TypeError, match=r"running_mean must have dtype float64, as x's channels \(one value each, "
                                        r"in x's dtype\); got float32"):
        kernels.batch_norm(x, running_mean=np.zeros(2, np.float32), running_var=np.ones(2), training=False)


def test_numerical_gradient_names_a_bad_x():
    read_only = np.ones(3)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="x must be writeable"):
        fastlc.gradcheck.numerical_gradient(lambda z: z.sum(), read_only)
    for dtype in (np.int64, np.float16):
        with pytest.raises(TypeError, match=f"x must be a float32 or float64 ndarray; got dtype {np.dtype(dtype)}"):
            fastlc.gradcheck.numerical_gradient(lambda z: z.sum(), np.ones(3, dtype))
    for value in [(1.0, 2.0), np.ones(2), True]:  # a fastlc loss returns (loss, grad): f must pick the loss
        with pytest.raises(TypeError, match="f must return a scalar"):
            fastlc.gradcheck.numerical_gradient(lambda z, v=value: v, np.ones(2))


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.array([1.0, 2.0, 3.0])
    calls = []

    def f(z):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("f failed")
        return float(z.sum())

    with pytest.raises(RuntimeError, match="f failed"):
        fastlc.gradcheck.numerical_gradient(f, x)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])


def test_numerical_gradient_divides_by_the_step_taken():
    # x + h and x - h are stored in x's dtype: dividing by the nominal 2 h made the float32 gradient of
    # x^2 at 100 152.6 instead of 200
    square = lambda z: float((z.astype(np.float64) ** 2).sum())  # noqa: E731
    for value in (1.0, 100.0):
        np.testing.assert_allclose(fastlc.gradcheck.numerical_gradient(square, np.array([value], np.float32)),
                                   [2 * value], rtol=1e-6)
    with pytest.raises(ValueError, match=r"h=1e-05 is below the resolution of x at x\[0\]"):
        fastlc.gradcheck.numerical_gradient(square, np.array([300.0], np.float32))


def test_numerical_gradient_of_any_layout_and_of_nothing():
    square = lambda z: float((np.asarray(z) ** 2).sum())  # noqa: E731
    fortran = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    np.testing.assert_allclose(fastlc.gradcheck.numerical_gradient(square, fortran), 2 * fortran)
    strided = np.arange(6.0)[::2]
    np.testing.assert_allclose(fastlc.gradcheck.numerical_gradient(square, strided), 2 * strided)
    assert fastlc.gradcheck.numerical_gradient(square, np.zeros((2, 0))).shape == (2, 0)
