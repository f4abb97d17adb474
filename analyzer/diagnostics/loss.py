"""The training loss: divergence, oscillation, spikes, convergence rate and plateaus."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from ..measures import (
    end_level,
    loss_fit,
    noise_floor,
    robust_spikes,
    role_series,
    rolling_median,
    spectrum,
    start_level,
    swing_and_trend,
    trend_z,
    typical_swing,
    within_block_noise,
)
from ..model import Finding, Run, evidence
from ..settings import Thresholds
from . import diagnostic


def is_rl(run: Run) -> bool:
    """A reinforcement-learning run: its quality signal is the reward, not a loss.

    Value and TD losses grow as returns grow, so the shape of such a loss (rising, swinging,
    spiking) says nothing about training; only a NaN in it does.
    """
    return "reward" in run.roles


def _loss(run: Run, t: Thresholds) -> pd.Series | None:
    """The finite training loss whose shape is judged, or None when there are too few points
    to say anything (or the run is judged by its reward)."""
    if is_rl(run):
        return None
    loss = role_series(run, "train_loss")
    return loss if loss is not None and len(loss) >= t.min_points else None


def loss_tags(run: Run) -> tuple[str, ...]:
    """Every training loss of the run: the main one first, then its parts or siblings."""
    main = run.roles.get("train_loss")
    return (*([main] if main else []), *run.layer_tags.get("loss_parts", ()))


@diagnostic(("train_loss",), ("loss_parts",))
def loss_divergence(run: Run, t: Thresholds) -> Iterator[Finding]:
    """Training loss becomes NaN/Inf, or climbs for good, in any of the run's losses.

    Every training loss is checked, each named (YOLO box/obj/cls, detectron2's parts,
    a GAN's generator and discriminator), and a NaN or Inf in any is an error however few
    finite points there are. Otherwise, with start = median of the first 3 points and end =
    median of the last max(3, n/20): the loss diverged if end >= 1.5 x start, or if end >= 3 x
    the lowest rolling median (window n/20) and the rise is >= 25% of start (it gave back its
    progress). Medians make single spikes (loss_spikes) and a warmup bump that is followed by
    progress not count. An RL run's losses are checked for NaN only (judged by its reward).
    NaN in validation data only is not divergence (see ``no_signal``).
    """
    for tag in loss_tags(run):
        raw = run.tag_series(tag)
        if not len(raw):
            continue
        values = raw.to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            first = int(raw.index[np.argmax(bad)])
            yield Finding(
                code="loss_divergence",
                severity="error",
                title=f"Training loss {tag!r} is NaN/Inf "
                + ("from its first point" if bad[0] else f"from step {first}"),
                steps=(first, int(raw.index[-1])),
                series=tag,
                chart=(tag,),
                evidence=evidence(
                    first_nonfinite_step=first,
                    nonfinite_points=int(bad.sum()),
                    points=len(values),
                    last_finite_loss=float(values[~bad][-1]) if (~bad).any() else None,
                ),
            )
            continue
        if is_rl(run) or len(values) < t.min_points:
            continue
        yield from _climb(raw, values, tag, t)


def _climb(raw: pd.Series, values: np.ndarray, tag: str, t: Thresholds) -> Iterator[Finding]:
    start, end = start_level(values), end_level(values)
    smooth = rolling_median(values, max(3, len(values) // 20))
    best_i = int(np.argmin(smooth))
    best = float(smooth[best_i])
    rose = start > 0 and end >= t.divergence_rise * start
    gave_back = best > 0 and end >= t.divergence_from_best * best
    gave_back = gave_back and end - best >= t.divergence_min_rise * abs(start)
    if not (rose or gave_back):
        return
    margin = end / (t.divergence_rise * start) if rose else end / (t.divergence_from_best * best)
    yield Finding(
        code="loss_divergence",
        severity="error" if rose else "warning",
        title=(
            f"Training loss {tag!r} rose from {start:.4g} to {end:.4g}"
            if rose
            else f"Training loss {tag!r} fell to {best:.4g}, then climbed back to {end:.4g}"
        ),
        steps=(int(raw.index[best_i]), int(raw.index[-1])),
        series=tag,
        chart=(tag,),
        evidence=evidence(
            start_loss=start,
            best_smoothed_loss=best,
            best_step=int(raw.index[best_i]),
            final_loss=end,
            points=len(values),
            margin=margin,
            threshold_rise=t.divergence_rise,
            threshold_from_best=t.divergence_from_best,
        ),
    )


@diagnostic(("train_loss",))
def loss_oscillation(run: Run, t: Thresholds) -> Iterator[Finding]:
    """Loss swings up and down more than it goes down (variance and spectral measures).

    On the second half of the run, split into ~40 blocks whose medians average out minibatch
    noise: the mean |change| between block medians ("swing") >= 8% of the starting loss, and
    their total variation >= 3x the net decrease (a curve that only falls has total variation
    equal to its decrease). Healthy minibatch noise is not oscillation, so the swings must
    also stand out of the run's own noise, judged on the best evidence the run has:

    - a validation loss with >= 8 evaluations in its second half must swing too: its median
      |change| between evaluations >= 8% of its start, total variation >= 3x its net decrease
      (the median, so that isolated jumps after corrupted batches are spikes, not swings);
      with 3 to 15 evaluations, its total variation >= 3x its net decrease (a validation loss
      that falls at each evaluation says the model is learning steadily);
    - else, with several points per block: the swings >= 3x what the points' own noise gives
      block medians (1.6 sigma / sqrt(block size));
    - else (one point per block, nothing to tell swings from noise): the typical late swing
      is at least half of all the loss descended: it fails to descend because of its swings.

    A Welch periodogram of the loss minus its rolling-median trend tells a periodic pattern
    (one frequency holding >= 30% of the power: epoch boundaries, unshuffled data) from noise;
    the lag-1 autocorrelation of the differences (-0.5 for white noise) is reported with it.
    """
    loss = _loss(run, t)
    if loss is None or len(loss) < t.min_points_noise:
        return
    values = loss.to_numpy(dtype=float)
    start = start_level(values)
    half = values[len(values) // 2 :]
    swing, tv, net, blocks = swing_and_trend(half)
    if blocks < 4 or start <= 0:
        return
    if not (swing >= t.oscillation_swing * start and tv >= t.oscillation_trend * max(net, 0.0)):
        return
    size = max(1, len(half) // 40)
    noise_swing = 1.6 * within_block_noise(half, size) / np.sqrt(size) if size >= 2 else 0.0
    judged = _swings_confirmed(run, t, half, start, end_level(values), swing, noise_swing, size)
    if judged is None:
        return
    basis, confirm_margin = judged
    spec = spectrum(values, max(5, len(values) // 20))
    periodic = spec.peak_share >= t.periodic_power_share
    kind = f"periodic, every ~{spec.peak_period:.0f} points" if periodic else "irregular"
    yield Finding(
        code="loss_oscillation",
        severity="warning",
        title=f"Training loss oscillates ({kind}): swings of {swing / start:.0%} of its start",
        steps=(int(loss.index[len(values) // 2]), int(loss.index[-1])),
        series=run.roles["train_loss"],
        chart=(run.roles["train_loss"],),
        evidence=evidence(
            points=len(half),
            margin=min(swing / (t.oscillation_swing * start), confirm_margin),
            judged_against=basis,
            noise_swing=noise_swing,
            mean_swing=swing,
            swing_share_of_start=swing / start,
            total_variation=tv,
            net_decrease=net,
            blocks=blocks,
            threshold_swing=t.oscillation_swing,
            threshold_trend=t.oscillation_trend,
            spectral_peak_share=spec.peak_share,
            spectral_peak_period=spec.peak_period,
            high_frequency_share=spec.high_share,
            lag1_diff_autocorr=spec.lag1_diff_autocorr,
        ),
    )


def _swings_confirmed(
    run: Run,
    t: Thresholds,
    half: np.ndarray,
    start: float,
    end: float,
    swing: float,
    noise_swing: float,
    size: int,
) -> tuple[str, float] | None:
    """What tells the training loss's swings from healthy noise, and by how much they pass
    (a margin >= 1), or None when they do not (see :func:`loss_oscillation`)."""
    val = role_series(run, "val_loss")
    v = val.to_numpy(dtype=float) if val is not None else np.array([])
    v_start = start_level(v) if len(v) else 0.0
    if len(v) >= 2 * 8 and v_start > 0:
        v_swing, v_tv, v_net, v_blocks = typical_swing(v[len(v) // 2 :])
        if v_blocks >= 8:
            ok = v_swing >= t.oscillation_swing * v_start
            ok = ok and v_tv >= t.oscillation_trend * max(v_net, 0.0)
            return ("validation loss", v_swing / (t.oscillation_swing * v_start)) if ok else None
    if len(v) >= 3 and v_start > 0:
        # A few evaluations (epochs, a fine-tune): the model swings if its validation loss
        # goes up and down more than it goes down; one that falls at each evaluation does not.
        v_tv = float(np.abs(np.diff(v)).sum())
        v_net = float(v[0] - v[-1])
        if v_tv < t.oscillation_trend * max(v_net, 0.0):
            return None
        return "validation loss", v_tv / max(t.oscillation_trend * max(v_net, 0.0), 1e-300)
    if size >= 2:
        if swing < t.oscillation_noise * noise_swing:
            return None
        return "minibatch noise", swing / max(t.oscillation_noise * noise_swing, 1e-300)
    typical, _, _, _ = typical_swing(half)
    descended = max(start - end, 0.0)
    if typical < t.oscillation_no_progress * descended:
        return None
    return "progress", typical / max(t.oscillation_no_progress * descended, 1e-300)


@diagnostic(("train_loss",), ("grad_norm",))
def loss_spikes(run: Run, t: Thresholds) -> Iterator[Finding]:
    """Isolated sudden jumps in loss (or gradient norm) that training recovers from.

    A robust z-score in the spirit of large-model training logbooks (6 sigma): the jump above
    the median of the 10 points before, over a noise scale from the MAD of the differences of
    the previous 128 points. A spike also rises >= 30% above that median and by at least half
    the run's starting loss, from an ordinary point, and recovers (back below the median plus
    3 sigma or 30% of the jump). One spike is info, two or more a warning. Each spike's onset,
    size and recovery time are catalogued, with whether a gradient-norm spike came first (at or
    up to 5 points before).
    """
    loss = _loss(run, t)
    g = role_series(run, "grad_norm")
    source = loss if loss is not None else g
    if source is None or len(source) < 4 * t.min_points:
        return
    values = source.to_numpy(dtype=float)
    found = robust_spikes(
        values,
        window=t.spike_window,
        baseline=t.spike_baseline,
        z_min=t.spike_z,
        ratio_min=t.spike_min_ratio,
        min_height=t.spike_min_height * t.spike_floor_share * abs(start_level(values)),
        height_of_level=t.spike_min_height,
        recovery_z=t.spike_recovery_z,
    )
    spikes = [s for s in found if s.recovered]
    if not spikes:
        return
    steps = source.index.to_numpy()
    grad_first = 0
    if loss is not None and g is not None and len(g) >= 4 * t.min_points:
        gv = g.to_numpy(dtype=float)
        g_spikes = robust_spikes(
            gv,
            window=t.spike_window,
            baseline=t.spike_baseline,
            z_min=t.spike_z,
            ratio_min=t.spike_min_ratio,
            min_height=0.0,
            recovery_z=t.spike_recovery_z,
        )
        g_steps = np.array([g.index[s.onset] for s in g_spikes])
        for s in spikes:
            onset = steps[s.onset]
            window_start = steps[max(0, s.onset - 5)]
            if g_steps.size and ((g_steps >= window_start) & (g_steps <= onset)).any():
                grad_first += 1
    biggest = max(spikes, key=lambda s: s.ratio)
    what = "loss" if loss is not None else "gradient norm"
    tag = run.roles["train_loss" if loss is not None else "grad_norm"]
    catalogue = "; ".join(
        f"step {int(steps[s.onset])}: x{s.ratio:.2g}, "
        f"recovered in {int(steps[s.end] - steps[s.onset])} steps"
        for s in spikes[:10]
    )
    yield Finding(
        code="loss_spikes",
        severity="warning" if len(spikes) >= t.spike_warning_count else "info",
        title=f"{len(spikes)} {what} spike(s), the largest x{biggest.ratio:.2g} at step "
        f"{int(steps[biggest.onset])}",
        steps=(int(steps[spikes[0].onset]), int(steps[spikes[-1].end])),
        series=tag,
        chart=(tag,),
        evidence=evidence(
            points=len(values),
            margin=biggest.z / t.spike_z,
            spikes=len(spikes),
            largest_ratio=biggest.ratio,
            largest_z=biggest.z,
            largest_step=int(steps[biggest.onset]),
            median_recovery_steps=float(np.median([steps[s.end] - steps[s.onset] for s in spikes])),
            preceded_by_grad_spike=grad_first,
            series=what,
            catalogue=catalogue,
            threshold_z=t.spike_z,
            window=t.spike_window,
        ),
    )


@diagnostic(("train_loss",))
def slow_convergence(run: Run, t: Thresholds) -> Iterator[Finding]:
    """Loss falls, but far too slowly for the steps spent (with the convergence rate).

    A power law L(t) = a + b t^-c and an exponential a + b exp(-c t) are fitted to the loss
    (block medians); the better fit's c is the convergence rate. The run converges slowly if
    the loss lost less than 40% (and more than 1%) of its starting level and is still falling
    (the second half brought >= 20% of the whole drop), and the fit projects for twice the
    steps a further gain >= 2x the loss's point-to-point noise (judged against the run's own
    floor and noise): more steps or a larger learning rate would pay.
    """
    loss = _loss(run, t)
    if loss is None or len(loss) < 2 * t.min_points:
        return
    values = loss.to_numpy(dtype=float)
    steps = loss.index.to_numpy(dtype=float)
    start, end = start_level(values), end_level(values)
    if start <= 0:
        return
    drop = (start - end) / start
    # How much of the drop the second half brought: median of its first quarter minus median
    # of its last quarter.
    half = values[len(values) // 2 :]
    k = max(2, len(half) // 4)
    second_half_drop = float(np.median(half[:k]) - np.median(half[-k:]))
    second_half_share = second_half_drop / (start - end) if start > end else 0.0
    if not (t.slow_min_drop < drop < t.slow_max_drop and second_half_share >= t.slow_still_falling):
        return
    fit = loss_fit(run)
    span = steps[-1] - steps[0] + 1
    # Judged against the run's own fitted curve and noise, not its start: more steps pay only
    # if the gain the fit projects for twice the steps stands out of the loss's noise (a noisy
    # loss near its floor, as with augmentation, has nothing left to gain from them).
    projected_gain, noise = _projected_gain(run, loss)
    if projected_gain is not None and projected_gain < t.slow_projected_noise * noise:
        return
    tag = run.roles["train_loss"]
    yield Finding(
        code="slow_convergence",
        severity="warning",
        title=f"Loss fell only {drop:.0%} in {int(span)} steps and is still falling",
        steps=(int(steps[0]), int(steps[-1])),
        series=tag,
        chart=(tag,),
        evidence=evidence(
            points=len(values),
            margin=t.slow_max_drop / max(drop, 1e-12),
            start_loss=start,
            final_loss=end,
            relative_drop=drop,
            second_half_share_of_drop=second_half_share,
            fit_model=fit.model if fit else None,
            convergence_rate=fit.c if fit else None,
            fit_r2=fit.r2 if fit else None,
            fitted_loss_now=fit.at(span) if fit else None,
            projected_loss_at_2x_steps=fit.at(2 * span) if fit else None,
            projected_gain_over_noise=projected_gain / noise
            if projected_gain is not None and noise > 0
            else None,
            threshold_max_drop=t.slow_max_drop,
        ),
    )


def _projected_gain(run: Run, loss: pd.Series) -> tuple[float | None, float]:
    """What the fitted loss curve projects twice the steps would still gain (None without a
    fit), and the point-to-point noise of the loss's second half it is judged against."""
    steps = loss.index.to_numpy(dtype=float)
    values = loss.to_numpy(dtype=float)
    fit = loss_fit(run)
    span = steps[-1] - steps[0] + 1
    noise = noise_floor(values[len(values) // 2 :])
    return (fit.at(span) - fit.at(2 * span) if fit else None), noise


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


@diagnostic(("train_loss",))
def plateau(run: Run, t: Thresholds) -> Iterator[Finding]:
    """Loss stopped improving long before the end, or never learned at all.

    Stuck (the run never learned): the loss lost < 30% of its start and over the last 40% of
    the points improved by < 2% of the start: a warning, naming the chance level when the
    loss sits at ln C (C classes). With only 3 or 4 points this is said only when every point
    is at ln C (within 0.5%) and the loss moved < 1%: the commonest failed trial.

    Plateau: the loss fell by >= 30% of its start overall, but over the last 40% of the points
    improved by < 2% of the start (median of that window's first quarter minus median of its
    last quarter; getting worse by up to 10% also counts as flat), while still at >= 10% of
    its start (not converged to ~0). With the learning rate logged, it must end at >= 0.5x its
    maximum (decay had not started): that is where a schedule helps. Without a logged
    learning rate nothing is said: a loss gone flat after learning is usually converged. The
    plateau began where the smoothed loss first came within 2% (of the start) of its final
    level.
    """
    if is_rl(run):
        return
    loss = role_series(run, "train_loss")
    if loss is None or len(loss) < 3:
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
        projected, noise = _projected_gain(run, loss)
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
            val_trend_z=val_z,
            **common,
        ),
    )


def _val_trend(run: Run, t: Thresholds, from_share: float) -> float | None:
    """The Mann-Kendall z of the validation loss over the run's last ``1 - from_share`` of
    steps (negative: falling), or None when it has too few evaluations there to say."""
    val = role_series(run, "val_loss")
    train = role_series(run, "train_loss")
    if val is None or train is None or not len(train):
        return None
    first, last = int(train.index[0]), int(train.index[-1])
    window = val[val.index >= first + from_share * (last - first)]
    if len(window) < t.min_points:
        return None
    return trend_z(window.to_numpy(dtype=float))


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
