"""Bad input to the loss kernels: a clear exception naming the argument, never a crash."""
import re

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastlc import kernels

SCORES = np.zeros((4, 3))
LABELS = np.array([0, 1, 2, 1])
FUNCTIONS = [kernels.multiclass_hinge, kernels.softmax_cross_entropy]
IDS = ["hinge", "cross_entropy"]


@pytest.mark.parametrize("function", FUNCTIONS, ids=IDS)
class TestCommonValidation:
    def test_scores_must_be_2d(self, function):
        with pytest.raises(ValueError, match=r"must be a 2-D array; got 1-D"):
            function(np.zeros(3), [0])
        with pytest.raises(ValueError, match=r"must be a 2-D array; got 3-D"):
            function(np.zeros((2, 3, 4)), [0, 1])

    def test_scores_need_a_class(self, function):
        with pytest.raises(ValueError, match=r"at least one class"):
            function(np.zeros((2, 0)), [0, 0])

    def test_sample_count_mismatch(self, function):
        with pytest.raises(ValueError, match=r"y has 3 labels but the scores have 4 rows"):
            function(SCORES, [0, 1, 2])

    def test_label_out_of_range_reports_index_and_value(self, function):
        with pytest.raises(ValueError, match=r"y\[2\] = 3 is not a class index in \[0, 3\)"):
            function(SCORES, [0, 1, 3, 7])
        with pytest.raises(ValueError, match=r"y\[0\] = -1 is not a class index"):
            function(SCORES, [-1, 0, 0, 0])

    @pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8, np.uint64])
    def test_label_out_of_range_in_any_integer_dtype(self, function, dtype):
        info = np.iinfo(dtype)
        for bad in (3, info.max) + ((-1, info.min) if info.min < 0 else ()):
            labels = np.array([0, 1, 2, bad], dtype=dtype)
            with pytest.raises(ValueError, match=rf"y\[3\] = {bad} is not a class index in \[0, 3\)"):
                function(SCORES, labels)
        # the largest uint64 values wrap around to negative numbers as intp
        if dtype == np.uint64:
            labels = np.array([0, 2**63, 2, 1], dtype=dtype)
            with pytest.raises(ValueError, match=rf"y\[1\] = {2**63} is not a class index"):
                function(SCORES, labels)

    def test_labels_must_be_integers(self, function):
        with pytest.raises(TypeError, match=r"y must hold integer class indices; got dtype float64"):
            function(SCORES, np.array([0.0, 1.0, 2.0, 1.0]))
        with pytest.raises(TypeError, match=r"y must hold integer class indices"):
            function(SCORES, np.array(["a", "b", "c", "d"]))

    def test_labels_must_be_1d(self, function):
        with pytest.raises(ValueError, match=r"y must be a 1-D array"):
            function(SCORES, np.zeros((4, 1), dtype=int))

    def test_scores_must_be_float(self, function):
        for bad in (np.zeros((4, 3), dtype=np.complex128), np.zeros((4, 3), dtype=np.float16),
                    np.array([["a"] * 3] * 4)):
            with pytest.raises(TypeError, match=r"must have dtype float32 or float64; got dtype"):
                function(bad, LABELS)

    def test_bad_reduction(self, function):
        with pytest.raises(ValueError, match=r"reduction='avg' is not valid; choose one of 'mean', 'sum', 'none'"):
            function(SCORES, LABELS, reduction="avg")

    def test_unknown_backend_lists_the_valid_ones(self, function):
        with pytest.raises(ValueError, match=r"backend='cuda' is not valid; choose one of 'naive', 'numpy'"):
            function(SCORES, LABELS, backend="cuda")

    def test_bad_n_threads(self, function):
        with pytest.raises(ValueError, match=r"n_threads must be a positive int or None; got 0"):
            function(SCORES, LABELS, n_threads=0)
        with pytest.raises(TypeError, match=r"n_threads must be a positive int or None; got 1.5"):
            function(SCORES, LABELS, n_threads=1.5)

    def test_bad_sample_weight(self, function):
        with pytest.raises(ValueError, match=r"sample_weight must have shape \(4,\)"):
            function(SCORES, LABELS, sample_weight=[1, 2])
        with pytest.raises(ValueError, match=r"sample_weight\[1\] = -1.0 is not a finite non-negative weight"):
            function(SCORES, LABELS, sample_weight=[1, -1, 1, 1])
        with pytest.raises(ValueError, match=r"sample_weight\[3\] = nan"):
            function(SCORES, LABELS, sample_weight=[1, 1, 1, np.nan])

    def test_bad_out(self, function):
        with pytest.raises(ValueError, match=r"out must have shape \(4, 3\)"):
            function(SCORES, LABELS, out=np.empty((3, 3)))
        with pytest.raises(TypeError, match=r"out must have dtype float64"):
            function(SCORES, LABELS, out=np.empty((4, 3), dtype=np.float32))
        with pytest.raises(ValueError, match=r"out must be C-contiguous"):
            function(SCORES, LABELS, out=np.empty((4, 6))[:, ::2])
        readonly = np.empty((4, 3))
        readonly.flags.writeable = False
        with pytest.raises(ValueError, match=r"out must be writeable"):
            function(SCORES, LABELS, out=readonly)
        scores = SCORES.copy()
        with pytest.raises(ValueError, match=r"out must not share memory with the inputs"):
            function(scores, LABELS, out=scores)


def test_negative_margin():
    with pytest.raises(ValueError, match=r"margin must be >= 0.0; got -1.0"):
        kernels.multiclass_hinge(SCORES, LABELS, margin=-1.0)
    with pytest.raises(ValueError, match=r"margin must be a finite number"):
        kernels.multiclass_hinge(SCORES, LABELS, margin=float("nan"))
    with pytest.raises(TypeError, match=r"margin must be a real number"):
        kernels.multiclass_hinge(SCORES, LABELS, margin="1")


def test_cross_entropy_options():
    with pytest.raises(ValueError, match=r"label_smoothing must be <= 1.0; got 1.5"):
        kernels.softmax_cross_entropy(SCORES, LABELS, label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"class_weight must have shape \(3,\), one weight per class"):
        kernels.softmax_cross_entropy(SCORES, LABELS, class_weight=[1, 2])
    with pytest.raises(ValueError, match=r"ignore_index=0 applies to class-index targets only"):
        kernels.softmax_cross_entropy(SCORES, np.full((4, 3), 1 / 3), ignore_index=0)
    with pytest.raises(ValueError, match=r"y holds target probabilities of shape \(4, 2\)"):
        kernels.softmax_cross_entropy(SCORES, np.full((4, 2), 0.5))
    with pytest.raises(TypeError, match=r"y must have dtype float64 like the other inputs"):
        kernels.softmax_cross_entropy(SCORES, np.full((4, 3), 1 / 3, dtype=np.float32))
    with pytest.raises(TypeError, match=r"ignore_index must be an int or None"):
        kernels.softmax_cross_entropy(SCORES, LABELS, ignore_index=1.0)
    with pytest.raises(ValueError, match=r"nor ignore_index=-100"):
        kernels.softmax_cross_entropy(SCORES, [0, -100, 5, 1], ignore_index=-100)


def test_ignored_labels_may_lie_outside_the_classes():
    loss, grad = kernels.softmax_cross_entropy(SCORES, [0, -100, 2, -100], ignore_index=-100)
    assert loss == pytest.approx(np.log(3))
    assert np.all(grad[[1, 3]] == 0)


def test_ignore_index_defaults_to_minus_100_as_pytorch():
    assert kernels.softmax_cross_entropy(SCORES, [0, -100, 2, -100])[0] == pytest.approx(np.log(3))
    with pytest.raises(ValueError, match=r"y\[1\] = -100 is not a class index"):
        kernels.softmax_cross_entropy(SCORES, [0, -100, 2, -100], ignore_index=None)
    # target probabilities take the default without complaint
    kernels.softmax_cross_entropy(SCORES, np.full((4, 3), 1 / 3))


@pytest.mark.parametrize("function", [kernels.softmax, kernels.log_softmax], ids=["softmax", "log_softmax"])
def test_softmax_validation(function):
    with pytest.raises(ValueError, match=r"logits must be a 2-D array"):
        function(np.zeros(3))
    with pytest.raises(TypeError, match=r"logits must have dtype float32 or float64"):
        function(np.zeros((2, 2), dtype=np.complex64))


def test_available_backends():
    backends = kernels.available_backends()
    assert backends[:2] == ("naive", "numpy")
    assert set(backends) <= {"naive", "numpy", "numba", "cython"}



def test_margin_must_fit_in_the_scores_dtype():
    # 1e300 is inf in float32 (an inf loss with only a RuntimeWarning), 1e-50 is 0
    scores = SCORES.astype(np.float32)
    for margin in (1e300, 1e-50):
        with pytest.raises(ValueError, match=re.escape(f"margin={margin!r} does not fit in float32")):
            kernels.multiclass_hinge(scores, LABELS, margin=margin)
    assert kernels.multiclass_hinge(scores, LABELS, margin=0.0)[0] == 0
    loss, grad = kernels.multiclass_hinge(SCORES, LABELS, margin=1e300)  # float64 holds it
    assert loss == 2e300 and np.isfinite(grad).all()


# --------------------------------------------------------------------------- one rule for parameter arrays

X32 = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
T32 = (X32 > 0).astype(np.float32)


def _bce_logits(**weights):
    return kernels.binary_cross_entropy_with_logits(X32, T32, backend="numpy", **weights)


@pytest.mark.parametrize("name", ["weight", "pos_weight"])
def test_bce_weights_as_int_array_list_or_scalar_are_cast(name):
    # an int ndarray was a TypeError where the same values as a list or a NumPy int scalar were taken
    expected = _bce_logits(**{name: np.float32([1, 2, 3])})
    for value in (np.array([1, 2, 3]), np.array([1, 2, 3], np.uint8), [1, 2, 3], [1.0, 2.0, 3.0],
                  np.array([1.0, 2.0, 3.0])):
        loss, grad = _bce_logits(**{name: value})
        assert loss == expected[0] and loss.dtype == np.float32
        assert_array_equal(grad, expected[1])
    expected = _bce_logits(**{name: np.float32(2)})
    for value in (2, np.int64(2), 2.0, np.array(2)):
        assert _bce_logits(**{name: value})[0] == expected[0]


@pytest.mark.parametrize("value", [True, np.bool_(True), [True, False, True], np.array([True, False, True])],
                         ids=["bool", "np.bool_", "list", "array"])
def test_bools_are_not_numbers(value):
    # True is 1 to NumPy: weight=True, pos_weight=np.bool_(True), class_weight=np.array([True, False]) and a
    # list of bools as a target were taken where a bool array target was refused
    for call, name in [(lambda v: _bce_logits(weight=v), "weight"), (lambda v: _bce_logits(pos_weight=v), "pos_weight"),
                       (lambda v: kernels.binary_cross_entropy(np.full((2, 3), 0.5), np.ones((2, 3)), weight=v),
                        "weight"),
                       (lambda v: kernels.nll_loss(np.zeros((2, 3)), [0, 1], class_weight=v), "class_weight"),
                       (lambda v: kernels.softmax_cross_entropy(np.zeros((3, 3)), [0, 1, 2], class_weight=v),
                        "class_weight"),
                       (lambda v: kernels.multiclass_hinge(np.zeros((3, 3)), [0, 1, 2], sample_weight=v),
                        "sample_weight")]:
        with pytest.raises(TypeError, match=rf"{name} must hold numbers, not bools"):
            call(value)
    if np.ndim(value):
        target = [value, value] if isinstance(value, list) else np.stack([value, value])
        for function in (kernels.binary_cross_entropy_with_logits, kernels.mse_loss):
            with pytest.raises(TypeError, match=r"target must hold numbers, not bools"):
                function(np.zeros((2, 3)), target)
        with pytest.raises(TypeError, match=r"input must hold numbers, not bools"):
            kernels.mse_loss(target, np.zeros((2, 3)))


def test_nll_class_weight_int_array_is_cast():
    log_prob = kernels.log_softmax(np.random.default_rng(2).standard_normal((4, 3)).astype(np.float32))
    expected = kernels.nll_loss(log_prob, LABELS, class_weight=np.float32([1, 2, 3]))
    for value in (np.array([1, 2, 3]), [1, 2, 3], np.array([1.0, 2.0, 3.0])):
        loss, grad = kernels.nll_loss(log_prob, LABELS, class_weight=value)
        assert loss == expected[0] and loss.dtype == np.float32
        assert_array_equal(grad, expected[1])


def test_parameter_arrays_must_fit_and_hold_real_numbers():
    # a finite float64 weight beyond float32's range would be an inf weight: refused, naming the argument
    with pytest.raises(ValueError, match=re.escape("pos_weight[2]=1e+300 does not fit in float32")):
        _bce_logits(pos_weight=np.array([1, 2, 1e300]))
    with pytest.raises(ValueError, match=re.escape("weight=1e+300 does not fit in float32")):
        _bce_logits(weight=1e300)
    with pytest.raises(ValueError, match=re.escape("class_weight[0]=-1e+300 does not fit in float32")):
        kernels.nll_loss(np.zeros((2, 3), np.float32), [0, 1], class_weight=[-1e300, 1, 1])
    assert _bce_logits(weight=np.inf)[0] == np.inf  # already inf: taken as it is
    for bad in ("2", ["a", "b", "c"], np.ones(3, complex), object()):
        with pytest.raises(TypeError, match="weight must"):
            _bce_logits(weight=bad)


def test_a_long_double_beyond_float64_is_refused_not_inf():
    # float(np.longdouble('1e4000')) is inf, which check_fits let through: the float32 loss was inf
    with pytest.raises(ValueError, match=re.escape("weight=1e+4000 does not fit in float32")):
        _bce_logits(weight=np.longdouble("1e4000"))
    with pytest.raises(ValueError, match=re.escape("pos_weight[1]=-1e+4000 does not fit in float64")):
        kernels.binary_cross_entropy_with_logits(X32.astype(np.float64), T32.astype(np.float64),
                                                 pos_weight=np.array([1, "-1e4000", 1], np.longdouble))


def test_python_ints_beyond_int64_are_taken_where_they_fit():
    # NumPy holds 10**39 as an object array: it was "must hold real numbers; got dtype object"
    x64, t64 = X32.astype(np.float64), T32.astype(np.float64)
    for big in (10**39, 2**64, 3**200):
        for value, as_float in ((big, float(big)), ([1, big, 2], [1.0, float(big), 2.0])):
            expected = kernels.binary_cross_entropy_with_logits(x64, t64, weight=as_float, backend="numpy")
            loss, grad = kernels.binary_cross_entropy_with_logits(x64, t64, weight=value, backend="numpy")
            assert loss == expected[0]
            assert_array_equal(grad, expected[1])
    with pytest.raises(ValueError, match=re.escape("weight=1e+39 does not fit in float32")):
        _bce_logits(weight=10**39)
    with pytest.raises(ValueError, match=re.escape("class_weight[1]=-1.0000e+400 does not fit in float64")):
        kernels.nll_loss(np.zeros((2, 3)), [0, 1], class_weight=[1, -10**400, 1])
    with pytest.raises(TypeError, match="weight must hold real numbers"):
        _bce_logits(weight=[1, "a", 10**39])


@pytest.mark.parametrize("value", [[True, 1.0, 2], (1, np.bool_(False), 2.5), [[1.0], [True]]],
                         ids=["list", "tuple", "nested"])
def test_a_bool_among_numbers_is_not_a_number(value):
    # np.asarray([True, 1.0, 2]) is float64: the bool was taken as 1 where a list of bools is refused
    with pytest.raises(TypeError, match="class_weight must hold numbers, not bools"):
        kernels.nll_loss(np.zeros((2, len(value))), [0, 1], class_weight=value)
    with pytest.raises(TypeError, match="pos_weight must hold numbers, not bools"):
        kernels.binary_cross_entropy_with_logits(np.zeros((2, len(value))), np.ones((2, len(value))),
                                                 pos_weight=value)
