"""Activations and their derivatives as NumPy expressions (same private signatures as naive)."""
import numpy as np
from scipy.special import erf

from fastlc._naive._activations import ACTIVATIONS, GELU_TANH_BETA, GELU_TANH_KAPPA, INV_SQRT_2PI, SQRT_HALF


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def relu(x, a, b):
    return np.where(x <= 0, 0, x)


def relu_backward(g, x, a, b):
    return np.where(x <= 0, 0, g)


def leaky_relu(x, slope, b):
    return np.where(x > 0, x, x * slope)


def leaky_relu_backward(g, x, slope, b):
    return np.where(x > 0, g, g * slope)


def elu(x, alpha, b):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(x <= 0, alpha * np.expm1(x), x)


def elu_backward(g, x, alpha, b):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(x <= 0, g * alpha * np.exp(x), g)


def gelu(x, a, b):
    return 0.5 * x * (1 + erf(x * SQRT_HALF))


def gelu_backward(g, x, a, b):
    cdf = 0.5 * (1 + erf(x * SQRT_HALF))
    pdf = INV_SQRT_2PI * np.exp(-0.5 * x * x)
    return g * (cdf + x * pdf)


def gelu_tanh(x, a, b):
    with np.errstate(over="ignore"):  # x^3 of a huge x: inf, and tanh(+-inf) = +-1 is the limit
        return 0.5 * x * (1 + np.tanh(GELU_TANH_BETA * (x + GELU_TANH_KAPPA * x * x * x)))


def gelu_tanh_backward(g, x, a, b):
    # x^2 of a huge x overflows: as the compiled backends and PyTorch, NaN (0 * inf) where x * x does, beyond
    # |x| = 1.8e19 in float32 (x^2 first: (3 kappa x) x overflowed only from 5e19, giving 1 in between),
    # without NumPy's warnings
    with np.errstate(over="ignore", invalid="ignore"):
        x2 = x * x
        t = np.tanh(GELU_TANH_BETA * (x + GELU_TANH_KAPPA * x * x2))
        right = 0.5 * x * (1 - t * t) * GELU_TANH_BETA * (1 + 3 * GELU_TANH_KAPPA * x2)
        return g * (0.5 * (1 + t) + right)


def sigmoid(x, a, b):
    return _sigmoid(x)


def sigmoid_backward(g, x, a, b):
    s = _sigmoid(x)
    return g * s * (1 - s)


def tanh(x, a, b):
    return np.tanh(x)


def tanh_backward(g, x, a, b):
    t = np.tanh(x)
    return g * (1 - t * t)


def softplus(x, beta, threshold):
    z = x * beta
    # max(z, 0) + log1p(exp(-|z|)): log(1 + exp(z)) without overflow (see the naive softplus_point)
    return np.where(z > threshold, x, (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) / beta)


def softplus_backward(g, x, beta, threshold):
    z = x * beta
    return np.where(z > threshold, g, g * _sigmoid(z))


def silu(x, a, b):
    return x * _sigmoid(x)


def silu_backward(g, x, a, b):
    s = _sigmoid(x)
    return g * s * (1 + x * (1 - s))


def _make(name):
    forward, backward = globals()[name], globals()[f"{name}_backward"]

    def run_forward(x, a, b, out, n_threads):
        with np.errstate(invalid="ignore"):
            out[...] = forward(x, x.dtype.type(a), x.dtype.type(b))

    def run_backward(grad_out, x, a, b, grad_in, n_threads):
        with np.errstate(invalid="ignore"):
            grad_in[...] = backward(grad_out, x, x.dtype.type(a), x.dtype.type(b))

    return run_forward, run_backward


for _name in ACTIVATIONS:
    globals()[_name], globals()[f"{_name}_backward"] = _make(_name)
