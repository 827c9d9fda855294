"""Smoke run of benchmarks/sparse_speed.py so that it cannot rot (the timed run is the script itself)."""
import sparse_speed


def test_sparse_speed_report_runs(capsys):
    rows = sparse_speed.main(["--quick", "--repeats", "1"])
    text = capsys.readouterr().out
    assert "CPU:" in text and text.count("| ") > 2
    assert len(rows) == 2
    for name, fast, slow, ratio, acc_ours, acc_theirs, peak, limit in rows:
        assert fast > 0 and slow > 0 and 0 <= acc_ours <= 1 and peak > 0
