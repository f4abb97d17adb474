"""The label oracle: simple, transparent checks on a run's logged numbers.

Each ``check_<code>`` reads only what the run logged (through TensorBoard's own
``EventAccumulator``, keeping every point) and returns an evidence string when the finding
holds, else ``None``. The checks are deliberately blunt and independent of dlreport's
diagnostics; every threshold is a named constant below. They know which tag plays which role
from the run's writer style (``config.json``), not by guessing.

Usage (inside the torch venv): ``python verify.py RUN_DIR [RUN_DIR ...]``.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# ----------------------------------------------------------------------------- thresholds
EXPLODE_GROWTH = 100.0  # max grad norm >= this x median of the first 10% of logged norms
EXPLODE_ABS = 1e3  # ... or >= this absolute value
VANISH_LAYER_RATIO = 1e-3  # median(first hidden layer / head grad norm) <= this
VANISH_GLOBAL_COLLAPSE = 1e-3  # late grad norm <= this x early, while loss stayed >= 80%
DIVERGE_RISE = 1.5  # final loss >= this x starting loss
DIVERGE_FROM_MIN = 3.0  # ... or final >= this x the lowest smoothed loss (and by >= 25% of start)
OSC_SWING = 0.08  # mean |change| of block medians in the 2nd half >= this x starting loss
OSC_TREND = 3.0  # ... and their total variation >= this x the net decrease
SPIKE_HEIGHT = 0.5  # a spike rises >= this x starting loss above the median of the last 10
SPIKE_RATIO = 3.0  # ... and to >= this x that median
SPIKE_MIN_COUNT = 2  # recovered spikes needed
SLOW_MAX_DROP = 0.4  # slow: total relative loss drop below this ...
SLOW_MIN_DROP = 0.01  # ... but above this,
SLOW_STILL_FALLING = 0.2  # ... and the 2nd half brought >= this share of the drop
PLATEAU_LR_KEPT = 0.5  # final lr >= this x max lr
PLATEAU_PROGRESS = 0.3  # loss first fell by >= this fraction of the start ...
PLATEAU_STALL = 0.02  # ... then improved < this x start over the last 40% of steps
PLATEAU_FLAT = 0.1  # ... and did not get worse by more than this x start there either
PLATEAU_FLOOR = 0.1  # ... and ended >= this x start (not converged to ~0)
OVERFIT_BEST_AT = 0.7  # best val loss within the first 70% of the run
OVERFIT_RISE = 1.1  # final val loss >= this x best
OVERFIT_TRAIN_FALL = 0.9  # late train loss <= this x train loss at the best-val step
DEAD_SHARE = 0.9  # share of activations == 0 in some layer's last histogram
UNSTABLE_SWING = 0.08  # mean |change| of a [0, 1] metric between evals (2nd half) >= this
UNSTABLE_TREND = 2.0  # ... and its total variation >= this x its net change
THROUGHPUT_DROP = 0.4  # median throughput of the last quarter <= this x the first quarter
MIN_POINTS = 5  # fewer finite train-loss points than this: no_signal

CODES = (
    "exploding_gradients",
    "vanishing_gradients",
    "loss_divergence",
    "loss_oscillation",
    "loss_spikes",
    "slow_convergence",
    "plateau",
    "overfitting",
    "dead_units",
    "unstable_metric",
    "throughput_drop",
    "no_signal",
)

# Which (sub-folder, tag) plays which role for each writer style. A tag ending in "*" is a
# prefix. "layer_grads" and "activations" are prefixes of per-layer families.
ROLES: dict[str, dict[str, list[tuple[str, str]]]] = {
    "torch": {
        "train_loss": [("", "Loss/train")],
        "val_loss": [("", "Loss/val")],
        "metrics": [("", "Accuracy/val")],
        "lr": [("", "lr")],
        "grad_norm": [("", "grad_norm")],
        "throughput": [("", "throughput/samples_per_sec")],
        "layer_grads": [("", "grad_norm/*")],
        "activations": [("", "activations/*")],
    },
    "hf": {
        "train_loss": [("", "train/loss")],
        "val_loss": [("", "eval/loss")],
        "metrics": [("", "eval/accuracy"), ("", "eval/f1")],
        "lr": [("", "train/learning_rate")],
        "grad_norm": [("", "train/grad_norm")],
        "throughput": [("", "train/samples_per_second")],
    },
    "lightning": {
        "train_loss": [("lightning_logs/version_0", "train_loss")],
        "val_loss": [("lightning_logs/version_0", "val_loss")],
        "metrics": [("lightning_logs/version_0", "val_acc")],
        "lr": [("lightning_logs/version_0", "lr-*")],
        "grad_norm": [("lightning_logs/version_0", "grad_2.0_norm_total")],
        "throughput": [("lightning_logs/version_0", "train/samples_per_sec")],
        "layer_grads": [("lightning_logs/version_0", "grad_2.0_norm/*")],
        "activations": [("lightning_logs/version_0", "activations/*")],
    },
    "keras": {
        "train_loss": [("train", "epoch_loss")],
        "val_loss": [("validation", "epoch_loss")],
        "metrics": [("validation", "epoch_accuracy")],
        "lr": [("train", "epoch_learning_rate")],
        "throughput": [("train", "epoch_steps_per_second")],
    },
    "tbx": {
        "train_loss": [("", "loss/train")],
        "val_loss": [("", "loss/val")],
        "metrics": [("", "metrics/precision"), ("", "metrics/recall"), ("", "metrics/accuracy")],
        "lr": [("", "learning_rate")],
        "grad_norm": [("", "grad/norm")],
        "throughput": [("", "perf/samples_per_sec")],
        "layer_grads": [("", "grad/*")],
        "activations": [("", "activations/*")],
    },
}


@dataclass
class Series:
    """One scalar tag: steps and values in logged order (non-finite values kept)."""

    tag: str
    steps: np.ndarray
    values: np.ndarray

    def finite(self) -> Series:
        ok = np.isfinite(self.values)
        return Series(self.tag, self.steps[ok], self.values[ok])

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class Histogram:
    step: int
    num: float
    limits: list[float]
    counts: list[float]


@dataclass
class RunData:
    """A run's series by role, as the oracle sees them."""

    name: str
    style: str
    series: dict[str, Series] = field(default_factory=dict)  # single-tag roles
    metrics: list[Series] = field(default_factory=list)
    layer_grads: dict[str, Series] = field(default_factory=dict)  # layer name -> series
    activations: dict[str, list[Histogram]] = field(default_factory=dict)

    def get(self, role: str) -> Series | None:
        return self.series.get(role)


# ----------------------------------------------------------------------------- reading


def _accumulator(folder: Path) -> Any:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    return acc


def _scalar_tags(acc: Any) -> dict[str, Series]:
    """Every scalar tag of a folder, simple_value scalars and TF2 tensor scalars alike."""
    from tensorboard.util import tensor_util

    out: dict[str, Series] = {}
    tags = acc.Tags()
    for tag in tags.get("scalars", []):
        events = acc.Scalars(tag)
        out[tag] = Series(
            tag,
            np.array([e.step for e in events]),
            np.array([e.value for e in events], dtype=float),
        )
    for tag in tags.get("tensors", []):
        events = acc.Tensors(tag)
        values = [tensor_util.make_ndarray(e.tensor_proto) for e in events]
        if values and all(v.size == 1 and v.dtype.kind in "fiu" for v in values):
            out[tag] = Series(
                tag,
                np.array([e.step for e in events]),
                np.array([float(v.reshape(-1)[0]) for v in values]),
            )
    return out


def _layer_key(name: str) -> tuple[int, int, str]:
    """Order layers input -> output: layers.N / rnn.ih_lN / rnn.hh_lN first, head last."""
    if name.startswith("head"):
        return (2, 0, name)
    digits = "".join(ch if ch.isdigit() else " " for ch in name).split()
    index = int(digits[0]) if digits else 0
    if name.startswith("rnn."):  # input-to-hidden before hidden-to-hidden in each layer
        return (0, 2 * index + (0 if "ih" in name else 1), name)
    return (0 if name.startswith("layers") else 1, index, name)


def load_run(run_dir: Path) -> RunData:
    """Read a run folder written by train.py, mapping tags to roles by its writer style."""
    config = json.loads((run_dir / "config.json").read_text())
    style = config["writer"]["style"]
    run = RunData(name=run_dir.name, style=style)
    folders: dict[str, tuple[Any, dict[str, Series]]] = {}

    def folder(sub: str) -> tuple[Any, dict[str, Series]]:
        if sub not in folders:
            path = run_dir / sub if sub else run_dir
            acc = _accumulator(path) if path.is_dir() else None
            folders[sub] = (acc, _scalar_tags(acc) if acc is not None else {})
        return folders[sub]

    for role, places in ROLES[style].items():
        for sub, pattern in places:
            acc, scalars = folder(sub)
            if pattern.endswith("*"):
                prefix = pattern[:-1]
                if role == "activations":
                    if acc is None:
                        continue
                    for tag in acc.Tags().get("histograms", []):
                        if tag.startswith(prefix):
                            run.activations[tag[len(prefix) :]] = [
                                Histogram(
                                    e.step,
                                    e.histogram_value.num,
                                    list(e.histogram_value.bucket_limit),
                                    list(e.histogram_value.bucket),
                                )
                                for e in acc.Histograms(tag)
                            ]
                elif role == "layer_grads":
                    for tag, series in scalars.items():
                        layer = tag[len(prefix) :]
                        if not tag.startswith(prefix) or layer in ("norm", "") or "norms." in layer:
                            continue
                        if layer.endswith(".bias"):
                            continue
                        run.layer_grads[layer.removesuffix(".weight")] = series
                else:
                    for tag, series in sorted(scalars.items()):
                        if tag.startswith(prefix):
                            run.series[role] = series
                            break
            elif pattern in scalars:
                if role == "metrics":
                    run.metrics.append(scalars[pattern])
                else:
                    run.series[role] = scalars[pattern]
    run.layer_grads = dict(sorted(run.layer_grads.items(), key=lambda kv: _layer_key(kv[0])))
    return run


# ----------------------------------------------------------------------------- helpers


def _start(values: np.ndarray) -> float:
    """Starting level: median of the first 3 points (the loss before training got going)."""
    return float(np.median(values[:3]))


def _end(values: np.ndarray) -> float:
    """Final level: median of the last max(3, n/20) points."""
    k = max(3, len(values) // 20)
    return float(np.median(values[-k:]))


def _rolling_median(values: np.ndarray, window: int) -> np.ndarray:
    return np.array([np.median(values[max(0, i - window + 1) : i + 1]) for i in range(len(values))])


def _block_medians(values: np.ndarray, n_blocks: int = 40) -> np.ndarray:
    """About ``n_blocks`` block medians (medians ignore isolated spikes and batch noise)."""
    size = max(1, len(values) // n_blocks)
    usable = len(values) // size * size
    return np.median(values[:usable].reshape(-1, size), axis=1)


def _train_loss(run: RunData) -> Series | None:
    loss = run.get("train_loss")
    if loss is None:
        return None
    finite = loss.finite()
    return finite if len(finite) >= MIN_POINTS else None


# ----------------------------------------------------------------------------- checks


def check_no_signal(run: RunData) -> str | None:
    """The run lacks the series a diagnosis starts from: no train loss with >= 5 finite points."""
    loss = run.get("train_loss")
    if loss is None:
        present = sorted(run.series) + (["metrics"] if run.metrics else [])
        return f"no training-loss series; roles present: {', '.join(present) or 'none'}"
    n = int(np.isfinite(loss.values).sum())
    if n < MIN_POINTS:
        return f"{loss.tag} has only {n} finite point(s)"
    return None


def check_exploding_gradients(run: RunData) -> str | None:
    """Global grad norm non-finite, >= 100x its early median, or >= 1e3."""
    g = run.get("grad_norm")
    if g is None or len(g) < MIN_POINTS:
        return None
    bad = ~np.isfinite(g.values)
    if bad.any():
        return f"{g.tag} non-finite at step {int(g.steps[bad][0])}"
    early = float(np.median(g.values[: max(3, len(g) // 10)]))
    i = int(np.argmax(g.values))
    peak = float(g.values[i])
    if peak >= EXPLODE_GROWTH * early or peak >= EXPLODE_ABS:
        why = f">= {EXPLODE_ABS:g}" if peak >= EXPLODE_ABS else f">= {EXPLODE_GROWTH:g}x early"
        return (
            f"{g.tag} max {peak:.4g} at step {int(g.steps[i])} ({why}); early median "
            f"{early:.3g}, ratio {peak / early:.3g}x"
        )
    return None


def check_vanishing_gradients(run: RunData) -> str | None:
    """Median first-hidden-layer / head grad-norm ratio <= 1e-3, or global norm collapsed."""
    if len(run.layer_grads) >= 2:
        names = list(run.layer_grads)
        first, last = run.layer_grads[names[0]], run.layer_grads[names[-1]]
        n = min(len(first), len(last))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = first.values[:n] / last.values[:n]
        ratio = ratio[np.isfinite(ratio)]
        if len(ratio) >= MIN_POINTS:
            med = float(np.median(ratio))
            if med <= VANISH_LAYER_RATIO:
                return (
                    f"median grad-norm ratio {names[0]}/{names[-1]} = {med:.3g} over "
                    f"{len(ratio)} steps (first {float(np.median(first.values)):.3g}, "
                    f"last {float(np.median(last.values)):.3g})"
                )
    g, loss = run.get("grad_norm"), _train_loss(run)
    if g is not None and loss is not None and len(g.finite()) >= 2 * MIN_POINTS:
        v = g.finite().values
        early = float(np.median(v[: max(3, len(v) // 10)]))
        late = float(np.median(v[len(v) // 2 :]))
        kept = _end(loss.values) / _start(loss.values)
        if early > 0 and late <= VANISH_GLOBAL_COLLAPSE * early and kept >= 0.8:
            return (
                f"{g.tag} median fell {early:.3g} -> {late:.3g} while the loss kept "
                f"{kept:.0%} of its start"
            )
    return None


def check_loss_divergence(run: RunData) -> str | None:
    """Train loss non-finite, or ends >= 1.5x its start, or >= 3x its smoothed minimum."""
    raw = run.get("train_loss")
    if raw is None or len(raw) < MIN_POINTS:
        return None
    bad = ~np.isfinite(raw.values)
    if bad.any():
        return f"{raw.tag} non-finite from step {int(raw.steps[bad][0])}"
    v = raw.values
    start, end = _start(v), _end(v)
    low = float(np.min(_rolling_median(v, max(3, len(v) // 20))))
    if end >= DIVERGE_RISE * start:
        return f"{raw.tag} rose from {start:.4g} to {end:.4g} ({end / start:.2f}x)"
    if end >= DIVERGE_FROM_MIN * low and end - low >= 0.25 * start:
        return f"{raw.tag} fell to {low:.4g}, then climbed back to {end:.4g} (start {start:.4g})"
    return None


def check_loss_oscillation(run: RunData) -> str | None:
    """2nd half: block medians swing >= 8% of the start per block and >= 3x the net decrease."""
    loss = _train_loss(run)
    if loss is None or len(loss) < 4 * MIN_POINTS:
        return None
    start = _start(loss.values)
    m = _block_medians(loss.values[len(loss) // 2 :])
    if len(m) < 4:
        return None
    diffs = np.abs(np.diff(m))
    swing, tv, net = float(diffs.mean()), float(diffs.sum()), float(m[0] - m[-1])
    if swing >= OSC_SWING * start and tv >= OSC_TREND * max(net, 0.0):
        return (
            f"{loss.tag} 2nd half: mean swing {swing:.3g} between {len(m)} block medians "
            f"({swing / start:.0%} of start {start:.3g}); total variation {tv:.3g} vs net "
            f"decrease {net:.3g}"
        )
    return None


def check_loss_spikes(run: RunData) -> str | None:
    """>= 2 points jump >= 50% of start and to >= 3x the previous-10 median, then recover."""
    loss = _train_loss(run)
    if loss is None or len(loss) < 4 * MIN_POINTS:
        return None
    v, steps = loss.values, loss.steps
    start = _start(v)
    spikes: list[str] = []
    i = 10
    while i < len(v) - 3:
        base = float(np.median(v[i - 10 : i]))
        if v[i] - base >= SPIKE_HEIGHT * start and v[i] >= SPIKE_RATIO * base:
            after = v[i + 1 : i + 11]
            if float(np.min(after)) <= base + 0.3 * (v[i] - base):
                spikes.append(f"{int(steps[i])}: {base:.3g}->{v[i]:.3g}")
                i += 5  # one event per jump
                continue
        i += 1
    if len(spikes) >= SPIKE_MIN_COUNT:
        shown = "; ".join(spikes[:5]) + (" ..." if len(spikes) > 5 else "")
        return f"{len(spikes)} recovered spikes in {loss.tag} (step: median->value) {shown}"
    return None


def check_slow_convergence(run: RunData) -> str | None:
    """Loss fell by only 1-40% over the whole run, and the 2nd half still brought >= 20% of
    that drop (steady progress, not a plateau)."""
    loss = _train_loss(run)
    if loss is None or len(loss) < 4 * MIN_POINTS:
        return None
    v = loss.values
    start, end = _start(v), _end(v)
    drop = 1 - end / start
    half = v[len(v) // 2 :]
    k = max(2, len(half) // 4)
    drop2 = float(np.median(half[:k]) - np.median(half[-k:]))
    if SLOW_MIN_DROP <= drop < SLOW_MAX_DROP and drop2 >= SLOW_STILL_FALLING * (start - end):
        return (
            f"{loss.tag} fell only {drop:.1%} ({start:.4g} -> {end:.4g}) over "
            f"{int(loss.steps[-1])} steps; the 2nd half alone fell {drop2:.3g}"
        )
    return None


def check_plateau(run: RunData) -> str | None:
    """Loss fell >= 30%, then changed by less than +2% / -10% of start over the last 40%,
    ended >= 10% of start, and the final lr was >= 50% of the max lr."""
    loss, lr = _train_loss(run), run.get("lr")
    if loss is None or lr is None or len(loss) < 4 * MIN_POINTS or len(lr) == 0:
        return None
    lr_max, lr_end = float(np.max(lr.values)), float(lr.values[-1])
    if lr_end < PLATEAU_LR_KEPT * lr_max:
        return None
    v = loss.values
    start, end = _start(v), _end(v)
    cut = int(len(v) * 0.6)
    late = v[cut:]
    k = max(2, len(late) // 4)
    gain = float(np.median(late[:k]) - np.median(late[-k:]))
    if (
        1 - end / start >= PLATEAU_PROGRESS
        and -PLATEAU_FLAT * start < gain < PLATEAU_STALL * start
        and end >= PLATEAU_FLOOR * start
    ):
        return (
            f"{loss.tag} {start:.4g} -> {end:.4g}; over steps {int(loss.steps[cut])}-"
            f"{int(loss.steps[-1])} it improved only {gain:.3g} ({gain / start:.1%} of start) "
            f"while {lr.tag} stayed at {lr_end:.3g} (max {lr_max:.3g})"
        )
    return None


def check_overfitting(run: RunData) -> str | None:
    """Val loss best within the first 70%, final >= 1.1x best, train loss still falling."""
    val, loss = run.get("val_loss"), _train_loss(run)
    if val is None or loss is None:
        return None
    val = val.finite()
    if len(val) < MIN_POINTS:
        return None
    i = int(np.argmin(val.values))
    best, best_step = float(val.values[i]), int(val.steps[i])
    final = float(np.mean(val.values[-2:]))
    last_step = int(max(val.steps[-1], loss.steps[-1]))
    first_step = int(min(val.steps[0], loss.steps[0]))
    at = (best_step - first_step) / max(1, last_step - first_step)
    near = np.abs(loss.steps - best_step) <= max(1, (last_step - first_step) * 0.05)
    train_at_best = float(np.median(loss.values[near])) if near.any() else math.nan
    train_end = _end(loss.values)
    if (
        best > 0
        and at <= OVERFIT_BEST_AT
        and final >= OVERFIT_RISE * best
        and train_end <= OVERFIT_TRAIN_FALL * train_at_best
    ):
        return (
            f"{val.tag} best {best:.4g} at step {best_step} ({at:.0%} of the run), final "
            f"{final:.4g} (+{final / best - 1:.0%}); {loss.tag} {train_at_best:.4g} -> "
            f"{train_end:.4g}"
        )
    return None


def _zero_share(h: Histogram) -> float:
    """Share of values in buckets lying within [0, 1e-6] (ReLU zeros)."""
    zero = 0.0
    for j in range(1, len(h.counts)):
        if h.limits[j - 1] >= 0.0 and h.limits[j] <= 1e-6:
            zero += h.counts[j]
    return zero / h.num if h.num else 0.0


def check_dead_units(run: RunData) -> str | None:
    """Some layer's last activation histogram has >= 90% of its values at exactly zero."""
    found = []
    for layer, hists in run.activations.items():
        if not hists:
            continue
        last, first = hists[-1], hists[0]
        share = _zero_share(last)
        if share >= DEAD_SHARE:
            found.append(
                f"activations/{layer} {share:.0%} zeros at step {last.step} "
                f"({_zero_share(first):.0%} at step {first.step})"
            )
    return "; ".join(found) if found else None


def check_unstable_metric(run: RunData) -> str | None:
    """A [0, 1] metric: 2nd-half mean |change| between evals >= 0.08 and >= 2x its net change."""
    found = []
    for metric in run.metrics:
        m = metric.finite().values
        half = m[len(m) // 2 :]
        if len(half) < MIN_POINTS:
            continue
        diffs = np.abs(np.diff(half))
        swing, tv, net = float(diffs.mean()), float(diffs.sum()), abs(float(half[-1] - half[0]))
        if swing >= UNSTABLE_SWING and tv >= UNSTABLE_TREND * net:
            found.append(
                f"{metric.tag} 2nd half: mean |change| {swing:.3f} over {len(half)} "
                f"evals, range {half.min():.3f}-{half.max():.3f}"
            )
    return "; ".join(found) if found else None


def check_throughput_drop(run: RunData) -> str | None:
    """Median throughput of the last quarter <= 40% of the first quarter's (first 2 skipped)."""
    t = run.get("throughput")
    if t is None:
        return None
    v = t.finite().values[2:]
    if len(v) < 4 * 2:
        return None
    q = len(v) // 4
    early, late = float(np.median(v[:q])), float(np.median(v[-q:]))
    if early > 0 and late <= THROUGHPUT_DROP * early:
        return f"{t.tag} median {early:.4g} (first quarter) -> {late:.4g} (last quarter)"
    return None


CHECKS: dict[str, Callable[[RunData], str | None]] = {
    "exploding_gradients": check_exploding_gradients,
    "vanishing_gradients": check_vanishing_gradients,
    "loss_divergence": check_loss_divergence,
    "loss_oscillation": check_loss_oscillation,
    "loss_spikes": check_loss_spikes,
    "slow_convergence": check_slow_convergence,
    "plateau": check_plateau,
    "overfitting": check_overfitting,
    "dead_units": check_dead_units,
    "unstable_metric": check_unstable_metric,
    "throughput_drop": check_throughput_drop,
    "no_signal": check_no_signal,
}
assert tuple(CHECKS) == CODES


def verify_run(run_dir: str | Path) -> dict[str, str]:
    """Every check that fires on the run: {code: evidence}."""
    run = load_run(Path(run_dir))
    found: dict[str, str] = {}
    for code, check in CHECKS.items():
        evidence = check(run)
        if evidence is not None:
            found[code] = evidence
    return found


def roles_present(run_dir: str | Path) -> list[str]:
    """Which roles the run logged (train_loss, val_loss, metrics, lr, grad_norm, ...)."""
    run = load_run(Path(run_dir))
    roles = sorted(run.series)
    if run.metrics:
        roles.append("metrics")
    if run.layer_grads:
        roles.append("layer_grads")
    if run.activations:
        roles.append("activations")
    return sorted(roles)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(arg)
        for code, evidence in verify_run(arg).items():
            print(f"  {code}: {evidence}")
