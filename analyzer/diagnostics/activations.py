"""Activations: dead units, from histograms of layer outputs."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..model import Finding, Run, evidence
from ..settings import Thresholds
from . import diagnostic


def zero_share(edges: np.ndarray, counts: np.ndarray) -> float:
    """Share of the values in the bucket(s) holding exactly zero.

    Writers bucket histograms finely around zero (TensorFlow's and torch's default buckets are
    exponential, the one holding 0 is ~1e-12 wide), so that bucket holds the exact zeros a
    ReLU outputs for a dead unit.
    """
    total = float(counts.sum())
    if total <= 0 or edges.size != counts.size + 1:
        return 0.0
    left, right = edges[:-1], edges[1:]
    holds_zero = (left <= 0) & (right >= 0)
    return float(counts[holds_zero].sum() / total)


@diagnostic(("activations",))
def dead_units(run: Run, t: Thresholds) -> Iterator[Finding]:
    """A large share of activations stuck at zero (dead ReLUs), from activation histograms.

    For each activation histogram tag, the share of values in the zero bucket of its last
    histogram; a layer is dead when that share is >= 90%. The evidence keeps the worst layer's
    share at its first histogram: units dead from the start point at the initialisation. Units
    that died as training went, in a run whose loss diverges or oscillates or whose gradients
    explode, are a symptom of the step size: they are reported as info, the step as the alarm.
    """
    tags = run.layer_tags.get("activations", ())
    h = run.histograms
    dead = []
    for tag in tags:
        rows = h[h["tag"] == tag]
        if rows.empty:
            continue
        first, last = rows.iloc[0], rows.iloc[-1]
        share = zero_share(np.asarray(last["edges"]), np.asarray(last["counts"]))
        if share >= t.dead_share:
            at_first = zero_share(np.asarray(first["edges"]), np.asarray(first["counts"]))
            dead.append((tag, share, int(last["step"]), int(first["step"]), at_first))
    if not dead:
        return
    worst = max(dead, key=lambda d: d[1])
    yield Finding(
        code="dead_units",
        severity="error" if worst[1] >= 0.99 else "warning",
        title=f"{len(dead)} of {len(tags)} layers output zero for >= {t.dead_share:.0%} of inputs",
        steps=(min(d[3] for d in dead), max(d[2] for d in dead)),
        series=worst[0],
        evidence=evidence(
            points=len(tags),
            margin=worst[1] / t.dead_share,
            dead_layers=", ".join(d[0] for d in dead),
            worst_layer=worst[0],
            worst_zero_share=worst[1],
            worst_first_zero_share=worst[4],
            layers_checked=len(tags),
            threshold_share=t.dead_share,
        ),
    )
