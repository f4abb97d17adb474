"""The records that flow from the diagnostics to the renderers (frozen, plain values only).

They mirror ``shared/spec/report-json.md`` field for field, so :mod:`analyzer.render.json` is
mechanical. Evidence values are plain Python numbers or strings (NaN/inf become ``None``
where a finding is built), so no custom JSON encoder is ever needed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar, cast

import numpy as np
import pandas as pd

Severity = Literal["info", "warning", "error"]
Status = Literal["ok", "info", "warning", "error"]
Action = Literal["decrease", "increase", "set", "enable", "disable"]
EvidenceValue = float | int | str | None
T = TypeVar("T")
_RANK: dict[str, int] = {"ok": 0, "info": 1, "warning": 2, "error": 3}

# The version of the JSON report (render/json.py). Changelog (bump only when a specified
# field changes):
#   1: first version. Added fields beyond the spec: runs[].layer_tags, runs[].notes,
#      runs[].errors, runs[].hparams, advice[] extra parameters, top-level cross_run.
SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """One run's data as the diagnostics see it (input side; never serialised).

    ``scalars`` is tidy (tag, step, wall_time, value); ``roles`` maps a role to its tag and
    ``layer_tags`` a per-layer role to its tags, both resolved before any diagnostic runs.

    A run measures once: series and derived measures (curve fit, step rate, noise floor,
    spectra) are memoised in a cache private to this object, so the summary, the diagnostics
    and the charts read the same numbers. The cache is not an init field: a run made with
    :func:`dataclasses.replace` starts with its own, empty cache (sharing one would make the
    old run answer with the new run's values).
    """

    name: str
    scalars: pd.DataFrame
    histograms: pd.DataFrame
    roles: Mapping[str, str]
    layer_tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    hparams: Mapping[str, float | str | bool] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what the reader noticed (restarts, corrupt records), for info
    _cache: dict[object, object] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_cache", {})

    def _rows(self) -> dict[str, np.ndarray]:
        """tag -> rows of ``scalars`` (built once: diagnostics ask for series many times)."""
        rows = cast("dict[str, np.ndarray] | None", self._cache.get("rows"))
        if rows is None:
            rows = {}
            if len(self.scalars):
                codes, names = pd.factorize(self.scalars["tag"], sort=False)
                order = np.argsort(codes, kind="stable")
                bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
                for i, name in enumerate(names):
                    rows[str(name)] = order[bounds[i] : bounds[i + 1]]
            self._cache["rows"] = rows
        return rows

    def _tag_rows(self, tag: str) -> pd.DataFrame:
        """The tag's rows in step order, one per step.

        The reader already keeps the latest write of each step; this only guards runs built
        in memory (tests, the Python API), and costs nothing when the steps are in order.
        """
        key = ("tag", tag)
        frame = self._cache.get(key)
        if frame is None:
            rows = self._rows().get(tag)
            frame = self.scalars.iloc[rows] if rows is not None else self.scalars.iloc[:0]
            steps = frame["step"]
            if not steps.is_monotonic_increasing or steps.duplicated().any():
                frame = frame.iloc[np.argsort(steps.to_numpy(), kind="stable")]
                frame = frame[~frame["step"].duplicated(keep="last")]
            self._cache[key] = frame
        return frame  # type: ignore[return-value]

    def tag_series(self, tag: str) -> pd.Series:
        """Values of ``tag`` indexed by step, sorted, one per step (empty if absent)."""
        rows = self._tag_rows(tag)
        return pd.Series(rows["value"].to_numpy(), index=rows["step"].to_numpy(), name=tag)

    def series(self, role: str) -> pd.Series | None:
        """Values of the tag playing ``role``, indexed by step; ``None`` if no tag plays it."""
        tag = self.roles.get(role)
        return None if tag is None else self.tag_series(tag)

    def wall_times(self, role: str) -> pd.Series | None:
        """Wall times of the tag playing ``role``, indexed by step."""
        tag = self.roles.get(role)
        if tag is None:
            return None
        rows = self._tag_rows(tag)
        return pd.Series(rows["wall_time"].to_numpy(), index=rows["step"].to_numpy())

    def measure(self, key: object, compute: Callable[[], T]) -> T:
        """``compute()``, computed once per run and ``key`` (see :mod:`analyzer.measures`)."""
        k = ("measure", key)
        if k not in self._cache:
            self._cache[k] = compute()
        return self._cache[k]  # type: ignore[return-value]


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One diagnosis with its evidence: the measured numbers next to the thresholds crossed."""

    code: str
    severity: Severity
    title: str
    steps: tuple[int, int] | None = None
    evidence: Mapping[str, EvidenceValue] = field(default_factory=dict)
    # The tag the verdict judged (an added field of the contract), e.g. "val_loss" for an
    # overfitting found on the validation loss, or one loss component of several.
    series: str | None = None
    # What the finding's chart shows, declared by the diagnostic: tags of the run, first the
    # judged one, then context (the training loss beside a validation curve). "steps/s" is
    # the step rate measured from the training loss's wall times. Renderers read only this.
    chart: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Advice:
    """One change to make, and the findings behind it."""

    parameter: str
    action: Action
    because: tuple[str, ...]
    rationale: str
    factor: float | None = None
    value: float | int | str | None = None
    extra: Mapping[str, EvidenceValue | tuple[float, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunReport:
    """Everything said about one run."""

    run: str
    status: Status
    roles: Mapping[str, str]
    summary: Mapping[str, EvidenceValue]
    findings: tuple[Finding, ...]
    advice: tuple[Advice, ...] = ()
    layer_tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what the reader noticed: restarts, skipped records (info)
    errors: tuple[str, ...] = ()  # diagnostics that crashed (an added field; the spec allows it)
    hparams: Mapping[str, float | str | bool] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Point:
    """One value of a hyperparameter across runs, and what the runs with it reached."""

    value: float | str
    runs: int
    mean: float
    std: float | None  # over the runs with this value; None for a single run
    best: float
    best_run: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CrossRun:
    """The outcome against each hyperparameter that varies across the runs."""

    outcome: str  # the summary key compared (lower is better)
    runs: int
    by_hparam: Mapping[str, tuple[Point, ...]]
    best: Mapping[str, float | str]  # the value with the best mean outcome, per hyperparameter
    seed_groups: int  # configurations run with several seeds


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """The whole report."""

    schema_version: int
    tool_version: str
    generated_at: str
    runs: tuple[RunReport, ...]
    cross_run: CrossRun | None = None


def worst(findings: Iterable[Finding]) -> Status:
    """The run's status: the worst severity among its findings ("ok" when there are none)."""
    status: Status = "ok"
    for f in findings:
        if _RANK[f.severity] > _RANK[status]:
            status = f.severity
    return status


def at_least(status: str, level: str) -> bool:
    """Whether ``status`` is at or above ``level`` in ok < info < warning < error."""
    return _RANK[status] >= _RANK[level]


def exit_code(report: Report, fail_on: str | None) -> int:
    """0, or 1 when any run's status reaches ``fail_on`` (pure; the CLI exits with it)."""
    if fail_on is None:
        return 0
    return 1 if any(at_least(r.status, fail_on) for r in report.runs) else 0


def sort_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Training findings before machine ones; then error first, by first step, by code."""
    return tuple(
        sorted(
            findings,
            key=lambda f: (
                f.code in MACHINE_CODES,
                -_RANK[f.severity],
                f.steps[0] if f.steps else -1,
                f.code,
            ),
        )
    )


# Findings about the machine, not the training: they never come first in "what to look at
# first", whatever their severity (a training problem is what the reader can fix in the run).
MACHINE_CODES = ("throughput_drop",)


def finite_number(value: object) -> float | None:
    """``value`` as a float if it is a finite int or float (not a bool), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        return None
    return float(value)


def plain(value: object) -> EvidenceValue:
    """A JSON-safe plain value: numpy scalars unwrapped, NaN and inf turned into ``None``."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return int(bool(value))
    if isinstance(value, (int, np.integer)):
        return int(value)
    v = float(value)  # type: ignore[arg-type]
    return v if np.isfinite(v) else None


def evidence(**values: object) -> dict[str, EvidenceValue]:
    """Evidence made plain (see :func:`plain`), rounded to 6 significant digits for reading."""
    out: dict[str, EvidenceValue] = {}
    for key, value in values.items():
        v = plain(value)
        out[key] = float(f"{v:.6g}") if isinstance(v, float) else v
    return out
