"""Reference activations and their derivatives, one element at a time (PyTorch's formulas).

Private signatures shared by every backend::

    name(x, a, b, out, n_threads)                         # out = f(x)
    name_backward(grad_out, x, a, b, grad_in, n_threads)  # grad_in = grad_out * f'(x)

on flat arrays; ``a`` and ``b`` are the activation's parameters (negative_slope;
alpha; beta and threshold of softplus), unused otherwise. Comparisons are written
as PyTorch's kernels (aten/src/ATen/native/cpu/Activation.cpp) so that NaN takes
the same branch.
"""
import math

from ._nn_math import exp, expm1, log1p, sigmoid as _sigmoid

SQRT_HALF = math.sqrt(0.5)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
GELU_TANH_BETA = math.sqrt(2.0 / math.pi)
GELU_TANH_KAPPA = 0.044715


def relu_point(x, a, b):
    return x if not x <= 0 else 0.0  # NaN stays NaN


def relu_backward_point(g, x, a, b):
    return 0.0 if x <= 0 else g  # derivative 0 at 0 (PyTorch's threshold_backward)


def leaky_relu_point(x, slope, b):
    return x if x > 0 else x * slope


def leaky_relu_backward_point(g, x, slope, b):
    return g if x > 0 else g * slope


def elu_point(x, alpha, b):
    return alpha * expm1(x) if x <= 0 else x


def elu_backward_point(g, x, alpha, b):
    return g * alpha * exp(x) if x <= 0 else g


def gelu_point(x, a, b):
    return 0.5 * x * (1.0 + math.erf(x * SQRT_HALF))


def gelu_backward_point(g, x, a, b):
    cdf = 0.5 * (1.0 + math.erf(x * SQRT_HALF))
    pdf = INV_SQRT_2PI * exp(-0.5 * x * x)
    return g * (cdf + x * pdf)


def gelu_tanh_point(x, a, b):
    inner = GELU_TANH_BETA * (x + GELU_TANH_KAPPA * x * x * x)
    return 0.5 * x * (1.0 + math.tanh(inner))


def gelu_tanh_backward_point(g, x, a, b):
    # x^2 first, as the other backends: NaN (0 * inf) where it overflows, as PyTorch. In Python floats
    # (float64) that is beyond |x| = 1.3e154 for float32 data too, where float32 kernels overflow at 1.8e19.
    x2 = x * x
    inner = GELU_TANH_BETA * (x + GELU_TANH_KAPPA * x * x2)
    t = math.tanh(inner)
    left_derivative = 0.5 * (1.0 + t)
    right_derivative = 0.5 * x * (1.0 - t * t) * GELU_TANH_BETA * (1.0 + 3.0 * GELU_TANH_KAPPA * x2)
    return g * (left_derivative + right_derivative)


def sigmoid_point(x, a, b):
    return _sigmoid(x)


def sigmoid_backward_point(g, x, a, b):
    s = _sigmoid(x)
    return g * s * (1.0 - s)


def tanh_point(x, a, b):
    return math.tanh(x)


def tanh_backward_point(g, x, a, b):
    t = math.tanh(x)
    return g * (1.0 - t * t)


def softplus_point(x, beta, threshold):
    z = x * beta
    # log(1 + exp(z)) as max(z, 0) + log1p(exp(-|z|)): the same value without overflow, so that a threshold
    # above exp's range gives z / beta instead of inf (PyTorch's log1p(exp(z)) overflows there), as the
    # compiled backends do
    return x if z > threshold else ((z if z > 0 else 0.0) + log1p(exp(-abs(z)))) / beta


def softplus_backward_point(g, x, beta, threshold):
    z = x * beta
    return g if z > threshold else g * _sigmoid(z)


def silu_point(x, a, b):
    return x * _sigmoid(x)


def silu_backward_point(g, x, a, b):
    s = _sigmoid(x)
    return g * s * (1.0 + x * (1.0 - s))


def _forward(point, x, a, b, out, n_threads):
    for i in range(x.shape[0]):
        out[i] = point(float(x[i]), a, b)


def _backward(point, grad_out, x, a, b, grad_in, n_threads):
    for i in range(x.shape[0]):
        grad_in[i] = point(float(grad_out[i]), float(x[i]), a, b)


#: The activations, in the order every backend lists them (the op codes of the compiled ones).
ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "gelu_tanh", "sigmoid", "tanh", "softplus", "silu")


def _make(name):
    forward, backward = globals()[f"{name}_point"], globals()[f"{name}_backward_point"]

    def run_forward(x, a, b, out, n_threads):
        _forward(forward, x, a, b, out, n_threads)

    def run_backward(grad_out, x, a, b, grad_in, n_threads):
        _backward(backward, grad_out, x, a, b, grad_in, n_threads)

    return run_forward, run_backward


for _name in ACTIVATIONS:
    globals()[_name], globals()[f"{_name}_backward"] = _make(_name)
