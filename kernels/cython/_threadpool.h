/* The interface of fastlc's thread pool, shared by every Cython kernel module.
 *
 * A parallel kernel cuts its work into n_chunks fixed chunks (fixed by the
 * problem size, never by the thread count) and hands the pool one task
 * function, called once per chunk:
 *
 *     fastlc_parallel_for(task, ctx, n_chunks, n_threads);
 *
 * Chunks are claimed one at a time, by the caller too, so a worker that the OS
 * has descheduled never holds up a call: the caller does the chunks nobody has
 * started and waits only for chunks in progress. Anything summed across
 * chunks goes through per-chunk buffers added in chunk order afterwards,
 * which keeps results bitwise independent of which thread ran which chunk.
 *
 * One pool serves the whole process: it lives in fastlc._cython._fastlc_threadpool
 * (_threadpool_impl.h), which hands its function table to the other modules
 * as a capsule (see _threadpool.pxi).
 */
#ifndef FASTLC_THREADPOOL_H
#define FASTLC_THREADPOOL_H

#include <Python.h>

/* One chunk of a parallel loop. Must not touch Python objects (runs without the GIL). */
typedef void (*fastlc_task)(void *ctx, Py_ssize_t chunk);

typedef struct fastlc_pool_api {
    /* Runs task(ctx, k) for k in [0, n_chunks) on at most n_threads threads
     * (the caller included) and returns when every chunk is done. */
    void (*parallel_for)(fastlc_task task, void *ctx, Py_ssize_t n_chunks, int n_threads);
} fastlc_pool_api;

#define FASTLC_POOL_CAPSULE "fastlc._cython._fastlc_threadpool.API"

#endif
