"""Smoke runs of benchmarks/regressor_speed.py, mlp_speed.py and compare_builds.py so that they cannot rot
(the timed runs are the scripts themselves)."""
import mlp_speed
import regressor_speed


def table_rows(text):
    return [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| case")]


def test_regressor_report_has_a_row_per_configuration(tmp_path):
    out = tmp_path / "regressor.md"
    regressor_speed.main(["--quick", "--repeats", "1", "--out", str(out)])
    text = out.read_text()
    assert "CPU:" in text
    # float64 and float32, batch "auto" and 1000, each against SGDRegressor with the kernel floor
    # and the per-batch cost above it
    rows = table_rows(text)
    assert len(rows) == 4 and all("kernel alone" in row and "us per batch" in row for row in rows)


def test_mlp_report_has_a_row_per_dtype(tmp_path):
    out = tmp_path / "mlp.md"
    mlp_speed.main(["--quick", "--repeats", "1", "--out", str(out)])
    rows = table_rows(out.read_text())
    versus_sklearn = [row for row in rows if "vs scikit-learn" in row]
    assert len(versus_sklearn) == 2 and all("Adam step alone" in row for row in versus_sklearn)


def test_compare_builds_measures_every_case():
    # the measuring half of benchmarks/compare_builds.py (the other half builds an earlier commit, minutes)
    import compare_builds

    from fastlc._dispatch import available_backends

    backends = [backend for backend in ("numba", "cython") if backend in available_backends()]
    times = compare_builds.measure(quick=True)
    cases = {"multiclass_hinge", "multiclass_hinge squared", "softmax_cross_entropy", "fused hinge gradient",
             "fused cross-entropy gradient"}
    assert set(times) == {f"{case}, {dtype}, {backend}" for case in cases for dtype in ("float32", "float64")
                          for backend in ("numba", "cython")}
    assert all(value > 0 for value in times.values())


def test_compare_builds_rejects_bad_arguments(capsys):
    import compare_builds
    import pytest

    for argv in ([], ["HEAD", "--rounds", "0"]):
        with pytest.raises(SystemExit) as exit_info:
            compare_builds.main(argv)
        assert exit_info.value.code == 2
