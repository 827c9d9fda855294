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
each block is a plain counted loop over raw pointers in a small C function of
_optim.h, which GCC vectorizes for the CPU's widest vectors (see there). Dynamic hand-out matters on a shared machine: when one thread
is descheduled, the others take its blocks instead of waiting for it (with two
static halves a step took 2-4x longer whenever the second core was busy).
Results do not depend on the split: every element is computed alike.
An absent (zero-length) optional buffer is passed to C as NULL.
"""
from cython.parallel cimport prange

ctypedef fused floating:
    float
    double

cdef extern from "_optim.h" nogil:
    void fastlc_adam_f32(const float* grad, float* param, float* exp_avg, float* exp_avg_sq, float* max_exp_avg_sq,
                         Py_ssize_t n, float step_size, float inv_bias_correction2_sqrt, float one_minus_beta1,
                         float beta2, float one_minus_beta2, float eps, float weight_decay, float param_scale,
                         int maximize)
    void fastlc_adam_f64(const double* grad, double* param, double* exp_avg, double* exp_avg_sq,
                         double* max_exp_avg_sq, Py_ssize_t n, double step_size, double inv_bias_correction2_sqrt,
                         double one_minus_beta1, double beta2, double one_minus_beta2, double eps,
                         double weight_decay, double param_scale, int maximize)
    void fastlc_rmsprop_f32(const float* grad, float* param, float* square_avg, float* momentum_buffer,
                            float* grad_avg, Py_ssize_t n, float lr, float alpha, float one_minus_alpha,
                            float eps_inside, float eps_outside, float weight_decay, float momentum, int maximize)
    void fastlc_rmsprop_f64(const double* grad, double* param, double* square_avg, double* momentum_buffer,
                            double* grad_avg, Py_ssize_t n, double lr, double alpha, double one_minus_alpha,
                            double eps_inside, double eps_outside, double weight_decay, double momentum,
                            int maximize)
    void fastlc_sgd_f32(const float* grad, float* param, float* momentum_buffer, Py_ssize_t n, float lr,
                        float momentum, float one_minus_dampening, float weight_decay, int nesterov, int first_step,
                        int maximize)
    void fastlc_sgd_f64(const double* grad, double* param, double* momentum_buffer, Py_ssize_t n, double lr,
                        double momentum, double one_minus_dampening, double weight_decay, int nesterov,
                        int first_step, int maximize)
    void fastlc_adagrad_f32(const float* grad, float* param, float* sum_sq, Py_ssize_t n, float clr,
                            float eps_inside, float eps_outside, float weight_decay, int maximize)
    void fastlc_adagrad_f64(const double* grad, double* param, double* sum_sq, Py_ssize_t n, double clr,
                            double eps_inside, double eps_outside, double weight_decay, int maximize)


# Elements per dynamically scheduled block (as fastlc._config.ELEMENTWISE_GRAIN):
# 256 KiB of float32 per array, large next to the cost of handing a block out.
cdef Py_ssize_t BLOCK = 1 << 16


cdef inline Py_ssize_t _n_blocks(Py_ssize_t n) noexcept nogil:
    return (n + BLOCK - 1) // BLOCK


cdef inline Py_ssize_t _block_stop(Py_ssize_t start, Py_ssize_t n) noexcept nogil:
    return start + BLOCK if start + BLOCK < n else n


# ---------------------------------------------------------------- Adam
cdef inline void _adam_range(const floating* grad, floating* param, floating* exp_avg, floating* exp_avg_sq,
                             floating* max_exp_avg_sq, Py_ssize_t n,
                             floating step_size, floating inv_bias_correction2_sqrt, floating one_minus_beta1,
                             floating beta2, floating one_minus_beta2, floating eps, floating weight_decay,
                             floating param_scale, bint maximize) noexcept nogil:
    """max_exp_avg_sq is NULL without AMSGrad."""
    if floating is float:
        fastlc_adam_f32(grad, param, exp_avg, exp_avg_sq, max_exp_avg_sq, n, step_size, inv_bias_correction2_sqrt,
                        one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay, param_scale, maximize)
    else:
        fastlc_adam_f64(grad, param, exp_avg, exp_avg_sq, max_exp_avg_sq, n, step_size, inv_bias_correction2_sqrt,
                        one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay, param_scale, maximize)


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
                    weight_decay, param_scale, maximize)


# ---------------------------------------------------------------- RMSprop
cdef inline void _rmsprop_range(const floating* grad, floating* param, floating* square_avg,
                                floating* momentum_buffer, floating* grad_avg, Py_ssize_t n,
                                floating lr, floating alpha, floating one_minus_alpha, floating eps_inside,
                                floating eps_outside, floating weight_decay, floating momentum,
                                bint maximize) noexcept nogil:
    """momentum_buffer is NULL without momentum, grad_avg NULL unless centered."""
    if floating is float:
        fastlc_rmsprop_f32(grad, param, square_avg, momentum_buffer, grad_avg, n, lr, alpha, one_minus_alpha,
                           eps_inside, eps_outside, weight_decay, momentum, maximize)
    else:
        fastlc_rmsprop_f64(grad, param, square_avg, momentum_buffer, grad_avg, n, lr, alpha, one_minus_alpha,
                           eps_inside, eps_outside, weight_decay, momentum, maximize)


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
                       lr, alpha, one_minus_alpha, eps_inside, eps_outside, weight_decay, momentum, maximize)


# ---------------------------------------------------------------- SGD
cdef inline void _sgd_range(const floating* grad, floating* param, floating* momentum_buffer, Py_ssize_t n,
                            floating lr, floating momentum, floating one_minus_dampening, floating weight_decay,
                            bint nesterov, bint first_step, bint maximize) noexcept nogil:
    """momentum_buffer is NULL without momentum."""
    if floating is float:
        fastlc_sgd_f32(grad, param, momentum_buffer, n, lr, momentum, one_minus_dampening, weight_decay, nesterov,
                       first_step, maximize)
    else:
        fastlc_sgd_f64(grad, param, momentum_buffer, n, lr, momentum, one_minus_dampening, weight_decay, nesterov,
                       first_step, maximize)


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
cdef inline void _adagrad_range(const floating* grad, floating* param, floating* sum_sq, Py_ssize_t n,
                                floating clr, floating eps_inside, floating eps_outside, floating weight_decay,
                                bint maximize) noexcept nogil:
    if floating is float:
        fastlc_adagrad_f32(grad, param, sum_sq, n, clr, eps_inside, eps_outside, weight_decay, maximize)
    else:
        fastlc_adagrad_f64(grad, param, sum_sq, n, clr, eps_inside, eps_outside, weight_decay, maximize)


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
