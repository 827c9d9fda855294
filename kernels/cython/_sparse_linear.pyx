# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Fused mini-batch gradient of a linear model on CSR input, in Cython (the Numba kernel's signature).

The port of ``kernels/numba/_sparse_linear.py``'s gradient (see there, and
``fastlc.linear_model._sparse``): weights feature-major, ``coef_t`` (n_features,
n_outputs). Per batch:

1. the scores of each batch row from its stored values only, the loss row and
   ``g = dL/ds`` by the loss kernels' C row functions (``_rowmath.h``, and the
   regression rows of ``_nn_points.h``); the rows are independent;
2. either ``sgd[0] == 0``: the weight gradient on the feature rows of the rows
   whose gradient is not zero, added in batch order (touched features listed in
   first-seen order, marked in ``seen``; the previous call's rows cleared
   first), or ``sgd[0] = lr > 0``: plain SGD in place on the scaled weights
   ``W = scale * V`` (scikit-learn's scaled-weights trick).

Threads (the same bits on any ``n_threads``): the scores run over fixed
chunks of FASTLC_CHUNK_ROWS rows on fastlc's thread pool; the gradient on
several threads gives each its own range of features (every gradient row is
still summed in batch order); the in-place SGD runs on one. Also the lazy
Adagrad step on the touched rows (the dense Adagrad kernel's element loop,
``_optim.h``, row by row), the cumulative L1 truncation, and the packed rows
(gather / scatter) of the other optimizers' lazy step.

No validation here (layer 1): CSR arrays (int32 or int64 indices), float32 or
float64 values of the weights' dtype, ``rows`` in range, labels in range.
"""
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

import numpy as np

ctypedef fused floating:
    float
    double

ctypedef long long longlong

ctypedef fused index_t:
    int
    longlong

include "_threadpool.pxi"
include "_rowmath.pxi"
include "_regression_row.pxi"

# the Adagrad element loop of the dense optimizer kernel (one formula): a feature row is n_outputs contiguous values
cdef extern from "_optim.h" nogil:
    void fastlc_adagrad_f32(const float* grad, float* param, float* sum_sq, Py_ssize_t n, float clr,
                            float eps_inside, float eps_outside, float weight_decay, int maximize)
    void fastlc_adagrad_f64(const double* grad, double* param, double* sum_sq, Py_ssize_t n, double clr,
                            double eps_inside, double eps_outside, double weight_decay, int maximize)

cdef enum:
    CROSS_ENTROPY = 0
    HINGE = 1
    REGRESSION = 2


cdef inline bint _moves(const floating* g, Py_ssize_t n) noexcept nogil:
    """Whether the row gradient has a non-zero (or NaN) entry: rows without touch no feature."""
    cdef Py_ssize_t c
    for c in range(n):
        if g[c] != 0:
            return True
    return False


ctypedef struct Job:
    # One gradient call: what its parallel parts need. Arrays are float* or double* (is_double), int* or
    # long long* (index64); the scalars are held as double and cast back to the arrays' dtype, which is
    # exact (they arrive in that dtype).
    int kind
    bint is_double, index64, squared
    const void* data
    const void* indices
    const void* indptr
    const Py_ssize_t* rows
    Py_ssize_t n_batch, n_features, n_outputs, rows_per_chunk, n_parts
    const Py_ssize_t* y
    const void* targets
    int point
    const void* class_weight
    const void* row_weight
    void* coef_t
    const void* intercept
    double weight_total, grad_scale, label_smoothing, margin, scale
    void* grad_scores
    void* loss_out
    void* grad_coef_t
    unsigned char* seen
    void* scratch


cdef void _score_rows(Job* job, Py_ssize_t k, floating* dtype, index_t* index_type) noexcept nogil:
    """Chunk k of the batch: each row's scores from its stored values, its loss row and gradient g."""
    cdef const floating* data = <const floating*> job.data
    cdef const index_t* indices = <const index_t*> job.indices
    cdef const index_t* indptr = <const index_t*> job.indptr
    cdef const floating* row_weight = <const floating*> job.row_weight
    cdef const floating* coef_t = <const floating*> job.coef_t
    cdef const floating* intercept = <const floating*> job.intercept
    cdef floating* loss_out = <floating*> job.loss_out
    cdef floating* scores = <floating*> job.scratch + k * job.n_outputs
    cdef floating grad_scale = <floating> job.grad_scale, scale = <floating> job.scale
    cdef floating margin = <floating> job.margin, weight, value, m, coef
    cdef Py_ssize_t n_outputs = job.n_outputs, i, c, p, r
    cdef Py_ssize_t lo = k * job.rows_per_chunk
    cdef Py_ssize_t hi = lo + job.rows_per_chunk if lo + job.rows_per_chunk < job.n_batch else job.n_batch
    cdef floating* g
    cdef const floating* w
    for i in range(lo, hi):
        r = job.rows[i]
        g = <floating*> job.grad_scores + i * n_outputs
        weight = row_weight[r]
        if weight == 0:  # no loss, no gradient, not even 0 * NaN
            loss_out[i] = 0
            for c in range(n_outputs):
                g[c] = 0
            continue
        for c in range(n_outputs):
            scores[c] = 0
        for p in range(indptr[r], indptr[r + 1]):
            value = data[p]
            w = coef_t + <Py_ssize_t> indices[p] * n_outputs
            for c in range(n_outputs):
                scores[c] = scores[c] + value * w[c]
        for c in range(n_outputs):
            scores[c] = scale * scores[c] + intercept[c]  # scale: 1 but in the in-place SGD (exact then)
        coef = weight * grad_scale
        if job.kind == CROSS_ENTROPY:
            m = scores[0]
            for c in range(1, n_outputs):
                m = scores[c] if scores[c] > m else m
            for c in range(n_outputs):
                g[c] = scores[c] - m
            _exp_inplace(g, n_outputs)
            loss_out[i] = weight * _cross_entropy_hard_row(scores, g, n_outputs, job.y[r], m,
                                                           <const floating*> job.class_weight,
                                                           <floating> job.weight_total,
                                                           <floating> job.label_smoothing, coef)
        elif job.kind == REGRESSION:
            loss_out[i] = weight * _regression_row(scores, <const floating*> job.targets + r * n_outputs, n_outputs,
                                                   job.point, margin, coef, g)
        else:
            _hinge_rows(scores, job.y + r, &weight, grad_scale, 1, n_outputs, margin, job.squared, loss_out + i, g)


cdef void _add_rows(Job* job, Py_ssize_t part, floating* dtype, index_t* index_type) noexcept nogil:
    """Part ``part`` of ``n_parts``: the gradient terms of the features in its range, in batch order."""
    cdef const floating* data = <const floating*> job.data
    cdef const index_t* indices = <const index_t*> job.indices
    cdef const index_t* indptr = <const index_t*> job.indptr
    cdef floating* grad_coef_t = <floating*> job.grad_coef_t
    cdef Py_ssize_t n_outputs = job.n_outputs, i, c, p, r, j
    cdef Py_ssize_t low = part * job.n_features // job.n_parts
    cdef Py_ssize_t high = (part + 1) * job.n_features // job.n_parts
    cdef floating value
    cdef const floating* g
    cdef floating* target
    for i in range(job.n_batch):
        g = <const floating*> job.grad_scores + i * n_outputs
        if not _moves(g, n_outputs):
            continue
        r = job.rows[i]
        for p in range(indptr[r], indptr[r + 1]):
            j = indices[p]
            if j < low or j >= high:
                continue
            job.seen[j] = 1
            value = data[p]
            target = grad_coef_t + j * n_outputs
            for c in range(n_outputs):
                target[c] = target[c] + g[c] * value


cdef void _score_task(void* ctx, Py_ssize_t k) noexcept nogil:
    cdef Job* job = <Job*> ctx
    if job.is_double:
        if job.index64:
            _score_rows(job, k, <double*> NULL, <long long*> NULL)
        else:
            _score_rows(job, k, <double*> NULL, <int*> NULL)
    elif job.index64:
        _score_rows(job, k, <float*> NULL, <long long*> NULL)
    else:
        _score_rows(job, k, <float*> NULL, <int*> NULL)


cdef void _add_task(void* ctx, Py_ssize_t part) noexcept nogil:
    cdef Job* job = <Job*> ctx
    if job.is_double:
        if job.index64:
            _add_rows(job, part, <double*> NULL, <long long*> NULL)
        else:
            _add_rows(job, part, <double*> NULL, <int*> NULL)
    elif job.index64:
        _add_rows(job, part, <float*> NULL, <long long*> NULL)
    else:
        _add_rows(job, part, <float*> NULL, <int*> NULL)


cdef Py_ssize_t _step_or_add(const floating* data, const index_t* indices, const index_t* indptr,
                             const Py_ssize_t* rows, Py_ssize_t n_batch, floating* coef_t, Py_ssize_t n_features,
                             Py_ssize_t n_outputs, floating* intercept, const floating* grad_scores,
                             Py_ssize_t* touched, unsigned char* seen, floating* sgd, floating* grad_coef_t,
                             floating* grad_intercept, Job* job, int n_threads) noexcept nogil:
    """After the scores: the in-place SGD step (``sgd[0] > 0``), or the weight gradient on the touched rows."""
    cdef floating lr = sgd[0], scale, step, factor, value
    cdef bint fit_intercept = sgd[2] != 0
    cdef Py_ssize_t i, c, j, p, r, n_touched = 0
    cdef const floating* g
    cdef floating* target
    if lr > 0:
        scale = sgd[3] * sgd[1]
        if scale < 1e-6:  # fold the scale in before V grows too large (rare: O(n_features) once)
            for j in range(n_features * n_outputs):
                coef_t[j] = coef_t[j] * scale
            scale = 1
        sgd[3] = scale
        step = lr / scale
        for i in range(n_batch):
            r = rows[i]
            g = grad_scores + i * n_outputs
            if not _moves(g, n_outputs):
                continue
            if fit_intercept:
                for c in range(n_outputs):
                    intercept[c] = intercept[c] - lr * g[c]
            for p in range(indptr[r], indptr[r + 1]):
                factor = step * data[p]
                target = coef_t + <Py_ssize_t> indices[p] * n_outputs
                for c in range(n_outputs):
                    target[c] = target[c] - factor * g[c]
        return 0
    for c in range(n_outputs):
        grad_intercept[c] = 0
    for i in range(n_batch):
        g = grad_scores + i * n_outputs
        if _moves(g, n_outputs):
            for c in range(n_outputs):
                grad_intercept[c] = grad_intercept[c] + g[c]
    if n_threads > 1:
        # each thread adds the terms of its own range of features, in batch order: every gradient row is summed
        # in the same order as on one thread (the same bits); the touched rows come out in feature order
        job.n_parts = n_threads
        parallel_for(_add_task, job, n_threads, n_threads)
        for j in range(n_features):
            if seen[j]:
                touched[n_touched] = j
                n_touched = n_touched + 1
        return n_touched
    for i in range(n_batch):
        r = rows[i]
        g = grad_scores + i * n_outputs
        if not _moves(g, n_outputs):  # a zero-weight row, or a hinge row with every margin met
            continue
        for p in range(indptr[r], indptr[r + 1]):
            j = indices[p]
            if not seen[j]:
                seen[j] = 1
                touched[n_touched] = j
                n_touched = n_touched + 1
            value = data[p]
            target = grad_coef_t + j * n_outputs
            for c in range(n_outputs):
                target[c] = target[c] + g[c] * value
    return n_touched


cdef Py_ssize_t _run(int kind, const floating[::1] data, const index_t[::1] indices, const index_t[::1] indptr,
                     const Py_ssize_t[::1] rows, const Py_ssize_t[::1] y, const floating[:, ::1] targets, int point,
                     const floating[::1] class_weight, const floating[::1] row_weight, floating[:, ::1] coef_t,
                     floating[::1] intercept, floating grad_scale, floating label_smoothing, floating margin,
                     bint squared, floating[:, ::1] grad_scores, Py_ssize_t[::1] touched, Py_ssize_t n_previous,
                     unsigned char[::1] seen, floating[::1] sgd, floating[::1] loss_out,
                     floating[:, ::1] grad_coef_t, floating[::1] grad_intercept, int n_threads) except -1:
    cdef Py_ssize_t n_outputs = coef_t.shape[1], n_batch = rows.shape[0], j, t, c, n_touched = 0
    # fixed chunks of FASTLC_CHUNK_ROWS rows (a function of the batch size only), each with its score row
    cdef Py_ssize_t n_chunks = max(1, (n_batch + FASTLC_CHUNK_ROWS - 1) // FASTLC_CHUNK_ROWS)
    cdef Job job
    cdef floating weight_total = 0
    for j in range(class_weight.shape[0]):
        weight_total = weight_total + class_weight[j]
    job.scratch = malloc(n_chunks * n_outputs * sizeof(floating))
    if job.scratch == NULL:
        raise MemoryError("sparse linear gradient: could not allocate the score rows")
    job.kind = kind
    job.is_double = floating is double
    job.index64 = index_t is longlong
    job.squared = squared
    job.data = &data[0] if data.shape[0] else NULL
    job.indices = &indices[0] if indices.shape[0] else NULL
    job.indptr = &indptr[0]
    job.rows = &rows[0] if n_batch else NULL
    job.n_batch = n_batch
    job.n_features = coef_t.shape[0]
    job.n_outputs = n_outputs
    job.rows_per_chunk = FASTLC_CHUNK_ROWS
    job.y = &y[0]
    job.targets = &targets[0, 0]
    job.point = point
    job.class_weight = &class_weight[0]
    job.row_weight = &row_weight[0]
    job.coef_t = &coef_t[0, 0]
    job.intercept = &intercept[0]
    job.weight_total = weight_total
    job.grad_scale = grad_scale
    job.label_smoothing = label_smoothing
    job.margin = margin
    job.scale = sgd[3]
    job.grad_scores = &grad_scores[0, 0]
    job.loss_out = &loss_out[0]
    job.grad_coef_t = &grad_coef_t[0, 0]
    job.seen = &seen[0]
    with nogil:
        for t in range(n_previous):
            j = touched[t]
            seen[j] = 0
            for c in range(n_outputs):
                grad_coef_t[j, c] = 0
        if n_batch:
            parallel_for(_score_task, &job, n_chunks, n_threads)
        n_touched = _step_or_add(&data[0] if data.shape[0] else NULL, &indices[0] if indices.shape[0] else NULL,
                                 &indptr[0], &rows[0] if n_batch else NULL, n_batch, &coef_t[0, 0],
                                 coef_t.shape[0], n_outputs, &intercept[0], &grad_scores[0, 0], &touched[0],
                                 &seen[0], &sgd[0], &grad_coef_t[0, 0], &grad_intercept[0], &job, n_threads)
    free(job.scratch)
    return n_touched


def sparse_linear_cross_entropy_gradient(const floating[::1] data, const index_t[::1] indices,
                                         const index_t[::1] indptr, const Py_ssize_t[::1] rows,
                                         const Py_ssize_t[::1] y, const floating[::1] class_weight,
                                         const floating[::1] row_weight, floating[:, ::1] coef_t,
                                         floating[::1] intercept, floating grad_scale, floating label_smoothing,
                                         floating[:, ::1] grad_scores, Py_ssize_t[::1] touched, Py_ssize_t n_previous,
                                         seen, floating[::1] sgd, floating[::1] loss_out,
                                         floating[:, ::1] grad_coef_t, floating[::1] grad_intercept, int n_threads):
    cdef unsigned char[::1] marks = seen.view(np.uint8)
    # targets and point are unused by the classifiers: grad_scores stands in for targets (right type)
    return _run(CROSS_ENTROPY, data, indices, indptr, rows, y, grad_scores, 0, class_weight, row_weight, coef_t,
                intercept, grad_scale, label_smoothing, 0, False, grad_scores, touched, n_previous,
                marks, sgd, loss_out, grad_coef_t, grad_intercept, n_threads)


def sparse_linear_hinge_gradient(const floating[::1] data, const index_t[::1] indices, const index_t[::1] indptr,
                                 const Py_ssize_t[::1] rows, const Py_ssize_t[::1] y, const floating[::1] row_weight,
                                 floating[:, ::1] coef_t, floating[::1] intercept, floating grad_scale,
                                 floating margin, bint squared, floating[:, ::1] grad_scores,
                                 Py_ssize_t[::1] touched, Py_ssize_t n_previous, seen, floating[::1] sgd,
                                 floating[::1] loss_out, floating[:, ::1] grad_coef_t, floating[::1] grad_intercept,
                                 int n_threads):
    cdef unsigned char[::1] marks = seen.view(np.uint8)
    # class_weight and label_smoothing are unused by the hinge: placeholders of the right types
    return _run(HINGE, data, indices, indptr, rows, y, grad_scores, 0, intercept, row_weight, coef_t, intercept,
                grad_scale, 0, margin, squared, grad_scores, touched, n_previous, marks, sgd, loss_out,
                grad_coef_t, grad_intercept, n_threads)


def sparse_linear_regression_gradient(const floating[::1] data, const index_t[::1] indices,
                                      const index_t[::1] indptr, const Py_ssize_t[::1] rows,
                                      const floating[:, ::1] targets, const floating[::1] row_weight,
                                      floating[:, ::1] coef_t, floating[::1] intercept, floating grad_scale,
                                      int point, floating param, floating[:, ::1] grad_scores,
                                      Py_ssize_t[::1] touched, Py_ssize_t n_previous, seen, floating[::1] sgd,
                                      floating[::1] loss_out, floating[:, ::1] grad_coef_t,
                                      floating[::1] grad_intercept, int n_threads):
    cdef unsigned char[::1] marks = seen.view(np.uint8)
    # the labels and class weights are unused by the regressor: rows and intercept stand in (right types)
    return _run(REGRESSION, data, indices, indptr, rows, rows, targets, point, intercept, row_weight, coef_t,
                intercept, grad_scale, 0, param, False, grad_scores, touched, n_previous, marks, sgd,
                loss_out, grad_coef_t, grad_intercept, n_threads)


# ---------------------------------------------------------------------------- lazy Adagrad rows


# the touched share (1 / FASTLC_SPARSE_SWEEP_FROM of the features) from which the rows are visited in feature
# order (a sweep of ``seen``: the memory streams forward), and feature rows per parallel block (_constants.h)
cdef extern from "_constants.h":
    enum: FASTLC_SPARSE_SWEEP_FROM
    enum: FASTLC_SPARSE_SWEEP_ROWS


ctypedef struct AdagradJob:
    bint is_double, sweep
    Py_ssize_t n_outputs, n_touched, n_features
    const Py_ssize_t* touched
    unsigned char* seen
    void* grad
    void* params
    void* sum_sq
    double clr, eps, weight_decay


cdef inline void _adagrad_row(AdagradJob* job, Py_ssize_t j, floating* dtype) noexcept nogil:
    """Adagrad on feature row j (with the weight decay), then its gradient row cleared."""
    cdef Py_ssize_t base = j * job.n_outputs, c
    cdef floating* grad = <floating*> job.grad + base
    if floating is float:
        fastlc_adagrad_f32(grad, <float*> job.params + base, <float*> job.sum_sq + base, job.n_outputs,
                           <float> job.clr, 0, <float> job.eps, <float> job.weight_decay, 0)
    else:
        fastlc_adagrad_f64(grad, <double*> job.params + base, <double*> job.sum_sq + base, job.n_outputs,
                           job.clr, 0, job.eps, job.weight_decay, 0)
    for c in range(job.n_outputs):
        grad[c] = 0


cdef void _adagrad_block(void* ctx, Py_ssize_t k) noexcept nogil:
    """Block k: FASTLC_SPARSE_SWEEP_ROWS entries of the touched list, or as many features of the sweep."""
    cdef AdagradJob* job = <AdagradJob*> ctx
    cdef Py_ssize_t lo = k * FASTLC_SPARSE_SWEEP_ROWS, t, j
    cdef Py_ssize_t hi = lo + FASTLC_SPARSE_SWEEP_ROWS
    if job.sweep:
        hi = hi if hi < job.n_features else job.n_features
        for j in range(lo, hi):
            if job.seen[j]:
                if job.is_double:
                    _adagrad_row(job, j, <double*> NULL)
                else:
                    _adagrad_row(job, j, <float*> NULL)
                job.seen[j] = 0
    else:
        hi = hi if hi < job.n_touched else job.n_touched
        for t in range(lo, hi):
            j = job.touched[t]
            if job.is_double:
                _adagrad_row(job, j, <double*> NULL)
            else:
                _adagrad_row(job, j, <float*> NULL)
            job.seen[j] = 0


def sparse_adagrad_rows(Py_ssize_t n_outputs, double clr, double eps, double weight_decay,
                        const Py_ssize_t[::1] touched, Py_ssize_t n_touched, floating[::1] grad, seen,
                        floating[::1] params, floating[::1] sum_sq, int n_threads):
    """The lazy Adagrad step in place on the touched feature rows (with ``weight_decay``) and on the n_outputs
    tail (the intercepts, without); then those rows of ``grad`` and their ``seen`` marks are cleared (see the
    Numba kernel). Rows are independent: the same bits on any number of threads. The scalars arrive in the
    arrays' dtype (held here as double, exactly; a fused scalar first would not pick the float32 version)."""
    cdef unsigned char[::1] marks = seen.view(np.uint8)
    cdef AdagradJob job
    cdef Py_ssize_t n_features = marks.shape[0], n_blocks
    job.is_double = floating is double
    job.n_outputs = n_outputs
    job.n_touched = n_touched
    job.n_features = n_features
    job.touched = &touched[0]
    job.seen = &marks[0]
    job.grad = &grad[0]
    job.params = &params[0]
    job.sum_sq = &sum_sq[0]
    job.clr = clr
    job.eps = eps
    job.weight_decay = weight_decay
    job.sweep = n_touched * FASTLC_SPARSE_SWEEP_FROM >= n_features
    n_blocks = ((n_features if job.sweep else n_touched) + FASTLC_SPARSE_SWEEP_ROWS - 1) // FASTLC_SPARSE_SWEEP_ROWS
    with nogil:
        if n_blocks:
            parallel_for(_adagrad_block, &job, n_blocks, n_threads)
        job.weight_decay = 0  # the intercepts: no decay
        if floating is float:
            _adagrad_row(&job, n_features, <float*> NULL)
        else:
            _adagrad_row(&job, n_features, <double*> NULL)


# ---------------------------------------------------------------------------- cumulative L1 truncation


cdef inline void _truncate_row(floating* weights, floating* applied, Py_ssize_t base, Py_ssize_t n_outputs,
                               floating u, floating scale) noexcept nogil:
    """Cumulative L1 truncation (Tsuruoka et al. 2009; see the Numba kernel's ``_truncate_row``) of the row at
    ``base``: each weight moves towards 0 by the penalty it could have had (``u``) minus what it had
    (``applied``, true units), never past 0."""
    cdef Py_ssize_t c
    cdef floating z
    for c in range(base, base + n_outputs):
        z = weights[c]
        if scale * z > 0:
            weights[c] = max(<floating> 0, z - (u + applied[c]) / scale)
        elif scale * z < 0:
            weights[c] = min(<floating> 0, z + (u - applied[c]) / scale)
        applied[c] = applied[c] + scale * (weights[c] - z)


def sparse_l1_catch_up(const index_t[::1] indices, const index_t[::1] indptr, const Py_ssize_t[::1] rows,
                       Py_ssize_t n_outputs, double u, double scale, Py_ssize_t[::1] touched, seen,
                       floating[::1] weights, floating[::1] applied, int n_threads):
    """Truncate the feature rows of the batch once each, at the penalty so far (see the Numba kernel)."""
    cdef unsigned char[::1] marks = seen.view(np.uint8)
    cdef Py_ssize_t i, p, r, j, t, n_touched = 0
    with nogil:
        for i in range(rows.shape[0]):
            r = rows[i]
            for p in range(indptr[r], indptr[r + 1]):
                j = indices[p]
                if not marks[j]:
                    marks[j] = 1
                    touched[n_touched] = j
                    n_touched = n_touched + 1
                    _truncate_row(&weights[0], &applied[0], j * n_outputs, n_outputs, <floating> u,
                                  <floating> scale)
        for t in range(n_touched):
            marks[touched[t]] = 0


def sparse_l1_truncate_all(Py_ssize_t n_outputs, double u, double scale, floating[::1] weights,
                           floating[::1] applied, int n_threads):
    """Truncate every row (the epoch's end)."""
    cdef Py_ssize_t j
    with nogil:
        for j in range(weights.shape[0] // n_outputs):
            _truncate_row(&weights[0], &applied[0], j * n_outputs, n_outputs, <floating> u, <floating> scale)


# ---------------------------------------------------------------------------- packed rows (the other lazy steps)


def sparse_gather_rows(const floating[::1] flat, Py_ssize_t n_outputs, const Py_ssize_t[::1] touched,
                       Py_ssize_t n_touched, floating[::1] out, int n_threads):
    """out = [the rows touched[:n_touched] of flat's (n_features, n_outputs) head, then its n_outputs tail]."""
    cdef Py_ssize_t t, n_head = flat.shape[0] - n_outputs
    with nogil:
        for t in range(n_touched):
            memcpy(&out[t * n_outputs], &flat[touched[t] * n_outputs], n_outputs * sizeof(floating))
        memcpy(&out[n_touched * n_outputs], &flat[n_head], n_outputs * sizeof(floating))


def sparse_scatter_rows(const floating[::1] packed, Py_ssize_t n_outputs, const Py_ssize_t[::1] touched,
                        Py_ssize_t n_touched, floating[::1] flat, int n_threads):
    """The inverse of sparse_gather_rows: write ``packed`` back into ``flat``."""
    cdef Py_ssize_t t, n_head = flat.shape[0] - n_outputs
    with nogil:
        for t in range(n_touched):
            memcpy(&flat[touched[t] * n_outputs], &packed[t * n_outputs], n_outputs * sizeof(floating))
        memcpy(&flat[n_head], &packed[n_touched * n_outputs], n_outputs * sizeof(floating))
