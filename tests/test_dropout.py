"""Dropout: the generator's known answers, the same mask in every backend and for every thread count,
inverted scaling, the backward, edge values of p, validation."""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastlc import _chunking
from fastlc import kernels as K
from fastlc.gradcheck import numerical_gradient

from conftest import require_backend

# Random123's kat_vectors, "philox4x32 10" lines: counter (4 words), key (2 words) -> output (4 words)
PHILOX_KAT = [
    ((0x00000000, 0x00000000, 0x00000000, 0x00000000), (0x00000000, 0x00000000),
     (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF),
     (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


def test_philox_known_answers():
    from fastlc._naive._dropout import philox4x32_10 as naive
    from fastlc._numpy._dropout import philox4x32_10 as vectorized

    for counter, key, expected in PHILOX_KAT:
        assert naive(counter, key) == expected
        words = vectorized(*[np.array([c], dtype=np.uint64) for c in counter], *key)
        assert tuple(int(w[0]) for w in words) == expected
    if "cython" in K.available_backends():
        from fastlc._cython._dropout import philox4x32_10 as compiled

        for counter, key, expected in PHILOX_KAT:
            assert compiled(counter, key) == expected
    if "numba" in K.available_backends():
        from fastlc._numba._dropout import philox4x32_10 as jitted

        for counter, key, expected in PHILOX_KAT:
            words = jitted(*[np.uint64(c) for c in counter], *[np.uint64(k) for k in key])
            assert tuple(int(w) for w in words) == expected


@pytest.mark.parametrize("seed", [0, 12345, 2**64 - 1])
def test_same_mask_in_every_backend_and_thread_count(backend, dtype, seed, monkeypatch):
    monkeypatch.setattr(_chunking, "CHUNK", 64)  # many chunks; 1001 is not a multiple of 4
    x = np.random.default_rng(0).standard_normal((7, 143)).astype(dtype)
    ref_out, ref_mask = K.dropout(x, 0.3, seed=seed, backend="naive")
    for n_threads in (1, 2):
        out, mask = K.dropout(x, 0.3, seed=seed, backend=backend, n_threads=n_threads)
        assert out.dtype == dtype and mask.dtype == bool
        assert_array_equal(mask, ref_mask)
        assert_array_equal(out, ref_out)
        g = np.random.default_rng(1).standard_normal(x.shape).astype(dtype)
        assert_array_equal(K.dropout_backward(g, mask, 0.3, backend=backend, n_threads=n_threads),
                           K.dropout_backward(g, mask, 0.3, backend="naive"))


@pytest.mark.parametrize("backend", ("numba", "cython"))
@pytest.mark.parametrize("chunk", [1 << 16, 1000])
def test_same_mask_on_long_runs(backend, dtype, chunk, monkeypatch):
    # long chunks: the vectorized paths (AVX-512 where the CPU has it: 16 blocks at a time) with
    # a remainder of single blocks and a last partial block (4099 = 4 * 1024 + 3)
    require_backend(backend)
    monkeypatch.setattr(_chunking, "CHUNK", chunk)
    x = np.random.default_rng(2).standard_normal(4099).astype(dtype)
    ref_out, ref_mask = K.dropout(x, 0.7, seed=99, backend="naive")
    for n_threads in (1, 2):
        out, mask = K.dropout(x, 0.7, seed=99, backend=backend, n_threads=n_threads)
        assert_array_equal(mask, ref_mask)
        assert_array_equal(out, ref_out)


def test_values_and_statistics():
    x = np.random.default_rng(0).standard_normal(200_000).astype(np.float32)
    out, mask = K.dropout(x, 0.3, seed=7, backend="numpy")
    assert abs(1 - mask.mean() - 0.3) < 5 * np.sqrt(0.21 / x.size)
    assert_array_equal(out[mask], x[mask] * np.float32(1 / 0.7))
    assert_array_equal(out[~mask], 0)
    other, other_mask = K.dropout(x, 0.3, seed=8, backend="numpy")
    assert 0.3 < (mask != other_mask).mean() < 0.5  # a new seed gives a new mask (P(differ) = 0.42)


@pytest.mark.parametrize("backend", ("naive", "numba", "cython"))
def test_edge_values_of_p(backend):
    require_backend(backend)
    x = np.array([1.0, -2.0, np.nan, np.inf, 3.0])
    out, mask = K.dropout(x, 0.0, seed=1, backend=backend)
    assert mask.all()
    assert_array_equal(out, x)
    out, mask = K.dropout(x, 1.0, seed=1, backend=backend)
    assert not mask.any()
    assert_array_equal(out, [0, 0, np.nan, np.nan, 0])  # input * 0, as PyTorch: NaN stays NaN
    out, mask = K.dropout(x, 0.5, seed=1, training=False, backend=backend)
    assert mask.all()
    assert_array_equal(out, x)
    assert_array_equal(K.dropout_backward(np.ones(5), np.zeros(5, bool), 1.0, backend=backend), 0)
    empty, empty_mask = K.dropout(np.empty((0, 3)), 0.5, seed=1, backend=backend)
    assert empty.shape == empty_mask.shape == (0, 3)


@pytest.mark.parametrize("backend", ("naive", "numpy", "numba", "cython"))
def test_zero_dimensional_input_keeps_its_shape(backend, dtype):
    # a 0-d x gives a 0-d output and mask (as PyTorch), the element of the 1-element array's, and the
    # mask dropout returns is the one dropout_backward takes
    require_backend(backend)
    for seed in range(8):  # both outcomes (p = 0.5)
        x = np.array(1.5, dtype)
        out, mask = K.dropout(x, 0.5, seed=seed, backend=backend, n_threads=1)
        flat_out, flat_mask = K.dropout(x.reshape(1), 0.5, seed=seed, backend=backend)
        assert out.shape == mask.shape == () and out.dtype == dtype and mask.dtype == bool
        assert mask == flat_mask[0] and out == flat_out[0]
        grad = K.dropout_backward(np.array(3.0, dtype), mask, 0.5, backend=backend, n_threads=2)
        assert grad.shape == () and grad.dtype == dtype and grad == (6.0 if mask else 0.0)
    out, mask = K.dropout(dtype.type(2.0), 0.5, seed=1, training=False, backend=backend)
    assert out.shape == mask.shape == () and out == 2.0 and mask
    given = np.empty((), dtype)
    assert K.dropout(x, 0.0, seed=0, backend=backend, out=given)[0] is given and given == x
    with pytest.raises(ValueError, match="mask"):
        K.dropout_backward(np.array(1.0, dtype), np.ones(1, bool), 0.5, backend=backend)


@pytest.mark.parametrize("backend", ("naive", "cython"))
def test_backward_matches_finite_differences(backend):
    require_backend(backend)
    x = np.random.default_rng(3).standard_normal(10)
    g = np.random.default_rng(4).standard_normal(10)
    _, mask = K.dropout(x, 0.4, seed=11, backend=backend)
    numerical = numerical_gradient(lambda z: (K.dropout(z, 0.4, seed=11, backend=backend)[0] * g).sum(), x.copy())
    assert_allclose(K.dropout_backward(g, mask, 0.4, backend=backend), numerical, rtol=1e-7)


def test_in_place_backward_and_strided_input():
    x = np.random.default_rng(5).standard_normal((4, 10))
    out, mask = K.dropout(x[:, ::2], 0.5, seed=3)
    assert_array_equal(out, K.dropout(x[:, ::2].copy(), 0.5, seed=3, backend="naive")[0])
    g = np.ones_like(out)
    assert K.dropout_backward(g, mask, 0.5, out=g) is g
    assert_array_equal(g, 2.0 * mask)


def test_bad_input_names_the_argument():
    x = np.zeros(4)
    with pytest.raises(ValueError, match="p must be <= 1"):
        K.dropout(x, 1.5, seed=0)
    with pytest.raises(ValueError, match="p must be >= 0"):
        K.dropout(x, -0.1, seed=0)
    with pytest.raises(ValueError, match="seed"):
        K.dropout(x, 0.5, seed=-1)
    with pytest.raises(ValueError, match="seed"):
        K.dropout(x, 0.5, seed=2**64)
    with pytest.raises(TypeError, match="seed"):
        K.dropout(x, 0.5, seed=1.5)
    with pytest.raises(TypeError, match="seed"):
        K.dropout(x, 0.5)
    with pytest.raises(TypeError, match="training"):
        K.dropout(x, 0.5, seed=0, training="yes")
    with pytest.raises(TypeError, match="x"):
        K.dropout(np.zeros(4, np.int8).astype(np.float16), 0.5, seed=0)
    with pytest.raises(TypeError, match="mask"):
        K.dropout_backward(x, np.ones(4, np.int64), 0.5)
    with pytest.raises(ValueError, match="mask"):
        K.dropout_backward(x, np.ones(3, bool), 0.5)
    with pytest.raises(ValueError, match="p"):
        K.dropout_backward(x, np.ones(4, bool), 2.0)


def test_backward_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch cross-check: install torch to run it")
    g = np.random.default_rng(6).standard_normal((3, 8))
    _, mask = K.dropout(g, 0.25, seed=5)
    expected = torch.ops.aten.native_dropout_backward(torch.tensor(g), torch.tensor(mask), 1 / 0.75)
    assert_allclose(K.dropout_backward(g, mask, 0.25), expected.numpy(), rtol=1e-15)
    # PyTorch's own mask has its own generator, but the same law: kept values are x / (1 - p)
    x = torch.ones(100_000, dtype=torch.float64)
    theirs = torch.nn.functional.dropout(x, 0.25).numpy()
    ours, _ = K.dropout(x.numpy(), 0.25, seed=1)
    assert set(np.unique(theirs)) == set(np.unique(ours)) == {0.0, 1 / 0.75}
    assert abs((theirs == 0).mean() - (ours == 0).mean()) < 0.01


def test_zero_dimensional_input_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch cross-check: install torch to run it")
    for p in (0.0, 1.0):  # the values that do not depend on the generator
        theirs = torch.nn.functional.dropout(torch.tensor(2.0, dtype=torch.float64), p)
        ours, mask = K.dropout(np.array(2.0), p, seed=0)
        assert ours.shape == mask.shape == tuple(theirs.shape) == ()
        assert_array_equal(ours, theirs.numpy())
    _, mask = K.dropout(np.array(2.0), 0.25, seed=4)
    expected = torch.ops.aten.native_dropout_backward(torch.tensor(3.0, dtype=torch.float64), torch.tensor(mask),
                                                      1 / 0.75)
    grad = K.dropout_backward(np.array(3.0), mask, 0.25)
    assert grad.shape == tuple(expected.shape) == ()
    assert_allclose(grad, expected.numpy(), rtol=1e-15)
