# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Optimizer steps in Cython: one fused pass over memory, one contiguous chunk per thread.

No validation here: the public layer (fastlc.kernels) hands over flat
(1-D), C-contiguous float32/float64 arrays of one length and non-overlapping
memory; an unused optional buffer has length 0. Scalars arrive cast to the
arrays' dtype. Each element of param and of the state is read once and
written once, the gradient (a ``const`` memoryview, so read-only arrays work)
read once. Formulas and order of operations are those of the naive backend
(PyTorch's single-tensor path).

The arrays are cut into equal blocks of at most MAX_BLOCK elements, the chunks of fastlc's
thread pool (_threadpool.h), which hands them out one at a time: when one
thread is descheduled, the others take its blocks instead of waiting for it
(with two static halves a step took 2-4x longer whenever the second core was
busy). Each block is a plain counted loop over raw pointers in a small C
function of _optim.h, which the compiler vectorizes for the CPU's widest
vectors (see there). Results do not depend on the split: every element is
computed alike. An absent (zero-length) optional buffer is passed to C as NULL.
"""
include "_threadpool.pxi"

from cpython.pycapsule cimport PyCapsule_New
from libc.stdlib cimport free, realloc

include "_range_op.pxi"

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


# Elements per dynamically scheduled block, at most: 64 KiB of float32 per array, still large next to the
# cost of handing a block out (a float64 Adam block is about 30 us of work). Blocks are of equal size
# (whole cache lines), so that two threads share a step evenly: with fixed blocks of 65536 values
# (fastlc._config.ELEMENTWISE_GRAIN), the 203 530 parameters of a (784, 256, 10) network were blocks of
# 65536, 65536, 65536 and 6922, and one thread did two thirds (182 against 278 us on one thread).
cdef Py_ssize_t MAX_BLOCK = 1 << 14
cdef Py_ssize_t LINE = 16

cdef enum Optimizer:
    ADAM
    RMSPROP
    SGD
    ADAGRAD


ctypedef struct Step:
    # One optimizer step over n elements: what a block of it needs. Arrays are
    # float* or double* (is_double); an absent optional buffer is NULL. The
    # scalars are held as double and cast back to the arrays' dtype, which is
    # exact: the public layer cast them to that dtype first.
    Optimizer optimizer
    bint is_double
    Py_ssize_t n, block
    const void* grad
    void* param
    void* buffers[3]
    double scalars[9]
    int flags[3]


cdef inline floating* _offset(void* array, Py_ssize_t start, floating* kind) noexcept nogil:
    """``array + start`` as floating*, NULL for an absent buffer (``kind`` only selects the type)."""
    if array == NULL:
        return NULL
    return <floating*> array + start


cdef void _step_span(Step* s, Py_ssize_t start, Py_ssize_t n, floating* kind) noexcept nogil:
    """The step of elements [start, start + n)."""
    cdef const floating* grad = <const floating*> s.grad + start
    cdef floating* param = <floating*> s.param + start
    cdef floating* a = _offset(s.buffers[0], start, kind)
    cdef floating* b = _offset(s.buffers[1], start, kind)
    cdef floating* c = _offset(s.buffers[2], start, kind)
    cdef double* x = s.scalars
    if s.optimizer == ADAM:
        if floating is float:
            fastlc_adam_f32(grad, param, a, b, c, n, x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], s.flags[0])
        else:
            fastlc_adam_f64(grad, param, a, b, c, n, x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], s.flags[0])
    elif s.optimizer == RMSPROP:
        if floating is float:
            fastlc_rmsprop_f32(grad, param, a, b, c, n, x[0], x[1], x[2], x[3], x[4], x[5], x[6], s.flags[0])
        else:
            fastlc_rmsprop_f64(grad, param, a, b, c, n, x[0], x[1], x[2], x[3], x[4], x[5], x[6], s.flags[0])
    elif s.optimizer == SGD:
        if floating is float:
            fastlc_sgd_f32(grad, param, a, n, x[0], x[1], x[2], x[3], s.flags[0], s.flags[1], s.flags[2])
        else:
            fastlc_sgd_f64(grad, param, a, n, x[0], x[1], x[2], x[3], s.flags[0], s.flags[1], s.flags[2])
    else:
        if floating is float:
            fastlc_adagrad_f32(grad, param, a, n, x[0], x[1], x[2], x[3], s.flags[0])
        else:
            fastlc_adagrad_f64(grad, param, a, n, x[0], x[1], x[2], x[3], s.flags[0])


cdef void _step_block(Step* s, Py_ssize_t block, floating* kind) noexcept nogil:
    cdef Py_ssize_t start = block * s.block
    _step_span(s, start, s.n - start if s.n - start < s.block else s.block, kind)


cdef void _step_task(void* ctx, Py_ssize_t block) noexcept nogil:
    cdef Step* s = <Step*> ctx
    if s.is_double:
        _step_block(s, block, <double*> NULL)
    else:
        _step_block(s, block, <float*> NULL)


cdef inline void* _data(floating[::1] buffer, bint present) noexcept nogil:
    return <void*> &buffer[0] if present and buffer.shape[0] > 0 else NULL


cdef void _run(Step* s, const floating[::1] grad, floating[::1] param, int n_threads) noexcept nogil:
    _bind(s, grad, param)
    if s.n == 0:
        return
    cdef Py_ssize_t n_blocks = (s.n + MAX_BLOCK - 1) // MAX_BLOCK
    s.block = ((s.n + n_blocks - 1) // n_blocks + LINE - 1) // LINE * LINE  # equal blocks of whole lines
    parallel_for(_step_task, s, (s.n + s.block - 1) // s.block, n_threads)


cdef inline void _bind(Step* s, const floating[::1] grad, floating[::1] param) noexcept nogil:
    s.is_double = floating is double
    s.n = param.shape[0]
    if s.n > 0:
        s.grad = &grad[0]
        s.param = &param[0]


ctypedef struct Deferred:
    Step* steps             # n_steps recorded steps, in groups of group_size (0: one group of all)
    Py_ssize_t n_steps, capacity, group_size, first


cdef inline Py_ssize_t _n_groups(Deferred* d) noexcept nogil:
    if d.group_size == 0:
        return 1
    return d.n_steps // d.group_size


cdef Py_ssize_t _deferred_groups(void* ctx) noexcept nogil:
    return _n_groups(<Deferred*> ctx)


cdef void _deferred_select(void* ctx, Py_ssize_t group) noexcept nogil:
    cdef Deferred* d = <Deferred*> ctx
    d.first = group * d.group_size


cdef void _deferred_range(void* ctx, const void* flat, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """The range operation of DeferredSteps: the part of each step of the selected group that falls in
    [lo, hi) of ``flat``."""
    cdef Deferred* d = <Deferred*> ctx
    cdef Step* s
    cdef Py_ssize_t offset, start, stop, i
    cdef Py_ssize_t end = d.first + d.group_size if d.group_size > 0 else d.n_steps
    for i in range(d.first, end):
        s = &d.steps[i]
        if s.n == 0:
            continue
        # where the step's gradient sits in the flat vector (it is a slice of it)
        if s.is_double:
            offset = <const double*> s.grad - <const double*> flat
        else:
            offset = <const float*> s.grad - <const float*> flat
        start = lo if lo > offset else offset
        stop = hi if hi < offset + s.n else offset + s.n
        if start < stop:
            if s.is_double:
                _step_span(s, start - offset, stop - start, <double*> NULL)
            else:
                _step_span(s, start - offset, stop - start, <float*> NULL)


cdef class DeferredSteps:
    """Optimizer steps recorded now and applied later by the fused linear epoch loops.

    Pass ``defer=`` to the step functions of this module and they record the
    step (arrays and scalars) here instead of running it; :meth:`split` the
    recorded steps into one group per batch, then pass :attr:`capsule` as
    ``after=`` to a ``linear_*_epoch`` loop of ``_linear.pyx``, whose gradient
    must be the flat vector the recorded steps' gradients are slices of. After
    batch g's gradient the loop applies group g, each part of it as soon as that
    part of the gradient is final (see _range_op.h): the same element loops,
    hence the same bits, as running the steps after the kernel. The recorded
    arrays must stay alive until then (the caller holds them).
    """
    cdef Deferred deferred
    cdef fastlc_range_op op
    cdef readonly object capsule

    def __cinit__(self):
        self.deferred.steps = NULL
        self.deferred.n_steps = self.deferred.capacity = self.deferred.group_size = self.deferred.first = 0
        self.op.run = _deferred_range
        self.op.select = _deferred_select
        self.op.n_groups = _deferred_groups
        self.op.ctx = &self.deferred
        self.capsule = PyCapsule_New(&self.op, FASTLC_RANGE_OP_CAPSULE, NULL)

    def __dealloc__(self):
        free(self.deferred.steps)

    def clear(self):
        """Forget the recorded steps (all in one group again)."""
        self.deferred.n_steps = 0
        self.deferred.first = 0
        self.deferred.group_size = 0

    def split(self, Py_ssize_t n_groups):
        """Make the recorded steps ``n_groups`` groups of equal size, in recording order: the steps of
        the batches of an epoch loop, one group per batch."""
        if n_groups <= 0 or self.deferred.n_steps % n_groups != 0:
            raise ValueError(f"cannot split {self.deferred.n_steps} recorded steps into {n_groups} equal groups")
        self.deferred.group_size = self.deferred.n_steps // n_groups
        self.deferred.first = 0

    def repeat(self, Py_ssize_t n, Py_ssize_t times=1):
        """Record again the last ``n`` recorded steps, ``times`` times over (the steps of the next batches,
        when they are the same)."""
        cdef Py_ssize_t k
        if times < 0:
            raise ValueError(f"repeat: times must be >= 0, got {times}")
        self._check_repeat(n)
        for k in range(times):
            self._repeat(n)

    def repeat_adam(self, Py_ssize_t n, double step_size, double inv_bias_correction2_sqrt):
        """Record again the last ``n`` recorded steps, all Adam steps, with the two scalars that change with
        the step count replaced (the arguments of ``adam_step`` of those names, already cast to the steps'
        dtype: held as double, exactly, like every step scalar)."""
        self._repeat_adam(n, &step_size, &inv_bias_correction2_sqrt, 1)

    def repeat_adam_each(self, Py_ssize_t n, const double[::1] step_sizes,
                         const double[::1] inv_bias_correction2_sqrts):
        """``repeat_adam(n, step_sizes[k], inv_bias_correction2_sqrts[k])`` for k = 0, 1, ... in order: the
        Adam steps of the next batches in one call."""
        if step_sizes.shape[0] != inv_bias_correction2_sqrts.shape[0]:
            raise ValueError(f"repeat_adam_each: {step_sizes.shape[0]} step sizes but "
                             f"{inv_bias_correction2_sqrts.shape[0]} bias corrections")
        if step_sizes.shape[0] > 0:
            self._repeat_adam(n, &step_sizes[0], &inv_bias_correction2_sqrts[0], step_sizes.shape[0])

    cdef int _check_repeat(self, Py_ssize_t n) except -1:
        if n <= 0 or n > self.deferred.n_steps:
            raise ValueError(f"cannot repeat the last {n} steps of {self.deferred.n_steps} recorded")
        return 0

    cdef int _repeat_adam(self, Py_ssize_t n, const double* step_sizes, const double* inv_bias_correction2_sqrts,
                          Py_ssize_t times) except -1:
        """Repeat the last n steps ``times`` times, repetition k with the k-th pair of scalars; nothing is
        recorded unless all n are Adam steps."""
        cdef Py_ssize_t i, k
        self._check_repeat(n)
        for i in range(self.deferred.n_steps - n, self.deferred.n_steps):
            if self.deferred.steps[i].optimizer != ADAM:
                raise ValueError("repeat_adam: the repeated steps must be Adam steps")
        for k in range(times):
            self._repeat(n)
            for i in range(self.deferred.n_steps - n, self.deferred.n_steps):
                self.deferred.steps[i].scalars[0] = step_sizes[k]
                self.deferred.steps[i].scalars[1] = inv_bias_correction2_sqrts[k]
        return 0

    cdef int _repeat(self, Py_ssize_t n) except -1:
        """Record again the last n steps (n checked by the caller)."""
        cdef Py_ssize_t i, first = self.deferred.n_steps - n
        cdef Step copy
        for i in range(n):
            copy = self.deferred.steps[first + i]  # a copy: recording may move the list
            self._record(&copy)
        return 0

    @property
    def n_steps(self):
        """How many steps are recorded."""
        return self.deferred.n_steps

    cdef int _record(self, Step* s) except -1:
        cdef Py_ssize_t capacity
        cdef Step* grown
        if self.deferred.n_steps == self.deferred.capacity:
            capacity = 2 * self.deferred.capacity if self.deferred.capacity else 8
            grown = <Step*> realloc(self.deferred.steps, capacity * sizeof(Step))
            if grown == NULL:
                raise MemoryError("DeferredSteps: could not grow the step list")
            self.deferred.steps = grown
            self.deferred.capacity = capacity
        self.deferred.steps[self.deferred.n_steps] = s[0]
        self.deferred.n_steps += 1
        return 0


cdef int _run_or_defer(Step* s, const floating[::1] grad, floating[::1] param, int n_threads,
                       DeferredSteps defer) except -1:
    """Run the step now, or (``defer`` given) record it there for the fused gradient kernel."""
    if defer is None:
        with nogil:
            _run(s, grad, param, n_threads)
    else:
        _bind(s, grad, param)
        defer._record(s)
    return 0


def adam_step(const floating[::1] grad, floating step_size, floating inv_bias_correction2_sqrt, floating beta1,
              floating one_minus_beta1, floating beta2, floating one_minus_beta2, floating eps,
              floating weight_decay, floating param_scale, bint amsgrad, bint maximize,
              floating[::1] param, floating[::1] exp_avg, floating[::1] exp_avg_sq, floating[::1] max_exp_avg_sq,
              int n_threads, DeferredSteps defer=None):
    """max_exp_avg_sq is unused (length 0) without AMSGrad."""
    cdef Step s
    s.optimizer = ADAM
    s.buffers = [_data(exp_avg, True), _data(exp_avg_sq, True), _data(max_exp_avg_sq, amsgrad)]
    s.scalars[:8] = [step_size, inv_bias_correction2_sqrt, one_minus_beta1, beta2, one_minus_beta2, eps,
                     weight_decay, param_scale]
    s.flags[0] = maximize
    _run_or_defer(&s, grad, param, n_threads, defer)


def rmsprop_step(const floating[::1] grad, floating lr, floating alpha, floating one_minus_alpha,
                 floating eps_inside, floating eps_outside, floating weight_decay, floating momentum,
                 bint centered, bint maximize,
                 floating[::1] param, floating[::1] square_avg, floating[::1] momentum_buffer,
                 floating[::1] grad_avg, int n_threads, DeferredSteps defer=None):
    """momentum_buffer is unused without momentum, grad_avg unless centered."""
    cdef Step s
    s.optimizer = RMSPROP
    s.buffers = [_data(square_avg, True), _data(momentum_buffer, momentum > 0), _data(grad_avg, centered)]
    s.scalars[:7] = [lr, alpha, one_minus_alpha, eps_inside, eps_outside, weight_decay, momentum]
    s.flags[0] = maximize
    _run_or_defer(&s, grad, param, n_threads, defer)


def sgd_step(const floating[::1] grad, floating lr, floating momentum, floating one_minus_dampening,
             floating weight_decay, bint nesterov, bint first_step, bint maximize,
             floating[::1] param, floating[::1] momentum_buffer, int n_threads,
             DeferredSteps defer=None):
    """momentum_buffer is unused without momentum."""
    cdef Step s
    s.optimizer = SGD
    s.buffers = [_data(momentum_buffer, momentum != 0), NULL, NULL]
    s.scalars[:4] = [lr, momentum, one_minus_dampening, weight_decay]
    s.flags = [nesterov, first_step, maximize]
    _run_or_defer(&s, grad, param, n_threads, defer)


def adagrad_step(const floating[::1] grad, floating clr, floating eps_inside, floating eps_outside,
                 floating weight_decay, bint maximize, floating[::1] param, floating[::1] sum_sq, int n_threads,
                 DeferredSteps defer=None):
    cdef Step s
    s.optimizer = ADAGRAD
    s.buffers = [_data(sum_sq, True), NULL, NULL]
    s.scalars[:4] = [clr, eps_inside, eps_outside, weight_decay]
    s.flags[0] = maximize
    _run_or_defer(&s, grad, param, n_threads, defer)
