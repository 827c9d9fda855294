"""The shared work-unit sizes: fastlc/_constants.py (Numba, Python) and kernels/cython/_constants.h (Cython)."""
import re
from pathlib import Path

import fastlc._constants as constants

HEADER = Path(__file__).resolve().parents[1] / "kernels" / "cython" / "_constants.h"


def header_constants():
    """{NAME: value} of every ``#define FASTLC_NAME <integer>`` line of the header."""
    found = re.findall(r"^#define FASTLC_([A-Z0-9_]+)\s+(\d+)\s*$", HEADER.read_text(), flags=re.MULTILINE)
    return {name: int(value) for name, value in found}


def test_header_and_python_module_state_the_same_constants():
    in_python = {name: value for name, value in vars(constants).items() if name.isupper()}
    in_header = header_constants()
    assert in_python, "no constants found in fastlc/_constants.py"
    assert in_header == in_python


def test_the_python_layers_use_the_shared_constant():
    from fastlc.linear_model import _base

    assert _base.CHUNK_ROWS is constants.CHUNK_ROWS
