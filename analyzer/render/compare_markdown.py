"""The comparison as GitHub Markdown, for the pull request."""

from __future__ import annotations

from collections.abc import Mapping

from ..compare import Comparison
from .environment import md_escape

_MD_LIMIT = 60_000  # GitHub's comment limit is 65,536 characters; keep room for a note


_ICON = {"improved": "✅ improved", "regressed": "❌ regressed", "same": "➖ same"}


def _num(v: float | None) -> str:
    return "–" if v is None else f"{v:.4g}"


def render_markdown(c: Comparison, *_runs: Mapping[str, object] | None) -> str:
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
