"""The README's Python examples run: each block on its own, in a fresh namespace, warnings as errors.

A block that needs a name from an earlier block fails here, as it would for a
reader who pastes only that block.
"""
import re
import warnings
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), flags=re.S | re.M)


def test_readme_has_python_blocks():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{i + 1}" for i in range(len(BLOCKS))])
def test_readme_block_runs_standalone_without_warnings(source):
    import fastlc

    code = compile(source, f"README.md python block", "exec")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            exec(code, {"__name__": "__readme__"})
    finally:
        fastlc.set_config(n_threads=None)  # a block that sets the global config must not leak it
