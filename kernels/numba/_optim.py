"""Optimizer steps in Numba: one fused pass over memory, one contiguous chunk per thread.

Arrays arrive flat (1-D, C-contiguous, same length and dtype; an unused
optional buffer has length 0) and scalars arrive cast to the arrays' dtype,
so float32 stays float32. Each element of param and of the state is read once
and written once, the gradient read once. The formulas and their order of
operations are those of the naive backend (PyTorch's single-tensor path).

How the loops are shaped, so that LLVM vectorizes them:

- the parallel loop runs over chunks, and each chunk is a ``range(len)`` loop
  over slices; ``range(start, stop)`` over the whole arrays stays scalar,
  because of the negative-index wrap-around Numba emits for indices it cannot
  prove >= 0;
- every optional buffer gets its own loop that touches exactly the arrays it
  uses (the per-element formula is one inlined function, called with constant
  flags). A loop that merely mentions an absent zero-length buffer makes LLVM's
  runtime overlap check compare a full-length range at that buffer's address
  and, depending on where it lies, fall back to the scalar loop (~10x slower).
"""
import math

import numba

from fastlc._config import NUMBA_ELEMENTWISE_OPTIONS

from ._threads import with_n_threads

_INLINE = dict(NUMBA_ELEMENTWISE_OPTIONS, inline="always")


@numba.njit(**_INLINE)
def _chunk(array, c, n_chunks, n):
    """Part ``c`` of ``array`` split into ``n_chunks``."""
    return array[c * n // n_chunks:(c + 1) * n // n_chunks]


@numba.njit(**_INLINE)
def _direction(grad, param, weight_decay, maximize):
    g = -grad if maximize else grad
    if weight_decay != 0:  # L2 penalty added to the gradient
        g = g + weight_decay * param
    return g


@numba.njit(**_INLINE)
def _adam_moments(g, m, v, one_minus_beta1, beta2, one_minus_beta2):
    return m + one_minus_beta1 * (g - m), beta2 * v + one_minus_beta2 * g * g


@numba.njit(**_INLINE)
def _running_max(v_max, v):
    if v > v_max or v != v:  # NaN propagates, as torch.maximum
        return v
    return v_max


@numba.njit(parallel=True, **NUMBA_ELEMENTWISE_OPTIONS)
def _adam_step(grad, step_size, inv_bias_correction2_sqrt, beta1, one_minus_beta1, beta2, one_minus_beta2, eps,
               weight_decay, param_scale, amsgrad, maximize,
               param, exp_avg, exp_avg_sq, max_exp_avg_sq, n_chunks):
    n = param.shape[0]
    for c in numba.prange(n_chunks):
        grad_c = _chunk(grad, c, n_chunks, n)
        param_c = _chunk(param, c, n_chunks, n)
        exp_avg_c = _chunk(exp_avg, c, n_chunks, n)
        exp_avg_sq_c = _chunk(exp_avg_sq, c, n_chunks, n)
        if amsgrad:
            max_c = _chunk(max_exp_avg_sq, c, n_chunks, n)
            for i in range(param_c.shape[0]):
                p = param_c[i]
                g = _direction(grad_c[i], p, weight_decay, maximize)
                m, v = _adam_moments(g, exp_avg_c[i], exp_avg_sq_c[i], one_minus_beta1, beta2, one_minus_beta2)
                v_max = _running_max(max_c[i], v)
                exp_avg_c[i] = m
                exp_avg_sq_c[i] = v
                max_c[i] = v_max
                # param_scale: decoupled decay 1 - lr * wd (AdamW), else exactly 1
                param_c[i] = p * param_scale - step_size * (m / (math.sqrt(v_max) * inv_bias_correction2_sqrt + eps))
        else:
            for i in range(param_c.shape[0]):
                p = param_c[i]
                g = _direction(grad_c[i], p, weight_decay, maximize)
                m, v = _adam_moments(g, exp_avg_c[i], exp_avg_sq_c[i], one_minus_beta1, beta2, one_minus_beta2)
                exp_avg_c[i] = m
                exp_avg_sq_c[i] = v
                param_c[i] = p * param_scale - step_size * (m / (math.sqrt(v) * inv_bias_correction2_sqrt + eps))


@numba.njit(**_INLINE)
def _rmsprop_element(grad, p, s, a, b, lr, alpha, one_minus_alpha, eps_inside, eps_outside, weight_decay, momentum,
                     maximize, centered, with_momentum):
    g = _direction(grad, p, weight_decay, maximize)
    s = alpha * s + one_minus_alpha * g * g
    centered_s = s
    if centered:
        a = a + one_minus_alpha * (g - a)
        centered_s = s - a * a
    avg = math.sqrt(centered_s + eps_inside) + eps_outside
    if with_momentum:
        b = momentum * b + g / avg
        p = p - lr * b
    else:
        p = p - lr * (g / avg)
    return p, s, a, b


@numba.njit(parallel=True, **NUMBA_ELEMENTWISE_OPTIONS)
def _rmsprop_step(grad, lr, alpha, one_minus_alpha, eps_inside, eps_outside, weight_decay, momentum, centered,
                  maximize, param, square_avg, momentum_buffer, grad_avg, n_chunks):
    n = param.shape[0]
    zero = param.dtype.type(0)
    for c in numba.prange(n_chunks):
        grad_c = _chunk(grad, c, n_chunks, n)
        param_c = _chunk(param, c, n_chunks, n)
        square_avg_c = _chunk(square_avg, c, n_chunks, n)
        if centered and momentum > 0:
            grad_avg_c = _chunk(grad_avg, c, n_chunks, n)
            buffer_c = _chunk(momentum_buffer, c, n_chunks, n)
            for i in range(param_c.shape[0]):
                p, s, a, b = _rmsprop_element(grad_c[i], param_c[i], square_avg_c[i], grad_avg_c[i], buffer_c[i],
                                              lr, alpha, one_minus_alpha, eps_inside, eps_outside, weight_decay,
                                              momentum, maximize, True, True)
                param_c[i] = p
                square_avg_c[i] = s
                grad_avg_c[i] = a
                buffer_c[i] = b
        elif centered:
            grad_avg_c = _chunk(grad_avg, c, n_chunks, n)
            for i in range(param_c.shape[0]):
                p, s, a, b = _rmsprop_element(grad_c[i], param_c[i], square_avg_c[i], grad_avg_c[i], zero,
                                              lr, alpha, one_minus_alpha, eps_inside, eps_outside, weight_decay,
                                              momentum, maximize, True, False)
                param_c[i] = p
                square_avg_c[i] = s
                grad_avg_c[i] = a
        elif momentum > 0:
            buffer_c = _chunk(momentum_buffer, c, n_chunks, n)
            for i in range(param_c.shape[0]):
                p, s, a, b = _rmsprop_element(grad_c[i], param_c[i], square_avg_c[i], zero, buffer_c[i],
                                              lr, alpha, one_minus_alpha, eps_inside, eps_outside, weight_decay,
                                              momentum, maximize, False, True)
                param_c[i] = p
                square_avg_c[i] = s
                buffer_c[i] = b
        else:
            for i in range(param_c.shape[0]):
                p, s, a, b = _rmsprop_element(grad_c[i], param_c[i], square_avg_c[i], zero, zero,
                                              lr, alpha, one_minus_alpha, eps_inside, eps_outside, weight_decay,
                                              momentum, maximize, False, False)
                param_c[i] = p
                square_avg_c[i] = s


@numba.njit(parallel=True, **NUMBA_ELEMENTWISE_OPTIONS)
def _sgd_step(grad, lr, momentum, one_minus_dampening, weight_decay, nesterov, first_step, maximize,
              param, momentum_buffer, n_chunks):
    n = param.shape[0]
    for c in numba.prange(n_chunks):
        grad_c = _chunk(grad, c, n_chunks, n)
        param_c = _chunk(param, c, n_chunks, n)
        if momentum != 0:
            buffer_c = _chunk(momentum_buffer, c, n_chunks, n)
            for i in range(param_c.shape[0]):
                p = param_c[i]
                g = _direction(grad_c[i], p, weight_decay, maximize)
                if first_step:  # PyTorch: buf = clone(grad) on the first step
                    b = g
                else:
                    b = momentum * buffer_c[i] + one_minus_dampening * g
                buffer_c[i] = b
                g = g + momentum * b if nesterov else b
                param_c[i] = p - lr * g
        else:
            for i in range(param_c.shape[0]):
                p = param_c[i]
                param_c[i] = p - lr * _direction(grad_c[i], p, weight_decay, maximize)


@numba.njit(**_INLINE)
def adagrad_point(grad, p, s, clr, eps_inside, eps_outside, weight_decay, maximize):
    """One Adagrad element: returns (new param, new sum of squares); also the sparse lazy step's (_sparse_linear)."""
    g = _direction(grad, p, weight_decay, maximize)
    s = s + g * g
    return p - clr * (g / (math.sqrt(s + eps_inside) + eps_outside)), s


@numba.njit(parallel=True, **NUMBA_ELEMENTWISE_OPTIONS)
def _adagrad_step(grad, clr, eps_inside, eps_outside, weight_decay, maximize, param, sum_sq, n_chunks):
    n = param.shape[0]
    for c in numba.prange(n_chunks):
        grad_c = _chunk(grad, c, n_chunks, n)
        param_c = _chunk(param, c, n_chunks, n)
        sum_sq_c = _chunk(sum_sq, c, n_chunks, n)
        for i in range(param_c.shape[0]):
            param_c[i], sum_sq_c[i] = adagrad_point(grad_c[i], param_c[i], sum_sq_c[i], clr, eps_inside, eps_outside,
                                                    weight_decay, maximize)


def _chunked(kernel):
    """``run(*args, n_threads)``: split the arrays into ``n_threads`` chunks and run that many threads."""
    run = with_n_threads(kernel)

    def step(*args):
        return run(*args, args[-1])

    step.kernel = kernel
    return step


adam_step = _chunked(_adam_step)
rmsprop_step = _chunked(_rmsprop_step)
sgd_step = _chunked(_sgd_step)
adagrad_step = _chunked(_adagrad_step)
