"""Speed: throughput that drops during the run."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..measures import rate_of_the_moment, robust_sd, role_series, step_rate
from ..model import Finding, Run, evidence
from ..roles import CUMULATIVE_RATES
from ..settings import Thresholds
from . import diagnostic


@diagnostic(("throughput",), ("train_loss",))
def throughput_drop(run: Run, t: Thresholds) -> Iterator[Finding]:
    """Steps (or samples) per second fell markedly, and for good, during the run.

    The median of the last quarter of the logged throughput (or, when none is logged, of the
    steps per second between training-loss points, measured over spans of at least a second
    so that tiny CPU steps do not turn wall-clock jitter into rates) is <= 0.33x the median
    of the first quarter (the first 2 points, warm-up, are skipped), and the fall is at least
    3x the run's own jitter (the robust spreads s1, s2 of the two quarters, pooled:
    sqrt((s1^2 + s2^2) / 2)): a drop must be sustained and large against its noise. A rate
    derived from wall times is judged only on a run that trained for at least a minute: over a
    few seconds, another process on the machine halves it. The speed of evaluation passes
    (eval/samples_per_second) is not training throughput and is never used. A rate logged as a
    running average since the start (Stable-Baselines3's time/fps) is turned into the rate
    between its points first.
    """
    tag = run.roles.get("throughput")
    if not tag and _trained_for(run) < t.throughput_derived_min_s:
        return
    s = role_series(run, "throughput") if tag else step_rate(run)
    source = tag or "steps/s"
    if tag and s is not None and CUMULATIVE_RATES.match(tag):
        # A running average since the start bends slowly: judge the rate of the moment.
        moment = rate_of_the_moment(s)
        if moment is not None:
            s, source = moment, f"{tag} (rate of the moment, from its running average)"
    if s is None or len(s) < 2 * t.min_points:
        return
    s = s.iloc[t.throughput_warmup_points :]
    v = s.to_numpy(dtype=float)
    q = max(1, len(v) // 4)
    first, last = float(np.median(v[:q])), float(np.median(v[-q:]))
    if first <= 0 or last > t.throughput_drop * first:
        return
    # The two levels' spreads pooled (as in an effect size): a start jittered by load must
    # not hide a drop to a steady, much lower rate, nor a steady start a drop into jitter.
    jitter = float(np.sqrt((robust_sd(v[:q]) ** 2 + robust_sd(v[-q:]) ** 2) / 2))
    if first - last < t.throughput_noise * jitter:
        return
    # Where it dropped: the first point below the midpoint of the two levels, after a calm start.
    below = np.flatnonzero(v < (first + last) / 2)
    onset = int(s.index[below[0]]) if below.size else int(s.index[-q])
    yield Finding(
        code="throughput_drop",
        severity="warning",
        title=f"Throughput fell to {last / first:.0%} of its start ({first:.3g} -> {last:.3g})",
        steps=(onset, int(s.index[-1])),
        series=source,
        chart=(source,),
        evidence=evidence(
            series=source,
            first_quarter_median=first,
            last_quarter_median=last,
            ratio=last / first,
            jitter=jitter,
            points=len(v),
            margin=t.throughput_drop * first / max(last, 1e-300),
            threshold_ratio=t.throughput_drop,
        ),
    )


def _trained_for(run: Run) -> float:
    """Seconds between the first and the last training-loss point (0 without wall times)."""
    wall = run.wall_times("train_loss")
    if wall is None or len(wall) < 2:
        return 0.0
    return float(wall.iloc[-1] - wall.iloc[0])
