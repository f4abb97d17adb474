"""The Markdown report: GitHub-flavoured, for a pull-request comment or ``$GITHUB_STEP_SUMMARY``.

Verdict first, then a compact table of every run, then each run's top findings and advice,
worst run first (so that when the text must be cut, the healthy runs go first). GitHub refuses
a comment or step summary above 65,536 characters: a longer report keeps every run in the table
and details fewer runs, then lists fewer runs, and says so.

Rendered through the one jinja environment of :mod:`analyzer.htmlreport`; ``report.md.j2`` is
not autoescaped (its name does not end in ``html.j2``), so every user string goes through the
``md_escape`` filter in the template.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ..model import Report, RunReport
from .environment import ENV, SEVERITIES

LIMIT = 65_536  # GitHub's limit for a comment body and for a job summary
MAX_FINDINGS = 5  # per run: the rest are counted, the HTML report has them all
_WORST_FIRST = {"error": 0, "warning": 1, "info": 2, "ok": 3}


def _counts(r: RunReport) -> dict[str, int]:
    return {s: sum(1 for f in r.findings if f.severity == s) for s in SEVERITIES}


def _render(report: Report, ordered: Sequence[RunReport], rows: int, detailed: int) -> str:
    return ENV.get_template("report.md.j2").render(
        report=report,
        rows=ordered[:rows],
        detailed=ordered[:detailed],
        omitted_rows=len(ordered) - rows,
        omitted_details=len(ordered) - detailed,
        counts={r.run: _counts(r) for r in ordered},
        totals={s: sum(1 for r in ordered if r.status == s) for s in _WORST_FIRST},
        severities=SEVERITIES,
        max_findings=MAX_FINDINGS,
        limit=LIMIT,
    )


def largest(n: int, fits: Callable[[int], bool]) -> int:
    """The largest k in 0..n with fits(k), given that fits is monotone (True then False)."""
    lo, hi = 0, n  # fits(lo) is assumed; search (lo, hi]
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def render(report: Report, runs: Mapping[str, object] | None = None, *, limit: int = LIMIT) -> str:
    """The Markdown report, at most ``limit`` characters (cut with a note when longer)."""
    ordered = sorted(report.runs, key=lambda r: (_WORST_FIRST[r.status], r.run))
    n = len(ordered)
    text = _render(report, ordered, n, n)
    if len(text) <= limit:
        return text
    # Detail fewer runs; the table still lists them all.
    k = largest(n, lambda k: len(_render(report, ordered, n, k)) <= limit)
    if k > 0 or len(_render(report, ordered, n, 0)) <= limit:
        return _render(report, ordered, n, k)
    # Even the table is too long (thousands of runs): list fewer.
    rows = largest(n, lambda m: len(_render(report, ordered, m, 0)) <= limit)
    return _render(report, ordered, rows, 0)
