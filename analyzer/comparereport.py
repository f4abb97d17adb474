"""The comparison as JSON (docs/compare-json.md) and as Markdown for a pull request."""

from __future__ import annotations

import json
from typing import Any

from .compare import Comparison, RunComparison
from .htmlreport import md_escape

COMPARE_SCHEMA_VERSION = 1
_MD_LIMIT = 60_000  # GitHub's comment limit is 65,536 characters; keep room for a note


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
    return json.dumps(to_dict(c), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


_ICON = {"improved": "✅ improved", "regressed": "❌ regressed", "same": "➖ same"}


def _num(v: float | None) -> str:
    return "–" if v is None else f"{v:.4g}"


def render_markdown(c: Comparison) -> str:
    """A verdict line and one table row per run, under GitHub's comment limit."""
    lines = [
        f"## dlreport: {_ICON[c.verdict]}",
        "",
        f"Baseline `{md_escape(c.baseline)}` → candidate `{md_escape(c.candidate)}`",
        "",
        "| run | verdict | outcome | baseline | candidate | change | new findings | resolved |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    shown = 0
    for r in c.runs:
        change = "–" if r.relative_change is None else f"{r.relative_change:+.1%}"
        new, resolved = ", ".join(r.new_findings) or "–", ", ".join(r.resolved_findings) or "–"
        row = (
            f"| {md_escape(r.run)} | {_ICON[r.verdict]} | {md_escape(r.outcome or '–')} | "
            f"{_num(r.baseline_value)} | {_num(r.candidate_value)} | {change} | "
            f"{md_escape(new)} | {md_escape(resolved)} |"
        )
        if sum(len(x) + 1 for x in lines) + len(row) > _MD_LIMIT:
            break
        lines.append(row)
        shown += 1
    if shown < len(c.runs):
        lines += ["", f"… {len(c.runs) - shown} more runs not shown (see the JSON report)."]
    for label, names in (
        ("Only in baseline", c.only_in_baseline),
        ("Only in candidate", c.only_in_candidate),
    ):
        if names:
            lines += [
                "",
                f"{label}: {md_escape(', '.join(names[:50]))}" + (" …" if len(names) > 50 else ""),
            ]
    return "\n".join(lines) + "\n"
