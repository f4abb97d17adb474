"""Every judgement of ``../shared/realworld/expectations.json`` holds (issue #10).

The judgements were made by people from the numbers of real public runs (see PROVENANCE.md
there), not by dlreport. Each run's judgement is its own test, so a regression names the run.
The pipeline runs in process (no subprocess): the whole set takes a few seconds.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from analyzer.errors import InputError
from analyzer.pipeline import Analysis, build_analysis

SHARED = Path(__file__).resolve().parents[2] / "shared" / "realworld"
EXPECTATIONS = SHARED / "expectations.json"
ALARMS = ("warning", "error")


def _cases() -> list[object]:
    if not EXPECTATIONS.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{EXPECTATIONS} is absent"))]
    runs = json.loads(EXPECTATIONS.read_text(encoding="utf-8"))["runs"]
    return [pytest.param(r, id=r["path"]) for r in runs]


@cache
def _analyse(path: str) -> Analysis | InputError:
    try:
        return build_analysis(str(SHARED / path), generated_at="t", keep_runs=False, strict=True)
    except InputError as exc:
        return exc


def _alarms(analysis: Analysis) -> dict[str, list[str]]:
    """code -> the runs where it appears as a warning or an error."""
    out: dict[str, list[str]] = {}
    for run in analysis.report.runs:
        for f in run.findings:
            if f.severity in ALARMS:
                out.setdefault(f.code, []).append(run.run)
    return out


@pytest.mark.parametrize("case", _cases())
def test_expectation(case: dict[str, object]) -> None:
    outcome = _analyse(str(case["path"]))
    why = case["why"]
    if case.get("refuse"):
        if isinstance(outcome, InputError):
            assert "\n" not in str(outcome)
            return
        assert outcome.problems, f"not refused: {why}"
        assert all(run.status in ("ok", "info") or not run.findings for run in outcome.report.runs)
        return
    assert not isinstance(outcome, InputError), f"refused ({outcome}): {why}"
    alarms = _alarms(outcome)
    seen = {code: runs for code, runs in alarms.items()}
    for code in case.get("expect", []):  # type: ignore[attr-defined]
        assert code in alarms, f"expected {code}, found {sorted(seen)}: {why}"
    any_of = case.get("expect_any", [])
    if any_of:
        assert set(any_of) & set(alarms), f"expected one of {any_of}, found {sorted(seen)}: {why}"  # type: ignore[arg-type]
    for code in case.get("forbid", []):  # type: ignore[attr-defined]
        assert code not in alarms, f"forbidden {code} found in {alarms[code]}: {why}"
    if case.get("healthy"):
        assert not alarms, f"healthy run with alarms {seen}: {why}"
