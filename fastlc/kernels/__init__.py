"""fastlc kernels: validated public functions over four interchangeable backends.

Every function takes ``backend=`` ("auto", "naive", "numpy", "numba", "cython")
and, where it runs in parallel, ``n_threads=`` (None = what the process is allowed:
the CPU affinity and container quota, ``OMP_NUM_THREADS`` / ``NUMBA_NUM_THREADS``,
``threadpoolctl.threadpool_limits`` and ``fastlc.set_config`` / ``config_context`` all cap it).

- classification losses: ``multiclass_hinge``, ``softmax_cross_entropy``, ``softmax``, ``log_softmax``;
- regression and binary losses: ``mse_loss``, ``l1_loss``, ``huber_loss``, ``smooth_l1_loss``,
  ``binary_cross_entropy``, ``binary_cross_entropy_with_logits``, ``nll_loss``;
- activations and their ``*_backward``: ``relu``, ``leaky_relu``, ``elu``, ``gelu``, ``sigmoid``,
  ``tanh``, ``softplus``, ``silu``;
- ``dropout`` / ``dropout_backward``; ``batch_norm``, ``layer_norm`` and their backward;
- fused optimizer steps: ``adam_step``, ``rmsprop_step``, ``sgd_step``, ``adagrad_step``;
- 2-D pooling: ``max_pool2d``, ``avg_pool2d`` and their backward, ``pooled_size``.
"""
from .._dispatch import available_backends
from ._activations import (
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
from ._dropout import dropout, dropout_backward
from ._losses import log_softmax, multiclass_hinge, softmax, softmax_cross_entropy
from ._nn_losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from ._normalization import batch_norm, batch_norm_backward, layer_norm, layer_norm_backward
from ._optim import adagrad_step, adam_step, rmsprop_step, sgd_step
from ._pooling import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward, pooled_size

__all__ = [
    "adagrad_step", "adam_step", "available_backends", "avg_pool2d", "avg_pool2d_backward", "batch_norm",
    "batch_norm_backward", "binary_cross_entropy", "binary_cross_entropy_with_logits", "dropout",
    "dropout_backward", "elu", "elu_backward", "gelu", "gelu_backward", "huber_loss", "l1_loss", "layer_norm",
    "layer_norm_backward", "leaky_relu", "leaky_relu_backward", "log_softmax", "max_pool2d",
    "max_pool2d_backward", "mse_loss", "multiclass_hinge", "nll_loss", "pooled_size", "relu", "relu_backward",
    "rmsprop_step", "sgd_step", "sigmoid", "sigmoid_backward", "silu", "silu_backward", "smooth_l1_loss",
    "softmax", "softmax_cross_entropy", "softplus", "softplus_backward", "tanh", "tanh_backward",
]
