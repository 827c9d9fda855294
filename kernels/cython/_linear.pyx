# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Fused mini-batch gradient of a linear classifier, in Cython.

For the batch rows ``rows`` (indices into the full C-contiguous ``X``) one
call computes scores = W x_i + b, the loss row and its gradient g_i, and
accumulates dW += g_i x_i^T, db += g_i, reading each sample row once, straight
from ``X`` (no gathered copy of the batch, no (n_batch, C) score matrix round
trip through BLAS). See _linear.h for the grouping of rows by 4.

Determinism: the batch is cut into fixed chunks of CHUNK_ROWS rows (a function
of the batch size only); each chunk sums its rows into its own gradient
buffer, and the buffers are added in chunk order at the end. The result is
therefore the same bits for any ``n_threads``.

No validation here (layer 1): C-contiguous float32/float64 arrays of matching
dtype, ``rows`` in [0, n_samples), labels in [0, n_classes).
"""
from cython.parallel cimport prange
from libc.math cimport log, logf
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memset

ctypedef fused floating:
    float
    double

cdef extern from "_linear.h" nogil:
    float fastlc_expf(float x)
    double fastlc_exp(double x)
    void fastlc_dot4_f32(const float* w, const float* x0, const float* x1, const float* x2, const float* x3,
                         Py_ssize_t n, float* out)
    void fastlc_dot4_f64(const double* w, const double* x0, const double* x1, const double* x2, const double* x3,
                         Py_ssize_t n, double* out)
    void fastlc_axpy4_f32(float* y, const float* x0, const float* x1, const float* x2, const float* x3,
                          float a0, float a1, float a2, float a3, Py_ssize_t n)
    void fastlc_axpy4_f64(double* y, const double* x0, const double* x1, const double* x2, const double* x3,
                          double a0, double a1, double a2, double a3, Py_ssize_t n)
    void fastlc_add_f32(float* y, const float* x, Py_ssize_t n)
    void fastlc_add_f64(double* y, const double* x, Py_ssize_t n)

cdef enum:
    # rows per chunk: the unit of parallel work and of the fixed-order reduction
    CHUNK_ROWS = 64
    # rows handled together (see _linear.h); fixed, the C helpers take 4 rows
    GROUP = 4
    CROSS_ENTROPY = 0
    HINGE = 1


cdef inline floating _exp(floating x) noexcept nogil:
    if floating is float:
        return fastlc_expf(x)
    else:
        return fastlc_exp(x)


cdef inline floating _log(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


cdef inline floating _cross_entropy_row(const floating* s, floating* g, Py_ssize_t n_classes, Py_ssize_t correct,
                                        const floating* class_weight, floating weight_total, floating keep,
                                        floating smooth, floating label_smoothing, floating coef) noexcept nogil:
    """Loss of one row (not yet times its weight); coef * dL/ds into g (same algebra as _losses.pyx)."""
    cdef Py_ssize_t j
    cdef floating row_max = s[0], total = 0, w_correct, q_sum, loss, scale, weighted_shift
    for j in range(1, n_classes):
        row_max = s[j] if s[j] > row_max else row_max
    for j in range(n_classes):
        g[j] = _exp(s[j] - row_max)
        total = total + g[j]
    w_correct = class_weight[correct]
    q_sum = keep * w_correct + smooth * weight_total
    loss = q_sum * _log(total) - keep * w_correct * (s[correct] - row_max)
    scale = coef * q_sum / total
    if label_smoothing != 0:
        weighted_shift = 0
        for j in range(n_classes):
            if class_weight[j] != 0:  # 0 * -inf must not turn the loss into NaN
                weighted_shift = weighted_shift + class_weight[j] * (s[j] - row_max)
            g[j] = scale * g[j] - coef * smooth * class_weight[j]
        loss = loss - smooth * weighted_shift
    else:
        for j in range(n_classes):
            g[j] = scale * g[j]
    g[correct] = g[correct] - coef * keep * w_correct
    return loss


cdef inline floating _hinge_row(const floating* s, floating* g, Py_ssize_t n_classes, Py_ssize_t correct,
                                floating margin, bint squared, floating coef) noexcept nogil:
    """Weston-Watkins hinge of one row (not yet times its weight); coef * dL/ds into g."""
    cdef Py_ssize_t j
    cdef floating offset = margin - s[correct], loss = 0, slope_sum = 0, z, slope
    for j in range(n_classes):
        z = s[j] + offset
        if j == correct or z <= 0:
            # margin met (also at the kink z == 0): no loss, no gradient
            slope = 0
            z = 0
        elif squared:
            slope = 2 * z
            z = z * z
        else:
            slope = z * 0 + 1  # 1 for z > 0; NaN stays NaN
        loss = loss + z
        slope_sum = slope_sum + slope
        g[j] = coef * slope
    g[correct] = -coef * slope_sum
    return loss


cdef void _chunk_gradient(int kind, const floating* X, Py_ssize_t n_features, const Py_ssize_t* rows,
                          Py_ssize_t lo, Py_ssize_t hi, const Py_ssize_t* y, const floating* row_weight,
                          const floating* W, const floating* b, Py_ssize_t n_classes, floating grad_scale,
                          const floating* class_weight, floating weight_total, floating label_smoothing,
                          floating margin, bint squared, const floating* zeros, floating* scratch,
                          floating* loss_out, floating* dW, floating* db) noexcept nogil:
    """Batch rows [lo, hi): losses into loss_out[lo:hi], the summed gradient into dW, db (overwritten)."""
    cdef floating* scores = scratch              # (GROUP, n_classes)
    cdef floating* g = scratch + GROUP * n_classes  # (GROUP, n_classes)
    cdef const floating* x[GROUP]
    cdef Py_ssize_t slot[GROUP]
    cdef floating dots[GROUP]
    cdef Py_ssize_t i = lo, a, c, r, n_active
    cdef floating coef, loss
    cdef floating smooth = label_smoothing / n_classes, keep = 1 - label_smoothing
    memset(dW, 0, n_classes * n_features * sizeof(floating))
    memset(db, 0, n_classes * sizeof(floating))
    while i < hi:
        # the next GROUP rows that take part (weight 0: no loss, no gradient, not even 0 * NaN)
        n_active = 0
        while i < hi and n_active < GROUP:
            r = rows[i]
            if row_weight[r] == 0:
                loss_out[i] = 0
            else:
                slot[n_active] = i
                x[n_active] = X + r * n_features
                n_active = n_active + 1
            i = i + 1
        if n_active == 0:
            break
        for a in range(n_active, GROUP):
            x[a] = zeros
        for c in range(n_classes):
            if floating is float:
                fastlc_dot4_f32(W + c * n_features, x[0], x[1], x[2], x[3], n_features, dots)
            else:
                fastlc_dot4_f64(W + c * n_features, x[0], x[1], x[2], x[3], n_features, dots)
            for a in range(GROUP):
                scores[a * n_classes + c] = dots[a] + b[c]
        for a in range(GROUP):
            if a >= n_active:
                for c in range(n_classes):
                    g[a * n_classes + c] = 0
                continue
            r = rows[slot[a]]
            coef = row_weight[r] * grad_scale
            if kind == CROSS_ENTROPY:
                loss = _cross_entropy_row(scores + a * n_classes, g + a * n_classes, n_classes, y[r], class_weight,
                                          weight_total, keep, smooth, label_smoothing, coef)
            else:
                loss = _hinge_row(scores + a * n_classes, g + a * n_classes, n_classes, y[r], margin, squared, coef)
            loss_out[slot[a]] = row_weight[r] * loss
        for c in range(n_classes):
            # the hinge gradient is sparse (margins met): skip classes no row of the group moves.
            # A row with a NaN feature has NaN scores, hence NaN (nonzero) coefficients, so NaN still
            # propagates. (An infinite feature whose class has coefficient 0 adds 0 here, not 0 * inf.)
            if g[c] == 0 and g[n_classes + c] == 0 and g[2 * n_classes + c] == 0 and g[3 * n_classes + c] == 0:
                continue
            if floating is float:
                fastlc_axpy4_f32(dW + c * n_features, x[0], x[1], x[2], x[3], g[c], g[n_classes + c],
                                 g[2 * n_classes + c], g[3 * n_classes + c], n_features)
            else:
                fastlc_axpy4_f64(dW + c * n_features, x[0], x[1], x[2], x[3], g[c], g[n_classes + c],
                                 g[2 * n_classes + c], g[3 * n_classes + c], n_features)
            for a in range(n_active):
                db[c] = db[c] + g[a * n_classes + c]


cdef int _fused_gradient(int kind, const floating[:, ::1] X, const Py_ssize_t[::1] rows, const Py_ssize_t[::1] y,
                         const floating[::1] class_weight, const floating[::1] row_weight,
                         const floating[:, ::1] coef, const floating[::1] intercept, floating grad_scale,
                         floating label_smoothing, floating margin, bint squared, floating[::1] loss_out,
                         floating[:, ::1] grad_coef, floating[::1] grad_intercept, int n_threads) noexcept nogil:
    """Returns 0, or -1 when the scratch memory could not be allocated."""
    cdef Py_ssize_t n_batch = rows.shape[0], n_features = X.shape[1], n_classes = coef.shape[0]
    cdef Py_ssize_t n_chunks = (n_batch + CHUNK_ROWS - 1) // CHUNK_ROWS
    cdef Py_ssize_t block = n_classes * n_features + n_classes  # one chunk's (dW, db)
    cdef Py_ssize_t k, j, lo, hi
    cdef floating weight_total = 0
    cdef floating* dW
    cdef floating* db
    cdef floating* partials
    cdef floating* zeros
    cdef floating* scratch
    for j in range(class_weight.shape[0]):
        weight_total = weight_total + class_weight[j]
    if n_batch == 0:
        memset(&grad_coef[0, 0], 0, n_classes * n_features * sizeof(floating))
        memset(&grad_intercept[0], 0, n_classes * sizeof(floating))
        return 0
    # chunk 0 writes straight into the outputs; chunks 1.. into partials
    partials = <floating*> malloc(((n_chunks - 1) * block + n_chunks * 2 * GROUP * n_classes + 1) * sizeof(floating))
    zeros = <floating*> calloc(n_features, sizeof(floating))
    if partials == NULL or zeros == NULL:
        free(partials)
        free(zeros)
        return -1
    scratch = partials + (n_chunks - 1) * block
    for k in prange(n_chunks, schedule="static", num_threads=n_threads):
        lo = k * CHUNK_ROWS
        hi = min(lo + CHUNK_ROWS, n_batch)
        if k == 0:
            dW = &grad_coef[0, 0]
            db = &grad_intercept[0]
        else:
            dW = partials + (k - 1) * block
            db = dW + n_classes * n_features
        _chunk_gradient(kind, &X[0, 0], n_features, &rows[0], lo, hi, &y[0], &row_weight[0], &coef[0, 0],
                        &intercept[0], n_classes, grad_scale, &class_weight[0], weight_total, label_smoothing,
                        margin, squared, zeros, scratch + k * 2 * GROUP * n_classes, &loss_out[0], dW, db)
    # fixed-order sum of the chunks: the same bits whatever the thread count
    for k in range(1, n_chunks):
        dW = partials + (k - 1) * block
        if floating is float:
            fastlc_add_f32(&grad_coef[0, 0], dW, n_classes * n_features)
            fastlc_add_f32(&grad_intercept[0], dW + n_classes * n_features, n_classes)
        else:
            fastlc_add_f64(&grad_coef[0, 0], dW, n_classes * n_features)
            fastlc_add_f64(&grad_intercept[0], dW + n_classes * n_features, n_classes)
    free(partials)
    free(zeros)
    return 0


def linear_cross_entropy_gradient(const floating[:, ::1] X, const Py_ssize_t[::1] rows, const Py_ssize_t[::1] y,
                                  const floating[::1] class_weight, const floating[::1] row_weight,
                                  const floating[:, ::1] coef, const floating[::1] intercept, floating grad_scale,
                                  floating label_smoothing, floating[::1] loss_out, floating[:, ::1] grad_coef,
                                  floating[::1] grad_intercept, int n_threads):
    cdef int status
    with nogil:
        status = _fused_gradient(CROSS_ENTROPY, X, rows, y, class_weight, row_weight, coef, intercept, grad_scale,
                                 label_smoothing, 0, False, loss_out, grad_coef, grad_intercept, n_threads)
    if status != 0:
        raise MemoryError("linear_cross_entropy_gradient: could not allocate the per-chunk gradient buffers")


def linear_hinge_gradient(const floating[:, ::1] X, const Py_ssize_t[::1] rows, const Py_ssize_t[::1] y,
                          const floating[::1] row_weight, const floating[:, ::1] coef, const floating[::1] intercept,
                          floating grad_scale, floating margin, bint squared, floating[::1] loss_out,
                          floating[:, ::1] grad_coef, floating[::1] grad_intercept, int n_threads):
    cdef int status
    with nogil:
        # class_weight is unused by the hinge: pass the intercept as a placeholder of the right type
        status = _fused_gradient(HINGE, X, rows, y, intercept, row_weight, coef, intercept, grad_scale,
                                 0, margin, squared, loss_out, grad_coef, grad_intercept, n_threads)
    if status != 0:
        raise MemoryError("linear_hinge_gradient: could not allocate the per-chunk gradient buffers")
