/* fastlc's thread pool: chunks claimed one at a time, the caller working too.
 *
 * Included by _threadpool.pyx only (one pool per process); the other modules
 * reach it through the function table (see _threadpool.h).
 *
 * Why not OpenMP: at the end of an OpenMP parallel region the caller waits at
 * a barrier for every thread of the team, including one the OS has
 * descheduled because another process holds its core. A 100 us kernel then
 * takes a scheduler time slice (milliseconds). Here a worker joins a job only
 * by claiming a chunk, so the caller does every chunk nobody has started and
 * waits only for chunks actually running elsewhere. A worker that wakes after
 * the job is over finds nothing to claim and never touches the job's data.
 *
 * Claiming: `ticket` holds (job generation << 32 | next chunk). A claim is a
 * compare-and-swap that succeeds only while the generation is the claimer's
 * and the chunk index is below the job's chunk count. While a new job's fields
 * are written, the ticket holds the new generation and a closed index, so a
 * late claimer of the old job fails its swap (the generation changed) and a
 * claimer of the new job cannot start before the fields are complete.
 *
 * Straggler back-off: if a call waited longer for a chunk in progress on a
 * worker than it worked itself (that worker was descheduled mid-chunk: the
 * wait is a scheduler time slice, milliseconds), the calls of the next
 * `backoff` times that wait run serially. The multiple doubles with every
 * straggler that comes less than one window's length after the last window
 * ended, and starts over at FASTLC_BACKOFF_MIN otherwise. A core held by
 * another process gives a straggler within a millisecond or so of parallel
 * calls, so it costs a few waits, each followed by a serial window twice as
 * long as the one before; a rare preemption on a quiet machine (tens of
 * milliseconds apart) costs its wait and a short window. (Counting serial
 * calls instead, and starting over after one call where the worker kept up,
 * let a fit stall every few calls: 1.4-1.5x the one-thread time with a core
 * held.) A window is time, not calls, because the wait is time; it never
 * exceeds FASTLC_BACKOFF_LIMIT_NS.
 *
 * Portable fallback: without POSIX threads and the GCC/clang __atomic
 * builtins (MSVC), or with FASTLC_POOL_SERIAL defined, every call runs its
 * chunks in order on the calling thread.
 */
#ifndef FASTLC_THREADPOOL_IMPL_H
#define FASTLC_THREADPOOL_IMPL_H

#include "_threadpool.h"

#if !defined(FASTLC_POOL_SERIAL) && (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32)
#define FASTLC_POOL_THREADED 1
#else
#define FASTLC_POOL_THREADED 0
#endif

static void fastlc_run_serial(fastlc_task task, void *ctx, Py_ssize_t n_chunks)
{
    Py_ssize_t k;
    for (k = 0; k < n_chunks; k++)
        task(ctx, k);
}

#if FASTLC_POOL_THREADED

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>

#define FASTLC_POOL_MAX_WORKERS 255
#define FASTLC_CLAIM_CLOSED 0xFFFFFFFFu
/* How long an idle worker keeps polling for the next job before it sleeps:
 * longer than the Python work between two mini-batch kernel calls. */
#define FASTLC_WORKER_SPIN_NS 200000
/* How long the caller spins for chunks in progress before it yields its CPU. */
#define FASTLC_CALLER_SPIN_NS 20000
/* A wait this short never triggers the serial back-off. */
#define FASTLC_STRAGGLER_NS 50000
/* Serial window after a straggler, in multiples of its wait (see the top of this file). */
#define FASTLC_BACKOFF_MIN 2
#define FASTLC_BACKOFF_MAX 1024
#define FASTLC_BACKOFF_LIMIT_NS 1000000000

#if defined(__x86_64__) || defined(__i386__)
#define FASTLC_CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define FASTLC_CPU_RELAX() __asm__ __volatile__("yield")
#else
#define FASTLC_CPU_RELAX() ((void)0)
#endif

#define FASTLC_LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define FASTLC_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)

static struct {
    pthread_mutex_t lock;   /* guards sleeping and waking only */
    pthread_cond_t wake;
    uint64_t ticket;        /* generation << 32 | next unclaimed chunk */
    uint32_t generation;    /* the newest job's generation */
    Py_ssize_t n_chunks;
    fastlc_task task;
    void *ctx;
    Py_ssize_t done;        /* chunks finished in the current job */
    int helpers;            /* workers 0..helpers-1 take part in the current job */
    int sleepers;           /* workers waiting on `wake` */
    int owned;              /* 1 while a caller runs a job (one caller at a time) */
    int n_workers;          /* touched by the owning caller only */
    int64_t serial_until;   /* calls before this time (fastlc_now_ns) run serially */
    int64_t backoff;        /* the last window, in multiples of its straggler's wait */
    int64_t window;         /* the last window's length */
    uint32_t start_generation[FASTLC_POOL_MAX_WORKERS];
    /* counters for tests and benchmark reports, written by the owning caller only */
    int64_t parallel_calls, backoff_calls, straggler_calls, waited_ns;
} fastlc_pool;

static int64_t fastlc_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Claim the next chunk of job `generation`; 0 when there is none left (or the job is over). */
static int fastlc_claim(uint32_t generation, Py_ssize_t *chunk)
{
    uint64_t ticket = FASTLC_LOAD(&fastlc_pool.ticket);
    for (;;) {
        uint32_t next = (uint32_t)ticket;
        if ((uint32_t)(ticket >> 32) != generation || next == FASTLC_CLAIM_CLOSED
            || (Py_ssize_t)next >= FASTLC_LOAD(&fastlc_pool.n_chunks))
            return 0;
        if (__atomic_compare_exchange_n(&fastlc_pool.ticket, &ticket, ticket + 1, 1,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            *chunk = (Py_ssize_t)next;
            return 1;
        }
    }
}

/* Run chunks of job `generation` until none is left; returns how many this thread ran. */
static Py_ssize_t fastlc_work(uint32_t generation)
{
    Py_ssize_t chunk, ran = 0;
    while (fastlc_claim(generation, &chunk)) {
        /* task and ctx are stable: the job cannot end before this chunk is done */
        fastlc_pool.task(fastlc_pool.ctx, chunk);
        __atomic_add_fetch(&fastlc_pool.done, 1, __ATOMIC_RELEASE);
        ran++;
    }
    return ran;
}

/* Wait for a job newer than `seen`. A worker spins first only if it took part in
 * the last job: one that found nothing left to claim was late (its core is busy
 * with another process, or the work is too small to share), and polling would
 * only take CPU time from the threads doing the work. While it spins it yields
 * its core every 256 polls (a few microseconds): another runnable thread there
 * (a BLAS worker between two matrix products of an MLP step, another process)
 * gets it at once instead of after our spin; with nothing else runnable the
 * yield returns at once. Without it an MLPClassifier((256,)) epoch took 10-15%
 * longer, and a fit with a core held by another process up to 1.55x the
 * one-thread time. */
static uint32_t fastlc_wait_for_job(uint32_t seen, int spin)
{
    uint32_t generation;
    int64_t deadline = fastlc_now_ns() + (spin ? FASTLC_WORKER_SPIN_NS : 0);
    unsigned spins = 0;
    for (;;) {
        generation = FASTLC_LOAD(&fastlc_pool.generation);
        if (generation != seen)
            return generation;
        FASTLC_CPU_RELAX();
        if ((++spins & 255) == 0) {
            if (fastlc_now_ns() > deadline)
                break;
            sched_yield();
        }
    }
    pthread_mutex_lock(&fastlc_pool.lock);
    __atomic_add_fetch(&fastlc_pool.sleepers, 1, __ATOMIC_SEQ_CST);
    while ((generation = __atomic_load_n(&fastlc_pool.generation, __ATOMIC_SEQ_CST)) == seen)
        pthread_cond_wait(&fastlc_pool.wake, &fastlc_pool.lock);
    __atomic_sub_fetch(&fastlc_pool.sleepers, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&fastlc_pool.lock);
    return generation;
}

static void *fastlc_worker_main(void *arg)
{
    int index = (int)(intptr_t)arg;
    uint32_t seen = fastlc_pool.start_generation[index];
    int useful = 1;
    for (;;) {
        seen = fastlc_wait_for_job(seen, useful);
        useful = index < FASTLC_LOAD(&fastlc_pool.helpers) && fastlc_work(seen) > 0;
    }
    return NULL;
}

/* Start workers until there are `wanted`; returns how many there are. */
static int fastlc_start_workers(int wanted)
{
    pthread_attr_t attr;
    pthread_t thread;
    if (wanted > FASTLC_POOL_MAX_WORKERS)
        wanted = FASTLC_POOL_MAX_WORKERS;
    if (fastlc_pool.n_workers >= wanted)
        return fastlc_pool.n_workers;
    if (pthread_attr_init(&attr) != 0)
        return fastlc_pool.n_workers;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    while (fastlc_pool.n_workers < wanted) {
        int index = fastlc_pool.n_workers;
        /* the new worker waits for the next job, not the one before it */
        fastlc_pool.start_generation[index] = FASTLC_LOAD(&fastlc_pool.generation);
        if (pthread_create(&thread, &attr, fastlc_worker_main, (void *)(intptr_t)index) != 0)
            break;
        fastlc_pool.n_workers++;
    }
    pthread_attr_destroy(&attr);
    return fastlc_pool.n_workers;
}

/* No straggler on record: the state of a fresh pool (also a test hook, see _fastlc_threadpool.pyx). */
static void fastlc_pool_forget_stragglers(void)
{
    fastlc_pool.serial_until = 0;
    fastlc_pool.backoff = 0;
    fastlc_pool.window = 0;
}

/* After fork() the child has only the forking thread: start the pool over. */
static void fastlc_pool_after_fork(void)
{
    pthread_mutex_init(&fastlc_pool.lock, NULL);
    pthread_cond_init(&fastlc_pool.wake, NULL);
    fastlc_pool.n_workers = 0;
    fastlc_pool.sleepers = 0;
    fastlc_pool.owned = 0;
    fastlc_pool.helpers = 0;
    fastlc_pool_forget_stragglers();  /* the parent's stragglers say nothing of the child's cores */
}

static int fastlc_pool_init(void)
{
    if (pthread_mutex_init(&fastlc_pool.lock, NULL) != 0 || pthread_cond_init(&fastlc_pool.wake, NULL) != 0)
        return -1;
    return pthread_atfork(NULL, NULL, fastlc_pool_after_fork) == 0 ? 0 : -1;
}

static void fastlc_note_wait(int64_t end_ns, int64_t worked_ns, int64_t waited_ns)
{
    fastlc_pool.parallel_calls++;
    fastlc_pool.waited_ns += waited_ns;
    if (waited_ns > FASTLC_STRAGGLER_NS && waited_ns > worked_ns) {
        int64_t window;
        int recent = fastlc_pool.serial_until != 0 && end_ns - fastlc_pool.serial_until < fastlc_pool.window;
        fastlc_pool.straggler_calls++;
        if (!recent)
            fastlc_pool.backoff = FASTLC_BACKOFF_MIN;
        else if (fastlc_pool.backoff < FASTLC_BACKOFF_MAX)
            fastlc_pool.backoff *= 2;
        window = waited_ns * fastlc_pool.backoff;
        fastlc_pool.window = window < FASTLC_BACKOFF_LIMIT_NS ? window : FASTLC_BACKOFF_LIMIT_NS;
        fastlc_pool.serial_until = end_ns + fastlc_pool.window;
    }
}

static void fastlc_parallel_for(fastlc_task task, void *ctx, Py_ssize_t n_chunks, int n_threads)
{
    uint32_t generation;
    int helpers;
    int64_t start, worked, waited, end;
    unsigned spins = 0;
    if (n_threads > n_chunks)
        n_threads = (int)n_chunks;
    helpers = n_threads - 1;
    /* a second concurrent caller runs alone rather than waiting for the pool */
    if (helpers < 1 || n_chunks >= (Py_ssize_t)FASTLC_CLAIM_CLOSED
        || __atomic_exchange_n(&fastlc_pool.owned, 1, __ATOMIC_ACQUIRE) != 0) {
        fastlc_run_serial(task, ctx, n_chunks);
        return;
    }
    if (fastlc_pool.serial_until != 0 && fastlc_now_ns() < fastlc_pool.serial_until) {
        fastlc_pool.backoff_calls++;
        __atomic_store_n(&fastlc_pool.owned, 0, __ATOMIC_RELEASE);
        fastlc_run_serial(task, ctx, n_chunks);
        return;
    }
    if (fastlc_start_workers(helpers) < helpers)
        helpers = fastlc_pool.n_workers;
    generation = fastlc_pool.generation + 1;
    /* close the ticket under the new generation while the job's fields change */
    FASTLC_STORE(&fastlc_pool.ticket, ((uint64_t)generation << 32) | FASTLC_CLAIM_CLOSED);
    fastlc_pool.task = task;
    fastlc_pool.ctx = ctx;
    FASTLC_STORE(&fastlc_pool.n_chunks, n_chunks);
    FASTLC_STORE(&fastlc_pool.done, 0);
    FASTLC_STORE(&fastlc_pool.helpers, helpers);
    FASTLC_STORE(&fastlc_pool.ticket, (uint64_t)generation << 32);
    FASTLC_STORE(&fastlc_pool.generation, generation);
    if (__atomic_load_n(&fastlc_pool.sleepers, __ATOMIC_SEQ_CST) > 0) {
        pthread_mutex_lock(&fastlc_pool.lock);
        pthread_cond_broadcast(&fastlc_pool.wake);
        pthread_mutex_unlock(&fastlc_pool.lock);
    }
    start = fastlc_now_ns();
    fastlc_work(generation);
    worked = fastlc_now_ns() - start;
    /* every chunk is claimed: wait only for those still running on a worker */
    while (FASTLC_LOAD(&fastlc_pool.done) < n_chunks) {
        FASTLC_CPU_RELAX();
        if ((++spins & 255) == 0 && fastlc_now_ns() - start - worked > FASTLC_CALLER_SPIN_NS)
            sched_yield();
    }
    end = fastlc_now_ns();
    waited = end - start - worked;
    fastlc_note_wait(end, worked, waited);
    __atomic_store_n(&fastlc_pool.owned, 0, __ATOMIC_RELEASE);
}

static void fastlc_pool_stats(int64_t *out)
{
    out[0] = fastlc_pool.parallel_calls;
    out[1] = fastlc_pool.backoff_calls;
    out[2] = fastlc_pool.straggler_calls;
    out[3] = fastlc_pool.waited_ns;
    out[4] = fastlc_pool.n_workers;
    out[5] = fastlc_pool.serial_until;
    out[6] = fastlc_pool.backoff;
}

/* For the tests of the back-off rule: feed it a call's times. */
static void fastlc_pool_note_wait(int64_t end_ns, int64_t worked_ns, int64_t waited_ns)
{
    fastlc_note_wait(end_ns, worked_ns, waited_ns);
}

#else /* serial fallback */

static void fastlc_pool_stats(int64_t *out)
{
    out[0] = out[1] = out[2] = out[3] = out[4] = out[5] = out[6] = 0;
}

static void fastlc_pool_note_wait(int64_t end_ns, int64_t worked_ns, int64_t waited_ns)
{
    (void)end_ns, (void)worked_ns, (void)waited_ns;
}

static void fastlc_pool_forget_stragglers(void) {}

static int fastlc_pool_init(void) { return 0; }

static void fastlc_parallel_for(fastlc_task task, void *ctx, Py_ssize_t n_chunks, int n_threads)
{
    (void)n_threads;
    fastlc_run_serial(task, ctx, n_chunks);
}

#endif

static fastlc_pool_api fastlc_pool_table = {fastlc_parallel_for};

#endif
