# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Fused mini-batch gradient of a linear classifier, in Cython.

For the batch rows ``rows`` (indices into the full C-contiguous ``X``) one
call computes scores = W x_i + b, the loss row and its gradient g_i, and
accumulates dW += g_i x_i^T, db += g_i, reading each sample row once, straight
from ``X`` (no gathered copy of the batch, no (n_batch, C) score matrix round
trip through BLAS). See _linear.h for the grouping of rows by 4 and the
register tiles of the two feature-length passes.

Determinism: the batch is cut into fixed chunks of at most CHUNK_ROWS rows (a
function of the batch size only); each chunk sums its rows into its own gradient
buffer, and the buffers are added in chunk order at the end. The result is
therefore the same bits for any ``n_threads``.

No validation here (layer 1): C-contiguous float32/float64 arrays of matching
dtype, ``rows`` in [0, n_samples), labels in [0, n_classes).
"""
from libc.stdint cimport uintptr_t
from libc.string cimport memcpy, memset
from cpython.pycapsule cimport PyCapsule_GetPointer

ctypedef fused floating:
    float
    double

include "_threadpool.pxi"
include "_rowmath.pxi"
include "_regression_row.pxi"

include "_range_op.pxi"

cdef extern from "_linear.h" nogil:
    ctypedef struct fastlc_ahead:
        const char* row[4]
        Py_ssize_t r, off, row_bytes, credit, per_line
    int fastlc_linear_wide()
    void* fastlc_aligned_malloc(size_t n)
    void fastlc_aligned_free(void* p)
    void fastlc_scores4_f32(int wide, const float* W, const float* b, Py_ssize_t n_classes, const float** x,
                            Py_ssize_t n, Py_ssize_t ld, int first, float* scores, fastlc_ahead* ahead)
    void fastlc_scores4_f64(int wide, const double* W, const double* b, Py_ssize_t n_classes, const double** x,
                            Py_ssize_t n, Py_ssize_t ld, int first, double* scores, fastlc_ahead* ahead)
    void fastlc_grad4_f32(int wide, float* dW, Py_ssize_t n_classes, const float** x, Py_ssize_t n, Py_ssize_t ld,
                          const float* g, const Py_ssize_t* active, Py_ssize_t n_active, fastlc_ahead* ahead)
    void fastlc_grad4_f64(int wide, double* dW, Py_ssize_t n_classes, const double** x, Py_ssize_t n, Py_ssize_t ld,
                          const double* g, const Py_ssize_t* active, Py_ssize_t n_active, fastlc_ahead* ahead)
    void fastlc_add_f32(float* y, const float* x, Py_ssize_t n)
    void fastlc_add_f64(double* y, const double* x, Py_ssize_t n)

# FASTLC_CHUNK_ROWS (rows per chunk: the unit of parallel work and of the fixed-order reduction) and
# FASTLC_GROUP (rows handled together, see _linear.h; the C helpers take 4) come from _constants.h, the
# numbers of fastlc/_constants.py.
cdef enum:
    # bytes: the scratch rows and the gradient blocks start on cache lines (one vector on AVX-512)
    ALIGN = 64
    # bytes of a group's rows above which both passes take the features by blocks (see _chunk_gradient)
    GROUP_ROWS_IN_L1 = 16384
    CROSS_ENTROPY = 0
    HINGE = 1
    REGRESSION = 2


# Testing hook: 1 runs the portable tiles even where the AVX-512 ones would be
# chosen, so the test suite covers both builds on an AVX-512 machine.
cdef int _portable_only = 0


def _force_portable_tiles(bint portable):
    """Use the portable (non-AVX-512) tiles from now on if ``portable``; returns the previous setting.

    For the tests only: both builds must give the same results up to rounding.
    """
    global _portable_only
    previous = bool(_portable_only)
    _portable_only = portable
    return previous


cdef inline Py_ssize_t _round_up(Py_ssize_t n, Py_ssize_t multiple) noexcept nogil:
    return (n + multiple - 1) // multiple * multiple


cdef inline void _shift_by_max(const floating* s, floating* g, Py_ssize_t n_classes, floating* row_max) noexcept nogil:
    """g = s - max(s), the argument of the softmax's exp (taken for a whole group at once)."""
    cdef Py_ssize_t j
    cdef floating m = s[0]
    for j in range(1, n_classes):
        m = s[j] if s[j] > m else m
    for j in range(n_classes):
        g[j] = s[j] - m
    row_max[0] = m


cdef inline Py_ssize_t _feature_block(const floating** x, Py_ssize_t j0, Py_ssize_t block, Py_ssize_t n_features,
                                      const floating** x_block) noexcept nogil:
    """The block of features from j0 of the group's rows ``x`` into ``x_block``; returns its width."""
    cdef Py_ssize_t a
    for a in range(FASTLC_GROUP):
        x_block[a] = x[a] + j0
    return block if j0 + block < n_features else n_features - j0


cdef void _chunk_gradient(int kind, int wide, const floating* X, Py_ssize_t n_features, const Py_ssize_t* rows,
                          Py_ssize_t lo, Py_ssize_t hi, const Py_ssize_t* y, const floating* targets, int point,
                          const floating* row_weight,
                          const floating* W, const floating* b, Py_ssize_t n_classes, floating grad_scale,
                          const floating* class_weight, floating weight_total, floating label_smoothing,
                          floating margin, bint squared, const floating* zeros, floating* scratch,
                          floating* rows_copy, Py_ssize_t copy_stride, Py_ssize_t* active, floating* loss_out,
                          floating* dW, floating* db) noexcept nogil:
    """Batch rows [lo, hi): losses into loss_out[lo:hi], the summed gradient into dW, db (overwritten).

    Classifiers read the labels ``y``; the regressor (kind REGRESSION, ``n_classes`` = targets) the rows
    of ``targets`` (n_samples, n_classes) with the point loss ``point`` of threshold ``margin``.

    ``scratch`` holds 2 * FASTLC_GROUP * n_classes values, ``active`` n_classes indices, ``rows_copy``
    FASTLC_GROUP rows of ``copy_stride`` values starting on cache lines.
    """
    cdef floating* scores = scratch                        # (FASTLC_GROUP, n_classes)
    cdef floating* g = scratch + FASTLC_GROUP * n_classes  # (FASTLC_GROUP, n_classes)
    cdef const floating* x[FASTLC_GROUP]
    cdef Py_ssize_t slot[FASTLC_GROUP]
    cdef floating row_max[FASTLC_GROUP]
    cdef Py_ssize_t labels[FASTLC_GROUP]
    cdef floating weights[FASTLC_GROUP]
    cdef floating losses[FASTLC_GROUP]
    cdef Py_ssize_t i = lo, a, c, r, n_active, n_moved, j0, width
    cdef const floating* x_block[FASTLC_GROUP]
    cdef fastlc_ahead ahead
    # A vector load that straddles two cache lines costs two: the tiles read each row once per class
    # tile in each pass (scores, gradient), so a row not on a cache line boundary (numpy's large arrays
    # start 16 bytes past one) is copied once to an aligned row when it is read 3 times or more (same
    # values, same result). With one or two classes (a regressor's single target) it is read twice, and
    # the copy costs more than the straddling reads it saves.
    cdef bint copy_rows = n_classes > 2
    # Both passes read the group's rows once per tile of classes. Where they take more than half of a
    # 32 KB L1 (4 float64 rows of 784 features: 25 KB), each tile's loop would fetch them from L2 again:
    # the passes run over blocks of features instead, of whole cache lines (hence whole vectors). The
    # gradient pass makes the same additions in the same order for each value (same bits); a score is
    # the blocks' dot products added in order. Two blocks of 392 float64 features: 6% faster a batch
    # (one Zen 4 core) in the gradient pass, 4-6% more in the score pass; splitting the 12.5 KB of 4
    # float32 rows was 10% slower, so smaller groups of rows are not split.
    cdef Py_ssize_t n_blocks = (FASTLC_GROUP * n_features * sizeof(floating) + GROUP_ROWS_IN_L1 - 1) // GROUP_ROWS_IN_L1
    cdef Py_ssize_t block = _round_up((n_features + n_blocks - 1) // n_blocks, ALIGN // sizeof(floating))
    ahead.row_bytes = n_features * sizeof(floating)
    ahead.per_line = (n_classes + 1) // 2
    memset(dW, 0, n_classes * n_features * sizeof(floating))
    memset(db, 0, n_classes * sizeof(floating))
    while i < hi:
        # the next FASTLC_GROUP rows that take part (weight 0: no loss, no gradient, not even 0 * NaN)
        n_active = 0
        while i < hi and n_active < FASTLC_GROUP:
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
        for a in range(n_active):
            if copy_rows and <uintptr_t> x[a] % ALIGN != 0:
                memcpy(rows_copy + a * copy_stride, x[a], n_features * sizeof(floating))
                x[a] = rows_copy + a * copy_stride
        for a in range(n_active, FASTLC_GROUP):
            x[a] = zeros
        # the rows that follow, fetched while this group computes
        ahead.r = 0
        ahead.off = 0
        ahead.credit = 0
        for a in range(FASTLC_GROUP):
            ahead.row[a] = <const char*> (X + rows[i + a] * n_features if i + a < hi else zeros)
        j0 = 0
        while j0 < n_features:
            width = _feature_block(x, j0, block, n_features, x_block)
            if floating is float:
                fastlc_scores4_f32(wide, W + j0, b, n_classes, x_block, width, n_features, j0 == 0, scores, &ahead)
            else:
                fastlc_scores4_f64(wide, W + j0, b, n_classes, x_block, width, n_features, j0 == 0, scores, &ahead)
            j0 = j0 + width
        if kind == CROSS_ENTROPY:
            # the exps of the whole group in one vectorized call (a 10-class row alone is too short)
            for a in range(n_active):
                _shift_by_max(scores + a * n_classes, g + a * n_classes, n_classes, &row_max[a])
            _exp_inplace(g, n_active * n_classes)
        # the loss rows: the loss kernels' C functions (_rowmath.h), one formula for both
        for a in range(n_active):
            r = rows[slot[a]]
            labels[a] = y[r] if kind != REGRESSION else 0
            weights[a] = row_weight[r]
        if kind == REGRESSION:
            for a in range(n_active):
                losses[a] = weights[a] * _regression_row(
                    scores + a * n_classes, targets + rows[slot[a]] * n_classes, n_classes, point, margin,
                    weights[a] * grad_scale, g + a * n_classes)
        elif kind == CROSS_ENTROPY:
            for a in range(n_active):
                losses[a] = weights[a] * _cross_entropy_hard_row(
                    scores + a * n_classes, g + a * n_classes, n_classes, labels[a], row_max[a], class_weight,
                    weight_total, label_smoothing, weights[a] * grad_scale)
        else:
            _hinge_rows(scores, labels, weights, grad_scale, n_active, n_classes, margin, squared, losses, g)
        for a in range(n_active):
            loss_out[slot[a]] = losses[a]
        for c in range(n_active * n_classes, FASTLC_GROUP * n_classes):
            g[c] = 0
        # the hinge gradient is sparse (margins met): skip classes no row of the group moves.
        # A row with a NaN feature has NaN scores, hence NaN (nonzero) coefficients, so NaN still
        # propagates. (An infinite feature whose class has coefficient 0 in every row adds 0, not 0 * inf.)
        n_moved = 0
        for c in range(n_classes):
            if g[c] != 0 or g[n_classes + c] != 0 or g[2 * n_classes + c] != 0 or g[3 * n_classes + c] != 0:
                active[n_moved] = c
                n_moved = n_moved + 1
                for a in range(n_active):
                    db[c] = db[c] + g[a * n_classes + c]
        j0 = 0
        while j0 < n_features:
            width = _feature_block(x, j0, block, n_features, x_block)
            if floating is float:
                fastlc_grad4_f32(wide, dW + j0, n_classes, x_block, width, n_features, g, active, n_moved, &ahead)
            else:
                fastlc_grad4_f64(wide, dW + j0, n_classes, x_block, width, n_features, g, active, n_moved, &ahead)
            j0 = j0 + width


ctypedef struct Gradient:
    # One fused gradient call: what a chunk of it needs. Arrays are float* or
    # double* (is_double); the scalars are held as double and cast back to the
    # arrays' dtype, which is exact (they arrive in that dtype).
    int kind
    int wide
    bint is_double
    bint squared
    const void* X
    Py_ssize_t n_features, n_batch, n_classes
    const Py_ssize_t* rows
    const Py_ssize_t* y
    const void* targets
    int point
    const void* row_weight
    const void* W
    const void* b
    const void* class_weight
    double grad_scale, weight_total, label_smoothing, margin
    void* loss_out
    void* grad_coef
    void* grad_intercept
    # scratch: gradient blocks of chunks 1.. (chunk 0 writes straight into the outputs), then per chunk the
    # aligned row copies and the group's scores/gradients, then a row of zeros
    void* memory
    const void* zeros
    Py_ssize_t block, per_chunk, copy_stride, n_chunks_minus_one, rows_per_chunk
    Py_ssize_t* active
    # applied to each part of the flat gradient (from grad_coef on, see _after_op) once the part
    # is final, or NULL (see _range_op.h: the optimizer step, fused into the chunk sum)
    const fastlc_range_op* after


cdef void _gradient_chunk(Gradient* job, Py_ssize_t k, floating* kind) noexcept nogil:
    """Chunk k of the batch: rows [k * rows_per_chunk, (k + 1) * rows_per_chunk) into the chunk's own gradient
    block."""
    cdef Py_ssize_t lo = k * job.rows_per_chunk
    cdef Py_ssize_t hi = lo + job.rows_per_chunk if lo + job.rows_per_chunk < job.n_batch else job.n_batch
    cdef Py_ssize_t n_weights = job.n_classes * job.n_features
    cdef floating* memory = <floating*> job.memory
    cdef floating* chunk_memory = memory + (job.n_chunks_minus_one) * job.block + k * job.per_chunk
    cdef floating* dW
    cdef floating* db
    if k == 0:
        dW = <floating*> job.grad_coef
        db = <floating*> job.grad_intercept
    else:
        dW = memory + (k - 1) * job.block
        db = dW + n_weights
    _chunk_gradient(job.kind, job.wide, <const floating*> job.X, job.n_features, job.rows, lo, hi, job.y,
                    <const floating*> job.targets, job.point, <const floating*> job.row_weight, <const floating*> job.W, <const floating*> job.b,
                    job.n_classes, <floating> job.grad_scale, <const floating*> job.class_weight,
                    <floating> job.weight_total, <floating> job.label_smoothing, <floating> job.margin, job.squared,
                    <const floating*> job.zeros, chunk_memory + FASTLC_GROUP * job.copy_stride, chunk_memory,
                    job.copy_stride, job.active + k * job.n_classes, <floating*> job.loss_out, dW, db)


cdef void _gradient_task(void* ctx, Py_ssize_t k) noexcept nogil:
    cdef Gradient* job = <Gradient*> ctx
    if job.is_double:
        _gradient_chunk(job, k, <double*> NULL)
    else:
        _gradient_chunk(job, k, <float*> NULL)


cdef void _sum_chunks_task(void* ctx, Py_ssize_t part) noexcept nogil:
    cdef Gradient* job = <Gradient*> ctx
    if job.is_double:
        _sum_chunks(job, part, <double*> NULL)
    else:
        _sum_chunks(job, part, <float*> NULL)
    _after_part(job, part)


cdef void _after_part(Gradient* job, Py_ssize_t part) noexcept nogil:
    """The ``after`` operation on part ``part`` (FASTLC_BLOCK_ELEMENTS values) of the final flat gradient."""
    cdef Py_ssize_t lo = part * FASTLC_BLOCK_ELEMENTS, hi = lo + FASTLC_BLOCK_ELEMENTS
    cdef Py_ssize_t size = job.n_classes * job.n_features + job.n_classes
    if job.after != NULL:
        job.after.run(job.after.ctx, job.grad_coef, lo, hi if hi < size else size)


cdef void _after_task(void* ctx, Py_ssize_t part) noexcept nogil:
    _after_part(<Gradient*> ctx, part)


cdef void _sum_chunks(Gradient* job, Py_ssize_t part, floating* kind) noexcept nogil:
    """Part ``part`` (FASTLC_BLOCK_ELEMENTS values) of the (dW, db) sum: chunk 0's values (already in the
    outputs) plus those of chunks 1, 2, ... in that order: per value the additions of a chunk-by-chunk sum."""
    cdef Py_ssize_t n_weights = job.n_classes * job.n_features
    cdef Py_ssize_t lo = part * FASTLC_BLOCK_ELEMENTS, hi = lo + FASTLC_BLOCK_ELEMENTS, k, end
    cdef floating* block
    if hi > n_weights + job.n_classes:
        hi = n_weights + job.n_classes
    for k in range(1, job.n_chunks_minus_one + 1):
        block = <floating*> job.memory + (k - 1) * job.block
        # a chunk's block holds dW then db; the outputs are two arrays
        end = hi if hi < n_weights else n_weights
        if lo < end:
            if floating is float:
                fastlc_add_f32(<float*> job.grad_coef + lo, block + lo, end - lo)
            else:
                fastlc_add_f64(<double*> job.grad_coef + lo, block + lo, end - lo)
        if hi > n_weights:
            end = lo if lo > n_weights else n_weights
            if floating is float:
                fastlc_add_f32(<float*> job.grad_intercept + (end - n_weights), block + end, hi - end)
            else:
                fastlc_add_f64(<double*> job.grad_intercept + (end - n_weights), block + end, hi - end)


cdef int _fused_gradient(int kind, const floating[:, ::1] X, const Py_ssize_t[::1] rows, const Py_ssize_t[::1] y,
                         const floating[:, ::1] targets, int point, const floating[::1] class_weight, const floating[::1] row_weight,
                         const floating[:, ::1] coef, const floating[::1] intercept, floating grad_scale,
                         floating label_smoothing, floating margin, bint squared, floating[::1] loss_out,
                         floating[:, ::1] grad_coef, floating[::1] grad_intercept, int n_threads,
                         const fastlc_range_op* after) noexcept nogil:
    """Returns 0, or -1 when the scratch memory could not be allocated. ``after``: see Gradient."""
    cdef Py_ssize_t n_batch = rows.shape[0], n_features = X.shape[1], n_classes = coef.shape[0]
    # as many chunks as FASTLC_CHUNK_ROWS rows need, of near-equal size (whole groups): a batch of 200 is
    # 52 + 52 + 52 + 44 rows, which two threads share evenly (64 + 64 + 64 + 8 would leave one idle
    # a third of the time). A function of the batch size only, so results do not depend on threads.
    cdef Py_ssize_t n_chunks = max(1, (n_batch + FASTLC_CHUNK_ROWS - 1) // FASTLC_CHUNK_ROWS)
    cdef Py_ssize_t rows_per_chunk = _round_up((n_batch + n_chunks - 1) // n_chunks, FASTLC_GROUP)
    # one aligned allocation, every piece starting on a cache line (see Gradient)
    cdef Py_ssize_t line = ALIGN // sizeof(floating)
    cdef Py_ssize_t j
    # parts of the flat gradient for the chunk sum and ``after``: FASTLC_BLOCK_ELEMENTS values each
    cdef Py_ssize_t n_parts = (n_classes * n_features + n_classes + FASTLC_BLOCK_ELEMENTS - 1) // FASTLC_BLOCK_ELEMENTS
    cdef floating weight_total = 0
    cdef floating* memory
    cdef floating* zeros
    cdef Gradient job
    for j in range(class_weight.shape[0]):
        weight_total = weight_total + class_weight[j]
    job.after = after
    job.grad_coef = &grad_coef[0, 0]
    job.n_classes = n_classes
    job.n_features = n_features
    if n_batch == 0:
        memset(&grad_coef[0, 0], 0, n_classes * n_features * sizeof(floating))
        memset(&grad_intercept[0], 0, n_classes * sizeof(floating))
        if after != NULL:
            parallel_for(_after_task, &job, n_parts, n_threads)
        return 0
    n_chunks = (n_batch + rows_per_chunk - 1) // rows_per_chunk  # whole groups per chunk may leave fewer
    job.block = _round_up(n_classes * n_features + n_classes, line)  # one chunk's (dW, db)
    job.copy_stride = _round_up(n_features, line)
    job.per_chunk = FASTLC_GROUP * job.copy_stride + _round_up(2 * FASTLC_GROUP * n_classes, line)
    memory = <floating*> fastlc_aligned_malloc(((n_chunks - 1) * job.block + n_chunks * job.per_chunk
                                                + job.copy_stride) * sizeof(floating))
    job.active = <Py_ssize_t*> fastlc_aligned_malloc(n_chunks * n_classes * sizeof(Py_ssize_t))
    if memory == NULL or job.active == NULL:
        fastlc_aligned_free(memory)
        fastlc_aligned_free(job.active)
        return -1
    zeros = memory + (n_chunks - 1) * job.block + n_chunks * job.per_chunk
    memset(zeros, 0, n_features * sizeof(floating))
    job.kind = kind
    job.wide = fastlc_linear_wide() and not _portable_only
    job.is_double = floating is double
    job.squared = squared
    job.X = &X[0, 0]
    job.n_batch = n_batch
    job.n_chunks_minus_one = n_chunks - 1
    job.rows_per_chunk = rows_per_chunk
    job.rows = &rows[0]
    job.y = &y[0]
    job.targets = &targets[0, 0]
    job.point = point
    job.row_weight = &row_weight[0]
    job.W = &coef[0, 0]
    job.b = &intercept[0]
    job.class_weight = &class_weight[0]
    job.grad_scale = grad_scale
    job.weight_total = weight_total
    job.label_smoothing = label_smoothing
    job.margin = margin
    job.loss_out = &loss_out[0]
    job.grad_intercept = &grad_intercept[0]
    job.memory = memory
    job.zeros = zeros
    parallel_for(_gradient_task, &job, n_chunks, n_threads)
    # fixed-order sum of the chunks, by parts of the values on the same threads: the same bits whatever
    # the thread count (10 classes x 784 float64 features from 4 chunks: 0.6 MB of traffic a batch), each
    # part followed by ``after`` while it is in cache
    if n_chunks > 1:
        parallel_for(_sum_chunks_task, &job, n_parts, n_threads)
    elif after != NULL:
        parallel_for(_after_task, &job, n_parts, n_threads)
    fastlc_aligned_free(memory)
    fastlc_aligned_free(job.active)
    return 0



cdef const fastlc_range_op* _after_op(object after) except? NULL:
    """The range operation in the capsule ``after`` (None: NULL).

    It runs over the flat vector of n_classes * n_features + n_classes values that starts at grad_coef: the
    weights' gradient, then what the caller keeps after it (the estimators' flat gradient, whose tail is
    grad_intercept, or zeros for a model without intercept, whose grad_intercept is scratch elsewhere).
    """
    if after is None:
        return NULL
    return <const fastlc_range_op*> PyCapsule_GetPointer(after, FASTLC_RANGE_OP_CAPSULE)


cdef int _epoch(int kind, const floating[:, ::1] X, const Py_ssize_t[::1] order, const Py_ssize_t[::1] y,
                const floating[:, ::1] targets, int point, const floating[::1] class_weight,
                const floating[::1] row_weight, const floating[:, ::1] coef, const floating[::1] intercept,
                Py_ssize_t batch_size, double mean_weight, floating label_smoothing, floating margin, bint squared,
                floating[::1] row_loss, double[::1] batch_losses, floating[:, ::1] grad_coef,
                floating[::1] grad_intercept, int n_threads, const fastlc_range_op* after) noexcept nogil:
    """The mini-batches of one epoch: batch b is rows ``order[b * batch_size:(b + 1) * batch_size]``, its
    gradient scaled by 1 / (its row count * mean_weight), then group b of ``after`` (its optimizer step).
    ``batch_losses[b]``: the sum of the batch's weighted loss rows, in row order, in double.
    Returns 0, or -1 when scratch memory could not be allocated."""
    cdef Py_ssize_t n_samples = order.shape[0], start = 0, stop, b = 0, i
    cdef double total
    while start < n_samples:
        stop = start + batch_size if start + batch_size < n_samples else n_samples
        if after != NULL:
            after.select(after.ctx, b)
        # the batch's scale as the Python loop computes it: 1 / (rows * mean weight) in double, then cast
        if _fused_gradient(kind, X, order[start:stop], y, targets, point, class_weight, row_weight, coef, intercept,
                           <floating> (1.0 / (<double> (stop - start) * mean_weight)), label_smoothing, margin,
                           squared, row_loss[:stop - start], grad_coef, grad_intercept, n_threads, after) != 0:
            return -1
        total = 0
        for i in range(stop - start):
            total = total + row_loss[i]
        batch_losses[b] = total
        b = b + 1
        start = stop
    return 0


cdef int _check_epoch(const Py_ssize_t[::1] order, Py_ssize_t batch_size, floating[::1] row_loss,
                      double[::1] batch_losses, const fastlc_range_op* op) except -1:
    cdef Py_ssize_t n_batches = (order.shape[0] + batch_size - 1) // batch_size if batch_size > 0 else 0
    if batch_size <= 0 or row_loss.shape[0] < batch_size or batch_losses.shape[0] < n_batches:
        raise ValueError(f"an epoch of {order.shape[0]} rows in batches of {batch_size} needs row_loss of "
                         f">= {batch_size} values (got {row_loss.shape[0]}) and batch_losses of >= {n_batches} "
                         f"(got {batch_losses.shape[0]})")
    if op != NULL and op.n_groups(op.ctx) < n_batches:
        raise ValueError(f"after= holds {op.n_groups(op.ctx)} groups of steps, fewer than the {n_batches} batches")
    return 0


def linear_cross_entropy_epoch(const floating[:, ::1] X, const Py_ssize_t[::1] order, const Py_ssize_t[::1] y,
                               const floating[::1] class_weight, const floating[::1] row_weight,
                               const floating[:, ::1] coef, const floating[::1] intercept, Py_ssize_t batch_size,
                               double mean_weight, floating label_smoothing, floating[::1] row_loss,
                               double[::1] batch_losses, floating[:, ::1] grad_coef, floating[::1] grad_intercept,
                               int n_threads, object after=None):
    """One epoch of ``linear_cross_entropy_gradient`` batches (and their steps, see _epoch)."""
    cdef int status
    cdef const fastlc_range_op* op = _after_op(after)
    _check_epoch(order, batch_size, row_loss, batch_losses, op)
    with nogil:
        status = _epoch(CROSS_ENTROPY, X, order, y, X, 0, class_weight, row_weight, coef, intercept, batch_size,
                        mean_weight, label_smoothing, 0, False, row_loss, batch_losses, grad_coef, grad_intercept,
                        n_threads, op)
    if status != 0:
        raise MemoryError("linear_cross_entropy_epoch: could not allocate the per-chunk gradient buffers")


def linear_hinge_epoch(const floating[:, ::1] X, const Py_ssize_t[::1] order, const Py_ssize_t[::1] y,
                       const floating[::1] row_weight, const floating[:, ::1] coef, const floating[::1] intercept,
                       Py_ssize_t batch_size, double mean_weight, floating margin, bint squared,
                       floating[::1] row_loss, double[::1] batch_losses, floating[:, ::1] grad_coef,
                       floating[::1] grad_intercept, int n_threads, object after=None):
    """One epoch of ``linear_hinge_gradient`` batches (and their steps, see _epoch)."""
    cdef int status
    cdef const fastlc_range_op* op = _after_op(after)
    _check_epoch(order, batch_size, row_loss, batch_losses, op)
    with nogil:
        status = _epoch(HINGE, X, order, y, X, 0, intercept, row_weight, coef, intercept, batch_size, mean_weight,
                        0, margin, squared, row_loss, batch_losses, grad_coef, grad_intercept, n_threads, op)
    if status != 0:
        raise MemoryError("linear_hinge_epoch: could not allocate the per-chunk gradient buffers")


def linear_regression_epoch(const floating[:, ::1] X, const Py_ssize_t[::1] order, const floating[:, ::1] targets,
                            const floating[::1] row_weight, const floating[:, ::1] coef,
                            const floating[::1] intercept, Py_ssize_t batch_size, double mean_weight, int point,
                            floating param, floating[::1] row_loss, double[::1] batch_losses,
                            floating[:, ::1] grad_coef, floating[::1] grad_intercept, int n_threads,
                            object after=None):
    """One epoch of ``linear_regression_gradient`` batches (and their steps, see _epoch)."""
    cdef int status
    cdef const fastlc_range_op* op = _after_op(after)
    _check_epoch(order, batch_size, row_loss, batch_losses, op)
    with nogil:
        status = _epoch(REGRESSION, X, order, order, targets, point, intercept, row_weight, coef, intercept,
                        batch_size, mean_weight, 0, param, False, row_loss, batch_losses, grad_coef, grad_intercept,
                        n_threads, op)
    if status != 0:
        raise MemoryError("linear_regression_epoch: could not allocate the per-chunk gradient buffers")


def linear_cross_entropy_gradient(const floating[:, ::1] X, const Py_ssize_t[::1] rows, const Py_ssize_t[::1] y,
                                  const floating[::1] class_weight, const floating[::1] row_weight,
                                  const floating[:, ::1] coef, const floating[::1] intercept, floating grad_scale,
                                  floating label_smoothing, floating[::1] loss_out, floating[:, ::1] grad_coef,
                                  floating[::1] grad_intercept, int n_threads):
    cdef int status
    with nogil:
        # targets and point are unused by the classifiers: X stands in for targets (right type)
        status = _fused_gradient(CROSS_ENTROPY, X, rows, y, X, 0, class_weight, row_weight, coef, intercept,
                                 grad_scale, label_smoothing, 0, False, loss_out, grad_coef, grad_intercept, n_threads,
                                 NULL)
    if status != 0:
        raise MemoryError("linear_cross_entropy_gradient: could not allocate the per-chunk gradient buffers")


def linear_hinge_gradient(const floating[:, ::1] X, const Py_ssize_t[::1] rows, const Py_ssize_t[::1] y,
                          const floating[::1] row_weight, const floating[:, ::1] coef, const floating[::1] intercept,
                          floating grad_scale, floating margin, bint squared, floating[::1] loss_out,
                          floating[:, ::1] grad_coef, floating[::1] grad_intercept, int n_threads):
    cdef int status
    with nogil:
        # class_weight is unused by the hinge: pass the intercept as a placeholder of the right type
        status = _fused_gradient(HINGE, X, rows, y, X, 0, intercept, row_weight, coef, intercept, grad_scale,
                                 0, margin, squared, loss_out, grad_coef, grad_intercept, n_threads,
                                 NULL)
    if status != 0:
        raise MemoryError("linear_hinge_gradient: could not allocate the per-chunk gradient buffers")


def linear_regression_gradient(const floating[:, ::1] X, const Py_ssize_t[::1] rows,
                               const floating[:, ::1] targets, const floating[::1] row_weight,
                               const floating[:, ::1] coef, const floating[::1] intercept, floating grad_scale,
                               int point, floating param, floating[::1] loss_out, floating[:, ::1] grad_coef,
                               floating[::1] grad_intercept, int n_threads):
    cdef int status
    with nogil:
        # the labels and class weights are unused by the regressor: rows and intercept stand in (right types)
        status = _fused_gradient(REGRESSION, X, rows, rows, targets, point, intercept, row_weight, coef, intercept,
                                 grad_scale, 0, param, False, loss_out, grad_coef, grad_intercept, n_threads,
                                 NULL)
    if status != 0:
        raise MemoryError("linear_regression_gradient: could not allocate the per-chunk gradient buffers")


def code_path():
    """Which register tiles the fused gradient runs on this CPU: for benchmark reports."""
    if fastlc_linear_wide() and not _portable_only:
        return "AVX-512 (64-byte vectors)"
    return "portable (32-byte vectors; AVX2 or SSE2 clone chosen at load time)"
