"""Sparse input to the multilayer perceptrons (issue 15): scipy.sparse X feeds the first layer's
products (sparse times dense) and is never densified."""
import numpy as np
import pytest
import scipy.sparse as sp

from fastlc import MLPClassifier, MLPRegressor

ESTIMATORS = [MLPClassifier, MLPRegressor]
SMALL = dict(hidden_layer_sizes=(12,), max_epochs=3, batch_size=40, tol=None, random_state=0)


def sparse_data(n_samples=160, n_features=30, dtype=np.float64, fmt="csr", index_dtype=np.int32, seed=0):
    """Sparse X with an empty row and a row holding every feature; labels / targets to match."""
    X = sp.random(n_samples, n_features, density=0.15, format="csr", random_state=seed, dtype=dtype)
    X = X.tolil()
    X[3, :] = 0  # an empty row
    X[5, :] = np.arange(1, n_features + 1, dtype=dtype) / n_features  # a row with every feature
    X = X.tocsr()
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    rng = np.random.default_rng(seed)
    y_class = rng.integers(0, 3, n_samples)
    y_reg = X @ rng.standard_normal(n_features) + 0.1 * rng.standard_normal(n_samples)
    return X.asformat(fmt), y_class, y_reg


def target(estimator, y_class, y_reg):
    return y_class if estimator is MLPClassifier else y_reg


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_and_dense_input_train_the_same_network(estimator, fmt, index_dtype, dtype):
    X, y_class, y_reg = sparse_data(dtype=dtype, fmt=fmt, index_dtype=index_dtype)
    y = target(estimator, y_class, y_reg)
    on_sparse = estimator(**SMALL).fit(X, y)
    on_dense = estimator(**SMALL).fit(X.toarray(), y)
    assert on_sparse._params.dtype == dtype
    # the same steps; only the order of the first layer's sums differs (scipy's CSR loop vs BLAS)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(on_sparse._params, on_dense._params, rtol=tol, atol=tol)
    np.testing.assert_allclose(on_sparse.predict(X) if estimator is MLPRegressor else on_sparse.predict_proba(X),
                               on_dense.predict(X.toarray()) if estimator is MLPRegressor
                               else on_dense.predict_proba(X.toarray()), rtol=tol, atol=tol)


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("hidden", [(12,), ()])
def test_sparse_input_is_never_densified(estimator, hidden, monkeypatch):
    X, y_class, y_reg = sparse_data()
    y = target(estimator, y_class, y_reg)

    def refuse(self, *args, **kwargs):
        raise AssertionError("a sparse matrix was densified")

    for cls in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix):
        monkeypatch.setattr(cls, "toarray", refuse)
        monkeypatch.setattr(cls, "todense", refuse)
    options = dict(SMALL, hidden_layer_sizes=hidden)
    model = estimator(**options, early_stopping=True, validation_fraction=0.2, n_iter_no_change=50).fit(X, y)
    model.partial_fit(X, y)
    model.predict(X)
    model.score(X, y)
    if estimator is MLPClassifier:
        model.predict_proba(X)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_nan_in_sparse_data_is_a_value_error(estimator):
    X, y_class, y_reg = sparse_data()
    X.data[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        estimator(**SMALL).fit(X, target(estimator, y_class, y_reg))


def test_dropout_and_batch_norm_on_sparse_input_match_dense():
    X, y_class, _ = sparse_data()
    options = dict(SMALL, dropout=0.25, batch_norm=True, hidden_layer_sizes=(10, 8))
    on_sparse = MLPClassifier(**options).fit(X, y_class)
    on_dense = MLPClassifier(**options).fit(X.toarray(), y_class)
    np.testing.assert_allclose(on_sparse._params, on_dense._params, rtol=1e-9, atol=1e-9)
