"""Batch and layer normalization: backends against naive, closed-form gradients against finite
differences, running statistics, thread-count independence, validation, PyTorch cross-checks."""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastlc import _chunking
from fastlc import kernels as K
from fastlc.gradcheck import numerical_gradient

from conftest import require_backend, tolerance

BN_SHAPES = [(6, 3), (4, 3, 2, 5)]


def _bn_problem(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    c = shape[1]
    return (x, g, rng.uniform(0.5, 2, c).astype(dtype), rng.standard_normal(c).astype(dtype),
            rng.standard_normal(c).astype(dtype), rng.uniform(0.5, 2, c).astype(dtype))


def _batch_norm_both(backend, x, g, gamma, beta, rm, rv, training, **kw):
    rm, rv = rm.copy(), rv.copy()
    out, mean, invstd = K.batch_norm(x, gamma, beta, running_mean=rm, running_var=rv, training=training,
                                     backend=backend, **kw)
    grads = K.batch_norm_backward(g, x, gamma, mean, invstd, training=training, backend=backend, **kw)
    return (out, mean, invstd, rm, rv) + grads


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("shape", BN_SHAPES, ids=["NC", "NCHW"])
def test_batch_norm_matches_naive(backend, dtype, shape, training):
    problem = _bn_problem(shape, dtype)
    result = _batch_norm_both(backend, *problem, training)
    expected = _batch_norm_both("naive", *problem, training)
    for got, want in zip(result, expected):
        assert got.dtype == dtype and got.shape == want.shape
        assert_allclose(got, want, **tolerance(dtype))


@pytest.mark.parametrize("shape,normalized", [((5, 7), 7), ((2, 3, 4, 5), (4, 5))], ids=["2d", "4d"])
def test_layer_norm_matches_naive(backend, dtype, shape, normalized):
    rng = np.random.default_rng(1)
    x = (3 * rng.standard_normal(shape) - 1).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    nshape = (normalized,) if isinstance(normalized, int) else normalized
    gamma = rng.uniform(0.5, 2, nshape).astype(dtype)
    beta = rng.standard_normal(nshape).astype(dtype)

    def run(b):
        out, mean, rstd = K.layer_norm(x, normalized, gamma, beta, backend=b)
        return (out, mean, rstd) + K.layer_norm_backward(g, x, normalized, mean, rstd, gamma, backend=b)

    for got, want in zip(run(backend), run("naive")):
        assert got.dtype == dtype and got.shape == want.shape
        assert_allclose(got, want, **tolerance(dtype))


@pytest.mark.parametrize("backend", ("naive", "cython"))
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batch_norm_gradients_match_finite_differences(backend, training):
    require_backend(backend)
    x, g, gamma, beta, rm, rv = _bn_problem((3, 2, 2, 2), np.float64, seed=2)

    def loss(x_, gamma_, beta_):
        out = K.batch_norm(x_, gamma_, beta_, running_mean=rm.copy(), running_var=rv.copy(), training=training,
                           backend=backend)[0]
        return (out * g).sum()

    _, mean, invstd = K.batch_norm(x, gamma, beta, running_mean=rm.copy(), running_var=rv.copy(),
                                   training=training, backend=backend)
    grad_x, grad_gamma, grad_beta = K.batch_norm_backward(g, x, gamma, mean, invstd, training=training,
                                                          backend=backend)
    assert_allclose(grad_x, numerical_gradient(lambda z: loss(z, gamma, beta), x.copy()), rtol=1e-6, atol=1e-8)
    assert_allclose(grad_gamma, numerical_gradient(lambda z: loss(x, z, beta), gamma.copy()), rtol=1e-6, atol=1e-8)
    assert_allclose(grad_beta, numerical_gradient(lambda z: loss(x, gamma, z), beta.copy()), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("backend", ("naive", "cython"))
def test_layer_norm_gradients_match_finite_differences(backend):
    require_backend(backend)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 2, 4))
    g = rng.standard_normal(x.shape)
    gamma = rng.uniform(0.5, 2, (2, 4))
    beta = rng.standard_normal((2, 4))

    def loss(x_, gamma_, beta_):
        return (K.layer_norm(x_, (2, 4), gamma_, beta_, backend=backend)[0] * g).sum()

    _, mean, rstd = K.layer_norm(x, (2, 4), gamma, beta, backend=backend)
    grad_x, grad_gamma, grad_beta = K.layer_norm_backward(g, x, (2, 4), mean, rstd, gamma, backend=backend)
    assert_allclose(grad_x, numerical_gradient(lambda z: loss(z, gamma, beta), x.copy()), rtol=1e-6, atol=1e-8)
    assert_allclose(grad_gamma, numerical_gradient(lambda z: loss(x, z, beta), gamma.copy()), rtol=1e-6, atol=1e-8)
    assert_allclose(grad_beta, numerical_gradient(lambda z: loss(x, gamma, z), beta.copy()), rtol=1e-6, atol=1e-8)


def test_batch_norm_values_and_running_statistics():
    # channel 0 holds 1, 2, 3, 4 (mean 2.5, biased var 1.25, unbiased 5/3); channel 1 is constant 7
    x = np.array([[1.0, 7.0], [2.0, 7.0], [3.0, 7.0], [4.0, 7.0]])
    rm, rv = np.zeros(2), np.ones(2)
    out, mean, invstd = K.batch_norm(x, running_mean=rm, running_var=rv, momentum=0.5, eps=1e-5)
    assert_allclose(mean, [2.5, 7.0], rtol=1e-15)
    assert_allclose(invstd, [1 / np.sqrt(1.25 + 1e-5), 1 / np.sqrt(1e-5)], rtol=1e-15)
    assert_allclose(out[:, 0], (x[:, 0] - 2.5) / np.sqrt(1.25 + 1e-5), rtol=1e-14)
    assert_array_equal(out[:, 1], 0)
    assert_allclose(rm, [1.25, 3.5], rtol=1e-15)
    assert_allclose(rv, [0.5 + 0.5 * 5 / 3, 0.5], rtol=1e-15)
    # evaluation uses the running statistics and leaves them alone
    out, mean, invstd = K.batch_norm(x, running_mean=rm, running_var=rv, training=False)
    assert_allclose(out[:, 0], (x[:, 0] - 1.25) / np.sqrt(rv[0] + 1e-5), rtol=1e-14)
    assert_allclose(rm, [1.25, 3.5], rtol=1e-15)
    # NaN reaches its own channel only
    x[1, 0] = np.nan
    out, mean, _ = K.batch_norm(x)
    assert np.isnan(out[:, 0]).all() and np.isfinite(out[:, 1]).all() and np.isnan(mean[0])


@pytest.mark.parametrize("backend", ("numba", "cython"))
def test_thread_count_does_not_change_results(backend, dtype, monkeypatch):
    require_backend(backend)
    monkeypatch.setattr(_chunking, "CHUNK", 64)
    x, g, gamma, beta, rm, rv = _bn_problem((37, 3, 2, 5), dtype)
    one = _batch_norm_both(backend, x, g, gamma, beta, rm, rv, True, n_threads=1)
    two = _batch_norm_both(backend, x, g, gamma, beta, rm, rv, True, n_threads=2)
    for a, b in zip(one, two):
        assert_array_equal(a, b)
    x2 = x.reshape(37, 30)
    ln_one = K.layer_norm(x2, 30, backend=backend, n_threads=1)
    ln_two = K.layer_norm(x2, 30, backend=backend, n_threads=2)
    for a, b in zip(ln_one, ln_two):
        assert_array_equal(a, b)
    g2 = g.reshape(37, 30)
    for a, b in zip(K.layer_norm_backward(g2, x2, 30, *ln_one[1:], backend=backend, n_threads=1),
                    K.layer_norm_backward(g2, x2, 30, *ln_one[1:], backend=backend, n_threads=2)):
        assert_array_equal(a, b)


def test_strided_and_readonly_inputs(backend):
    x, g, gamma, beta, rm, rv = _bn_problem((6, 4, 3, 2), np.float32)
    view = x[:, ::2]
    gamma_ro = gamma[::2].copy()
    gamma_ro.flags.writeable = False
    out, mean, invstd = K.batch_norm(view, gamma_ro, beta[::2], backend=backend)
    expected = K.batch_norm(view.copy(), gamma[::2].copy(), beta[::2].copy(), backend="naive")
    assert_allclose(out, expected[0], **tolerance(np.float32))
    x.flags.writeable = False
    out, mean, rstd = K.layer_norm(x, (3, 2), backend=backend)
    assert_allclose(out, K.layer_norm(x.copy(), (3, 2), backend="naive")[0], **tolerance(np.float32))


ALL_BACKENDS = ("naive", "numpy", "numba", "cython")


@pytest.mark.parametrize("backend", ALL_BACKENDS)
@pytest.mark.parametrize("shape,normalized", [((3,), 3), ((2, 3), (2, 3)), ((4,), (4,))], ids=["1d", "2d", "1d-tuple"])
def test_layer_norm_over_all_dimensions(backend, dtype, shape, normalized):
    # normalized_shape covering all of x: the statistics are 0-d (x's leading dimensions are ()), and
    # layer_norm_backward takes them; the values are those of x with a leading dimension of 1
    require_backend(backend)
    rng = np.random.default_rng(6)
    x = (2 * rng.standard_normal(shape) + 1).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    gamma = rng.uniform(0.5, 2, shape).astype(dtype)
    beta = rng.standard_normal(shape).astype(dtype)
    out, mean, rstd = K.layer_norm(x, normalized, gamma, beta, backend=backend, n_threads=1)
    assert out.shape == shape and mean.shape == rstd.shape == () and mean.dtype == rstd.dtype == dtype
    grads = K.layer_norm_backward(g, x, normalized, mean, rstd, gamma, backend=backend, n_threads=2)
    assert [a.shape for a in grads] == [shape] * 3 and all(a.dtype == dtype for a in grads)
    batched = K.layer_norm(x[None], normalized, gamma, beta, backend=backend)
    assert_array_equal(out, batched[0][0])
    assert_array_equal(mean, batched[1][0])
    assert_array_equal(rstd, batched[2][0])
    for got, want in zip(grads, K.layer_norm_backward(g[None], x[None], normalized, *batched[1:], gamma,
                                                      backend=backend)):
        assert_allclose(got, want.reshape(got.shape), **tolerance(dtype))
    # PyTorch's shape for the statistics (normalized dimensions kept as 1s) is taken too
    keepdim = (1,) * len(shape)
    for got, want in zip(K.layer_norm_backward(g, x, normalized, mean.reshape(keepdim), rstd.reshape(keepdim),
                                               gamma, backend=backend), grads):
        assert_array_equal(got, want)
    with pytest.raises(ValueError, match=r"save_mean must have shape \(\)"):
        K.layer_norm_backward(g, x, normalized, np.zeros(2, dtype), rstd, gamma, backend=backend)


@pytest.mark.parametrize("backend", ALL_BACKENDS)
@pytest.mark.parametrize("shape", [(0, 3), (0, 3, 2, 2), (2, 3, 0, 0), (4, 0)], ids=["N0", "N0-HW", "HW0", "C0"])
def test_batch_norm_without_values(backend, dtype, shape):
    # as F.batch_norm: an empty output in evaluation and in training (where the running statistics are left
    # alone and the batch's mean and variance are NaN), and zero gradients for gamma and beta
    require_backend(backend)
    channels = shape[1]
    x = np.zeros(shape, dtype)
    gamma = np.full(channels, 2.0, dtype)
    rm, rv = np.full(channels, 0.5, dtype), np.full(channels, 4.0, dtype)
    for training in (False, True):
        out, mean, invstd = K.batch_norm(x, gamma, None, running_mean=rm, running_var=rv, training=training,
                                         backend=backend)
        assert out.shape == shape and out.dtype == dtype and mean.shape == invstd.shape == (channels,)
        assert_array_equal(rm, 0.5)
        assert_array_equal(rv, 4.0)
        if training:
            assert np.isnan(mean).all() and np.isnan(invstd).all()
        else:
            assert_array_equal(mean, 0.5)
            assert_allclose(invstd, 1 / np.sqrt(4 + 1e-5), rtol=1e-6)
        grad_x, grad_gamma, grad_beta = K.batch_norm_backward(x, x, gamma, mean, invstd, training=training,
                                                              backend=backend)
        assert grad_x.shape == shape and grad_x.dtype == grad_gamma.dtype == grad_beta.dtype == dtype
        assert_array_equal(grad_gamma, np.zeros(channels))
        assert_array_equal(grad_beta, np.zeros(channels))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        K.batch_norm(np.zeros((1, 3, 1, 1), dtype), backend=backend)


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_batch_norm_negative_running_variance_gives_nan(backend, dtype):
    # evaluation with a running variance below -eps: NaN in that channel only (sqrt of a negative number),
    # inf for the inverse at var + eps == 0, as the compiled backends and PyTorch
    require_backend(backend)
    x = np.arange(8, dtype=dtype).reshape(2, 4)
    rm = np.zeros(4, dtype)
    rv = np.array([1.0, -1.0, np.nan, -0.5], dtype)
    with np.errstate(all="raise"):  # and without a warning, as PyTorch (NumPy's sqrt of them warned)
        out, _, invstd = K.batch_norm(x, running_mean=rm, running_var=rv, training=False, backend=backend)
        grad_x, _, _ = K.batch_norm_backward(x, x, None, rm, invstd, training=False, backend=backend)
    with np.errstate(invalid="ignore", divide="ignore"):  # 0 * inf in x a + b
        zero = K.batch_norm(x, running_mean=rm, running_var=np.full(4, -1e-5, dtype), eps=1e-5,
                            training=False, backend=backend)[2]
    assert np.isnan(invstd[1:]).all() and np.isnan(out[:, 1:]).all() and np.isnan(grad_x[:, 1:]).all()
    assert_allclose(out[:, 0], x[:, 0] / np.sqrt(1 + 1e-5), **tolerance(dtype))
    assert np.isfinite(grad_x[:, 0]).all()
    if dtype == np.float64:  # -1e-5 + 1e-5 is exactly 0 (in float32 it is not)
        assert_array_equal(zero, np.inf)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_non_finite_x_gives_nan_silently(backend, dtype):
    # inf - inf in the statistics and the centred values: NaN in that channel (row), without the RuntimeWarnings
    # naive and numpy gave ("invalid value encountered in subtract"), as the compiled backends and PyTorch
    require_backend(backend)
    for bad in (np.inf, -np.inf, np.nan):
        x = np.arange(12, dtype=dtype).reshape(4, 3)
        x[1, 1] = bad
        for training in (True, False):
            stats = {} if training else dict(running_mean=np.zeros(3, dtype), running_var=np.ones(3, dtype))
            out, mean, invstd = K.batch_norm(x, training=training, backend=backend, **stats)
            grad_x = K.batch_norm_backward(np.ones_like(x), x, None, mean, invstd, training=training,
                                           backend=backend)[0]
            assert np.isfinite(out[:, [0, 2]]).all() and np.isfinite(grad_x[:, [0, 2]]).all()
            if training:  # the batch statistics of channel 1 are NaN
                assert np.isnan(out[:, 1]).all() and np.isnan(grad_x[:, 1]).all()
            else:  # the running ones are not: only the bad value's own output is not finite, and the
                # gradient g gamma invstd does not read x at all (PyTorch's is finite there too)
                assert np.isfinite(np.delete(out[:, 1], 1)).all()
                assert_array_equal(grad_x, np.ones_like(x) * invstd.astype(dtype))
        out, mean, rstd = K.layer_norm(x, 3, backend=backend)
        grad_x = K.layer_norm_backward(np.ones_like(x), x, 3, mean, rstd, backend=backend)[0]
        assert np.isnan(out[1]).all() and np.isnan(grad_x[1]).all()
        assert np.isfinite(np.delete(out, 1, axis=0)).all() and np.isfinite(np.delete(grad_x, 1, axis=0)).all()


def test_bad_input_names_the_argument():
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match="x must be a 2, 3, 4 or 5-D"):
        K.batch_norm(np.zeros(4))
    with pytest.raises(ValueError, match="x must be a 2, 3, 4 or 5-D"):
        K.batch_norm(np.zeros((1, 2, 1, 2, 1, 2)))
    with pytest.raises(ValueError, match="gamma"):
        K.batch_norm(x, np.ones(2))
    with pytest.raises(TypeError, match="beta"):
        K.batch_norm(x, None, np.zeros(3, bool))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        K.batch_norm(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="running_mean"):
        K.batch_norm(x, training=False)
    with pytest.raises(TypeError, match="running_var"):
        K.batch_norm(x, running_mean=np.zeros(3), running_var=np.ones(3, np.float32))
    with pytest.raises(ValueError, match="running_mean"):
        K.batch_norm(x, running_mean=np.zeros(4), running_var=np.ones(4))
    with pytest.raises(ValueError, match="momentum"):
        K.batch_norm(x, momentum=1.5)
    with pytest.raises(ValueError, match="eps"):
        K.batch_norm(x, eps=0.0)
    with pytest.raises(TypeError, match="training"):
        K.batch_norm(x, training=1)
    with pytest.raises(ValueError, match="grad_out"):
        K.batch_norm_backward(np.zeros((4, 2)), x, None, np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="save_invstd"):
        K.batch_norm_backward(x, x, None, np.zeros(3), np.ones(4))
    with pytest.raises(ValueError, match="normalized_shape"):
        K.layer_norm(x, 4)
    with pytest.raises(TypeError, match="normalized_shape"):
        K.layer_norm(x, "3")
    with pytest.raises(ValueError, match="gamma"):
        K.layer_norm(x, 3, np.ones(4))
    with pytest.raises(ValueError, match="save_rstd"):
        K.layer_norm_backward(x, x, 3, np.zeros(4), np.ones(3))


def test_gamma_and_beta_are_cast_to_x_dtype_and_bools_refused():
    # a list (or an int or float64 array) gamma for float32 x was refused ("must have dtype float32") where
    # BCE's weight and nll's class_weight were cast; a list of bools was taken as a gamma of 1s and 0s
    x = np.random.default_rng(3).standard_normal((4, 3)).astype(np.float32)
    g = np.ones_like(x)
    gamma32, beta32 = np.float32([1, 2, 3]), np.float32([0, 1, 0])
    calls = [
        lambda gamma, beta: K.batch_norm(x, gamma, beta),
        lambda gamma, beta: K.layer_norm(x, 3, gamma, beta),
        lambda gamma, beta: K.batch_norm_backward(g, x, gamma, *K.batch_norm(x)[1:]),
        lambda gamma, beta: K.layer_norm_backward(g, x, 3, *K.layer_norm(x, 3)[1:], gamma=gamma),
    ]
    for call in calls:
        expected = call(gamma32, beta32)
        for gamma, beta in [([1, 2, 3], [0, 1, 0]), ([1.0, 2.0, 3.0], [0.0, 1.0, 0.0]),
                            (np.array([1, 2, 3]), np.array([0, 1, 0], np.int8)),
                            (gamma32.astype(np.float64), beta32.astype(np.float64))]:
            result = call(gamma, beta)
            for got, want in zip(result, expected):
                assert got.dtype == np.float32
                assert_array_equal(got, want)
        for bools in ([True, True, False], np.array([True, True, False])):
            with pytest.raises(TypeError, match="gamma must hold numbers, not bools"):
                call(bools, beta32)
    for call in calls[:2]:
        with pytest.raises(TypeError, match="beta must hold numbers, not bools"):
            call(gamma32, [False, True, False])
    with pytest.raises(ValueError, match=r"gamma\[1\]=1e\+300 does not fit in float32"):
        K.batch_norm(x, [1, 1e300, 1])
    with pytest.raises(TypeError, match="x must hold numbers, not bools"):
        K.batch_norm([[True, False, True]] * 4)
    # the statistics batch_norm returned stay in x's dtype, as its main inputs
    with pytest.raises(TypeError, match="save_mean must have dtype float32"):
        K.batch_norm_backward(g, x, None, np.zeros(3), np.ones(3, np.float32))


def test_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch cross-check: install torch to run it")
    F = torch.nn.functional
    for shape in BN_SHAPES:
        x, g, gamma, beta, rm, rv = _bn_problem(shape, np.float64, seed=4)
        for training in (True, False):
            xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
            rmt, rvt = torch.tensor(rm), torch.tensor(rv)
            out_t = F.batch_norm(xt, rmt, rvt, wt, bt, training=training, momentum=0.2, eps=1e-3)
            out_t.backward(torch.tensor(g))
            rm_ours, rv_ours = rm.copy(), rv.copy()
            out, mean, invstd = K.batch_norm(x, gamma, beta, running_mean=rm_ours, running_var=rv_ours,
                                             training=training, momentum=0.2, eps=1e-3)
            grads = K.batch_norm_backward(g, x, gamma, mean, invstd, training=training)
            assert_allclose(out, out_t.detach().numpy(), rtol=1e-12, atol=1e-13)
            assert_allclose(rm_ours, rmt.numpy(), rtol=1e-13)
            assert_allclose(rv_ours, rvt.numpy(), rtol=1e-13)
            for ours, theirs in zip(grads, (xt.grad, wt.grad, bt.grad)):
                assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-12)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 5))
    g = rng.standard_normal(x.shape)
    gamma, beta = rng.uniform(0.5, 2, (4, 5)), rng.standard_normal((4, 5))
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    out_t = F.layer_norm(xt, (4, 5), wt, bt, eps=1e-4)
    out_t.backward(torch.tensor(g))
    out, mean, rstd = K.layer_norm(x, (4, 5), gamma, beta, eps=1e-4)
    assert_allclose(out, out_t.detach().numpy(), rtol=1e-12, atol=1e-13)
    for ours, theirs in zip(K.layer_norm_backward(g, x, (4, 5), mean, rstd, gamma), (xt.grad, wt.grad, bt.grad)):
        assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend", ALL_BACKENDS)
@pytest.mark.parametrize("shape, normalized", [((2, 0), 0), ((2, 3, 0), (3, 0)), ((3, 0, 2), (0, 2)),
                                               ((0, 0), 0), ((0,), (0,))])
def test_layer_norm_over_empty_trailing_dimensions(backend, dtype, shape, normalized):
    # normalized_shape=0 was refused ("must be an int >= 1") where F.layer_norm returns an empty result
    require_backend(backend)
    x = np.empty(shape, dtype)
    out, mean, rstd = K.layer_norm(x, normalized, backend=backend)
    n_lead = x.ndim - len(np.atleast_1d(normalized))
    assert out.shape == shape and out.dtype == dtype
    assert mean.shape == rstd.shape == shape[:n_lead] and np.isnan(mean).all() and np.isnan(rstd).all()
    normalized_shape = shape[n_lead:]
    for stats in ((mean, rstd), (mean.reshape(shape[:n_lead] + (1,) * len(normalized_shape)),) * 2):
        grad_x, grad_gamma, grad_beta = K.layer_norm_backward(x, x, normalized, *stats,
                                                              gamma=np.ones(normalized_shape), backend=backend)
        assert grad_x.shape == shape and grad_gamma.shape == grad_beta.shape == normalized_shape
        assert grad_x.dtype == grad_gamma.dtype == dtype
    with pytest.raises(ValueError, match="normalized_shape"):
        K.layer_norm(np.zeros((2, 3), dtype), 0, backend=backend)


def test_layer_norm_over_empty_trailing_dimensions_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch cross-check: install torch to run it")
    xt = torch.zeros((2, 3, 0), dtype=torch.float64, requires_grad=True)
    wt = torch.ones((3, 0), dtype=torch.float64, requires_grad=True)
    bt = torch.zeros((3, 0), dtype=torch.float64, requires_grad=True)
    expected = torch.nn.functional.layer_norm(xt, (3, 0), wt, bt)
    expected.sum().backward()
    out, mean, rstd = K.layer_norm(np.zeros((2, 3, 0)), (3, 0), np.ones((3, 0)), np.zeros((3, 0)))
    grads = K.layer_norm_backward(np.zeros((2, 3, 0)), np.zeros((2, 3, 0)), (3, 0), mean, rstd,
                                  gamma=np.ones((3, 0)))
    assert out.shape == tuple(expected.shape)
    for ours, theirs in zip(grads, (xt.grad, wt.grad, bt.grad)):
        assert ours.shape == tuple(theirs.shape)


def test_layer_norm_over_all_dimensions_matches_pytorch():
    # PyTorch's statistics of a 1-D x have shape (1,), ours (); backward takes both
    torch = pytest.importorskip("torch", reason="PyTorch cross-check: install torch to run it")
    F = torch.nn.functional
    x = np.array([1.0, 2.0, 4.0])
    g = np.array([0.5, -1.0, 2.0])
    xt = torch.tensor(x, requires_grad=True)
    out_t = F.layer_norm(xt, (3,))
    out_t.backward(torch.tensor(g))
    _, mean_t, rstd_t = torch.native_layer_norm(torch.tensor(x), [3], None, None, 1e-5)
    out, mean, rstd = K.layer_norm(x, 3)
    assert_allclose(out, out_t.detach().numpy(), rtol=1e-12)
    assert_allclose(mean, mean_t.numpy()[0], rtol=1e-15)
    assert_allclose(rstd, rstd_t.numpy()[0], rtol=1e-12)
    assert_allclose(K.layer_norm_backward(g, x, 3, mean, rstd)[0], xt.grad.numpy(), rtol=1e-10, atol=1e-15)
    assert_allclose(K.layer_norm_backward(g, x, 3, mean_t.numpy(), rstd_t.numpy())[0], xt.grad.numpy(),
                    rtol=1e-10, atol=1e-15)


def test_batch_norm_without_values_matches_pytorch():
    # an empty batch: empty output, running statistics untouched, zero gradients for gamma and beta
    torch = pytest.importorskip("torch", reason="PyTorch cross-check: install torch to run it")
    F = torch.nn.functional
    for training in (False, True):
        xt = torch.zeros((0, 3), dtype=torch.float64, requires_grad=True)
        wt = torch.full((3,), 2.0, dtype=torch.float64, requires_grad=True)
        bt = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        rmt, rvt = torch.full((3,), 0.5, dtype=torch.float64), torch.full((3,), 4.0, dtype=torch.float64)
        out_t = F.batch_norm(xt, rmt, rvt, wt, bt, training=training)
        out_t.sum().backward()
        rm, rv = np.full(3, 0.5), np.full(3, 4.0)
        out, mean, invstd = K.batch_norm(np.zeros((0, 3)), np.full(3, 2.0), np.zeros(3), running_mean=rm,
                                         running_var=rv, training=training)
        grads = K.batch_norm_backward(np.zeros((0, 3)), np.zeros((0, 3)), np.full(3, 2.0), mean, invstd,
                                      training=training)
        assert out.shape == tuple(out_t.shape)
        assert_array_equal(rm, rmt.numpy())
        assert_array_equal(rv, rvt.numpy())
        for ours, theirs in zip(grads, (xt.grad, wt.grad, bt.grad)):
            assert ours.shape == tuple(theirs.shape)
            assert_array_equal(ours, theirs.numpy())


def test_batch_norm_negative_running_variance_matches_pytorch():
    # a negative running variance in evaluation: NaN in its channel
    torch = pytest.importorskip("torch", reason="PyTorch cross-check: install torch to run it")
    F = torch.nn.functional
    x = np.arange(8.0).reshape(2, 4)
    rv = np.array([1.0, -1.0, np.nan, 2.0])
    expected = F.batch_norm(torch.tensor(x), torch.zeros(4, dtype=torch.float64), torch.tensor(rv), training=False)
    for backend in ALL_BACKENDS:
        require_backend(backend)
        with np.errstate(invalid="ignore"):
            out = K.batch_norm(x, running_mean=np.zeros(4), running_var=rv, training=False, backend=backend)[0]
        assert_allclose(out, expected.numpy(), rtol=1e-12, err_msg=backend)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_batch_norm_evaluation_reads_read_only_running_statistics(backend, dtype, tmp_path):
    # evaluation only reads the running statistics (as F.batch_norm): a model loaded with joblib's
    # mmap_mode="r" holds them in read-only memory maps, and its predict must work
    require_backend(backend)
    x, _, gamma, beta, rm, rv = _bn_problem((4, 3, 2, 5), dtype)
    np.save(tmp_path / "rm.npy", rm)
    np.save(tmp_path / "rv.npy", rv)
    rm_mapped, rv_mapped = np.load(tmp_path / "rm.npy", mmap_mode="r"), np.load(tmp_path / "rv.npy", mmap_mode="r")
    rm_frozen, rv_frozen = rm.copy(), rv.copy()
    rm_frozen.flags.writeable = rv_frozen.flags.writeable = False
    rm_strided, rv_strided = np.repeat(rm, 2)[::2], np.repeat(rv, 2)[::2]  # copied in evaluation: any layout
    rm_strided.flags.writeable = rv_strided.flags.writeable = False
    expected = K.batch_norm(x, gamma, beta, running_mean=rm, running_var=rv, training=False, backend=backend)
    for running_mean, running_var in ((rm_mapped, rv_mapped), (rm_frozen, rv_frozen), (rm_strided, rv_strided)):
        assert not running_mean.flags.writeable and not running_var.flags.writeable
        got = K.batch_norm(x, gamma, beta, running_mean=running_mean, running_var=running_var, training=False,
                           backend=backend)
        for ours, theirs in zip(got, expected):
            assert_array_equal(ours, theirs)
        assert_array_equal(running_mean, rm)
        assert_array_equal(running_var, rv)
    # training updates them in place: there they must still be writeable
    for name in ("running_mean", "running_var"):
        arrays = {"running_mean": rm.copy(), "running_var": rv.copy()}
        arrays[name].flags.writeable = False
        with pytest.raises(ValueError, match=f"{name} is updated in place and must be writeable"):
            K.batch_norm(x, gamma, beta, **arrays, training=True, backend=backend)


@pytest.mark.parametrize("shape", [(4, 3, 5), (2, 3, 2, 2, 3)], ids=["(N, C, L)", "(N, C, D, H, W)"])
@pytest.mark.parametrize("backend", ["naive", "numpy", "numba", "cython"])
def test_batch_norm_over_sequences_and_volumes(backend, shape):
    # PyTorch's BatchNorm1d takes (N, C, L) and BatchNorm3d (N, C, D, H, W): the same statistics per
    # channel as the (N, C, S, 1) image this test reshapes them to (3-D and 5-D x were refused)
    require_backend(backend)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    g = rng.standard_normal(shape)
    gamma, beta = rng.uniform(0.5, 2, 3), rng.standard_normal(3)
    image = x.reshape(shape[0], 3, -1, 1)
    out, mean, invstd = K.batch_norm(x, gamma, beta, training=True, backend=backend)
    expected = K.batch_norm(image, gamma, beta, training=True, backend=backend)
    assert out.shape == shape
    assert_array_equal(out.reshape(image.shape), expected[0])
    assert_array_equal(mean, expected[1])
    grads = K.batch_norm_backward(g, x, gamma, mean, invstd, training=True, backend=backend)
    expected_grads = K.batch_norm_backward(g.reshape(image.shape), image, gamma, mean, invstd, training=True,
                                           backend=backend)
    assert_array_equal(grads[0].reshape(image.shape), expected_grads[0])
    assert_array_equal(grads[1], expected_grads[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_evaluation_input_gradient_ignores_x(backend, dtype):
    # in evaluation grad_x = g gamma invstd exactly, whatever x holds: Numba and Cython ran the training
    # formula with k = 0, and (x - mean) * 0 made an infinite x's gradient NaN; a zero keeps its sign
    require_backend(backend)
    x = np.arange(24, dtype=dtype).reshape(4, 3, 2)
    x[0, 0, 0], x[1, 1, 1], x[2, 2, 0] = np.inf, -np.inf, np.nan
    g = np.linspace(-2, 2, 24).astype(dtype).reshape(4, 3, 2)
    g[3, 0, 1] = -0.0
    gamma = np.array([0.5, -2.0, 3.0], dtype)
    invstd = np.array([1.0, 0.25, 2.0], dtype)
    grad_x = K.batch_norm_backward(g, x, gamma, np.zeros(3, dtype), invstd, training=False, backend=backend)[0]
    expected = g * (gamma * invstd)[:, None]  # gamma * invstd is exact here (powers of two times small integers)
    assert grad_x.dtype == dtype
    assert_array_equal(grad_x, expected)
    assert np.signbit(grad_x[3, 0, 1])


def test_evaluation_input_gradient_with_non_finite_x_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch cross-check: install torch to run it")
    x = np.arange(12, dtype=np.float64).reshape(4, 3)
    x[0, 0], x[1, 1], x[2, 2] = np.inf, -np.inf, np.nan
    g = np.linspace(-1, 1, 12).reshape(4, 3)
    gamma, rm, rv = np.array([0.5, 2.0, 1.5]), np.array([0.1, -0.2, 0.3]), np.array([0.7, 1.3, 2.2])
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(gamma, requires_grad=True)
    out_t = torch.nn.functional.batch_norm(xt, torch.tensor(rm), torch.tensor(rv), wt, training=False)
    out_t.backward(torch.tensor(g))
    for backend in ALL_BACKENDS:
        if backend in ("numba", "cython"):
            require_backend(backend)
        _, mean, invstd = K.batch_norm(x, gamma, running_mean=rm.copy(), running_var=rv.copy(), training=False,
                                       backend=backend)
        grad_x = K.batch_norm_backward(g, x, gamma, mean, invstd, training=False, backend=backend)[0]
        assert_allclose(grad_x, xt.grad.numpy(), rtol=1e-14, err_msg=backend)
