"""Every Python block of README.md runs on its own (fresh namespace), without a warning."""
import pathlib
import re
import warnings

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S) if README.exists() else []


def test_the_readme_has_python_blocks():
    if not README.exists():
        pytest.skip("README.md is not next to the tests (an installed copy of the tests)")
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs_standalone_without_warnings(block, capsys):
    if "fastlc.plotting" in block:
        pytest.importorskip("matplotlib", reason="the Pictures block needs matplotlib (the plot extra)")
        import matplotlib

        matplotlib.use("Agg")  # no display needed
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(block, str(README), "exec"), {"__name__": "__readme__"})
