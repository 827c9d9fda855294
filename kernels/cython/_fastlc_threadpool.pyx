# cython: boundscheck=False, wraparound=False
"""The process's one thread pool for the Cython kernels (see _threadpool_impl.h).

The kernel modules take its function table from the ``API`` capsule when they
are imported (_threadpool.pxi). Nothing here validates: callers pass a chunk
count >= 0 and a thread count >= 1, already resolved from ``n_threads``.
"""
from cpython.pycapsule cimport PyCapsule_New
from libc.stdint cimport int64_t

cdef extern from "_threadpool.h" nogil:
    ctypedef void (*fastlc_task)(void* ctx, Py_ssize_t chunk) noexcept nogil
    ctypedef struct fastlc_pool_api:
        void (*parallel_for)(fastlc_task task, void* ctx, Py_ssize_t n_chunks, int n_threads) noexcept nogil
    const char* FASTLC_POOL_CAPSULE

cdef extern from "_threadpool_impl.h" nogil:
    int FASTLC_POOL_THREADED
    int fastlc_pool_init()
    void fastlc_parallel_for(fastlc_task task, void* ctx, Py_ssize_t n_chunks, int n_threads)
    fastlc_pool_api fastlc_pool_table
    void fastlc_pool_stats(int64_t* out)
    void fastlc_pool_note_wait(int64_t end_ns, int64_t worked_ns, int64_t waited_ns)
    void fastlc_pool_forget_stragglers()

# The OS thread id, as threading.get_native_id(): Linux, macOS, Windows and the BSDs
cdef extern from "pythread.h" nogil:
    unsigned long PyThread_get_thread_native_id()

if fastlc_pool_init() != 0:
    raise ImportError("fastlc._cython._fastlc_threadpool: could not initialise the thread pool")

#: Capsule holding the pool's function table, for the kernel modules.
API = PyCapsule_New(<void*> &fastlc_pool_table, FASTLC_POOL_CAPSULE, NULL)

#: False when the build has no threads (the portable serial fallback).
THREADED = bool(FASTLC_POOL_THREADED)


ctypedef struct _Probe:
    int64_t* thread_of_chunk
    long spin


cdef void _probe_task(void* ctx, Py_ssize_t chunk) noexcept nogil:
    cdef _Probe* probe = <_Probe*> ctx
    cdef long i
    cdef volatile long sink = 0
    for i in range(probe.spin):
        sink = sink + i
    probe.thread_of_chunk[chunk] = <int64_t> PyThread_get_thread_native_id()


def _probe(int64_t[::1] thread_of_chunk, int n_threads, long spin=0):
    """Run one chunk per element of ``thread_of_chunk`` on the pool; each records its OS thread id.

    For the tests: every chunk must run exactly once, on at most ``n_threads``
    threads, the caller's among them. ``spin`` adds busy work per chunk.
    """
    cdef _Probe probe
    probe.thread_of_chunk = &thread_of_chunk[0] if thread_of_chunk.shape[0] else NULL
    probe.spin = spin
    with nogil:
        fastlc_parallel_for(_probe_task, &probe, thread_of_chunk.shape[0], n_threads)


def stats():
    """Counters since the process started: how the pool's calls went (for tests and benchmark reports).

    Returns
    -------
    stats : dict
        ``parallel_calls`` (calls run on the pool), ``backoff_calls`` (calls run
        serially after a straggler), ``straggler_calls`` (parallel calls that waited
        longer for a descheduled worker than they worked), ``waited_seconds`` (total
        time callers waited for chunks in progress elsewhere) and ``workers``
        (threads started). Calls with one thread or one chunk are not counted.
        Also the back-off state: ``serial_until_ns`` (calls before this time of
        CLOCK_MONOTONIC run serially; 0: none yet) and ``backoff`` (the last
        serial window in multiples of its straggler's wait).
    """
    cdef int64_t out[7]
    fastlc_pool_stats(out)
    return {"parallel_calls": out[0], "backoff_calls": out[1], "straggler_calls": out[2],
            "waited_seconds": out[3] * 1e-9, "workers": out[4], "serial_until_ns": out[5], "backoff": out[6]}


def _note_wait(int64_t end_ns, int64_t worked_ns, int64_t waited_ns):
    """For the tests: apply the straggler rule to a call that ended at ``end_ns``
    (CLOCK_MONOTONIC), worked ``worked_ns`` and waited ``waited_ns`` for chunks elsewhere."""
    fastlc_pool_note_wait(end_ns, worked_ns, waited_ns)


def _forget_stragglers():
    """For the tests: the back-off state of a fresh pool (no serial window)."""
    fastlc_pool_forget_stragglers()
