"""Backend selection: one table from (kernel, backend) to an implementation.

Every kernel exists in four backends with the same private signature (inputs,
weights, outputs, then ``n_threads``). Backends are imported lazily, the first
time a kernel of theirs is called, so ``import fastlc`` does not pay for Numba.
"""
import importlib
import importlib.util
import warnings
from functools import lru_cache

#: The backends, in the order tables and reports list them.
BACKENDS = ("naive", "numpy", "numba", "cython")

#: Where each backend's kernel modules live.
BACKEND_PACKAGES = {
    "naive": "fastlc._naive",
    "numpy": "fastlc._numpy",
    "numba": "fastlc._numba",
    "cython": "fastlc._cython",
}

#: Which module (the same name in every backend package) holds each kernel.
KERNEL_MODULES = {
    "multiclass_hinge": "_losses",
    "cross_entropy_hard": "_losses",
    "cross_entropy_soft": "_losses",
    "log_softmax": "_losses",
    "softmax": "_losses",
    "adam_step": "_optim",
    "rmsprop_step": "_optim",
    "sgd_step": "_optim",
    "adagrad_step": "_optim",
    "max_pool2d": "_pooling",
    "max_pool2d_backward": "_pooling",
    "avg_pool2d": "_pooling",
    "avg_pool2d_backward": "_pooling",
    "linear_cross_entropy_gradient": "_linear",
    "linear_hinge_gradient": "_linear",
    "linear_regression_gradient": "_linear",
    # fused gradients on CSR input (fastlc.linear_model._sparse) and the lazy steps' row kernels
    "sparse_linear_cross_entropy_gradient": "_sparse_linear",
    "sparse_linear_hinge_gradient": "_sparse_linear",
    "sparse_linear_regression_gradient": "_sparse_linear",
    "sparse_adagrad_rows": "_sparse_linear",
    "sparse_l1_catch_up": "_sparse_linear",
    "sparse_l1_truncate_all": "_sparse_linear",
    "sparse_gather_rows": "_sparse_linear",
    "sparse_scatter_rows": "_sparse_linear",
}

#: What ``backend="auto"`` picks, first available wins. Cython first: it has
#: no JIT latency and is at least as fast as Numba on the kernels measured in
#: benchmarks/. A kernel may override the order in ``AUTO_ORDER_OVERRIDES``.
AUTO_ORDER = ("cython", "numba", "numpy")
AUTO_ORDER_OVERRIDES = {name: ("numba",) for name in ("sparse_linear_cross_entropy_gradient",
                                                      "sparse_linear_hinge_gradient",
                                                      "sparse_linear_regression_gradient",
                                                      "sparse_adagrad_rows", "sparse_l1_catch_up",
                                                      "sparse_l1_truncate_all", "sparse_gather_rows",
                                                      "sparse_scatter_rows")}


@lru_cache(maxsize=None)
def _backend_present(backend):
    if backend in ("naive", "numpy"):
        return True
    if backend == "numba":
        return importlib.util.find_spec("numba") is not None
    if backend == "cython":
        try:
            importlib.import_module("fastlc._cython._losses")
        except ImportError:
            # pip shows the build's own warning only with -v: say it here, once
            if "error" in _cython_build_info():
                warnings.warn(_why_missing("cython"), stacklevel=4)
            return False
        return True
    return False


def _cython_build_info():
    from fastlc._cython import build_info

    return build_info()


def _why_missing(backend):
    """Say why ``backend`` is not available, for messages."""
    if backend == "numba":
        return "Numba is not installed (pip install numba)"
    info = _cython_build_info()
    if "error" in info:
        return (
            f"fastlc's Cython kernels failed to build when fastlc was installed ({info['error']}); "
            "the 'numba' and 'numpy' backends work. For the 'cython' backend, reinstall with a "
            "working C compiler (pip install -v shows its messages)"
        )
    try:
        importlib.import_module("fastlc._cython._losses")
    except ImportError as error:
        return f"fastlc's Cython kernels cannot be imported ({error})"
    return "it is not installed"


def available_backends():
    """Return the backends usable in this installation.

    Returns
    -------
    backends : tuple of str
        A subset of ``("naive", "numpy", "numba", "cython")``, in that order.
        ``"numba"`` is missing when Numba is not installed and ``"cython"``
        when the compiled extensions were not built.
    """
    return tuple(b for b in BACKENDS if _backend_present(b))


def resolve_backend(backend, kernel):
    """Turn a user's ``backend=`` value into a concrete, present backend name."""
    if not isinstance(backend, str) or backend not in BACKENDS + ("auto",):
        raise ValueError(
            f"backend={backend!r} is not valid; choose one of "
            f"{', '.join(repr(b) for b in BACKENDS + ('auto',))}"
        )
    if backend == "auto":
        for candidate in AUTO_ORDER_OVERRIDES.get(kernel, AUTO_ORDER):
            if _backend_present(candidate):
                return candidate
        return "numpy"
    if not _backend_present(backend):
        raise ValueError(
            f"backend={backend!r} is not available in this installation: {_why_missing(backend)}. "
            f"Available: {', '.join(available_backends())}"
        )
    return backend


@lru_cache(maxsize=None)
def get_kernel(kernel, backend):
    """Return the private implementation of ``kernel`` in a concrete ``backend``."""
    module = importlib.import_module(f"{BACKEND_PACKAGES[backend]}.{KERNEL_MODULES[kernel]}")
    return getattr(module, kernel)

# Neural-network building blocks (issue 13).
KERNEL_MODULES.update({
    name: "_nn_losses"
    for name in ("mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
                 "binary_cross_entropy_with_logits", "nll_loss")
})
KERNEL_MODULES.update({
    f"{name}{suffix}": "_activations"
    for name in ("relu", "leaky_relu", "elu", "gelu", "gelu_tanh", "sigmoid", "tanh", "softplus", "silu")
    for suffix in ("", "_backward")
})
KERNEL_MODULES.update({"dropout": "_dropout", "dropout_backward": "_dropout"})
KERNEL_MODULES.update({
    name: "_normalization" for name in ("batch_norm", "batch_norm_backward", "layer_norm", "layer_norm_backward")
})
