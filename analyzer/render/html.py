"""The HTML report: self-contained pages (inline CSS, SVG data-URI plots, no script).

One file with every run (:func:`render`), or, for many runs, a folder of pages
(:mod:`.site`): an index (:func:`render_index`) and one page per run
(:func:`render_run_page`), rendered from the same templates and records.

Two steps, as in coverage.py's HTML reporter: :func:`page_data` turns the report and the runs'
tidy frames into template-ready records (the grouping of the summary, the run-table
orderings; each run's charts from :mod:`.run_charts`, the cross-run section from
:mod:`.crossrun_view`), then ``templates/report.html.j2`` lays them out. Nothing here computes
a statistic: the numbers come from the report and the runs' measures, the lines from the tidy
frames (see ARCHITECTURE 3.2).

The one jinja environment (:mod:`.environment`, shared with the Markdown renderer) autoescapes
``.html.j2`` templates, since run and tag names come from user files, and fails on an undefined
name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from ..diagnostics import REGISTRY
from ..model import Advice, Finding, Report, Run, RunReport
from .crossrun_view import cross_run_view, experiment_views, sweep_scale
from .environment import ENV, SEVERITIES
from .hparams_table import hparam_table
from .run_charts import (
    SMOOTHING,
    Distribution,
    Plot,
    RunPlots,
    Tile,
    finding_plot,
    overview_plot,
    run_plots,
    tiles,
)

# Re-exported: the page's parts, made in their own modules, named from here as before.
__all__ = [
    "SMOOTHING",
    "Distribution",
    "Plot",
    "RunPlots",
    "Tile",
    "cross_run_view",
    "experiment_views",
    "finding_plot",
    "overview_plot",
    "run_plots",
    "sweep_scale",
    "tiles",
]

# ---------------------------------------------------------------------------------------------
# Template-ready records.


@dataclass(frozen=True, slots=True)
class FindingView:
    """A finding, what its diagnostic checks, and its annotated chart."""

    finding: Finding
    anchor: str
    doc: str
    plot: Plot | None


@dataclass(frozen=True, slots=True)
class MetricRow:
    """A quality metric's line in the performance table."""

    metric: str
    tag: str
    final: object
    best: object
    best_step: object


@dataclass(frozen=True, slots=True)
class RunView:
    """Everything the run section shows."""

    report: RunReport
    anchor: str
    counts: Mapping[str, int]
    top: Finding | None
    top_advice: Advice | None
    metrics: tuple[MetricRow, ...]
    groups: tuple[tuple[str, tuple[tuple[str, object], ...]], ...]
    overview: Plot | None
    findings: tuple[FindingView, ...]
    finding_anchors: Mapping[str, str]  # code -> its first card, for advice's "because"
    hparams: tuple[tuple[str, object], ...]
    tiles: tuple[Tile, ...]
    has_data: bool  # the tidy frames were given (plots and hparams can be shown)
    href: str = ""  # where the run table links: "#<anchor>" on one page, the run's own page
    texts: tuple[tuple[str, str], ...] = ()  # text tags (HF training arguments) and their text
    distributions: tuple[Distribution, ...] = ()


@dataclass(frozen=True, slots=True)
class Ordering:
    """The run table sorted one way; all orderings are rendered, CSS shows one (no script)."""

    key: str
    title: str
    rows: tuple[RunView, ...]


_WORST_FIRST = {"error": 0, "warning": 1, "info": 2, "ok": 3}

# ---------------------------------------------------------------------------------------------
# The summary, grouped for reading.

_METRIC_KEY = re.compile(r"^(?P<kind>final|best)_(?P<metric>.+?)(?P<step>_step)?$")
_QUALITY = re.compile(r"^(?:train|val)_(?:loss|accuracy|precision|recall|f1)(?:_computed)?$")
_GROUPS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("Speed", lambda k: bool(re.search(r"wall_time|steps_per_s|stall|time_per|throughput", k))),
    ("Memory", lambda k: "memory" in k),
    ("Learning rate", lambda k: "learning_rate" in k),
    ("Convergence", lambda k: bool(re.search(r"convergence|projected|still_improving", k))),
    ("Progress", lambda k: True),
)


def summary_tables(
    summary: Mapping[str, object], roles: Mapping[str, str]
) -> tuple[tuple[MetricRow, ...], tuple[tuple[str, tuple[tuple[str, object], ...]], ...]]:
    """Quality metrics as rows (final, best, best step), the other fields grouped by topic."""
    metrics: dict[str, dict[str, object]] = {}
    rest: list[str] = []
    for key in summary:
        m = _METRIC_KEY.match(key)
        if m and _QUALITY.match(m["metric"]):
            slot = "best_step" if m["step"] else m["kind"]
            metrics.setdefault(m["metric"], {})[slot] = summary[key]
        else:
            rest.append(key)
    rows = tuple(
        MetricRow(
            metric=metric,
            tag=roles.get(metric, "2PR/(P+R)" if metric.endswith("_computed") else ""),
            final=v.get("final"),
            best=v.get("best"),
            best_step=v.get("best_step"),
        )
        for metric, v in metrics.items()
    )
    grouped: dict[str, list[tuple[str, object]]] = {}
    for key in rest:
        name = next(name for name, test in _GROUPS if test(key))
        grouped.setdefault(name, []).append((key, summary[key]))
    order = [name for name, _ in _GROUPS]
    groups = tuple(
        (name, tuple(grouped[name]))
        for name in sorted(grouped, key=lambda n: (n != "Progress", order.index(n)))
    )
    return rows, groups


# ---------------------------------------------------------------------------------------------
# The page.


def run_view(index: int, r: RunReport, plots: RunPlots | None) -> RunView:
    """The template-ready record of one run (text only when there are no plots)."""
    anchor = f"run-{index}"
    counts = {s: sum(1 for f in r.findings if f.severity == s) for s in SEVERITIES}
    metrics, groups = summary_tables(r.summary, r.roles)
    finding_plots = plots.findings if plots is not None else (None,) * len(r.findings)
    findings = tuple(
        FindingView(
            finding=f,
            anchor=f"{anchor}-finding-{j}",
            doc=REGISTRY[f.code].doc if f.code in REGISTRY else _NO_SIGNAL_DOC,
            plot=plot,
        )
        for j, (f, plot) in enumerate(zip(r.findings, finding_plots, strict=True), start=1)
    )
    return RunView(
        report=r,
        anchor=anchor,
        counts=counts,
        top=r.findings[0] if r.findings else None,
        top_advice=r.advice[0] if r.advice else None,
        metrics=metrics,
        groups=groups,
        overview=plots.overview if plots is not None else None,
        findings=findings,
        finding_anchors={fv.finding.code: fv.anchor for fv in reversed(findings)},
        hparams=plots.hparams if plots is not None else (),
        texts=plots.texts if plots is not None else (),
        distributions=plots.distributions if plots is not None else (),
        tiles=plots.tiles if plots is not None else (),
        has_data=plots is not None,
        href=f"#{anchor}",
    )


_NO_SIGNAL_DOC = (
    "Whether the series each diagnostic needs were logged (the finding lists what was missing "
    "and which diagnostics were skipped)."
)


def _none_last(value: object, descending: bool = False) -> tuple[int, float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return (0, -float(value) if descending else float(value))
    return (1, 0.0)


def orderings(views: Sequence[RunView]) -> tuple[Ordering, ...]:
    """The run table sorted by each column; the default (worst status first) comes last."""

    def summary(key: str) -> Callable[[RunView], object]:
        return lambda v: v.report.summary.get(key)

    specs: list[tuple[str, str, Callable[[RunView], object]]] = [
        ("run", "run name, A–Z", lambda v: v.report.run),
        ("steps", "steps, most first", lambda v: _none_last(summary("steps")(v), True)),
        (
            "train",
            "final train loss, lowest first",
            lambda v: _none_last(v.report.summary.get("final_train_loss")),
        ),
        (
            "val",
            "best validation loss, lowest first",
            lambda v: _none_last(v.report.summary.get("best_val_loss")),
        ),
        ("time", "wall time, longest first", lambda v: _none_last(summary("wall_time_s")(v), True)),
        (
            "findings",
            "findings, most serious first",
            lambda v: tuple(-v.counts[s] for s in SEVERITIES),
        ),
        ("status", "status, worst first", lambda v: (_WORST_FIRST[v.report.status], v.report.run)),
    ]
    return tuple(
        Ordering(key=key, title=title, rows=tuple(sorted(views, key=sort_key)))  # type: ignore[arg-type]
        for key, title, sort_key in specs
    )


# ---------------------------------------------------------------------------------------------
# Pages.


def page_data(
    report: Report, runs: Mapping[str, Run | RunPlots] | None = None
) -> dict[str, object]:
    """Everything ``report.html.j2`` needs."""
    runs = runs or {}
    views = []
    for i, r in enumerate(report.runs, start=1):
        data = runs.get(r.run)
        plots = run_plots(r, data) if isinstance(data, Run) else data
        views.append(run_view(i, r, plots))
    totals = {s: sum(1 for v in views if v.report.status == s) for s in (*SEVERITIES, "ok")}
    # Sections in the default table order, worst run first: a doctor starts with the ill.
    views.sort(key=lambda v: (_WORST_FIRST[v.report.status], v.report.run))
    return {
        "report": report,
        "tool_version": report.tool_version,
        "runs": tuple(views),
        "totals": totals,
        "orderings": orderings(views) if len(views) > 1 else (),
        "severities": SEVERITIES,
        "experiments": experiment_views(report, {v.report.run: v.href for v in views}),
        "hparam_table": hparam_table(report, {v.report.run: v.href for v in views}),
        "slots": False,
    }


def render(report: Report, runs: Mapping[str, Run | RunPlots] | None = None) -> str:
    """The HTML report.

    ``runs`` maps a run name to its :class:`~analyzer.model.Run` (tidy frames) or to the
    :class:`RunPlots` already drawn from them; it brings the charts and hparams. Without it
    the report is text only.
    """
    return ENV.get_template("report.html.j2").render(**page_data(report, runs))


def index_data(report: Report, hrefs: Mapping[str, str]) -> dict[str, object]:
    """Everything ``index.html.j2`` needs (``hrefs``: run name -> its page, relative)."""
    views = [
        replace(run_view(i, r, None), href=hrefs[r.run]) for i, r in enumerate(report.runs, start=1)
    ]
    views.sort(key=lambda v: (_WORST_FIRST[v.report.status], v.report.run))
    return {
        "report": report,
        "tool_version": report.tool_version,
        "n_runs": len(views),
        "totals": {s: sum(1 for v in views if v.report.status == s) for s in (*SEVERITIES, "ok")},
        # One run still gets its table row here: the table is the only way to its page.
        "orderings": orderings(views),
        "severities": SEVERITIES,
        "experiments": experiment_views(report, hrefs),
        "hparam_table": hparam_table(report, hrefs),
    }


def render_index(report: Report, hrefs: Mapping[str, str]) -> str:
    """The index page of a report folder: the run table (linking to each run's page), the
    cross-run section."""
    return ENV.get_template("index.html.j2").render(**index_data(report, hrefs))


@dataclass(frozen=True, slots=True)
class PageMeta:
    """What a run page says about the report it belongs to (known before any run is read)."""

    generated_at: str
    tool_version: str
    index_href: str = "../index.html"


def render_run_page(
    report: RunReport, run: Run | RunPlots | None, meta: PageMeta, *, slots: bool = True
) -> str:
    """One run's own page, linking back to the index.

    With ``slots`` its advice parts are wrapped in marker comments, for
    :func:`replace_advice` to redo once every run is in (cross-run evidence adds advice).
    """
    plots = run_plots(report, run) if isinstance(run, Run) else run
    return ENV.get_template("run.html.j2").render(
        run=run_view(1, report, plots),
        severities=SEVERITIES,
        slots=slots,
        generated_at=meta.generated_at,
        tool_version=meta.tool_version,
        index_href=meta.index_href,
    )


_SLOTS = {
    "top-advice": "top_advice",
    "advice": "advice_section",
}


def replace_advice(page: str, report: RunReport) -> str:
    """The page of :func:`render_run_page` with its advice parts redone from ``report``.

    Only the marked slots change; the markers can come from the template alone, since
    autoescaping turns any "<" of a run or tag name into "&lt;".
    """
    view = run_view(1, report, None)  # the anchors of findings do not depend on the charts
    macros = ENV.get_template("_advice.html.j2").module
    for slot, macro in _SLOTS.items():
        start, end = f"<!--dlreport:{slot}-->", f"<!--/dlreport:{slot}-->"
        a, b = page.index(start) + len(start), page.index(end)
        page = page[:a] + str(getattr(macros, macro)(view)) + page[b:]
    return page
