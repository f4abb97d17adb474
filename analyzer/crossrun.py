"""Evidence across runs: which hyperparameter values reached the best outcome.

Where runs differ in a hyperparameter (the learning rate above all, also the optimizer, the
batch size and the weight decay), the outcome of each run (its best validation loss, or its
best training loss when nothing was validated) is set against the value. Runs that differ only
in their seed are one configuration: their mean and spread tell an effect from noise. The
learning-rate advice of a run then cites what its siblings showed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from .model import Action, Advice, CrossRun, Point, RunReport, finite_number
from .selection import DEFAULT_GROUP_BY, experiment_of
from .thresholds import DEFAULTS, Thresholds

# hparam names that mean the same thing in different writers (first found wins)
HPARAM_ALIASES: dict[str, tuple[str, ...]] = {
    "learning_rate": ("learning_rate", "lr", "optimizer.lr", "optim.lr", "base_lr", "max_lr"),
    "optimizer": ("optimizer", "optim", "optimizer_name", "opt"),
    "batch_size": ("batch_size", "per_device_train_batch_size", "train_batch_size", "bs"),
    "weight_decay": ("weight_decay", "wd", "optimizer.weight_decay"),
}
SEED_KEYS = {"seed", "random_seed", "data_seed", "run_seed"}
OUTCOMES = ("best_val_loss", "best_train_loss")  # lower is better, in this order of preference
# Two runs' outcomes differ when apart by more than the seeds' spread (noise_sigmas), or, with
# no repeated seeds to measure it, by more than sweep_noise_relative; fewer than sweep_min_runs
# runs say nothing about a hyperparameter. The numbers and their sources: analyzer/thresholds.py.


def hparam(h: Mapping[str, float | str | bool], name: str) -> float | str | None:
    """A run's value of a canonical hyperparameter, under any of its aliases."""
    for key in HPARAM_ALIASES[name]:
        v = h.get(key)
        if isinstance(v, bool) or v is None:
            continue
        if isinstance(v, (int, float)):
            return float(v) if math.isfinite(v) else None
        if isinstance(v, str) and v:
            try:
                return float(v)
            except ValueError:
                return v.lower()
    return None


def experiments(
    reports: Sequence[RunReport], group_by: str = DEFAULT_GROUP_BY, t: Thresholds = DEFAULTS
) -> list[CrossRun]:
    """The evidence of each experiment (runs grouped by ``group_by``) that has any.

    Runs are compared only within their experiment: a sweep is not pooled with unrelated runs
    of other tasks that happen to sit under the same LOGDIR.
    """
    groups: dict[str, list[RunReport]] = {}
    for r in reports:
        groups.setdefault(experiment_of(r.run, r.hparams, group_by), []).append(r)
    found = []
    for name in sorted(groups):
        evidence = cross_run(groups[name], t)
        if evidence is not None:
            found.append(
                replace(evidence, experiment=name, members=tuple(r.run for r in groups[name]))
            )
    return found


def cross_run(reports: Sequence[RunReport], t: Thresholds = DEFAULTS) -> CrossRun | None:
    """The cross-run evidence, or None when fewer than 3 comparable runs vary at all."""
    counts = {
        key: sum(finite_number(r.summary.get(key)) is not None for r in reports) for key in OUTCOMES
    }
    outcome = next((key for key in OUTCOMES if counts[key] >= t.sweep_min_runs), None)
    if outcome is None:
        return None
    rows = [r for r in reports if finite_number(r.summary.get(outcome)) is not None]
    by_hparam: dict[str, tuple[Point, ...]] = {}
    best: dict[str, float | str] = {}
    for name in HPARAM_ALIASES:
        points = _points(rows, name, outcome)
        if len(points) >= 2 and sum(p.runs for p in points) >= t.sweep_min_runs:
            by_hparam[name] = points
            best[name] = min(points, key=lambda p: p.mean).value
    if not by_hparam:
        return None
    configs = _configs(rows)
    return CrossRun(
        outcome=outcome,
        runs=len(rows),
        by_hparam=by_hparam,
        best=best,
        seed_groups=sum(len(_seeds(v)) > 1 for v in configs.values()),
        members=tuple(r.run for r in reports),
    )


def _configs(rows: Sequence[RunReport]) -> dict[tuple[tuple[str, str], ...], list[RunReport]]:
    """Runs grouped by their hyperparameters other than the seed."""
    groups: dict[tuple[tuple[str, str], ...], list[RunReport]] = {}
    for r in rows:
        key = tuple(sorted((k, str(v)) for k, v in r.hparams.items() if k not in SEED_KEYS))
        if key:
            groups.setdefault(key, []).append(r)
    return groups


def _seeds(runs: Sequence[RunReport]) -> set[tuple[tuple[str, str], ...]]:
    """The different seeds among ``runs``: two runs with seed 0 are one seed, not two.

    A run that records no seed adds none (its repeats cannot be told from copies).
    """
    seeds = {
        tuple(sorted((k, str(v)) for k, v in r.hparams.items() if k in SEED_KEYS)) for r in runs
    }
    seeds.discard(())
    return seeds


def _points(rows: Sequence[RunReport], name: str, outcome: str) -> tuple[Point, ...]:
    by_value: dict[float | str, list[RunReport]] = {}
    for r in rows:
        v = hparam(r.hparams, name)
        if v is not None:
            by_value.setdefault(v, []).append(r)
    points = []
    for value, members in by_value.items():
        scores = np.array([finite_number(m.summary[outcome]) for m in members], dtype=float)
        i = int(np.argmin(scores))
        points.append(
            Point(
                value=value,
                runs=len(members),
                mean=float(scores.mean()),
                std=float(scores.std(ddof=1)) if len(scores) > 1 else None,
                best=float(scores[i]),
                best_run=members[i].run,
            )
        )
    return tuple(sorted(points, key=lambda p: (isinstance(p.value, str), p.value)))  # type: ignore[return-value]


def noise(evidence: CrossRun, name: str, reference: float, t: Thresholds = DEFAULTS) -> float:
    """How far apart two outcomes must be to differ: the seeds' spread, or 5%."""
    stds = [p.std for p in evidence.by_hparam.get(name, ()) if p.std is not None]
    if stds:
        return t.noise_sigmas * float(np.mean(stds))
    return t.sweep_noise_relative * abs(reference)


def cite_in_advice(
    report: RunReport, evidence: CrossRun | None, t: Thresholds = DEFAULTS
) -> RunReport:
    """The run's learning-rate advice, backed (or added) by what its sibling runs showed.

    When the run used a learning rate at least 2x away from the value whose runs did best, and
    its outcome is worse than that by more than the noise, the advice moves the rate to that
    value. It never reverses the run's own advice (stability findings come first).
    """
    if evidence is None or "learning_rate" not in evidence.best:
        return report
    lr = hparam(report.hparams, "learning_rate")
    best_lr = evidence.best["learning_rate"]
    mine = finite_number(report.summary.get(evidence.outcome))
    if not isinstance(lr, float) or not isinstance(best_lr, float) or mine is None or lr <= 0:
        return report
    points = {p.value: p for p in evidence.by_hparam["learning_rate"]}
    best_point = points[best_lr]
    ratio = best_lr / lr
    if not (ratio >= 2 or ratio <= 0.5) or mine - best_point.mean <= noise(
        evidence, "learning_rate", best_point.mean, t
    ):
        return report
    action: Action = "increase" if ratio > 1 else "decrease"
    sentence = (
        f"Among {evidence.runs} runs, lr={best_lr:.3g} reached the lowest "
        f"{evidence.outcome.replace('_', ' ')} ({best_point.mean:.4g}"
        f"{f' ± {best_point.std:.2g}' if best_point.std else ''}); this run used {lr:.3g} "
        f"and reached {mine:.4g}."
    )
    advice = list(report.advice)
    own = [i for i, a in enumerate(advice) if a.parameter == "learning_rate"]
    if own:
        i = own[0]
        if advice[i].action != action:
            return report  # the run's own findings point the other way: keep them
        advice[i] = replace(
            advice[i],
            factor=float(f"{ratio:.3g}"),
            value=float(f"{best_lr:.3g}"),
            rationale=f"{advice[i].rationale} {sentence}",
        )
    else:
        advice.append(
            Advice(
                parameter="learning_rate",
                action=action,
                factor=float(f"{ratio:.3g}"),
                value=float(f"{best_lr:.3g}"),
                because=(),
                rationale=sentence,
                extra={"evidence": "cross_run"},
            )
        )
    return replace(report, advice=tuple(advice))
