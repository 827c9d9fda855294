"""Reference optimizer steps written as one explicit loop over elements.

Private signature shared by every backend: the gradient (read only), the
hyper-parameters (already cast to the arrays' dtype; step-dependent factors
such as bias corrections already computed in float64 by the public layer),
the arrays updated in place (``param`` first, then the optimizer state), then
``n_threads`` (ignored here). All arrays are flat (1-D) views of the same
length; an optional buffer that is not used is a zero-length array.

Each loop body is the per-element formula of the matching ``torch.optim``
class (single-tensor path), in PyTorch's order of operations:

- ``lerp(a, b, w) = a + w * (b - a)`` (``Tensor.lerp_``),
- ``addcmul(s, a, b, value=v) = s + v * a * b``,
- ``addcdiv(s, a, b, value=v) = s + v * (a / b)``.

One deliberate difference: Adam multiplies sqrt(v) by 1 / sqrt(1 - beta2**t)
where PyTorch divides by sqrt(1 - beta2**t) (one division fewer per element).
"""
import math


def _sqrt(x):
    """IEEE sqrt: NaN for negative input (math.sqrt raises), -0.0 stays -0.0."""
    return math.sqrt(x) if x >= 0 else math.nan


def adam_step(grad, step_size, inv_bias_correction2_sqrt, beta1, one_minus_beta1, beta2, one_minus_beta2, eps,
              weight_decay, param_scale, amsgrad, maximize,
              param, exp_avg, exp_avg_sq, max_exp_avg_sq, n_threads):
    """Adam / AdamW / AMSGrad; writes param, exp_avg, exp_avg_sq (and max_exp_avg_sq if amsgrad)."""
    for i in range(param.shape[0]):
        g = -grad[i] if maximize else grad[i]
        p = param[i]
        if weight_decay != 0:  # L2 penalty in the gradient (Adam)
            g = g + weight_decay * p
        p = p * param_scale  # decoupled decay (AdamW): 1 - lr * wd, else exactly 1
        m = exp_avg[i] + one_minus_beta1 * (g - exp_avg[i])
        v = beta2 * exp_avg_sq[i] + one_minus_beta2 * g * g
        exp_avg[i] = m
        exp_avg_sq[i] = v
        if amsgrad:
            v_max = max_exp_avg_sq[i]
            if v > v_max or v != v:  # NaN propagates, as torch.maximum
                v_max = v
            max_exp_avg_sq[i] = v_max
            v = v_max
        denom = _sqrt(v) * inv_bias_correction2_sqrt + eps
        param[i] = p - step_size * (m / denom)


def rmsprop_step(grad, lr, alpha, one_minus_alpha, eps_inside, eps_outside, weight_decay, momentum, centered,
                 maximize, param, square_avg, momentum_buffer, grad_avg, n_threads):
    """RMSprop, optionally centered and with momentum; writes param and the used buffers."""
    for i in range(param.shape[0]):
        g = -grad[i] if maximize else grad[i]
        p = param[i]
        if weight_decay != 0:
            g = g + weight_decay * p
        s = alpha * square_avg[i] + one_minus_alpha * g * g
        square_avg[i] = s
        if centered:
            a = grad_avg[i] + one_minus_alpha * (g - grad_avg[i])
            grad_avg[i] = a
            s = s - a * a
        avg = _sqrt(s + eps_inside) + eps_outside
        if momentum > 0:
            b = momentum * momentum_buffer[i] + g / avg
            momentum_buffer[i] = b
            param[i] = p - lr * b
        else:
            param[i] = p - lr * (g / avg)


def sgd_step(grad, lr, momentum, one_minus_dampening, weight_decay, nesterov, first_step, maximize,
             param, momentum_buffer, n_threads):
    """SGD with optional (Nesterov) momentum; writes param (and momentum_buffer if momentum != 0)."""
    for i in range(param.shape[0]):
        g = -grad[i] if maximize else grad[i]
        p = param[i]
        if weight_decay != 0:
            g = g + weight_decay * p
        if momentum != 0:
            if first_step:  # PyTorch: buf = clone(grad), no dampening on the first step
                b = g
            else:
                b = momentum * momentum_buffer[i] + one_minus_dampening * g
            momentum_buffer[i] = b
            g = g + momentum * b if nesterov else b
        param[i] = p - lr * g


def adagrad_step(grad, clr, eps_inside, eps_outside, weight_decay, maximize, param, sum_sq, n_threads):
    """Adagrad with the step's decayed rate ``clr``; writes param and sum_sq."""
    for i in range(param.shape[0]):
        g = -grad[i] if maximize else grad[i]
        p = param[i]
        if weight_decay != 0:
            g = g + weight_decay * p
        s = sum_sq[i] + g * g
        sum_sq[i] = s
        std = _sqrt(s + eps_inside) + eps_outside
        param[i] = p - clr * (g / std)
