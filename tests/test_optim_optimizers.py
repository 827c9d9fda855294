"""fastlc.optim: optimizer objects, state round trips, schedules and gradient clipping."""
import math
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastlc import kernels as K
from fastlc import optim

OPTIMIZERS = [
    pytest.param(optim.SGD, dict(lr=0.1), id="sgd"),
    pytest.param(optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.2, weight_decay=0.01), id="sgd-momentum"),
    pytest.param(optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True), id="sgd-nesterov"),
    pytest.param(optim.Adam, dict(lr=0.01), id="adam"),
    pytest.param(optim.Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1), id="adam-amsgrad"),
    pytest.param(optim.AdamW, dict(lr=0.01), id="adamw"),
    pytest.param(optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True), id="rmsprop-centered-momentum"),
    pytest.param(optim.RMSprop, dict(lr=0.01), id="rmsprop"),
    pytest.param(optim.Adagrad, dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1), id="adagrad"),
]
DTYPES = [np.float32, np.float64]


def _problem(dtype, seed=0):
    """Two parameter arrays of different shapes and a gradient sequence."""
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal(3).astype(dtype)]
    grads = [[rng.standard_normal(p.shape).astype(dtype) for p in params] for _ in range(12)]
    return params, grads


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("cls, kwargs", OPTIMIZERS)
def test_state_dict_round_trip_resumes_bit_for_bit(cls, kwargs, dtype):
    params, grads = _problem(dtype)
    straight = cls([p.copy() for p in params], **kwargs)
    for g in grads:
        straight.step(g)

    first = cls([p.copy() for p in params], **kwargs)
    for g in grads[:5]:
        first.step(g)
    snapshot = pickle.loads(pickle.dumps(first.state_dict()))
    resumed = cls([p.copy() for p in first.params], **kwargs)
    resumed.load_state_dict(snapshot)
    assert resumed.step_count == 5
    for g in grads[5:]:
        resumed.step(g)
    assert resumed.step_count == straight.step_count == 12
    for mine, theirs in zip(resumed.params, straight.params):
        assert_array_equal(mine, theirs)
    for mine, theirs in zip(resumed.state, straight.state):
        for name in theirs:
            assert_array_equal(mine[name], theirs[name])


@pytest.mark.parametrize("cls, kwargs", OPTIMIZERS)
def test_state_dict_is_a_copy(cls, kwargs):
    params, grads = _problem(np.float64)
    opt = cls(params, **kwargs)
    opt.step(grads[0])
    snapshot = opt.state_dict()
    opt.step(grads[1])
    for name, buf in snapshot["state"][0].items():
        assert not np.may_share_memory(buf, opt.state[0][name])
    assert snapshot["step_count"] == 1


@pytest.mark.parametrize("cls, kwargs", OPTIMIZERS)
def test_whole_optimizer_pickles(cls, kwargs):
    params, grads = _problem(np.float32)
    opt = cls(params, **kwargs)
    opt.step(grads[0])
    clone = pickle.loads(pickle.dumps(opt))
    opt.step(grads[1])
    clone.step(grads[1])
    for mine, theirs in zip(clone.params, opt.params):
        assert_array_equal(mine, theirs)


@pytest.mark.parametrize("cls, kwargs", OPTIMIZERS)
def test_zero_state_restarts_the_run(cls, kwargs):
    params, grads = _problem(np.float64)
    start = [p.copy() for p in params]
    opt = cls(params, **kwargs)
    for g in grads[:3]:
        opt.step(g)
    opt.zero_state()
    assert opt.step_count == 0
    for p, s in zip(opt.params, start):
        p[...] = s
    fresh = cls([s.copy() for s in start], **kwargs)
    for g in grads[3:6]:
        opt.step(g)
        fresh.step(g)
    for mine, theirs in zip(opt.params, fresh.params):
        assert_array_equal(mine, theirs)


@pytest.mark.parametrize("backend", ["naive", "numpy", "auto"])
def test_optimizer_equals_kernel_calls(backend):
    params, grads = _problem(np.float32)
    by_hand = [p.copy() for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    opt = optim.AdamW(params, lr=0.01, weight_decay=0.1, backend=backend)
    for t, g in enumerate(grads, start=1):
        opt.step(g)
        for p, gi, mi, vi in zip(by_hand, g, m, v):
            K.adam_step(p, gi, mi, vi, step=t, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, backend="naive")
    for mine, theirs in zip(opt.params, by_hand):
        assert_allclose(mine, theirs, rtol=1e-6, atol=1e-7)


def test_sgd_momentum_buffer_starts_from_the_first_gradient():
    param = np.zeros(2)
    opt = optim.SGD([param], lr=1.0, momentum=0.5, dampening=0.5)
    opt.step([np.array([1.0, 2.0])])
    assert_array_equal(opt.state[0]["momentum_buffer"], [1.0, 2.0])  # no dampening on step 1
    opt.step([np.array([1.0, 2.0])])
    assert_array_equal(opt.state[0]["momentum_buffer"], [1.0, 2.0])  # 0.5 * b + 0.5 * g


def test_schedule_sets_the_learning_rate_of_each_step():
    param = np.zeros(1)
    opt = optim.SGD([param], lr=optim.StepDecayLR(1.0, step_size=2, gamma=0.5))
    lrs = []
    for _ in range(5):
        lrs.append(opt.get_lr())
        before = param.copy()
        opt.step([np.ones(1)])
        assert_allclose(before - param, lrs[-1])
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25]


def test_bad_schedule_value_is_reported():
    opt = optim.SGD([np.zeros(1)], lr=lambda t: -1.0)
    with pytest.raises(ValueError, match="schedule returned -1.0"):
        opt.step([np.ones(1)])


def test_clipping_options_clip_in_place_before_the_update():
    param, grad = np.zeros(2), np.array([3.0, -4.0])
    optim.SGD([param], lr=1.0, max_grad_norm=1.0).step([grad])
    assert_allclose(param, [-0.6, 0.8], rtol=1e-5)
    param, grad = np.zeros(2), np.array([3.0, -0.5])
    optim.SGD([param], lr=1.0, clip_value=1.0).step([grad])
    assert_array_equal(param, [-1.0, 0.5])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_matches_torch_with_schedule_and_two_arrays(dtype):
    torch = pytest.importorskip("torch")
    params, grads = _problem(dtype)
    theirs = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    torch_opt = torch.optim.Adam(theirs, lr=0.1, amsgrad=True)
    scheduler = torch.optim.lr_scheduler.StepLR(torch_opt, step_size=3, gamma=0.5)
    opt = optim.Adam(params, lr=optim.StepDecayLR(0.1, 3, 0.5), amsgrad=True)
    for g in grads:
        opt.step(g)
        for t, gi in zip(theirs, g):
            t.grad = torch.from_numpy(gi.copy())
        torch_opt.step()
        scheduler.step()
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    for mine, t in zip(opt.params, theirs):
        assert_allclose(mine, t.detach().numpy(), **tol)


# ---------------------------------------------------------------- optimizer validation
@pytest.mark.parametrize("make, error, match", [
    (lambda: optim.SGD([], lr=0.1), ValueError, "params is empty"),
    (lambda: optim.SGD([[1.0, 2.0]], lr=0.1), TypeError, r"params\[0\] is updated in place"),
    (lambda: optim.SGD([np.zeros(4)[::2]], lr=0.1), ValueError, r"params\[0\] .*C-contiguous"),
    (lambda: optim.SGD([np.zeros(3, dtype=np.int32)], lr=0.1), TypeError, "float32 or float64"),
    (lambda: optim.SGD([np.zeros(3)] * 2, lr=0.1), ValueError, "share memory"),
    (lambda: optim.SGD([np.zeros(3)], lr=-1.0), ValueError, "lr must be >= 0"),
    (lambda: optim.SGD([np.zeros(3)], lr=0.1, nesterov=True), ValueError, "nesterov"),
    (lambda: optim.Adam([np.zeros(3)], betas=(0.9, 1.0)), ValueError, r"betas\[1\] must be < 1"),
    (lambda: optim.Adam([np.zeros(3)], betas=0.9), TypeError, "betas must be a pair"),
    (lambda: optim.Adam([np.zeros(3)], eps=0.0), ValueError, "eps must be > 0"),
    (lambda: optim.RMSprop([np.zeros(3)], alpha=-0.1), ValueError, "alpha must be >= 0"),
    (lambda: optim.Adagrad([np.zeros(3)], initial_accumulator_value=-1.0), ValueError, "initial_accumulator_value"),
    (lambda: optim.Adam([np.zeros(3)], backend="gpu"), ValueError, "backend='gpu'"),
    (lambda: optim.Adam([np.zeros(3)], clip_value=-1.0), ValueError, "clip_value must be >= 0"),
], ids=["empty", "list", "noncontiguous", "int", "shared", "lr", "nesterov", "beta2", "betas", "eps", "alpha",
        "accumulator", "backend", "clip"])
def test_invalid_optimizer_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("grads, error, match", [
    ([np.zeros((3, 4))], ValueError, "got 1 gradients for 2"),
    ([np.zeros((3, 4)), np.zeros(4)], ValueError, r"grads\[1\] must have shape \(3,\)"),
    ([np.zeros((3, 4)), np.zeros(3, dtype=np.float32)], TypeError, r"grads\[1\] must have dtype float64"),
    ([np.zeros((3, 4)), [0.0, 0.0, 0.0]], TypeError, r"grads\[1\] must be a NumPy array"),
], ids=["count", "shape", "dtype", "list"])
def test_bad_gradients_change_nothing(grads, error, match):
    params, _ = _problem(np.float64)
    before = [p.copy() for p in params]
    opt = optim.Adam(params, lr=0.1)
    with pytest.raises(error, match=match):
        opt.step(grads)
    assert opt.step_count == 0
    for p, b in zip(params, before):
        assert_array_equal(p, b)
    assert all((buf == 0).all() for s in opt.state for buf in s.values())


def test_load_state_dict_rejects_mismatches_and_changes_nothing():
    params, grads = _problem(np.float64)
    opt = optim.Adam(params, lr=0.1)
    opt.step(grads[0])
    good = opt.state_dict()
    other = optim.Adam([p.copy() for p in params], lr=0.1)
    with pytest.raises(ValueError, match="from SGD, not Adam"):
        other.load_state_dict({**good, "optimizer": "SGD"})
    with pytest.raises(ValueError, match="buffers"):
        optim.Adam([p.copy() for p in params], amsgrad=True).load_state_dict(good)
    with pytest.raises(ValueError, match="state for 1 arrays"):
        other.load_state_dict({**good, "state": good["state"][:1]})
    bad_shape = {**good, "state": [good["state"][0], {k: np.zeros(4) for k in good["state"][1]}]}
    with pytest.raises(ValueError, match=r"has shape \(4,\)"):
        other.load_state_dict(bad_shape)
    with pytest.raises(ValueError, match="step_count"):
        other.load_state_dict({**good, "step_count": -1})
    with pytest.raises(ValueError, match="made by Optimizer.state_dict"):
        other.load_state_dict({"state": []})
    assert other.step_count == 0
    assert all((buf == 0).all() for s in other.state for buf in s.values())


# ---------------------------------------------------------------- schedules
@pytest.mark.parametrize("schedule, expected", [
    (optim.ConstantLR(0.1), [0.1, 0.1, 0.1, 0.1, 0.1]),
    (optim.StepDecayLR(1.0, step_size=2, gamma=0.1), [1.0, 1.0, 0.1, 0.1, 0.01]),
    (optim.ExponentialDecayLR(1.0, gamma=0.5), [1.0, 0.5, 0.25, 0.125, 0.0625]),
    (optim.InverseScalingLR(1.0, power_t=0.5), [1.0, 1 / math.sqrt(2), 1 / math.sqrt(3), 0.5, 1 / math.sqrt(5)]),
    (optim.InverseScalingLR(2.0, power_t=1.0), [2.0, 1.0, 2 / 3, 0.5, 0.4]),
    (optim.LinearWarmup(1.0, warmup_steps=4, start_factor=0.2), [0.2, 0.4, 0.6, 0.8, 1.0]),
    (optim.LinearWarmup(optim.ExponentialDecayLR(1.0, 0.5), warmup_steps=2, start_factor=0.0),
     [0.0, 0.25, 0.25, 0.125, 0.0625]),
    (optim.LinearWarmup(0.3, warmup_steps=0), [0.3] * 5),
], ids=["constant", "step", "exponential", "invscaling", "invscaling-power1", "warmup", "warmup-exponential",
        "no-warmup"])
def test_schedule_values(schedule, expected):
    assert_allclose([schedule(t) for t in range(5)], expected, rtol=1e-15)
    assert pickle.loads(pickle.dumps(schedule)) == schedule


@pytest.mark.parametrize("name, kwargs, cls", [
    ("constant", {}, optim.ConstantLR),
    ("step", dict(step_size=3), optim.StepDecayLR),
    ("exponential", dict(gamma=0.9), optim.ExponentialDecayLR),
    ("invscaling", dict(power_t=0.25), optim.InverseScalingLR),
    ("step", dict(step_size=3, warmup_steps=5), optim.LinearWarmup),
])
def test_make_schedule(name, kwargs, cls):
    schedule = optim.make_schedule(name, 0.1, **kwargs)
    assert isinstance(schedule, cls)
    assert schedule(0) == pytest.approx(0.1 if cls is not optim.LinearWarmup else 0.01)


@pytest.mark.parametrize("make, error, match", [
    (lambda: optim.make_schedule("cosine", 0.1), ValueError, "name='cosine' is not valid"),
    (lambda: optim.make_schedule("step", 0.1), ValueError, "needs step_size"),
    (lambda: optim.make_schedule("exponential", 0.1), ValueError, "needs gamma"),
    (lambda: optim.ConstantLR(-0.1), ValueError, "lr must be >= 0"),
    (lambda: optim.StepDecayLR(0.1, step_size=0), ValueError, "step_size must be an int >= 1"),
    (lambda: optim.StepDecayLR(0.1, step_size=2.5), TypeError, "step_size must be an int"),
    (lambda: optim.ExponentialDecayLR(0.1, gamma=0.0), ValueError, "gamma must be > 0"),
    (lambda: optim.ExponentialDecayLR(0.1, gamma=1.5), ValueError, "gamma must be <= 1"),
    (lambda: optim.InverseScalingLR(0.1, power_t=-1), ValueError, "power_t must be >= 0"),
    (lambda: optim.LinearWarmup("fast", 3), TypeError, "base must be an LRSchedule"),
    (lambda: optim.LinearWarmup(0.1, 3, start_factor=2.0), ValueError, "start_factor must be <= 1"),
    (lambda: optim.ConstantLR(0.1)(-1), ValueError, "t must be an int >= 0"),
], ids=["name", "step-size-missing", "gamma-missing", "lr", "step-size-0", "step-size-float", "gamma-0", "gamma-big",
        "power", "warmup-base", "start-factor", "negative-t"])
def test_invalid_schedules(make, error, match):
    with pytest.raises(error, match=match):
        make()


# ---------------------------------------------------------------- clipping
def test_clip_grad_value_in_place_keeps_nan():
    g = np.array([-3.0, 0.5, np.nan, 2.0], dtype=np.float32)
    optim.clip_grad_value([g], 1.0)
    assert_array_equal(g, np.array([-1.0, 0.5, np.nan, 1.0], dtype=np.float32))
    assert g.dtype == np.float32


def test_clip_grad_norm_scales_to_max_norm_like_torch():
    grads = [np.array([3.0, 0.0]), np.array([[0.0], [4.0]], dtype=np.float32)]
    total = optim.clip_grad_norm(grads, 1.0)
    assert total == pytest.approx(5.0)
    assert optim.global_grad_norm(grads) == pytest.approx(1.0, rel=1e-5)
    assert grads[1].dtype == np.float32
    small = [np.array([0.3, 0.4])]
    assert optim.clip_grad_norm(small, 1.0) == pytest.approx(0.5)
    assert_array_equal(small[0], [0.3, 0.4])  # already inside: untouched


def test_clip_grad_norm_inf_norm_and_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(5), rng.standard_normal((2, 3))]
    tensors = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads]
    for t, g in zip(tensors, grads):
        t.grad = torch.from_numpy(g.copy())
    for norm_type in (2.0, 1.0, math.inf):
        ours = [g.copy() for g in grads]
        theirs_total = torch.nn.utils.clip_grad_norm_(tensors, 0.5, norm_type=norm_type)
        assert optim.clip_grad_norm(ours, 0.5, norm_type) == pytest.approx(float(theirs_total))
        for o, t in zip(ours, tensors):
            assert_allclose(o, t.grad.numpy(), rtol=1e-12)
        for t, g in zip(tensors, grads):
            t.grad = torch.from_numpy(g.copy())


def test_clip_grad_norm_nonfinite():
    g = [np.array([np.inf, 1.0])]
    with pytest.raises(ValueError, match="error_if_nonfinite"):
        optim.clip_grad_norm(g, 1.0, error_if_nonfinite=True)
    assert_array_equal(g[0], [np.inf, 1.0])
    optim.clip_grad_norm(g, 1.0)
    assert np.isnan(g[0][0]) and g[0][1] == 0.0  # as torch: inf * 0 and 1 * 0


@pytest.mark.parametrize("call, error, match", [
    (lambda: optim.clip_grad_value([np.zeros(2)], -1.0), ValueError, "clip_value must be >= 0"),
    (lambda: optim.clip_grad_norm([np.zeros(2)], -1.0), ValueError, "max_norm must be >= 0"),
    (lambda: optim.clip_grad_norm([np.zeros(2)], 1.0, norm_type=0), ValueError, "norm_type must be > 0"),
    (lambda: optim.clip_grad_norm([[1.0, 2.0]], 1.0), TypeError, r"grads\[0\] is clipped in place"),
    (lambda: optim.clip_grad_value([np.zeros(2, dtype=np.int64)], 1.0), TypeError, "float32 or float64"),
])
def test_invalid_clipping(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_clip_readonly_gradient_is_an_error():
    g = np.ones(3)
    g.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        optim.clip_grad_value(g, 0.5)


@pytest.mark.parametrize("Optimizer", [optim.SGD, optim.Adam])
def test_a_gradient_in_a_parameters_memory_changes_nothing(Optimizer):
    # the check came after the first arrays were updated (Adam), or not at all (SGD read the updated p0)
    p0, p1 = np.zeros(3), np.zeros(3)
    opt = Optimizer([p0, p1], lr=0.1)
    for grads, j in (([np.ones(3), p1], 1), ([np.ones(3), p0], 0), ([np.ones(3), p0[::-1]], 0)):
        with pytest.raises(ValueError, match=f"grads\\[1\\] shares memory with params\\[{j}\\]"):
            opt.step(grads)
        np.testing.assert_array_equal(p0, 0)
        assert opt.step_count == 0
    with pytest.raises(TypeError, match="grads must be an array or a list of arrays"):
        opt.step(1.0)
    state = opt.state_dict()
    state["state"] = None
    with pytest.raises(ValueError, match=r"state_dict\['state'\] must be a list of dicts"):
        opt.load_state_dict(state)


def test_a_schedule_count_beyond_int64_is_refused_by_name():
    # gamma ** t with t = 10**400 was Python's OverflowError (int too large to convert to float)
    for schedule in (optim.ExponentialDecayLR(0.1, 0.5), optim.InverseScalingLR(0.1, 0.5)):
        with pytest.raises(ValueError, match="t must be <= 9223372036854775807"):
            schedule(10**400)
        assert schedule(2**63 - 1) >= 0.0


@pytest.mark.filterwarnings("error")
def test_clipping_beyond_float32s_range_is_silent():
    # a bound or a norm beyond float32's range is inf, as in PyTorch, without NumPy's overflow warnings
    from fastlc.optim import clip_grad_value, global_grad_norm

    g = np.array([1e30, -np.inf, np.nan], np.float32)
    clip_grad_value([g], 1e300)
    np.testing.assert_array_equal(g, np.array([1e30, -np.inf, np.nan], np.float32))
    assert global_grad_norm([np.full(4, 1e30, np.float32)]) == np.inf
