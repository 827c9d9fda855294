# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Loss kernels in Cython: blocks of rows on fastlc's thread pool, row primitives in C.

No validation here: the public layer (fastlc.kernels) hands over C-contiguous
float32/float64 arrays of matching shapes and labels already checked to lie
in [0, n_classes). Inputs are ``const`` memoryviews so read-only arrays work.

The softmax kernels work on blocks of rows (about BLOCK_ELEMENTS values, fastlc/_constants.py): the
shifted logits of a whole block are exponentiated in one long vectorized loop,
so that short rows (10 classes) run as fast per element as long ones, and the
block stays in cache for the passes that follow. Every row is computed the
same way whatever the block boundaries and thread count, so results are
deterministic. See _rowmath.h for the vectorized exp and sums.
"""
ctypedef fused floating:
    float
    double

include "_threadpool.pxi"
include "_rowmath.pxi"

cdef inline floating _row_max(const floating* x, Py_ssize_t n) noexcept nogil:
    if floating is float:
        return fastlc_row_max_f32(x, n)
    else:
        return fastlc_row_max_f64(x, n)


cdef inline void _exp_shifted_block(const floating* x, floating* out, floating* row_max,
                                    Py_ssize_t n_rows, Py_ssize_t n_classes) noexcept nogil:
    """out = exp(x - max of its row) for a block of rows; row maxima go to row_max."""
    cdef Py_ssize_t i
    cdef floating m
    for i in range(n_rows):
        m = _row_max(x + i * n_classes, n_classes)
        row_max[i] = m
        if floating is float:
            fastlc_shift_f32(x + i * n_classes, out + i * n_classes, n_classes, m)
        else:
            fastlc_shift_f64(x + i * n_classes, out + i * n_classes, n_classes, m)
    _exp_inplace(out, n_rows * n_classes)


cdef inline Py_ssize_t _block_rows(Py_ssize_t n_classes) noexcept nogil:
    return max(1, FASTLC_BLOCK_ELEMENTS // n_classes)


cdef inline void _zero_row(floating* loss, floating* grad, Py_ssize_t n_classes) noexcept nogil:
    cdef Py_ssize_t j
    loss[0] = 0
    for j in range(n_classes):
        grad[j] = 0


cdef void _cross_entropy_hard_block(const floating* logits, const Py_ssize_t* y, const floating* class_weight,
                                    floating weight_total, const floating* row_weight, floating grad_scale,
                                    floating label_smoothing, Py_ssize_t n_rows, Py_ssize_t n_classes,
                                    floating* loss_out, floating* grad_out) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating* grad
    # row maxima are parked in loss_out until each row's loss replaces them
    _exp_shifted_block(logits, grad_out, loss_out, n_rows, n_classes)
    for i in range(n_rows):
        grad = grad_out + i * n_classes
        if row_weight[i] == 0:
            _zero_row(&loss_out[i], grad, n_classes)
            continue
        loss_out[i] = row_weight[i] * _cross_entropy_hard_row(
            logits + i * n_classes, grad, n_classes, y[i], loss_out[i], class_weight, weight_total,
            label_smoothing, row_weight[i] * grad_scale)


cdef void _cross_entropy_soft_block(const floating* logits, const floating* target, const floating* class_weight,
                                    const floating* row_weight, floating grad_scale, floating label_smoothing,
                                    Py_ssize_t n_rows, Py_ssize_t n_classes, floating* loss_out,
                                    floating* grad_out) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating* grad
    _exp_shifted_block(logits, grad_out, loss_out, n_rows, n_classes)
    for i in range(n_rows):
        grad = grad_out + i * n_classes
        if row_weight[i] == 0:
            _zero_row(&loss_out[i], grad, n_classes)
            continue
        loss_out[i] = row_weight[i] * _cross_entropy_soft_row(
            logits + i * n_classes, grad, n_classes, target + i * n_classes, loss_out[i], class_weight,
            label_smoothing, row_weight[i] * grad_scale)


cdef void _normalize_block(const floating* x, floating* out, Py_ssize_t n_rows, Py_ssize_t n_classes,
                           bint log_space) noexcept nogil:
    """Softmax (or log-softmax) of a block of rows into out."""
    cdef floating row_max[FASTLC_BLOCK_ELEMENTS]
    cdef Py_ssize_t i, j
    cdef floating total, shift
    _exp_shifted_block(x, out, row_max, n_rows, n_classes)
    for i in range(n_rows):
        total = _row_sum(out + i * n_classes, n_classes)
        if log_space:
            shift = row_max[i] + _log(total)
            for j in range(n_classes):
                out[i * n_classes + j] = x[i * n_classes + j] - shift
        else:
            _scale(out + i * n_classes, n_classes, 1 / total)


# ---------------------------------------------------------------- one pool task for every row kernel
cdef enum RowKernel:
    HINGE
    CROSS_ENTROPY_HARD
    CROSS_ENTROPY_SOFT
    SOFTMAX
    LOG_SOFTMAX


ctypedef struct Rows:
    # One call of a row kernel: chunk k is rows [k * rows_per_chunk, (k + 1) * rows_per_chunk). Arrays are
    # float* or double* (is_double); scalars are held as double and cast back exactly. Chunks start at
    # fixed rows whatever the thread count, so every row is computed alike.
    RowKernel kernel
    bint is_double
    bint squared
    Py_ssize_t n_samples, n_classes, rows_per_chunk
    const void* x
    const void* target
    const Py_ssize_t* y
    const void* class_weight
    const void* row_weight
    double grad_scale, margin, label_smoothing, weight_total
    void* loss_out
    void* grad_out


cdef void _rows_chunk(Rows* job, Py_ssize_t k, floating* kind) noexcept nogil:
    cdef Py_ssize_t first = k * job.rows_per_chunk, C = job.n_classes
    cdef Py_ssize_t n_rows = job.n_samples - first if job.n_samples - first < job.rows_per_chunk \
        else job.rows_per_chunk
    cdef const floating* x = <const floating*> job.x + first * C
    cdef floating* loss = <floating*> job.loss_out + first
    cdef floating* grad = <floating*> job.grad_out + first * C
    cdef const floating* row_weight = <const floating*> job.row_weight + first
    cdef const Py_ssize_t* y = job.y + first
    if job.kernel == HINGE:
        _hinge_rows(x, y, row_weight, <floating> job.grad_scale, n_rows, C, <floating> job.margin, job.squared,
                    loss, grad)
    elif job.kernel == CROSS_ENTROPY_HARD:
        _cross_entropy_hard_block(x, y, <const floating*> job.class_weight, <floating> job.weight_total,
                                  row_weight, <floating> job.grad_scale, <floating> job.label_smoothing, n_rows, C,
                                  loss, grad)
    elif job.kernel == CROSS_ENTROPY_SOFT:
        _cross_entropy_soft_block(x, <const floating*> job.target + first * C, <const floating*> job.class_weight,
                                  row_weight, <floating> job.grad_scale, <floating> job.label_smoothing, n_rows, C,
                                  loss, grad)
    else:
        _normalize_block(x, grad, n_rows, C, job.kernel == LOG_SOFTMAX)


cdef void _rows_task(void* ctx, Py_ssize_t k) noexcept nogil:
    cdef Rows* job = <Rows*> ctx
    if job.is_double:
        _rows_chunk(job, k, <double*> NULL)
    else:
        _rows_chunk(job, k, <float*> NULL)


cdef void _run_rows(Rows* job, RowKernel kernel, const floating[:, ::1] x, floating[:, ::1] out,
                    int n_threads) noexcept nogil:
    """Fill the fields every kernel has and run the chunks on the pool."""
    job.kernel = kernel
    job.is_double = floating is double
    job.n_samples = x.shape[0]
    job.n_classes = x.shape[1]
    if job.n_samples == 0 or job.n_classes == 0:
        return
    job.x = &x[0, 0]
    job.grad_out = &out[0, 0]
    if kernel == HINGE and job.n_classes < FASTLC_HINGE_SHORT_ROW:
        # whole groups of short rows (see _rowmath.h), so each row lands in the same vector lane whatever the
        # chunking
        job.rows_per_chunk = FASTLC_HINGE_GROUP * max(1, FASTLC_BLOCK_ELEMENTS // (FASTLC_HINGE_GROUP * job.n_classes))
    else:
        job.rows_per_chunk = _block_rows(job.n_classes)
    parallel_for(_rows_task, job, (job.n_samples + job.rows_per_chunk - 1) // job.rows_per_chunk, n_threads)


def multiclass_hinge(const floating[:, ::1] scores, const Py_ssize_t[::1] y, const floating[::1] row_weight,
                     floating grad_scale, floating margin, bint squared,
                     floating[::1] loss_out, floating[:, ::1] grad_out, int n_threads):
    cdef Rows job
    if scores.shape[0] == 0:
        return
    job.y = &y[0]
    job.row_weight = &row_weight[0]
    job.grad_scale = grad_scale
    job.margin = margin
    job.squared = squared
    job.loss_out = &loss_out[0]
    with nogil:
        _run_rows(&job, HINGE, scores, grad_out, n_threads)


def cross_entropy_hard(const floating[:, ::1] logits, const Py_ssize_t[::1] y, const floating[::1] class_weight,
                       const floating[::1] row_weight, floating grad_scale, floating label_smoothing,
                       floating[::1] loss_out, floating[:, ::1] grad_out, int n_threads):
    cdef Rows job
    cdef floating weight_total = 0
    cdef Py_ssize_t j
    if logits.shape[0] == 0:
        return
    for j in range(class_weight.shape[0]):
        weight_total += class_weight[j]
    job.y = &y[0]
    job.class_weight = &class_weight[0]
    job.weight_total = weight_total
    job.row_weight = &row_weight[0]
    job.grad_scale = grad_scale
    job.label_smoothing = label_smoothing
    job.loss_out = &loss_out[0]
    with nogil:
        _run_rows(&job, CROSS_ENTROPY_HARD, logits, grad_out, n_threads)


def cross_entropy_soft(const floating[:, ::1] logits, const floating[:, ::1] target, const floating[::1] class_weight,
                       const floating[::1] row_weight, floating grad_scale, floating label_smoothing,
                       floating[::1] loss_out, floating[:, ::1] grad_out, int n_threads):
    cdef Rows job
    if logits.shape[0] == 0:
        return
    job.target = &target[0, 0]
    job.class_weight = &class_weight[0]
    job.row_weight = &row_weight[0]
    job.grad_scale = grad_scale
    job.label_smoothing = label_smoothing
    job.loss_out = &loss_out[0]
    job.y = NULL
    with nogil:
        _run_rows(&job, CROSS_ENTROPY_SOFT, logits, grad_out, n_threads)


def log_softmax(const floating[:, ::1] logits, floating[:, ::1] out, int n_threads):
    cdef Rows job
    job.y = NULL
    job.row_weight = NULL
    job.loss_out = NULL
    with nogil:
        _run_rows(&job, LOG_SOFTMAX, logits, out, n_threads)


def softmax(const floating[:, ::1] logits, floating[:, ::1] out, int n_threads):
    cdef Rows job
    job.y = NULL
    job.row_weight = NULL
    job.loss_out = NULL
    with nogil:
        _run_rows(&job, SOFTMAX, logits, out, n_threads)
