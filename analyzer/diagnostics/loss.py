"""The training loss: divergence, oscillation, spikes, convergence rate and plateaus."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from ..measures import (
    end_level,
    robust_spikes,
    role_series,
    rolling_median,
    spectrum,
    start_level,
    swing_and_trend,
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


@diagnostic(("train_loss",), ("loss_parts",), ("grad_norm",))
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

    A gradient norm that turns NaN/Inf and stays so to its end (>= 2 points) is a divergence
    too, when no loss shows it: the weights are NaN from then on, and writers such as the
    Hugging Face Trainer drop non-finite losses from their logs. A single non-finite norm that
    training recovers from is a mixed-precision overflow step, skipped by the loss scaler.
    """
    any_nonfinite_loss = False
    for tag in loss_tags(run):
        raw = run.tag_series(tag)
        if not len(raw):
            continue
        values = raw.to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            any_nonfinite_loss = True
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
    if not any_nonfinite_loss:
        yield from _nonfinite_gradients(run)


def _nonfinite_gradients(run: Run) -> Iterator[Finding]:
    tag = run.roles.get("grad_norm")
    if tag is None:
        return
    raw = run.tag_series(tag)
    bad = ~np.isfinite(raw.to_numpy(dtype=float))
    if not bad.any():
        return
    first_i = int(np.argmax(bad))
    if not bad[first_i:].all() or bad[first_i:].sum() < 2:
        return  # recovered: an overflow step of mixed precision, skipped by the loss scaler
    first = int(raw.index[first_i])
    loss_tag = run.roles.get("train_loss")
    yield Finding(
        code="loss_divergence",
        severity="error",
        title=f"Gradient norm {tag!r} is NaN/Inf from step {first} to the end: the weights are "
        "NaN from there (the logged loss does not show it: its writer drops non-finite values)",
        steps=(first, int(raw.index[-1])),
        series=tag,
        chart=(tag, *([loss_tag] if loss_tag else [])),
        evidence=evidence(
            first_nonfinite_step=first,
            nonfinite_points=int(bad.sum()),
            points=len(bad),
        ),
    )


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
