# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""2-D pooling kernels in Cython: chunks of (n, c) planes on fastlc's thread pool.

Each plane's outputs and its input gradient are written by one chunk only,
so the backward scatter-add needs no atomics and its summation order is fixed
(results do not depend on ``n_threads``). No validation here: the public layer
(fastlc.kernels) hands over C-contiguous arrays with the planes stacked on the
first axis, output shapes that fit the input, and indices in [0, height * width).

Speed: windows that lie wholly inside the input ("interior" windows) are
computed in two passes over the flattened plane -- every kernel_w row segment,
then kernel_h such segments top to bottom -- which are long unit-stride loops
the compiler vectorizes; the strided outputs are then picked. Border windows
(padding, ceil_mode) take the plain per-window loop. Segment starts near a
row's end wrap into the next row; they are computed but never picked.
"""
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

ctypedef fused floating:
    float
    double

include "_threadpool.pxi"

# flat positions within one plane in max_pool2d's row buffers, as wide as the
# values so that the compiler vectorizes the selects (mixed widths it leaves
# scalar, with a branch per cell): int32 for float32 (unless a plane has 2**31
# cells or more), int64 for float64
ctypedef fused position_t:
    int32_t
    int64_t

# spare elements after each scratch row of a plane, so that the two rows of a
# chunk's scratch never share a cache line
cdef Py_ssize_t BUFFER_GAP = 64
# input cells per chunk of planes: the unit of parallel work
cdef Py_ssize_t PLANE_CHUNK_CELLS = 1 << 14


ctypedef struct Geometry:
    Py_ssize_t height, width, out_h, out_w
    Py_ssize_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w
    bint count_include_pad
    # outputs [lo_h, hi_h) x [lo_w, hi_w) have windows wholly inside the input
    Py_ssize_t lo_h, hi_h, lo_w, hi_w
    bint interior
    # flat start positions of row segments and of windows computed per plane
    Py_ssize_t n_row_starts, n_window_starts


cdef void _interior(Py_ssize_t out_size, Py_ssize_t size, Py_ssize_t kernel, Py_ssize_t stride, Py_ssize_t pad,
                    Py_ssize_t* lo, Py_ssize_t* hi) noexcept:
    """Outputs [lo, hi) along one axis whose windows need no padding."""
    cdef Py_ssize_t span = size + pad - kernel
    lo[0] = min((pad + stride - 1) // stride, out_size)
    hi[0] = max(min(span // stride + 1 if span >= 0 else 0, out_size), lo[0])


cdef Geometry _geometry(Py_ssize_t height, Py_ssize_t width, Py_ssize_t out_h, Py_ssize_t out_w,
                        Py_ssize_t kernel_h, Py_ssize_t kernel_w, Py_ssize_t stride_h, Py_ssize_t stride_w,
                        Py_ssize_t pad_h, Py_ssize_t pad_w, bint count_include_pad) noexcept:
    cdef Geometry g
    g.height, g.width, g.out_h, g.out_w = height, width, out_h, out_w
    g.kernel_h, g.kernel_w, g.stride_h, g.stride_w = kernel_h, kernel_w, stride_h, stride_w
    g.pad_h, g.pad_w = pad_h, pad_w
    g.count_include_pad = count_include_pad
    _interior(out_h, height, kernel_h, stride_h, pad_h, &g.lo_h, &g.hi_h)
    _interior(out_w, width, kernel_w, stride_w, pad_w, &g.lo_w, &g.hi_w)
    g.interior = g.lo_h < g.hi_h and g.lo_w < g.hi_w
    g.n_row_starts = height * width - kernel_w + 1 if g.interior else 0
    g.n_window_starts = (height - kernel_h + 1) * width if g.interior else 0
    return g


cdef inline Py_ssize_t _divisor(const Geometry* g, Py_ssize_t start_h, Py_ssize_t start_w, Py_ssize_t h0,
                                Py_ssize_t h1, Py_ssize_t w0, Py_ssize_t w1) noexcept nogil:
    """PyTorch's divisor: the window clipped to the padded input, or to the input alone."""
    if g.count_include_pad:
        return ((min(start_h + g.kernel_h, g.height + g.pad_h) - start_h)
                * (min(start_w + g.kernel_w, g.width + g.pad_w) - start_w))
    return (h1 - h0) * (w1 - w0)


cdef inline Py_ssize_t _next_border(const Geometry* g, Py_ssize_t oh, Py_ssize_t ow) noexcept nogil:
    """The output column after ``ow`` in row ``oh`` that is not an interior window."""
    ow += 1
    if g.interior and g.lo_h <= oh < g.hi_h and ow == g.lo_w:
        return g.hi_w
    return ow


cdef inline Py_ssize_t _first_border(const Geometry* g, Py_ssize_t oh) noexcept nogil:
    return _next_border(g, oh, -1)


cdef inline void _max_plane_float32(const Geometry* g, const floating* cells, floating* out, int64_t* indices,
                                    floating* row_value, position_t* row_index, floating* window_value,
                                    position_t* window_index) noexcept nogil:
    """Interior windows by the row and column passes, for float32 (see _max_plane_float64).

    PyTorch's rule "value > best or isnan(value)" as one or-ed comparison and
    branch-free selects, which gcc vectorizes for float32 at the baseline ISA (SSE2).
    """
    cdef Py_ssize_t width = g.width
    cdef Py_ssize_t oh, dw, dh, f, j, first, step
    cdef position_t best_position
    cdef floating value, best_value
    cdef const floating* shifted
    cdef const floating* below_value
    cdef const position_t* below_index
    cdef bint take
    # PyTorch's scan split in two: the first maximum (or last NaN) of every row
    # segment, then of the window's segments top to bottom with the same rule;
    # that is the first maximum in row-major order
    # the first pass compares the first two cells straight from the plane
    # (with kernel_w == 1 it only copies)
    step = min(1, g.kernel_w - 1)
    shifted = cells + step
    for f in range(g.n_row_starts):
        value = shifted[f]
        best_value = cells[f]
        take = (value > best_value) | (value != value)
        row_value[f] = value if take else best_value
        row_index[f] = <position_t> (f + step * take)
    for dw in range(2, g.kernel_w):
        shifted = cells + dw
        for f in range(g.n_row_starts):
            # candidates in registers, then branch-free selects the compiler
            # vectorizes (a bit-select for positions: SSE2 has no 64-bit multiply)
            value = shifted[f]
            best_value = row_value[f]
            best_position = row_index[f]
            take = (value > best_value) | (value != value)
            row_value[f] = value if take else best_value
            row_index[f] = best_position ^ ((best_position ^ <position_t> (f + dw)) & -(<position_t> take))
    below_value = row_value + min(1, g.kernel_h - 1) * width
    below_index = row_index + min(1, g.kernel_h - 1) * width
    for f in range(g.n_window_starts):
        value = below_value[f]
        best_value = row_value[f]
        best_position = row_index[f]
        take = (value > best_value) | (value != value)
        window_value[f] = value if take else best_value
        window_index[f] = best_position ^ ((best_position ^ below_index[f]) & -(<position_t> take))
    for dh in range(2, g.kernel_h):
        below_value = row_value + dh * width
        below_index = row_index + dh * width
        for f in range(g.n_window_starts):
            value = below_value[f]
            best_value = window_value[f]
            best_position = window_index[f]
            take = (value > best_value) | (value != value)
            window_value[f] = value if take else best_value
            window_index[f] = best_position ^ ((best_position ^ below_index[f]) & -(<position_t> take))
    for oh in range(g.lo_h, g.hi_h):
        first = (oh * g.stride_h - g.pad_h) * width + g.lo_w * g.stride_w - g.pad_w
        for j in range(g.hi_w - g.lo_w):
            out[oh * g.out_w + g.lo_w + j] = window_value[first + j * g.stride_w]
            indices[oh * g.out_w + g.lo_w + j] = window_index[first + j * g.stride_w]


cdef inline void _max_plane_float64(const Geometry* g, const floating* cells, floating* out, int64_t* indices,
                                    floating* row_value, position_t* row_index, floating* window_value,
                                    position_t* window_offset) noexcept nogil:
    """Interior windows by the row and column passes, for float64.

    gcc at the baseline ISA (SSE2) vectorizes the float64 steps only when PyTorch's
    rule is written as two selects with one comparison each and the candidate's
    position is computed, never loaded. So the column pass records which row won
    (as an offset) and the flat index is looked up when an output is picked.
    For float32 that shape is slower than _max_plane_float32's, hence two versions.
    """
    cdef Py_ssize_t width = g.width
    cdef Py_ssize_t dw, dh, f, j, oh, first, step
    cdef position_t position, kept_position, greater_position
    cdef floating value, best_value, greater_value
    cdef const floating* shifted
    cdef const floating* below
    # row pass; its first step compares the first two cells straight from the plane
    # (with kernel_w == 1 it only copies)
    step = min(1, g.kernel_w - 1)
    shifted = cells + step
    for f in range(g.n_row_starts):
        value = shifted[f]
        best_value = cells[f]
        position = <position_t> (f + step)
        greater_value = value if value > best_value else best_value
        greater_position = position if value > best_value else <position_t> f
        row_value[f] = value if value != value else greater_value
        row_index[f] = position if value != value else greater_position
    for dw in range(2, g.kernel_w):
        shifted = cells + dw
        for f in range(g.n_row_starts):
            value = shifted[f]
            best_value = row_value[f]
            kept_position = row_index[f]
            position = <position_t> (f + dw)
            greater_value = value if value > best_value else best_value
            greater_position = position if value > best_value else kept_position
            row_value[f] = value if value != value else greater_value
            row_index[f] = position if value != value else greater_position
    # column pass over the segments: window_offset = (winning row - first row) * width
    for f in range(g.n_window_starts):
        window_value[f] = row_value[f]
        window_offset[f] = 0
    for dh in range(1, g.kernel_h):
        below = row_value + dh * width
        position = <position_t> (dh * width)
        for f in range(g.n_window_starts):
            value = below[f]
            best_value = window_value[f]
            kept_position = window_offset[f]
            greater_value = value if value > best_value else best_value
            greater_position = position if value > best_value else kept_position
            window_value[f] = value if value != value else greater_value
            window_offset[f] = position if value != value else greater_position
    for oh in range(g.lo_h, g.hi_h):
        first = (oh * g.stride_h - g.pad_h) * width + g.lo_w * g.stride_w - g.pad_w
        for j in range(g.hi_w - g.lo_w):
            f = first + j * g.stride_w
            out[oh * g.out_w + g.lo_w + j] = window_value[f]
            indices[oh * g.out_w + g.lo_w + j] = row_index[f + window_offset[f]]


cdef inline void _max_border(const Geometry* g, const floating* cells, floating* out,
                             int64_t* indices) noexcept nogil:
    """Border windows (padding, ceil_mode): the plain scan."""
    cdef Py_ssize_t width = g.width
    cdef Py_ssize_t oh, ow, h, w, h0, h1, w0, w1, start_h, start_w, best_index
    cdef floating value, best_value
    for oh in range(g.out_h):
        start_h = oh * g.stride_h - g.pad_h
        h0 = max(start_h, 0)
        h1 = min(start_h + g.kernel_h, g.height)
        ow = _first_border(g, oh)
        while ow < g.out_w:
            start_w = ow * g.stride_w - g.pad_w
            w0 = max(start_w, 0)
            w1 = min(start_w + g.kernel_w, width)
            # start from the first input cell: padded cells never win
            best_index = h0 * width + w0
            best_value = cells[best_index]
            for h in range(h0, h1):
                for w in range(w0, w1):
                    value = cells[h * width + w]
                    if value > best_value or value != value:
                        best_value = value
                        best_index = h * width + w
            out[oh * g.out_w + ow] = best_value
            indices[oh * g.out_w + ow] = best_index
            ow = _next_border(g, oh, ow)


cdef inline void _avg_plane(const Geometry* g, const floating* cells, floating* out, floating* row_sum,
                            floating* window_sum) noexcept nogil:
    cdef Py_ssize_t width = g.width
    cdef Py_ssize_t oh, ow, h, w, dw, dh, f, j, h0, h1, w0, w1, start_h, start_w, first
    cdef floating total
    # interior windows hold kernel_h * kernel_w input cells, whatever count_include_pad says
    cdef floating inverse_area = (<floating> 1) / (g.kernel_h * g.kernel_w)
    cdef const floating* shifted
    cdef const floating* below
    if g.interior:
        # sums of every kernel_w row segment, then of kernel_h segments
        # the first pass of each kind adds two rows/cells straight away (copies when the kernel is 1 wide)
        if g.kernel_w == 1:
            memcpy(row_sum, cells, g.n_row_starts * sizeof(floating))
        else:
            shifted = cells + 1
            for f in range(g.n_row_starts):
                row_sum[f] = cells[f] + shifted[f]
        for dw in range(2, g.kernel_w):
            shifted = cells + dw
            for f in range(g.n_row_starts):
                row_sum[f] = row_sum[f] + shifted[f]
        if g.kernel_h == 1:
            memcpy(window_sum, row_sum, g.n_window_starts * sizeof(floating))
        else:
            below = row_sum + width
            for f in range(g.n_window_starts):
                window_sum[f] = row_sum[f] + below[f]
        for dh in range(2, g.kernel_h):
            below = row_sum + dh * width
            for f in range(g.n_window_starts):
                window_sum[f] = window_sum[f] + below[f]
        for oh in range(g.lo_h, g.hi_h):
            first = (oh * g.stride_h - g.pad_h) * width + g.lo_w * g.stride_w - g.pad_w
            for j in range(g.hi_w - g.lo_w):
                out[oh * g.out_w + g.lo_w + j] = window_sum[first + j * g.stride_w] * inverse_area
    # border windows (padding, ceil_mode): plain sums
    for oh in range(g.out_h):
        start_h = oh * g.stride_h - g.pad_h
        h0 = max(start_h, 0)
        h1 = min(start_h + g.kernel_h, g.height)
        ow = _first_border(g, oh)
        while ow < g.out_w:
            start_w = ow * g.stride_w - g.pad_w
            w0 = max(start_w, 0)
            w1 = min(start_w + g.kernel_w, width)
            total = 0
            for h in range(h0, h1):
                for w in range(w0, w1):
                    total = total + cells[h * width + w]
            out[oh * g.out_w + ow] = total / <floating> _divisor(g, start_h, start_w, h0, h1, w0, w1)
            ow = _next_border(g, oh, ow)


cdef inline void _avg_plane_backward(const Geometry* g, const floating* grad_out, floating* grad,
                                     floating* window_share, floating* row_share) noexcept nogil:
    cdef Py_ssize_t width = g.width
    cdef Py_ssize_t oh, ow, h, w, dw, dh, f, j, h0, h1, w0, w1, start_h, start_w, first
    cdef floating share
    cdef floating inverse_area = (<floating> 1) / (g.kernel_h * g.kernel_w)
    cdef floating* shifted
    cdef floating* below
    if g.interior:
        # the forward passes transposed: shares at their windows' start cells,
        # spread down kernel_h rows, then along kernel_w columns into the plane;
        # the first pass of each kind writes instead of zeroing and adding
        memset(window_share, 0, g.n_window_starts * sizeof(floating))
        for oh in range(g.lo_h, g.hi_h):
            first = (oh * g.stride_h - g.pad_h) * width + g.lo_w * g.stride_w - g.pad_w
            for j in range(g.hi_w - g.lo_w):
                window_share[first + j * g.stride_w] = grad_out[oh * g.out_w + g.lo_w + j] * inverse_area
        memcpy(row_share, window_share, g.n_window_starts * sizeof(floating))
        memset(row_share + g.n_window_starts, 0, (g.height * width - g.n_window_starts) * sizeof(floating))
        for dh in range(1, g.kernel_h):
            below = row_share + dh * width
            for f in range(g.n_window_starts):
                below[f] = below[f] + window_share[f]
        memcpy(grad, row_share, g.n_row_starts * sizeof(floating))
        memset(grad + g.n_row_starts, 0, (g.height * width - g.n_row_starts) * sizeof(floating))
        for dw in range(1, g.kernel_w):
            shifted = grad + dw
            for f in range(g.n_row_starts):
                shifted[f] = shifted[f] + row_share[f]
    else:
        memset(grad, 0, g.height * width * sizeof(floating))
    # border windows (padding, ceil_mode): plain adds
    for oh in range(g.out_h):
        start_h = oh * g.stride_h - g.pad_h
        h0 = max(start_h, 0)
        h1 = min(start_h + g.kernel_h, g.height)
        ow = _first_border(g, oh)
        while ow < g.out_w:
            start_w = ow * g.stride_w - g.pad_w
            w0 = max(start_w, 0)
            w1 = min(start_w + g.kernel_w, width)
            share = grad_out[oh * g.out_w + ow] / <floating> _divisor(g, start_h, start_w, h0, h1, w0, w1)
            for h in range(h0, h1):
                for w in range(w0, w1):
                    grad[h * width + w] = grad[h * width + w] + share
            ow = _next_border(g, oh, ow)


# ---------------------------------------------------------------- one pool task for every pooling kernel
cdef enum PoolKernel:
    MAX_POSITIONS32
    MAX_POSITIONS64
    MAX_BACKWARD
    AVERAGE
    AVERAGE_BACKWARD


ctypedef struct Planes:
    # One pooling call: chunk k is planes [k * planes_per_chunk, (k + 1) * planes_per_chunk), each written by
    # the chunk's thread alone. Arrays are float* or double* (is_double). `failed` is set when a chunk could
    # not allocate its scratch rows.
    PoolKernel kernel
    bint is_double
    const Geometry* g
    Py_ssize_t n_planes, planes_per_chunk, in_size, out_size
    const void* source
    void* target
    int64_t* indices
    const int64_t* const_indices
    int failed


cdef void _max_planes(Planes* job, Py_ssize_t first, Py_ssize_t last, floating* kind) noexcept nogil:
    cdef const Geometry* g = job.g
    cdef Py_ssize_t size = g.height * g.width + BUFFER_GAP, p
    cdef size_t position_bytes = sizeof(int32_t) if job.kernel == MAX_POSITIONS32 else sizeof(int64_t)
    cdef floating* values = NULL
    cdef void* positions = NULL
    cdef const floating* x
    cdef floating* out
    cdef int64_t* indices
    if g.interior:
        values = <floating*> malloc(2 * size * sizeof(floating))
        positions = malloc(2 * size * position_bytes)
        if values == NULL or positions == NULL:
            free(values)
            free(positions)
            job.failed = 1
            return
    for p in range(first, last):
        x = <const floating*> job.source + p * job.in_size
        out = <floating*> job.target + p * job.out_size
        indices = job.indices + p * job.out_size
        if g.interior:
            if floating is float:
                if job.kernel == MAX_POSITIONS32:
                    _max_plane_float32(g, x, out, indices, values, <int32_t*> positions, values + size,
                                       <int32_t*> positions + size)
                else:
                    _max_plane_float32(g, x, out, indices, values, <int64_t*> positions, values + size,
                                       <int64_t*> positions + size)
            else:
                _max_plane_float64(g, x, out, indices, values, <int64_t*> positions, values + size,
                                   <int64_t*> positions + size)
        _max_border(g, x, out, indices)
    free(values)
    free(positions)


cdef void _max_backward_planes(Planes* job, Py_ssize_t first, Py_ssize_t last, floating* kind) noexcept nogil:
    cdef Py_ssize_t p, j
    cdef floating* grad
    cdef const floating* g
    cdef const int64_t* index
    for p in range(first, last):
        # zero and scatter one plane at a time: it stays in L1 between the two
        grad = <floating*> job.target + p * job.in_size
        g = <const floating*> job.source + p * job.out_size
        index = job.const_indices + p * job.out_size
        memset(grad, 0, job.in_size * sizeof(floating))
        for j in range(job.out_size):
            grad[index[j]] = grad[index[j]] + g[j]


cdef void _average_planes(Planes* job, Py_ssize_t first, Py_ssize_t last, floating* kind) noexcept nogil:
    cdef Py_ssize_t size = job.g.height * job.g.width + BUFFER_GAP, p
    cdef floating* scratch = <floating*> malloc(2 * size * sizeof(floating))
    if scratch == NULL:
        job.failed = 1
        return
    for p in range(first, last):
        if job.kernel == AVERAGE:
            _avg_plane(job.g, <const floating*> job.source + p * job.in_size,
                       <floating*> job.target + p * job.out_size, scratch, scratch + size)
        else:
            _avg_plane_backward(job.g, <const floating*> job.source + p * job.out_size,
                                <floating*> job.target + p * job.in_size, scratch, scratch + size)
    free(scratch)


cdef void _planes_chunk(Planes* job, Py_ssize_t k, floating* kind) noexcept nogil:
    cdef Py_ssize_t first = k * job.planes_per_chunk
    cdef Py_ssize_t last = first + job.planes_per_chunk if first + job.planes_per_chunk < job.n_planes \
        else job.n_planes
    if job.kernel == MAX_BACKWARD:
        _max_backward_planes(job, first, last, kind)
    elif job.kernel == AVERAGE or job.kernel == AVERAGE_BACKWARD:
        _average_planes(job, first, last, kind)
    else:
        _max_planes(job, first, last, kind)


cdef void _planes_task(void* ctx, Py_ssize_t k) noexcept nogil:
    cdef Planes* job = <Planes*> ctx
    if job.is_double:
        _planes_chunk(job, k, <double*> NULL)
    else:
        _planes_chunk(job, k, <float*> NULL)


cdef int _run_planes(Planes* job, PoolKernel kernel, bint is_double, Py_ssize_t n_planes, Py_ssize_t in_size,
                     Py_ssize_t out_size, int n_threads) noexcept nogil:
    """Run the chunks on the pool; returns -1 when scratch memory could not be allocated."""
    job.kernel = kernel
    job.is_double = is_double
    job.n_planes = n_planes
    job.in_size = in_size
    job.out_size = out_size
    job.failed = 0
    # about PLANE_CHUNK_CELLS input cells per chunk (a function of the shape only)
    job.planes_per_chunk = max(1, PLANE_CHUNK_CELLS // max(1, in_size))
    parallel_for(_planes_task, job, (n_planes + job.planes_per_chunk - 1) // job.planes_per_chunk, n_threads)
    return -1 if job.failed else 0


def max_pool2d(const floating[:, :, ::1] x, Py_ssize_t kernel_h, Py_ssize_t kernel_w, Py_ssize_t stride_h,
               Py_ssize_t stride_w, Py_ssize_t pad_h, Py_ssize_t pad_w, floating[:, :, ::1] out,
               int64_t[:, :, ::1] indices, int n_threads):
    cdef Geometry g = _geometry(x.shape[1], x.shape[2], out.shape[1], out.shape[2], kernel_h, kernel_w,
                                stride_h, stride_w, pad_h, pad_w, False)
    cdef Planes job
    cdef int status
    # int32 positions let the float32 selects vectorize (unless a plane has 2**31 cells or more)
    cdef PoolKernel kernel = MAX_POSITIONS32 if floating is float and g.height * g.width < 2**31 \
        else MAX_POSITIONS64
    if x.shape[0] == 0 or out.shape[1] * out.shape[2] == 0:
        return
    job.g = &g
    job.source = &x[0, 0, 0]
    job.target = &out[0, 0, 0]
    job.indices = &indices[0, 0, 0]
    with nogil:
        status = _run_planes(&job, kernel, floating is double, x.shape[0], x.shape[1] * x.shape[2],
                             out.shape[1] * out.shape[2], n_threads)
    if status != 0:
        raise MemoryError("max_pool2d: could not allocate the per-chunk scratch rows")


def max_pool2d_backward(const floating[:, ::1] grad_out, const int64_t[:, ::1] indices, floating[:, ::1] grad_in,
                        int n_threads):
    cdef Planes job
    if grad_out.shape[0] == 0 or grad_out.shape[1] == 0 or grad_in.shape[1] == 0:
        return
    job.source = &grad_out[0, 0]
    job.target = &grad_in[0, 0]
    job.const_indices = &indices[0, 0]
    with nogil:
        _run_planes(&job, MAX_BACKWARD, floating is double, grad_out.shape[0], grad_in.shape[1],
                    grad_out.shape[1], n_threads)


def avg_pool2d(const floating[:, :, ::1] x, Py_ssize_t kernel_h, Py_ssize_t kernel_w, Py_ssize_t stride_h,
               Py_ssize_t stride_w, Py_ssize_t pad_h, Py_ssize_t pad_w, bint count_include_pad,
               floating[:, :, ::1] out, int n_threads):
    cdef Geometry g = _geometry(x.shape[1], x.shape[2], out.shape[1], out.shape[2], kernel_h, kernel_w,
                                stride_h, stride_w, pad_h, pad_w, count_include_pad)
    cdef Planes job
    cdef int status
    if x.shape[0] == 0 or out.shape[1] * out.shape[2] == 0:
        return
    job.g = &g
    job.source = &x[0, 0, 0]
    job.target = &out[0, 0, 0]
    with nogil:
        status = _run_planes(&job, AVERAGE, floating is double, x.shape[0], x.shape[1] * x.shape[2],
                             out.shape[1] * out.shape[2], n_threads)
    if status != 0:
        raise MemoryError("avg_pool2d: could not allocate the per-chunk scratch rows")


def avg_pool2d_backward(const floating[:, :, ::1] grad_out, Py_ssize_t kernel_h, Py_ssize_t kernel_w,
                        Py_ssize_t stride_h, Py_ssize_t stride_w, Py_ssize_t pad_h, Py_ssize_t pad_w,
                        bint count_include_pad, floating[:, :, ::1] grad_in, int n_threads):
    cdef Geometry g = _geometry(grad_in.shape[1], grad_in.shape[2], grad_out.shape[1], grad_out.shape[2],
                                kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, count_include_pad)
    cdef Planes job
    cdef int status
    if grad_in.shape[0] == 0 or grad_in.shape[1] * grad_in.shape[2] == 0:
        return
    job.g = &g
    job.source = &grad_out[0, 0, 0]
    job.target = &grad_in[0, 0, 0]
    with nogil:
        status = _run_planes(&job, AVERAGE_BACKWARD, floating is double, grad_in.shape[0],
                             grad_in.shape[1] * grad_in.shape[2], grad_out.shape[1] * grad_out.shape[2], n_threads)
    if status != 0:
        raise MemoryError("avg_pool2d_backward: could not allocate the per-chunk scratch rows")
