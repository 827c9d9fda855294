"""Public activations and their derivatives (PyTorch's ``torch.nn.functional`` semantics).

Each ``<name>(x, ...)`` returns f(x) and ``<name>_backward(grad_out, x, ...)`` the
gradient with respect to x, ``grad_out * f'(x)``, element-wise on arrays of any
shape. ``out=`` may be one of the inputs (in-place use): every element is read
before it is written. Other overlaps are rejected.
"""
import numpy as np

from .._dispatch import get_kernel, resolve_backend
from .._validation import check_choice, check_fits, check_float_array, check_n_threads, check_out, check_scalar

_COMMON = """
    backend : {"auto", "naive", "numpy", "numba", "cython"}, default="auto"
    n_threads : int, optional
        Threads of the compiled backends; None: as many as the process is allowed.
    out : ndarray of x's shape and dtype, optional
        C-contiguous array the result is written into; may be x itself (or grad_out).
"""


def _check_out(out, like, inputs):
    # element-wise: out may be the input itself (in-place use)
    return check_out(out, like.shape, like.dtype, inputs=inputs, may_alias=True)


#: The activations whose first parameter scales the result (a slope, alpha, softplus' divisor beta), by
#: name: it must fit in x's dtype (see check_fits); a softplus threshold may overflow to inf (same meaning).
_FITTED_PARAMETER = {"leaky_relu": "negative_slope", "elu": "alpha", "softplus": "beta"}


def _kernel_scalars(name, a, b, dtype):
    """(a, b) as the kernels take them: scalars of the data's dtype."""
    if name in _FITTED_PARAMETER:
        check_fits(a, _FITTED_PARAMETER[name], dtype)
    with np.errstate(over="ignore"):  # b, softplus' threshold, may become inf: the same "never"
        return dtype.type(a), dtype.type(b)


def _forward(name, x, a, b, backend, n_threads, out):
    x = check_float_array(x, "x")
    n_threads = check_n_threads(n_threads)
    kernel = get_kernel(name, resolve_backend(backend, name))
    result = _check_out(out, x, {"x": x})
    kernel(x.reshape(-1), *_kernel_scalars(name, a, b, x.dtype), result.reshape(-1), n_threads)
    return result


def _backward(name, grad_out, x, a, b, backend, n_threads, out):
    x = check_float_array(x, "x")
    grad_out = check_float_array(grad_out, "grad_out", dtype=x.dtype)
    if grad_out.shape != x.shape:
        raise ValueError(f"grad_out must have the shape of x {x.shape}; got {grad_out.shape}")
    n_threads = check_n_threads(n_threads)
    scalars = _kernel_scalars(name, a, b, x.dtype)
    name = f"{name}_backward"
    kernel = get_kernel(name, resolve_backend(backend, name))
    result = _check_out(out, x, {"x": x, "grad_out": grad_out})
    kernel(grad_out.reshape(-1), x.reshape(-1), *scalars, result.reshape(-1), n_threads)
    return result


def _pair(name, formula, derivative, params_doc="", check=None):
    """The public forward and backward functions of one activation (one docstring source)."""
    forward_doc = f"""{formula} element-wise (``F.{name}``).

    Parameters
    ----------
    x : array_like of any shape, float32 or float64 (the result keeps the dtype){params_doc}{_COMMON}
    Returns
    -------
    y : ndarray of x's shape
    """
    backward_doc = f"""Gradient of ``{name}`` with respect to x: ``grad_out * f'(x)``, {derivative}.

    Parameters
    ----------
    grad_out : array_like of x's shape and dtype
        Gradient with respect to the activation's output.
    x : array_like of any shape, float32 or float64
        The activation's input.{params_doc}{_COMMON}
    Returns
    -------
    grad_x : ndarray of x's shape
    """
    return forward_doc, backward_doc



_RELU = _pair("relu", "``max(x, 0)``", "0 for x <= 0 (also at 0, as PyTorch)")
_LEAKY = _pair("leaky_relu", "``x`` for x > 0, else ``negative_slope * x``", "``negative_slope`` for x <= 0",
               "\n    negative_slope : float, default=0.01")
_ELU = _pair("elu", "``x`` for x > 0, else ``alpha * (exp(x) - 1)``", "``alpha * exp(x)`` for x <= 0",
             "\n    alpha : float, default=1.0")
_GELU = _pair("gelu", "``x * Phi(x)`` (exact, with erf) or its tanh approximation",
              "of the exact or the tanh form (the tanh form's is NaN, as PyTorch's, where x^2 overflows: "
              "|x| > 1.8e19 in float32)",
              '\n    approximate : {"none", "tanh"}, default="none"')
_SIGMOID = _pair("sigmoid", "``1 / (1 + exp(-x))``", "``s (1 - s)``")
_TANH = _pair("tanh", "``tanh(x)``", "``1 - tanh(x)^2``")
_SOFTPLUS = _pair("softplus", "``log(1 + exp(beta x)) / beta``, and x where ``beta x > threshold``",
                  "``sigmoid(beta x)`` (1 above the threshold)",
                  "\n    beta : float, default=1.0\n    threshold : float, default=20.0\n"
                  "        inf: never linear (PyTorch takes it too)")
_SILU = _pair("silu", "``x * sigmoid(x)``", "``s (1 + x (1 - s))``")


def relu(x, *, backend="auto", n_threads=None, out=None):
    return _forward("relu", x, 0.0, 0.0, backend, n_threads, out)


def relu_backward(grad_out, x, *, backend="auto", n_threads=None, out=None):
    return _backward("relu", grad_out, x, 0.0, 0.0, backend, n_threads, out)


def leaky_relu(x, negative_slope=0.01, *, backend="auto", n_threads=None, out=None):
    a = check_scalar(negative_slope, "negative_slope")
    return _forward("leaky_relu", x, a, 0.0, backend, n_threads, out)


def leaky_relu_backward(grad_out, x, negative_slope=0.01, *, backend="auto", n_threads=None, out=None):
    a = check_scalar(negative_slope, "negative_slope")
    return _backward("leaky_relu", grad_out, x, a, 0.0, backend, n_threads, out)


def elu(x, alpha=1.0, *, backend="auto", n_threads=None, out=None):
    return _forward("elu", x, check_scalar(alpha, "alpha"), 0.0, backend, n_threads, out)


def elu_backward(grad_out, x, alpha=1.0, *, backend="auto", n_threads=None, out=None):
    return _backward("elu", grad_out, x, check_scalar(alpha, "alpha"), 0.0, backend, n_threads, out)


def _gelu_kernel(approximate):
    return "gelu_tanh" if check_choice(approximate, "approximate", ("none", "tanh")) == "tanh" else "gelu"


def gelu(x, approximate="none", *, backend="auto", n_threads=None, out=None):
    return _forward(_gelu_kernel(approximate), x, 0.0, 0.0, backend, n_threads, out)


def gelu_backward(grad_out, x, approximate="none", *, backend="auto", n_threads=None, out=None):
    return _backward(_gelu_kernel(approximate), grad_out, x, 0.0, 0.0, backend, n_threads, out)


def sigmoid(x, *, backend="auto", n_threads=None, out=None):
    return _forward("sigmoid", x, 0.0, 0.0, backend, n_threads, out)


def sigmoid_backward(grad_out, x, *, backend="auto", n_threads=None, out=None):
    return _backward("sigmoid", grad_out, x, 0.0, 0.0, backend, n_threads, out)


def tanh(x, *, backend="auto", n_threads=None, out=None):
    return _forward("tanh", x, 0.0, 0.0, backend, n_threads, out)


def tanh_backward(grad_out, x, *, backend="auto", n_threads=None, out=None):
    return _backward("tanh", grad_out, x, 0.0, 0.0, backend, n_threads, out)


def _softplus_params(beta, threshold):
    beta = check_scalar(beta, "beta")
    if beta == 0:
        raise ValueError("beta must not be 0 (softplus divides by it)")
    # threshold=inf: never linear (PyTorch takes it too)
    return beta, check_scalar(threshold, "threshold", allow_inf=True)


def softplus(x, beta=1.0, threshold=20.0, *, backend="auto", n_threads=None, out=None):
    return _forward("softplus", x, *_softplus_params(beta, threshold), backend, n_threads, out)


def softplus_backward(grad_out, x, beta=1.0, threshold=20.0, *, backend="auto", n_threads=None, out=None):
    return _backward("softplus", grad_out, x, *_softplus_params(beta, threshold), backend, n_threads, out)


def silu(x, *, backend="auto", n_threads=None, out=None):
    return _forward("silu", x, 0.0, 0.0, backend, n_threads, out)


def silu_backward(grad_out, x, *, backend="auto", n_threads=None, out=None):
    return _backward("silu", grad_out, x, 0.0, 0.0, backend, n_threads, out)


for _docs, _names in ((_RELU, "relu"), (_LEAKY, "leaky_relu"), (_ELU, "elu"), (_GELU, "gelu"),
                      (_SIGMOID, "sigmoid"), (_TANH, "tanh"), (_SOFTPLUS, "softplus"), (_SILU, "silu")):
    globals()[_names].__doc__, globals()[f"{_names}_backward"].__doc__ = _docs

ACTIVATION_FUNCTIONS = ("relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softplus", "silu")
