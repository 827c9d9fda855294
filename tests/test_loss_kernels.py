"""Loss kernels: every backend against the naive reference, gradients, worked values, validation."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from fastlc import kernels
from fastlc.gradcheck import numerical_gradient

from conftest import FAST_BACKENDS, require_backend, tolerance

SHAPES = [(1, 2), (1, 1000), (7, 2), (5, 3), (33, 10), (3, 1000), (130, 17)]
SHAPE_IDS = [f"N{n}xC{c}" for n, c in SHAPES]


def make_problem(shape, dtype, seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    n, c = shape
    scores = (scale * rng.standard_normal(shape)).astype(dtype)
    y = rng.integers(0, c, n)
    return scores, y, rng


def assert_same(result, reference, dtype):
    loss, grad = result
    ref_loss, ref_grad = reference
    assert np.asarray(loss).dtype == dtype
    assert grad.dtype == dtype
    assert_allclose(loss, ref_loss, **tolerance(dtype))
    assert_allclose(grad, ref_grad, **tolerance(dtype))


# --------------------------------------------------------------------------- hinge

HINGE_OPTIONS = {
    "default": {},
    "margin0": dict(margin=0.0),
    "margin2.5": dict(margin=2.5),
    "squared": dict(squared=True),
    "sum": dict(reduction="sum"),
    "none": dict(reduction="none"),
    "weighted": dict(sample_weight="random"),
    "weighted-squared-sum": dict(sample_weight="random", squared=True, reduction="sum"),
}


def _resolve(options, n, rng):
    options = dict(options)
    if options.get("sample_weight") == "random":
        weights = rng.uniform(0, 2, n)
        weights[::3] = 0.0  # zero weights remove a sample
        options["sample_weight"] = weights
    return options


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("options", HINGE_OPTIONS.values(), ids=HINGE_OPTIONS.keys())
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_hinge_matches_naive(backend, dtype, shape, options, n_threads):
    scores, y, rng = make_problem(shape, dtype)
    options = _resolve(options, shape[0], rng)
    reference = kernels.multiclass_hinge(scores.astype(np.float64), y, backend="naive", **options)
    result = kernels.multiclass_hinge(scores, y, backend=backend, n_threads=n_threads, **options)
    assert_same(result, reference, dtype)


# ------------------------------------------------------------------- cross-entropy

CE_OPTIONS = {
    "default": {},
    "sum": dict(reduction="sum"),
    "none": dict(reduction="none"),
    "class_weight": dict(class_weight="random"),
    "smoothing": dict(label_smoothing=0.1),
    "smoothing-weighted": dict(label_smoothing=0.3, class_weight="random"),
    "ignore_index": dict(ignore_index=-100),
    "ignore-weighted-smoothing": dict(ignore_index=-100, class_weight="random", label_smoothing=0.2),
    "sample_weight": dict(sample_weight="random"),
    "soft": dict(soft=True),
    "soft-weighted-smoothing": dict(soft=True, class_weight="random", label_smoothing=0.2, reduction="sum"),
}


def _resolve_ce(options, y, n_classes, rng, dtype):
    options = _resolve(options, len(y), rng)
    target = y
    if options.pop("soft", False):
        target = rng.dirichlet(np.ones(n_classes), size=len(y)).astype(dtype)
    if options.get("class_weight") == "random":
        options["class_weight"] = rng.uniform(0.1, 3.0, n_classes)
    if options.get("ignore_index") is not None:
        target = y.copy()
        target[::4] = options["ignore_index"]
    return target, options


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("options", CE_OPTIONS.values(), ids=CE_OPTIONS.keys())
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_cross_entropy_matches_naive(backend, dtype, shape, options, n_threads):
    scores, y, rng = make_problem(shape, dtype)
    target, options = _resolve_ce(options, y, shape[1], rng, dtype)
    reference_target = target.astype(np.float64) if target.ndim == 2 else target
    reference = kernels.softmax_cross_entropy(scores.astype(np.float64), reference_target, backend="naive", **options)
    result = kernels.softmax_cross_entropy(scores, target, backend=backend, n_threads=n_threads, **options)
    assert_same(result, reference, dtype)


@pytest.mark.parametrize("function", ["softmax", "log_softmax"])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("shape", SHAPES + [(5000, 3)], ids=SHAPE_IDS + ["N5000xC3"])
def test_softmax_matches_naive(backend, dtype, shape, function, n_threads):
    scores, _, _ = make_problem(shape, dtype)
    reference = getattr(kernels, function)(scores.astype(np.float64), backend="naive")
    result = getattr(kernels, function)(scores, backend=backend, n_threads=n_threads)
    assert result.dtype == dtype
    assert_allclose(result, reference, **tolerance(dtype))


@pytest.mark.parametrize("backend_name", ("naive",) + FAST_BACKENDS)
def test_naive_is_also_checked_against_numpy_formula(backend_name):
    """The reference itself: softmax rows sum to 1 and log_softmax = log(softmax)."""
    require_backend(backend_name)
    scores, _, _ = make_problem((6, 5), np.float64)
    prob = kernels.softmax(scores, backend=backend_name)
    assert_allclose(prob.sum(axis=1), 1.0, rtol=1e-12)
    assert_allclose(kernels.log_softmax(scores, backend=backend_name), np.log(prob), rtol=1e-12)


# ------------------------------------------------------------------- hypothesis

@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 40),
    c=st.integers(1, 70),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from([np.float32, np.float64]),
    scale=st.sampled_from([0.01, 1.0, 30.0]),
    squared=st.booleans(),
    smoothing=st.sampled_from([0.0, 0.25]),
)
def test_backends_agree_on_random_problems(n, c, seed, dtype, scale, squared, smoothing):
    scores, y, _ = make_problem((n, c), dtype, seed, scale)
    hinge_ref = kernels.multiclass_hinge(scores.astype(np.float64), y, squared=squared, backend="naive")
    ce_ref = kernels.softmax_cross_entropy(scores.astype(np.float64), y, label_smoothing=smoothing, backend="naive")
    # scale the tolerance with the size of the values compared
    tol = dict(tolerance(dtype), atol=tolerance(dtype)["atol"] * max(1.0, scale) ** 2 * c)
    for name in FAST_BACKENDS:
        if name not in kernels.available_backends():
            continue
        loss, grad = kernels.multiclass_hinge(scores, y, squared=squared, backend=name)
        assert_allclose(loss, hinge_ref[0], **tol)
        assert_allclose(grad, hinge_ref[1], **tol)
        loss, grad = kernels.softmax_cross_entropy(scores, y, label_smoothing=smoothing, backend=name)
        assert_allclose(loss, ce_ref[0], **tol)
        assert_allclose(grad, ce_ref[1], **tol)


# ------------------------------------------------------------- gradient checks

ALL_BACKENDS = ("naive",) + FAST_BACKENDS


@pytest.mark.parametrize("options", [{}, dict(squared=True), dict(margin=0.5, sample_weight=[0.5, 2, 1, 0, 3]),
                                     dict(reduction="sum")], ids=["hinge", "squared", "weighted", "sum"])
@pytest.mark.parametrize("backend_name", ALL_BACKENDS)
def test_hinge_gradient_finite_differences(backend_name, options):
    require_backend(backend_name)
    scores, y, _ = make_problem((5, 4), np.float64, seed=3)
    z = scores - scores[np.arange(5), y][:, None] + options.get("margin", 1.0)
    assert np.min(np.abs(z)) > 1e-3, "the check needs points away from the hinge's kinks"

    def loss(s):
        return kernels.multiclass_hinge(s, y, backend=backend_name, **options)[0]

    _, grad = kernels.multiclass_hinge(scores, y, backend=backend_name, **options)
    assert_allclose(grad, numerical_gradient(loss, scores), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("soft", [False, True], ids=["labels", "soft"])
@pytest.mark.parametrize("options", [{}, dict(class_weight=[0.5, 2.0, 1.0, 3.0], label_smoothing=0.2),
                                     dict(sample_weight=[1, 0, 2, 0.5, 1], reduction="sum")],
                         ids=["plain", "weighted-smoothing", "sample-weight-sum"])
@pytest.mark.parametrize("backend_name", ALL_BACKENDS)
def test_cross_entropy_gradient_finite_differences(backend_name, options, soft):
    require_backend(backend_name)
    scores, y, rng = make_problem((5, 4), np.float64, seed=4)
    target = rng.dirichlet(np.ones(4), size=5) if soft else y

    def loss(s):
        return kernels.softmax_cross_entropy(s, target, backend=backend_name, **options)[0]

    _, grad = kernels.softmax_cross_entropy(scores, target, backend=backend_name, **options)
    assert_allclose(grad, numerical_gradient(loss, scores), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("function", ["multiclass_hinge", "softmax_cross_entropy"])
@pytest.mark.parametrize("backend_name", ALL_BACKENDS)
def test_reduction_none_gradient_is_gradient_of_the_sum(backend_name, function):
    require_backend(backend_name)
    scores, y, _ = make_problem((6, 3), np.float64, seed=5)
    losses, grad_none = getattr(kernels, function)(scores, y, reduction="none", backend=backend_name)
    total, grad_sum = getattr(kernels, function)(scores, y, reduction="sum", backend=backend_name)
    assert losses.shape == (6,)
    assert_allclose(losses.sum(), total, rtol=1e-12)
    assert_allclose(grad_none, grad_sum, rtol=1e-12)


# ------------------------------------------------------------- worked values (SPEC)

SVM_SCORES = [[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]]


@pytest.mark.parametrize("backend_name", ALL_BACKENDS)
@pytest.mark.parametrize("dtype_", [np.float32, np.float64], ids=["float32", "float64"])
class TestWorkedValues:
    """Hand-computed values from shared/SPEC.md, pinned for every backend and dtype."""

    def test_svm_table(self, backend_name, dtype_):
        require_backend(backend_name)
        scores = np.array(SVM_SCORES, dtype=dtype_)
        losses, _ = kernels.multiclass_hinge(scores, [0, 1, 2], reduction="none", backend=backend_name)
        assert_allclose(losses, [2.9, 0.0, 12.9], rtol=1e-5)
        mean, _ = kernels.multiclass_hinge(scores, [0, 1, 2], backend=backend_name)
        assert mean == pytest.approx(5.2667, abs=1e-4)

    def test_single_row_hinge_and_cross_entropy(self, backend_name, dtype_):
        require_backend(backend_name)
        scores = np.array([[-2.85, 0.86, 0.28]], dtype=dtype_)
        assert kernels.multiclass_hinge(scores, [2], backend=backend_name)[0] == pytest.approx(1.58, abs=1e-5)
        ce = kernels.softmax_cross_entropy(scores, [2], backend=backend_name)[0]
        assert ce == pytest.approx(1.0402, abs=1e-4)
        assert ce / np.log(10) == pytest.approx(0.452, abs=1e-3)

    def test_cross_entropy_of_first_svm_row(self, backend_name, dtype_):
        require_backend(backend_name)
        ce = kernels.softmax_cross_entropy(np.array([SVM_SCORES[0]], dtype=dtype_), [0], backend=backend_name)[0]
        assert ce == pytest.approx(2.0404, abs=1e-4)
        assert ce / np.log(10) == pytest.approx(0.886, abs=1e-3)

    def test_softmax_values(self, backend_name, dtype_):
        require_backend(backend_name)
        prob = kernels.softmax(np.array([[3.0, 1.0, -3.0]], dtype=dtype_), backend=backend_name)
        assert_allclose(prob, [[0.8789, 0.1189, 0.0022]], atol=1e-4)

    def test_large_logits_are_finite(self, backend_name, dtype_):
        require_backend(backend_name)
        logits = np.array([[123.0, 456.0, 789.0]], dtype=dtype_)
        loss, grad = kernels.softmax_cross_entropy(logits, [0], backend=backend_name)
        assert loss == 666.0
        assert np.all(np.isfinite(grad))
        prob = kernels.softmax(logits, backend=backend_name)
        assert np.all(np.isfinite(prob))
        assert prob.sum() == pytest.approx(1.0, rel=1e-6)

    def test_four_sample_mean(self, backend_name, dtype_):
        require_backend(backend_name)
        logits = np.array([[0.5953, 0.9872, 0.7510], [0.9447, 0.0602, 0.7399],
                           [0.2185, 0.6771, 0.0168], [0.7719, 0.8075, 0.7505]], dtype=dtype_)
        loss, _ = kernels.softmax_cross_entropy(logits, [1, 0, 2, 1], backend=backend_name)
        assert loss == pytest.approx(1.0491, abs=1e-4)

    def test_tiny_weights_give_c_minus_1_and_log_c(self, backend_name, dtype_):
        require_backend(backend_name)
        rng = np.random.default_rng(0)
        n_classes = 10
        scores = (1e-4 * rng.standard_normal((50, n_classes))).astype(dtype_)
        y = rng.integers(0, n_classes, 50)
        assert kernels.multiclass_hinge(scores, y, backend=backend_name)[0] == pytest.approx(n_classes - 1, abs=1e-2)
        ce = kernels.softmax_cross_entropy(scores, y, backend=backend_name)[0]
        assert ce == pytest.approx(np.log(n_classes), abs=1e-3)


# ------------------------------------------------------------- edge cases

@pytest.mark.parametrize("backend_name", ALL_BACKENDS)
def test_nan_propagates_to_the_loss(backend_name, dtype):
    require_backend(backend_name)
    scores, y, _ = make_problem((4, 5), dtype)
    scores[2, 3] = np.nan
    for function in (kernels.multiclass_hinge, kernels.softmax_cross_entropy):
        losses, grad = function(scores, y, reduction="none", backend=backend_name)
        assert np.isnan(losses[2]) and np.all(np.isfinite(np.delete(losses, 2)))
        assert np.isnan(function(scores, y, backend=backend_name)[0])
        assert np.isnan(grad[2]).any()
    assert np.isnan(kernels.softmax(scores, backend=backend_name)[2]).all()


@pytest.mark.parametrize("backend_name", ALL_BACKENDS)
def test_huge_float32_logits_stay_finite(backend_name):
    require_backend(backend_name)
    logits = np.array([[1e30, -1e30, 0.0], [-1e30, -1e30, 1e30], [1e30, 1e30, 1e30]], dtype=np.float32)
    y = [1, 2, 0]
    losses, grad = kernels.softmax_cross_entropy(logits, y, reduction="none", backend=backend_name)
    assert losses.dtype == np.float32
    assert_allclose(losses, [2e30, 0.0, np.log(3)], rtol=1e-6)
    assert np.all(np.isfinite(grad))
    assert np.all(np.isfinite(kernels.log_softmax(logits, backend=backend_name)))
    prob = kernels.softmax(logits, backend=backend_name)
    assert_allclose(prob.sum(axis=1), 1.0, rtol=1e-6)
    hinge, hinge_grad = kernels.multiclass_hinge(logits, y, reduction="none", backend=backend_name)
    assert np.all(np.isfinite(hinge)) and np.all(np.isfinite(hinge_grad))


@pytest.mark.parametrize("backend_name", ALL_BACKENDS)
def test_minus_infinity_logit_gets_zero_probability(backend_name):
    require_backend(backend_name)
    logits = np.array([[0.0, -np.inf, 1.0]])
    prob = kernels.softmax(logits, backend=backend_name)
    assert prob[0, 1] == 0.0
    loss, grad = kernels.softmax_cross_entropy(logits, [2], backend=backend_name)
    assert np.isfinite(loss) and grad[0, 1] == 0.0


@pytest.mark.parametrize("backend_name", ALL_BACKENDS)
def test_empty_batch(backend_name, dtype):
    require_backend(backend_name)
    scores = np.empty((0, 4), dtype=dtype)
    y = np.empty(0, dtype=np.int64)
    for function in (kernels.multiclass_hinge, kernels.softmax_cross_entropy):
        mean, grad = function(scores, y, backend=backend_name)
        assert np.isnan(mean) and grad.shape == (0, 4)  # 0/0, as PyTorch's mean of nothing
        assert function(scores, y, reduction="sum", backend=backend_name)[0] == 0.0
        assert function(scores, y, reduction="none", backend=backend_name)[0].shape == (0,)


@pytest.mark.parametrize("backend_name", ALL_BACKENDS)
def test_one_class(backend_name):
    require_backend(backend_name)
    scores = np.array([[2.0], [-1.0]])
    loss, grad = kernels.multiclass_hinge(scores, [0, 0], backend=backend_name)
    assert loss == 0.0 and np.all(grad == 0)
    loss, grad = kernels.softmax_cross_entropy(scores, [0, 0], backend=backend_name)
    assert loss == 0.0 and np.all(grad == 0)


@pytest.mark.parametrize("n_classes", [2, 10, 40], ids=lambda c: f"C{c}")
@pytest.mark.parametrize("backend_name", ALL_BACKENDS)
def test_hinge_correct_class_adds_nothing(backend_name, dtype, n_classes):
    """The correct class is left out, not added and taken back out: s_y + (margin - s_y) is not
    the margin when |s_y| is large (float32: 1e8 + (1 - 1e8) == 0), nor a number when s_y is inf."""
    require_backend(backend_name)
    scores = np.zeros((3, n_classes), dtype=dtype)
    scores[0, 0] = 1e8 if dtype == np.float32 else 1e17
    scores[1, 0] = np.inf
    scores[2, 0] = 1e8 if dtype == np.float32 else 1e17
    scores[2, 1] = scores[2, 0] - 0.5 * scores[2, 0]  # far below the margin
    with np.errstate(invalid="ignore"):  # the numpy backend computes inf - inf, then masks it
        losses, grad = kernels.multiclass_hinge(scores, [0, 0, 0], reduction="none", backend=backend_name)
    assert_array_equal(losses, 0.0)
    assert_array_equal(grad, 0.0)


@pytest.mark.parametrize("n_classes", [3, 10, 40], ids=lambda c: f"C{c}")
@pytest.mark.parametrize("backend_name", ALL_BACKENDS)
def test_hinge_infinite_wrong_class_score(backend_name, dtype, n_classes):
    """z = +inf: infinite loss, slope 1 (as the naive loop has it), not inf * 0 or inf - inf = NaN."""
    require_backend(backend_name)
    scores = np.full((2, n_classes), -5.0, dtype=dtype)
    scores[:, 0] = 0.0  # the correct class: the other classes meet the margin
    scores[0, 1] = np.inf
    scores[1, 2] = np.inf
    scores[1, 1] = np.nan
    losses, grad = kernels.multiclass_hinge(scores, [0, 0], reduction="none", backend=backend_name)
    assert losses[0] == np.inf and np.isnan(losses[1])
    assert grad[0, 1] == 1 and grad[0, 0] == -1 and np.all(grad[0, 2:] == 0)
    assert np.isnan(grad[1, 1]) and grad[1, 2] == 1 and np.isnan(grad[1, 0])


@pytest.mark.parametrize("layout", ["fortran", "strided", "readonly"])
@pytest.mark.parametrize("backend_name", ALL_BACKENDS)
def test_any_memory_layout_gives_the_same_answer(backend_name, layout):
    require_backend(backend_name)
    scores, y, _ = make_problem((6, 5), np.float64)
    if layout == "fortran":
        view = np.asfortranarray(scores)
    elif layout == "strided":
        wide = np.zeros((12, 10))
        wide[::2, ::2] = scores
        view = wide[::2, ::2]
    else:
        view = scores.copy()
        view.flags.writeable = False
    labels = y.copy()
    labels.flags.writeable = False
    for function in (kernels.multiclass_hinge, kernels.softmax_cross_entropy):
        expected = function(scores, y, backend=backend_name)
        got = function(view, labels, backend=backend_name)
        assert_allclose(got[0], expected[0], rtol=1e-14)
        assert_allclose(got[1], expected[1], rtol=1e-14)


@pytest.mark.parametrize("shape", [(3000, 37), (4000, 7), (300, 500)], ids=["C37", "C7", "C500"])
@pytest.mark.parametrize("function", ["multiclass_hinge", "softmax_cross_entropy"])
def test_thread_count_does_not_change_results(backend, function, shape):
    """Bit-identical for 1 and 2 threads; repeated, since a data race shows up only sometimes."""
    scores, y, _ = make_problem(shape, np.float32)
    one = getattr(kernels, function)(scores, y, backend=backend, n_threads=1, reduction="none")
    for _ in range(5):
        two = getattr(kernels, function)(scores, y, backend=backend, n_threads=2, reduction="none")
        assert_array_equal(one[0], two[0])
        assert_array_equal(one[1], two[1])


def test_out_receives_the_gradient(backend):
    scores, y, _ = make_problem((8, 4), np.float32)
    out = np.empty_like(scores)
    loss, grad = kernels.softmax_cross_entropy(scores, y, backend=backend, out=out)
    assert grad is out
    prob = np.empty_like(scores)
    assert kernels.softmax(scores, backend=backend, out=prob) is prob


def test_list_inputs_and_integer_scores_become_float64():
    loss, grad = kernels.multiclass_hinge([[1, 2], [3, 4]], [0, 1])
    assert grad.dtype == np.float64 and loss == pytest.approx(1.0)


def test_cross_entropy_matches_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is optional; it is only used to cross-check semantics")
    import torch.nn.functional as F

    scores, y, rng = make_problem((40, 6), np.float64, seed=7)
    y[::5] = -100
    weight = rng.uniform(0.2, 2.0, 6)
    for options in [dict(), dict(label_smoothing=0.15), dict(weight=weight, label_smoothing=0.3)]:
        for reduction in ("mean", "sum", "none"):
            logits = torch.tensor(scores, requires_grad=True)
            t_options = {k: (torch.tensor(v) if k == "weight" else v) for k, v in options.items()}
            expected = F.cross_entropy(logits, torch.tensor(y), reduction=reduction, ignore_index=-100, **t_options)
            expected.sum().backward()
            ours = kernels.softmax_cross_entropy(
                scores, y, class_weight=options.get("weight"), label_smoothing=options.get("label_smoothing", 0.0),
                ignore_index=-100, reduction=reduction)
            assert_allclose(ours[0], expected.detach().numpy(), rtol=1e-10)
            assert_allclose(ours[1], logits.grad.numpy(), rtol=1e-10, atol=1e-14)
    soft = rng.dirichlet(np.ones(6), size=40)
    logits = torch.tensor(scores, requires_grad=True)
    expected = F.cross_entropy(logits, torch.tensor(soft), weight=torch.tensor(weight), label_smoothing=0.1)
    expected.backward()
    ours = kernels.softmax_cross_entropy(scores, soft, class_weight=weight, label_smoothing=0.1)
    assert_allclose(ours[0], expected.item(), rtol=1e-10)
    assert_allclose(ours[1], logits.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_hinge_matches_torch_multi_margin_times_c():
    torch = pytest.importorskip("torch", reason="PyTorch is optional; it is only used to cross-check semantics")
    import torch.nn.functional as F

    scores, y, _ = make_problem((30, 7), np.float64, seed=8)
    for p, squared in [(1, False), (2, True)]:
        logits = torch.tensor(scores, requires_grad=True)
        expected = F.multi_margin_loss(logits, torch.tensor(y), p=p, margin=1.0, reduction="sum") * 7
        expected.backward()
        ours = kernels.multiclass_hinge(scores, y, squared=squared, reduction="sum")
        assert_allclose(ours[0], expected.item(), rtol=1e-10)
        assert_allclose(ours[1], logits.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("backend_name", ALL_BACKENDS)
def test_minus_infinity_logit_of_a_zero_target_adds_nothing(backend_name):
    """Soft targets and zero class weights: 0 * log(0) counts as 0, not NaN."""
    require_backend(backend_name)
    logits = np.array([[0.0, -np.inf, 1.0]])
    loss, _ = kernels.softmax_cross_entropy(logits, np.array([[0.5, 0.0, 0.5]]), backend=backend_name)
    assert np.isfinite(loss)
    loss, _ = kernels.softmax_cross_entropy(logits, [2], class_weight=[1.0, 0.0, 1.0], label_smoothing=0.1,
                                            backend=backend_name)
    assert np.isfinite(loss)


@pytest.mark.parametrize("function", ["multiclass_hinge", "softmax_cross_entropy"])
@pytest.mark.parametrize("shape", [(3, 4), (3, 100)], ids=["short-rows", "long-rows"])
def test_rows_of_weight_zero_overwrite_garbage_in_out(backend, function, shape):
    """out= may hold anything, NaN included: a row of weight 0 must still come out as zeros."""
    scores, y, _ = make_problem(shape, np.float32)
    out = np.full(shape, np.nan, dtype=np.float32)
    _, grad = getattr(kernels, function)(scores, y, sample_weight=[0.0, 1.0, 0.0], backend=backend, out=out)
    assert np.all(grad[[0, 2]] == 0)
    assert np.all(np.isfinite(grad))
