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

from sklearn.datasets import make_classification  # noqa: E402

from fastlc import LinearSVMClassifier, SoftmaxClassifier  # noqa: E402


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


@pytest.mark.parametrize("Estimator", [SoftmaxClassifier, LinearSVMClassifier], ids=["softmax", "svm"])
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
    assert fitted.coef_.dtype == np.float32
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
    np.testing.assert_array_equal(local.coef_, fitted.coef_)
