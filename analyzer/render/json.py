"""The JSON report, exactly the shape of ``shared/spec/report-json.md`` (fields only added).

The version and its changelog are :data:`analyzer.model.SCHEMA_VERSION`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..model import Advice, CrossRun, Finding, Report, RunReport
from .safetext import strict_json


def to_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data, keys in the spec's order."""
    return {
        "schema_version": report.schema_version,
        "tool": {"name": "dlreport", "version": report.tool_version},
        "generated_at": report.generated_at,
        "runs": [_run(r) for r in report.runs],
        **({"cross_run": _cross_run(report.cross_run)} if report.cross_run else {}),
    }


def _cross_run(c: CrossRun) -> dict[str, Any]:
    return {
        "outcome": c.outcome,
        "runs": c.runs,
        "seed_groups": c.seed_groups,
        "best": dict(c.best),
        "by_hparam": {
            name: [
                {
                    **_finite_pair("value", p.value),
                    "runs": p.runs,
                    "mean": p.mean,
                    "std": p.std,
                    "best": p.best,
                    "best_run": p.best_run,
                }
                for p in points
            ]
            for name, points in c.by_hparam.items()
        },
    }


def _run(r: RunReport) -> dict[str, Any]:
    out: dict[str, Any] = {
        "run": r.run,
        "status": r.status,
        "roles": dict(r.roles),
        "summary": dict(r.summary),
        "findings": [_finding(f) for f in r.findings],
        "advice": [_advice(a) for a in r.advice],
    }
    if r.layer_tags:
        out["layer_tags"] = {k: list(v) for k, v in r.layer_tags.items()}
    if r.notes:
        out["notes"] = list(r.notes)
    if r.errors:
        out["errors"] = list(r.errors)
    if r.hparams:
        out["hparams"] = finite_values(r.hparams)
    return out


def _finding(f: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": f.code,
        "severity": f.severity,
        "title": f.title,
        "steps": list(f.steps) if f.steps is not None else None,
        "evidence": dict(f.evidence),
    }
    if f.series is not None:
        out["series"] = f.series  # an added field: the tag the verdict judged
    return out


def _advice(a: Advice) -> dict[str, Any]:
    out: dict[str, Any] = {"parameter": a.parameter, "action": a.action}
    if a.factor is not None:
        out["factor"] = a.factor
    if a.value is not None:
        out["value"] = a.value
    out.update({k: list(v) if isinstance(v, tuple) else v for k, v in a.extra.items()})
    out["because"] = list(a.because)
    out["rationale"] = a.rationale
    return out


def _finite_pair(key: str, value: object) -> dict[str, object]:
    """``{key: value}``, or for NaN/inf ``{key: None, key_text: "nan"}`` (the contract's rule
    for numbers that are not finite: the document stays strict JSON, the original is kept)."""
    if isinstance(value, float) and not math.isfinite(value):
        return {key: None, f"{key}_text": str(value)}
    return {key: value}


def finite_values(values: Mapping[str, object]) -> dict[str, object]:
    """A mapping of plain values with every NaN/inf written the contract's way."""
    out: dict[str, object] = {}
    for key, value in values.items():
        out.update(_finite_pair(key, value))
    return out


def dumps(report: Report) -> str:
    """The report as JSON text (strict: NaN is never written, names always valid UTF-8)."""
    return strict_json(to_dict(report)) + "\n"


def render(report: Report, runs: Mapping[str, object] | None = None) -> str:
    """The renderer of ``-f json`` (:data:`analyzer.render.RENDERERS`): :func:`dumps`."""
    return dumps(report)
