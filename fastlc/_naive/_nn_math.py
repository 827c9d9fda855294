"""math functions for the naive loops that behave like IEEE / C (inf and NaN instead of exceptions)."""
import math


def exp(x):
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def log(x):
    if x > 0 or x != x:
        return math.log(x)
    return -math.inf if x == 0 else math.nan


def log1p(x):
    if x > -1 or x != x:
        return math.log1p(x)
    return -math.inf if x == -1 else math.nan


def expm1(x):
    try:
        return math.expm1(x)
    except OverflowError:
        return math.inf


def sign(d):
    """1, -1, 0 (at +-0), NaN for NaN: the subgradient of |d| that PyTorch uses, except at NaN, where
    torch.sign gives 0 and fastlc lets the NaN through (a NaN difference gives a NaN gradient, not 0)."""
    if d > 0:
        return 1.0
    if d < 0:
        return -1.0
    return d * 0.0


def sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + exp(-x))
    z = exp(x)
    return z / (1.0 + z)
