"""Run a parallel Numba kernel with a given number of threads."""
from functools import wraps

import numba


def with_n_threads(kernel):
    """Wrap ``kernel(*args)`` into ``run(*args, n_threads)``.

    Numba's thread count is per calling thread; we set it for the call and put
    the previous value back, so concurrent callers do not see each other's setting.
    """

    @wraps(kernel)
    def run(*args):
        *kernel_args, n_threads = args
        previous = numba.get_num_threads()
        wanted = max(1, min(n_threads, numba.config.NUMBA_NUM_THREADS))
        if wanted == previous:
            # the usual case (as many as allowed); each set_num_threads costs about a microsecond
            return kernel(*kernel_args)
        numba.set_num_threads(wanted)
        try:
            return kernel(*kernel_args)
        finally:
            numba.set_num_threads(previous)

    run.kernel = kernel
    return run
