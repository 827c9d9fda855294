"""scipy.sparse input for the linear classifiers (fastlc.linear_model._sparse, kernels/numba/_sparse_linear.py).

The reference is the dense path on ``X.toarray()``: the same row functions and,
with ``sparse_update="dense"`` (or plain SGD, whose lazy step is exact by the
scaled-weights trick), the same update rule, so the same model to rounding.
"""
import numpy as np
import pytest
import scipy.sparse as sp

from fastlc import LinearRegressor, LinearSVMClassifier, SoftmaxClassifier
from fastlc._shuffle import permutation
from fastlc.kernels import available_backends

ESTIMATORS = [SoftmaxClassifier, LinearSVMClassifier]
IDS = ["softmax", "svm"]


def make_data(n_samples=120, n_features=30, n_classes=3, density=0.15, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n_samples, n_features, density=density, format="csr", random_state=seed, dtype=np.float64)
    y = rng.integers(0, n_classes, n_samples)
    X = X + sp.csr_matrix((np.eye(n_classes)[y] @ rng.normal(size=(n_classes, n_features))) * (X.toarray() != 0))
    return X.tocsr().astype(dtype), y


def require_backend(backend):
    """Skip when ``backend`` is not built here (the Cython kernels need a C compiler at install time)."""
    if backend not in available_backends():
        pytest.skip(f"backend {backend!r} is not available in this installation")


def fit_params(**extra):
    return {**dict(max_epochs=4, tol=None, random_state=0, batch_size=16, learning_rate=0.05), **extra}


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
@pytest.mark.parametrize("optimizer, update", [("sgd", "lazy"), ("adam", "dense"), ("momentum", "dense")])
@pytest.mark.parametrize("penalty", ["l2", "elasticnet"])
def test_sparse_matches_dense_where_the_update_is_the_same(Estimator, optimizer, update, penalty):
    if penalty == "elasticnet" and update == "lazy":
        penalty = None  # lazy steps apply L1 on the batch's rows only (documented): no dense twin
    X, y = make_data()
    params = fit_params(optimizer=optimizer, penalty=penalty, alpha=1e-3, l1_ratio=0.5)
    dense = Estimator(**params).fit(X.toarray(), y)
    sparse = Estimator(sparse_update=update, **params).fit(X, y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(sparse.decision_function(X), dense.decision_function(X.toarray()), rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("backend", ["numba", "cython"])
def test_lazy_adagrad_without_penalty_is_the_dense_step(Estimator, dtype, backend):
    # an absent feature's Adagrad step is exactly nothing (zero gradient: sum of squares and weight unchanged),
    # so without a penalty the in-place lazy step on the touched rows trains the dense model
    require_backend(backend)
    X, y = make_data(dtype=dtype)
    params = fit_params(optimizer="adagrad", penalty=None, learning_rate=0.5)
    dense = Estimator(**params).fit(X.toarray(), y)
    sparse = Estimator(sparse_update="lazy", backend=backend, **params).fit(X, y)
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(sparse._optimizer_state.buffers["sum_sq"], dense._optimizer_state.buffers["sum_sq"],
                               rtol=rtol, atol=rtol * 1e-2)


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_lazy_adaptive_step_leaves_absent_features_alone(Estimator):
    # features 0..4 never occur: the lazy step never touches their rows (weights stay exactly 0),
    # while the features that occur learn
    X, y = make_data()
    X = X.tolil()
    X[:, :5] = 0
    X = X.tocsr()
    X.eliminate_zeros()
    model = Estimator(optimizer="adam", sparse_update="lazy", **fit_params()).fit(X, y)
    assert np.all(model.coef_[:, :5] == 0)
    assert np.abs(model.coef_[:, 5:]).max() > 0
    assert model.score(X, y) > 0.5


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
@pytest.mark.parametrize("fmt, index_dtype, dtype", [
    ("csr", np.int32, np.float64), ("csc", np.int64, np.float32), ("coo", np.int32, np.float32),
    ("csr", np.int64, np.float32), ("coo", np.int64, np.float64),
])
def test_formats_index_and_float_dtypes(Estimator, fmt, index_dtype, dtype):
    X, y = make_data(dtype=dtype)
    X = X.asformat(fmt)
    if fmt == "coo":
        X.row, X.col = X.row.astype(index_dtype), X.col.astype(index_dtype)
    else:
        X.indices, X.indptr = X.indices.astype(index_dtype), X.indptr.astype(index_dtype)
    params = fit_params(optimizer="sgd")
    model = Estimator(**params).fit(X, y)
    assert model.coef_.dtype == dtype
    reference = Estimator(**params).fit(X.toarray(), y)
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=rtol, atol=rtol * 1e-2)
    for method in ("predict", "decision_function", "score") + (("predict_proba",) if Estimator is SoftmaxClassifier
                                                                 else ()):
        args = (X, y) if method == "score" else (X,)
        np.testing.assert_allclose(getattr(model, method)(*args), getattr(model, method)(X.toarray(), *args[1:]),
                                   rtol=rtol)
    partial = Estimator(**params).partial_fit(X, y, classes=np.unique(y))
    assert partial.coef_.dtype == dtype


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_empty_rows_explicit_zeros_and_a_full_row(Estimator):
    X, y = make_data()
    X = X.tolil()
    X[3, :] = 0          # an empty row: its scores are the intercepts
    X[5, :] = 1.0        # a row with every feature
    X = X.tocsr()
    X.eliminate_zeros()
    # explicit zeros stored in the structure change nothing (two added to rows 7 and 8 where X has none)
    rows, cols = X.nonzero()
    free = [c for c in range(X.shape[1]) if X[7, c] == 0 and X[8, c] == 0]
    extra_rows, extra_cols = np.array([7, 8]), np.array(free[:2])
    with_zeros = sp.csr_matrix((np.r_[X.data, 0.0, 0.0], (np.r_[rows, extra_rows], np.r_[cols, extra_cols])),
                               shape=X.shape)
    assert with_zeros.nnz == X.nnz + 2
    params = fit_params(optimizer="adam")
    dense = Estimator(**params).fit(X.toarray(), y)
    for matrix in (X, with_zeros):
        model = Estimator(sparse_update="dense", **params).fit(matrix, y)
        np.testing.assert_allclose(model.coef_, dense.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.decision_function(X[3]), dense.decision_function(X[3].toarray()), rtol=1e-10)


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
@pytest.mark.parametrize("method", ["fit", "partial_fit", "predict"])
def test_nan_in_sparse_data_is_a_value_error(Estimator, method):
    X, y = make_data()
    model = Estimator(**fit_params()).fit(X, y)
    X = X.copy()
    X.data[7] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        if method == "predict":
            model.predict(X)
        elif method == "fit":
            Estimator(**fit_params()).fit(X, y)
        else:
            Estimator(**fit_params()).partial_fit(X, y, classes=np.unique(y))


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
@pytest.mark.parametrize("optimizer, update", [("sgd", "lazy"), ("adam", "lazy"), ("adagrad", "lazy"),
                                               ("adam", "dense")])
@pytest.mark.parametrize("backend", ["numba", "cython"])
def test_thread_count_does_not_change_the_model(Estimator, optimizer, update, backend, monkeypatch):
    from fastlc.linear_model import _base

    require_backend(backend)
    # force the parallel kernel even for these small batches
    monkeypatch.setattr(_base, "SPARSE_PARALLEL_BATCH_WORK", 0)
    X, y = make_data(n_samples=400)
    params = fit_params(optimizer=optimizer, batch_size=200, sparse_update=update, backend=backend)
    one = Estimator(n_threads=1, **params).fit(X, y)
    two = Estimator(n_threads=2, **params).fit(X, y)
    np.testing.assert_array_equal(one.coef_, two.coef_)
    np.testing.assert_array_equal(one.intercept_, two.intercept_)


def test_sparse_update_is_validated():
    X, y = make_data()
    with pytest.raises(ValueError, match="sparse_update"):
        SoftmaxClassifier(sparse_update="sometimes").fit(X, y)


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_early_stopping_and_warm_start_on_sparse_input(Estimator):
    X, y = make_data(n_samples=200)
    model = Estimator(early_stopping=True, **fit_params()).fit(X, y)
    assert len(model.validation_scores_) == model.n_iter_
    model.set_params(warm_start=True, max_epochs=2).fit(X, y)
    assert model.score(X, y) > 0.5


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
@pytest.mark.parametrize("optimizer, update", [("sgd", "lazy"), ("adam", "lazy"), ("adagrad", "lazy"),
                                               ("adam", "dense")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("backend", ["numba", "cython"])
def test_compiled_kernel_matches_the_scipy_reference(Estimator, optimizer, update, dtype, backend):
    # backend="numpy": fastlc/_numpy/_sparse_linear.py, SciPy products and the NumPy loss kernels
    require_backend(backend)
    X, y = make_data(dtype=dtype)
    params = fit_params(optimizer=optimizer, sparse_update=update, alpha=1e-3)
    reference = Estimator(backend="numpy", **params).fit(X, y)
    model = Estimator(backend=backend, **params).fit(X, y)
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(model.loss_curve_, reference.loss_curve_, rtol=rtol)


# ---------------------------------------------------------------------------- LinearRegressor


def make_regression_data(n_targets=1, dtype=np.float64, seed=0, **kwargs):
    """Sparse X (as make_data) and targets X @ w + b + noise, 1-D for one target."""
    X, _ = make_data(dtype=dtype, seed=seed, **kwargs)
    rng = np.random.default_rng(seed + 1)
    w = rng.normal(size=(X.shape[1], n_targets))
    y = X @ w + 0.5 + 0.1 * rng.normal(size=(X.shape[0], n_targets))
    return X, (y[:, 0] if n_targets == 1 else y).astype(dtype)


def regressor_params(**extra):
    return fit_params(**{"learning_rate": 0.3, **extra})


@pytest.mark.parametrize("loss", ["squared_error", "huber", "epsilon_insensitive"])
@pytest.mark.parametrize("optimizer, update, n_targets", [("sgd", "lazy", 1), ("adam", "dense", 2),
                                                          ("adagrad", "lazy", 1)])
def test_regressor_sparse_matches_dense_where_the_update_is_the_same(loss, optimizer, update, n_targets):
    # sgd: exact lazy step (scaled weights); adagrad without a penalty: an absent feature's step is nothing
    X, y = make_regression_data(n_targets=n_targets)
    penalty = None if optimizer == "adagrad" else "l2"
    lr = 0.1 if optimizer == "adam" else 0.3
    params = regressor_params(optimizer=optimizer, loss=loss, penalty=penalty, alpha=1e-3, delta=0.5, learning_rate=lr)
    dense = LinearRegressor(**params).fit(X.toarray(), y)
    sparse = LinearRegressor(sparse_update=update, **params).fit(X, y)
    assert sparse.coef_.shape == dense.coef_.shape
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(sparse.predict(X), dense.predict(X.toarray()), rtol=1e-10, atol=1e-12)
    assert sparse.score(X, y) > 0.5  # it learned: the comparison is not between two untrained models


@pytest.mark.parametrize("fmt, index_dtype, dtype", [
    ("csr", np.int32, np.float64), ("csc", np.int64, np.float32), ("coo", np.int32, np.float32),
    ("csr", np.int64, np.float32), ("coo", np.int64, np.float64),
])
def test_regressor_formats_index_and_float_dtypes(fmt, index_dtype, dtype):
    X, y = make_regression_data(dtype=dtype)
    X = X.asformat(fmt)
    if fmt == "coo":
        X.row, X.col = X.row.astype(index_dtype), X.col.astype(index_dtype)
    else:
        X.indices, X.indptr = X.indices.astype(index_dtype), X.indptr.astype(index_dtype)
    params = regressor_params(optimizer="sgd")
    model = LinearRegressor(**params).fit(X, y)
    assert model.coef_.dtype == dtype and model.predict(X).dtype == dtype
    reference = LinearRegressor(**params).fit(X.toarray(), y)
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(model.predict(X), model.predict(X.toarray()), rtol=rtol, atol=rtol * 1e-2)
    assert model.score(X, y) == pytest.approx(model.score(X.toarray(), y), rel=rtol)
    partial = LinearRegressor(**params).partial_fit(X, y).partial_fit(X, y)
    assert partial.coef_.dtype == dtype and partial.n_iter_ == 2


def test_regressor_empty_rows_explicit_zeros_and_a_full_row():
    X, y = make_regression_data()
    X = X.tolil()
    X[3, :] = 0          # an empty row: its prediction is the intercept
    X[5, :] = 1.0        # a row with every feature
    X = X.tocsr()
    X.eliminate_zeros()
    rows, cols = X.nonzero()
    free = [c for c in range(X.shape[1]) if X[7, c] == 0]
    with_zeros = sp.csr_matrix((np.r_[X.data, 0.0, 0.0], (np.r_[rows, 7, 7], np.r_[cols, free[:2]])), shape=X.shape)
    assert with_zeros.nnz == X.nnz + 2
    params = regressor_params(optimizer="adam")
    dense = LinearRegressor(**params).fit(X.toarray(), y)
    for matrix in (X, with_zeros):
        model = LinearRegressor(sparse_update="dense", **params).fit(matrix, y)
        np.testing.assert_allclose(model.coef_, dense.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.predict(X[3]), model.intercept_, rtol=1e-12)


@pytest.mark.parametrize("method", ["fit", "partial_fit", "predict", "score"])
def test_regressor_nan_in_sparse_data_is_a_value_error(method):
    X, y = make_regression_data()
    model = LinearRegressor(**regressor_params()).fit(X, y)
    X = X.copy()
    X.data[7] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        if method == "predict":
            model.predict(X)
        elif method == "score":
            model.score(X, y)
        else:
            getattr(LinearRegressor(**regressor_params()), method)(X, y)


@pytest.mark.parametrize("optimizer, update", [("sgd", "lazy"), ("adagrad", "lazy"), ("adam", "lazy")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("backend", ["numba", "cython"])
def test_regressor_compiled_kernel_matches_the_scipy_reference(optimizer, update, dtype, backend):
    require_backend(backend)
    X, y = make_regression_data(n_targets=2, dtype=dtype)
    params = regressor_params(optimizer=optimizer, sparse_update=update, loss="huber", alpha=1e-3)
    reference = LinearRegressor(backend="numpy", **params).fit(X, y)
    model = LinearRegressor(backend=backend, **params).fit(X, y)
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(model.loss_curve_, reference.loss_curve_, rtol=rtol)


# ---------------------------------------------------------------------------- L1 by cumulative truncation


def truncated_sgd_reference(X, y, *, learning_rate, alpha, batch_size, max_epochs, random_state, kind):
    """Plain mini-batch SGD on dense X with the L1 penalty applied by cumulative truncation to EVERY weight
    after every step (Tsuruoka et al. 2009), written out here: the rule the lazy sparse step must reproduce.

    kind "softmax" (y: class indices) or "regression" (squared error / 2, y: one target).
    """
    n_samples, n_features = X.shape
    n_outputs = int(y.max()) + 1 if kind == "softmax" else 1
    W, b = np.zeros((n_outputs, n_features)), np.zeros(n_outputs)
    applied, total = np.zeros_like(W), 0.0
    seed = np.random.RandomState(random_state).randint(np.iinfo(np.int32).max)
    generator = np.random.default_rng(seed)  # the estimators' shuffling stream
    for _ in range(max_epochs):
        order = permutation(generator, n_samples)  # the estimators' row order (tested in test_shuffle.py)
        for start in range(0, n_samples, batch_size):
            rows = order[start:start + batch_size]
            scores = X[rows] @ W.T + b
            if kind == "softmax":
                G = np.exp(scores - scores.max(axis=1, keepdims=True))
                G /= G.sum(axis=1, keepdims=True)
                G[np.arange(rows.shape[0]), y[rows]] -= 1
            else:
                G = scores - y[rows, None]
            G /= rows.shape[0]
            W -= learning_rate * (G.T @ X[rows])
            b -= learning_rate * G.sum(axis=0)
            total += learning_rate * alpha
            before = W.copy()
            W = np.where(W > 0, np.maximum(0, W - (total + applied)),
                         np.where(W < 0, np.minimum(0, W + (total - applied)), W))
            applied += W - before
    return W, b


@pytest.mark.parametrize("backend", ["numba", "cython", "numpy"])
@pytest.mark.parametrize("Estimator, kind", [(SoftmaxClassifier, "softmax"), (LinearRegressor, "regression")],
                         ids=["softmax", "regressor"])
def test_lazy_l1_truncation_is_truncating_every_weight_at_every_step(Estimator, kind, backend):
    require_backend(backend)
    X, y = make_data(n_features=60, density=0.08)
    if kind == "regression":
        X, y = make_regression_data(n_features=60, density=0.08)
    params = dict(learning_rate=0.3, alpha=0.01, batch_size=16, max_epochs=4, random_state=0)
    W, b = truncated_sgd_reference(X.toarray(), y, kind=kind, **params)
    model = Estimator(optimizer="sgd", penalty="l1", sparse_update="lazy", tol=None, backend=backend,
                      **params).fit(X, y)
    coef = model.coef_.reshape(W.shape)
    np.testing.assert_allclose(coef, W, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, b, rtol=1e-9, atol=1e-12)
    # truncation gives exact zeros (a subgradient step would leave weights oscillating around 0), but not only
    assert 0 < np.count_nonzero(coef == 0) < coef.size


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=IDS)
def test_lazy_elasticnet_truncation_trains_and_zeroes(Estimator):
    # elastic net on the lazy SGD path: L2 on the weights' scale, L1 by truncation of the touched rows (the
    # decay between two touches then differs from the per-step rule: no dense twin); sparse and still learning
    X, y = make_data()
    model = Estimator(**fit_params(optimizer="sgd", penalty="elasticnet", alpha=0.01, l1_ratio=0.5,
                                   learning_rate=0.3)).fit(X, y)
    assert np.count_nonzero(model.coef_ == 0) > 0
    assert model.score(X, y) > 0.5


# ---------------------------------------------------------------------------- the naive (loops) reference


@pytest.mark.parametrize("Estimator, extra", [
    (SoftmaxClassifier, dict(optimizer="sgd", penalty="l2")),
    (SoftmaxClassifier, dict(optimizer="sgd", penalty="l1")),
    (SoftmaxClassifier, dict(optimizer="adam", sparse_update="lazy", penalty="elasticnet")),
    (LinearSVMClassifier, dict(optimizer="adagrad", sparse_update="lazy")),
    (LinearSVMClassifier, dict(optimizer="adam", sparse_update="dense", squared_hinge=True)),
    (LinearRegressor, dict(optimizer="sgd", loss="huber", delta=0.5, penalty="elasticnet")),
    (LinearRegressor, dict(optimizer="adagrad", loss="epsilon_insensitive")),
], ids=["softmax-sgd-l2", "softmax-sgd-l1", "softmax-adam-lazy-en", "svm-adagrad-lazy", "svm-squared-adam-dense", "regressor-sgd-huber-en",
        "regressor-adagrad-epsilon"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_naive_loops_match_the_numpy_reference(Estimator, extra, dtype):
    if Estimator is LinearRegressor:
        X, y = make_regression_data(dtype=dtype, n_samples=60)
    else:
        X, y = make_data(dtype=dtype, n_samples=60)
    params = fit_params(alpha=1e-2, max_epochs=2, learning_rate=0.1, **extra)
    reference = Estimator(backend="numpy", **params).fit(X, y)
    model = Estimator(backend="naive", **params).fit(X, y)
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(model.loss_curve_, reference.loss_curve_, rtol=rtol)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("Estimator", [LinearSVMClassifier, LinearRegressor], ids=["svm", "regressor"])
def test_cython_kernel_takes_both_index_dtypes(Estimator, index_dtype):
    require_backend("cython")
    X, y = make_regression_data() if Estimator is LinearRegressor else make_data()
    X.indices, X.indptr = X.indices.astype(index_dtype), X.indptr.astype(index_dtype)
    params = fit_params(optimizer="sgd", learning_rate=0.1)
    model = Estimator(backend="cython", **params).fit(X, y)
    reference = Estimator(backend="numpy", **params).fit(X, y)
    assert model.coef_.shape == reference.coef_.shape
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------- index dtypes the kernels do not take
# (int32 and int64 together are covered above: test_cython_kernel_takes_both_index_dtypes)
MIXED_INDEX_DTYPES = [(np.int64, np.int32), (np.int32, np.int64), (np.uint32, np.int32), (np.uint32, np.uint32),
                      (np.int16, np.int16)]


@pytest.mark.parametrize("indices_dtype, indptr_dtype", MIXED_INDEX_DTYPES,
                         ids=[f"{np.dtype(a).name}-{np.dtype(b).name}" for a, b in MIXED_INDEX_DTYPES])
@pytest.mark.parametrize("optimizer, update", [("sgd", "lazy"), ("adam", "lazy"), ("adagrad", "lazy"),
                                               ("adam", "dense")])
@pytest.mark.parametrize("Estimator", [SoftmaxClassifier, LinearSVMClassifier, LinearRegressor],
                         ids=["softmax", "svm", "regressor"])
@pytest.mark.parametrize("backend", ["numba", "cython"])
def test_any_integer_index_dtypes_train_the_int32_model(backend, Estimator, optimizer, update, indices_dtype,
                                                        indptr_dtype):
    # X.indices = X.indices.astype(np.int64) under an int32 indptr was Cython's "Buffer dtype mismatch",
    # uint32 or int16 its "Function call with ambiguous argument types"
    require_backend(backend)
    X, y = make_regression_data() if Estimator is LinearRegressor else make_data()
    X_odd = X.copy()
    X_odd.indices, X_odd.indptr = X.indices.astype(indices_dtype), X.indptr.astype(indptr_dtype)
    # an L1 part, so that the lazy SGD step's truncation kernels read the indices too
    params = fit_params(optimizer=optimizer, sparse_update=update, penalty="elasticnet", alpha=1e-3, l1_ratio=0.5)
    model = Estimator(backend=backend, **params).fit(X_odd, y)
    reference = Estimator(backend=backend, **params).fit(X, y)
    np.testing.assert_array_equal(model.coef_, reference.coef_)
    np.testing.assert_array_equal(model.intercept_, reference.intercept_)
    np.testing.assert_array_equal(model.predict(X_odd), reference.predict(X))
    partial = Estimator(backend=backend, **params)
    partial.partial_fit(X_odd, y, **({} if Estimator is LinearRegressor else {"classes": np.unique(y)}))
    assert partial.n_iter_ == 1
    # the user's matrix is left as it was (scipy's check_format would have cast its index arrays in place)
    assert (X_odd.indices.dtype, X_odd.indptr.dtype) == (np.dtype(indices_dtype), np.dtype(indptr_dtype))


def test_index_arrays_are_copied_only_when_the_kernels_need_it():
    from fastlc.linear_model._sparse import kernel_index_arrays

    indices32, indptr32 = np.array([0, 2, 1], np.int32), np.array([0, 2, 3], np.int32)
    for dtype in (np.int32, np.int64):
        indices, indptr = indices32.astype(dtype), indptr32.astype(dtype)
        got = kernel_index_arrays(indices, indptr, 3)
        assert got[0] is indices and got[1] is indptr
    # one array already in a kernel dtype: only the other is cast (to it)
    indices64 = indices32.astype(np.int64)
    got_indices, got_indptr = kernel_index_arrays(indices64, indptr32, 3)
    assert got_indices is indices64 and got_indptr.dtype == np.int64
    got_indices, got_indptr = kernel_index_arrays(indices32, indptr32.astype(np.uint32), 3)
    assert got_indices is indices32 and got_indptr.dtype == np.int32
    # neither: int32 when every index and the non-zero count fit, else int64
    assert kernel_index_arrays(indices32.astype(np.uint16), indptr32.astype(np.uint16), 3)[0].dtype == np.int32
    assert kernel_index_arrays(indices32.astype(np.uint32), indptr32.astype(np.uint32), 2**31)[1].dtype == np.int64
    # int32 indices under an int64 indptr counting more non-zeros than int32 holds: both int64
    big_indptr = np.array([0, 2**31], np.int64)
    assert kernel_index_arrays(indices32, big_indptr, 3)[0].dtype == np.int64
    np.testing.assert_array_equal(kernel_index_arrays(indices32, indptr32.astype(np.uint32), 3)[1], indptr32)
