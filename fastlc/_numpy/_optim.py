"""Optimizer steps as the usual unfused NumPy code (same private signature as naive).

Written the way a NumPy training loop usually is, one array expression per
line (as in the CS231n notes): every line makes a pass over memory and most
allocate a temporary. This is the baseline the fused compiled kernels are
measured against, so it is deliberately not tuned.
"""
import numpy as np


def _direction(grad, weight_decay, maximize, param):
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    return g


def _root(second, eps_inside, eps_outside):
    if eps_inside != 0:
        second = second + eps_inside
    with np.errstate(invalid="ignore"):  # a negative centered variance gives NaN silently, as elsewhere
        return np.sqrt(second) + eps_outside


def adam_step(grad, step_size, inv_bias_correction2_sqrt, beta1, one_minus_beta1, beta2, one_minus_beta2, eps,
              weight_decay, param_scale, amsgrad, maximize,
              param, exp_avg, exp_avg_sq, max_exp_avg_sq, n_threads):
    g = _direction(grad, weight_decay, maximize, param)
    if param_scale != 1:
        param *= param_scale
    exp_avg[...] = beta1 * exp_avg + one_minus_beta1 * g
    exp_avg_sq[...] = beta2 * exp_avg_sq + one_minus_beta2 * g * g
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = max_exp_avg_sq
    else:
        second = exp_avg_sq
    denom = np.sqrt(second) * inv_bias_correction2_sqrt + eps
    param -= step_size * exp_avg / denom


def rmsprop_step(grad, lr, alpha, one_minus_alpha, eps_inside, eps_outside, weight_decay, momentum, centered,
                 maximize, param, square_avg, momentum_buffer, grad_avg, n_threads):
    g = _direction(grad, weight_decay, maximize, param)
    square_avg[...] = alpha * square_avg + one_minus_alpha * g * g
    if centered:
        grad_avg[...] = alpha * grad_avg + one_minus_alpha * g
        avg = _root(square_avg - grad_avg * grad_avg, eps_inside, eps_outside)
    else:
        avg = _root(square_avg, eps_inside, eps_outside)
    if momentum > 0:
        momentum_buffer[...] = momentum * momentum_buffer + g / avg
        param -= lr * momentum_buffer
    else:
        param -= lr * g / avg


def sgd_step(grad, lr, momentum, one_minus_dampening, weight_decay, nesterov, first_step, maximize,
             param, momentum_buffer, n_threads):
    g = _direction(grad, weight_decay, maximize, param)
    if momentum != 0:
        if first_step:
            momentum_buffer[...] = g
        else:
            momentum_buffer[...] = momentum * momentum_buffer + one_minus_dampening * g
        g = g + momentum * momentum_buffer if nesterov else momentum_buffer
    param -= lr * g


def adagrad_step(grad, clr, eps_inside, eps_outside, weight_decay, maximize, param, sum_sq, n_threads):
    g = _direction(grad, weight_decay, maximize, param)
    sum_sq += g * g
    param -= clr * g / _root(sum_sq, eps_inside, eps_outside)
