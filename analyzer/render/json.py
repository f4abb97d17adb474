"""The JSON report, exactly the shape of ``shared/spec/report-json.md`` (fields only added).

The version and its changelog are :data:`analyzer.model.SCHEMA_VERSION`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..model import Advice, CrossRun, Finding, Report, RunReport


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
                    "value": p.value,
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
        out["hparams"] = dict(r.hparams)
    return out


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "code": f.code,
        "severity": f.severity,
        "title": f.title,
        "steps": list(f.steps) if f.steps is not None else None,
        "evidence": dict(f.evidence),
    }


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


def dumps(report: Report) -> str:
    """The report as JSON text (strict: NaN is never written)."""
    return json.dumps(to_dict(report), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def render(report: Report, runs: Mapping[str, object] | None = None) -> str:
    """The renderer of ``-f json`` (:data:`analyzer.render.RENDERERS`): :func:`dumps`."""
    return dumps(report)
