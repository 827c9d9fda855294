"""TEMPORARY NumPy stand-ins for fastlc.kernels.*_step until branch optim is merged (SPEC signatures)."""
import numpy as np


def sgd_step(param, grad, *, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0,
             momentum_buffer=None, maximize=False, backend="auto", n_threads=None):
    d = grad + weight_decay * param
    if momentum != 0:
        momentum_buffer *= momentum
        momentum_buffer += (1 - dampening) * d
        d = d + momentum * momentum_buffer if nesterov else momentum_buffer
    param -= param.dtype.type(lr) * d


def adagrad_step(param, grad, sum_sq, *, step, lr=1e-2, lr_decay=0.0, eps=1e-10, weight_decay=0.0,
                 backend="auto", n_threads=None):
    clr = lr / (1 + (step - 1) * lr_decay)
    sum_sq += grad * grad
    param -= param.dtype.type(clr) * grad / (np.sqrt(sum_sq) + param.dtype.type(eps))


def rmsprop_step(param, grad, square_avg, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 momentum_buffer=None, centered=False, grad_avg=None, maximize=False, backend="auto",
                 n_threads=None):
    t = param.dtype.type
    square_avg *= t(alpha)
    square_avg += t(1 - alpha) * grad * grad
    param -= t(lr) * grad / (np.sqrt(square_avg) + t(eps))


def adam_step(param, grad, exp_avg, exp_avg_sq, *, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
              weight_decay=0.0, decoupled_weight_decay=False, amsgrad=False, max_exp_avg_sq=None,
              maximize=False, backend="auto", n_threads=None):
    t = param.dtype.type
    exp_avg *= t(beta1)
    exp_avg += t(1 - beta1) * grad
    exp_avg_sq *= t(beta2)
    exp_avg_sq += t(1 - beta2) * grad * grad
    bc1 = 1 - beta1**step
    bc2 = 1 - beta2**step
    denom = np.sqrt(exp_avg_sq) / t(np.sqrt(bc2)) + t(eps)
    param -= t(lr / bc1) * exp_avg / denom
