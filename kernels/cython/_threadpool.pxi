# Included by every Cython kernel module that runs in parallel: the process's one
# thread pool (fastlc._cython._fastlc_threadpool, see _threadpool.h), reached through the
# function table it exports as a capsule.
from cpython.pycapsule cimport PyCapsule_GetPointer

cdef extern from "_threadpool.h" nogil:
    ctypedef void (*fastlc_task)(void* ctx, Py_ssize_t chunk) noexcept nogil
    ctypedef struct fastlc_pool_api:
        void (*parallel_for)(fastlc_task task, void* ctx, Py_ssize_t n_chunks, int n_threads) noexcept nogil
    const char* FASTLC_POOL_CAPSULE

from fastlc._cython._fastlc_threadpool import API as _pool_capsule

cdef fastlc_pool_api* _pool = <fastlc_pool_api*> PyCapsule_GetPointer(_pool_capsule, FASTLC_POOL_CAPSULE)


cdef inline void parallel_for(fastlc_task task, void* ctx, Py_ssize_t n_chunks, int n_threads) noexcept nogil:
    """Run ``task(ctx, k)`` for every chunk k in [0, n_chunks) on at most ``n_threads`` threads."""
    _pool.parallel_for(task, ctx, n_chunks, n_threads)
