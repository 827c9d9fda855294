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

Both run on one thread (the same bits on any ``n_threads``); the Numba kernel
splits large batches between threads. The lazy Adagrad rows and the L1
truncation have no Cython port: ``backend="cython"`` takes them from Numba.

No validation here (layer 1): CSR arrays (int32 or int64 indices), float32 or
float64 values of the weights' dtype, ``rows`` in range, labels in range.
"""
from libc.stdlib cimport free, malloc

import numpy as np

ctypedef fused floating:
    float
    double

ctypedef fused index_t:
    int
    long long

include "_rowmath.pxi"
include "_regression_row.pxi"

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


cdef Py_ssize_t _sparse_gradient(int kind, const floating* data, const index_t* indices, const index_t* indptr,
                                 const Py_ssize_t* rows, Py_ssize_t n_batch, const Py_ssize_t* y,
                                 const floating* targets, int point, const floating* class_weight,
                                 floating weight_total, const floating* row_weight, floating* coef_t,
                                 Py_ssize_t n_features, Py_ssize_t n_outputs, floating* intercept,
                                 floating grad_scale, floating label_smoothing, floating margin, bint squared,
                                 floating* grad_scores, Py_ssize_t* touched, Py_ssize_t n_previous,
                                 unsigned char* seen, floating* sgd, floating* loss_out, floating* grad_coef_t,
                                 floating* grad_intercept, floating* scores) noexcept nogil:
    cdef floating lr = sgd[0], decay = sgd[1], scale = sgd[3], step, factor, value, m, coef, weight
    cdef bint fit_intercept = sgd[2] != 0
    cdef Py_ssize_t i, c, j, p, r, t, n_touched = 0
    cdef floating* g
    cdef floating* target
    cdef const floating* w
    for t in range(n_previous):
        j = touched[t]
        seen[j] = 0
        for c in range(n_outputs):
            grad_coef_t[j * n_outputs + c] = 0
    for i in range(n_batch):
        r = rows[i]
        g = grad_scores + i * n_outputs
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
        if kind == CROSS_ENTROPY:
            m = scores[0]
            for c in range(1, n_outputs):
                m = scores[c] if scores[c] > m else m
            for c in range(n_outputs):
                g[c] = scores[c] - m
            _exp_inplace(g, n_outputs)
            loss_out[i] = weight * _cross_entropy_hard_row(scores, g, n_outputs, y[r], m, class_weight,
                                                           weight_total, label_smoothing, coef)
        elif kind == REGRESSION:
            loss_out[i] = weight * _regression_row(scores, targets + r * n_outputs, n_outputs, point, margin,
                                                   coef, g)
        else:
            _hinge_rows(scores, y + r, &weight, grad_scale, 1, n_outputs, margin, squared, loss_out + i, g)
    if lr > 0:
        scale = scale * decay
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
        r = rows[i]
        g = grad_scores + i * n_outputs
        if not _moves(g, n_outputs):  # a zero-weight row, or a hinge row with every margin met
            continue
        for c in range(n_outputs):
            grad_intercept[c] = grad_intercept[c] + g[c]
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
                     floating[:, ::1] grad_coef_t, floating[::1] grad_intercept) except -1:
    cdef Py_ssize_t n_outputs = coef_t.shape[1], j, n_touched
    cdef floating weight_total = 0
    cdef floating* scores = <floating*> malloc(n_outputs * sizeof(floating))
    if scores == NULL:
        raise MemoryError("sparse linear gradient: could not allocate a score row")
    for j in range(class_weight.shape[0]):
        weight_total = weight_total + class_weight[j]
    with nogil:
        n_touched = _sparse_gradient(kind, &data[0] if data.shape[0] else NULL, &indices[0] if indices.shape[0] else NULL,
                                     &indptr[0], &rows[0] if rows.shape[0] else NULL, rows.shape[0], &y[0],
                                     &targets[0, 0], point, &class_weight[0], weight_total, &row_weight[0],
                                     &coef_t[0, 0], coef_t.shape[0], n_outputs, &intercept[0], grad_scale,
                                     label_smoothing, margin, squared, &grad_scores[0, 0], &touched[0], n_previous,
                                     &seen[0], &sgd[0], &loss_out[0], &grad_coef_t[0, 0], &grad_intercept[0], scores)
    free(scores)
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
                marks, sgd, loss_out, grad_coef_t, grad_intercept)


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
                grad_coef_t, grad_intercept)


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
                loss_out, grad_coef_t, grad_intercept)
