"""Compiler options and thread defaults, kept in one place.

Numba ``fastmath`` flags: we allow re-association, contraction (FMA), reciprocal
approximation and ignoring the sign of zero, because they let LLVM vectorize
reductions. We never allow ``nnan``/``ninf``: NaN and infinity must propagate
through every kernel exactly as in NumPy.
"""

NUMBA_FASTMATH = {"nsz", "arcp", "contract", "reassoc"}

#: Options shared by every ``@njit`` kernel. ``cache=True`` writes the compiled
#: machine code next to the kernel sources so that only the first process on a
#: machine pays the JIT latency.
NUMBA_OPTIONS = dict(cache=True, nogil=True, fastmath=NUMBA_FASTMATH, error_model="numpy")

#: As ``NUMBA_OPTIONS`` without ``arcp``, for a loop that divides by a parameter that may be subnormal:
#: ``arcp`` computes ``d / beta`` as ``d * (1 / beta)``, and ``1 / beta`` is inf there (smooth L1 with
#: beta = 1e-40 in float32 gave NaN). Only such a parameter takes these loops: the whole loss kernel
#: without arcp ran smooth L1 on 1e6 elements (1 thread) 23% (float32) and 50% (float64) slower.
NUMBA_EXACT_DIVISION_OPTIONS = dict(NUMBA_OPTIONS, fastmath=NUMBA_FASTMATH - {"arcp"})


#: Elements per thread below which the element-wise kernels (optimizer steps)
#: use fewer threads: starting a parallel region costs a few microseconds,
#: more than updating a small parameter array takes.
ELEMENTWISE_GRAIN = 1 << 16


#: Values per thread below which the row-wise kernels (losses, softmax,
#: pooling) use fewer threads: about 10 us of work each, against the few
#: microseconds it takes to wake a sleeping worker.
ROWWISE_GRAIN = 1 << 14


def work_n_threads(n_values, n_threads, grain):
    """Threads worth using for ``n_values`` of work: at most ``n_threads``, at least ``grain`` values each."""
    return max(1, min(n_threads, -(-n_values // grain)))


def elementwise_n_threads(n_elements, n_threads):
    """Threads worth using for an element-wise kernel over ``n_elements``."""
    return work_n_threads(n_elements, n_threads, ELEMENTWISE_GRAIN)


def rowwise_n_threads(n_values, n_threads):
    """Threads worth using for a row-wise kernel (loss, softmax, pooling) over ``n_values`` inputs."""
    return work_n_threads(n_values, n_threads, ROWWISE_GRAIN)

#: Options of the element-wise ``@njit`` kernels (optimizer steps): no fastmath
#: at all. They vectorize without it (no reductions), and exact IEEE arithmetic
#: keeps them within rounding of PyTorch and independent of how the array is
#: split between threads (vector body and scalar remainder compute alike).
NUMBA_ELEMENTWISE_OPTIONS = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")

#: Options of the element-wise kernels built on polynomial approximations (activations, dropout):
#: as above, plus contraction into fused multiply-adds (the polynomials are mostly multiply-adds:
#: about twice as fast, and within rounding of the unfused form). Contraction assumes nothing
#: about NaN or infinity, and does not depend on how the array is split between threads
#: (the chunks are fixed by the size).
NUMBA_POLYNOMIAL_OPTIONS = dict(NUMBA_ELEMENTWISE_OPTIONS, fastmath={"contract"})
