"""The training loss: divergence, oscillation, spikes, convergence rate and plateaus."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..measures import (
    BlowUp,
    Spike,
    end_level,
    loss_blow_up,
    noise_floor,
    robust_spikes,
    role_series,
    rolling_median,
    spectrum,
    start_level,
    swing_and_trend,
    tail_share,
    typical_swing,
    within_block_noise,
)
from ..model import Finding, Run, evidence
from ..settings import Thresholds
from . import diagnostic
from .components import Component, components, is_rl, main_is_adversarial, total_of


def _loss(run: Run, t: Thresholds) -> pd.Series | None:
    """The finite training loss whose shape is judged, or None when there are too few points
    to say anything (or the run is judged by its reward, or the loss is a GAN player's, or it
    ended NaN/Inf)."""
    if is_rl(run) or main_is_adversarial(run) or ended_nonfinite(run):
        return None
    loss = role_series(run, "train_loss")
    return loss if loss is not None and len(loss) >= t.min_points else None


def ended_nonfinite(run: Run) -> bool:
    """Whether the training loss's last point is NaN/Inf: the weights are broken from there
    on, loss_divergence says so, and the shape of the finite points before (flat, slow) is
    no verdict on the run."""
    tag = run.roles.get("train_loss")
    if tag is None:
        return False
    raw = run.tag_series(tag)
    return bool(len(raw)) and not bool(np.isfinite(float(raw.iloc[-1])))


@diagnostic(("train_loss",), ("loss_parts",), ("grad_norm",))
def loss_divergence(run: Run, t: Thresholds) -> Iterator[Finding]:
    """Training loss becomes NaN/Inf, or climbs for good, in any of the run's losses.

    Every training loss is checked, each named (YOLO box/obj/cls, detectron2's parts,
    a GAN's generator and discriminator), and a NaN or Inf in any is an error however few
    finite points there are. Otherwise, with start = median of the first 3 points and end =
    median of the last max(3, n/20): the loss diverged if end >= 1.5 x start, or if every point
    after the first is >= 1.5 x the first (it blew up at once and never came back), or if end
    >= 3 x the lowest rolling median (window n/20) and the rise is >= 25% of start and >= 3x
    the loss's point-to-point noise (it gave back its progress, and the validation loss, where
    logged, ends >= 1.5x its best too, by >= 3x its own noise), or
    if it blew up once and never recovered: its highest point p_max >= 10 x its first point
    x_0 and, after it, its rolling median (window max(3, n/20)) never below 0.75 x x_0 (a loss
    that sits still at its start after the step broke the network).
    Medians make single spikes (loss_spikes) and a warmup bump that is
    followed by progress not count. An RL run's losses are checked for NaN only (judged by its
    reward). NaN in validation data only is not divergence (see ``no_signal``).

    A gradient norm that turns NaN/Inf and stays so to its end (>= 2 points) is a divergence
    too, when no loss shows it: the weights are NaN from then on, and writers such as the
    Hugging Face Trainer drop non-finite losses from their logs. A single non-finite norm that
    training recovers from is a mixed-precision overflow step, skipped by the loss scaler.
    """
    any_nonfinite_loss = False
    total = total_of(run)
    for part in components(run):
        tag = part.tag
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
                title=f"Training loss {_named(part, total)} is NaN/Inf "
                + ("from its first point" if bad[0] else f"from step {first}"),
                steps=(first, int(raw.index[-1])),
                series=tag,
                chart=(tag,),
                evidence=evidence(
                    first_nonfinite_step=first,
                    nonfinite_points=int(bad.sum()),
                    points=len(values),
                    last_finite_loss=float(values[~bad][-1]) if (~bad).any() else None,
                    **_component_evidence(part, total),
                ),
            )
            continue
        if is_rl(run) or part.kind == "adversarial" or len(values) < t.min_points:
            continue  # an RL or GAN loss rises as the returns or the other player grow
        yield from _climb(run, raw, values, part, total, t)
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


def _named(part: Component, total: str | None) -> str:
    """A loss's name for a title: a part says which total it belongs to."""
    if part.kind == "part" and total is not None:
        return f"{part.tag!r} (a part of {total!r})"
    return repr(part.tag)


def _component_evidence(part: Component, total: str | None) -> dict[str, object]:
    """Which loss of the run a finding judged, and the total when the writer defines one
    (nothing for the run's training loss when it is no total: the common one-loss run)."""
    return {} if part.kind == "main" else {"component": part.kind, "total": total}


def _climb(
    run: Run, raw: pd.Series, values: np.ndarray, part: Component, total: str | None, t: Thresholds
) -> Iterator[Finding]:
    tag = part.tag
    start, end = start_level(values), end_level(values)
    smooth = rolling_median(values, max(3, len(values) // 20))
    best_i = int(np.argmin(smooth))
    best = float(smooth[best_i])
    rose = start > 0 and end >= t.divergence_rise * start
    # Blown up from the first update: every point after the first >= 1.5x the first (which
    # the median of the first 3 hides when the loss jumps at once, as with epoch means).
    jumped = values[0] > 0 and float(values[1:].min()) >= t.divergence_rise * values[0]
    if jumped and not rose:
        start, rose = float(values[0]), True
    gave_back = best > 0 and end >= t.divergence_from_best * best
    gave_back = gave_back and end - best >= t.divergence_min_rise * abs(start)
    # The lowest of a bouncing loss's rolling medians and its last median differ by its noise.
    gave_back = gave_back and end - best >= t.divergence_rise_noise * noise_floor(values)
    if part.tag == run.roles.get("train_loss"):
        gave_back = gave_back and _validation_confirms(run, t)
    if not rose:
        jump = loss_blow_up(run, tag)
        if jump is not None and jump.unrecovered(t.blowup_ratio, t.blowup_kept, t.min_points):
            yield _blow_up_finding(raw, jump, part, total, t)
            return
    if not (rose or gave_back):
        return
    margin = end / (t.divergence_rise * start) if rose else end / (t.divergence_from_best * best)
    yield Finding(
        code="loss_divergence",
        severity="error" if rose else "warning",
        title=(
            f"Training loss {_named(part, total)} rose from {start:.4g} to {end:.4g}"
            if rose
            else f"Training loss {_named(part, total)} fell to {best:.4g}, then climbed back "
            f"to {end:.4g}"
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
            **_component_evidence(part, total),
        ),
    )


def _blow_up_finding(
    raw: pd.Series, jump: BlowUp, part: Component, total: str | None, t: Thresholds
) -> Finding:
    step = int(raw.index[jump.index])
    return Finding(
        code="loss_divergence",
        severity="error",
        title=f"Training loss {_named(part, total)} blew up to {jump.peak:.4g} at step {step} "
        f"({jump.peak_ratio:.3g}x its first point) and never recovered: it never came back "
        f"below {jump.kept_ratio:.2g}x its first point"
        + (
            f", having reached {jump.best_before:.4g} before"
            if jump.best_before < jump.first
            else ""
        ),
        steps=(step, int(raw.index[-1])),
        series=part.tag,
        chart=(part.tag,),
        evidence=evidence(
            first_loss=jump.first,
            peak_loss=jump.peak,
            peak_step=step,
            best_loss_before_peak=jump.best_before,
            lowest_smoothed_loss_after_peak=jump.after_low,
            points=len(raw),
            margin=min(jump.peak_ratio / t.blowup_ratio, jump.kept_ratio / t.blowup_kept),
            threshold_blowup_ratio=t.blowup_ratio,
            threshold_blowup_kept=t.blowup_kept,
            **_component_evidence(part, total),
        ),
    )


def _validation_confirms(run: Run, t: Thresholds) -> bool:
    """Whether the validation loss, where one is logged, gave back its progress too (ends
    >= 1.5x its best, by >= 3x its point-to-point noise): a noisy per-step loss on tiny
    batches climbs back in its rolling medians while the validation loss holds, and a real
    divergence shows in both. The lowest of a noisy validation loss is a lucky evaluation."""
    val = role_series(run, "val_loss")
    if val is None or len(val) < t.min_points:
        return True
    v = val.to_numpy(dtype=float)
    best, end = float(v.min()), end_level(v)
    if best <= 0:
        return True
    climbed = end - best >= t.divergence_rise_noise * noise_floor(v)
    return end >= t.divergence_rise * best and climbed


@diagnostic(("train_loss",))
def loss_oscillation(run: Run, t: Thresholds) -> Iterator[Finding]:
    """Loss swings up and down more than it goes down (variance and spectral measures).

    On the second half of the run, split into ~40 blocks whose medians average out minibatch
    noise: the mean |change| between block medians ("swing") >= 8% of the starting loss
    (halved to 4% where a validation loss with >= 16 evaluations judges the swings: block
    medians can average away part of a saw-tooth the evaluations show), and their total
    variation >= 3x the net decrease (a curve that only falls has total variation equal to its
    decrease). Healthy minibatch noise is not oscillation, so the swings must also stand out of
    the run's own noise, judged on the best evidence the run has:

    - a validation loss with >= 8 evaluations in its second half must swing too: its median
      |change| between evaluations >= 8% of its start, total variation >= 3x its net decrease
      (the median, so that isolated jumps after corrupted batches are spikes, not swings);
      with 3 to 15 evaluations, its total variation >= 3x its net decrease (a validation loss
      that falls at each evaluation says the model is learning steadily);
    - else, with several points per block: the swings >= 3x what the points' own noise gives
      block medians (1.6 sigma / sqrt(block size));
    - else (one point per block, nothing to tell swings from noise): the typical late swing
      is at least half of all the loss descended: it fails to descend because of its swings.

    Not while the learning rate, where logged, rose over that half to >= 2x a value it had
    there: warm restarts (SGDR) and cyclic schedules raise the loss by design.

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
    # With a validation loss evaluated often enough, it judges the swings (its own size gate
    # below) and the training loss's gate is halved: block medians of a per-step loss can
    # average away part of a saw-tooth (unshuffled classes) the evaluations show. Not waived:
    # a loss whose block medians barely move does not swing, whatever its validation loss
    # does near its floor.
    gate = t.oscillation_swing_val_judged if _val_swings_judge(run) else t.oscillation_swing
    swung = swing >= gate * start
    if not (swung and tv >= t.oscillation_trend * max(net, 0.0)):
        return
    if _schedule_restarts(run, t, float(loss.index[len(values) // 2])):
        return  # warm restarts raise the loss by design: the schedule makes these swings
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
        title=f"Training loss oscillates ({kind}): swings of {_percent(swing / start)} of its "
        f"start{_WITH_VALIDATION if basis == 'validation loss' else ''}",
        steps=(int(loss.index[len(values) // 2]), int(loss.index[-1])),
        series=run.roles["train_loss"],
        chart=(run.roles["train_loss"],),
        evidence=evidence(
            points=len(half),
            margin=min(swing / (gate * start), confirm_margin),
            judged_against=basis,
            noise_swing=noise_swing,
            mean_swing=swing,
            swing_share_of_start=swing / start,
            total_variation=tv,
            net_decrease=net,
            blocks=blocks,
            threshold_swing=gate,
            threshold_trend=t.oscillation_trend,
            spectral_peak_share=spec.peak_share,
            spectral_peak_period=spec.peak_period,
            high_frequency_share=spec.high_share,
            lag1_diff_autocorr=spec.lag1_diff_autocorr,
        ),
    )


_WITH_VALIDATION = ", and the validation loss swings with it"


def _percent(share: float) -> str:
    """A share as a percentage that never reads 0% for a swing that was found: 9%, 0.42%."""
    return f"{share:.0%}" if share >= 0.01 else f"{100 * share:.2g}%"


def _schedule_restarts(run: Run, t: Thresholds, since: float) -> bool:
    """Whether the logged learning rate rose from step ``since`` on to >= ``oscillation_lr_rise``
    x a value it had earlier in that stretch (a warm restart, a cyclic schedule)."""
    lr = role_series(run, "learning_rate")
    if lr is None:
        return False
    window = lr[lr.index >= since].to_numpy(dtype=float)
    window = window[np.isfinite(window) & (window > 0)]
    if len(window) < 2:
        return False
    return bool(np.max(window / np.minimum.accumulate(window)) >= t.oscillation_lr_rise)


def _val_swings_judge(run: Run) -> bool:
    """Whether the validation loss has the evaluations to judge swings alone (>= 8 blocks
    of its second half)."""
    val = role_series(run, "val_loss")
    return val is not None and len(val) >= 2 * 8


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


@diagnostic(("train_loss",), ("loss_parts",), ("grad_norm",))
def loss_spikes(run: Run, t: Thresholds) -> Iterator[Finding]:
    """Isolated sudden jumps in any training loss (or gradient norm) that training recovers from.

    A robust z-score in the spirit of large-model training logbooks (6 sigma): the jump above
    the median of the 10 points before, over a noise scale from the MAD of the differences of
    the previous 128 points. A spike also rises >= 30% above that median and by at least half
    the series' starting loss, from an ordinary point, and recovers (back below the median plus
    3 sigma or 30% of the jump). One spike is info, two or more a warning when the largest
    stands >= 20 sigma (per-batch noise is right-skewed: healthy runs cross 6 sigma now and
    then), or >= 40 where the validation loss was no higher after any spike than before it
    (no spike hurt the model: hard examples in tiny batches, not bad data). Each spike's
    onset, size and recovery time are catalogued, with whether a gradient-norm spike came
    first (at or up to 5 points before).

    Every term of the objective is checked, each named (detectron2's ``loss_mask``, a
    multi-task head), as well as the training loss: a bad batch may show in one term only.
    A term's spikes that the total shows at the same steps (within 5 points) are reported
    with the total, naming the term. A GAN player's or an RL loss jumps by design and is not
    checked (an RL run is judged by its reward).
    """
    loss = _loss(run, t)
    g = role_series(run, "grad_norm")
    total = total_of(run)
    parts = [] if is_rl(run) else [c for c in components(run) if c.kind == "part"]
    part_spikes = {c.tag: _spikes(role_tag_series(run, c.tag), t) for c in parts}
    source = loss if loss is not None else g
    main_spikes = _spikes(source, t) if source is not None else []
    if main_spikes and source is not None:
        what = "loss" if loss is not None else "gradient norm"
        tag = run.roles["train_loss" if loss is not None else "grad_norm"]
        # The terms that spiked with the main loss: said with it, not again on their own.
        onsets = source.index.to_numpy()[[s.onset for s in main_spikes]]
        with_main: list[str] = []
        for part_tag, found in part_spikes.items():
            steps = role_tag_series(run, part_tag).index.to_numpy()
            near = [s for s in found if _near(steps[s.onset], onsets, steps, s.onset)]
            if near:
                with_main.append(part_tag)
                part_spikes[part_tag] = [s for s in found if s not in near]
        main = Component(tag, "main") if loss is None else _main_component(run)
        yield _spike_finding(run, t, source, main_spikes, what, main, total, with_main)
    for c in parts:
        found = part_spikes[c.tag]
        if found:
            series = role_tag_series(run, c.tag)
            yield _spike_finding(run, t, series, found, "loss", c, total, [])


def role_tag_series(run: Run, tag: str) -> pd.Series:
    """The finite points of ``tag``."""
    s = run.tag_series(tag)
    return s[np.isfinite(s.to_numpy(dtype=float))]


def _main_component(run: Run) -> Component:
    main = run.roles["train_loss"]
    return next(c for c in components(run) if c.tag == main)


def _near(step: int, onsets: np.ndarray, steps: np.ndarray, i: int) -> bool:
    """Whether a spike at ``step`` (index ``i`` of ``steps``) is one of the main loss's:
    within 5 of its own points of one of their onsets."""
    lo, hi = steps[max(0, i - 5)], steps[min(len(steps) - 1, i + 5)]
    return bool(((onsets >= lo) & (onsets <= hi)).any())


def _spikes(source: pd.Series | None, t: Thresholds) -> list[Spike]:
    """The recovered spikes of a series with enough points (see :func:`loss_spikes`)."""
    if source is None or len(source) < 4 * t.min_points:
        return []
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
    return [s for s in found if s.recovered]


def _grad_first(run: Run, t: Thresholds, source: pd.Series, spikes: list[Spike]) -> int:
    """How many of the loss's spikes a gradient-norm spike came at or up to 5 points before."""
    g = role_series(run, "grad_norm")
    if g is None or g.name == source.name or len(g) < 4 * t.min_points:
        return 0
    g_spikes = robust_spikes(
        g.to_numpy(dtype=float),
        window=t.spike_window,
        baseline=t.spike_baseline,
        z_min=t.spike_z,
        ratio_min=t.spike_min_ratio,
        min_height=0.0,
        recovery_z=t.spike_recovery_z,
    )
    g_steps = np.array([g.index[s.onset] for s in g_spikes])
    steps = source.index.to_numpy()
    count = 0
    for s in spikes:
        onset, window_start = steps[s.onset], steps[max(0, s.onset - 5)]
        if g_steps.size and ((g_steps >= window_start) & (g_steps <= onset)).any():
            count += 1
    return count


def _spikes_warn(
    spikes: list[Spike], t: Thresholds, tail: float, across: ValidationAcrossSpikes
) -> bool:
    """Two or more spikes, the largest (by its ratio to the level) beyond what right-skewed
    per-batch noise makes. Its z, not the largest z: just after a long flat stretch (learning
    that starts late) the noise scale of the window before is tiny, and any bounce has a
    huge z. Where the series' own noise is heavy-tailed (``tail``: the share of its points
    3 to 6 sigma up), its jumps of tens of sigma are that tail, and the bar is higher. Where
    the validation loss fell across every spike (``across``), none of them hurt the model: the
    bar is ``spike_unfelt_z``."""
    largest = max(spikes, key=lambda s: s.ratio)
    bar = t.spike_heavy_tail_z if tail >= t.spike_heavy_tail_share else t.spike_warning_z
    if across.checked >= t.spike_warning_count and across.rose == 0:
        bar = max(bar, t.spike_unfelt_z)
    return len(spikes) >= t.spike_warning_count and largest.z >= bar


@dataclass(frozen=True, slots=True)
class ValidationAcrossSpikes:
    """How the validation loss met a series' spikes: of the ``checked`` spikes with an
    evaluation before and after their onset, after how many it ``rose`` (was no lower at the
    first evaluation after than at the last one at or before)."""

    checked: int = 0
    rose: int = 0


def _validation_across(run: Run, source: pd.Series, spikes: list[Spike]) -> ValidationAcrossSpikes:
    """Whether the model felt the spikes: a bad batch's update harms what the validation loss
    measures (corrupted batches: it is higher at the next evaluation after some of them); a
    hard batch in a tiny-batch run leaves it falling as before."""
    val = role_series(run, "val_loss")
    if val is None or source.name == val.name:
        return ValidationAcrossSpikes()
    at, level = val.index.to_numpy(dtype=float), val.to_numpy(dtype=float)
    checked = rose = 0
    for s in spikes:
        onset = float(source.index[s.onset])
        before, after = level[at <= onset], level[at > onset]
        if before.size and after.size:
            checked += 1
            rose += int(after[0] >= before[-1])
    return ValidationAcrossSpikes(checked, rose)


def _spike_finding(
    run: Run,
    t: Thresholds,
    source: pd.Series,
    spikes: list[Spike],
    what: str,
    part: Component,
    total: str | None,
    with_terms: list[str],
) -> Finding:
    steps = source.index.to_numpy()
    biggest = max(spikes, key=lambda s: s.ratio)
    heavy = tail_share(
        source.to_numpy(dtype=float),
        window=t.spike_window,
        baseline=t.spike_baseline,
        low=t.spike_recovery_z,
        high=t.spike_z,
    )
    across = _validation_across(run, source, spikes) if what == "loss" else ValidationAcrossSpikes()
    catalogue = "; ".join(
        f"step {int(steps[s.onset])}: x{s.ratio:.2g}, "
        f"recovered in {int(steps[s.end] - steps[s.onset])} steps"
        for s in spikes[:10]
    )
    name = f" in {_named(part, total)}" if part.kind in ("part", "total") else ""
    terms = f", also in {', '.join(map(repr, with_terms))}" if with_terms else ""
    return Finding(
        code="loss_spikes",
        severity="warning" if _spikes_warn(spikes, t, heavy, across) else "info",
        title=f"{len(spikes)} {what} spike(s){name}, the largest x{biggest.ratio:.2g} at step "
        f"{int(steps[biggest.onset])}{terms}",
        steps=(int(steps[spikes[0].onset]), int(steps[spikes[-1].end])),
        series=part.tag,
        chart=(part.tag, *with_terms),
        evidence=evidence(
            points=len(source),
            margin=biggest.z / t.spike_z,
            spikes=len(spikes),
            largest_ratio=biggest.ratio,
            largest_z=biggest.z,
            largest_step=int(steps[biggest.onset]),
            median_recovery_steps=float(np.median([steps[s.end] - steps[s.onset] for s in spikes])),
            preceded_by_grad_spike=_grad_first(run, t, source, spikes) if what == "loss" else 0,
            series=what,
            catalogue=catalogue,
            threshold_z=t.spike_z,
            noise_tail_share=heavy,
            val_checked_spikes=across.checked,
            val_rose_after_spikes=across.rose,
            window=t.spike_window,
            **_component_evidence(part, total),
            also_in=", ".join(with_terms) if with_terms else None,
        ),
    )
