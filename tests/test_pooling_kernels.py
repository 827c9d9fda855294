"""Tests of the 2-D pooling kernels: every backend against the naive reference,
PyTorch's conventions pinned (output size, indices, ties, NaN), gradients by
finite differences, and every validation error."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastlc.kernels import (
    available_backends,
    avg_pool2d,
    avg_pool2d_backward,
    max_pool2d,
    max_pool2d_backward,
    pooled_size,
)

BACKENDS = available_backends()
FAST_BACKENDS = [b for b in BACKENDS if b != "naive"]
DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}

# (id, input shape, kernel_size, stride, padding, ceil_mode)
CASES = [
    ("k2s2", (2, 3, 8, 8), 2, None, 0, False),
    ("k2s2-odd", (2, 2, 7, 9), 2, 2, 0, False),
    ("k3s2p1", (2, 3, 9, 7), 3, 2, 1, False),
    ("k3s2p1-ceil", (2, 3, 9, 7), 3, 2, 1, True),
    ("k3s1-overlap", (1, 2, 6, 7), 3, 1, 0, False),
    ("k3s1p1-overlap", (2, 2, 6, 5), 3, 1, 1, False),
    ("k2s3p1-ceil-drop", (1, 2, 4, 4), 2, 3, 1, True),
    ("rect", (2, 2, 7, 10), (3, 2), (2, 1), (1, 0), True),
    ("k5s2p2", (1, 3, 11, 9), 5, 2, 2, False),
    ("k4s4p2-ceil", (1, 2, 7, 7), 4, 4, 2, True),
    ("global", (2, 2, 5, 6), (5, 6), 1, 0, False),
    ("k1", (1, 2, 5, 5), 1, 1, 0, False),
    ("1x1-padded", (1, 1, 1, 1), 2, 2, 1, False),
    ("wide-kernel", (1, 2, 3, 12), (2, 7), (1, 2), (1, 3), True),
]
CASE_IDS = [case[0] for case in CASES]


def _random(shape, dtype, seed=0, ties=False, nan=False):
    rng = np.random.default_rng(seed)
    if ties:  # few distinct values: many tied maxima
        x = rng.integers(-1, 2, size=shape).astype(dtype)
    else:
        x = rng.standard_normal(shape).astype(dtype)
    if nan:  # some windows with one NaN, some with several
        x[rng.random(shape) < 0.15] = np.nan
    return x


def _options(case):
    _, shape, kernel, stride, padding, ceil_mode = case
    return shape, dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)


# ---------------------------------------------------------------- backends vs naive


@pytest.mark.parametrize("n_threads", [1, 2], ids=["1thread", "2threads"])
@pytest.mark.parametrize("data", ["distinct", "ties", "nan", "ties-nan"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("backend", FAST_BACKENDS)
def test_max_pool2d_matches_naive(backend, case, dtype, data, n_threads):
    shape, options = _options(case)
    x = _random(shape, dtype, ties="ties" in data, nan="nan" in data)
    out, indices = max_pool2d(x, **options, backend=backend, n_threads=n_threads)
    ref_out, ref_indices = max_pool2d(x, **options, backend="naive")
    assert out.dtype == dtype and indices.dtype == np.int64
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(indices, ref_indices)

    grad_out = _random(out.shape, dtype, seed=1)
    grad = max_pool2d_backward(grad_out, indices, x.shape, backend=backend, n_threads=n_threads)
    ref_grad = max_pool2d_backward(grad_out, ref_indices, x.shape, backend="naive")
    assert grad.dtype == dtype and grad.shape == x.shape
    np.testing.assert_allclose(grad, ref_grad, **TOL[dtype])


@pytest.mark.parametrize("n_threads", [1, 2], ids=["1thread", "2threads"])
@pytest.mark.parametrize("count_include_pad", [True, False], ids=["count-pad", "no-count-pad"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("backend", FAST_BACKENDS)
def test_avg_pool2d_matches_naive(backend, case, dtype, count_include_pad, n_threads):
    shape, options = _options(case)
    options["count_include_pad"] = count_include_pad
    x = _random(shape, dtype)
    out = avg_pool2d(x, **options, backend=backend, n_threads=n_threads)
    ref_out = avg_pool2d(x, **options, backend="naive")
    assert out.dtype == dtype
    np.testing.assert_allclose(out, ref_out, **TOL[dtype])

    grad_out = _random(out.shape, dtype, seed=1)
    grad = avg_pool2d_backward(grad_out, x.shape, **options, backend=backend, n_threads=n_threads)
    ref_grad = avg_pool2d_backward(grad_out, x.shape, **options, backend="naive")
    assert grad.dtype == dtype and grad.shape == x.shape
    np.testing.assert_allclose(grad, ref_grad, **TOL[dtype])


@pytest.mark.parametrize("case", CASES[:9], ids=CASE_IDS[:9])
@pytest.mark.parametrize("backend", [b for b in FAST_BACKENDS if b != "numpy"])
def test_results_do_not_depend_on_n_threads(backend, case):
    shape, options = _options(case)
    x = _random((3, 5, *shape[2:]), np.float32, ties=True)
    runs = []
    for n_threads in (1, 2, 3, 64):  # 64: more threads than cores (and than some planes)
        out, indices = max_pool2d(x, **options, backend=backend, n_threads=n_threads)
        avg = avg_pool2d(x, **options, backend=backend, n_threads=n_threads)
        grad_out = _random(out.shape, np.float32, seed=2)
        runs.append((out, indices, avg,
                     max_pool2d_backward(grad_out, indices, x.shape, backend=backend, n_threads=n_threads),
                     avg_pool2d_backward(grad_out, x.shape, **options, backend=backend, n_threads=n_threads)))
    for run in runs[1:]:
        for got, first in zip(run, runs[0]):
            np.testing.assert_array_equal(got, first)


# ---------------------------------------------------------------- pinned values (PyTorch's conventions)

OUTPUT_SIZES = [
    # size, kernel, stride, padding, ceil_mode, expected (checked against torch 2.13)
    (5, 2, 2, 0, False, 2),
    (5, 2, 2, 0, True, 3),
    (6, 3, 2, 1, False, 3),
    (6, 3, 2, 1, True, 4),
    (4, 2, 3, 1, False, 2),
    (4, 2, 3, 1, True, 2),  # ceil gives 3, but that window would start in the right padding
    (7, 3, 2, 0, True, 3),
    (1, 2, 2, 1, False, 1),
]


@pytest.mark.parametrize("size, kernel, stride, padding, ceil_mode, expected", OUTPUT_SIZES)
def test_pooled_size_follows_pytorch(size, kernel, stride, padding, ceil_mode, expected):
    assert pooled_size(size, kernel, stride, padding, ceil_mode) == expected
    x = np.zeros((1, 1, size, size))
    out, _ = max_pool2d(x, kernel, stride, padding, ceil_mode=ceil_mode, backend="numpy")
    assert out.shape == (1, 1, expected, expected)


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_pool2d_worked_example(backend):
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    out, indices = max_pool2d(x, 2, backend=backend)
    np.testing.assert_array_equal(out[0, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(indices[0, 0], [[5, 7], [13, 15]])


@pytest.mark.parametrize("fill", [2.0, -np.inf], ids=["constant", "all-neg-inf"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_max_pool2d_ties_take_first_input_cell_never_padding(backend, dtype, fill):
    x = np.full((1, 1, 4, 4), fill, dtype=dtype)
    out, indices = max_pool2d(x, 2, backend=backend)
    np.testing.assert_array_equal(indices[0, 0], [[0, 2], [8, 10]])
    # padded cells (which would be -inf for max) never win, even against -inf
    out, indices = max_pool2d(x, 2, 2, 1, backend=backend)
    np.testing.assert_array_equal(out, np.full((1, 1, 3, 3), fill, dtype=dtype))
    np.testing.assert_array_equal(indices[0, 0], [[0, 1, 3], [4, 5, 7], [12, 13, 15]])


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_max_pool2d_nan_is_the_maximum(backend, dtype):
    nan = np.nan
    x = np.array([[[[1.0, nan, 3.0, 2.0], [5.0, 6.0, 7.0, 8.0]]]], dtype=dtype)
    out, indices = max_pool2d(x, (2, 4), backend=backend)
    assert np.isnan(out[0, 0, 0, 0]) and indices[0, 0, 0, 0] == 1
    # several NaNs: PyTorch's scan (val > max or isnan(val)) keeps the last one
    x[0, 0, 0, 3] = nan
    out, indices = max_pool2d(x, (2, 4), backend=backend)
    assert np.isnan(out[0, 0, 0, 0]) and indices[0, 0, 0, 0] == 3
    # NaN does not leak into windows without one; +inf is an ordinary maximum
    x = np.array([[[[nan, 0.0, np.inf, 1.0], [0.0, 0.0, 1.0, np.inf]]]], dtype=dtype)
    out, indices = max_pool2d(x, 2, backend=backend)
    assert np.isnan(out[0, 0, 0, 0]) and out[0, 0, 0, 1] == np.inf
    np.testing.assert_array_equal(indices[0, 0], [[0, 2]])
    grad = max_pool2d_backward(np.ones((1, 1, 1, 2), dtype=dtype), indices, x.shape, backend=backend)
    np.testing.assert_array_equal(grad[0, 0], [[1, 0, 1, 0], [0, 0, 0, 0]])


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_pool2d_backward_accumulates_overlapping_windows(backend):
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 1.0
    out, indices = max_pool2d(x, 3, 1, backend=backend)  # 3x3 windows, all contain the peak
    assert (indices == 12).all()
    grad = max_pool2d_backward(np.arange(1.0, 10.0).reshape(1, 1, 3, 3), indices, x.shape, backend=backend)
    expected = np.zeros((5, 5))
    expected[2, 2] = 45.0
    np.testing.assert_array_equal(grad[0, 0], expected)


@pytest.mark.parametrize("backend", BACKENDS)
def test_avg_pool2d_worked_example_with_padding(backend):
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    np.testing.assert_allclose(avg_pool2d(x, 2, backend=backend)[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    # window sums [[0, 3, 3], [12, 30, 18], [12, 27, 15]]; cells counted [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    np.testing.assert_allclose(avg_pool2d(x, 2, 2, 1, backend=backend)[0, 0],
                               [[0, 0.75, 0.75], [3, 7.5, 4.5], [3, 6.75, 3.75]])
    np.testing.assert_allclose(avg_pool2d(x, 2, 2, 1, count_include_pad=False, backend=backend)[0, 0],
                               [[0, 1.5, 3], [6, 7.5, 9], [12, 13.5, 15]])


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("backend", BACKENDS)
def test_avg_pool2d_ceil_mode_overhang_is_not_counted(backend, count_include_pad):
    # the last window of a 5-wide input with k=2, s=2, ceil_mode hangs past the
    # input (there is no padding): PyTorch divides by the cells inside only
    x = np.ones((1, 1, 5, 5))
    out = avg_pool2d(x, 2, ceil_mode=True, count_include_pad=count_include_pad, backend=backend)
    np.testing.assert_array_equal(out, np.ones((1, 1, 3, 3)))
    grad = avg_pool2d_backward(np.ones((1, 1, 3, 3)), x.shape, 2, ceil_mode=True,
                               count_include_pad=count_include_pad, backend=backend)
    expected = np.full((5, 5), 0.25)
    expected[4, :4] = expected[:4, 4] = 0.5
    expected[4, 4] = 1.0
    np.testing.assert_array_equal(grad[0, 0], expected)


# ---------------------------------------------------------------- gradients by finite differences


def _numerical_gradient(f, x, h):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + h
        plus = f(x)
        x[i] = saved - h
        minus = f(x)
        x[i] = saved
        grad[i] = (plus - minus) / (2 * h)
    return grad


FD_CASES = [case for case in CASES if case[0] in ("k2s2-odd", "k3s2p1-ceil", "k3s1p1-overlap", "rect", "k4s4p2-ceil")]


@pytest.mark.parametrize("count_include_pad", [True, False], ids=["count-pad", "no-count-pad"])
@pytest.mark.parametrize("case", FD_CASES, ids=[c[0] for c in FD_CASES])
@pytest.mark.parametrize("backend", BACKENDS)
def test_avg_pool2d_backward_is_the_gradient(backend, case, count_include_pad):
    shape, options = _options(case)
    options["count_include_pad"] = count_include_pad
    x = _random((1, 2, *shape[2:]), np.float64)
    weights = _random(avg_pool2d(x, **options, backend="numpy").shape, np.float64, seed=3)

    def f(x):
        return float((avg_pool2d(x, **options, backend=backend) * weights).sum())

    grad = avg_pool2d_backward(weights, x.shape, **options, backend=backend)
    np.testing.assert_allclose(grad, _numerical_gradient(f, x, 1e-6), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("case", FD_CASES, ids=[c[0] for c in FD_CASES])
@pytest.mark.parametrize("backend", BACKENDS)
def test_max_pool2d_backward_is_the_gradient_away_from_ties(backend, case):
    shape, options = _options(case)
    rng = np.random.default_rng(4)
    # distinct values at least 1e-3 apart: a step of 1e-6 never changes a window's maximum
    size = 2 * shape[2] * shape[3]
    x = (rng.permutation(size) * 1e-3).reshape(1, 2, shape[2], shape[3])
    out, indices = max_pool2d(x, **options, backend=backend)
    weights = _random(out.shape, np.float64, seed=5)

    def f(x):
        return float((max_pool2d(x, **options, backend=backend)[0] * weights).sum())

    grad = max_pool2d_backward(weights, indices, x.shape, backend=backend)
    np.testing.assert_allclose(grad, _numerical_gradient(f, x, 1e-6), rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------- inputs: layouts, dtypes, sizes


@pytest.mark.parametrize("backend", BACKENDS)
def test_unbatched_chw_input(backend):
    x = _random((3, 6, 5), np.float32)
    out, indices = max_pool2d(x, 2, backend=backend)
    out4, indices4 = max_pool2d(x[None], 2, backend=backend)
    assert out.shape == (3, 3, 2)
    np.testing.assert_array_equal(out, out4[0])
    np.testing.assert_array_equal(indices, indices4[0])
    grad = max_pool2d_backward(np.ones_like(out), indices, x.shape, backend=backend)
    assert grad.shape == x.shape and grad.sum() == out.size
    avg = avg_pool2d(x, 3, 1, 1, backend=backend)
    grad = avg_pool2d_backward(np.ones_like(avg), x.shape, 3, 1, 1, backend=backend)
    assert avg.shape == (3, 6, 5) and grad.shape == x.shape


@pytest.mark.parametrize("backend", BACKENDS)
def test_non_contiguous_and_read_only_inputs(backend):
    base = _random((2, 3, 10, 12), np.float64)
    x = base[:, :, ::2, 1::2]
    expected_out, expected_indices = max_pool2d(np.ascontiguousarray(x), 2, backend="naive")
    out, indices = max_pool2d(x, 2, backend=backend)
    np.testing.assert_array_equal(out, expected_out)
    frozen = np.ascontiguousarray(x)
    frozen.setflags(write=False)
    indices.setflags(write=False)
    out, _ = max_pool2d(frozen, 2, backend=backend)
    np.testing.assert_array_equal(out, expected_out)
    grad_out = np.ones_like(out)
    grad_out.setflags(write=False)
    max_pool2d_backward(grad_out, indices, x.shape, backend=backend)
    np.testing.assert_allclose(avg_pool2d(frozen, 2, backend=backend), avg_pool2d(x, 2, backend="naive"))
    avg_pool2d_backward(grad_out, x.shape, 2, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_batch(backend):
    x = np.zeros((0, 3, 4, 4), dtype=np.float32)
    out, indices = max_pool2d(x, 2, backend=backend)
    assert out.shape == indices.shape == (0, 3, 2, 2)
    assert max_pool2d_backward(out, indices, x.shape, backend=backend).shape == x.shape
    assert avg_pool2d(x, 2, backend=backend).shape == (0, 3, 2, 2)
    assert avg_pool2d_backward(out, x.shape, 2, backend=backend).shape == x.shape


def test_other_integer_index_dtypes_are_accepted():
    x = _random((1, 2, 4, 4), np.float64)
    out, indices = max_pool2d(x, 2)
    expected = max_pool2d_backward(out, indices, x.shape)
    for dtype in (np.int32, np.uint16, np.uint64):
        np.testing.assert_array_equal(max_pool2d_backward(out, indices.astype(dtype), x.shape), expected)


@settings(max_examples=30, deadline=None)
@given(
    height=st.integers(1, 9), width=st.integers(1, 9),
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    pad=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    ceil_mode=st.booleans(), count_include_pad=st.booleans(), seed=st.integers(0, 2**16),
)
def test_backends_agree_on_random_geometries(height, width, kernel, stride, pad, ceil_mode, count_include_pad, seed):
    pad = tuple(min(p, k // 2) for p, k in zip(pad, kernel))
    sizes = [pooled_size(n, k, s, p, ceil_mode) for n, k, s, p in zip((height, width), kernel, stride, pad)]
    if min(sizes) < 1:
        return
    x = _random((2, 2, height, width), np.float64, seed=seed, ties=seed % 2 == 0, nan=seed % 3 == 0)
    options = dict(kernel_size=kernel, stride=stride, padding=pad, ceil_mode=ceil_mode)
    ref_out, ref_indices = max_pool2d(x, **options, backend="naive")
    grad_out = _random(ref_out.shape, np.float64, seed=seed + 1)
    ref_grad = max_pool2d_backward(grad_out, ref_indices, x.shape, backend="naive")
    ref_avg = avg_pool2d(x, **options, count_include_pad=count_include_pad, backend="naive")
    ref_avg_grad = avg_pool2d_backward(grad_out, x.shape, **options, count_include_pad=count_include_pad,
                                       backend="naive")
    for backend in FAST_BACKENDS:
        out, indices = max_pool2d(x, **options, backend=backend)
        np.testing.assert_array_equal(out, ref_out)
        np.testing.assert_array_equal(indices, ref_indices)
        np.testing.assert_allclose(max_pool2d_backward(grad_out, indices, x.shape, backend=backend), ref_grad)
        np.testing.assert_allclose(avg_pool2d(x, **options, count_include_pad=count_include_pad, backend=backend),
                                   ref_avg, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(
            avg_pool2d_backward(grad_out, x.shape, **options, count_include_pad=count_include_pad, backend=backend),
            ref_avg_grad, rtol=1e-12, atol=1e-13)


# ---------------------------------------------------------------- validation


X = np.zeros((1, 2, 4, 4))


@pytest.mark.parametrize("function", [max_pool2d, avg_pool2d], ids=["max", "avg"])
@pytest.mark.parametrize("kwargs, error, match", [
    (dict(x=np.zeros((4, 4))), ValueError, "x must be a 3 or 4-D array"),
    (dict(x=np.zeros((1, 1, 1, 4, 4))), ValueError, "x must be a 3 or 4-D array"),
    (dict(x=np.zeros((1, 2, 0, 4))), ValueError, "non-empty height and width"),
    (dict(x=X.astype(np.complex128)), TypeError, "x must have dtype float32 or float64"),
    (dict(kernel_size=0), ValueError, r"kernel_size must be >= 1; got 0"),
    (dict(kernel_size=(2, 0)), ValueError, r"kernel_size must be >= 1; got \(2, 0\)"),
    (dict(kernel_size=2.0), TypeError, "kernel_size must be an int or a pair of ints; got 2.0"),
    (dict(kernel_size=True), TypeError, "kernel_size must be an int or a pair"),
    (dict(kernel_size=(1, 2, 3)), ValueError, r"kernel_size must be an int or a pair of ints \(height, width\)"),
    (dict(stride=0), ValueError, "stride must be >= 1; got 0"),
    (dict(stride=(1, -1)), ValueError, r"stride must be >= 1; got \(1, -1\)"),
    (dict(padding=-1), ValueError, "padding must be >= 0; got -1"),
    (dict(kernel_size=3, padding=2), ValueError, r"padding=\(2, 2\) must be at most half of kernel_size=\(3, 3\)"),
    (dict(kernel_size=(4, 3), padding=(2, 2)), ValueError, "along the width 2 > 3 / 2"),
    (dict(kernel_size=5), ValueError, r"output size \(0, 0\) is too small"),
    (dict(ceil_mode="yes"), TypeError, "ceil_mode must be True or False"),
    (dict(backend="torch"), ValueError, "backend='torch' is not valid"),
    (dict(n_threads=0), ValueError, "n_threads must be a positive int"),
])
def test_forward_validation(function, kwargs, error, match):
    arguments = dict(x=X, kernel_size=2)
    arguments.update(kwargs)
    x = arguments.pop("x")
    with pytest.raises(error, match=match):
        function(x, **arguments)


def test_avg_pool2d_rejects_non_bool_count_include_pad():
    with pytest.raises(TypeError, match="count_include_pad must be True or False"):
        avg_pool2d(X, 2, count_include_pad=1)


def _max_backward_args():
    out, indices = max_pool2d(X, 2)
    return dict(grad_out=np.ones_like(out), indices=indices, input_shape=X.shape)


@pytest.mark.parametrize("change, error, match", [
    (dict(indices=np.zeros((1, 2, 2, 2))), TypeError, "indices must be an integer array.*got dtype float64"),
    (dict(indices=np.zeros((1, 2, 2, 2), dtype=bool)), TypeError, "indices must be an integer array"),
    (dict(indices=np.zeros((1, 2, 2, 3), dtype=np.int64)), ValueError,
     r"indices must have the shape of grad_out \(1, 2, 2, 2\); got \(1, 2, 2, 3\)"),
    (dict(indices=np.full((1, 2, 2, 2), 16)), ValueError,
     r"indices\[0, 0, 0, 0\] = 16 is not a position in the input plane: it must lie in \[0, 16\)"),
    (dict(indices=np.array([[[[0, 1], [2, 3]], [[4, -1], [5, 6]]]])), ValueError, r"indices\[0, 1, 0, 1\] = -1"),
    (dict(indices=np.full((1, 2, 2, 2), 2**63, dtype=np.uint64)), ValueError, "is not a position in the input plane"),
    (dict(input_shape=(1, 2, 2, 2)), ValueError, r"it must lie in \[0, 4\)"),
    (dict(input_shape=(2, 4, 4)), ValueError, "input_shape=.* has 3 entries but grad_out has 4 dimensions"),
    (dict(input_shape=(1, 3, 4, 4)), ValueError, "batch and channel sizes must be equal"),
    (dict(input_shape=(1, 2, 0, 4)), ValueError, "height and width >= 1"),
    (dict(input_shape=(1, 2, 4.0, 4)), TypeError, "input_shape must be a tuple of ints"),
    (dict(input_shape=16), TypeError, "input_shape must be a tuple of ints"),
    (dict(grad_out=np.ones((1, 2, 2, 2), dtype=np.float32)), None, None),
    (dict(grad_out=np.ones((2, 2, 2))), ValueError, "input_shape=.* has 4 entries but grad_out has 3 dimensions"),
    (dict(grad_out=np.ones((1, 2, 2, 2), dtype=np.complex64)), TypeError, "grad_out must have dtype float32"),
])
def test_max_pool2d_backward_validation(change, error, match):
    arguments = _max_backward_args()
    arguments.update(change)
    if error is None:  # float32 gradients are fine: the result follows grad_out's dtype
        assert max_pool2d_backward(**arguments).dtype == np.float32
        return
    for backend in BACKENDS:  # the check runs before any kernel, whatever the backend
        with pytest.raises(error, match=match):
            max_pool2d_backward(**arguments, backend=backend)


@pytest.mark.parametrize("change, error, match", [
    (dict(grad_out=np.ones((1, 2, 3, 2))), ValueError,
     r"grad_out has height x width 3 x 2 but pooling input_shape=\(1, 2, 4, 4\) with these options gives 2 x 2"),
    (dict(grad_out=np.ones((1, 3, 2, 2))), ValueError, "batch and channel sizes must be equal"),
    (dict(kernel_size=3, padding=2), ValueError, "must be at most half of kernel_size"),
    (dict(input_shape=(1, 2, 1, 1)), ValueError, "output size .* is too small"),
    (dict(count_include_pad=None), TypeError, "count_include_pad must be True or False"),
])
def test_avg_pool2d_backward_validation(change, error, match):
    arguments = dict(grad_out=np.ones((1, 2, 2, 2)), input_shape=X.shape, kernel_size=2)
    arguments.update(change)
    for backend in BACKENDS:
        with pytest.raises(error, match=match):
            avg_pool2d_backward(**arguments, backend=backend)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32])
@pytest.mark.parametrize("input_shape", [(1, 2, 4, 4), (1, 2, 16, 16)], ids=["plane16", "plane256"])
def test_index_range_check_for_every_integer_dtype(dtype, input_shape):
    # plane256 is larger than int8's positive range: the check must not rely on a wrapped view there
    indices = np.zeros((1, 2, 2, 2), dtype=dtype)
    grad_out = np.ones((1, 2, 2, 2))
    plane_size = input_shape[2] * input_shape[3]
    assert max_pool2d_backward(grad_out, indices, input_shape).sum() == 8
    if np.dtype(dtype).kind == "i":
        indices[0, 1, 1, 0] = -1
        with pytest.raises(ValueError, match=r"indices\[0, 1, 1, 0\] = -1"):
            max_pool2d_backward(grad_out, indices, input_shape)
    if plane_size <= np.iinfo(dtype).max:
        indices[...] = 0
        indices[0, 0, 1, 1] = plane_size
        with pytest.raises(ValueError, match=rf"indices\[0, 0, 1, 1\] = {plane_size} "):
            max_pool2d_backward(grad_out, indices, input_shape)


def test_window_extents_fit_the_kernels_integers():
    # a kernel of 2**32 x 2**32 overflowed the int64 cell count: avg_pool2d averaged with a wrong divisor
    x = np.random.default_rng(0).standard_normal((1, 1, 4, 4))
    for kw in (dict(kernel_size=2**32, padding=2**31), dict(kernel_size=3, stride=2**31),
               dict(kernel_size=(2, 2**40), padding=(0, 2**39))):
        name = "kernel_size" if "stride" not in kw else "stride"
        for pool in (avg_pool2d, max_pool2d):
            with pytest.raises(ValueError, match=f"{name} must be <= 2147483647"):
                pool(x, **kw)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("backend", ["naive", "numpy", "numba", "cython"])
def test_avg_pool_of_infinities_is_silent_in_every_backend(backend):
    # inf - inf and an overflowing window sum give NaN and inf as PyTorch does, without the RuntimeWarning
    # the naive and numpy backends raised (the compiled ones never did)
    if backend not in BACKENDS:
        pytest.skip(f"backend {backend!r} is not available in this installation")
    x = np.array([[[[np.inf, -np.inf], [1.0, 2.0]]]])
    assert np.isnan(avg_pool2d(x, 2, backend=backend)).all()
    big = np.full((1, 1, 2, 2), 3e38, np.float32)
    assert np.isposinf(avg_pool2d(big, 2, backend=backend)).all()
    grad = avg_pool2d_backward(np.full((1, 1, 1, 1), np.inf), (1, 1, 2, 2), 2, backend=backend)
    assert np.isposinf(grad).all()
