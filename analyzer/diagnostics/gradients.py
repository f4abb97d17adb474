"""Gradient health: exploding and vanishing gradients, globally and per layer."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from ..measures import (
    clean,
    finite,
    head_median,
    loss_blow_up,
    role_series,
    start_level,
    tail_median,
)
from ..model import Finding, Run, Severity, evidence
from ..settings import Thresholds
from . import diagnostic
from .components import is_rl, main_is_adversarial


@diagnostic(("grad_norm",), ("grad_norm_layers",), ("grad_norm_parts",))
def exploding_gradients(run: Run, t: Thresholds) -> Iterator[Finding]:
    """Gradient norm non-finite, above an absolute ceiling, or growing by orders of magnitude.

    On the global norm g (one point per logged step): any NaN/Inf (error); max(g) >= 1e6, or
    both max(g) and the median of the last 20% >= 100x the median of the first 10% (error);
    max(g) >= 1e3 or >= 100x that early median (warning). The peak is the highest level held
    for 2 points, and its growth is measured from the median of the first 10% of points before
    that stretch and before the uninterrupted climb into it (none before: no growth). The
    growth test is scale-free: it holds for any loss scale. A norm held up for fewer points
    exploded too when the training loss blew up without recovering at the same step (see
    loss_divergence: p_max >= 10 x its first point, never back below 0.75 x it): the norm's
    highest point between the loss's last point before its peak and the loss's peak is >= 10x
    the median of the norm's points before that span (error). With per-layer norms: the median
    ratio of the first layer's norm to the last layer's >= 70 (AutoTrainer), i.e. gradients
    grow toward the input.
    """
    tag = run.roles.get("grad_norm")
    if tag is not None and len(run.tag_series(tag)) >= t.min_points:
        found = list(_global_exploding(run.tag_series(tag), t))
        yield from found or _jump_with_the_loss(run, run.tag_series(tag), t)
    for part in run.layer_tags.get("grad_norm_parts", ()):
        g = run.tag_series(part)
        if len(g) >= t.min_points:
            yield from _global_exploding(g, t)
    layers = run.layer_tags.get("grad_norm_layers", ())
    if len(layers) >= 2:
        ratio = _layer_ratio(run, layers[0], layers[-1])
        if ratio is not None and len(ratio) >= t.min_points:
            med = float(np.median(ratio.to_numpy()))
            if med >= t.layer_ratio_exploding:
                yield Finding(
                    code="exploding_gradients",
                    severity="warning",
                    title=f"Gradients grow toward the input: first/last layer norm ratio {med:.3g}",
                    steps=(int(ratio.index[0]), int(ratio.index[-1])),
                    series=layers[0],
                    chart=(layers[0], layers[-1]),
                    evidence=evidence(
                        first_layer=layers[0],
                        last_layer=layers[-1],
                        median_first_last_ratio=med,
                        points=len(ratio),
                        margin=med / t.layer_ratio_exploding,
                        threshold_ratio=t.layer_ratio_exploding,
                    ),
                )


def _global_exploding(g: pd.Series, t: Thresholds) -> Iterator[Finding]:
    tag = str(g.name)
    values = g.to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        first = int(g.index[np.argmax(bad)])
        yield Finding(
            code="exploding_gradients",
            severity="error",
            title=f"Gradient norm {tag!r} became NaN/Inf at step {first}",
            steps=(first, int(g.index[-1])),
            series=tag,
            chart=(tag,),
            evidence=evidence(
                first_nonfinite_step=first,
                nonfinite_points=int(bad.sum()),
                points=len(values),
                max_finite_grad_norm=float(np.max(values[~bad])) if (~bad).any() else None,
            ),
        )
        return
    early = head_median(values, 0.1)
    late = tail_median(values, 0.2)
    # One spike of the norm is a spike (loss_spikes), not exploding gradients: the norm must
    # stay up. The "peak" is the highest level held for grad_sustain consecutive points.
    held = pd.Series(values).rolling(t.grad_sustain).min().to_numpy()
    held = np.where(np.isfinite(held), held, -np.inf)
    peak_i = int(np.argmax(held))
    peak = float(held[peak_i])
    # Growth is from the norm before the held stretch: a peak among the first points, before
    # the norm settled (a tiny data set memorised in a few steps: early median 0.008, the
    # second point 0.97), has nothing to have grown from. A norm that starts at exactly 0 has
    # no scale to grow from either: only the ceilings apply then.
    # Nor does the climb into the stretch count as where it grew from: an explosion in the
    # first steps (0.64, 3.8, 76, then 582 and 253 held) would otherwise be measured from its
    # own ramp. The base ends at the foot of the uninterrupted rise that leads to the stretch.
    stretch = peak_i - t.grad_sustain + 1
    foot = stretch
    while foot > 0 and values[foot - 1] < values[foot]:
        foot -= 1
    before = values[: min(max(foot, 1 if stretch > 0 else 0), max(1, int(len(values) * 0.1)))]
    base = float(np.median(before)) if before.size else 0.0
    growth = peak / base if base > 0 else 0.0
    late_growth = late / early if early > 0 else 0.0
    if peak >= t.grad_norm_abs_error or (growth >= t.grad_growth and late_growth >= t.grad_growth):
        severity: Severity = "error"
    elif growth >= t.grad_growth or peak >= t.grad_norm_abs_warning:
        severity = "warning"
    else:
        return
    # The span: from the last step still below 10x the early median to the peak.
    calm = np.flatnonzero(values[: peak_i + 1] < 10 * early) if early > 0 else np.array([0])
    onset = int(g.index[calm[-1]]) if calm.size else int(g.index[0])
    yield Finding(
        code="exploding_gradients",
        severity=severity,
        title=(
            f"Gradient norm grew {growth:.3g}x, to {peak:.3g}"
            if growth
            else f"Gradient norm at {peak:.3g} from its first points"
        )
        + f" (held for {t.grad_sustain} points) at step {int(g.index[peak_i])}",
        steps=(onset, int(g.index[peak_i])),
        series=tag,
        chart=(tag,),
        evidence=evidence(
            max_grad_norm=float(values.max()),
            sustained_grad_norm=peak,
            early_median_grad_norm=early,
            late_median_grad_norm=late,
            growth=growth or None,  # None: no point before the peak to grow from
            points=len(values),
            margin=max(growth / t.grad_growth, peak / t.grad_norm_abs_warning),
            threshold_growth=t.grad_growth,
            threshold_abs=t.grad_norm_abs_warning,
            threshold_sustain=t.grad_sustain,
        ),
    )


def _jump_with_the_loss(run: Run, g: pd.Series, t: Thresholds) -> Iterator[Finding]:
    """The norm's jump at the step where the training loss blew up and never recovered: the
    step that broke the network, after which the norm falls (dead units pass no gradient) and
    so is never held up for grad_sustain points."""
    loss = role_series(run, "train_loss")
    if loss is None or is_rl(run) or main_is_adversarial(run):
        return
    jump = loss_blow_up(run, run.roles["train_loss"])
    if jump is None or not jump.unrecovered(t.blowup_ratio, t.blowup_kept, t.min_points):
        return
    loss_step = int(loss.index[jump.index])
    since = int(loss.index[jump.index - 1])
    values = g.to_numpy(dtype=float)
    steps = g.index.to_numpy()
    within = np.flatnonzero((steps > since) & (steps <= loss_step) & np.isfinite(values))
    before = values[: within[0]] if within.size else values[:0]
    before = before[np.isfinite(before)]
    if not within.size or not before.size or float(np.median(before)) <= 0:
        return
    base = float(np.median(before))
    peak_i = int(within[np.argmax(values[within])])
    peak = float(values[peak_i])
    growth = peak / base
    if growth < t.grad_blowup_growth:
        return
    tag = str(g.name)
    yield Finding(
        code="exploding_gradients",
        severity="error",
        title=f"Gradient norm jumped {growth:.3g}x, to {peak:.3g} at step {int(steps[peak_i])}, "
        f"as the training loss blew up {jump.peak_ratio:.3g}x and never recovered",
        steps=(int(steps[peak_i]), loss_step),
        series=tag,
        chart=(tag, str(loss.name)),
        evidence=evidence(
            max_grad_norm=peak,
            grad_norm_before=base,
            growth=growth,
            loss_peak_step=loss_step,
            loss_peak_ratio=jump.peak_ratio,
            points=len(values),
            margin=growth / t.grad_blowup_growth,
            threshold_growth=t.grad_blowup_growth,
        ),
    )


def _layer_ratio(run: Run, first: str, last: str) -> pd.Series | None:
    a, b = clean(run, first), clean(run, last)
    if a is None or b is None:
        return None
    both = a.index.intersection(b.index)
    if both.empty:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = a.loc[both] / b.loc[both]
    return finite(ratio)


@diagnostic(("grad_norm",), ("grad_norm_layers",), ("grad_norm_parts",))
def vanishing_gradients(run: Run, t: Thresholds) -> Iterator[Finding]:
    """Gradient norm (global or per layer) below a floor, or collapsing toward zero.

    Per layer: the median first/last layer ratio <= 1e-3 with the first layer's median norm
    <= 1e-4 (AutoTrainer). Globally: the late median < 1e-7 (DeepDiagnosis; unless the training
    loss itself ended at <= 0.1% of its start: nothing left to learn); or exactly 0 on
    90% of the steps (no gradient flows); or the late median <= 1e-3 x the early median while
    the training loss kept >= 80% of its starting level (gradients cannot shrink a thousandfold
    in a model that has not learned unless they are vanishing).
    """
    layers = run.layer_tags.get("grad_norm_layers", ())
    if len(layers) >= 2:
        ratio = _layer_ratio(run, layers[0], layers[-1])
        first = finite(run.tag_series(layers[0])).to_numpy()
        if ratio is not None and len(ratio) >= t.min_points and first.size:
            med, first_med = float(np.median(ratio.to_numpy())), float(np.median(first))
            if med <= t.layer_ratio_vanishing and first_med <= t.first_layer_norm_vanishing:
                yield Finding(
                    code="vanishing_gradients",
                    severity="error",
                    title=f"Gradients vanish toward the input: first/last layer ratio {med:.2g}",
                    steps=(int(ratio.index[0]), int(ratio.index[-1])),
                    series=layers[0],
                    chart=(layers[0], layers[-1]),
                    evidence=evidence(
                        first_layer=layers[0],
                        last_layer=layers[-1],
                        median_first_last_ratio=med,
                        median_first_layer_norm=first_med,
                        points=len(ratio),
                        margin=t.layer_ratio_vanishing / max(med, 1e-300),
                        threshold_ratio=t.layer_ratio_vanishing,
                        threshold_first_layer_norm=t.first_layer_norm_vanishing,
                    ),
                )
                return
    tags = [run.roles["grad_norm"]] if "grad_norm" in run.roles else []
    for tag in (*tags, *run.layer_tags.get("grad_norm_parts", ())):
        found = list(_global_vanishing(run, tag, t))
        yield from found
        if found and tag in tags:
            return


def _global_vanishing(run: Run, tag: str, t: Thresholds) -> Iterator[Finding]:
    g = clean(run, tag)
    if g is None or len(g) < t.min_points:
        return
    values = g.to_numpy(dtype=float)
    span = (int(g.index[0]), int(g.index[-1]))
    zero_share = float(np.mean(values == 0))
    late = tail_median(values, 0.5)
    if zero_share >= t.zero_grad_share:
        yield Finding(
            code="vanishing_gradients",
            severity="error",
            title=f"Gradient norm {tag!r} is exactly 0 on {zero_share:.0%} of steps: no "
            "gradient flows",
            steps=span,
            series=tag,
            chart=(tag,),
            evidence=evidence(
                zero_share=zero_share,
                points=len(values),
                margin=zero_share / t.zero_grad_share,
                threshold_share=t.zero_grad_share,
            ),
        )
        return
    if late < t.grad_norm_vanished and not _loss_converged_to_zero(run, t):
        yield Finding(
            code="vanishing_gradients",
            severity="error",
            title=f"Gradient norm {tag!r} vanished: median {late:.2g} in the second half",
            steps=span,
            series=tag,
            chart=(tag,),
            evidence=evidence(
                late_median_grad_norm=late,
                points=len(values),
                margin=t.grad_norm_vanished / max(late, 1e-300),
                threshold=t.grad_norm_vanished,
            ),
        )
        return
    if tag != run.roles.get("grad_norm"):
        return  # a part of the model: its loss is not known to be the run's loss
    lv_s = role_series(run, "train_loss")
    early = head_median(values, 0.1)
    if lv_s is None or len(values) < 2 * t.min_points or early <= 0:
        return
    lv = lv_s.to_numpy(dtype=float)
    if lv.size < t.min_points or start_level(lv) <= 0:
        return
    kept = tail_median(lv, 0.05) / start_level(lv)
    if late <= t.grad_collapse * early and kept >= t.collapse_loss_kept:
        yield Finding(
            code="vanishing_gradients",
            severity="warning",
            title=f"Gradient norm collapsed {early / late:.3g}x while the loss barely moved",
            steps=span,
            series=tag,
            chart=(tag, run.roles["train_loss"]),
            evidence=evidence(
                early_median_grad_norm=early,
                late_median_grad_norm=late,
                loss_kept=kept,
                points=len(values),
                margin=t.grad_collapse * early / max(late, 1e-300),
                threshold_collapse=t.grad_collapse,
                threshold_loss_kept=t.collapse_loss_kept,
            ),
        )


def _loss_converged_to_zero(run: Run, t: Thresholds) -> bool:
    """Whether the training loss ended at <= 0.1% of its start: a model that fits its data
    exactly has a gradient of ~0 because its loss is ~0, which is not vanishing."""
    loss = role_series(run, "train_loss")
    if loss is None or len(loss) < t.min_points:
        return False
    values = loss.to_numpy(dtype=float)
    start = start_level(values)
    return start > 0 and tail_median(values, 0.05) <= t.vanished_loss_converged * start
