"""fastlc._memory: cache-line aligned arrays."""
import numpy as np
import pytest

import sklearn

import fastlc._memory as memory
from fastlc._memory import ALIGNMENT, aligned_copy, aligned_finite_copy, aligned_for_training, aligned_zeros, is_aligned


def _misaligned(shape, dtype):
    """A C-contiguous array of ``shape`` that starts 16 bytes past a cache line, as NumPy's large ones do."""
    itemsize = np.dtype(dtype).itemsize
    buffer = aligned_zeros(int(np.prod(shape)) + ALIGNMENT // itemsize, dtype)
    array = buffer[16 // itemsize:16 // itemsize + int(np.prod(shape))].reshape(shape)
    array[...] = np.arange(array.size, dtype=dtype).reshape(shape) % 7 - 3
    return array


@pytest.mark.parametrize("shape", [7, (3, 5), (0,), (2, 3, 4)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.intp])
def test_aligned_zeros(shape, dtype):
    for _ in range(5):  # several allocations: the heap hands out different offsets
        array = aligned_zeros(shape, dtype)
        if array.size:  # an empty array has no data to align
            assert array.ctypes.data % ALIGNMENT == 0 and is_aligned(array)
        assert array.shape == np.zeros(shape).shape and array.dtype == dtype
        assert array.flags.c_contiguous and array.flags.writeable
        assert not array.any()


def test_aligned_copy_keeps_values_and_is_independent():
    source = np.arange(12.0, dtype=np.float32).reshape(3, 4)[:, 1:]  # not contiguous
    copy = aligned_copy(source)
    assert is_aligned(copy) and copy.flags.c_contiguous
    np.testing.assert_array_equal(copy, source)
    copy[0, 0] = -1
    assert source[0, 0] == 1


def test_is_aligned_sees_an_offset():
    array = aligned_zeros(32, np.float32)
    assert is_aligned(array)
    assert not is_aligned(array[1:])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_aligned_for_training_copies_a_misaligned_X(dtype):
    X = _misaligned((50, 13), dtype)
    assert not is_aligned(X)
    out = aligned_for_training(X)
    assert out is not X and is_aligned(out) and out.flags.c_contiguous and out.dtype == dtype
    np.testing.assert_array_equal(out, X)


def test_aligned_for_training_keeps_an_aligned_X():
    X = aligned_zeros((20, 8), np.float64)
    assert aligned_for_training(X) is X


def test_aligned_for_training_respects_working_memory():
    """Above scikit-learn's working_memory (MiB) X is used as is: no second copy of a large data set."""
    X = _misaligned((600, 1000), np.float64)  # 4.8 MB
    with sklearn.config_context(working_memory=4):
        assert aligned_for_training(X) is X
    with sklearn.config_context(working_memory=5):
        assert is_aligned(aligned_for_training(X))


@pytest.mark.parametrize("compiled", [True, False], ids=["cython", "numpy fallback"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_aligned_finite_copy_sees_every_non_finite_value(monkeypatch, compiled, dtype):
    if compiled and memory._copy_finite() is None:
        pytest.skip("the Cython backend is not built in this install")
    if not compiled:
        monkeypatch.setattr(memory, "_copy_finite", lambda: None)
    X = np.random.default_rng(0).standard_normal((37, 29)).astype(dtype)  # 1073 values: 16-value lanes and a tail
    copy, finite = aligned_finite_copy(X)
    assert finite and is_aligned(copy) and copy.dtype == dtype and copy.shape == X.shape
    np.testing.assert_array_equal(copy, X)
    X[0, :2] = np.finfo(dtype).max  # huge but finite: no sum that overflows
    assert aligned_finite_copy(X)[1]
    for bad in (np.nan, np.inf, -np.inf):
        for where in [(0, 0), (17, 3), (36, 28)]:  # in a lane, in the middle, in the tail
            Y = X.copy()
            Y[where] = bad
            copy, finite = aligned_finite_copy(Y)
            assert not finite, (bad, where)
            np.testing.assert_array_equal(copy, Y)
    assert aligned_finite_copy(np.empty((0, 3), dtype))[1]
