"""Smoke runs of benchmarks/regressor_speed.py, mlp_speed.py and nn_speed.py so that they cannot rot
(the timed runs are the scripts themselves)."""
import mlp_speed
import nn_speed
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


def test_nn_report_has_a_row_per_kernel(tmp_path):
    out = tmp_path / "nn.md"
    nn_speed.main(["--quick", "--repeats", "1", "--out", str(out)])
    rows = [line for line in out.read_text().splitlines() if line.startswith("| ") and not line.startswith("| case")]
    # 9 activations x 2 directions + dropout x 2, each with its bandwidth; 6 losses, NLL, 2 batch norms
    assert len([row for row in rows if "GB/s" in row]) == 20
    assert len(rows) == 29
