"""What ``n_threads=None`` means: the threads this process is allowed.

Every kernel, public function and estimator turns its ``n_threads`` argument
into a count through :func:`effective_n_threads`. An explicit ``n_threads=k``
is used as given. ``None`` is the smallest of these caps, so that fastlc stays
fast inside ``GridSearchCV(n_jobs=...)``, containers and users' own thread
limits instead of starting one thread per core in every worker:

1. the CPU affinity of the process (``os.sched_getaffinity``; re-read at most
   every 0.1 s, since it can change while the process runs);
2. the container's CPU quota (cgroup v2 ``cpu.max``, or v1
   ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``), rounded up; read once;
3. ``OMP_NUM_THREADS`` (its first entry) and ``NUMBA_NUM_THREADS``, read on
   every call. joblib's loky workers get their share of the machine this way
   (``GridSearchCV(n_jobs=2)`` on 2 cores: 1 thread each);
4. ``threadpoolctl.threadpool_limits(...)``: fastlc registers a threadpoolctl
   controller for its thread pool (``user_api="openmp"``,
   ``internal_api="fastlc"``), so ``threadpool_limits(1)`` and
   ``threadpool_limits(1, user_api="openmp")`` cap fastlc's Cython and Numba
   kernels alike, and ``threadpool_info()`` lists fastlc. (This needs the
   Cython backend to be built: threadpoolctl finds controllers by the shared
   libraries a process has loaded.)
5. fastlc's own setting, :func:`fastlc.set_config` (process-wide) and
   :func:`fastlc.config_context` (this thread, for a ``with`` block).
"""
import math
import os
import threading
import time
from contextlib import contextmanager

#: Seconds for which a read CPU affinity is reused.
AFFINITY_TTL = 0.1

#: Environment variables whose value caps the thread count.
THREAD_ENVIRONMENT_VARIABLES = ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS")

_affinity = {"count": 0, "expires": -math.inf}
_quota = {}
_global_config = {"n_threads": None}


class _ThreadConfig(threading.local):
    """This thread's stack of :func:`config_context` settings (innermost last)."""

    def __init__(self):
        # set per thread on first use, so that reading it never goes through a missing attribute
        # (getattr with a default costs ~0.6 us: an AttributeError raised and caught)
        self.overrides = []


_local = _ThreadConfig()
#: The limit set through threadpoolctl (None: no limit).
_threadpool_limit = {"n_threads": None}


#: Explicit thread counts above this are taken as this: the compiled kernels take a C int (their pools run
#: far fewer threads still), and a larger count means "as many as there are" all the same.
MAX_N_THREADS = 2**31 - 1


def check_n_threads_value(n_threads, name="n_threads"):
    """Return ``n_threads`` as an int >= 1 (at most ``MAX_N_THREADS``), or None; TypeError/ValueError naming
    ``name`` otherwise."""
    if n_threads is None:
        return None
    try:
        if isinstance(n_threads, bool):
            raise TypeError
        n = n_threads.__index__()  # a NumPy array of one value has __index__ but refuses it
    except (TypeError, AttributeError):
        raise TypeError(f"{name} must be a positive int or None; got {n_threads!r}") from None
    if n < 1:
        raise ValueError(f"{name} must be a positive int or None; got {n_threads!r}")
    return min(n, MAX_N_THREADS)


# ---------------------------------------------------------------- the caps
def cpu_affinity_count():
    """CPUs this process may run on, re-read at most every ``AFFINITY_TTL`` seconds."""
    now = time.monotonic()
    if now >= _affinity["expires"]:
        try:
            count = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not on Linux
            count = os.cpu_count() or 1
        _affinity.update(count=max(1, count), expires=now + AFFINITY_TTL)
    return _affinity["count"]


def parse_cgroup_v2_cpu_max(text):
    """CPUs allowed by a cgroup v2 ``cpu.max`` ("quota period" or "max period"), or None for no limit."""
    fields = text.split()
    if len(fields) < 1 or fields[0] == "max":
        return None
    period = float(fields[1]) if len(fields) > 1 else 100000.0
    quota = float(fields[0])
    if quota <= 0 or period <= 0:
        return None
    return quota / period


def parse_cgroup_v1_cpu_quota(quota_text, period_text):
    """CPUs allowed by cgroup v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (quota -1: no limit), or None."""
    quota, period = float(quota_text.strip()), float(period_text.strip())
    if quota <= 0 or period <= 0:
        return None
    return quota / period


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def cgroup_cpu_limit(root="/sys/fs/cgroup", proc_self_cgroup="/proc/self/cgroup"):
    """Whole CPUs allowed by the container's CPU quota (rounded up), or None when there is no quota.

    Looks at the process's own cgroup and its parents (v2), or the ``cpu``
    controller's directory (v1); the smallest quota found wins.
    """
    limits = []
    membership = _read(proc_self_cgroup) or ""
    for line in membership.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":  # cgroup v2: walk from the process's group up to the root
            path = path.rstrip("/")
            while True:
                text = _read(os.path.join(root, path.lstrip("/"), "cpu.max"))
                if text is not None:
                    limits.append(parse_cgroup_v2_cpu_max(text))
                if not path:
                    break
                path = path.rsplit("/", 1)[0]
        elif "cpu" in controllers.split(","):
            for directory in (os.path.join(root, controllers, path.lstrip("/")), os.path.join(root, controllers)):
                quota = _read(os.path.join(directory, "cpu.cfs_quota_us"))
                period = _read(os.path.join(directory, "cpu.cfs_period_us"))
                if quota is not None and period is not None:
                    limits.append(parse_cgroup_v1_cpu_quota(quota, period))
                    break
    limits = [limit for limit in limits if limit is not None]
    if not limits:
        return None
    return max(1, math.ceil(min(limits)))


def _container_cpu_limit():
    if "value" not in _quota:
        try:
            _quota["value"] = cgroup_cpu_limit()
        except (ValueError, IndexError):  # a malformed file: no usable quota
            _quota["value"] = None
    return _quota["value"]


def environment_thread_limit(environ=os.environ):
    """The smallest positive thread count in ``OMP_NUM_THREADS`` / ``NUMBA_NUM_THREADS``, or None.

    ``OMP_NUM_THREADS`` may be a list ("4,2" for nested levels): its first
    entry applies. Values that are not positive integers are ignored, as the
    OpenMP runtimes ignore them.
    """
    limit = None
    for name in THREAD_ENVIRONMENT_VARIABLES:
        value = environ.get(name)
        if not value:
            continue
        first = value.split(",")[0].strip().removeprefix("+")
        # ASCII digits only, as the OpenMP runtimes read them (Python's int() also takes "1_0" and
        # other scripts' digits)
        if not (first.isascii() and first.isdigit()):
            continue
        n = int(first)
        if n >= 1:
            limit = n if limit is None else min(limit, n)
    return limit


if os.name == "posix" and isinstance(getattr(os.environ, "_data", None), dict):
    # os.environ.get of a name that is not set costs ~1 us (a KeyError raised and caught inside
    # Mapping.get), too much for every kernel call; the dict of bytes behind os.environ, which
    # os.environ keeps in step with every change made through it, answers in ~50 ns
    _environ_data = os.environ._data
    _environ_keys = tuple(os.fsencode(name) for name in THREAD_ENVIRONMENT_VARIABLES)
    assert len(_environ_keys) == 2, "_current_environment_limit reads exactly two variables"
else:  # pragma: no cover - not POSIX CPython
    _environ_data = None

#: Parsed environment limits by the raw values they came from.
_environment_limits = {}


def _current_environment_limit():
    """``environment_thread_limit(os.environ)``, parsed only when the variables' values change."""
    if _environ_data is None:  # pragma: no cover - not POSIX CPython
        return environment_thread_limit(os.environ)
    # both names spelled out: a generator or map() here costs more than the rest of the call
    raw = (_environ_data.get(_environ_keys[0]), _environ_data.get(_environ_keys[1]))
    try:
        return _environment_limits[raw]
    except KeyError:
        if len(_environment_limits) > 64:  # values set over and over: keep the cache small
            _environment_limits.clear()
        limit = _environment_limits[raw] = environment_thread_limit(os.environ)
        return limit


def _config_n_threads():
    """``get_config()["n_threads"]`` without copying the settings."""
    overrides = _local.overrides
    return overrides[-1]["n_threads"] if overrides else _global_config["n_threads"]


def allowed_n_threads():
    """The threads this process is allowed: the smallest of the caps in this module's docstring.

    Called on every kernel call with ``n_threads=None``: it costs about a
    microsecond (no system call or parsing unless a cap has changed).
    """
    n = cpu_affinity_count()
    for cap in (_container_cpu_limit(), _current_environment_limit(), _threadpool_limit["n_threads"],
                _config_n_threads()):
        if cap is not None and cap < n:
            n = cap
    return n


def effective_n_threads(n_threads=None):
    """Return the thread count for ``n_threads``: an explicit count as given, None as ``allowed_n_threads()``.

    Parameters
    ----------
    n_threads : int >= 1 or None

    Returns
    -------
    n : int >= 1
    """
    if n_threads is None:
        return allowed_n_threads()
    return check_n_threads_value(n_threads)


# ---------------------------------------------------------------- set_config / config_context
def get_config():
    """Return fastlc's current settings (this thread's, inside :func:`config_context`).

    Returns
    -------
    config : dict
        ``{"n_threads": int or None}``.
    """
    overrides = _local.overrides
    return dict(overrides[-1]) if overrides else dict(_global_config)


def set_config(n_threads=None):
    """Set fastlc's process-wide settings, as scikit-learn's ``set_config``.

    Parameters
    ----------
    n_threads : int >= 1 or None, default=None
        Upper bound on the threads of every call made with ``n_threads=None``
        (the default of every kernel and estimator), in every thread of this
        process; None removes the bound. It does not reach joblib's worker
        processes (they start with fastlc's defaults, capped by the
        ``OMP_NUM_THREADS`` that joblib sets for them); inside a
        :func:`config_context` block the block's setting wins.
    """
    _global_config["n_threads"] = check_n_threads_value(n_threads)


@contextmanager
def config_context(*, n_threads=None):
    """Use other fastlc settings inside a ``with`` block, in the current thread only.

    Parameters
    ----------
    n_threads : int >= 1 or None, default=None
        As in :func:`set_config`; None inside the block means no fastlc bound
        (the other caps still apply). The previous setting comes back when
        the block ends, also when it raises.

    Examples
    --------
    >>> import fastlc
    >>> with fastlc.config_context(n_threads=1):
    ...     fastlc.get_config()["n_threads"]
    1
    """
    setting = {"n_threads": check_n_threads_value(n_threads)}
    overrides = _local.overrides
    overrides.append(setting)
    try:
        yield
    finally:
        overrides.pop()


# ---------------------------------------------------------------- threadpoolctl
class _Unlimited(int):
    """The count threadpoolctl is shown while it has set no limit on fastlc.

    threadpoolctl undoes a limit by setting the count it read before; told
    apart from an int by its type, that count means "no limit" again.
    """


def _register_threadpoolctl_controller():
    """Let ``threadpoolctl.threadpool_limits`` cap fastlc (see the module docstring)."""
    try:
        import threadpoolctl
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return
    if not hasattr(threadpoolctl, "register"):  # pragma: no cover - threadpoolctl < 3.5
        return

    class FastlcController(threadpoolctl.LibController):
        user_api = "openmp"
        internal_api = "fastlc"
        # the thread pool's extension module, fastlc/_cython/_fastlc_threadpool.*.so
        filename_prefixes = ("_fastlc_threadpool",)

        def get_num_threads(self):
            limit = _threadpool_limit["n_threads"]
            return _Unlimited(allowed_n_threads()) if limit is None else limit

        def set_num_threads(self, num_threads):
            if isinstance(num_threads, _Unlimited):
                # threadpool_limits restoring what get_num_threads reported while there was no limit
                # (it restores every library it saw, also those a user_api="blas" limit left alone):
                # remove the limit rather than pin the count allowed at that moment for ever
                _threadpool_limit["n_threads"] = None
            else:
                _threadpool_limit["n_threads"] = max(1, int(num_threads))

        def get_version(self):
            from . import __version__

            return __version__

    threadpoolctl.register(FastlcController)
