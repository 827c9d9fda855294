"""Smoke run of benchmarks/nn_speed.py so that it cannot rot (the timed run is the script itself)."""
import nn_speed


def test_nn_report_has_a_row_per_kernel(tmp_path):
    out = tmp_path / "nn.md"
    nn_speed.main(["--quick", "--repeats", "1", "--out", str(out)])
    rows = [line for line in out.read_text().splitlines() if line.startswith("| ") and not line.startswith("| case")]
    # 9 activations x 2 directions + dropout x 2, each with its bandwidth; 6 losses, NLL, 2 batch norms
    assert len([row for row in rows if "GB/s" in row]) == 20
    assert len(rows) == 29
    # the exp floor, timed with the copies: the least arithmetic of the exp-based activations
    assert "one float32 exp per element" in out.read_text()


def test_nn_report_runs_only_the_selected_cases(tmp_path):
    out = tmp_path / "nn.md"
    nn_speed.main(["--quick", "--repeats", "1", "--cases", "gelu-tanh,nll", "--out", str(out)])
    rows = [line.split(" |")[0] for line in out.read_text().splitlines()
            if line.startswith("| ") and not line.startswith("| case")]
    assert rows == ["| gelu-tanh forward", "| gelu-tanh backward", "| nll_loss 1024x10"]
