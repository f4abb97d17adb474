"""The training loss: divergence, oscillation, spikes, convergence rate and plateaus."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from ..measures import (
    end_level,
    finite,
    fit_curve,
    robust_spikes,
    rolling_median,
    spectrum,
    start_level,
    swing_and_trend,
)
from ..model import Finding, Run, evidence
from ..settings import Thresholds
from . import diagnostic


def _loss(run: Run, t: Thresholds) -> pd.Series | None:
    """The finite training loss, or None when there are too few points to say anything."""
    raw = run.series("train_loss")
    if raw is None:
        return None
    loss = finite(raw)
    loss = loss[~loss.index.duplicated(keep="last")]
    return loss if len(loss) >= t.min_points else None


@diagnostic(("train_loss",))
def loss_divergence(run: Run, t: Thresholds) -> Iterator[Finding]:
    """Training loss becomes NaN/Inf, or climbs for good.

    NaN/Inf at any step is an error. A validation loss that is NaN at every evaluation while
    the training loss is finite is a warning (bad validation data, not divergence). Otherwise,
    with start = median of the first 3 points and end = median of the last max(3, n/20): the
    loss diverged if end >= 1.5 x start, or if end >= 3 x the lowest rolling median (window
    n/20) and the rise is >= 25% of start (it gave back its progress). Medians make single
    spikes (loss_spikes) and a warmup bump that is followed by progress not count.
    """
    raw = run.series("train_loss")
    if raw is None or len(raw) < t.min_points:
        return
    values = raw.to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    val = run.series("val_loss")
    if val is not None and len(val) and not bad.any():
        val_bad = ~np.isfinite(val.to_numpy(dtype=float))
        if val_bad.all():
            yield Finding(
                code="loss_divergence",
                severity="warning",
                title="Validation loss is NaN/Inf at every evaluation while the training loss "
                "is finite: check the validation data and targets",
                steps=(int(val.index[0]), int(val.index[-1])),
                evidence=evidence(nonfinite_val_points=int(val_bad.sum()), val_points=len(val)),
            )
    if bad.any():
        first = int(raw.index[np.argmax(bad)])
        yield Finding(
            code="loss_divergence",
            severity="error",
            title=f"Training loss became NaN/Inf at step {first}",
            steps=(first, int(raw.index[-1])),
            evidence=evidence(
                first_nonfinite_step=first,
                nonfinite_points=int(bad.sum()),
                last_finite_loss=float(values[~bad][-1]) if (~bad).any() else None,
            ),
        )
        return
    start, end = start_level(values), end_level(values)
    smooth = rolling_median(values, max(3, len(values) // 20))
    best_i = int(np.argmin(smooth))
    best = float(smooth[best_i])
    rose = start > 0 and end >= t.divergence_rise * start
    gave_back = best > 0 and end >= t.divergence_from_best * best
    gave_back = gave_back and end - best >= t.divergence_min_rise * abs(start)
    if not (rose or gave_back):
        return
    yield Finding(
        code="loss_divergence",
        severity="error" if rose else "warning",
        title=(
            f"Training loss rose from {start:.4g} to {end:.4g}"
            if rose
            else f"Training loss fell to {best:.4g}, then climbed back to {end:.4g}"
        ),
        steps=(int(raw.index[best_i]), int(raw.index[-1])),
        evidence=evidence(
            start_loss=start,
            best_smoothed_loss=best,
            best_step=int(raw.index[best_i]),
            final_loss=end,
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
    equal to its decrease). A Welch periodogram of the loss minus its rolling-median trend
    tells a periodic pattern (one frequency holding >= 30% of the power: epoch boundaries,
    unshuffled data) from noise; the lag-1 autocorrelation of the differences (-0.5 for white
    noise) is reported with it.
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
    spec = spectrum(values, max(5, len(values) // 20))
    swinging = swing >= t.oscillation_swing * start and tv >= t.oscillation_trend * max(net, 0.0)
    if not swinging:
        return
    periodic = spec.peak_share >= t.periodic_power_share
    kind = f"periodic, every ~{spec.peak_period:.0f} points" if periodic else "irregular"
    yield Finding(
        code="loss_oscillation",
        severity="warning",
        title=f"Training loss oscillates ({kind}): swings of {swing / start:.0%} of its start",
        steps=(int(loss.index[len(values) // 2]), int(loss.index[-1])),
        evidence=evidence(
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
    g = run.series("grad_norm")
    g = finite(g) if g is not None else None
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
        min_height=t.spike_min_height * abs(start_level(values)),
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
        evidence=evidence(
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
    (the second half brought >= 20% of the whole drop), so more steps or a larger learning
    rate would pay: the fit's projection for twice the steps is reported.
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
    fit = fit_curve(steps, values)
    span = steps[-1] - steps[0] + 1
    yield Finding(
        code="slow_convergence",
        severity="warning",
        title=f"Loss fell only {drop:.0%} in {int(span)} steps and is still falling",
        steps=(int(steps[0]), int(steps[-1])),
        evidence=evidence(
            start_loss=start,
            final_loss=end,
            relative_drop=drop,
            second_half_share_of_drop=second_half_share,
            fit_model=fit.model if fit else None,
            convergence_rate=fit.c if fit else None,
            fit_r2=fit.r2 if fit else None,
            fitted_loss_now=fit.at(span) if fit else None,
            projected_loss_at_2x_steps=fit.at(2 * span) if fit else None,
            threshold_max_drop=t.slow_max_drop,
        ),
    )


@diagnostic(("train_loss",))
def plateau(run: Run, t: Thresholds) -> Iterator[Finding]:
    """Loss stopped improving long before the end while the learning rate stayed high.

    The loss fell by >= 30% of its start overall, but over the last 40% of the points improved
    by < 2% of the start (median of that window's first quarter minus median of its last
    quarter; getting worse by up to 10% also counts as flat), while still at >= 10% of its
    start (not converged to ~0). With the learning rate logged, it must end at >= 0.5x its
    maximum (decay had not started): that is where a schedule helps. Without it, the finding
    is only info. The plateau began where the smoothed loss first came within 2% (of the
    start) of its final level.
    """
    loss = _loss(run, t)
    if loss is None or len(loss) < 2 * t.min_points:
        return
    values = loss.to_numpy(dtype=float)
    steps = loss.index.to_numpy()
    start, end = start_level(values), end_level(values)
    if start <= 0:
        return
    cut = int(len(values) * (1 - t.plateau_window))
    late = values[cut:]
    k = max(2, len(late) // 4)
    gain = float(np.median(late[:k]) - np.median(late[-k:]))  # improvement over the window
    progressed = (start - end) / start >= t.plateau_progress
    stalled = -t.plateau_flat * start < gain < t.plateau_stall * start
    above_floor = end / start >= t.plateau_floor
    if not (progressed and stalled and above_floor):
        return
    lr = run.series("learning_rate")
    lr_kept = None
    if lr is not None and len(finite(lr)):
        lr_values = finite(lr).to_numpy(dtype=float)
        lr_kept = float(lr_values[-1] / lr_values.max()) if lr_values.max() > 0 else None
        if lr_kept is not None and lr_kept < t.plateau_lr_kept:
            return  # the learning rate was already decayed: this is convergence, not a plateau
    smooth = rolling_median(values, max(3, len(values) // 20))
    began = int(np.argmax(np.abs(smooth - end) / start < t.plateau_stall))
    yield Finding(
        code="plateau",
        severity="warning" if lr_kept is not None else "info",
        title=f"Loss has been flat at {end:.4g} since step {int(steps[began])}"
        + ("" if lr_kept is not None else " (learning rate not logged)"),
        steps=(int(steps[began]), int(steps[-1])),
        evidence=evidence(
            plateau_start_step=int(steps[began]),
            plateau_loss=end,
            start_loss=start,
            improvement_in_window=gain / start,
            final_lr_share_of_max=lr_kept,
            final_lr=float(finite(lr).iloc[-1]) if lr is not None and len(finite(lr)) else None,
            threshold_stall=t.plateau_stall,
            threshold_lr_kept=t.plateau_lr_kept,
        ),
    )
