# The range operation handed from _optim.pyx (DeferredSteps) to _linear.pyx's epoch loops: see _range_op.h.
cdef extern from "_range_op.h" nogil:
    ctypedef void (*fastlc_range_fn)(void* ctx, const void* flat, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil
    ctypedef void (*fastlc_range_select)(void* ctx, Py_ssize_t group) noexcept nogil
    ctypedef Py_ssize_t (*fastlc_range_groups)(void* ctx) noexcept nogil
    ctypedef struct fastlc_range_op:
        fastlc_range_fn run
        fastlc_range_select select
        fastlc_range_groups n_groups
        void* ctx
    const char* FASTLC_RANGE_OP_CAPSULE
