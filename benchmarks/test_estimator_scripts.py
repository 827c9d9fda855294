"""Smoke runs of benchmarks/regressor_speed.py and benchmarks/mlp_speed.py so that they cannot rot
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
