"""The cross-run section of the HTML report: the outcome against each hyperparameter."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from ..crossrun import hparam
from ..model import CrossRun, Point, Report
from .environment import fmt_num, label
from .sweep_chart import Scale, Sweep, sweep_uri

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
