"""The comparison as JSON: the shape documented in ``docs/compare-json.md``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..compare import Comparison, RunComparison
from .safetext import strict_json

COMPARE_SCHEMA_VERSION = 1


def to_dict(c: Comparison) -> dict[str, Any]:
    """The comparison as plain JSON-ready data."""
    return {
        "schema_version": COMPARE_SCHEMA_VERSION,
        "tool": {"name": "dlreport", "version": c.tool_version},
        "generated_at": c.generated_at,
        "baseline": c.baseline,
        "candidate": c.candidate,
        "verdict": c.verdict,
        "runs": [_run(r) for r in c.runs],
        "only_in_baseline": list(c.only_in_baseline),
        "only_in_candidate": list(c.only_in_candidate),
    }


def _run(r: RunComparison) -> dict[str, Any]:
    return {
        "run": r.run,
        "verdict": r.verdict,
        "outcome": r.outcome,
        "baseline_value": r.baseline_value,
        "candidate_value": r.candidate_value,
        "relative_change": r.relative_change,
        "noise": r.noise,
        "baseline_status": r.baseline_status,
        "candidate_status": r.candidate_status,
        "new_findings": list(r.new_findings),
        "resolved_findings": list(r.resolved_findings),
        "steps_to_baseline_best": r.steps_to_baseline_best,
        "deltas": {k: {"baseline": b, "candidate": c} for k, (b, c) in r.deltas.items()},
    }


def dumps(c: Comparison) -> str:
    """The comparison as JSON text."""
    return strict_json(to_dict(c)) + "\n"


def render_json(c: Comparison, *_runs: Mapping[str, object] | None) -> str:
    """The renderer of ``compare -f json``: :func:`dumps` (the runs' data is not needed)."""
    return dumps(c)
