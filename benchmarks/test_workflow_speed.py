"""Smoke run of benchmarks/workflow_speed.py so that it cannot rot (the timed run is the script itself)."""
import workflow_speed

import fastlc


def test_workflow_report_runs_and_names_the_machine(tmp_path, capsys):
    out = tmp_path / "workflow.md"
    workflow_speed.main(["--quick", "--repeats", "1", "--out", str(out)])
    text = out.read_text()
    assert "CPU:" in text and "Code path:" in text
    # one row per target: grid search, busy core, 4 scikit-learn comparisons, 2 dtype ratios,
    # and the kernel's share of the FMA peak per dtype when the Cython backend is built
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| case")]
    assert len(rows) == (10 if "cython" in fastlc.available_backends() else 8)
