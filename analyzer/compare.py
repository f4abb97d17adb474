"""Baseline comparison: did a change to training make the runs better, worse, or neither?

Runs are matched by name (two single-run directories are matched to each other). For each
pair: the deltas of every summary number both have, the findings that are new or resolved,
how many steps the candidate needed to reach the baseline's best, and a verdict on the
outcome (best validation loss, else best training loss; lower is better):

- ``regressed``: worse by more than the noise, or a new error-level finding;
- ``improved``: better by more than the noise (and no new error);
- ``same``: within the noise.

The noise is twice the spread of the baseline's seeds of one configuration where the baseline
holds several seeds, else 2% of the baseline's value (about what re-running a small model with
another seed moves a validation loss); both numbers are thresholds
(``noise_sigmas``, ``compare_noise_relative``).

A candidate whose loss is logged but never finite (NaN or inf at every point) where the
baseline's is finite has ``regressed``: "no number" is never "the same number". Two sides with
no run in common are an :class:`~analyzer.errors.InputError`: a comparison of nothing must not
pass a CI gate as "same".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .crossrun import OUTCOMES, SEED_KEYS
from .errors import InputError
from .model import Report, Run, RunReport, finite_number
from .thresholds import DEFAULTS, Thresholds

Verdict = Literal["improved", "regressed", "same"]
# The role each outcome is measured on (a logged role without a finite outcome is a NaN loss).
_OUTCOME_ROLE = {"best_val_loss": "val_loss", "best_train_loss": "train_loss"}
_ALARMS = ("warning", "error")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunComparison:
    """One baseline run against its candidate."""

    run: str
    verdict: Verdict
    outcome: str | None  # the summary key the verdict is on
    baseline_value: float | None
    candidate_value: float | None
    relative_change: float | None  # (candidate - baseline) / |baseline|
    noise: float | None  # the absolute difference that counts as real
    baseline_status: str
    candidate_status: str
    new_findings: tuple[str, ...]
    resolved_findings: tuple[str, ...]
    steps_to_baseline_best: int | None  # first candidate step at or below the baseline's best
    deltas: Mapping[str, tuple[float, float]]  # summary key -> (baseline, candidate)


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    """The whole comparison, with an overall verdict (regressed wins over improved)."""

    baseline: str
    candidate: str
    verdict: Verdict
    runs: tuple[RunComparison, ...]
    only_in_baseline: tuple[str, ...]
    only_in_candidate: tuple[str, ...]
    generated_at: str
    tool_version: str


def compare(
    baseline: Report,
    candidate: Report,
    candidate_runs: Mapping[str, Run],
    *,
    baseline_name: str,
    candidate_name: str,
    thresholds: Thresholds = DEFAULTS,
) -> Comparison:
    """Compare two reports run by run (``candidate_runs`` gives the candidate's curves).

    Raises :class:`InputError` when no run of the candidate matches one of the baseline.
    """
    base = {r.run: r for r in baseline.runs}
    cand = {r.run: r for r in candidate.runs}
    pairs = [(name, base[name], cand[name]) for name in sorted(base.keys() & cand.keys())]
    if not pairs and len(base) == 1 and len(cand) == 1:
        (b,), (c,) = base.values(), cand.values()
        pairs = [(c.run if b.run == "." else b.run, b, c)]
    if not pairs:
        raise InputError(
            f"no run in common: baseline {baseline_name} has {_names(base)}, candidate "
            f"{candidate_name} has {_names(cand)} (runs are matched by name)"
        )
    matched_b = {b.run for _, b, _ in pairs}
    matched_c = {c.run for _, _, c in pairs}
    spread = _seed_spread(baseline)
    runs = tuple(
        _compare_run(name, b, c, candidate_runs.get(c.run), spread, thresholds)
        for name, b, c in pairs
    )
    verdicts = {r.verdict for r in runs}
    verdict: Verdict = (
        "regressed" if "regressed" in verdicts else "improved" if "improved" in verdicts else "same"
    )
    return Comparison(
        baseline=baseline_name,
        candidate=candidate_name,
        verdict=verdict,
        runs=runs,
        only_in_baseline=tuple(sorted(base.keys() - matched_b)),
        only_in_candidate=tuple(sorted(cand.keys() - matched_c)),
        generated_at=candidate.generated_at,
        tool_version=candidate.tool_version,
    )


def _names(runs: Mapping[str, RunReport], shown: int = 5) -> str:
    """``3 runs (a, b, c)``, the list cut after ``shown`` names."""
    names = sorted(runs)
    listed = ", ".join(names[:shown]) + (", ..." if len(names) > shown else "")
    return f"{len(names)} run{'' if len(names) == 1 else 's'} ({listed})"


def _seed_spread(report: Report) -> Mapping[str, float]:
    """Per outcome key: the mean standard deviation over configurations run with several seeds."""
    out: dict[str, float] = {}
    for key in OUTCOMES:
        groups: dict[tuple[tuple[str, str], ...], list[float]] = {}
        for r in report.runs:
            v = finite_number(r.summary.get(key))
            config = tuple(sorted((k, str(x)) for k, x in r.hparams.items() if k not in SEED_KEYS))
            if v is not None and config:
                groups.setdefault(config, []).append(v)
        stds = [float(np.std(g, ddof=1)) for g in groups.values() if len(g) > 1]
        if stds:
            out[key] = float(np.mean(stds))
    return out


def _outcome(b: RunReport, c: RunReport) -> tuple[str | None, bool]:
    """The outcome key the verdict is on, and whether the candidate lost an outcome to NaN.

    The key is the first in :data:`OUTCOMES` finite on both sides. The candidate lost an
    outcome when the baseline's is finite while the candidate logs the role with no finite
    value at all (a NaN loss): then the verdict is ``regressed`` whatever the other outcome
    says, and the key is the lost one if no key is finite on both sides.
    """
    both = lost = None
    for key in OUTCOMES:
        if finite_number(b.summary.get(key)) is None:
            continue
        if finite_number(c.summary.get(key)) is not None:
            both = both or key
        elif _OUTCOME_ROLE[key] in c.roles:
            lost = lost or key
    return both or lost, lost is not None


def _compare_run(
    name: str,
    b: RunReport,
    c: RunReport,
    c_run: Run | None,
    spread: Mapping[str, float],
    t: Thresholds,
) -> RunComparison:
    outcome, lost = _outcome(b, c)
    bv = finite_number(b.summary.get(outcome)) if outcome else None
    cv = finite_number(c.summary.get(outcome)) if outcome else None
    noise = None
    relative = None
    verdict: Verdict = "regressed" if lost else "same"
    if outcome and bv is not None and cv is not None:
        noise = (
            t.noise_sigmas * spread[outcome]
            if outcome in spread
            else t.compare_noise_relative * abs(bv)
        )
        relative = (cv - bv) / abs(bv) if bv else None
        if cv - bv > noise:
            verdict = "regressed"
        elif bv - cv > noise:
            verdict = "improved"
    b_codes = {f.code for f in b.findings if f.severity in _ALARMS}
    c_codes = {f.code for f in c.findings if f.severity in _ALARMS}
    new_errors = {f.code for f in c.findings if f.severity == "error"} - {
        f.code for f in b.findings if f.severity == "error"
    }
    if new_errors:
        verdict = "regressed"
    deltas = {
        key: (float(bx), float(cx))
        for key in b.summary.keys() & c.summary.keys()
        if (bx := finite_number(b.summary[key])) is not None
        and (cx := finite_number(c.summary[key])) is not None
        and not key.endswith("_step")
    }
    return RunComparison(
        run=name,
        verdict=verdict,
        outcome=outcome,
        baseline_value=bv,
        candidate_value=cv,
        relative_change=relative,
        noise=noise,
        baseline_status=b.status,
        candidate_status=c.status,
        new_findings=tuple(sorted(c_codes - b_codes)),
        resolved_findings=tuple(sorted(b_codes - c_codes)),
        steps_to_baseline_best=_steps_to_reach(c_run, outcome, bv),
        deltas=dict(sorted(deltas.items())),
    )


def _steps_to_reach(run: Run | None, outcome: str | None, target: float | None) -> int | None:
    """The first step where the candidate's curve reached the baseline's best value."""
    if run is None or outcome is None or target is None:
        return None
    role = "val_loss" if outcome == "best_val_loss" else "train_loss"
    s = run.series(role)
    if s is None or s.empty:
        return None
    reached = np.flatnonzero(s.to_numpy(dtype=float) <= target)
    return int(s.index[reached[0]]) if reached.size else None
