"""scikit-learn's full estimator checks for every fastlc estimator.

Nothing is skipped or marked as an expected failure. The instances only fix a
seed. One check, ``check_array_api_input``, skips itself unless the
``SCIPY_ARRAY_API`` environment variable was set before SciPy was imported;
inside a pytest run SciPy is long imported, so that check runs in a fresh
subprocess with the variable set instead of being skipped.
"""
import os
import subprocess
import sys
import textwrap

from sklearn.utils.estimator_checks import parametrize_with_checks

from fastlc import LinearRegressor, LinearSVMClassifier, MLPClassifier, MLPRegressor, SoftmaxClassifier

ESTIMATORS = [
    SoftmaxClassifier(random_state=0),
    LinearSVMClassifier(random_state=0),
    LinearRegressor(random_state=0),
    MLPClassifier(hidden_layer_sizes=(16,), learning_rate=1e-2, random_state=0),
    MLPRegressor(hidden_layer_sizes=(16,), learning_rate=1e-2, random_state=0),
]


def _run_array_api_check_in_subprocess(estimator, check):
    code = textwrap.dedent(f"""
        import warnings
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.utils.estimator_checks import check_array_api_input
        from fastlc import {type(estimator).__name__}
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator = {type(estimator).__name__}(**{estimator.get_params()!r})
        check_array_api_input({type(estimator).__name__!r}, estimator, **{check.keywords!r})
        print("check passed")
    """)
    env = dict(os.environ, SCIPY_ARRAY_API="1")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "check passed" in result.stdout, result.stderr[-3000:]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    name = getattr(getattr(check, "func", check), "__name__", "")
    if name == "check_array_api_input" and os.environ.get("SCIPY_ARRAY_API") is None:
        _run_array_api_check_in_subprocess(estimator, check)
    else:
        check(estimator)
