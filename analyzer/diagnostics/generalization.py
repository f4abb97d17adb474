"""Generalisation: overfitting, and quality metrics that swing between evaluations."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from ..measures import end_level, finite
from ..model import Finding, Run, evidence
from ..settings import Thresholds
from . import diagnostic

QUALITY_METRICS = ("val_accuracy", "val_f1", "val_precision", "val_recall")


def _clean(s: pd.Series | None) -> pd.Series | None:
    if s is None:
        return None
    s = finite(s)
    return s[~s.index.duplicated(keep="last")].sort_index()


@diagnostic(("train_loss", "val_loss"), ("train_loss", "val_accuracy"))
def overfitting(run: Run, t: Thresholds) -> Iterator[Finding]:
    """Validation loss rises (or validation accuracy falls) while training loss keeps falling.

    The best validation value comes within the first 70% of the run, the final one (mean of the
    last two evaluations) is >= 10% worse than the best, and the training loss kept falling
    after it (its final level <= 0.9x its median within 5% of the run around the best step).
    Reported: the best step and the share of the run's steps (and wall time) spent after it.
    """
    train = _clean(run.series("train_loss"))
    if train is None or len(train) < t.min_points:
        return
    val = _clean(run.series("val_loss"))
    higher_is_better = False
    role = "val_loss"
    if val is None or len(val) < 3:
        val, higher_is_better, role = _clean(run.series("val_accuracy")), True, "val_accuracy"
    if val is None or len(val) < 3:
        return
    v = val.to_numpy(dtype=float)
    steps = val.index.to_numpy()
    best_i = int(np.argmax(v) if higher_is_better else np.argmin(v))
    best, final = float(v[best_i]), float(np.mean(v[-2:]))  # final: the last two evaluations
    first, last = int(min(steps[0], train.index[0])), int(max(steps[-1], train.index[-1]))
    best_step = int(steps[best_i])
    best_at = (best_step - first) / max(1, last - first)
    if higher_is_better:
        worse = best > 0 and final <= best / t.overfit_rise
    else:
        worse = best > 0 and final >= t.overfit_rise * best
    # The training loss around the best step: its median within 5% of the run either side.
    near = np.abs(train.index.to_numpy() - best_step) <= max(1, 0.05 * (last - first))
    tv = train.to_numpy(dtype=float)
    at_best = float(np.median(tv[near])) if near.any() else float(tv[0])
    train_final = end_level(train.to_numpy(dtype=float))
    train_fell = train_final <= t.overfit_train_fall * at_best
    if not (best_at <= t.overfit_best_at and worse and train_fell):
        return
    wall = run.wall_times(role)
    wall_after = None
    if wall is not None and len(wall):
        wall = wall[~wall.index.duplicated(keep="last")].sort_index()
        wall_after = float(wall.iloc[-1] - wall.loc[best_step]) if best_step in wall.index else None
    yield Finding(
        code="overfitting",
        severity="warning",
        title=(
            f"Overfitting: best {role.replace('_', ' ')} {best:.4g} at step {best_step}, "
            f"{final:.4g} at the end while training loss kept falling"
        ),
        steps=(best_step, int(steps[-1])),
        evidence=evidence(
            metric=role,
            best_value=best,
            best_step=best_step,
            final_value=final,
            train_loss_at_best=at_best,
            final_train_loss=train_final,
            steps_after_best=last - best_step,
            share_of_steps_after_best=1 - best_at,
            wall_seconds_after_best=wall_after,
            threshold_rise=t.overfit_rise,
        ),
    )


@diagnostic(*((m,) for m in QUALITY_METRICS))
def unstable_metric(run: Run, t: Thresholds) -> Iterator[Finding]:
    """A logged quality metric (accuracy, F1, ...) swings widely between evaluations.

    On the second half of the evaluations of each [0, 1] metric (percentages are scaled): the
    mean |change| between consecutive evaluations >= 0.08 (8 points of accuracy) and the total
    variation >= 2x the net change: it goes up and down rather than somewhere.
    """
    for role in QUALITY_METRICS:
        s = _clean(run.series(role))
        if s is None or len(s) < 2 * t.min_points:
            continue
        v = s.to_numpy(dtype=float)
        if v.max() > 1.0 and v.max() <= 100.0:
            v = v / 100.0
        if v.min() < 0 or v.max() > 1.0:
            continue
        half = v[len(v) // 2 :]
        diffs = np.abs(np.diff(half))
        swing, tv = float(diffs.mean()), float(diffs.sum())
        net = abs(float(half[-1] - half[0]))
        if swing >= t.unstable_swing and tv >= t.unstable_trend * net:
            yield Finding(
                code="unstable_metric",
                severity="warning",
                title=f"{run.roles[role]} swings by {swing:.2f} on average between evaluations",
                steps=(int(s.index[len(v) // 2]), int(s.index[-1])),
                evidence=evidence(
                    metric=run.roles[role],
                    mean_swing=swing,
                    total_variation=tv,
                    net_change=net,
                    evaluations=len(half),
                    threshold_swing=t.unstable_swing,
                    threshold_trend=t.unstable_trend,
                ),
            )
