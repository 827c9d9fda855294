"""Activations and their derivatives: backends against naive, gradients, edge values, in-place use,
thread-count independence, validation, PyTorch cross-checks."""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastlc import _chunking
from fastlc import kernels as K
from fastlc.gradcheck import numerical_gradient

from conftest import require_backend, tolerance

# id -> (name, keyword arguments)
CASES = {
    "relu": ("relu", {}),
    "leaky_relu": ("leaky_relu", dict(negative_slope=0.2)),
    "elu": ("elu", dict(alpha=1.5)),
    "gelu": ("gelu", {}),
    "gelu-tanh": ("gelu", dict(approximate="tanh")),
    "sigmoid": ("sigmoid", {}),
    "tanh": ("tanh", {}),
    "softplus": ("softplus", dict(beta=2.0, threshold=3.0)),
    "silu": ("silu", {}),
}
EDGES = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e4, -1e4, 1e-6, -1e-6, 30.0, -30.0, 90.0, -90.0]


def _inputs(dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = np.concatenate([4 * rng.standard_normal(23), EDGES]).astype(dtype).reshape(4, 9)
    return x, rng.standard_normal(x.shape).astype(dtype)


def _functions(case):
    name, kw = CASES[case]
    return getattr(K, name), getattr(K, f"{name}_backward"), kw


@pytest.mark.parametrize("case", CASES)
def test_matches_naive(case, backend, dtype):
    forward, backward, kw = _functions(case)
    x, g = _inputs(dtype)
    with np.errstate(all="ignore"):
        for result, expected in [
            (forward(x, backend=backend, **kw), forward(x, backend="naive", **kw)),
            (backward(g, x, backend=backend, **kw), backward(g, x, backend="naive", **kw)),
        ]:
            assert result.dtype == dtype and result.shape == x.shape
            assert_allclose(result, expected, **tolerance(dtype))  # NaN where the reference has NaN


@pytest.mark.parametrize("backend", ("naive", "cython"))
@pytest.mark.parametrize("case", CASES)
def test_backward_matches_finite_differences(case, backend):
    require_backend(backend)
    forward, backward, kw = _functions(case)
    rng = np.random.default_rng(1)
    x = rng.uniform(0.1, 2.5, 12) * rng.choice([-1, 1], 12)  # away from the kinks at 0
    g = rng.standard_normal(12)
    numerical = numerical_gradient(lambda z: (forward(z, backend=backend, **kw) * g).sum(), x.copy())
    assert_allclose(backward(g, x, backend=backend, **kw), numerical, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("backend", ("naive", "numba", "cython"))
def test_edge_values(backend):
    require_backend(backend)
    x = np.array([-1.0, 0.0, 1.0, np.nan])
    g = np.full(4, 2.0)
    assert_array_equal(K.relu(x, backend=backend), [0, 0, 1, np.nan])
    assert_array_equal(K.relu_backward(g, x, backend=backend)[:3], [0, 0, 2])  # derivative 0 at 0
    assert_array_equal(K.leaky_relu_backward(g, x, 0.1, backend=backend)[:3], [0.2, 0.2, 2])
    for name in ("elu", "gelu", "sigmoid", "tanh", "softplus", "silu"):
        assert np.isnan(getattr(K, name)(x, backend=backend)[3]), name
    assert_array_equal(K.sigmoid([-np.inf, np.inf, -1e4, 1e4], backend=backend), [0, 1, 0, 1])
    assert_array_equal(K.tanh([-np.inf, np.inf], backend=backend), [-1, 1])
    assert_array_equal(K.elu([-np.inf], alpha=2.0, backend=backend), [-2])
    # softplus above the threshold is the identity (and its derivative 1)
    assert_array_equal(K.softplus([30.0, 1e30], backend=backend), [30.0, 1e30])
    assert_array_equal(K.softplus_backward([3.0], [25.0], backend=backend), [3.0])
    assert_allclose(K.softplus([0.0], beta=2.0, backend=backend), [np.log(2) / 2], rtol=1e-15)


@pytest.mark.parametrize("backend", ("numba", "cython"))
def test_in_place_and_strided(backend):
    require_backend(backend)
    x, g = _inputs(np.float32)
    x = np.nan_to_num(x, posinf=5, neginf=-5)
    expected = K.silu(x, backend="naive")
    expected_grad = K.silu_backward(g, x, backend="naive")
    inplace = x.copy()
    assert K.silu(inplace, backend=backend, out=inplace) is inplace
    assert_allclose(inplace, expected, rtol=2e-6, atol=1e-30)  # exp flushes to 0 below -87
    grad = g.copy()
    assert K.silu_backward(grad, x, backend=backend, out=grad) is grad
    assert_allclose(grad, expected_grad, rtol=2e-5, atol=1e-6)
    readonly = x[:, ::2]
    readonly.flags.writeable = False
    assert_allclose(K.silu(readonly, backend=backend), expected[:, ::2], rtol=2e-6, atol=1e-30)
    with pytest.raises(ValueError, match="overlap"):
        K.silu(x.reshape(-1)[:-1], out=x.reshape(-1)[1:])


@pytest.mark.parametrize("backend", ("numba", "cython"))
def test_float32_on_a_dense_grid(backend):
    # the compiled float32 kernels use their own polynomial forms of erf, tanh, exp, log1p
    # (not libm's): checked on 4001 points through the saturated tails, not only on the few
    # values above, against the float64 reference at the same (float32) points
    require_backend(backend)
    x = np.concatenate([np.linspace(-20, 20, 4001), [1e-30, -1e-30, 1e-7, -1e-7]]).astype(np.float32)
    g = np.random.default_rng(3).standard_normal(x.size).astype(np.float32)
    for case in ("elu", "gelu", "gelu-tanh", "sigmoid", "tanh", "softplus", "silu"):
        forward, backward, kw = _functions(case)
        assert_allclose(forward(x, backend=backend, **kw), forward(x.astype(np.float64), backend="naive", **kw),
                        **tolerance(np.float32), err_msg=case)
        assert_allclose(backward(g, x, backend=backend, **kw),
                        backward(g.astype(np.float64), x.astype(np.float64), backend="naive", **kw),
                        **tolerance(np.float32), err_msg=case)


@pytest.mark.parametrize("backend", ("numba", "cython"))
def test_thread_count_does_not_change_results(backend, dtype, monkeypatch):
    require_backend(backend)
    monkeypatch.setattr(_chunking, "CHUNK", 64)
    x = np.random.default_rng(2).standard_normal(1000).astype(dtype)
    for name in ("gelu", "softplus"):
        one = getattr(K, name)(x, backend=backend, n_threads=1)
        assert_array_equal(one, getattr(K, name)(x, backend=backend, n_threads=2))
        assert_array_equal(getattr(K, f"{name}_backward")(x, x, backend=backend, n_threads=1),
                           getattr(K, f"{name}_backward")(x, x, backend=backend, n_threads=2))


@pytest.mark.parametrize("backend", ("naive", "numpy", "numba", "cython"))
@pytest.mark.parametrize("case", CASES)
def test_zero_dimensional_input_keeps_its_shape(case, backend, dtype):
    # a 0-d x (also a NumPy scalar) gives 0-d results, as PyTorch; the values are those of the 1-element array
    require_backend(backend)
    forward, backward, kw = _functions(case)
    for value in (-1.5, 0.0, 2.0, np.nan):
        x, g = np.array(value, dtype), np.array(0.75, dtype)
        y = forward(x, backend=backend, n_threads=1, **kw)
        grad = backward(g, x, backend=backend, n_threads=2, **kw)
        assert y.shape == grad.shape == () and y.dtype == grad.dtype == dtype
        assert_array_equal(y, forward(x.reshape(1), backend=backend, **kw)[0])
        assert_array_equal(grad, backward(g.reshape(1), x.reshape(1), backend=backend, **kw)[0])
        assert forward(dtype.type(value), backend=backend, **kw).shape == ()
    out = np.empty((), dtype)
    assert forward(x, backend=backend, out=out, **kw) is out
    inplace = np.array(-2.0, dtype)
    assert backward(inplace, np.array(1.0, dtype), backend=backend, out=inplace, **kw) is inplace
    with pytest.raises(ValueError, match="grad_out"):
        backward(np.ones(1, dtype), np.array(1.0, dtype), backend=backend, **kw)


def test_bad_input_names_the_argument():
    x = np.zeros(3)
    with pytest.raises(TypeError, match="x"):
        K.relu(np.array(["a"]))
    with pytest.raises(ValueError, match="grad_out"):
        K.tanh_backward(np.zeros(4), x)
    with pytest.raises(TypeError, match="grad_out"):
        K.tanh_backward(np.zeros(3, np.float32), x)
    with pytest.raises(ValueError, match="approximate"):
        K.gelu(x, approximate="erf")
    with pytest.raises(ValueError, match="beta"):
        K.softplus(x, beta=0.0)
    with pytest.raises(TypeError, match="negative_slope"):
        K.leaky_relu(x, negative_slope="0.1")
    with pytest.raises(ValueError, match="alpha"):
        K.elu(x, alpha=np.nan)
    with pytest.raises(TypeError, match="out"):
        K.relu(x, out=np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="backend"):
        K.relu(x, backend="torch")


def test_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch cross-check: install torch to run it")
    F = torch.nn.functional
    torch_cases = {
        "relu": (F.relu, {}), "leaky_relu": (lambda t: F.leaky_relu(t, 0.2), {}), "elu": (lambda t: F.elu(t, 1.5), {}),
        "gelu": (F.gelu, {}), "gelu-tanh": (lambda t: F.gelu(t, approximate="tanh"), {}),
        "sigmoid": (torch.sigmoid, {}), "tanh": (torch.tanh, {}),
        "softplus": (lambda t: F.softplus(t, beta=2.0, threshold=3.0), {}), "silu": (F.silu, {}),
    }
    x, g = _inputs(np.float64)
    x = x[np.isfinite(x)]  # their derivatives at +-inf are NaN on both sides, but PyTorch's 0 * inf differs
    g = g.reshape(-1)[:x.size]
    x[0] = 0.0  # PyTorch's choice at the kinks
    for case, (theirs, _) in torch_cases.items():
        forward, backward, kw = _functions(case)
        xt = torch.tensor(x, requires_grad=True)
        y = theirs(xt)
        y.backward(torch.tensor(g))
        assert_allclose(forward(x, **kw), y.detach().numpy(), rtol=1e-12, atol=1e-300, err_msg=case)
        assert_allclose(backward(g, x, **kw), xt.grad.numpy(), rtol=1e-10, atol=1e-15, err_msg=case)


def test_zero_dimensional_input_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch cross-check: install torch to run it")
    F = torch.nn.functional
    for name, theirs in [("relu", F.relu), ("sigmoid", torch.sigmoid), ("gelu", F.gelu), ("silu", F.silu)]:
        xt = torch.tensor(-0.5, dtype=torch.float64, requires_grad=True)
        y = theirs(xt)
        y.backward(torch.tensor(2.0, dtype=torch.float64))
        ours = getattr(K, name)(np.float64(-0.5))
        grad = getattr(K, f"{name}_backward")(np.float64(2.0), np.float64(-0.5))
        assert ours.shape == grad.shape == tuple(y.shape) == (), name
        assert_allclose(ours, y.detach().numpy(), rtol=1e-12, err_msg=name)
        assert_allclose(grad, xt.grad.numpy(), rtol=1e-10, err_msg=name)


@pytest.mark.parametrize("backend", ("naive", "numpy", "numba", "cython"))
def test_softplus_below_a_high_threshold_does_not_overflow(backend):
    # log(1 + exp(z)) is computed as max(z, 0) + log1p(exp(-|z|)) in every backend: a threshold above exp's
    # range gives z / beta, not inf (PyTorch's log1p(exp(z)) overflows there; the backends used to disagree)
    require_backend(backend)
    assert_array_equal(K.softplus(np.array([90.0], np.float32), 1.0, 1000.0, backend=backend), [90.0])
    assert_array_equal(K.softplus(np.array([720.0, 1e300]), 1.0, np.inf, backend=backend), [720.0, 1e300])
    assert_allclose(K.softplus(np.array([800.0]), 2.0, 2000.0, backend=backend), [800.0], rtol=1e-15)


def test_a_scaling_parameter_must_fit_the_dtype():
    # a slope, alpha or softplus beta that float32 would hold as inf, 0 or a subnormal gives a wrong result:
    # refused, naming it (PyTorch refuses the overflow: "value cannot be converted to type float")
    x32 = np.array([-1.0, 2.0], np.float32)
    for call, name in ((lambda: K.leaky_relu(x32, 1e300), "negative_slope=1e\\+300"),
                       (lambda: K.leaky_relu_backward(x32, x32, -1e39), "negative_slope=-1e\\+39"),
                       (lambda: K.elu(x32, 1e-45), "alpha=1e-45"),
                       (lambda: K.softplus(x32, 1e-50), "beta=1e-50"),
                       (lambda: K.softplus_backward(x32, x32, 1e40), "beta=1e\\+40")):
        with pytest.raises(ValueError, match=f"{name} does not fit in float32"):
            call()
    # float64 holds them; 0 and a threshold that float32 rounds to inf (same meaning) are fine
    assert_array_equal(K.leaky_relu(np.array([-1.0]), 1e300), [-1e300])
    assert_array_equal(K.leaky_relu(x32, 0.0), [0, 2])
    assert_array_equal(K.softplus(np.array([50.0], np.float32), 1.0, 1e300), [50.0])


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("backend", ["naive", "numpy", "numba", "cython"])
def test_tanh_gelu_backward_is_nan_where_x_squared_overflows(backend):
    # as PyTorch (0 * inf): the numpy backend overflowed in (3 kappa x) x instead of x * x, so it gave 1
    # for 1.8e19 < |x| < 5e19 in float32, and the naive one for 1.3e154 < |x| < 3.7e154 in float64
    require_backend(backend)
    x = np.array([1.4e154, -1.4e154, 1.0])
    grad = K.gelu_backward(np.ones_like(x), x, approximate="tanh", backend=backend)
    assert np.isnan(grad[:2]).all() and np.isfinite(grad[2])
    if backend != "naive":  # the naive backend computes in float64 whatever the data's dtype
        x32 = np.float32([2e19, -2e19, 1e25])
        assert np.isnan(K.gelu_backward(np.ones_like(x32), x32, approximate="tanh",
                                                     backend=backend)).all()
