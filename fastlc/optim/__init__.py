"""Optimizers over lists of NumPy arrays, learning-rate schedules and gradient clipping.

The per-array update is one fused kernel call (``fastlc.kernels.*_step``);
this package adds the state, the step counter, schedules and clipping.
"""
from ._optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop
from ._clip import clip_grad_norm, clip_grad_value, global_grad_norm
from ._schedules import (
    SCHEDULES,
    ConstantLR,
    ExponentialDecayLR,
    InverseScalingLR,
    LinearWarmup,
    LRSchedule,
    StepDecayLR,
    make_schedule,
)

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "SCHEDULES",
    "ConstantLR",
    "ExponentialDecayLR",
    "InverseScalingLR",
    "LRSchedule",
    "LinearWarmup",
    "StepDecayLR",
    "clip_grad_norm",
    "clip_grad_value",
    "global_grad_norm",
    "make_schedule",
]
