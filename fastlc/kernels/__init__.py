"""fastlc kernels: validated public functions over four interchangeable backends.

Every function takes ``backend=`` ("auto", "naive", "numpy", "numba", "cython")
and, where it runs in parallel, ``n_threads=`` (None = what the process is allowed:
the CPU affinity and container quota, ``OMP_NUM_THREADS`` / ``NUMBA_NUM_THREADS``,
``threadpoolctl.threadpool_limits`` and ``fastlc.set_config`` / ``config_context`` all cap it).
"""
from .._dispatch import available_backends
from ._losses import log_softmax, multiclass_hinge, softmax, softmax_cross_entropy
from ._optim import adagrad_step, adam_step, rmsprop_step, sgd_step
from ._pooling import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward, pooled_size

__all__ = [
    "adagrad_step",
    "adam_step",
    "available_backends",
    "avg_pool2d",
    "avg_pool2d_backward",
    "log_softmax",
    "max_pool2d",
    "max_pool2d_backward",
    "multiclass_hinge",
    "pooled_size",
    "rmsprop_step",
    "sgd_step",
    "softmax",
    "softmax_cross_entropy",
]

from ._nn_losses import (  # noqa: E402  (neural-network building blocks, issue 13)
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)

__all__ += [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "huber_loss",
    "l1_loss",
    "mse_loss",
    "nll_loss",
    "smooth_l1_loss",
]

from ._activations import (  # noqa: E402
    elu,
    elu_backward,
    gelu,
    gelu_backward,
    leaky_relu,
    leaky_relu_backward,
    relu,
    relu_backward,
    sigmoid,
    sigmoid_backward,
    silu,
    silu_backward,
    softplus,
    softplus_backward,
    tanh,
    tanh_backward,
)

__all__ += [
    "elu", "elu_backward", "gelu", "gelu_backward", "leaky_relu", "leaky_relu_backward", "relu", "relu_backward",
    "sigmoid", "sigmoid_backward", "silu", "silu_backward", "softplus", "softplus_backward", "tanh", "tanh_backward",
]

from ._dropout import dropout, dropout_backward  # noqa: E402

__all__ += ["dropout", "dropout_backward"]

from ._normalization import batch_norm, batch_norm_backward, layer_norm, layer_norm_backward  # noqa: E402

__all__ += ["batch_norm", "batch_norm_backward", "layer_norm", "layer_norm_backward"]
