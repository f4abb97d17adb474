"""The README's performance table is the benchmark's output, never hand-edited."""

from __future__ import annotations

import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import perf_table  # noqa: E402


def test_tables_match_the_committed_benchmark_output() -> None:
    assert perf_table.main(["--check"]) == 0


def test_a_changed_figure_is_drift(tmp_path: Path) -> None:
    data = json.loads(perf_table.RESULTS.read_text())
    data["rows"][0]["cpu_s"] += 1.0
    changed = tmp_path / "bench_cli.json"
    changed.write_text(json.dumps(data))
    assert perf_table.main(["--check", "--results", str(changed)]) == 1
