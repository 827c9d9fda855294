"""What ``n_threads=None`` means (fastlc._threads): every cap on its own, and their use by the kernels.

Caps read from the environment or the process's CPU affinity are tested in
subprocesses, so that the test process keeps its own settings.
"""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import fastlc
from fastlc import kernels
from fastlc._dispatch import available_backends
from fastlc._threads import (
    allowed_n_threads,
    cgroup_cpu_limit,
    effective_n_threads,
    environment_thread_limit,
    parse_cgroup_v1_cpu_quota,
    parse_cgroup_v2_cpu_max,
)

#: What the machine allows this test process, before any variable, limit or setting of our own:
#: its CPU affinity, capped by a container quota if the tests run under one.
N_CPUS = min(len(os.sched_getaffinity(0)), cgroup_cpu_limit() or len(os.sched_getaffinity(0)))
PROBE = "import fastlc._threads as t; print(t.allowed_n_threads())"


@pytest.fixture(autouse=True)
def without_thread_variables(monkeypatch):
    """Run every test without OMP_NUM_THREADS / NUMBA_NUM_THREADS, which CI machines often set."""
    for name in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)


def allowed_in_subprocess(code=PROBE, **environment):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS")}
    env.update(environment)
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return int(run.stdout.split()[-1])


# ---------------------------------------------------------------- each cap on its own
def test_without_caps_every_cpu_of_the_affinity_is_allowed():
    assert allowed_in_subprocess() == N_CPUS


def test_cpu_affinity_caps_the_count():
    code = "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); " + PROBE
    assert allowed_in_subprocess(code) == 1


@pytest.mark.parametrize("name", ["OMP_NUM_THREADS", "NUMBA_NUM_THREADS"])
def test_thread_environment_variables_cap_the_count(name):
    assert allowed_in_subprocess(**{name: "1"}) == 1


@pytest.mark.parametrize("name", ["OMP_NUM_THREADS", "NUMBA_NUM_THREADS"])
def test_thread_environment_variables_changed_while_running_are_seen(monkeypatch, name):
    # the values are parsed only when they change: every change must still be seen at once
    monkeypatch.setenv(name, "1")
    assert allowed_n_threads() == 1
    monkeypatch.setenv(name, "1,1")
    assert allowed_n_threads() == 1
    monkeypatch.setenv(name, str(N_CPUS + 1))
    assert allowed_n_threads() == N_CPUS
    monkeypatch.setenv(name, "1")
    assert allowed_n_threads() == 1
    monkeypatch.delenv(name)
    assert allowed_n_threads() == N_CPUS


def test_environment_values():
    assert environment_thread_limit({}) is None
    assert environment_thread_limit({"OMP_NUM_THREADS": "3,2"}) == 3  # nested levels: the first applies
    assert environment_thread_limit({"OMP_NUM_THREADS": "4", "NUMBA_NUM_THREADS": "2"}) == 2
    # what OpenMP runtimes ignore, we ignore
    assert environment_thread_limit({"OMP_NUM_THREADS": "zero", "NUMBA_NUM_THREADS": "0"}) is None
    assert environment_thread_limit({"OMP_NUM_THREADS": " +3 "}) == 3
    # ASCII digits only, as OpenMP reads them: Python's int() would take "1_0" as 10 and an Arabic-Indic 3
    for value in ("1_0", "\u0663", "1.5", "-2", "++1"):
        assert environment_thread_limit({"OMP_NUM_THREADS": value}) is None, value


def test_cgroup_v2_quota(tmp_path):
    (tmp_path / "proc").write_text("0::/job/task\n")
    (tmp_path / "job" / "task").mkdir(parents=True)
    (tmp_path / "job" / "task" / "cpu.max").write_text("max 100000\n")
    (tmp_path / "job" / "cpu.max").write_text("150000 100000\n")  # a parent's quota applies too
    assert cgroup_cpu_limit(root=str(tmp_path), proc_self_cgroup=str(tmp_path / "proc")) == 2
    (tmp_path / "job" / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_limit(root=str(tmp_path), proc_self_cgroup=str(tmp_path / "proc")) is None


def test_cgroup_v1_quota(tmp_path):
    (tmp_path / "proc").write_text("4:memory:/\n3:cpu,cpuacct:/docker/abc\n")
    group = tmp_path / "cpu,cpuacct" / "docker" / "abc"
    group.mkdir(parents=True)
    (group / "cpu.cfs_quota_us").write_text("50000\n")
    (group / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_limit(root=str(tmp_path), proc_self_cgroup=str(tmp_path / "proc")) == 1
    (group / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_limit(root=str(tmp_path), proc_self_cgroup=str(tmp_path / "proc")) is None


def test_cgroup_parsers():
    assert parse_cgroup_v2_cpu_max("max 100000") is None
    assert parse_cgroup_v2_cpu_max("250000 100000") == 2.5
    assert parse_cgroup_v1_cpu_quota("-1", "100000") is None
    assert parse_cgroup_v1_cpu_quota("300000", "100000") == 3.0


def test_no_cgroup_files_means_no_quota(tmp_path):
    assert cgroup_cpu_limit(root=str(tmp_path), proc_self_cgroup=str(tmp_path / "missing")) is None


# ---------------------------------------------------------------- threadpoolctl
needs_pool = pytest.mark.skipif("cython" not in available_backends(),
                                reason="threadpoolctl finds fastlc by its thread pool's library (Cython backend)")


def require_threaded_pool():
    from fastlc._cython import _fastlc_threadpool

    if not _fastlc_threadpool.THREADED:
        pytest.skip("this build's pool is serial (FASTLC_PLAIN, or no pthreads/atomics): it counts no parallel calls")


@needs_pool
def test_threadpoolctl_lists_fastlc():
    info = [lib for lib in threadpool_info() if lib["internal_api"] == "fastlc"]
    assert len(info) == 1
    assert info[0]["user_api"] == "openmp" and info[0]["num_threads"] == allowed_n_threads()


@needs_pool
@pytest.mark.parametrize("user_api", [None, "openmp"])
def test_threadpool_limits_caps_fastlc_and_is_undone(user_api):
    before = allowed_n_threads()
    with threadpool_limits(limits=1, user_api=user_api):
        assert allowed_n_threads() == 1
        assert effective_n_threads(None) == 1
        with threadpool_limits(limits=1, user_api=user_api):  # nested
            assert allowed_n_threads() == 1
        assert allowed_n_threads() == 1
    assert allowed_n_threads() == before
    assert fastlc._threads._threadpool_limit["n_threads"] is None  # the limit is gone, not pinned


@needs_pool
def test_threadpool_limits_on_other_libraries_leave_fastlc_unlimited():
    # threadpoolctl restores every library it saw on exit, also those the limit did not select;
    # restoring fastlc must not turn the count allowed at that moment into a lasting limit
    with fastlc.config_context(n_threads=1):
        with threadpool_limits(limits=1, user_api="blas"):
            pass
        with threadpool_limits(limits=1):
            assert allowed_n_threads() == 1
    assert fastlc._threads._threadpool_limit["n_threads"] is None
    assert allowed_n_threads() == N_CPUS


@needs_pool
def test_threadpool_limits_can_raise_a_limit_inside_another():
    with threadpool_limits(limits=1):
        with threadpool_limits(limits=N_CPUS):
            assert allowed_n_threads() == N_CPUS
        assert allowed_n_threads() == 1
    assert allowed_n_threads() == N_CPUS


def pool_calls():
    """Calls that asked the pool for more than one thread: run in parallel, or serially because the pool backs
    off after a straggler (a worker descheduled by a busy machine, as on a shared CI host)."""
    from fastlc._cython import _fastlc_threadpool

    stats = _fastlc_threadpool.stats()
    return stats["parallel_calls"] + stats["backoff_calls"]


@needs_pool
def test_threadpool_limits_reach_the_kernels():
    require_threaded_pool()
    scores = np.random.default_rng(0).standard_normal((50_000, 10))
    y = np.zeros(50_000, dtype=np.intp)
    before = pool_calls()
    with threadpool_limits(limits=1):
        kernels.multiclass_hinge(scores, y, backend="cython")
    assert pool_calls() == before
    if N_CPUS > 1:
        kernels.multiclass_hinge(scores, y, backend="cython")
        assert pool_calls() == before + 1


# ---------------------------------------------------------------- set_config / config_context
@pytest.fixture
def restore_config():
    saved = fastlc.get_config()
    yield
    fastlc.set_config(**saved)


def test_set_config_caps_every_thread(restore_config):
    fastlc.set_config(n_threads=1)
    seen = []
    worker = threading.Thread(target=lambda: seen.append(allowed_n_threads()))
    worker.start()
    worker.join()
    assert allowed_n_threads() == 1 and seen == [1]
    fastlc.set_config(n_threads=None)
    assert allowed_n_threads() == N_CPUS


def test_config_context_nests_is_thread_local_and_is_undone_on_errors():
    with fastlc.config_context(n_threads=1):
        assert fastlc.get_config() == {"n_threads": 1}
        seen = []
        worker = threading.Thread(target=lambda: seen.append(allowed_n_threads()))
        worker.start()
        worker.join()
        assert seen == [N_CPUS]  # another thread keeps the process-wide setting
        with pytest.raises(RuntimeError):
            with fastlc.config_context(n_threads=None):
                assert allowed_n_threads() == N_CPUS
                raise RuntimeError("boom")
        assert allowed_n_threads() == 1
    assert fastlc.get_config() == {"n_threads": None}


def test_explicit_n_threads_is_used_as_given():
    with fastlc.config_context(n_threads=1):
        assert effective_n_threads(7) == 7
        assert effective_n_threads(np.int64(3)) == 3


@pytest.mark.parametrize("bad, error", [(True, TypeError), (np.True_, TypeError), (2.0, TypeError), ("2", TypeError),
                                        (0, ValueError), (-1, ValueError)])
def test_bad_n_threads_values_are_rejected_naming_the_argument(bad, error):
    for call in (lambda: effective_n_threads(bad), lambda: fastlc.set_config(n_threads=bad),
                 lambda: fastlc.config_context(n_threads=bad).__enter__(),
                 lambda: kernels.softmax(np.zeros((2, 2)), n_threads=bad)):
        with pytest.raises(error, match="n_threads"):
            call()


# ---------------------------------------------------------------- joblib and the estimators
def test_joblib_workers_get_their_share():
    joblib = pytest.importorskip("joblib", reason="joblib comes with scikit-learn")
    counts = joblib.Parallel(n_jobs=2, backend="loky")(joblib.delayed(allowed_n_threads)() for _ in range(4))
    assert max(counts) == max(1, N_CPUS // 2)


def test_joblib_inner_max_num_threads_reaches_the_workers_and_our_settings_do_not(restore_config):
    # what the README tells users: joblib's setting reaches the workers (through the variables it
    # sets), the parent's set_config does not (workers are other processes)
    joblib = pytest.importorskip("joblib", reason="joblib comes with scikit-learn")
    fastlc.set_config(n_threads=1)
    with joblib.parallel_config(backend="loky", inner_max_num_threads=2):
        counts = joblib.Parallel(n_jobs=2)(joblib.delayed(allowed_n_threads)() for _ in range(2))
    assert counts == [min(2, N_CPUS)] * 2


@needs_pool
def test_estimator_fit_respects_the_cap():
    require_threaded_pool()
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((2000, 300)), rng.integers(0, 10, 2000)
    model = fastlc.SoftmaxClassifier(max_epochs=2, tol=None, batch_size=256, random_state=0)
    before = pool_calls()
    with fastlc.config_context(n_threads=1):
        capped = model.fit(X, y).coef_.copy()
    assert pool_calls() == before
    uncapped = model.fit(X, y).coef_
    if N_CPUS > 1:
        assert pool_calls() > before
    assert np.array_equal(uncapped, capped)  # the thread count never changes the model



@pytest.mark.parametrize("backend", ["numpy", "numba", "cython"])
def test_a_huge_explicit_thread_count_means_as_many_as_there_are(backend):
    # the compiled kernels take a C int: counts above MAX_N_THREADS are taken as it, not an OverflowError
    from fastlc._threads import MAX_N_THREADS, check_n_threads_value

    if backend not in available_backends():
        pytest.skip(f"backend {backend!r} is not available in this installation")
    assert check_n_threads_value(2**40) == MAX_N_THREADS
    assert check_n_threads_value(np.int16(3)) == 3
    x = np.linspace(-3, 3, 1001)
    np.testing.assert_array_equal(kernels.gelu(x, backend=backend, n_threads=2**31),
                                  kernels.gelu(x, backend=backend, n_threads=1))
    loss, grad = kernels.mse_loss(x, -x, backend=backend, n_threads=2**63)
    np.testing.assert_array_equal(grad, kernels.mse_loss(x, -x, backend=backend, n_threads=1)[1])


@pytest.mark.parametrize("value", [np.array([2]), np.array([1, 2]), 2.0, "2", True])
def test_a_thread_count_that_is_no_integer_is_refused_by_name(value):
    from fastlc._threads import check_n_threads_value

    with pytest.raises(TypeError, match="n_threads must be a positive int or None"):
        check_n_threads_value(value)
