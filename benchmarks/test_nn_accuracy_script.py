"""Smoke run of benchmarks/nn_accuracy.py so that it cannot rot, and a check that it can fail."""
import numpy as np
import pytest

import nn_accuracy


def test_accuracy_report_has_a_row_per_activation_and_direction(tmp_path):
    out = tmp_path / "accuracy.md"
    nn_accuracy.main(["--points", "2001", "--out", str(out)])
    rows = [line for line in out.read_text().splitlines() if line.startswith("| ") and "---" not in line]
    ours = [row for row in rows if row.split(" | ")[1] in ("forward", "backward")]
    assert len(ours) == 2 * len(nn_accuracy.ACTIVATIONS)
    # every float32 kernel within 2e-6 absolute of float64 on [-20, 20] (the worst, SiLU forward: 1.3e-6)
    for row in ours:
        cells = row.strip("| ").split(" | ")
        assert float(cells[3]) < 2e-6 and float(cells[5]) < 2e-6, row


def test_errors_sees_a_wrong_result():
    reference = np.linspace(-3, 3, 101)
    wrong = reference.copy()
    wrong[50] += 1e-3  # reference 0 there: counts in the absolute error only
    wrong[10] *= 1 + 1e-4
    rel, abs_ = nn_accuracy.errors(wrong.astype(np.float32), reference)
    assert rel == pytest.approx(1e-4, rel=1e-2) and abs_ == pytest.approx(1e-3, rel=1e-3)


def test_points_must_make_a_grid():
    with pytest.raises(SystemExit):
        nn_accuracy.main(["--points", "1"])
