"""Scale-out: the estimators train through dask_ml.wrappers.Incremental on a local dask cluster.

Needs the optional ``dask`` extra (``pip install -e ".[dask]"``); without it
the tests are skipped with that reason. The cluster binds to 127.0.0.1 only,
runs its workers as threads in this process and has no dashboard.
"""
import warnings

import numpy as np
import pytest

dask = pytest.importorskip("dask", reason="dask is not installed: pip install -e '.[dask]' to run the scale-out test")
da = pytest.importorskip("dask.array", reason="dask.array is not installed: pip install -e '.[dask]'")
distributed = pytest.importorskip("distributed", reason="distributed is not installed: pip install -e '.[dask]'")
wrappers = pytest.importorskip("dask_ml.wrappers", reason="dask-ml is not installed: pip install -e '.[dask]'")

from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402

from fastlc import LinearRegressor, LinearSVMClassifier, MLPClassifier, MLPRegressor, SoftmaxClassifier  # noqa: E402


def parameters(model):
    """The fitted arrays of a linear model or a network."""
    return [model.coef_, model.intercept_] if hasattr(model, "coef_") else model.coefs_ + model.intercepts_


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        # distributed warns about ports and event loops on start-up; irrelevant here
        warnings.simplefilter("ignore")
        # processes=False keeps the workers in this process; protocol="tcp" (instead of the default
        # in-process transport) is what makes host="127.0.0.1" a real loopback binding.
        cluster = distributed.LocalCluster(host="127.0.0.1", protocol="tcp", n_workers=2, threads_per_worker=1,
                                           processes=False, dashboard_address=None)
        client = distributed.Client(cluster)
    assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=4000, n_features=20, n_informative=10, n_classes=3, random_state=0)
    return X.astype(np.float32), y


@pytest.mark.parametrize("Estimator", [SoftmaxClassifier, LinearSVMClassifier, MLPClassifier],
                         ids=["softmax", "svm", "mlp"])
def test_incremental_on_local_cluster(client, data, Estimator):
    X, y = data
    X_dask = da.from_array(X, chunks=(500, X.shape[1]))
    y_dask = da.from_array(y, chunks=500)
    classes = np.unique(y)
    model = wrappers.Incremental(Estimator(random_state=0), scoring="accuracy", shuffle_blocks=False)
    for _ in range(3):
        model.partial_fit(X_dask, y_dask, classes=classes)
    fitted = model.estimator_
    # one partial_fit call per block and pass: 8 blocks x 3 passes
    assert fitted.n_iter_ == 24
    assert all(array.dtype == np.float32 for array in parameters(fitted))
    predictions = model.predict(X_dask)
    assert isinstance(predictions, da.Array)
    accuracy = float((predictions.compute() == y).mean())
    assert accuracy > 0.7
    assert model.score(X_dask, y_dask) == pytest.approx(accuracy)
    # the same model trained on the blocks in order in this process gives the same weights
    local = Estimator(random_state=0)
    for _ in range(3):
        for start in range(0, X.shape[0], 500):
            local.partial_fit(X[start:start + 500], y[start:start + 500], classes=classes)
    for ours, theirs in zip(parameters(local), parameters(fitted)):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("Estimator", [LinearRegressor, MLPRegressor], ids=["linear", "mlp"])
def test_regressors_incremental_on_local_cluster(client, Estimator):
    X, y = make_regression(n_samples=2000, n_features=10, noise=1.0, random_state=0)
    X, y = X.astype(np.float32), (y / y.std()).astype(np.float32)
    X_dask, y_dask = da.from_array(X, chunks=(500, 10)), da.from_array(y, chunks=500)
    model = wrappers.Incremental(Estimator(learning_rate=0.05, random_state=0), scoring="r2", shuffle_blocks=False)
    for _ in range(5):
        model.partial_fit(X_dask, y_dask)
    fitted = model.estimator_
    assert fitted.n_iter_ == 20
    predictions = model.predict(X_dask)
    assert isinstance(predictions, da.Array)
    # R^2 of the computed predictions (dask-ml's own r2_score fails on blocks of unknown length)
    assert r2_score(y, predictions.compute()) > 0.9
    local = Estimator(learning_rate=0.05, random_state=0)
    for _ in range(5):
        for start in range(0, 2000, 500):
            local.partial_fit(X[start:start + 500], y[start:start + 500])
    for ours, theirs in zip(parameters(local), parameters(fitted)):
        np.testing.assert_array_equal(ours, theirs)
