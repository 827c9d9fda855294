"""Loss kernels: each kernel's backends side by side, per size and dtype.

Sizes are the issue's targets: (4096 samples, 1000 classes) and (8192, 10).
The naive backend runs on REDUCED_ROWS rows and is scaled up.
"""
import numpy as np
import pytest

from fastlc import kernels

from conftest import backend_thread_cases, case_id

SIZES = [(4096, 1000), (8192, 10)]
REDUCED_ROWS = {1000: 32, 10: 512}
DTYPES = [np.float32, np.float64]
FUNCTIONS = {
    "softmax_cross_entropy": lambda s, y, **kw: kernels.softmax_cross_entropy(s, y, **kw),
    "multiclass_hinge": lambda s, y, **kw: kernels.multiclass_hinge(s, y, **kw),
    "softmax": lambda s, y, **kw: kernels.softmax(s, **kw),
    "log_softmax": lambda s, y, **kw: kernels.log_softmax(s, **kw),
}


@pytest.mark.parametrize("case", backend_thread_cases(), ids=case_id)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("kernel", FUNCTIONS)
def test_loss_kernel(measure, kernel, size, dtype, case):
    backend, n_threads = case
    n_samples, n_classes = size
    rows = REDUCED_ROWS[n_classes] if backend == "naive" else n_samples
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((rows, n_classes)).astype(dtype)
    y = rng.integers(0, n_classes, rows)
    function = FUNCTIONS[kernel]
    measure(
        lambda: function(scores, y, backend=backend, n_threads=n_threads),
        group=f"{kernel} {np.dtype(dtype).name} {n_samples}x{n_classes}",
        kernel=kernel, backend=backend, dtype=dtype, size=f"{n_samples}x{n_classes}",
        n_threads=n_threads, scale=n_samples / rows, rounds=3 if backend == "naive" else None,
    )
