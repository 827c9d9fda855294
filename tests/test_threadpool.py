"""fastlc's thread pool for the Cython kernels (kernels/cython/_threadpool*.h, _fastlc_threadpool.pyx).

Checked through the pool's probe (one chunk per array element, each recording
the OS thread that ran it) and through real kernels: every chunk runs exactly
once, on at most ``n_threads`` threads, results do not depend on the thread
count, and the pool survives concurrent callers, ``fork`` and a busy core.
"""
import multiprocessing
import subprocess
import sys
import threading

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastlc import kernels
from fastlc._dispatch import available_backends

pytestmark = pytest.mark.skipif("cython" not in available_backends(),
                                reason="the thread pool is part of the Cython backend, which is not built here")


def probe(n_chunks, n_threads, spin=0):
    from fastlc._cython import _fastlc_threadpool as _threadpool

    thread_of_chunk = np.zeros(n_chunks, dtype=np.int64)
    _threadpool._probe(thread_of_chunk, n_threads, spin)
    return thread_of_chunk


@pytest.mark.parametrize("n_chunks", [0, 1, 2, 7, 64, 1000])
@pytest.mark.parametrize("n_threads", [1, 2, 3, 8])
def test_every_chunk_runs_once_on_at_most_n_threads(n_chunks, n_threads):
    threads = probe(n_chunks, n_threads, spin=2000)
    assert np.all(threads != 0), "a chunk did not run"
    assert len(np.unique(threads)) <= min(n_threads, max(n_chunks, 1))


def test_one_thread_runs_on_the_caller():
    threads = probe(50, 1)
    assert set(threads.tolist()) == {threading.get_native_id()}


def _threaded():
    from fastlc._cython import _fastlc_threadpool

    return _fastlc_threadpool.THREADED


def test_a_big_job_uses_the_workers():
    if not _threaded():
        pytest.skip("this build's pool is serial (FASTLC_PLAIN, or no pthreads/atomics): no workers to use")
    # with enough work per chunk a woken worker claims some chunks (it may
    # start late on a busy machine, hence many chunks and a few tries; and
    # stragglers of earlier tests must not leave the pool in a serial window)
    from fastlc._cython import _fastlc_threadpool

    for _ in range(20):
        _fastlc_threadpool._forget_stragglers()
        if len(np.unique(probe(2000, 2, spin=20000))) == 2:
            return
    pytest.fail("no worker took part in 20 parallel calls of 2000 chunks")


def test_concurrent_callers_each_get_all_their_chunks():
    errors = []

    def call():
        try:
            for _ in range(50):
                threads = probe(97, 2, spin=500)
                assert np.all(threads != 0)
        except AssertionError as error:  # pragma: no cover - reported below
            errors.append(error)

    callers = [threading.Thread(target=call) for _ in range(4)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    assert not errors


# ---------------------------------------------------------------- the straggler back-off rule
MS = 1_000_000


@pytest.fixture
def pool():
    """The pool's module with no straggler on record, before and after the test."""
    from fastlc._cython import _fastlc_threadpool

    if not _fastlc_threadpool.THREADED:
        pytest.skip("this build's pool is serial (FASTLC_PLAIN, or no pthreads/atomics): it never backs off")
    _fastlc_threadpool._forget_stragglers()
    yield _fastlc_threadpool
    _fastlc_threadpool._forget_stragglers()


def test_serial_windows_double_while_stragglers_recur_and_start_over_after_a_quiet_spell(pool):
    # times 1 s after boot: long past, so these windows never cover a real call
    end = 1000 * MS
    pool._note_wait(end, 1 * MS, 3 * MS)  # waited 3 ms for a worker, worked 1 ms itself
    state = pool.stats()
    assert (state["backoff"], state["serial_until_ns"]) == (2, end + 6 * MS)
    end = state["serial_until_ns"] + 5 * MS  # the next straggler within a window's length (6 ms) of it
    pool._note_wait(end, 1 * MS, 3 * MS)
    state = pool.stats()
    assert (state["backoff"], state["serial_until_ns"]) == (4, end + 12 * MS)
    # no stragglers: a wait under 50 us, or one shorter than the caller's own work
    pool._note_wait(end + 20 * MS, 1 * MS, 40_000)
    pool._note_wait(end + 20 * MS, 5 * MS, 3 * MS)
    assert pool.stats()["serial_until_ns"] == end + 12 * MS
    end += 12 * MS + 13 * MS  # more than a window's length (12 ms) after the last window: a new episode
    pool._note_wait(end, 1 * MS, 3 * MS)
    state = pool.stats()
    assert (state["backoff"], state["serial_until_ns"]) == (2, end + 6 * MS)


def test_a_serial_window_lasts_at_most_a_second(pool):
    end = 1000 * MS
    for _ in range(15):
        pool._note_wait(end, 1 * MS, 50 * MS)
        window = pool.stats()["serial_until_ns"] - end
        end += window + 1 * MS  # stragglers right after each window
    assert window == 1000 * MS
    assert pool.stats()["backoff"] == 1024


@pytest.mark.skipif(sys.platform != "linux",
                    reason="needs Python's time.monotonic_ns to be the pool's CLOCK_MONOTONIC, as on Linux")
def test_calls_inside_a_serial_window_run_on_the_caller(pool):
    import time

    pool._note_wait(time.monotonic_ns(), 1 * MS, 10_000 * MS)  # a 10 s wait: a window of 1 s from now
    before = pool.stats()["backoff_calls"]
    assert set(probe(200, 2, spin=20000).tolist()) == {threading.get_native_id()}
    assert pool.stats()["backoff_calls"] == before + 1


def _child_probe(queue):
    threads = probe(500, 2, spin=5000)
    queue.put(bool(np.all(threads != 0)))


def test_pool_works_after_fork():
    probe(500, 2, spin=5000)  # start the parent's workers first
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_probe, args=(queue,))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert queue.get(timeout=5) is True


def _kernel_results(n_threads):
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((3000, 10)).astype(np.float32)
    wide = rng.standard_normal((700, 80))
    y = rng.integers(0, 10, 3000)
    y_wide = rng.integers(0, 80, 700)
    images = rng.standard_normal((6, 5, 33, 31))
    param = rng.standard_normal(200_003).astype(np.float32)
    grad = rng.standard_normal(200_003).astype(np.float32)
    exp_avg, exp_avg_sq = np.zeros_like(param), np.zeros_like(param)
    kernels.adam_step(param, grad, exp_avg, exp_avg_sq, step=1, lr=1e-2, backend="cython", n_threads=n_threads)
    pooled, indices = kernels.max_pool2d(images, 3, stride=2, padding=1, backend="cython", n_threads=n_threads)
    return [
        *kernels.multiclass_hinge(scores, y, backend="cython", n_threads=n_threads),
        *kernels.multiclass_hinge(wide, y_wide, squared=True, backend="cython", n_threads=n_threads),
        *kernels.softmax_cross_entropy(scores, y, label_smoothing=0.1, backend="cython", n_threads=n_threads),
        kernels.softmax(wide, backend="cython", n_threads=n_threads),
        pooled, indices,
        kernels.avg_pool2d(images, 2, backend="cython", n_threads=n_threads),
        param, exp_avg, exp_avg_sq,
    ]


def test_kernels_give_the_same_bits_for_any_thread_count():
    expected = _kernel_results(1)
    for n_threads in (2, 3, 16):
        for got, want in zip(_kernel_results(n_threads), expected):
            assert_array_equal(np.asarray(got), np.asarray(want))


SPINNER = "import time\nend = time.time() + 60\nwhile time.time() < end:\n    pass\n"


def test_results_are_right_while_other_processes_hold_the_cores():
    # as many CPU-bound processes as cores: workers are descheduled mid-job all the time
    spinners = [subprocess.Popen([sys.executable, "-c", SPINNER]) for _ in range(2)]
    try:
        expected = _kernel_results(1)
        for _ in range(5):
            for got, want in zip(_kernel_results(2), expected):
                assert_array_equal(np.asarray(got), np.asarray(want))
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
