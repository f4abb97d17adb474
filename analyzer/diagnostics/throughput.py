"""Speed: throughput that drops during the run."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..measures import finite, step_rate
from ..model import Finding, Run, evidence
from ..settings import Thresholds
from . import diagnostic


@diagnostic(("throughput",), ("train_loss",))
def throughput_drop(run: Run, t: Thresholds) -> Iterator[Finding]:
    """Steps (or samples) per second fell markedly during the run.

    The median of the last quarter of the logged throughput (or, when none is logged, of the
    steps per second between training-loss points) is <= 0.5x the median of the first quarter
    (the first 2 points, warm-up, are skipped).
    """
    s = run.series("throughput")
    source = run.roles.get("throughput", "steps/s from the training loss's wall times")
    s = finite(s) if s is not None else step_rate(run)
    if s is None or len(s) < 2 * t.min_points:
        return
    s = s.iloc[t.throughput_warmup_points :]
    v = s.to_numpy(dtype=float)
    q = max(1, len(v) // 4)
    first, last = float(np.median(v[:q])), float(np.median(v[-q:]))
    if first <= 0 or last > t.throughput_drop * first:
        return
    # Where it dropped: the first point below the midpoint of the two levels, after a calm start.
    below = np.flatnonzero(v < (first + last) / 2)
    onset = int(s.index[below[0]]) if below.size else int(s.index[-q])
    yield Finding(
        code="throughput_drop",
        severity="warning",
        title=f"Throughput fell to {last / first:.0%} of its start ({first:.3g} -> {last:.3g})",
        steps=(onset, int(s.index[-1])),
        evidence=evidence(
            series=source,
            first_quarter_median=first,
            last_quarter_median=last,
            ratio=last / first,
            threshold_ratio=t.throughput_drop,
        ),
    )
