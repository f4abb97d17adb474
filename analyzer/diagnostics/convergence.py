"""How fast the training loss converges: slow convergence, judged against the run's own fitted
curve, noise and validation loss (plateaus are in :mod:`.plateau`)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from ..measures import (
    end_level,
    kendall_tau,
    loss_fit,
    noise_floor,
    role_series,
    start_level,
)
from ..model import Finding, Run, evidence
from ..settings import Thresholds
from . import diagnostic
from .loss import _loss


@diagnostic(("train_loss",))
def slow_convergence(run: Run, t: Thresholds) -> Iterator[Finding]:
    """Loss falls, but far too slowly for the steps spent (with the convergence rate).

    A power law L(t) = a + b t^-c and an exponential a + b exp(-c t) are fitted to the loss
    (block medians); the better fit's c is the convergence rate. The run converges slowly if
    the loss lost less than 40% (and more than 1%) of its starting level and is still falling
    (the second half brought >= 20% of the whole drop, but < 80%: a loss that sat still and
    broke out late had a delayed start), and the fit projects for twice the steps a further
    gain >= 0.5x the loss's point-to-point noise and >= 3% of the fitted loss now (judged
    against the run's own floor and noise): more steps or a larger learning rate would pay.
    Where the validation loss has >= 5 evaluations over the training loss's second half, it
    must fall there unbroken (Kendall's tau <= -0.8: lower at 90% of the pairs of evaluations):
    evaluated on fixed data, it is the better judge of whether the model still learns.

    The validation loss, on fixed data, shows what per-batch noise can hide in the training
    loss: a run this declines is slow too if, over >= 10 evaluations, its validation loss lost
    1-40% of its start while the training loss lost < 40%, with a point-to-point noise (robust
    sigma) >= 5% of what it lost (a trend the noise hides: where it shows, the training loss's
    verdict stands), fell unbroken over the second half (tau <= -0.8), and is not slowing
    down: its second half brought >= 45% of its drop (a straight fall brings about 40% by this
    measure, a curve nearing its floor less), but < 80% (a delayed start).
    """
    loss = _loss(run, t)
    if loss is None or len(loss) < 2 * t.min_points:
        return
    found = _slow_training_loss(run, t, loss)
    if found is None:
        found = _slow_validation_loss(run, t, loss)
    if found is not None:
        yield found


def _second_half_share(values: np.ndarray, start: float, end: float) -> float:
    """How much of a curve's drop (``start - end``) its second half brought: the median of
    that half's first quarter minus the median of its last quarter, as a share."""
    half = values[len(values) // 2 :]
    k = max(2, len(half) // 4)
    second_half_drop = float(np.median(half[:k]) - np.median(half[-k:]))
    return second_half_drop / (start - end) if start > end else 0.0


def _slow_training_loss(run: Run, t: Thresholds, loss: pd.Series) -> Finding | None:
    """:func:`slow_convergence` judged on the training loss."""
    values = loss.to_numpy(dtype=float)
    steps = loss.index.to_numpy(dtype=float)
    start, end = start_level(values), end_level(values)
    if start <= 0:
        return None
    drop = (start - end) / start
    second_half_share = _second_half_share(values, start, end)
    if not (t.slow_min_drop < drop < t.slow_max_drop and second_half_share >= t.slow_still_falling):
        return None
    if second_half_share >= t.slow_late_break:
        return None  # sat still, then broke out late: a delayed start, falling fastest at the end
    late_val = val_since(run, t, float(steps[len(steps) // 2]))
    val_tau = kendall_tau(late_val) if late_val is not None else None  # -1: fell at each one
    if val_tau is not None and val_tau > t.slow_val_tau:
        return None  # the validation loss no longer falls steadily: more steps would not pay
    fit = loss_fit(run)
    span = steps[-1] - steps[0] + 1
    # Judged against the run's own fitted curve and noise, not its start: more steps pay only
    # if the gain the fit projects for twice the steps stands out of the loss's noise (a noisy
    # loss near its floor, as with augmentation, has nothing left to gain from them).
    projected_gain, noise = projected_gain_and_noise(run, loss)
    if projected_gain is not None and projected_gain < t.slow_projected_noise * noise:
        return None
    # ... and it must be worth the steps: a few percent of the level is a loss at its floor (a
    # Keras run whose first epoch mean already holds the learning, label smoothing's floor).
    if fit is not None and projected_gain is not None:
        level = abs(fit.at(span))
        if level > 0 and projected_gain < t.slow_projected_share * level:
            return None
    tag = run.roles["train_loss"]
    return Finding(
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
            val_tau_second_half=val_tau,
            threshold_max_drop=t.slow_max_drop,
        ),
    )


def _slow_validation_loss(run: Run, t: Thresholds, loss: pd.Series) -> Finding | None:
    """:func:`slow_convergence` judged on the validation loss, where the training loss's
    per-batch noise hides the trend (an autoencoder at a tiny rate: its noisy training loss
    ended near where it began while its validation loss fell at every evaluation)."""
    train = loss.to_numpy(dtype=float)
    train_start, train_end = start_level(train), end_level(train)
    if train_start <= 0 or (train_start - train_end) / train_start >= t.slow_max_drop:
        return None  # the training loss lost much: what it says stands
    if noise_floor(train) < t.slow_val_train_noise * (train_start - train_end):
        return None  # its trend is plain to see through its noise: what it says stands
    val = role_series(run, "val_loss")
    values = val.to_numpy(dtype=float) if val is not None else np.array([])
    values = values[np.isfinite(values)]
    if val is None or len(values) < 2 * t.min_points:
        return None
    start, end = start_level(values), end_level(values)
    if start <= 0:
        return None
    drop = (start - end) / start
    share = _second_half_share(values, start, end)
    if not (t.slow_min_drop < drop < t.slow_max_drop and t.slow_val_share <= share):
        return None
    if share >= t.slow_late_break:
        return None  # sat still, then broke out late: a delayed start
    steps = loss.index.to_numpy(dtype=float)
    late_val = val_since(run, t, float(steps[len(steps) // 2]))
    val_tau = kendall_tau(late_val) if late_val is not None else None
    if val_tau is None or val_tau > t.slow_val_tau:
        return None
    tag = run.roles["val_loss"]
    span = steps[-1] - steps[0] + 1
    return Finding(
        code="slow_convergence",
        severity="warning",
        title=f"Validation loss fell only {drop:.0%} in {int(span)} steps and is still falling "
        "as fast as ever",
        steps=(int(steps[0]), int(steps[-1])),
        series=tag,
        chart=(tag, run.roles["train_loss"]),
        evidence=evidence(
            judged_on="validation loss",
            points=len(values),
            margin=t.slow_max_drop / max(drop, 1e-12),
            start_loss=start,
            final_loss=end,
            relative_drop=drop,
            second_half_share_of_drop=share,
            val_tau_second_half=val_tau,
            training_loss_drop=(train_start - train_end) / train_start,
            training_loss_noise=noise_floor(train),
            threshold_max_drop=t.slow_max_drop,
            threshold_val_share=t.slow_val_share,
        ),
    )


def val_since(run: Run, t: Thresholds, since: float) -> np.ndarray | None:
    """The finite validation losses from step ``since`` on, or None with fewer than
    ``min_points`` of them (too few to say how they move)."""
    val = role_series(run, "val_loss")
    if val is None:
        return None
    window = val[val.index >= since].to_numpy(dtype=float)
    window = window[np.isfinite(window)]
    return window if len(window) >= t.min_points else None


def projected_gain_and_noise(run: Run, loss: pd.Series) -> tuple[float | None, float]:
    """What the fitted loss curve projects twice the steps would still gain (None without a
    fit), and the point-to-point noise of the loss's second half it is judged against."""
    steps = loss.index.to_numpy(dtype=float)
    values = loss.to_numpy(dtype=float)
    fit = loss_fit(run)
    span = steps[-1] - steps[0] + 1
    noise = noise_floor(values[len(values) // 2 :])
    return (fit.at(span) - fit.at(2 * span) if fit else None), noise
