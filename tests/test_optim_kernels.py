"""Fused optimizer steps: every backend against the naive loops, the spec's
trajectories, PyTorch, thread-count independence and every validation error."""
from functools import lru_cache

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastlc import kernels as K
from fastlc._config import ELEMENTWISE_GRAIN
from fastlc._dispatch import available_backends, get_kernel

BACKENDS = available_backends()
FAST_BACKENDS = [b for b in BACKENDS if b != "naive"]
COMPILED_BACKENDS = [b for b in BACKENDS if b in ("numba", "cython")]
DTYPES = [np.float32, np.float64]
SHAPES = [(0,), (1,), (7,), (3, 5), (2, 3, 4)]
BUFFERS = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "square_avg", "momentum_buffer", "grad_avg", "sum_sq")


def _adam(p, g, s, t, **kw):
    K.adam_step(p, g, s["exp_avg"], s["exp_avg_sq"], step=t, max_exp_avg_sq=s["max_exp_avg_sq"], **kw)


def _rmsprop(p, g, s, t, **kw):
    K.rmsprop_step(p, g, s["square_avg"], momentum_buffer=s["momentum_buffer"], grad_avg=s["grad_avg"], **kw)


def _sgd(p, g, s, t, **kw):
    K.sgd_step(p, g, momentum_buffer=s["momentum_buffer"], first_step=t == 1, **kw)


def _adagrad(p, g, s, t, **kw):
    K.adagrad_step(p, g, s["sum_sq"], step=t, **kw)


# kernel -> (call, {option id: keyword arguments})
CASES = {
    "adam": (_adam, {
        "default": {},
        "l2": dict(lr=0.05, weight_decay=0.1),
        "adamw": dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True),
        "amsgrad": dict(lr=0.05, amsgrad=True),
        "amsgrad-adamw-maximize": dict(lr=0.1, beta1=0.5, beta2=0.9, eps=1e-3, weight_decay=0.05,
                                       decoupled_weight_decay=True, amsgrad=True, maximize=True),
    }),
    "rmsprop": (_rmsprop, {
        "default": {},
        "momentum": dict(momentum=0.9, weight_decay=0.1),
        "centered": dict(centered=True, alpha=0.9),
        "centered-momentum-maximize": dict(lr=0.05, centered=True, momentum=0.5, maximize=True),
        "eps-inside": dict(eps=1e-3, eps_inside_sqrt=True),
    }),
    "sgd": (_sgd, {
        "plain": dict(lr=0.1),
        "momentum": dict(lr=0.05, momentum=0.9, weight_decay=0.1),
        "dampening": dict(lr=0.05, momentum=0.9, dampening=0.3),
        "nesterov-maximize": dict(lr=0.05, momentum=0.9, nesterov=True, maximize=True),
    }),
    "adagrad": (_adagrad, {
        "default": {},
        "decay": dict(lr=0.1, lr_decay=0.05, weight_decay=0.1),
        "eps-inside-maximize": dict(eps=1e-3, eps_inside_sqrt=True, maximize=True),
    }),
}
CASE_PARAMS = [pytest.param(k, o, id=f"{k}-{o}") for k, (_, opts) in CASES.items() for o in opts]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}
TOL_SEQUENCE = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-11)}


def _initial(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    param = rng.standard_normal(shape).astype(dtype)
    # start the state from a plausible mid-run point, not only zeros
    state = {name: np.abs(rng.standard_normal(shape)).astype(dtype) * dtype(0.1) for name in BUFFERS}
    state["grad_avg"] *= dtype(0.1)  # keep the centered variance square_avg - grad_avg**2 positive
    return param, state


def _grads(shape, dtype, n_steps, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for _ in range(n_steps)]


def _run(kernel, option, backend, shape, dtype, n_steps, n_threads=None):
    call, options = CASES[kernel]
    param, state = _initial(shape, dtype)
    for t, grad in enumerate(_grads(shape, dtype, n_steps), start=1):
        call(param, grad, state, t, backend=backend, n_threads=n_threads, **options[option])
    return param, state


@lru_cache(maxsize=None)
def _reference(kernel, option, shape, dtype, n_steps):
    return _run(kernel, option, "naive", shape, dtype, n_steps)


def _assert_same_run(result, expected, tol):
    assert_allclose(result[0], expected[0], **tol, err_msg="param")
    for name in BUFFERS:
        assert_allclose(result[1][name], expected[1][name], **tol, err_msg=name)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("backend", FAST_BACKENDS)
@pytest.mark.parametrize("kernel, option", CASE_PARAMS)
def test_single_step_matches_naive(kernel, option, backend, dtype, shape):
    result = _run(kernel, option, backend, shape, dtype, 1)
    _assert_same_run(result, _reference(kernel, option, shape, dtype, 1), TOL[dtype])
    assert result[0].dtype == dtype and result[0].shape == shape


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("backend", FAST_BACKENDS)
@pytest.mark.parametrize("kernel, option", CASE_PARAMS)
def test_100_steps_match_naive(kernel, option, backend, dtype):
    result = _run(kernel, option, backend, (3, 7), dtype, 100)
    _assert_same_run(result, _reference(kernel, option, (3, 7), dtype, 100), TOL_SEQUENCE[dtype])


@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("backend", COMPILED_BACKENDS)
@pytest.mark.parametrize("kernel, option", CASE_PARAMS)
def test_compiled_chunks_equal_naive(kernel, option, backend, dtype, n_threads, monkeypatch):
    """Run small arrays on n_threads threads (below the grain) and get the naive result bit for bit.

    Numba splits the array into n_threads chunks; Cython hands out blocks of 2**16
    elements, so here it runs one block (several blocks are tested below).
    """
    monkeypatch.setattr("fastlc.kernels._optim.elementwise_n_threads", lambda size, n: n)
    result = _run(kernel, option, backend, (101,), dtype, 3, n_threads=n_threads)
    expected = _run(kernel, option, "naive", (101,), dtype, 3)
    assert_array_equal(result[0], expected[0])
    for name in BUFFERS:
        assert_array_equal(result[1][name], expected[1][name], err_msg=name)


@pytest.mark.parametrize("backend", COMPILED_BACKENDS)
@pytest.mark.parametrize("kernel, option", CASE_PARAMS)
def test_one_and_two_threads_give_the_same_result(kernel, option, backend):
    shape = (2 * ELEMENTWISE_GRAIN + 5,)  # big enough for two threads
    one = _run(kernel, option, backend, shape, np.float32, 2, n_threads=1)
    two = _run(kernel, option, backend, shape, np.float32, 2, n_threads=2)
    assert_array_equal(one[0], two[0])
    for name in BUFFERS:
        assert_array_equal(one[1][name], two[1][name], err_msg=name)


@pytest.mark.skipif(len(COMPILED_BACKENDS) < 2, reason="needs both compiled backends")
@pytest.mark.parametrize("kernel, option", CASE_PARAMS)
def test_numba_and_cython_agree_bit_for_bit_on_large_arrays(kernel, option):
    """Both equal naive bit for bit on small arrays; here on several blocks and two threads."""
    shape = (3 * ELEMENTWISE_GRAIN + 7,)
    numba_run = _run(kernel, option, "numba", shape, np.float32, 2, n_threads=2)
    cython_run = _run(kernel, option, "cython", shape, np.float32, 2, n_threads=2)
    assert_array_equal(numba_run[0], cython_run[0])
    for name in BUFFERS:
        assert_array_equal(numba_run[1][name], cython_run[1][name], err_msg=name)


def test_flat_views_update_the_callers_arrays():
    param = np.ones((2, 3), dtype=np.float32)
    K.sgd_step(param, np.ones((2, 3), dtype=np.float32), lr=0.5)
    assert_array_equal(param, np.full((2, 3), 0.5, dtype=np.float32))


@pytest.mark.parametrize("backend", BACKENDS)
def test_readonly_and_strided_grad_are_accepted(backend):
    grad = np.arange(12, dtype=np.float64)[::2]  # not contiguous
    grad.flags.writeable = False
    param = np.zeros(6)
    exp_avg, exp_avg_sq = np.zeros(6), np.zeros(6)
    K.adam_step(param, grad, exp_avg, exp_avg_sq, step=1, lr=0.1, backend=backend)
    # Adam's first step moves each parameter by lr against the sign of its gradient
    assert_allclose(param, [0.0] + [-0.1] * 5, atol=1e-7)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kernel, option", CASE_PARAMS)
def test_nan_gradient_propagates_to_its_element_only(kernel, option, backend):
    call, options = CASES[kernel]
    param, state = _initial((5,), np.float64)
    grad = np.ones(5)
    grad[2] = np.nan
    call(param, grad, state, 1, backend=backend, **options[option])
    assert np.isnan(param[2])
    assert np.isfinite(np.delete(param, 2)).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_amsgrad_running_max_propagates_nan(backend):
    param, grad = np.zeros(2), np.array([np.nan, 1.0])
    exp_avg, exp_avg_sq, max_sq = np.zeros(2), np.zeros(2), np.full(2, 5.0)
    K.adam_step(param, grad, exp_avg, exp_avg_sq, step=1, amsgrad=True, max_exp_avg_sq=max_sq, backend=backend)
    assert np.isnan(max_sq[0]) and max_sq[1] == 5.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_sgd_first_step_ignores_buffer_and_dampening(backend):
    param, grad = np.zeros(3), np.array([1.0, -2.0, 3.0])
    buf = np.full(3, 100.0)
    K.sgd_step(param, grad, lr=0.1, momentum=0.9, dampening=0.5, momentum_buffer=buf, first_step=True,
               backend=backend)
    assert_array_equal(buf, grad)
    assert_allclose(param, -0.1 * grad)
    K.sgd_step(param, grad, lr=0.1, momentum=0.9, dampening=0.5, momentum_buffer=buf, backend=backend)
    assert_allclose(buf, 0.9 * grad + 0.5 * grad)


def test_adagrad_lr_decay_and_adam_bias_correction_by_hand():
    # Adagrad step 3 with lr_decay 0.5: clr = 1 / (1 + 2 * 0.5) = 0.5; s = 4 + 1; step 0.5 / sqrt(5)
    param, s = np.zeros(1), np.array([4.0])
    K.adagrad_step(param, np.ones(1), s, step=3, lr=1.0, lr_decay=0.5, eps=1e-300, backend="naive")
    assert_allclose(param, [-0.5 / np.sqrt(5.0)], rtol=1e-15)
    # Adam step 2 from m = 0.1, v = 0.001 (the state after step 1 with g = 1), g = 1
    param, m, v = np.zeros(1), np.array([0.1]), np.array([0.001])
    K.adam_step(param, np.ones(1), m, v, step=2, lr=1.0, eps=1e-300, backend="numpy")
    m_hat, v_hat = 0.19 / (1 - 0.9 ** 2), 0.001999 / (1 - 0.999 ** 2)
    assert_allclose(param, [-m_hat / np.sqrt(v_hat)], rtol=1e-12)


# ---------------------------------------------------------------- spec trajectories
# f(x) = 0.1 x1^2 + 2 x2^2 from (-5, -2), 20 steps (shared/SPEC.md "Worked values").
# The tutorials' AdaGrad and RMSProp divide by sqrt(s + eps); PyTorch uses sqrt(s) + eps,
# which gives (-2.382564, -0.158591) and (-0.010598, 0.000000) at 6 decimals instead:
# the pinned values need eps_inside_sqrt=True.
def _gradient_2d(x):
    return np.array([0.2 * x[0], 4.0 * x[1]])


def _trajectory(step, n_steps=20):
    x = np.array([-5.0, -2.0])
    for t in range(1, n_steps + 1):
        step(x, _gradient_2d(x), t)
    return x


def _gd(lr, backend):
    return lambda x, g, t: K.sgd_step(x, g, lr=lr, backend=backend)


def _momentum(lr, beta, backend):
    v = np.zeros(2)  # v <- beta v + g is SGD momentum with dampening 0 from a zero buffer
    return lambda x, g, t: K.sgd_step(x, g, lr=lr, momentum=beta, momentum_buffer=v, backend=backend)


def _adagrad_2d(lr, backend):
    s = np.zeros(2)
    return lambda x, g, t: K.adagrad_step(x, g, s, step=t, lr=lr, eps=1e-6, eps_inside_sqrt=True, backend=backend)


def _rmsprop_2d(lr, alpha, backend):
    s = np.zeros(2)
    return lambda x, g, t: K.rmsprop_step(x, g, s, lr=lr, alpha=alpha, eps=1e-6, eps_inside_sqrt=True,
                                          backend=backend)


SPEC_TRAJECTORIES = [
    ("gd-lr0.4", lambda b: _gd(0.4, b), (-0.943467, -0.000073)),
    ("momentum-lr0.6-beta0.5", lambda b: _momentum(0.6, 0.5, b), (0.007188, 0.002553)),
    ("momentum-lr0.6-beta0.25", lambda b: _momentum(0.6, 0.25, b), (-0.126340, -0.186632)),
    ("adagrad-lr0.4", lambda b: _adagrad_2d(0.4, b), (-2.382563, -0.158591)),
    ("adagrad-lr2", lambda b: _adagrad_2d(2.0, b), (-0.002295, 0.000000)),
    ("rmsprop-lr0.4-alpha0.9", lambda b: _rmsprop_2d(0.4, 0.9, b), (-0.010599, 0.000000)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("make, expected", [pytest.param(m, e, id=i) for i, m, e in SPEC_TRAJECTORIES])
def test_spec_trajectories(make, expected, backend):
    x = _trajectory(make(backend))
    assert_allclose(x, expected, rtol=0, atol=5e-7)  # the spec lists 6 decimals


@pytest.mark.parametrize("backend", BACKENDS)
def test_spec_gd_with_lr_0_6_diverges_in_x2(backend):
    x = _trajectory(_gd(0.6, backend))
    assert abs(x[1]) > 1000 and abs(x[0]) < 5


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("lr, expected", [(0.2, 0.060466), (0.05, 3.486784), (1.1, 61.917364)])
def test_spec_gd_on_x_squared(lr, expected, backend):
    x = np.array([10.0])
    for _ in range(10):
        K.sgd_step(x, 2 * x, lr=lr, backend=backend)
    assert_allclose(x, [expected], rtol=0, atol=5e-7)


def test_pytorch_eps_placement_gives_different_sixth_decimal():
    """Documents why the spec trajectories above set eps_inside_sqrt=True."""
    x = _trajectory(lambda x, g, t, s=np.zeros(2): K.rmsprop_step(x, g, s, lr=0.4, alpha=0.9, eps=1e-6))
    assert_allclose(x, (-0.010598, 0.0), rtol=0, atol=5e-7)


# ---------------------------------------------------------------- PyTorch
TORCH_CASES = [
    ("adam", "Adam", dict(lr=0.05, weight_decay=0.1, amsgrad=True, maximize=True),
     dict(lr=0.05, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("adam", "AdamW", dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1),
     dict(lr=0.05, beta1=0.8, beta2=0.99, weight_decay=0.1, decoupled_weight_decay=True)),
    ("rmsprop", "RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1),
     dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("rmsprop", "RMSprop", dict(lr=0.01, alpha=0.9), dict(lr=0.01, alpha=0.9)),
    ("sgd", "SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.1),
     dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    ("sgd", "SGD", dict(lr=0.05, momentum=0.9, nesterov=True), dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("adagrad", "Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1), dict(lr=0.1, lr_decay=0.1, weight_decay=0.1)),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kernel, torch_name, torch_kwargs, our_kwargs",
                         [pytest.param(*c, id=f"{c[1]}-{i}") for i, c in enumerate(TORCH_CASES)])
def test_matches_torch_optim(kernel, torch_name, torch_kwargs, our_kwargs, backend, dtype):
    torch = pytest.importorskip("torch")
    call = CASES[kernel][0]
    param = np.random.default_rng(0).standard_normal(40).astype(dtype)
    state = {name: np.zeros_like(param) for name in BUFFERS}
    theirs = torch.tensor(param.copy(), requires_grad=True)
    optimizer = getattr(torch.optim, torch_name)([theirs], **torch_kwargs)
    for t, grad in enumerate(_grads(40, dtype, 20), start=1):
        call(param, grad, state, t, backend=backend, **our_kwargs)
        theirs.grad = torch.from_numpy(grad.copy())
        optimizer.step()
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    assert_allclose(param, theirs.detach().numpy(), **tol)


# ---------------------------------------------------------------- validation
def _arrays(dtype=np.float64, shape=(4,)):
    rng = np.random.default_rng(3)
    return {name: rng.standard_normal(shape).astype(dtype) for name in ("param", "grad") + BUFFERS}


def _call(kernel, a, **kw):
    if kernel == "adam":
        defaults = dict(step=1, max_exp_avg_sq=a["max_exp_avg_sq"])
        K.adam_step(a["param"], a["grad"], a["exp_avg"], a["exp_avg_sq"], **{**defaults, **kw})
    elif kernel == "rmsprop":
        K.rmsprop_step(a["param"], a["grad"], a["square_avg"], **kw)
    elif kernel == "sgd":
        K.sgd_step(a["param"], a["grad"], **{"lr": 0.1, **kw})
    else:
        K.adagrad_step(a["param"], a["grad"], a["sum_sq"], **{"step": 1, **kw})


def _replace(name, value):
    def change(a):
        a[name] = value(a) if callable(value) else value
    return change


def _noncontiguous(name):
    return _replace(name, lambda a: np.repeat(a[name], 2)[::2])


def _readonly(name):
    def change(a):
        a[name] = a[name].copy()
        a[name].flags.writeable = False
    return change


# (id, kernel, change to the arrays, keyword arguments, exception, message pattern)
INVALID = [
    ("param-float32-grad-float64", "sgd", _replace("param", lambda a: a["param"].astype(np.float32)), {},
     TypeError, "grad must have dtype float32"),
    ("param-int", "sgd", _replace("param", lambda a: a["param"].astype(np.int64)), {},
     TypeError, "param must have dtype float32 or float64"),
    ("param-list", "sgd", _replace("param", [1.0, 2.0, 3.0, 4.0]), {}, TypeError, "param is updated in place"),
    ("param-noncontiguous", "sgd", _noncontiguous("param"), {}, ValueError, "param .*C-contiguous"),
    ("param-readonly", "adam", _readonly("param"), {}, ValueError, "param .*writeable"),
    ("grad-shape", "adam", _replace("grad", lambda a: a["grad"][:3]), {}, ValueError, r"grad must have shape \(4,\)"),
    ("grad-2d", "adam", _replace("grad", lambda a: a["grad"].reshape(2, 2)), {}, ValueError, "grad must have shape"),
    ("exp_avg-shape", "adam", _replace("exp_avg", np.zeros(5)), {}, ValueError, "exp_avg must have shape"),
    ("exp_avg_sq-dtype", "adam", _replace("exp_avg_sq", lambda a: a["exp_avg_sq"].astype(np.float32)), {},
     TypeError, "exp_avg_sq must have dtype float64"),
    ("exp_avg-none", "adam", _replace("exp_avg", None), {}, TypeError, "exp_avg is required"),
    ("exp_avg-readonly", "adam", _readonly("exp_avg"), {}, ValueError, "exp_avg .*writeable"),
    ("exp_avg-noncontiguous", "adam", _noncontiguous("exp_avg"), {}, ValueError, "exp_avg .*C-contiguous"),
    ("max-shape", "adam", _replace("max_exp_avg_sq", np.zeros(3)), dict(amsgrad=True),
     ValueError, "max_exp_avg_sq must have shape"),
    ("amsgrad-without-buffer", "adam", lambda a: None, dict(amsgrad=True, max_exp_avg_sq=None),
     ValueError, "amsgrad=True needs max_exp_avg_sq"),
    ("buffers-share-memory", "adam", _replace("exp_avg_sq", lambda a: a["exp_avg"]), {},
     ValueError, "exp_avg and exp_avg_sq must not share memory"),
    ("grad-is-param", "sgd", _replace("grad", lambda a: a["param"]), {},
     ValueError, "param and grad must not share memory"),
    ("step-0", "adam", lambda a: None, dict(step=0), ValueError, "step must be an int >= 1"),
    ("step-float", "adagrad", lambda a: None, dict(step=1.5), TypeError, "step must be an int"),
    ("step-bool", "adam", lambda a: None, dict(step=True), TypeError, "step must be an int"),
    ("lr-negative", "adam", lambda a: None, dict(lr=-0.1), ValueError, "lr must be >= 0"),
    ("lr-negative-sgd", "sgd", lambda a: None, dict(lr=-1.0), ValueError, "lr must be >= 0"),
    ("lr-nan", "rmsprop", lambda a: None, dict(lr=float("nan")), ValueError, "lr must be a finite number"),
    ("lr-string", "adagrad", lambda a: None, dict(lr="0.1"), TypeError, "lr must be a real number"),
    ("beta1-one", "adam", lambda a: None, dict(beta1=1.0), ValueError, "beta1 must be < 1"),
    ("beta2-negative", "adam", lambda a: None, dict(beta2=-0.1), ValueError, "beta2 must be >= 0"),
    ("eps-zero", "adam", lambda a: None, dict(eps=0.0), ValueError, "eps must be > 0"),
    ("eps-negative-rmsprop", "rmsprop", lambda a: None, dict(eps=-1e-8), ValueError, "eps must be > 0"),
    ("eps-zero-adagrad", "adagrad", lambda a: None, dict(eps=0.0), ValueError, "eps must be > 0"),
    ("weight-decay-negative", "adam", lambda a: None, dict(weight_decay=-1.0), ValueError, "weight_decay must be >= 0"),
    ("alpha-above-1", "rmsprop", lambda a: None, dict(alpha=1.5), ValueError, "alpha must be <= 1"),
    ("centered-without-grad_avg", "rmsprop", lambda a: None, dict(centered=True),
     ValueError, "centered=True needs grad_avg"),
    ("rmsprop-momentum-without-buffer", "rmsprop", lambda a: None, dict(momentum=0.9),
     ValueError, "momentum=0.9 needs momentum_buffer"),
    ("sgd-momentum-without-buffer", "sgd", lambda a: None, dict(momentum=0.9),
     ValueError, "momentum=0.9 needs momentum_buffer"),
    ("momentum-negative", "sgd", lambda a: None, dict(momentum=-0.5), ValueError, "momentum must be >= 0"),
    ("nesterov-without-momentum", "sgd", lambda a: None, dict(nesterov=True),
     ValueError, "nesterov=True needs momentum > 0"),
    ("lr-decay-negative", "adagrad", lambda a: None, dict(lr_decay=-0.1), ValueError, "lr_decay must be >= 0"),
    ("backend-unknown", "adam", lambda a: None, dict(backend="fortran"), ValueError, "backend='fortran' is not valid"),
    ("n-threads-zero", "adam", lambda a: None, dict(n_threads=0), ValueError, "n_threads must be a positive int"),
    # beyond int64 (the schedules' MAX_T), beta1 ** step and (step - 1) * lr_decay were Python's OverflowError
    ("step-beyond-int64-adam", "adam", lambda a: None, dict(step=2**63), ValueError,
     "step must be <= 9223372036854775807"),
    ("step-10**400-adam", "adam", lambda a: None, dict(step=10**400), ValueError, "step must be <= "),
    ("step-10**400-adagrad", "adagrad", lambda a: None, dict(step=10**400, lr_decay=0.1), ValueError,
     "step must be <= "),
]


@pytest.mark.parametrize("kernel, change, kwargs, error, match",
                         [pytest.param(*case[1:], id=case[0]) for case in INVALID])
def test_invalid_input_raises_and_modifies_nothing(kernel, change, kwargs, error, match):
    arrays = _arrays()
    change(arrays)
    before = {name: np.array(value, copy=True) for name, value in arrays.items() if value is not None}
    with pytest.raises(error, match=match):
        _call(kernel, arrays, **kwargs)
    for name, value in before.items():
        assert_array_equal(np.asarray(arrays[name]), value, err_msg=f"{name} was modified")


@pytest.mark.parametrize("kernel", ["adam", "adagrad"])
def test_last_int64_step_is_a_step(kernel):
    arrays = _state_arrays(np.float64)
    _call(kernel, arrays, step=2**63 - 1, **({"lr_decay": 0.1} if kernel == "adagrad" else {}))
    assert np.isfinite(arrays["param"]).all()


# A hyper-parameter the kernel receives must hold in the arrays' dtype (check_fits): in float32 1e300 is inf
# (Adam's lr=1e300 made param -inf) and 1e-50 is 0 (Adam's eps=1e-50 made param all NaN).
# (id, kernel, keyword arguments, message pattern); "momentum" also passes the momentum buffer.
UNREPRESENTABLE = [
    ("adam-lr-huge", "adam", dict(lr=1e300), r"lr=1e\+300 does not fit in float32"),
    ("adam-eps-tiny", "adam", dict(eps=1e-50), "eps=1e-50 does not fit in float32"),
    ("adam-eps-subnormal", "adam", dict(eps=1e-40), "eps=1e-40 does not fit in float32"),
    ("adam-eps-huge", "adam", dict(eps=1e39), r"eps=1e\+39 does not fit in float32"),
    ("adam-beta1-tiny", "adam", dict(beta1=1e-50), "beta1=1e-50 does not fit in float32"),
    ("adam-beta2-tiny", "adam", dict(beta2=1e-50), "beta2=1e-50 does not fit in float32"),
    ("adam-weight-decay-huge", "adam", dict(weight_decay=1e39), r"weight_decay=1e\+39 does not fit"),
    ("adam-weight-decay-tiny", "adam", dict(weight_decay=1e-50), "weight_decay=1e-50 does not fit"),
    ("adam-step-size-overflows", "adam", dict(lr=1e38),
     r"lr=1e\+38, beta1=0.9, step=1: lr / \(1 - beta1 \*\* step\)=1\.0*\d*e\+39 does not fit in float32"),
    ("adamw-decay-factor-overflows", "adam", dict(lr=1e20, weight_decay=1e20, decoupled_weight_decay=True),
     r"lr=1e\+20, weight_decay=1e\+20: 1 - lr \* weight_decay=-1e\+40 does not fit in float32"),
    ("rmsprop-lr-huge", "rmsprop", dict(lr=1e300), r"lr=1e\+300 does not fit"),
    ("rmsprop-alpha-tiny", "rmsprop", dict(alpha=1e-50), "alpha=1e-50 does not fit"),
    ("rmsprop-eps-tiny", "rmsprop", dict(eps=1e-50), "eps=1e-50 does not fit"),
    ("rmsprop-eps-inside-tiny", "rmsprop", dict(eps=1e-50, eps_inside_sqrt=True), "eps=1e-50 does not fit"),
    ("rmsprop-weight-decay-huge", "rmsprop", dict(weight_decay=1e300), r"weight_decay=1e\+300 does not fit"),
    ("rmsprop-momentum-huge", "rmsprop", dict(momentum=1e300), r"momentum=1e\+300 does not fit"),
    ("rmsprop-momentum-tiny", "rmsprop", dict(momentum=1e-50), "momentum=1e-50 does not fit"),
    ("sgd-lr-huge", "sgd", dict(lr=1e300), r"lr=1e\+300 does not fit"),
    ("sgd-momentum-huge", "sgd", dict(momentum=1e300), r"momentum=1e\+300 does not fit"),
    ("sgd-momentum-tiny", "sgd", dict(momentum=1e-50), "momentum=1e-50 does not fit"),
    ("sgd-weight-decay-tiny", "sgd", dict(weight_decay=1e-50), "weight_decay=1e-50 does not fit"),
    ("adagrad-lr-huge", "adagrad", dict(lr=1e300), r"lr=1e\+300 does not fit"),
    ("adagrad-eps-tiny", "adagrad", dict(eps=1e-50), "eps=1e-50 does not fit"),
    ("adagrad-eps-inside-tiny", "adagrad", dict(eps=1e-50, eps_inside_sqrt=True), "eps=1e-50 does not fit"),
    ("adagrad-weight-decay-huge", "adagrad", dict(weight_decay=1e300), r"weight_decay=1e\+300 does not fit"),
]


def _state_arrays(dtype):
    """_arrays with the running squares >= 0, as a real optimizer state (sqrt of a negative one is NaN)."""
    arrays = _arrays(dtype)
    for name in ("exp_avg_sq", "max_exp_avg_sq", "square_avg", "sum_sq"):
        arrays[name] = np.abs(arrays[name])
    return arrays


def _with_momentum_buffer(kernel, arrays, kwargs):
    return {**kwargs, "momentum_buffer": arrays["momentum_buffer"]} if "momentum" in kwargs else kwargs


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kernel, kwargs, match", [pytest.param(*case[1:], id=case[0]) for case in UNREPRESENTABLE])
def test_hyperparameter_that_does_not_fit_float32_raises_and_modifies_nothing(kernel, kwargs, match, backend):
    arrays = _arrays(np.float32)
    before = {name: value.copy() for name, value in arrays.items()}
    with pytest.raises(ValueError, match=match):
        _call(kernel, arrays, backend=backend, **_with_momentum_buffer(kernel, arrays, kwargs))
    for name, value in before.items():
        assert_array_equal(arrays[name], value, err_msg=f"{name} was modified")


@pytest.mark.parametrize("kernel, kwargs", [
    pytest.param("adam", dict(lr=1e300, beta1=1 - 2**-53), id="adam-step-size"),
    pytest.param("adam", dict(lr=1e200, weight_decay=1e200, decoupled_weight_decay=True), id="adamw-decay-factor"),
])
def test_step_factor_that_overflows_float64_raises(kernel, kwargs):
    # each argument fits in float64, the factor computed from them is inf
    arrays = _arrays(np.float64)
    with pytest.raises(ValueError, match="overflows"):
        _call(kernel, arrays, **kwargs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_hyperparameters_that_fit_are_accepted(backend):
    # 0 stays allowed where it is (no momentum, no weight decay, lr 0); float64 holds 1e-50
    zeros = dict(adam=dict(lr=0.0, beta1=0.0, beta2=0.0, weight_decay=0.0),
                 rmsprop=dict(lr=0.0, alpha=0.0, momentum=0.0, weight_decay=0.0),
                 sgd=dict(lr=0.0, momentum=0.0, dampening=0.0, weight_decay=0.0),
                 adagrad=dict(lr=0.0, lr_decay=0.0, weight_decay=0.0))
    for kernel, kwargs in zeros.items():
        arrays = _state_arrays(np.float32)
        param = arrays["param"].copy()
        _call(kernel, arrays, backend=backend, **kwargs)
        assert_array_equal(arrays["param"], param, err_msg=kernel)
    for kernel in ("adam", "rmsprop", "adagrad"):
        arrays = _state_arrays(np.float64)
        _call(kernel, arrays, backend=backend, eps=1e-50)
        assert np.isfinite(arrays["param"]).all(), kernel


@pytest.mark.parametrize("kernel", ["adam", "rmsprop", "sgd", "adagrad"])
def test_learning_rate_below_float32_normal_range_is_a_tiny_step_not_an_error(kernel):
    # a decaying schedule (ExponentialDecayLR in fastlc.optim) takes lr there within a float32 run
    arrays = _state_arrays(np.float32)
    param = arrays["param"].copy()
    _call(kernel, arrays, lr=1e-45)
    assert_allclose(arrays["param"], param, rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_negative_centered_variance_gives_nan_not_an_error(backend):
    param, grad = np.zeros(1), np.zeros(1)
    square_avg, grad_avg = np.zeros(1), np.ones(1)
    K.rmsprop_step(param, grad, square_avg, centered=True, grad_avg=grad_avg, alpha=0.5, backend=backend)
    assert np.isnan(param[0])  # sqrt(0 - 0.25) is NaN, as in PyTorch


def test_every_kernel_is_registered_in_every_backend():
    for kernel in ("adam_step", "rmsprop_step", "sgd_step", "adagrad_step"):
        for backend in BACKENDS:
            assert callable(get_kernel(kernel, backend))


# ---------------------------------------------------------------- property-based
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _fits(high):
    """A hyper-parameter in [0, high] that float32 holds: 0 or a normal number (a subnormal is refused)."""
    return st.one_of(st.just(0.0), st.floats(1e-30, high))


_HYPER = {
    "adam": st.fixed_dictionaries({
        "lr": st.floats(0, 1), "beta1": _fits(0.999), "beta2": _fits(0.9999),
        "eps": st.floats(1e-10, 1), "weight_decay": _fits(1), "decoupled_weight_decay": st.booleans(),
        "amsgrad": st.booleans(), "maximize": st.booleans()}),
    "rmsprop": st.fixed_dictionaries({
        # alpha near 0 with centered=True makes the variance g**2 - g**2: its sign is rounding
        "lr": st.floats(0, 1), "alpha": st.floats(0.05, 1), "eps": st.floats(1e-10, 1),
        "weight_decay": _fits(1), "momentum": _fits(0.99), "centered": st.booleans(),
        "maximize": st.booleans(), "eps_inside_sqrt": st.booleans()}),
    "sgd": st.fixed_dictionaries({
        "lr": st.floats(0, 1), "momentum": _fits(0.99), "dampening": st.floats(0, 1),
        "weight_decay": _fits(1), "maximize": st.booleans()}),
    "adagrad": st.fixed_dictionaries({
        "lr": st.floats(0, 1), "lr_decay": st.floats(0, 1), "eps": st.floats(1e-10, 1),
        "weight_decay": _fits(1), "maximize": st.booleans(), "eps_inside_sqrt": st.booleans()}),
}


@pytest.mark.parametrize("backend", FAST_BACKENDS)
@pytest.mark.parametrize("kernel", list(CASES))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_backends_agree_on_random_hyperparameters(kernel, backend, data):
    call = CASES[kernel][0]
    hyper = data.draw(_HYPER[kernel], label="hyper-parameters")
    size = data.draw(st.integers(0, 40), label="size")
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    n_steps = data.draw(st.integers(1, 4), label="steps")
    results = {}
    for name in ("naive", backend):
        param, state = _initial((size,), dtype, seed)
        state["grad_avg"][...] = 0  # a centered variance can only go negative through rounding from zeros
        for t, grad in enumerate(_grads((size,), dtype, n_steps, seed + 1), start=1):
            call(param, grad, state, t, backend=name, **hyper)
        results[name] = param
    assert_allclose(results[backend], results["naive"], **TOL_SEQUENCE[dtype], equal_nan=True)


@pytest.mark.parametrize("backend", ["naive", "numpy", "numba", "cython"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_dimensional_parameters_step_as_one_element(backend, dtype):
    # a scalar parameter (0-d arrays, updated in place) takes the step of the same 1-element array
    if backend not in available_backends():
        pytest.skip(f"backend {backend!r} is not available in this installation")
    steps = [(K.sgd_step, 0, dict(lr=0.1, momentum=0.9, first_step=True), "momentum_buffer"),
             (K.adagrad_step, 1, dict(step=1, lr=0.1), None),
             (K.rmsprop_step, 1, dict(lr=0.1, centered=True, momentum=0.5), ("momentum_buffer", "grad_avg")),
             (K.adam_step, 2, dict(step=1, lr=0.1, amsgrad=True), "max_exp_avg_sq")]
    for step, n_states, kw, keyword_states in steps:
        results = []
        for shape in ((), (1,)):
            param, grad = np.full(shape, 1.0, dtype), np.full(shape, 0.5, dtype)
            states = [np.zeros(shape, dtype) for _ in range(n_states)]
            names = (keyword_states,) if isinstance(keyword_states, str) else (keyword_states or ())
            extra = {name: np.zeros(shape, dtype) for name in names}
            step(param, grad, *states, **kw, **extra, backend=backend)
            assert param.shape == shape and param.dtype == dtype
            results.append([param.reshape(-1), *(s.reshape(-1) for s in states),
                            *(e.reshape(-1) for e in extra.values())])
        for scalar, one in zip(*results):
            assert_array_equal(scalar, one)
        assert results[0][0][0] != 1.0
