"""fastlc._memory: cache-line aligned arrays."""
import numpy as np
import pytest

from fastlc._memory import ALIGNMENT, aligned_copy, aligned_zeros, is_aligned


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
