"""Regression / binary losses and NLL: backends against naive, gradients, worked and edge values,
thread-count independence, validation, and PyTorch cross-checks."""
import math
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastlc import _chunking
from fastlc import kernels as K
from fastlc.gradcheck import numerical_gradient

from conftest import FAST_BACKENDS, require_backend, tolerance

COMPILED = ("numba", "cython")


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    t = rng.standard_normal(shape).astype(dtype)
    return x, t, rng


def _probabilities(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.02, 0.98, shape).astype(dtype), rng.uniform(0, 1, shape).astype(dtype), rng


# name -> (function, input maker, extra keyword arguments)
CASES = {
    "mse": (K.mse_loss, _data, {}),
    "l1": (K.l1_loss, _data, {}),
    "huber": (K.huber_loss, _data, dict(delta=0.7)),
    "smooth_l1": (K.smooth_l1_loss, _data, dict(beta=0.5)),
    "smooth_l1-beta0": (K.smooth_l1_loss, _data, dict(beta=0.0)),
    "bce": (K.binary_cross_entropy, _probabilities, {}),
    "bce-weight": (K.binary_cross_entropy, _probabilities, dict(weight="full")),
    "bce_logits": (K.binary_cross_entropy_with_logits, _data, {}),
    "bce_logits-weights": (K.binary_cross_entropy_with_logits, _data, dict(weight="full", pos_weight="last")),
}


def _call(case, shape, dtype, backend, reduction="mean", seed=0, **kw):
    function, make, options = CASES[case]
    x, t, rng = make(shape, dtype, seed)
    if case.startswith("bce_logits"):
        t = (rng.uniform(size=shape) < 0.5).astype(dtype)  # PyTorch's targets; soft ones work too
    options = dict(options)
    if options.get("weight") == "full":
        options["weight"] = rng.uniform(0, 2, shape).astype(dtype)
    if options.get("pos_weight") == "last":
        options["pos_weight"] = rng.uniform(0.5, 3, shape[-1]).astype(dtype)
    return function(x, t, reduction=reduction, backend=backend, **options, **kw), (x, t, options)


@pytest.mark.parametrize("case", CASES)
def test_matches_naive(case, backend, dtype):
    for shape in [(3, 5), (2, 3, 4)]:
        for reduction in ("mean", "sum", "none"):
            (loss, grad), _ = _call(case, shape, dtype, backend, reduction)
            (ref_loss, ref_grad), _ = _call(case, shape, dtype, "naive", reduction)
            assert np.asarray(loss).dtype == dtype and grad.dtype == dtype and grad.shape == shape
            assert_allclose(loss, ref_loss, **tolerance(dtype))
            assert_allclose(grad, ref_grad, **tolerance(dtype))


@pytest.mark.parametrize("backend", ("naive", "cython"))
@pytest.mark.parametrize("case", CASES)
def test_gradient_matches_finite_differences(case, backend):
    require_backend(backend)
    (_, grad), (x, t, options) = _call(case, (2, 3), np.float64, backend, "sum", seed=3)
    kw = {k: v for k, v in options.items()}
    function = CASES[case][0]
    numerical = numerical_gradient(lambda z: function(z, t, reduction="sum", backend=backend, **kw)[0], x.copy())
    assert_allclose(grad, numerical, rtol=1e-6, atol=1e-7)


def test_bce_with_logits_worked_value():
    # shared/SPEC.md: logits [-0.7001, -0.7231, -0.2049], targets [0, 0, 1] -> mean 0.5332
    for backend in ("naive", "numpy", "numba", "cython"):
        require_backend(backend)
        loss, _ = K.binary_cross_entropy_with_logits([-0.7001, -0.7231, -0.2049], [0.0, 0.0, 1.0], backend=backend)
        assert abs(loss - 0.5332) < 5e-5


@pytest.mark.parametrize("backend", ("naive",) + FAST_BACKENDS)
def test_bce_with_logits_nothing_cancels(backend, dtype):
    # pos_weight = 0 and a soft target at a huge negative logit: (1 - t) x + lw softplus(-x) cancels exactly in
    # algebra (loss 0), but a fused multiply-add left one product's rounding error: numba -1.19 / -1.19e22,
    # cython +1.19 / +1.19e22 at x = -1e8 / -1e30 in float32. The gradient lw sigmoid(x) - pw t likewise at a
    # huge positive logit with t = 1 (exactly 0; 2.2e-8 with pw = 0.1 in float32, as in PyTorch)
    require_backend(backend)
    x = np.array([-1e8, -1e30, -1e4], dtype)
    loss, grad = K.binary_cross_entropy_with_logits(x, np.full(3, 0.3, dtype), pos_weight=np.zeros(1, dtype),
                                                    reduction="none", backend=backend)
    assert_array_equal(loss, 0)
    assert_array_equal(grad, 0)
    for pos_weight in (0.1, 0.3, 3.3, 1e-3):
        loss, grad = K.binary_cross_entropy_with_logits(-x, np.ones(3, dtype), pos_weight=np.array([pos_weight], dtype),
                                                        reduction="none", backend=backend)
        assert_array_equal(loss, 0)
        assert_array_equal(grad, 0)
    # soft targets, any pos_weight, logits of every size: the float64 reference within rounding
    rng = np.random.default_rng(5)
    x = (rng.choice([-1, 1], 400) * 10.0 ** rng.uniform(-3, 30, 400)).astype(dtype)
    t = rng.uniform(0, 1, 400).astype(dtype)
    pos_weight = rng.choice([0, 0.5, 1, 3], 400).astype(dtype)
    loss, grad = K.binary_cross_entropy_with_logits(x, t, pos_weight=pos_weight, reduction="none", backend=backend)
    expected = K.binary_cross_entropy_with_logits(*(a.astype(np.float64) for a in (x, t)),
                                                  pos_weight=pos_weight.astype(np.float64), reduction="none",
                                                  backend="naive")
    assert_allclose(loss, expected[0], rtol=3e-6 if dtype == np.float32 else 1e-12, atol=1e-30)
    assert_allclose(grad, expected[1], rtol=3e-6 if dtype == np.float32 else 1e-12, atol=1e-7)
    # and against the definition, which shares no formula with the backends (naive got the gathered form in
    # the same commit as the others, so agreeing with it alone would not catch an error common to all)
    x = np.array([-1e30, -1e4, -30, -1, 0, 0.5, 20, 1e4, 1e30], dtype)
    for pos_weight in (0.0, 0.5, 1.0, 3.0):
        for target in (0.0, 0.3, 1.0):
            loss, grad = K.binary_cross_entropy_with_logits(x, np.full(x.shape, target, dtype),
                                                            pos_weight=pos_weight, reduction="none",
                                                            backend=backend)
            exact = [_bce_logits_by_definition(float(xi), float(dtype.type(target)), float(dtype.type(pos_weight)))
                     for xi in x]
            assert_allclose(loss, [value for value, _ in exact], rtol=3e-6 if dtype == np.float32 else 1e-14,
                            atol=1e-30)
            assert_allclose(grad, [slope for _, slope in exact], rtol=3e-6 if dtype == np.float32 else 1e-14,
                            atol=4 * np.finfo(dtype).eps * max(1.0, pos_weight))


def _log_sigmoid(x):
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


def _bce_logits_by_definition(x, t, pw):
    """-(pw t log sigmoid(x) + (1 - t) log sigmoid(-x)) and its derivative pw t (sigmoid(x) - 1) + (1 - t)
    sigmoid(x), in float64: two terms of one sign each, so nothing cancels in the loss."""
    sigmoid = math.exp(_log_sigmoid(x))
    loss = -(pw * t * _log_sigmoid(x) + (1 - t) * _log_sigmoid(-x))
    return loss, -pw * t * math.exp(_log_sigmoid(-x)) + (1 - t) * sigmoid


@pytest.mark.parametrize("backend", ("naive",) + FAST_BACKENDS)
def test_bce_with_logits_infinite_logits(backend, dtype):
    # the loss's limit where it is infinite: inf at +inf for t < 1 and at -inf for pw t > 0 (PyTorch: NaN at
    # every -inf, from -inf + inf); 0 * inf = NaN where that side's coefficient (1 - t, pw t) is 0, and NaN
    # propagates; the gradient is PyTorch's
    require_backend(backend)
    x = np.array([np.inf, -np.inf, np.inf, -np.inf, np.inf, -np.inf, np.nan], dtype)
    t = np.array([1, 0, 0, 1, 0.3, 0.3, 0.5], dtype)
    with np.errstate(invalid="raise", over="raise"):  # silently, as the compiled backends
        for pos_weight, loss_expected, grad_expected in [
                (None, [np.nan, np.nan, np.inf, np.inf, np.inf, np.inf, np.nan], [0, 0, 1, -1, 0.7, -0.3, np.nan]),
                (0.0, [np.nan, np.nan, np.inf, np.nan, np.inf, np.nan, np.nan], [0, 0, 1, 0, 0.7, 0, np.nan])]:
            loss, grad = K.binary_cross_entropy_with_logits(
                x, t, pos_weight=None if pos_weight is None else np.array([pos_weight], dtype), reduction="none",
                backend=backend)
            assert_allclose(loss, loss_expected, rtol=1e-6)
            assert_allclose(grad, grad_expected, rtol=1e-6)


@pytest.mark.parametrize("backend", ("naive",) + COMPILED)
def test_edge_values(backend, dtype):
    require_backend(backend)
    f = dtype.type
    # L1 subgradient is 0 where input == target; NaN propagates to the loss and to its own gradient only
    loss, grad = K.l1_loss(np.array([1, 2, np.nan], dtype), np.array([1, 3, 0], dtype), reduction="none",
                           backend=backend)
    assert_array_equal(grad, [0, -1, np.nan])
    assert np.isnan(loss[2]) and loss[1] == 1
    loss, grad = K.mse_loss(np.array([np.nan, 1], dtype), np.array([0, 0], dtype), backend=backend)
    assert np.isnan(loss) and np.isnan(grad[0]) and grad[1] == 1
    # Huber at |d| == delta: both pieces meet (loss delta^2 / 2, slope delta)
    loss, grad = K.huber_loss(np.array([2.0, -2.0], dtype), np.zeros(2, dtype), delta=2.0, reduction="none",
                              backend=backend)
    assert_array_equal(loss, [2, 2])
    assert_array_equal(grad, [2, -2])
    # BCE: logs clamped at -100, gradient denominator at 1e-12; infinite input error -> inf loss
    loss, grad = K.binary_cross_entropy(np.array([0, 1, 0, 1], dtype), np.array([1, 0, 0, 1], dtype),
                                        reduction="none", backend=backend)
    assert_array_equal(loss, [100, 100, 0, 0])
    assert_allclose(grad, [-1e12, 1e12, 0, 0], rtol=1e-6)
    loss, _ = K.mse_loss(np.array([np.inf], dtype), np.array([0], dtype), backend=backend)
    assert loss == np.inf
    # huge logits: exact, finite losses and saturated gradients, no overflow
    big = f(1e4) if dtype == np.float32 else f(1e300)
    x = np.array([big, -big, big, -big, 0], dtype)
    t = np.array([1, 0, 0, 1, 1], dtype)
    loss, grad = K.binary_cross_entropy_with_logits(x, t, reduction="none", backend=backend)
    assert_allclose(loss, [0, 0, big, big, np.log(2)], rtol=1e-6)
    assert_allclose(grad, [0, 0, 1, -1, -0.5], rtol=1e-6)
    loss, grad = K.binary_cross_entropy_with_logits(x, t, pos_weight=np.array([3], dtype), reduction="none",
                                                    backend=backend)
    assert_allclose(loss, [0, 0, big, 3 * big, 3 * np.log(2)], rtol=1e-6)
    assert_allclose(grad, [0, 0, 1, -3, -1.5], rtol=1e-6)
    loss, grad = K.binary_cross_entropy_with_logits(np.array([np.nan], dtype), np.array([1], dtype), backend=backend)
    assert np.isnan(loss) and np.isnan(grad[0])
    # empty input: mean is NaN (as PyTorch), sum is 0
    assert np.isnan(K.mse_loss(np.empty(0, dtype), np.empty(0, dtype), backend=backend)[0])
    assert K.mse_loss(np.empty(0, dtype), np.empty(0, dtype), reduction="sum", backend=backend)[0] == 0


@pytest.mark.parametrize("backend", COMPILED)
def test_thread_count_does_not_change_results(backend, dtype, monkeypatch):
    require_backend(backend)
    monkeypatch.setattr(_chunking, "CHUNK", 100)  # many chunks on a small array
    for case in ("mse", "bce_logits-weights"):
        one = _call(case, (7, 151), dtype, backend, "mean", n_threads=1)[0]
        two = _call(case, (7, 151), dtype, backend, "mean", n_threads=2)[0]
        ref = _call(case, (7, 151), dtype, "naive", "mean")[0]
        assert_array_equal(one[0], two[0])
        assert_array_equal(one[1], two[1])
        assert_allclose(one[0], ref[0], **tolerance(dtype))


@pytest.mark.parametrize("backend", COMPILED)
def test_bce_float32_keeps_small_losses(backend):
    # float32 BCE uses its own log and log1p: log1p(-p) for tiny p must stay ~ -p (relative
    # accuracy), which a 1 + u rounding shortcut loses (it gives 0 below p = 6e-8)
    require_backend(backend)
    p = np.concatenate([np.geomspace(1e-30, 0.5, 200), 1 - np.geomspace(1e-7, 0.5, 100)]).astype(np.float32)
    for target in (0.0, 1.0):
        t = np.full(p.size, target, np.float32)
        loss = K.binary_cross_entropy(p, t, reduction="none", backend=backend)[0]
        expected = K.binary_cross_entropy(p.astype(np.float64), t.astype(np.float64), reduction="none",
                                          backend="naive")[0]
        assert_allclose(loss, expected, rtol=1e-6, atol=0)
    logits = np.linspace(-30, 30, 2001).astype(np.float32)
    t = np.random.default_rng(4).uniform(size=logits.size).astype(np.float32)
    loss, grad = K.binary_cross_entropy_with_logits(logits, t, reduction="none", backend=backend)
    expected = K.binary_cross_entropy_with_logits(logits.astype(np.float64), t.astype(np.float64),
                                                  reduction="none", backend="naive")
    # (1 - t) x + softplus(-x) cancels: float32 rounding of terms up to 30 (ulp 1.9e-6) remains
    assert_allclose(loss, expected[0], rtol=1e-6, atol=4e-6)
    assert_allclose(grad, expected[1], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("backend", COMPILED)
def test_nll_thread_count_does_not_change_results(backend, monkeypatch):
    require_backend(backend)
    monkeypatch.setattr(_chunking, "CHUNK", 40)  # chunks of a few rows
    log_prob, y, weight = _nll_problem(np.float32, n=101, c=7)
    y = np.where(y < 0, 3, y) % 7
    one = K.nll_loss(log_prob, y, class_weight=weight, reduction="none", backend=backend, n_threads=1)
    two = K.nll_loss(log_prob, y, class_weight=weight, reduction="none", backend=backend, n_threads=2)
    assert_array_equal(one[0], two[0])
    assert_array_equal(one[1], two[1])
    expected = K.nll_loss(log_prob, y, class_weight=weight, reduction="none", backend="naive")
    assert_allclose(one[0], expected[0], **tolerance(np.float32))
    assert_array_equal(one[1], expected[1])


def test_strided_readonly_inputs_and_out(backend):
    x, t, _ = _data((6, 8), np.float32)
    view = x[::2, 1::2]
    target = t[::2, ::2].copy()
    target.flags.writeable = False
    expected = K.smooth_l1_loss(view.copy(), target.copy(), backend="naive")
    out = np.empty(view.shape, np.float32)
    loss, grad = K.smooth_l1_loss(view, target, backend=backend, out=out)
    assert grad is out
    assert_allclose(loss, expected[0], rtol=1e-6)
    assert_allclose(grad, expected[1], rtol=1e-6)


@pytest.mark.parametrize("backend", ("naive",) + FAST_BACKENDS)
@pytest.mark.parametrize("case", CASES)
def test_zero_dimensional_input_keeps_its_shape(case, backend, dtype):
    # 0-d input and target give a 0-d gradient (and a 0-d loss for "none"), as PyTorch, with the values
    # of the 1-element arrays; weights may be 0-d too
    require_backend(backend)
    function, make, options = CASES[case]
    x, t, rng = make((), dtype, seed=1)
    options = {name: rng.uniform(0.5, 2, ()).astype(dtype) for name in options if name in ("weight", "pos_weight")}
    options.update({name: value for name, value in CASES[case][2].items() if name in ("delta", "beta")})
    for reduction in ("none", "mean", "sum"):
        loss, grad = function(x, t, reduction=reduction, backend=backend, n_threads=1, **options)
        flat_loss, flat_grad = function(x.reshape(1), t.reshape(1), reduction=reduction, backend=backend,
                                        **{k: np.reshape(v, 1) if k in ("weight", "pos_weight") else v
                                           for k, v in options.items()})
        assert grad.shape == np.shape(loss) == () and grad.dtype == np.asarray(loss).dtype == dtype, reduction
        assert_array_equal(grad, flat_grad[0])
        assert_array_equal(loss, flat_loss[0] if reduction == "none" else flat_loss)
    out = np.empty((), dtype)
    assert function(x, t, backend=backend, out=out, **options)[1] is out
    with pytest.raises(ValueError, match="target"):
        function(x, t.reshape(1), backend=backend, **options)


# --------------------------------------------------------------------------- NLL

def _nll_problem(dtype, n=9, c=4, seed=0):
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((n, c))
    log_prob = (scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))).astype(dtype)
    y = rng.integers(0, c, n)
    y[2] = -100
    y[5] = 7  # ignored with ignore_index=7 below
    return log_prob, y, rng.uniform(0.5, 2, c)


@pytest.mark.parametrize("reduction", ("mean", "sum", "none"))
def test_nll_matches_naive(backend, dtype, reduction):
    log_prob, y, weight = _nll_problem(dtype)
    y5 = y.copy()
    y5[5] = 1
    for kw in (dict(y=y5), dict(y=np.where(y == -100, 1, y), ignore_index=7, class_weight=weight)):
        result = K.nll_loss(log_prob, reduction=reduction, backend=backend, **kw)
        expected = K.nll_loss(log_prob, reduction=reduction, backend="naive", **kw)
        assert_allclose(result[0], expected[0], **tolerance(dtype))
        assert_allclose(result[1], expected[1], **tolerance(dtype))


def test_nll_values_and_gradient():
    log_prob, y, weight = _nll_problem(np.float64)
    y[5] = 1
    loss, grad = K.nll_loss(log_prob, y, class_weight=weight, backend="naive")
    keep = y != -100
    picked = log_prob[np.flatnonzero(keep), y[keep]]
    expected = -(weight[y[keep]] * picked).sum() / weight[y[keep]].sum()
    assert_allclose(loss, expected, rtol=1e-12)
    for backend in ("naive", "cython"):
        require_backend(backend)
        numerical = numerical_gradient(
            lambda z: K.nll_loss(z, y, class_weight=weight, backend=backend)[0], log_prob.copy())
        assert_allclose(K.nll_loss(log_prob, y, class_weight=weight, backend=backend)[1], numerical, atol=1e-9)
    all_ignored = K.nll_loss(log_prob[:1], [-100])[0]
    assert np.isnan(all_ignored)


@pytest.mark.parametrize("backend", ("naive",) + FAST_BACKENDS)
def test_nll_a_zero_weight_is_not_an_ignored_row(backend):
    # -w log_prob with w = 0 is NaN for a NaN log-probability (PyTorch: the row is weighed, not skipped);
    # an ignored row is skipped whatever log_prob holds
    require_backend(backend)
    log_prob = np.array([[np.nan, 0.0], [-1.0, -0.5], [np.nan, -np.inf]])
    y, weight = np.array([0, 1, -100]), np.array([0.0, 1.0])
    for reduction in ("sum", "mean"):
        loss, grad = K.nll_loss(log_prob, y, class_weight=weight, reduction=reduction, backend=backend)
        assert np.isnan(loss)
        assert_array_equal(grad[2], [0, 0])
    rows, _ = K.nll_loss(log_prob, y, class_weight=weight, reduction="none", backend=backend)
    assert np.isnan(rows[0]) and rows[1] == 0.5 and rows[2] == 0


@pytest.mark.parametrize("backend", ("naive",) + FAST_BACKENDS)
def test_nll_mean_over_a_total_weight_of_zero(backend):
    # PyTorch: the loss is 0 / 0; the gradient of a weighed row is -w / 0 (NaN for w = 0), an ignored row's is 0
    require_backend(backend)
    log_prob = np.log(np.full((3, 2), 0.5))
    loss, grad = K.nll_loss(log_prob, np.array([-100, -100, -100]), backend=backend)
    assert np.isnan(loss)
    assert_array_equal(grad, np.zeros((3, 2)))
    loss, grad = K.nll_loss(log_prob, np.array([0, 1, -100]), class_weight=np.zeros(2), backend=backend)
    assert np.isnan(loss)
    assert np.isnan(grad[0, 0]) and np.isnan(grad[1, 1])
    assert_array_equal(grad[[0, 1, 2], [1, 0, 0]], [0, 0, 0])
    assert_array_equal(grad[2], [0, 0])


def test_nll_edge_weights_match_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch cross-check: install torch to run it")
    F = torch.nn.functional
    cases = [(np.log(np.full((3, 2), 0.5)), [-100, -100, -100], None),
             (np.log(np.full((3, 2), 0.5)), [0, 1, -100], np.zeros(2)),
             (np.array([[np.nan, 0.0], [-1.0, -0.5], [np.nan, -np.inf]]), [0, 1, -100], np.array([0.0, 1.0]))]
    for log_prob, y, weight in cases:
        for reduction in ("mean", "sum", "none"):
            lp = torch.tensor(log_prob, requires_grad=True)
            expected = F.nll_loss(lp, torch.tensor(y), reduction=reduction,
                                  weight=None if weight is None else torch.tensor(weight))
            expected.sum().backward()
            loss, grad = K.nll_loss(log_prob, np.array(y), class_weight=weight, reduction=reduction)
            assert_allclose(loss, expected.detach().numpy(), rtol=1e-12, equal_nan=True)
            assert_allclose(grad, lp.grad.numpy(), rtol=1e-12, equal_nan=True)


# --------------------------------------------------------------------------- validation

def test_bad_input_names_the_argument():
    x = np.zeros((2, 3))
    with pytest.raises(TypeError, match="input"):
        K.mse_loss(np.zeros((2, 3), dtype=np.complex128), x)
    with pytest.raises(TypeError, match="target"):
        K.mse_loss(x.astype(np.float32), x)
    with pytest.raises(ValueError, match="target"):
        K.l1_loss(x, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="delta"):
        K.huber_loss(x, x, delta=0.0)
    with pytest.raises(ValueError, match="beta"):
        K.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(TypeError, match="beta"):
        K.smooth_l1_loss(x, x, beta="1")
    with pytest.raises(ValueError, match=r"prob\[1, 2\] = 1.5"):
        p = np.full((2, 3), 0.5)
        p[1, 2] = 1.5
        K.binary_cross_entropy(p, x)
    with pytest.raises(ValueError, match="weight"):
        K.binary_cross_entropy(np.full((2, 3), 0.5), x, weight=np.ones(2))
    with pytest.raises(ValueError, match="pos_weight"):
        K.binary_cross_entropy_with_logits(x, x, pos_weight=np.ones(4))
    with pytest.raises(ValueError, match="reduction"):
        K.mse_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="out"):
        K.mse_loss(x, x, out=np.empty((3, 2)))
    with pytest.raises(ValueError, match=r"y\[1\] = 3"):
        K.nll_loss(x, [0, 3])
    with pytest.raises(ValueError, match="class_weight"):
        K.nll_loss(x, [0, 1], class_weight=[1.0, 2.0])
    with pytest.raises(TypeError, match="ignore_index"):
        K.nll_loss(x, [0, 1], ignore_index=None)
    with pytest.raises(ValueError, match="log_prob"):
        K.nll_loss(np.zeros(3), [0, 1])


# --------------------------------------------------------------------------- PyTorch

def test_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch cross-check: install torch to run it")
    F = torch.nn.functional
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 5))
    t = rng.standard_normal((4, 5))
    p = rng.uniform(0.01, 0.99, (4, 5))
    bits = (rng.uniform(size=(4, 5)) < 0.5).astype(np.float64)
    weight = rng.uniform(0, 2, (4, 5))
    pos_weight = rng.uniform(0.5, 3, 5)
    cases = [
        (K.mse_loss, F.mse_loss, x, t, {}, {}),
        (K.l1_loss, F.l1_loss, x, np.where(rng.uniform(size=x.shape) < 0.3, x, t), {}, {}),
        (K.huber_loss, F.huber_loss, x, t, dict(delta=0.8), dict(delta=0.8)),
        (K.smooth_l1_loss, F.smooth_l1_loss, x, t, dict(beta=0.6), dict(beta=0.6)),
        (K.smooth_l1_loss, F.smooth_l1_loss, x, np.where(rng.uniform(size=x.shape) < 0.3, x, t),
         dict(beta=0.0), dict(beta=0.0)),
        (K.binary_cross_entropy, F.binary_cross_entropy, np.concatenate([p[:3], [[0, 1, 0, 1, 0.5]]]), bits,
         dict(weight=weight), dict(weight=torch.tensor(weight))),
        (K.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits, 30 * x, bits,
         dict(weight=weight, pos_weight=pos_weight),
         dict(weight=torch.tensor(weight), pos_weight=torch.tensor(pos_weight))),
        # soft targets, pos_weight 0 among others (the loss's terms gathered by the sign of x: same values)
        (K.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits, 10 * x, p,
         dict(pos_weight=np.array([0, 0.5, 1, 2, 3.0])), dict(pos_weight=torch.tensor([0, 0.5, 1, 2, 3.0]))),
    ]
    for ours, theirs, a, b, kw, torch_kw in cases:
        for reduction in ("mean", "sum", "none"):
            xt = torch.tensor(a, requires_grad=True)
            expected = theirs(xt, torch.tensor(b), reduction=reduction, **torch_kw)
            expected.sum().backward()
            loss, grad = ours(a, b, reduction=reduction, **kw)
            assert_allclose(loss, expected.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=ours.__name__)
            assert_allclose(grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=ours.__name__)
    log_prob = torch.log_softmax(torch.tensor(x), dim=1).numpy()
    y = np.array([0, -100, 4, 2])
    cw = rng.uniform(0.5, 2, 5)
    for reduction in ("mean", "sum", "none"):
        lp = torch.tensor(log_prob, requires_grad=True)
        expected = F.nll_loss(lp, torch.tensor(y), weight=torch.tensor(cw), reduction=reduction)
        expected.sum().backward()
        loss, grad = K.nll_loss(log_prob, y, class_weight=cw, reduction=reduction)
        assert_allclose(loss, expected.detach().numpy(), rtol=1e-12)
        assert_allclose(grad, lp.grad.numpy(), rtol=1e-12)


def test_zero_dimensional_input_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch cross-check: install torch to run it")
    F = torch.nn.functional
    cases = [(K.mse_loss, F.mse_loss, 0.3, -1.2), (K.l1_loss, F.l1_loss, 0.3, -1.2),
             (K.huber_loss, F.huber_loss, 0.3, 0.1), (K.binary_cross_entropy, F.binary_cross_entropy, 0.3, 1.0),
             (K.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits, -2.5, 1.0)]
    for ours, theirs, a, b in cases:
        for reduction in ("mean", "sum", "none"):
            xt = torch.tensor(a, dtype=torch.float64, requires_grad=True)
            expected = theirs(xt, torch.tensor(b, dtype=torch.float64), reduction=reduction)
            expected.backward()
            loss, grad = ours(np.array(a), np.array(b), reduction=reduction)
            assert np.shape(loss) == tuple(expected.shape) == () and grad.shape == tuple(xt.grad.shape) == ()
            assert_allclose(loss, expected.detach().numpy(), rtol=1e-12, err_msg=ours.__name__)
            assert_allclose(grad, xt.grad.numpy(), rtol=1e-12, err_msg=ours.__name__)


@pytest.mark.parametrize("backend", ("naive",) + FAST_BACKENDS)
def test_smooth_l1_beta_that_is_zero_in_the_dtype_is_the_l1_loss(backend):
    # beta = 1e-50 is 0 in float32: the L1 loss (its limit), not a division by 0
    require_backend(backend)
    x, t = np.array([0.0, 1.0, -2.0], np.float32), np.array([0.0, 0.5, 0.5], np.float32)
    for reduction in ("mean", "none"):
        tiny = K.smooth_l1_loss(x, t, beta=1e-50, reduction=reduction, backend=backend)
        l1 = K.l1_loss(x, t, reduction=reduction, backend=backend)
        assert_array_equal(tiny[0], l1[0])
        assert_array_equal(tiny[1], l1[1])


@pytest.mark.parametrize("backend", ("naive",) + FAST_BACKENDS)
def test_smooth_l1_subnormal_beta(backend):
    # a beta that is subnormal in the dtype: Numba's fastmath (arcp) made d / beta d * (1 / beta) = d * inf,
    # NaN losses and inf gradients; PyTorch's values, with and without weights (the kernels' two loops)
    require_backend(backend)
    cases = [(np.float32, 1e-40, [0.0, 1e-41, -3e-41, 2.0]), (np.float64, 1e-320, [0.0, 1e-321, -3e-321, 2.0])]
    for dtype, beta, x in cases:
        x = np.array(x, dtype)
        # d / beta of the values the dtype holds (subnormals are coarse), 1 outside
        slope = np.append(x[:3].astype(np.float64) / float(dtype(beta)), 1)
        zero = np.zeros_like(x)
        expected_loss = np.array([0, 0, 0, 2 - beta / 2], dtype)
        loss, grad = K.smooth_l1_loss(x, zero, beta=beta, reduction="none", backend=backend)
        assert_array_equal(loss, expected_loss)
        assert_allclose(grad, slope, rtol=1e-6)
        loss, grad = K.smooth_l1_loss(x, zero, beta=beta, reduction="sum", backend=backend)
        assert loss == 2 and np.isfinite(grad).all()
    torch = pytest.importorskip("torch", reason="PyTorch cross-check: install torch to run it")
    for dtype, beta, x in cases:
        xt = torch.tensor(x, dtype=getattr(torch, np.dtype(dtype).name), requires_grad=True)
        expected = torch.nn.functional.smooth_l1_loss(xt, torch.zeros_like(xt), beta=beta, reduction="none")
        expected.sum().backward()
        loss, grad = K.smooth_l1_loss(np.array(x, dtype), np.zeros(4, dtype), beta=beta, reduction="none",
                                      backend=backend)
        assert_array_equal(loss, expected.detach().numpy())
        assert_allclose(grad, xt.grad.numpy(), rtol=1e-5)  # PyTorch rounds the subnormal ratio otherwise


def test_bce_target_must_be_a_probability():
    # PyTorch: "all elements of target should be between 0 and 1"; a NaN target propagates
    with pytest.raises(ValueError, match=r"target\[1\] = -1.0 is not a probability in \[0, 1\]"):
        K.binary_cross_entropy(np.array([0.3, 0.6]), np.array([0.0, -1.0]))
    with pytest.raises(ValueError, match=r"target\[0, 1\] = 2.0 is not a probability"):
        K.binary_cross_entropy(np.full((1, 2), 0.5), np.array([[np.nan, 2.0]]))
    loss, grad = K.binary_cross_entropy(np.array([0.3, 0.6]), np.array([np.nan, 1.0]))
    assert np.isnan(loss) and np.isnan(grad[0]) and np.isfinite(grad[1])


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("backend", ["naive", "numpy", "numba", "cython"])
def test_mse_gradient_is_scaled_before_it_can_overflow(backend):
    # 2 d overflowed float32 for |d| > 1.7e38 in three backends (inf where PyTorch's gradient is -3e38),
    # with NumPy's overflow warnings; the loss itself is inf, silently, as PyTorch's
    require_backend(backend)
    x, t = np.float32([0, 0]), np.float32([3e38, 1])
    loss, grad = K.mse_loss(x, t, backend=backend)
    assert np.isposinf(loss)
    assert_array_equal(grad, np.float32([-3e38, -1]))
    # 2 (0 - 3e38) itself is beyond float32: -inf, as PyTorch's sum gives
    assert_array_equal(K.mse_loss(x, t, reduction="sum", backend=backend)[1], np.float32([-np.inf, -2]))
    assert_array_equal(K.mse_loss(np.float32([1, 2]), np.float32([0, 0]), backend=backend)[1], [1, 2])


@pytest.mark.parametrize("backend", ["naive", "numpy", "numba", "cython"])
def test_bce_weights_are_taken_in_the_inputs_dtype(backend):
    # weight=2.0 or a list (float64) was refused for float32 input; nll_loss's class_weight never was
    require_backend(backend)
    p, t = np.float32([0.2, 0.9]), np.float32([0, 1])
    loss, grad = K.binary_cross_entropy(p, t, weight=2.0, backend=backend)
    reference = K.binary_cross_entropy(p, t, weight=np.float32([2, 2]), backend=backend)
    assert loss == reference[0] and loss.dtype == np.float32
    assert_array_equal(grad, reference[1])
    loss, grad = K.binary_cross_entropy_with_logits(p, t, pos_weight=[1, 3], weight=[0.5, 1], backend=backend)
    assert loss.dtype == grad.dtype == np.float32
    assert_array_equal(grad, K.binary_cross_entropy_with_logits(
        p, t, pos_weight=np.float32([1, 3]), weight=np.float32([0.5, 1]), backend=backend)[1])


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("backend", ("naive",) + FAST_BACKENDS)
def test_nll_zero_weight_at_minus_inf_is_nan_silently(backend):
    # -0 * -inf: NaN, as PyTorch; naive and numpy warned ("invalid value encountered in multiply")
    require_backend(backend)
    log_prob = np.array([[-np.inf, 0.0], [-1.0, -0.5]])
    for reduction in ("none", "sum", "mean"):
        loss, grad = K.nll_loss(log_prob, np.array([0, 1]), class_weight=np.array([0.0, 1.0]), reduction=reduction,
                                backend=backend)
        assert np.isnan(loss).any() and np.isfinite(grad).all()


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("backend", ("naive",) + FAST_BACKENDS)
def test_huber_delta_and_smooth_l1_beta_must_fit_the_dtype(backend):
    # delta = 1e300 is inf in float32 (cast with "overflow encountered in cast"), 1e-50 is 0: refused as margin
    # and eps are; smooth L1's beta may be 0 there (the L1 loss), not inf
    require_backend(backend)
    x, t = np.float32([1, -2, 0.5]), np.zeros(3, np.float32)
    for delta in (1e300, 1e-50, 1e-40):
        with pytest.raises(ValueError, match=re.escape(f"delta={delta!r} does not fit in float32")):
            K.huber_loss(x, t, delta=delta, backend=backend)
    with pytest.raises(ValueError, match=re.escape("beta=1e+300 does not fit in float32")):
        K.smooth_l1_loss(x, t, beta=1e300, backend=backend)
    loss, grad = K.huber_loss(x.astype(np.float64), t.astype(np.float64), delta=1e300, reduction="none",
                              backend=backend)  # float64 holds it: half the squared error
    assert_array_equal(loss, [0.5, 2, 0.125])
    assert_array_equal(grad, [1, -2, 0.5])


# where exp(-|x|) becomes 0: the compiled exp flushes below exp(-87) / exp(-708); numpy's underflows past its
# smallest subnormal; naive computes in float64 for both dtypes
_EXP_ZERO_BEYOND = {("numba", np.float32): 87.0, ("cython", np.float32): 87.0, ("numba", np.float64): 708.0,
                    ("cython", np.float64): 708.0, ("numpy", np.float32): 103.97, ("numpy", np.float64): 745.13,
                    ("naive", np.float32): 745.13, ("naive", np.float64): 745.13}


@pytest.mark.parametrize("backend", ("naive",) + FAST_BACKENDS)
def test_bce_with_logits_infinite_pos_weight_as_documented(backend, dtype):
    # exactly inf (loss) and -inf (gradient) at every finite logit; the docstring says where each backend
    # gives NaN instead: inf * 0 where exp(-|x|) is 0 (numba and cython flushed exp(-88) in float32, where
    # naive and PyTorch gave inf), -inf + inf for the gradient at x < 0
    require_backend(backend)
    doc = " ".join(K.binary_cross_entropy_with_logits.__doc__.split())
    assert "|x| <= 87 (float32) or 708 (float64) in the numba and cython backends" in doc  # the bounds below
    assert "103.97 (float32) or 745.13 (float64) in numpy" in doc and "745.13 in naive" in doc
    bound = _EXP_ZERO_BEYOND[backend, np.dtype(dtype).type]
    magnitudes = [0, 1, 30, 86.9, 87.1, 88, 103.9, 104.1, 707.9, 708.1, 745.1, 745.2, 1e4]
    magnitudes = [m for m in magnitudes if m < np.finfo(dtype).max]
    x = np.array([s * m for m in magnitudes for s in (1, -1)], dtype)
    for t in (0.3, 1.0):
        loss, grad = K.binary_cross_entropy_with_logits(x, np.full(x.shape, t, dtype), pos_weight=np.inf,
                                                        reduction="none", backend=backend)
        within = np.abs(x.astype(np.float64)) <= bound
        assert_array_equal(loss, np.where(within, np.inf, np.nan))
        assert_array_equal(grad, np.where(within & (x >= 0), -np.inf, np.nan))
