"""Severity order, status, exit codes, plain evidence values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analyzer.model import Finding, Report, RunReport, evidence, exit_code, sort_findings, worst


def _f(code: str, severity: str, first: int | None = None) -> Finding:
    return Finding(
        code=code,
        severity=severity,
        title=code,
        steps=(first, first) if first is not None else None,
    )  # type: ignore[arg-type]


def _report(*statuses: str) -> Report:
    runs = tuple(
        RunReport(run=str(i), status=s, roles={}, summary={}, findings=())  # type: ignore[arg-type]
        for i, s in enumerate(statuses)
    )
    return Report(schema_version=1, tool_version="0", generated_at="x", runs=runs)


def test_worst_is_the_highest_severity() -> None:
    assert worst([]) == "ok"
    assert worst([_f("a", "info"), _f("b", "error"), _f("c", "warning")]) == "error"


@pytest.mark.parametrize(
    ("statuses", "fail_on", "code"),
    [
        (("ok", "warning"), None, 0),
        (("ok", "warning"), "warning", 1),
        (("ok", "warning"), "error", 0),
        (("info",), "info", 1),
        (("ok",), "info", 0),
    ],
)
def test_exit_code(statuses: tuple[str, ...], fail_on: str | None, code: int) -> None:
    assert exit_code(_report(*statuses), fail_on) == code


def test_findings_sort_by_severity_then_step_then_code() -> None:
    fs = [_f("b", "warning", 5), _f("a", "warning", 5), _f("z", "error", 9), _f("c", "info")]
    assert [f.code for f in sort_findings(fs)] == ["z", "a", "b", "c"]


def test_evidence_is_plain_and_json_safe() -> None:
    ev = evidence(a=np.float32(1.23456789), b=np.int64(3), c=math.nan, d=np.inf, e="x", f=True)
    assert ev == {"a": 1.23457, "b": 3, "c": None, "d": None, "e": "x", "f": 1}
    assert all(type(v) in (float, int, str, type(None)) for v in ev.values())
