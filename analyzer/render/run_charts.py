"""What the HTML report draws from one run's tidy frames: small, picklable records.

:func:`run_plots` turns a :class:`~analyzer.model.Run` into a :class:`RunPlots` (the overview
and each finding's chart, a sparkline per scalar tag, the distributions of histogram tags, the
hparams and texts): it can run in a pool worker, so the frames never travel. The choice of
series for a chart is the presentation's (a finding declares its series in ``Finding.chart``);
the numbers are the run's measures, never computed here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..measures import histogram_bands, histogram_tags, step_rate
from ..model import Finding, Run, RunReport
from .charts import Chart, Line, data_uri, distribution_svg
from .environment import fmt_step, fmt_steps
from .sparkline import sparkline
from .svg_chart import chart_uri

# No matplotlib here: the line charts are SVG written by hand (.svg_chart); matplotlib is
# imported only when a run has histograms to draw as distributions (charts.distribution_svg).


@dataclass(frozen=True, slots=True)
class Plot:
    """A chart and the words around it (legend and alt text are HTML, never in the SVG)."""

    uri: str
    alt: str
    legend: tuple[tuple[str, int, str], ...]  # (label, colour index, "left" | "right")
    marks: tuple[tuple[str, int], ...] = ()  # (evidence key, step) drawn as dashed lines
    nonfinite: bool = False  # some values are NaN/Inf (a red rug under the line)


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
    was most of the time and the size of a report of many runs (see :mod:`.sparkline`).
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
    out = []
    for tag in histogram_tags(run)[:MAX_DISTRIBUTIONS]:
        bands = histogram_bands(run, tag)  # the steps whose histogram has every percentile
        if bands.steps.size < 2:
            continue
        out.append(
            Distribution(
                tag=tag,
                steps=int(bands.steps.size),
                first_step=int(bands.steps[0]),
                last_step=int(bands.steps[-1]),
                uri=data_uri(distribution_svg(bands.steps, bands.quantiles)),
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class RunPlots:
    """What the HTML report draws from a run's tidy frames: small, picklable, data-free.

    Made by :func:`run_plots`, which :func:`analyzer.pipeline.build_analysis` can call in each
    worker (``per_run=run_plots``), so a logdir of many large runs is never held in memory.
    """

    overview: Plot | None
    findings: tuple[Plot | None, ...]  # one per finding of the run's report, in order
    tiles: tuple[Tile, ...]
    hparams: tuple[tuple[str, object], ...]
    texts: tuple[tuple[str, str], ...] = ()  # text tags and their last text
    distributions: tuple[Distribution, ...] = ()


def run_plots(report: RunReport, run: Run) -> RunPlots:
    """Every chart of one run (``per_run`` of :func:`analyzer.pipeline.build_analysis`)."""
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
