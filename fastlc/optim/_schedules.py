r"""Learning-rate schedules: small picklable callables ``schedule(t) -> lr``.

``t`` counts what the caller decides: updates (an optimizer calls
``schedule(step - 1)`` before its step number ``step``) or epochs (an
estimator). It starts at 0, where every schedule but the warm-up returns the
base learning rate.

=============== ============================================ =========================
schedule        lr(t)                                        like
=============== ============================================ =========================
constant        lr                                           ``ConstantLR``
step decay      lr * gamma ** (t // step_size)               ``torch StepLR``
exponential     lr * gamma ** t                              ``torch ExponentialLR``
inverse scaling lr / (t + 1) ** power_t                      scikit-learn "invscaling"
linear warm-up  base(t) * (f0 + (1 - f0) t / warmup_steps),  ``torch LinearLR``
                for t < warmup_steps, then base(t)
=============== ============================================ =========================
"""
import numbers
from dataclasses import dataclass

from .._validation import MAX_T, check_choice, check_int, check_scalar


def _check_count(value, name, low):
    return check_int(value, name, low=low)


def _check_t(t):
    return check_int(t, "t", low=0, high=MAX_T)


class LRSchedule:
    """Base class: ``schedule(t)`` returns the learning rate for count ``t >= 0``."""

    def __call__(self, t):  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class ConstantLR(LRSchedule):
    """``lr(t) = lr``.

    Parameters
    ----------
    lr : float >= 0
    """

    lr: float

    def __post_init__(self):
        object.__setattr__(self, "lr", check_scalar(self.lr, "lr", low=0.0))

    def __call__(self, t):
        _check_t(t)
        return self.lr


@dataclass(frozen=True)
class StepDecayLR(LRSchedule):
    """``lr(t) = lr * gamma ** (t // step_size)``: multiply by gamma every ``step_size`` counts.

    Parameters
    ----------
    lr : float >= 0
    step_size : int >= 1
    gamma : float in (0, 1], default=0.1
    """

    lr: float
    step_size: int
    gamma: float = 0.1

    def __post_init__(self):
        object.__setattr__(self, "lr", check_scalar(self.lr, "lr", low=0.0))
        object.__setattr__(self, "step_size", _check_count(self.step_size, "step_size", 1))
        object.__setattr__(self, "gamma", check_scalar(self.gamma, "gamma", low=0.0, high=1.0, low_inclusive=False))

    def __call__(self, t):
        return self.lr * self.gamma ** (_check_t(t) // self.step_size)


@dataclass(frozen=True)
class ExponentialDecayLR(LRSchedule):
    """``lr(t) = lr * gamma ** t``.

    Parameters
    ----------
    lr : float >= 0
    gamma : float in (0, 1]
    """

    lr: float
    gamma: float

    def __post_init__(self):
        object.__setattr__(self, "lr", check_scalar(self.lr, "lr", low=0.0))
        object.__setattr__(self, "gamma", check_scalar(self.gamma, "gamma", low=0.0, high=1.0, low_inclusive=False))

    def __call__(self, t):
        return self.lr * self.gamma ** _check_t(t)


@dataclass(frozen=True)
class InverseScalingLR(LRSchedule):
    """``lr(t) = lr / (t + 1) ** power_t`` (scikit-learn's "invscaling", whose count starts at 1).

    Parameters
    ----------
    lr : float >= 0
    power_t : float >= 0, default=0.5
    """

    lr: float
    power_t: float = 0.5

    def __post_init__(self):
        object.__setattr__(self, "lr", check_scalar(self.lr, "lr", low=0.0))
        object.__setattr__(self, "power_t", check_scalar(self.power_t, "power_t", low=0.0))

    def __call__(self, t):
        return self.lr / (_check_t(t) + 1) ** self.power_t


@dataclass(frozen=True)
class LinearWarmup(LRSchedule):
    """Ramp a schedule up linearly over the first ``warmup_steps`` counts.

    ``lr(t) = base(t) * (start_factor + (1 - start_factor) * t / warmup_steps)``
    for ``t < warmup_steps``, then ``base(t)``.

    Parameters
    ----------
    base : LRSchedule or float
        The schedule to ramp up; a float means a constant rate.
    warmup_steps : int >= 0
        0 disables the warm-up.
    start_factor : float in [0, 1], default=0.1
        Fraction of the base rate used at t = 0.
    """

    base: LRSchedule
    warmup_steps: int
    start_factor: float = 0.1

    def __post_init__(self):
        if isinstance(self.base, numbers.Real) and not isinstance(self.base, bool):
            object.__setattr__(self, "base", ConstantLR(self.base))
        if not callable(self.base):
            raise TypeError(f"base must be an LRSchedule or a float; got {self.base!r}")
        object.__setattr__(self, "warmup_steps", _check_count(self.warmup_steps, "warmup_steps", 0))
        object.__setattr__(
            self, "start_factor", check_scalar(self.start_factor, "start_factor", low=0.0, high=1.0)
        )

    def __call__(self, t):
        t = _check_t(t)
        lr = self.base(t)
        if t < self.warmup_steps:
            lr *= self.start_factor + (1.0 - self.start_factor) * t / self.warmup_steps
        return lr


SCHEDULES = ("constant", "step", "exponential", "invscaling")


def make_schedule(name, lr, *, gamma=None, step_size=None, power_t=0.5, warmup_steps=0, warmup_start_factor=0.1):
    """Build a schedule from an estimator-style name and parameters.

    Parameters
    ----------
    name : {"constant", "step", "exponential", "invscaling"}
    lr : float >= 0
        The base (initial) learning rate.
    gamma : float in (0, 1], optional
        Decay factor of "step" (default 0.1) and "exponential" (required).
    step_size : int >= 1, optional
        Period of "step" (required there).
    power_t : float >= 0, default=0.5
        Exponent of "invscaling".
    warmup_steps : int >= 0, default=0
        When > 0, wrap the schedule in :class:`LinearWarmup`.
    warmup_start_factor : float in [0, 1], default=0.1

    Returns
    -------
    schedule : LRSchedule
    """
    check_choice(name, "name", SCHEDULES)
    # every argument is checked, also those the chosen schedule ignores
    lr = check_scalar(lr, "lr", low=0.0)
    gamma = None if gamma is None else check_scalar(gamma, "gamma", low=0.0, high=1.0, low_inclusive=False)
    step_size = None if step_size is None else _check_count(step_size, "step_size", 1)
    power_t = check_scalar(power_t, "power_t", low=0.0)
    warmup_steps = _check_count(warmup_steps, "warmup_steps", 0)
    warmup_start_factor = check_scalar(warmup_start_factor, "warmup_start_factor", low=0.0, high=1.0)
    if name == "constant":
        schedule = ConstantLR(lr)
    elif name == "step":
        if step_size is None:
            raise ValueError("the 'step' schedule needs step_size (decay every step_size counts)")
        schedule = StepDecayLR(lr, step_size, 0.1 if gamma is None else gamma)
    elif name == "exponential":
        if gamma is None:
            raise ValueError("the 'exponential' schedule needs gamma (the factor per count)")
        schedule = ExponentialDecayLR(lr, gamma)
    else:
        schedule = InverseScalingLR(lr, power_t)
    if warmup_steps:
        schedule = LinearWarmup(schedule, warmup_steps, warmup_start_factor)
    return schedule
