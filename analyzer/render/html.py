"""The HTML report: self-contained pages (inline CSS, SVG data-URI plots, no script).

One file with every run (:func:`render`), or, for many runs, a folder of pages
(:mod:`analyzer.htmlsite`): an index (:func:`render_index`) and one page per run
(:func:`render_run_page`), rendered from the same templates and records.

Two steps, as in coverage.py's HTML reporter: :func:`page_data` turns the report and the runs'
tidy frames into template-ready records (the choice of series to plot for each finding, the
grouping of the summary, the run-table orderings), then ``templates/report.html.j2`` lays them
out. Nothing here computes a statistic: the numbers come from the report, the lines from the
tidy frames (see ARCHITECTURE 3.2).

The one jinja environment (:mod:`.environment`, shared with the Markdown renderer) autoescapes
``.html.j2`` templates, since run and tag names come from user files, and fails on an undefined
name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..crossrun import hparam
from ..diagnostics import REGISTRY
from ..measures import step_rate
from ..model import Advice, CrossRun, Finding, Point, Report, Run, RunReport
from .charts import (
    Chart,
    Line,
    Scale,
    Sweep,
    chart_uri,
    data_uri,
    distribution_svg,
    histogram_quantiles,
    sparkline,
    sweep_uri,
)
from .environment import ENV, SEVERITIES, fmt_num, fmt_step, fmt_steps, label
from .hparams_table import hparam_table

# ---------------------------------------------------------------------------------------------
# Template-ready records.


@dataclass(frozen=True, slots=True)
class Plot:
    """A chart and the words around it (legend and alt text are HTML, never in the SVG)."""

    uri: str
    alt: str
    legend: tuple[tuple[str, int, str], ...]  # (label, colour index, "left" | "right")
    marks: tuple[tuple[str, int], ...] = ()  # (evidence key, step) drawn as dashed lines
    nonfinite: bool = False  # some values are NaN/Inf (a red rug under the line)


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
class Tile:
    """One scalar tag in the appendix: a sparkline, its y range, and where it starts and ends."""

    tag: str
    points: int
    first_step: int
    last_step: int
    last_value: float
    uri: str
    alt: str
    lo: float | None  # the sparkline's y range (None: no finite value to draw)
    hi: float | None
    log: bool


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
# Which series a finding is about (the presentation's choice; the diagnostics do not plot).



# A role keeps its colour in every chart of the page (the training loss is always blue).
_ROLE_COLOURS = {
    "train_loss": 0,
    "train_accuracy": 0,
    "val_loss": 1,
    "val_accuracy": 1,
    "grad_norm": 3,
    "learning_rate": 4,
}


@dataclass(frozen=True, slots=True)
class _Series:
    label: str
    steps: np.ndarray
    values: np.ndarray
    axis: str = "left"
    role: str | None = None


def _tag(run: Run, tag: str, axis: str = "left") -> _Series | None:
    s = run.tag_series(tag)
    if not len(s):
        return None
    role = next((r for r, t in run.roles.items() if t == tag and r in _ROLE_COLOURS), None)
    return _Series(tag, s.index.to_numpy(), s.to_numpy(dtype=float), axis, role)


def _colours(series: Sequence[_Series]) -> list[int]:
    """Each series' palette index: its role's colour unless taken, else the first free one."""
    taken: list[int] = []
    for s in series:
        want = _ROLE_COLOURS.get(s.role or "", 2)
        free = [c for c in (want, 2, 0, 1, 3, 4) if c not in taken]
        taken.append(free[0] if free else len(taken))
    return taken


def _role(run: Run, role: str, axis: str = "left") -> _Series | None:
    tag = run.roles.get(role)
    return _tag(run, tag, axis) if tag else None


def _finding_series(run: Run, f: Finding) -> list[_Series]:
    """The series the finding's diagnostic declared for its chart (``Finding.chart``).

    The first is the judged one, on the left axis; a later one shares that axis when it is
    the same kind (a loss beside a loss), else it goes to the right (a loss beside an
    accuracy, a learning rate beside a loss). "steps/s" is the run's measured step rate.
    """
    out: list[_Series | None] = []
    for i, tag in enumerate(f.chart):
        same_kind = i == 0 or ("loss" in tag.lower()) == ("loss" in f.chart[0].lower())
        axis = "left" if same_kind else "right"
        if tag == "steps/s" and tag not in run.roles.values():
            rate = step_rate(run)  # memoised on the run: the numbers the diagnostic judged
            if rate is not None:
                out.append(
                    _Series("steps/s", rate.index.to_numpy(), rate.to_numpy(dtype=float), axis)
                )
        else:
            out.append(_tag(run, tag, axis))
    return [s for s in out if s is not None]


def _marks(evidence: Mapping[str, object], steps: tuple[int, int] | None) -> list[tuple[str, int]]:
    """Steps named in the evidence (best step, first NaN, largest spike), other than the span."""
    ends = set(steps or ())
    named: dict[int, str] = {}
    for key, value in evidence.items():
        is_step = isinstance(value, int) and not isinstance(value, bool)
        if key.endswith("_step") and is_step and value not in ends:
            named.setdefault(value, key)  # type: ignore[arg-type]
    return sorted(((key, step) for step, key in named.items()), key=lambda m: m[1])


def _plot(
    series: Sequence[_Series], chart: Chart, what: str, marks: Sequence[tuple[str, int]] = ()
) -> Plot:
    colours = _colours(series)
    legend = tuple((s.label, c, s.axis) for s, c in zip(series, colours, strict=True))
    names = ", ".join(s.label for s in series)
    lines = [replace(line, colour=c) for line, c in zip(chart.lines, colours, strict=True)]
    return Plot(
        uri=chart_uri(replace(chart, lines=lines)),
        alt=f"{names} by step{what}",
        legend=legend,
        marks=tuple(marks),
        nonfinite=any(not np.isfinite(s.values).all() for s in series),
    )


# TensorBoard's default smoothing weight, applied to loss curves long enough to be noisy.
SMOOTHING = 0.6
_SMOOTHED_ROLES = ("train_loss",)
_MIN_POINTS_SMOOTHED = 50


def _smoothed(s: _Series) -> bool:
    return s.role in _SMOOTHED_ROLES and s.values.size >= _MIN_POINTS_SMOOTHED


def _lines(series: Sequence[_Series]) -> list[Line]:
    return [
        Line(
            s.steps,
            s.values,
            "right" if s.axis == "right" else "left",
            smooth=SMOOTHING if _smoothed(s) else 0.0,
        )
        for s in series
    ]


def finding_plot(run: Run, f: Finding) -> Plot | None:
    """The chart of a finding: its series, the steps it covers shaded, named steps marked."""
    series = _finding_series(run, f)
    if not series:
        return None
    log = None  # the chart decides from the data's range
    marks = _marks(f.evidence, f.steps)
    chart = Chart(
        lines=_lines(series),
        spans=[f.steps] if f.steps else [],
        marks=[step for _, step in marks],
        log_left=log,
    )
    what = f"; shaded: {fmt_steps(f.steps)}" if f.steps else ""
    return _plot(series, chart, what, marks)


def overview_plot(run: Run, summary: Mapping[str, object]) -> Plot | None:
    """The run at a glance: training and validation loss, the best validation step marked."""
    series = [s for s in (_role(run, "train_loss"), _role(run, "val_loss")) if s is not None]
    if not series:
        series = [
            s for s in (_role(run, "train_accuracy"), _role(run, "val_accuracy")) if s is not None
        ]
    if not series:
        return None
    best = summary.get("best_val_step")
    marks = (
        [("best_val_step", best)] if isinstance(best, int) and not isinstance(best, bool) else []
    )
    what = f"; dashed: best validation step {fmt_step(best)}" if marks else ""
    if any(_smoothed(s) for s in series):
        what += f"; training loss smoothed (EMA, weight {SMOOTHING}) over the faint raw values"
    ylabel = "loss" if series[0].role in ("train_loss", "val_loss") else "accuracy"
    chart = Chart(lines=_lines(series), marks=[step for _, step in marks], ylabel=ylabel)
    return _plot(series, chart, what, marks)


def tiles(run: Run) -> tuple[Tile, ...]:
    """Every scalar tag as a sparkline, sorted by tag.

    Sparklines, not matplotlib charts: a run logs a dozen tags or more, and a figure per tag
    was most of the time and the size of a report of many runs (see :func:`plots.sparkline`).
    """
    if run.scalars.empty:
        return ()
    out = []
    role_of = {t: r for r, t in run.roles.items() if r in _ROLE_COLOURS}
    # observed=True: the tag column may be categorical, with categories this run lacks.
    groups = dict(list(run.scalars.groupby("tag", sort=False, observed=True)))
    for tag in sorted(groups, key=str):  # by name, whatever the categories' order
        rows = groups[tag].sort_values("step", kind="stable")
        steps = rows["step"].to_numpy()
        values = rows["value"].to_numpy(dtype=float)
        colour = _ROLE_COLOURS.get(role_of.get(str(tag), ""), 2)
        spark = sparkline(steps, values, colour)
        out.append(
            Tile(
                tag=str(tag),
                points=int(steps.size),
                first_step=int(steps[0]),
                last_step=int(steps[-1]),
                last_value=float(values[-1]),
                uri=spark.uri,
                alt=f"{tag} by step" + ("" if np.isfinite(values).all() else "; NaN/Inf marked"),
                lo=spark.lo,
                hi=spark.hi,
                log=spark.log,
            )
        )
    return tuple(out)


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


@dataclass(frozen=True, slots=True)
class Distribution:
    """A histogram tag over steps as nested percentile bands (TensorBoard's distributions)."""

    tag: str
    steps: int
    first_step: int
    last_step: int
    uri: str


MAX_DISTRIBUTIONS = 12  # charts per run; a model logs one histogram per layer and kind


def distributions(run: Run) -> tuple[Distribution, ...]:
    """Every histogram tag logged at two steps or more, as distribution bands."""
    h = run.histograms
    if h.empty:
        return ()
    out = []
    groups = dict(list(h.groupby("tag", sort=False, observed=True)))
    for tag in sorted(groups, key=str)[:MAX_DISTRIBUTIONS]:
        rows = groups[tag].sort_values("step", kind="stable")
        if len(rows) < 2:
            continue
        pairs = zip(rows["edges"], rows["counts"], strict=True)
        q = np.array([histogram_quantiles(e, c) for e, c in pairs])
        steps = rows["step"].to_numpy()
        ok = np.isfinite(q).all(axis=1)
        if ok.sum() < 2:
            continue
        out.append(
            Distribution(
                tag=str(tag),
                steps=int(ok.sum()),
                first_step=int(steps[ok][0]),
                last_step=int(steps[ok][-1]),
                uri=data_uri(distribution_svg(steps[ok], q[ok])),
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class RunPlots:
    """What the HTML report draws from a run's tidy frames: small, picklable, data-free.

    Made by :func:`run_plots`, which :func:`analyzer.report.build_analysis` can call in each
    worker (``per_run=run_plots``), so a logdir of many large runs is never held in memory.
    """

    overview: Plot | None
    findings: tuple[Plot | None, ...]  # one per finding of the run's report, in order
    tiles: tuple[Tile, ...]
    hparams: tuple[tuple[str, object], ...]
    texts: tuple[tuple[str, str], ...] = ()  # text tags and their last text
    distributions: tuple[Distribution, ...] = ()


def run_plots(report: RunReport, run: Run) -> RunPlots:
    """Every chart of one run (the ``per_run`` hook of :func:`analyzer.report.build_analysis`)."""
    return RunPlots(
        overview=overview_plot(run, report.summary),
        findings=tuple(finding_plot(run, f) for f in report.findings),
        tiles=tiles(run),
        hparams=tuple(sorted(run.hparams.items())),
        texts=tuple((tag, _clip(text)) for tag, text in sorted(run.texts.items())),
        distributions=distributions(run),
    )


MAX_TEXT = 20_000  # characters of one logged text shown (HF's arguments are ~5,000)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else f"{text[:MAX_TEXT]}\n… ({len(text):,} characters)"


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
# Across runs: the outcome against each hyperparameter that varies.

# Hyperparameters whose values are tried by factors (1e-4, 3e-4, 1e-3 ...): a log axis.
_LOG_HPARAMS = ("learning_rate", "weight_decay", "batch_size")


@dataclass(frozen=True, slots=True)
class PointRow:
    """One value of a hyperparameter in the cross-run table."""

    point: Point
    best: bool  # the value whose runs did best on average
    href: str | None  # link to the run that did best with this value


@dataclass(frozen=True, slots=True)
class SweepView:
    """One hyperparameter: its chart and its table."""

    name: str
    scale: Scale
    uri: str
    alt: str
    best: float | str | None
    rows: tuple[PointRow, ...]
    dots: int  # runs drawn


@dataclass(frozen=True, slots=True)
class CrossRunView:
    """The cross-run section."""

    evidence: CrossRun
    sweeps: tuple[SweepView, ...]
    anchor: str = "cross-run"  # the section's id (one per experiment)
    titled: bool = False  # several experiments: each section names its own


def sweep_scale(name: str, values: Sequence[float | str]) -> Scale:
    """The x axis for a hyperparameter: categories for names, log for rates, else linear."""
    if any(isinstance(v, str) for v in values):
        return "category"
    numbers = [float(v) for v in values]
    if name in _LOG_HPARAMS and numbers and min(numbers) > 0:
        return "log"
    if name in _LOG_HPARAMS and numbers and min(numbers) == 0 and max(numbers) > 0:
        return "symlog"  # weight decay 0 next to 1e-4, 1e-2: log beyond the smallest step
    return "linear"


def experiment_views(report: Report, hrefs: Mapping[str, str]) -> tuple[CrossRunView, ...]:
    """One cross-run section per experiment with evidence (runs compared within it only)."""
    found = report.experiments or ((report.cross_run,) if report.cross_run else ())
    views = []
    for i, evidence in enumerate(found):
        view = cross_run_view(report, hrefs, evidence)
        if view is not None:
            anchor = "cross-run" if i == 0 else f"cross-run-{i + 1}"
            views.append(replace(view, anchor=anchor, titled=len(found) > 1))
    return tuple(views)


def cross_run_view(
    report: Report, hrefs: Mapping[str, str], evidence: CrossRun | None = None
) -> CrossRunView | None:
    """The cross-run section's charts and tables (``hrefs``: run name -> link to it)."""
    evidence = evidence or report.cross_run
    if evidence is None:
        return None
    members = set(evidence.members)
    sweeps = []
    for name, points in evidence.by_hparam.items():
        values = [p.value for p in points]
        known = set(values)
        dots = []
        for r in report.runs:
            if members and r.run not in members:
                continue  # another experiment's run
            # The run's value under any alias, as the cross-run evidence read it.
            value = hparam(r.hparams, name)
            outcome = r.summary.get(evidence.outcome)
            is_number = isinstance(outcome, (int, float)) and not isinstance(outcome, bool)
            if value in known and is_number and math.isfinite(outcome):  # type: ignore[arg-type]
                dots.append((value, float(outcome)))  # type: ignore[arg-type]
        best = evidence.best.get(name)
        scale = sweep_scale(name, values)
        sweep = Sweep(
            values=values,
            mean=[p.mean for p in points],
            std=[p.std for p in points],
            runs=dots,
            best=best,
            scale=scale,
        )
        what = label(evidence.outcome)
        axis = {"log": " (log scale)", "symlog": " (log scale beyond 0)"}.get(scale, "")
        sweeps.append(
            SweepView(
                name=name,
                scale=scale,
                uri=sweep_uri(sweep),
                alt=f"{what} against {label(name)}{axis}: {len(dots)} runs as dots, the mean "
                f"per value as a line, mean ± std as a band"
                + (f"; best value {fmt_num(best)}" if best is not None else ""),
                best=best,
                rows=tuple(
                    PointRow(point=p, best=p.value == best, href=hrefs.get(p.best_run))
                    for p in points
                ),
                dots=len(dots),
            )
        )
    return CrossRunView(evidence=evidence, sweeps=tuple(sweeps))


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
