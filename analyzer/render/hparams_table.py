"""The runs × hyperparameters × outcome table of a report of many runs (sortable, no script).

One row per run, one column per hyperparameter whose value differs between runs, then the
outcome the cross-run evidence uses. Every ordering is rendered and CSS shows the one the URL
fragment names (as the run table does): the report's strict CSP allows no script.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from ..crossrun import OUTCOMES
from ..model import Report, RunReport

MAX_COLUMNS = 10  # hyperparameters shown; HF Trainer logs ~100, most constant across a sweep


@dataclass(frozen=True, slots=True)
class HparamRow:
    report: RunReport
    href: str | None
    values: tuple[object, ...]  # one per column, None when the run lacks it
    outcome: float | None


@dataclass(frozen=True, slots=True)
class HparamOrdering:
    key: str  # the id suffix: "run", "outcome", or "h<i>"
    title: str
    rows: tuple[HparamRow, ...]


@dataclass(frozen=True, slots=True)
class HparamTable:
    columns: tuple[str, ...]
    outcome: str
    orderings: tuple[HparamOrdering, ...]  # the default (best outcome first) last
    hidden: int  # varying hyperparameters beyond MAX_COLUMNS


def _number(v: object) -> float | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
        return float(v)
    return None


def _sort_key(v: object) -> tuple[int, float | str]:
    n = _number(v)
    if n is not None:
        return (0, n)
    return (1, str(v)) if v is not None else (2, "")


def hparam_table(report: Report, hrefs: Mapping[str, str]) -> HparamTable | None:
    """The table, or None for fewer than 2 runs or no hyperparameter that varies."""
    runs: Sequence[RunReport] = report.runs
    if len(runs) < 2:
        return None
    keys = sorted({k for r in runs for k in r.hparams})
    varying = [k for k in keys if len({str(r.hparams.get(k)) for r in runs}) > 1]
    if not varying:
        return None
    columns = tuple(varying[:MAX_COLUMNS])
    outcome = next(
        (k for k in OUTCOMES if sum(_number(r.summary.get(k)) is not None for r in runs) >= 2),
        OUTCOMES[0],
    )
    rows = [
        HparamRow(
            report=r,
            href=hrefs.get(r.run),
            values=tuple(r.hparams.get(k) for k in columns),
            outcome=_number(r.summary.get(outcome)),
        )
        for r in runs
    ]
    specs: list[tuple[str, str, Callable[[HparamRow], Any]]] = [
        ("run", "run name, A–Z", lambda h: h.report.run)
    ]
    for i, name in enumerate(columns):
        specs.append((f"h{i}", f"{name}, ascending", partial(_column_key, i)))
    specs.append(("outcome", "outcome, best first", _outcome_key))
    orderings = tuple(
        HparamOrdering(key, title, tuple(sorted(rows, key=partial(_row_key, f))))
        for key, title, f in specs
    )
    return HparamTable(
        columns=columns,
        outcome=outcome,
        orderings=orderings,
        hidden=len(varying) - len(columns),
    )


def _column_key(i: int, h: HparamRow) -> Any:
    return _sort_key(h.values[i])


def _outcome_key(h: HparamRow) -> Any:
    return _sort_key(h.outcome)


def _row_key(f: Callable[[HparamRow], Any], h: HparamRow) -> tuple[Any, str]:
    return (f(h), h.report.run)
