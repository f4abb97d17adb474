"""Plateaus: a loss that never learned, or stalled high after learning, judged against its
validation loss, learning rate and noise; and the terms of an objective that sit at chance."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..measures import (
    as_fraction,
    end_level,
    head_median,
    noise_floor,
    role_series,
    rolling_median,
    start_level,
    tail_median,
    trend_z,
)
from ..model import Finding, Run, evidence
from ..settings import Thresholds
from . import diagnostic
from .components import components, is_rl, main_is_adversarial, total_of
from .convergence import projected_gain_and_noise, val_since
from .loss import ended_nonfinite, role_tag_series


def chance_level(value: float, tolerance: float) -> int | None:
    """C when ``value`` is ln C within ``tolerance`` (relative) for 2 <= C <= 32: the
    cross-entropy of a model that predicts the uniform distribution over C classes. Above 32
    neighbouring ln C lie too close together to name one."""
    if not np.isfinite(value) or not 0.5 < value < 4.0:  # ln 2 .. ln 32 (+ tolerance)
        return None
    c = round(float(np.exp(value)))
    if 2 <= c <= 32 and abs(value - np.log(c)) <= tolerance * np.log(c):
        return c
    return None


@diagnostic(("train_loss",), ("reward",))
def plateau(run: Run, t: Thresholds) -> Iterator[Finding]:
    """Loss stopped improving long before the end, or never learned at all.

    Stuck (the run never learned): the loss lost < 30% of its start (and of its first point)
    and over the last 40% of the points improved by < 2% of the start: a warning, naming the
    chance level when the loss sits at ln C (C classes); not while the validation accuracy
    removed >= half of its first error rate (the model learns: label smoothing's floor holds
    the loss up). With only 3 or 4 points this is said only when every point is at ln C
    (within 0.5%) and the loss moved < 1%: the commonest failed trial. A loss that ends
    NaN/Inf is not judged here (loss_divergence says what happened to it).

    A term of the objective (a multi-task head, detectron2's ``loss_cls``) that starts and
    ends at the same chance level ln C, having lost < 30% of its start, has not learned
    either, even while the total falls: a warning naming the term, unless the training loss
    itself is found not learning. A term that merely stays flat may be a regularizer, so only
    the chance level says it. GAN players' losses sit at ln 4 and ln 2 at equilibrium: they
    are not judged.

    Plateau: the loss fell by >= 30% of its start overall, but over the last 40% of the points
    improved by < 2% of the start (median of that window's first quarter minus median of its
    last quarter; getting worse by up to 10% also counts as flat), while still at >= 35% of
    its start (stalled high: one that lost two thirds of its start is near its floor). With
    the learning rate logged, it must end at >= 0.5x its maximum (decay had not started):
    that is where a schedule helps. The loss must bounce around its level (point-to-point
    noise >= 0.7% of it) and, where the validation loss has >= 5 evaluations over the window,
    so must that (>= 1%): held up by the optimizer's noise, not at a floor of its objective.
    Without a logged learning rate nothing is said: a loss
    gone flat after learning is usually converged. Nor while the validation loss falls over
    the window (Mann-Kendall z <= -2; over the whole run for a run that never learned), or,
    after learning, sits at most 2/3 of the training loss there (the training objective's own
    floor: label smoothing, dropout, augmentation). The plateau began where the smoothed loss
    first came within 2% (of the start) of its final level.
    """
    if is_rl(run):
        yield from _reward_never_improved(run, t)
        return
    if main_is_adversarial(run):
        return  # a GAN player's loss sits where the game holds it, not where learning ends
    found = list(_plateau_of_loss(run, t))
    yield from found
    if not any(f.evidence.get("never_learned") for f in found):
        yield from _parts_at_chance(run, t)


def _plateau_of_loss(run: Run, t: Thresholds) -> Iterator[Finding]:
    """:func:`plateau` on the run's training loss."""
    loss = role_series(run, "train_loss")
    if loss is None or len(loss) < 3 or ended_nonfinite(run):
        return
    values = loss.to_numpy(dtype=float)
    steps = loss.index.to_numpy()
    tag = run.roles["train_loss"]
    if len(values) < 2 * t.min_points:
        yield from _at_chance(values, steps, tag, t)
        return
    start, end = start_level(values), end_level(values)
    if start <= 0:
        return
    cut = int(len(values) * (1 - t.plateau_window))
    late = values[cut:]
    k = max(2, len(late) // 4)
    gain = float(np.median(late[:k]) - np.median(late[-k:]))  # improvement over the window
    progressed = (start - end) / start >= t.plateau_progress
    # Flat: the window gained < 2% of the start, and not still falling (< 20% of the whole
    # drop came in it: slow_convergence's "still falling"), so the two never both hold.
    still_falling = start > end and gain >= t.slow_still_falling * (start - end)
    if still_falling and not progressed:
        # Still falling, but at the floor its own fitted curve projects (more steps would gain
        # less than the noise): a run that lost little and has nothing left to gain is stuck.
        # This is where slow_convergence declines, so one of the two speaks.
        projected, noise = projected_gain_and_noise(run, loss)
        still_falling = projected is None or projected >= t.slow_projected_noise * noise
    stalled = -t.plateau_flat * start < gain < t.plateau_stall * start and not still_falling
    above_floor = end / start >= t.plateau_floor
    if not (stalled and above_floor):
        return
    # The validation loss is the better judge of whether a model still learns: a training loss
    # at its floor (label smoothing, augmentation, dropout keep it high) is no plateau while
    # the validation loss still falls consistently over the same window.
    val_z = _val_trend(run, t, cut / len(values) if progressed else 0.0)
    if val_z is not None and val_z <= -t.plateau_val_trend:
        return
    if progressed and _objective_floor(run, t, steps[cut], end):
        return
    smooth = rolling_median(values, max(3, len(values) // 20))
    began = int(np.argmax(np.abs(smooth - end) / start < t.plateau_stall))
    chance = chance_level(end, t.chance_tolerance)
    lr = role_series(run, "learning_rate")
    lr_kept = None
    if lr is not None and len(lr):
        lr_values = lr.to_numpy(dtype=float)
        lr_kept = float(lr_values[-1] / lr_values.max()) if lr_values.max() > 0 else None
    common = dict(
        plateau_start_step=int(steps[began]),
        plateau_loss=end,
        start_loss=start,
        relative_drop=(start - end) / start,
        improvement_in_window=gain / start,
        final_lr_share_of_max=lr_kept,
        final_lr=float(lr.iloc[-1]) if lr is not None and len(lr) else None,
        chance_classes=chance,
        points=len(late),
        threshold_stall=t.plateau_stall,
    )
    if not progressed:
        # The start is the median of the first 3 points; a loss that lost 30% from its very
        # first point learned before that median was taken (a byte LM learns its alphabet
        # between its first two logs: ln 256 = 5.5 to the text's entropy), however flat after.
        if values[0] > 0 and (values[0] - end) / values[0] >= t.plateau_progress:
            return
        error_removed = _accuracy_error_removed(run)
        if error_removed is not None and error_removed >= t.plateau_learned_accuracy:
            return  # the validation accuracy says it learns; the loss sits at its own floor
        at = f" = ln {chance}, chance for {chance} classes" if chance else ""
        yield Finding(
            code="plateau",
            severity="warning",
            title=f"The model is not learning: loss stuck at {end:.4g}{at} "
            f"(it lost {(start - end) / start:.0%} of its start)",
            steps=(int(steps[began]), int(steps[-1])),
            series=tag,
            chart=(tag,),
            evidence=evidence(
                never_learned=1, margin=t.plateau_stall * start / max(abs(gain), 1e-12), **common
            ),
        )
        return
    if lr_kept is not None and lr_kept < t.plateau_lr_kept:
        return  # the learning rate was already decayed: this is convergence, not a plateau
    # A plateau a smaller step would break is held up by the optimizer's noise: the loss keeps
    # bouncing around its level. A flat loss that barely moves from point to point has reached
    # a floor of its objective (the data's entropy, a smoothed target): decay cannot help.
    bounce = noise_floor(late) / end if end > 0 else 0.0
    if bounce < t.plateau_noise:
        return
    # The training loss's noise is partly the batches' sampling noise, which a loss at its
    # floor keeps. The validation loss, evaluated on fixed data, moves only as the weights do:
    # where it has enough evaluations over the window, the weights must bounce there too.
    window_val = val_since(run, t, float(steps[cut]))
    val_level = float(np.median(window_val)) if window_val is not None else 0.0
    val_bounce = (
        noise_floor(window_val) / val_level if window_val is not None and val_level > 0 else None
    )
    if val_bounce is not None and val_bounce < t.plateau_val_noise:
        return
    if lr_kept is None:
        # Whether decay would help cannot be judged without the learning rate, and a loss
        # that went flat after learning is usually just converged (this was an info finding,
        # which made healthy converged runs look less than "ok").
        return
    yield Finding(
        code="plateau",
        severity="warning",
        title=f"Loss has been flat at {end:.4g} since step {int(steps[began])}",
        steps=(int(steps[began]), int(steps[-1])),
        series=tag,
        chart=(tag, run.roles["learning_rate"]),
        evidence=evidence(
            margin=t.plateau_stall * start / max(abs(gain), 1e-12),
            threshold_lr_kept=t.plateau_lr_kept,
            noise_share_of_level=bounce,
            val_noise_share_of_level=val_bounce,
            val_trend_z=val_z,
            **common,
        ),
    )


def _val_trend(run: Run, t: Thresholds, from_share: float) -> float | None:
    """The Mann-Kendall z of the validation loss over the run's last ``1 - from_share`` of
    steps (negative: falling), or None when it has too few evaluations there to say."""
    train = role_series(run, "train_loss")
    if train is None or not len(train):
        return None
    first, last = int(train.index[0]), int(train.index[-1])
    window = val_since(run, t, first + from_share * (last - first))
    return trend_z(window) if window is not None else None


def _accuracy_error_removed(run: Run) -> float | None:
    """The share of the validation error rate (1 - accuracy) removed from the first evaluation
    to the best one, or None without a validation accuracy of at least 2 evaluations."""
    acc = role_series(run, "val_accuracy")
    values = as_fraction(acc.to_numpy(dtype=float)) if acc is not None else None
    if values is None or len(values) < 2:
        return None
    first_error = 1.0 - float(values[0])
    if not 0.0 < first_error <= 1.0:
        return None
    return (float(values.max()) - float(values[0])) / first_error


def _objective_floor(run: Run, t: Thresholds, since: int, train_level: float) -> bool:
    """Whether the training loss sits well above the validation loss from step ``since``: its
    floor is a term the validation loss does not pay (label smoothing, dropout, augmentation,
    a regularizer), so its flatness says nothing about whether the model still learns."""
    val = role_series(run, "val_loss")
    if val is None:
        return False
    window = val[val.index >= since]
    if len(window) < 2:
        return False
    val_level = float(np.median(window.to_numpy(dtype=float)))
    return val_level > 0 and train_level >= t.plateau_objective_gap * val_level


def _at_chance(values: np.ndarray, steps: np.ndarray, tag: str, t: Thresholds) -> Iterator[Finding]:
    chances = {chance_level(float(v), t.chance_tolerance) for v in values}
    moved = float(np.ptp(values) / abs(values[0])) if values[0] else float("inf")
    if len(chances) != 1 or None in chances or moved >= t.chance_moved:
        return
    (c,) = chances
    yield Finding(
        code="plateau",
        severity="warning",
        title=f"The model is not learning: loss at {values[-1]:.4g} = ln {c}, chance for "
        f"{c} classes, at all {len(values)} points",
        steps=(int(steps[0]), int(steps[-1])),
        series=tag,
        chart=(tag,),
        evidence=evidence(
            never_learned=1,
            chance_classes=c,
            plateau_loss=float(values[-1]),
            start_loss=float(values[0]),
            relative_change=moved,
            points=len(values),
            margin=t.chance_moved / max(moved, 1e-12),
            threshold_tolerance=t.chance_tolerance,
        ),
    )


def _reward_never_improved(run: Run, t: Thresholds) -> Iterator[Finding]:
    """An RL agent that is not learning: its reward's last fifth (median) is no better than
    its first tenth by 3x its point-to-point noise, and it has no rising trend (Mann-Kendall
    z < 2). Value and TD losses say nothing here; the reward is the quality signal."""
    reward = role_series(run, "reward")
    if reward is None or len(reward) < 2 * t.min_points:
        return
    v = reward.to_numpy(dtype=float)
    gain = tail_median(v) - head_median(v)
    noise = noise_floor(v)
    z = trend_z(v)
    if gain >= t.reward_learned_noise * noise or z >= t.reward_trend:
        return
    tag = run.roles["reward"]
    steps = reward.index.to_numpy()
    yield Finding(
        code="plateau",
        severity="warning",
        title=f"The agent is not learning: reward {tag!r} went from {head_median(v):.4g} to "
        f"{tail_median(v):.4g} over {len(v)} points, no better than its noise",
        steps=(int(steps[0]), int(steps[-1])),
        series=tag,
        chart=(tag,),
        evidence=evidence(
            never_learned=1,
            start_reward=head_median(v),
            final_reward=tail_median(v),
            reward_noise=noise,
            reward_trend_z=z,
            points=len(v),
            margin=(t.reward_learned_noise * noise - gain) / max(noise, 1e-12),
        ),
    )


def _parts_at_chance(run: Run, t: Thresholds) -> Iterator[Finding]:
    """The terms of the objective that sit at chance from start to end (see :func:`plateau`)."""
    total = total_of(run)
    for part in components(run):
        if part.kind != "part":
            continue
        series = role_tag_series(run, part.tag)
        if len(series) < 2 * t.min_points:
            continue
        values = series.to_numpy(dtype=float)
        start, end = start_level(values), end_level(values)
        c = chance_level(end, t.chance_tolerance)
        if c is None or chance_level(start, t.chance_tolerance) != c:
            continue
        if start <= 0 or (start - end) / start >= t.plateau_progress:
            continue
        steps = series.index.to_numpy()
        of = f" (a part of {total!r})" if total else ""
        yield Finding(
            code="plateau",
            severity="warning",
            title=f"{part.tag!r}{of} is not learning: it sits at {end:.4g} = ln {c}, chance for "
            f"{c} classes, from start to end",
            steps=(int(steps[0]), int(steps[-1])),
            series=part.tag,
            chart=(part.tag, *([total] if total else [])),
            evidence=evidence(
                never_learned=1,
                chance_classes=c,
                plateau_loss=end,
                start_loss=start,
                relative_drop=(start - end) / start,
                points=len(values),
                margin=t.chance_tolerance * np.log(c) / max(abs(end - np.log(c)), 1e-12),
                threshold_tolerance=t.chance_tolerance,
                component=part.kind,
                total=total,
            ),
        )
