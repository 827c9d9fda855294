"""benchmarks/summary.py keeps statistics and machine info only, and report.py reads what it writes."""
import importlib.util
import json
import pathlib
import sys

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"
if not (BENCHMARKS / "summary.py").exists():
    pytest.skip("benchmarks/ is not next to the tests (an installed copy of the tests)", allow_module_level=True)


def _load(name):
    sys.path.insert(0, str(BENCHMARKS))  # report.py imports summary.py as a sibling, as when run as a script
    try:
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCHMARKS))


def _raw_result(n_samples):
    """A pytest-benchmark result shaped like the real ones, with ``n_samples`` raw timings per benchmark."""
    def bench(backend, median):
        return {
            "group": "adam_step float32 10M", "name": f"test_adam[{backend}]",
            "fullname": f"benchmarks/test_bench_optim.py::test_adam[{backend}]", "params": {"backend": backend},
            "param": backend, "extra_info": {"backend": backend, "bytes": 2e8, "scale": 1.0},
            "options": {"min_rounds": 5, "timer": "perf_counter"},
            "stats": {"min": median * 0.9, "max": median * 1.5, "mean": median, "stddev": 0.1 * median,
                      "rounds": n_samples, "median": median, "iqr": 0.05 * median, "q1": 0.98 * median,
                      "q3": 1.03 * median, "iqr_outliers": 0, "stddev_outliers": 1, "outliers": "1;0",
                      "ld15iqr": median, "hd15iqr": median, "ops": 1 / median, "total": n_samples * median,
                      "iterations": 1, "data": [median] * n_samples},
        }

    return {
        "machine_info": {"node": "my-laptop", "machine": "x86_64", "system": "Linux", "python_version": "3.11.7",
                         "cpu": {"brand_raw": "Some CPU", "count": 2, "arch": "X86_64",
                                 "flags": ["fpu", "sse2", "avx2", "avx512f", "fma", "vme"]}},
        "commit_info": {"id": "abc", "branch": "main", "dirty": False, "time": "t", "author_time": "t"},
        "benchmarks": [bench("numpy", 0.10), bench("cython", 0.01)],
        "datetime": "2026-12-04T16:00:00", "version": "5.3.1",
    }


def test_summary_keeps_statistics_and_instruction_sets_only(tmp_path):
    summary_module = _load("summary")
    raw = _raw_result(n_samples=20_000)
    (tmp_path / "raw.json").write_text(json.dumps(raw))
    assert summary_module.main([str(tmp_path / "raw.json"), str(tmp_path / "summary.json")]) == 0
    text = (tmp_path / "summary.json").read_text()
    summary = json.loads(text)
    assert len(text) < len(json.dumps(raw)) / 50  # the raw timing samples are gone
    stats = summary["benchmarks"][1]["stats"]
    assert set(stats) == {"median", "iqr", "q1", "q3", "min", "rounds", "iterations"}
    assert (stats["median"], stats["rounds"]) == (0.01, 20_000)
    cpu = summary["machine_info"]["cpu"]
    assert cpu["brand_raw"] == "Some CPU" and cpu["instruction_sets"] == ["avx2", "avx512f", "fma", "sse2"]
    assert "node" not in summary["machine_info"]  # no host name in the repository


def test_report_reads_a_summary(tmp_path):
    summary_module, report = _load("summary"), _load("report")
    summary = summary_module.summarize(_raw_result(n_samples=5))
    table = report.markdown(summary)
    assert "Some CPU" in table and "Instruction sets: avx2, avx512f, fma, sse2." in table
    row = next(line for line in table.splitlines() if "| cython |" in line)
    assert "10 ms" in row and "| 10 |" in row  # 0.01 s, 10x the numpy backend
