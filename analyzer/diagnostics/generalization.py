"""Generalisation: overfitting, and quality metrics that swing between evaluations."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from ..measures import (
    as_fraction,
    end_level,
    kendall_tau,
    noise_floor,
    role_series,
    start_level,
    trend_z,
)
from ..model import Finding, Run, evidence
from ..settings import Thresholds
from . import diagnostic

QUALITY_METRICS = ("val_accuracy", "val_f1", "val_precision", "val_recall")


@diagnostic(
    ("train_loss", "val_loss"), ("train_loss", "val_accuracy"), ("train_loss", "val_metric")
)
def overfitting(run: Run, t: Thresholds) -> Iterator[Finding]:
    """Validation loss rises (or a validation metric falls) while training loss keeps falling.

    The validation loss is judged, else the accuracy, else another quality metric (mIoU, mAP).
    The best validation value comes within the first 70% of the run, the final one (median of
    the last max(2, n/10) evaluations) is >= 10% worse than the best (with >= 10 evaluations,
    than the best centred median of 3 consecutive evaluations), and the training loss kept
    falling after it (its final level <= 0.9x its median within 5% of the run around the best
    step), and over the run (its final level <= 0.9x its start). With few evaluations (Keras
    epochs, a three-epoch fine-tune), a monotone pattern also counts wherever the best lies: the
    validation value got worse at each of the (at least 2) evaluations after the best, the last
    one >= 10% worse, while the training loss ended below its level at the best step; the
    evidence says how many points it rests on; with more than 20 evaluations the general rule
    judges alone. The general rule needs the rise from the best to stand >= 3x above the
    validation loss's point-to-point noise (where there are >= 10 evaluations to measure it).
    Either rule needs the rise to be >= 10% of what the validation value had gained from its
    first evaluation to the best (a smaller rise is not worth an early stop), or of any size
    when the rise never broke (Kendall's tau >= 0.97 over >= 20 evaluations
    from the best on). Reported: the best step and the share of the run's steps (and wall time)
    after it.
    """
    train = role_series(run, "train_loss")
    if train is None or len(train) < t.min_points:
        return
    for role, higher_is_better in (
        ("val_loss", False),
        ("val_accuracy", True),
        ("val_metric", True),
    ):
        val = role_series(run, role)
        if val is not None and len(val) >= 3:
            yield from _overfitting(run, t, train, val, role, higher_is_better)
            return


def _overfitting(
    run: Run, t: Thresholds, train: pd.Series, val: pd.Series, role: str, higher_is_better: bool
) -> Iterator[Finding]:
    v = val.to_numpy(dtype=float)
    steps = val.index.to_numpy()
    sign = -1.0 if higher_is_better else 1.0  # sign * v: lower is better
    best_i = int(np.argmin(sign * v))
    best = float(v[best_i])
    final = float(np.median(v[-max(2, len(v) // 10) :]))
    first, last = int(min(steps[0], train.index[0])), int(max(steps[-1], train.index[-1]))
    best_step = int(steps[best_i])
    best_at = (best_step - first) / max(1, last - first)

    # How much worse the end is than the best (or ``than``), as a factor >= 1 when worse.
    def worse_by(x: float, than: float = best) -> float:
        if than <= 0 or x <= 0:
            return 0.0
        return than / x if higher_is_better else x / than

    # A lucky low evaluation in a noisy series is no best: with enough evaluations to measure
    # the noise, the general rule measures the rise from the best median of a few consecutive
    # ones (a Keras CNN's validation loss at 0.016 +- 0.001 for 25 epochs, 0.0147 once).
    best_level = best
    if len(v) >= 2 * t.min_points and t.overfit_best_window > 1:
        window = int(t.overfit_best_window)
        level = pd.Series(sign * v).rolling(window, center=True, min_periods=2).median()
        best_level = sign * float(level.min())

    tv = train.to_numpy(dtype=float)
    near = np.abs(train.index.to_numpy() - best_step) <= max(1, 0.05 * (last - first))
    at_best = float(np.median(tv[near])) if near.any() else float(tv[0])
    train_final = end_level(tv)
    # The general rule, and the few-evaluation one (a monotone worsening after the best).
    after = sign * v[best_i:]
    monotone = len(after) >= 3 and bool(np.all(np.diff(after) > 0))
    general = (
        best_at <= t.overfit_best_at
        and worse_by(final, best_level) >= t.overfit_rise
        and train_final <= t.overfit_train_fall * at_best
    )
    few = (
        not general
        and monotone
        and worse_by(float(v[-1])) >= t.overfit_rise
        and float(tv[-1]) < at_best
    )
    # The rise must stand out of the validation loss's own noise (a lucky low evaluation in a
    # noisy series is no best): where there are enough evaluations to measure it.
    # The monotone few-evaluation pattern is its own evidence, and is for few evaluations: with
    # as many as a noise measure needs, the general rule judges.
    few = few and len(v) <= t.overfit_few_evaluations
    # Overfitting is a model fitting its training data ever better: a training loss that ends
    # where it began (a run that blew up in its first steps and collapsed to chance, whose
    # "level at the best" is the blow-up's) has fitted nothing.
    fitted = train_final <= t.overfit_train_fall * start_level(tv)
    general, few = general and fitted, few and fitted
    noise = noise_floor(v) if general and len(v) >= 2 * t.min_points else 0.0
    rise = abs((float(v[-1]) if few else final) - best)
    if not (general or few) or rise < t.overfit_noise * noise:
        return
    # And it must matter: a rise of a few thousandths after a fall of 1.5 (a regression's val
    # MSE 0.027 -> 0.030 after a learning-rate drop) costs nothing early stopping would win.
    learned = abs(float(v[0]) - best)
    after_z = trend_z(sign * v[best_i:]) if len(v) - best_i >= 4 else 0.0
    # Unless it never broke: worse at nearly every later evaluation than at every earlier one,
    # over many evaluations (a tiny training set memorised), it will not turn back.
    unbroken = len(after) >= t.overfit_unbroken_points and (
        kendall_tau(after) >= t.overfit_unbroken_tau
    )
    if learned > 0 and rise < t.overfit_material * learned and not unbroken:
        return
    if few:
        final = float(v[-1])
    points = len(v) if general else len(after)
    wall = run.wall_times(role)
    wall_after = None
    if wall is not None and len(wall):
        wall_after = float(wall.iloc[-1] - wall.loc[best_step]) if best_step in wall.index else None
    tag = run.roles[role]
    name = role.replace("_", " ") if role != "val_metric" else tag
    yield Finding(
        code="overfitting",
        severity="warning",
        title=(
            f"Overfitting: best {name} {best:.4g} at step {best_step}, "
            f"{final:.4g} at the end while training loss kept falling"
            + (f" (worse at each of the last {len(after) - 1} evaluations)" if few else "")
        ),
        steps=(best_step, int(steps[-1])),
        series=tag,
        chart=(tag, run.roles["train_loss"]),
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
            points=points,
            margin=worse_by(final) / t.overfit_rise,
            rise_over_noise=rise / noise if noise > 0 else None,
            rise_share_of_learned=rise / learned if learned > 0 else None,
            trend_z_after_best=after_z,
            rule="monotone after the best" if few else "best early, end worse",
            threshold_rise=t.overfit_rise,
        ),
    )


@diagnostic(*((m,) for m in QUALITY_METRICS), ("reward",))
def unstable_metric(run: Run, t: Thresholds) -> Iterator[Finding]:
    """A logged quality metric (accuracy, F1, ...) swings widely, or the reward collapses.

    On the second half of the evaluations of each [0, 1] metric (percentages are scaled): the
    median |change| between consecutive evaluations >= 0.05 (5 points of accuracy) and the total
    variation >= 2x the net change: it goes up and down rather than somewhere. Or, for a metric
    on a small validation set that moves by whole samples (half its evaluations repeat the last
    value), the 75th percentile of |change| >= 0.1 and the total variation >= 10x the net change.

    A reinforcement-learning run is judged by its reward: it collapsed when the reward
    (median of 5 consecutive points, so one bad episode does not count), once it had learned
    at least half of all it learned, fell below its starting level by more than it had gained
    so far (it gave back all its learning, and as much again).
    """
    for role in QUALITY_METRICS:
        s = role_series(run, role)
        if s is None or len(s) < 2 * t.min_points:
            continue
        v = as_fraction(s.to_numpy(dtype=float))
        if v is None:
            continue
        half = v[len(v) // 2 :]
        diffs = np.abs(np.diff(half))
        # The median change: a metric that swings moves at every evaluation; one that is
        # steady but for a few large steps (a delayed run learning late) does not.
        swing, tv = float(np.median(diffs)), float(diffs.sum())
        # A metric on a small validation set moves by whole samples: where half the
        # evaluations repeat the last value, the median change is small however wild the rest.
        quarter = float(np.percentile(diffs, 75))
        net = abs(float(half[-1] - half[0]))
        swings = swing >= t.unstable_swing and tv >= t.unstable_trend * net
        jumps = quarter >= t.unstable_quarter_swing and tv >= t.unstable_quarter_trend * net
        if swings or jumps:
            tag = run.roles[role]
            what = (
                f"swings by {swing:.2f} (median) between evaluations"
                if swings
                else f"jumps by {quarter:.2f} or more at a quarter of its evaluations, going "
                "nowhere"
            )
            yield Finding(
                code="unstable_metric",
                severity="warning",
                title=f"{tag} {what}",
                steps=(int(s.index[len(v) // 2]), int(s.index[-1])),
                series=tag,
                chart=(tag,),
                evidence=evidence(
                    metric=tag,
                    median_swing=swing,
                    quarter_swing=quarter,
                    mean_swing=float(diffs.mean()),
                    total_variation=tv,
                    net_change=net,
                    evaluations=len(half),
                    points=len(half),
                    margin=max(swing / t.unstable_swing, quarter / t.unstable_quarter_swing),
                    threshold_swing=t.unstable_swing,
                    threshold_trend=t.unstable_trend,
                ),
            )
    yield from _reward_collapse(run, t)


def _reward_collapse(run: Run, t: Thresholds) -> Iterator[Finding]:
    r = role_series(run, "reward")
    if r is None or len(r) < 2 * t.min_points:
        return
    smooth = r.rolling(t.reward_window, center=True, min_periods=1).median().to_numpy()
    start = float(np.median(smooth[: max(3, len(smooth) // 20)]))
    # The gain so far at each point (running best minus start): a collapse is judged against
    # what the run had learned by then, whatever it reached later.
    # Only once it had learned at least half of all it learned: early on, before the run has
    # found its footing, one bad stretch of episodes is noise around the start.
    gained = np.maximum.accumulate(smooth) - start
    learned = gained >= t.reward_learned_share * max(float(gained[-1]), 0.0)
    low = np.flatnonzero(learned & (gained > 0) & (smooth < start - t.reward_collapse * gained))
    if not low.size:
        return
    worst_i = int(low[np.argmin(smooth[low])])
    best_i = int(np.argmax(smooth[: worst_i + 1]))
    gain = float(gained[worst_i])
    tail = float(np.median(smooth[-max(3, len(smooth) // 20) :]))
    recovered = tail >= start + 0.5 * gain
    tag = run.roles["reward"]
    yield Finding(
        code="unstable_metric",
        severity="warning",
        title=f"Reward collapsed: {smooth[best_i]:.4g} at best, {smooth[worst_i]:.4g} at step "
        f"{int(r.index[worst_i])} (below its start of {start:.4g})"
        + (", then recovered" if recovered else ""),
        steps=(int(r.index[low[0]]), int(r.index[low[-1]])),
        series=tag,
        chart=(tag,),
        evidence=evidence(
            metric=tag,
            start_reward=start,
            best_reward=float(smooth[best_i]),
            worst_reward=float(smooth[worst_i]),
            worst_step=int(r.index[worst_i]),
            final_reward=tail,
            recovered=int(recovered),
            points=int(low.size),
            margin=(start - float(smooth[worst_i])) / (t.reward_collapse * gain),
            threshold_collapse=t.reward_collapse,
        ),
    )
