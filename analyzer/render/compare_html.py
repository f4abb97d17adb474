"""The comparison as one self-contained HTML page (``dlreport compare ... -f html``).

Verdict first, then a table of every matched run, then for each run the baseline's and the
candidate's curves overlaid (training loss, validation loss). Rendered with the one jinja
environment, filters and CSS of :mod:`analyzer.htmlreport` (autoescaped: run names and paths
come from the user); the numbers come from the :class:`~analyzer.compare.Comparison`, the
curves from the runs' tidy frames. Nothing here computes a statistic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..compare import Comparison, RunComparison
from ..model import Run
from .charts import Chart, Line
from .environment import ENV, fmt_step
from .run_charts import SMOOTHING, Plot
from .svg_chart import chart_uri

# The candidate in the role's colour (as in the report), the baseline grey and dashed.
_ROLE_COLOUR = {"train_loss": 0, "val_loss": 1}
_BASELINE_COLOUR = 4
_CURVES = (("train_loss", "training loss"), ("val_loss", "validation loss"))
_VERDICT_ORDER = {"regressed": 0, "improved": 1, "same": 2}


@dataclass(frozen=True, slots=True)
class RunRow:
    """One matched run: its comparison, an anchor, and its overlaid curves."""

    c: RunComparison
    anchor: str
    plots: tuple[tuple[str, Plot], ...]  # (what, chart), training loss then validation loss


def _pick(runs: Mapping[str, Run], name: str) -> Run | None:
    """The run named ``name``; else the only run (two single-run directories were matched to
    each other whatever their names, see :func:`analyzer.compare.compare`)."""
    if name in runs:
        return runs[name]
    return next(iter(runs.values())) if len(runs) == 1 else None


def overlay_plot(
    role: str, what: str, baseline: Run | None, candidate: Run | None, c: RunComparison
) -> Plot | None:
    """Baseline and candidate curves of one role on one chart.

    On the outcome's curve, a dotted line marks the baseline's best value and a dashed one the
    step where the candidate first reached it.
    """
    lines: list[Line] = []
    legend: list[tuple[str, int, str]] = []
    for side, run, colour, dashed in (
        ("baseline", baseline, _BASELINE_COLOUR, True),
        ("candidate", candidate, _ROLE_COLOUR[role], False),
    ):
        s = run.series(role) if run is not None else None
        if s is None or s.empty:
            continue
        # Smoothed as TensorBoard does, so the baseline is not hidden under the other's noise.
        lines.append(Line(s.index.to_numpy(), s.to_numpy(dtype=float), colour=colour,
                          dashed=dashed, smooth=SMOOTHING if len(s) >= 50 else 0.0))  # fmt: skip
        legend.append((f"{side}: {run.roles[role]}", colour, "left"))  # type: ignore[union-attr]
    if not lines:
        return None
    is_outcome = c.outcome == f"best_{role}" and c.baseline_value is not None
    marks: list[tuple[str, int]] = []
    if is_outcome and c.steps_to_baseline_best is not None:
        marks = [("steps_to_baseline_best", c.steps_to_baseline_best)]
    chart = Chart(
        lines=lines,
        marks=[step for _, step in marks],
        levels=[c.baseline_value] if is_outcome and c.baseline_value is not None else [],
        ylabel=what,
        # Losses on a log axis: a candidate's spikes would squash the baseline's curve flat.
        log_left=True if role.endswith("loss") else None,
    )
    alt = f"{what} by step, baseline (dashed) and candidate"
    if any(line.smooth for line in lines):
        alt += f", smoothed (EMA, weight {SMOOTHING}) over the faint raw values"
    if marks:
        alt += f"; candidate reaches the baseline's best at step {fmt_step(marks[0][1])}"
    return Plot(uri=chart_uri(chart), alt=alt, legend=tuple(legend), marks=tuple(marks))


def page_data(
    c: Comparison, baseline_runs: Mapping[str, Run], candidate_runs: Mapping[str, Run]
) -> dict[str, object]:
    """Everything ``compare.html.j2`` needs."""
    rows = []
    # Regressions first, as the report puts its worst runs first: they are what a reviewer
    # must look at. The JSON and Markdown keep the comparison's order (by name).
    ordered = sorted(c.runs, key=lambda r: (_VERDICT_ORDER[r.verdict], r.run))
    for i, r in enumerate(ordered, start=1):
        b, k = _pick(baseline_runs, r.run), _pick(candidate_runs, r.run)
        plots = tuple(
            (what, plot)
            for role, what in _CURVES
            if (plot := overlay_plot(role, what, b, k, r)) is not None
        )
        rows.append(RunRow(c=r, anchor=f"run-{i}", plots=plots))
    verdicts = ("regressed", "improved", "same")
    counts = {v: sum(1 for r in c.runs if r.verdict == v) for v in verdicts}
    return {
        "c": c,
        "tool_version": c.tool_version,
        "rows": tuple(rows),
        "counts": counts,
    }


def render(
    c: Comparison,
    baseline_runs: Mapping[str, Run] | None = None,
    candidate_runs: Mapping[str, Run] | None = None,
) -> str:
    """The comparison page (without the runs' data: tables only, no curves)."""
    return ENV.get_template("compare.html.j2").render(
        **page_data(c, baseline_runs or {}, candidate_runs or {})
    )
