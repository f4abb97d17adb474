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
another seed moves a validation loss).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .crossrun import OUTCOMES, SEED_KEYS
from .model import Report, Run, RunReport, finite_number

Verdict = Literal["improved", "regressed", "same"]
NOISE_RELATIVE = 0.02
NOISE_SIGMAS = 2.0
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
) -> Comparison:
    """Compare two reports run by run (``candidate_runs`` gives the candidate's curves)."""
    base = {r.run: r for r in baseline.runs}
    cand = {r.run: r for r in candidate.runs}
    pairs = [(name, base[name], cand[name]) for name in sorted(base.keys() & cand.keys())]
    if not pairs and len(base) == 1 and len(cand) == 1:
        (b,), (c,) = base.values(), cand.values()
        pairs = [(c.run if b.run == "." else b.run, b, c)]
    matched_b = {b.run for _, b, _ in pairs}
    matched_c = {c.run for _, _, c in pairs}
    spread = _seed_spread(baseline)
    runs = tuple(
        _compare_run(name, b, c, candidate_runs.get(c.run), spread) for name, b, c in pairs
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


def _compare_run(
    name: str, b: RunReport, c: RunReport, c_run: Run | None, spread: Mapping[str, float]
) -> RunComparison:
    outcome = next(
        (
            k
            for k in OUTCOMES
            if finite_number(b.summary.get(k)) is not None
            and finite_number(c.summary.get(k)) is not None
        ),
        None,
    )
    bv = finite_number(b.summary.get(outcome)) if outcome else None
    cv = finite_number(c.summary.get(outcome)) if outcome else None
    noise = None
    relative = None
    verdict: Verdict = "same"
    if outcome and bv is not None and cv is not None:
        noise = NOISE_SIGMAS * spread[outcome] if outcome in spread else NOISE_RELATIVE * abs(bv)
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
