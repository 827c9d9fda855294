# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Optimizer steps in Cython: one fused pass over memory, one contiguous chunk per thread.

No validation here: the public layer (fastlc.kernels) hands over flat
(1-D), C-contiguous float32/float64 arrays of one length and non-overlapping
memory; an unused optional buffer has length 0. Scalars arrive cast to the
arrays' dtype. Each element of param and of the state is read once and
written once, the gradient (a ``const`` memoryview, so read-only arrays work)
read once. Formulas and order of operations are those of the naive backend
(PyTorch's single-tensor path).

The ``prange`` runs over blocks of BLOCK elements handed out dynamically, and
each block is a plain counted loop over raw pointers in a small function, which
GCC vectorizes. Dynamic hand-out matters on a shared machine: when one thread
is descheduled, the others take its blocks instead of waiting for it (with two
static halves a step took 2-4x longer whenever the second core was busy).
Results do not depend on the split: every element is computed alike.
Every optional buffer gets its own loop that touches only the arrays it uses:
the runtime overlap checks GCC adds for vectorization then never involve an
absent (zero-length) buffer.
"""
from cython.parallel cimport prange
from libc.math cimport sqrt, sqrtf

ctypedef fused floating:
    float
    double


cdef inline floating _sqrt(floating x) noexcept nogil:
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


cdef inline floating _direction(floating grad, floating param, floating weight_decay, bint maximize) noexcept nogil:
    cdef floating g = -grad if maximize else grad
    if weight_decay != 0:  # L2 penalty added to the gradient
        g = g + weight_decay * param
    return g


# Elements per dynamically scheduled block (as fastlc._config.ELEMENTWISE_GRAIN):
# 256 KiB of float32 per array, large next to the cost of handing a block out.
cdef Py_ssize_t BLOCK = 1 << 16


cdef inline Py_ssize_t _n_blocks(Py_ssize_t n) noexcept nogil:
    return (n + BLOCK - 1) // BLOCK


cdef inline Py_ssize_t _block_stop(Py_ssize_t start, Py_ssize_t n) noexcept nogil:
    return start + BLOCK if start + BLOCK < n else n


# ---------------------------------------------------------------- Adam
cdef void _adam_range(const floating* grad, floating* param, floating* exp_avg, floating* exp_avg_sq,
                      floating* max_exp_avg_sq, Py_ssize_t n,
                      floating step_size, floating inv_bias_correction2_sqrt, floating one_minus_beta1, floating beta2,
                      floating one_minus_beta2, floating eps, floating weight_decay, floating param_scale,
                      bint amsgrad, bint maximize) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating g, p, m, v, v_max
    if amsgrad:
        for i in range(n):
            p = param[i]
            g = _direction(grad[i], p, weight_decay, maximize)
            m = exp_avg[i]
            m = m + one_minus_beta1 * (g - m)
            v = beta2 * exp_avg_sq[i] + one_minus_beta2 * g * g
            v_max = max_exp_avg_sq[i]
            if v > v_max or v != v:  # NaN propagates, as torch.maximum
                v_max = v
            exp_avg[i] = m
            exp_avg_sq[i] = v
            max_exp_avg_sq[i] = v_max
            # param_scale: decoupled decay 1 - lr * wd (AdamW), else exactly 1
            param[i] = p * param_scale - step_size * (m / (_sqrt(v_max) * inv_bias_correction2_sqrt + eps))
    else:
        for i in range(n):
            p = param[i]
            g = _direction(grad[i], p, weight_decay, maximize)
            m = exp_avg[i]
            m = m + one_minus_beta1 * (g - m)
            v = beta2 * exp_avg_sq[i] + one_minus_beta2 * g * g
            exp_avg[i] = m
            exp_avg_sq[i] = v
            param[i] = p * param_scale - step_size * (m / (_sqrt(v) * inv_bias_correction2_sqrt + eps))


def adam_step(const floating[::1] grad, floating step_size, floating inv_bias_correction2_sqrt, floating beta1,
              floating one_minus_beta1, floating beta2, floating one_minus_beta2, floating eps,
              floating weight_decay, floating param_scale, bint amsgrad, bint maximize,
              floating[::1] param, floating[::1] exp_avg, floating[::1] exp_avg_sq, floating[::1] max_exp_avg_sq,
              int n_threads):
    cdef Py_ssize_t n = param.shape[0], c, start, stop
    cdef floating* max_ptr = NULL
    if n == 0:
        return
    if amsgrad:
        max_ptr = &max_exp_avg_sq[0]
    for c in prange(_n_blocks(n), nogil=True, schedule="dynamic", num_threads=n_threads):
        start = c * BLOCK
        stop = _block_stop(start, n)
        _adam_range(&grad[start], &param[start], &exp_avg[start], &exp_avg_sq[start],
                    max_ptr + start if amsgrad else NULL, stop - start,
                    step_size, inv_bias_correction2_sqrt, one_minus_beta1, beta2, one_minus_beta2, eps,
                    weight_decay, param_scale, amsgrad, maximize)


# ---------------------------------------------------------------- RMSprop
cdef void _rmsprop_range(const floating* grad, floating* param, floating* square_avg, floating* momentum_buffer,
                         floating* grad_avg, Py_ssize_t n,
                         floating lr, floating alpha, floating one_minus_alpha, floating eps_inside,
                         floating eps_outside, floating weight_decay, floating momentum,
                         bint centered, bint maximize) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating g, p, s, a, b, avg
    if centered and momentum > 0:
        for i in range(n):
            p = param[i]
            g = _direction(grad[i], p, weight_decay, maximize)
            s = alpha * square_avg[i] + one_minus_alpha * g * g
            a = grad_avg[i]
            a = a + one_minus_alpha * (g - a)
            avg = _sqrt(s - a * a + eps_inside) + eps_outside
            b = momentum * momentum_buffer[i] + g / avg
            square_avg[i] = s
            grad_avg[i] = a
            momentum_buffer[i] = b
            param[i] = p - lr * b
    elif centered:
        for i in range(n):
            p = param[i]
            g = _direction(grad[i], p, weight_decay, maximize)
            s = alpha * square_avg[i] + one_minus_alpha * g * g
            a = grad_avg[i]
            a = a + one_minus_alpha * (g - a)
            avg = _sqrt(s - a * a + eps_inside) + eps_outside
            square_avg[i] = s
            grad_avg[i] = a
            param[i] = p - lr * (g / avg)
    elif momentum > 0:
        for i in range(n):
            p = param[i]
            g = _direction(grad[i], p, weight_decay, maximize)
            s = alpha * square_avg[i] + one_minus_alpha * g * g
            avg = _sqrt(s + eps_inside) + eps_outside
            b = momentum * momentum_buffer[i] + g / avg
            square_avg[i] = s
            momentum_buffer[i] = b
            param[i] = p - lr * b
    else:
        for i in range(n):
            p = param[i]
            g = _direction(grad[i], p, weight_decay, maximize)
            s = alpha * square_avg[i] + one_minus_alpha * g * g
            avg = _sqrt(s + eps_inside) + eps_outside
            square_avg[i] = s
            param[i] = p - lr * (g / avg)


def rmsprop_step(const floating[::1] grad, floating lr, floating alpha, floating one_minus_alpha,
                 floating eps_inside, floating eps_outside, floating weight_decay, floating momentum,
                 bint centered, bint maximize,
                 floating[::1] param, floating[::1] square_avg, floating[::1] momentum_buffer,
                 floating[::1] grad_avg, int n_threads):
    cdef Py_ssize_t n = param.shape[0], c, start, stop
    cdef floating* buffer_ptr = NULL
    cdef floating* grad_avg_ptr = NULL
    if n == 0:
        return
    if momentum > 0:
        buffer_ptr = &momentum_buffer[0]
    if centered:
        grad_avg_ptr = &grad_avg[0]
    for c in prange(_n_blocks(n), nogil=True, schedule="dynamic", num_threads=n_threads):
        start = c * BLOCK
        stop = _block_stop(start, n)
        _rmsprop_range(&grad[start], &param[start], &square_avg[start],
                       buffer_ptr + start if momentum > 0 else NULL,
                       grad_avg_ptr + start if centered else NULL, stop - start,
                       lr, alpha, one_minus_alpha, eps_inside, eps_outside, weight_decay, momentum,
                       centered, maximize)


# ---------------------------------------------------------------- SGD
cdef void _sgd_range(const floating* grad, floating* param, floating* momentum_buffer, Py_ssize_t n,
                     floating lr, floating momentum, floating one_minus_dampening, floating weight_decay,
                     bint nesterov, bint first_step, bint maximize) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating g, p, b
    if momentum != 0:
        for i in range(n):
            p = param[i]
            g = _direction(grad[i], p, weight_decay, maximize)
            if first_step:  # PyTorch: buf = clone(grad) on the first step
                b = g
            else:
                b = momentum * momentum_buffer[i] + one_minus_dampening * g
            momentum_buffer[i] = b
            if nesterov:
                g = g + momentum * b
            else:
                g = b
            param[i] = p - lr * g
    else:
        for i in range(n):
            p = param[i]
            param[i] = p - lr * _direction(grad[i], p, weight_decay, maximize)


def sgd_step(const floating[::1] grad, floating lr, floating momentum, floating one_minus_dampening,
             floating weight_decay, bint nesterov, bint first_step, bint maximize,
             floating[::1] param, floating[::1] momentum_buffer, int n_threads):
    cdef Py_ssize_t n = param.shape[0], c, start, stop
    cdef floating* buffer_ptr = NULL
    if n == 0:
        return
    if momentum != 0:
        buffer_ptr = &momentum_buffer[0]
    for c in prange(_n_blocks(n), nogil=True, schedule="dynamic", num_threads=n_threads):
        start = c * BLOCK
        stop = _block_stop(start, n)
        _sgd_range(&grad[start], &param[start], buffer_ptr + start if momentum != 0 else NULL, stop - start,
                   lr, momentum, one_minus_dampening, weight_decay, nesterov, first_step, maximize)


# ---------------------------------------------------------------- Adagrad
cdef void _adagrad_range(const floating* grad, floating* param, floating* sum_sq, Py_ssize_t n,
                         floating clr, floating eps_inside, floating eps_outside, floating weight_decay,
                         bint maximize) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating g, p, s
    for i in range(n):
        p = param[i]
        g = _direction(grad[i], p, weight_decay, maximize)
        s = sum_sq[i] + g * g
        sum_sq[i] = s
        param[i] = p - clr * (g / (_sqrt(s + eps_inside) + eps_outside))


def adagrad_step(const floating[::1] grad, floating clr, floating eps_inside, floating eps_outside,
                 floating weight_decay, bint maximize, floating[::1] param, floating[::1] sum_sq, int n_threads):
    cdef Py_ssize_t n = param.shape[0], c, start, stop
    if n == 0:
        return
    for c in prange(_n_blocks(n), nogil=True, schedule="dynamic", num_threads=n_threads):
        start = c * BLOCK
        stop = _block_stop(start, n)
        _adagrad_range(&grad[start], &param[start], &sum_sq[start], stop - start,
                       clr, eps_inside, eps_outside, weight_decay, maximize)
