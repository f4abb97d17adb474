"""The performance summary of a run: quality metrics, best step, speed, memory.

Plain numbers only (``None`` where a value is unknown), keyed as in the JSON contract's
``summary`` object: ``steps``, ``final_train_loss``, ``best_val_loss``, ``best_val_step`` and
the fields added here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .measures import loss_fit, role_series, step_rate
from .model import EvidenceValue, Run, evidence
from .thresholds import Thresholds

# Roles summarised as final/best, and whether higher is better.
QUALITY = {
    "train_loss": False,
    "val_loss": False,
    "train_accuracy": True,
    "val_accuracy": True,
    "train_precision": True,
    "val_precision": True,
    "train_recall": True,
    "val_recall": True,
    "train_f1": True,
    "val_f1": True,
    "val_metric": True,  # mIoU, mAP: the validation quality of segmentation and detection
    "reward": True,  # reinforcement learning
}


def _clean(run: Run, role: str) -> pd.Series | None:
    s = role_series(run, role)
    return s if s is not None and len(s) else None


def summarize(run: Run, t: Thresholds) -> dict[str, EvidenceValue]:
    """The run's performance summary (see the module docstring)."""
    out: dict[str, object] = {}
    all_steps = run.scalars["step"]
    out["steps"] = int(all_steps.max()) if len(all_steps) else None
    for role, higher in QUALITY.items():
        s = _clean(run, role)
        if s is None:
            continue
        out[f"final_{role}"] = float(s.iloc[-1])
        best_step = s.idxmax() if higher else s.idxmin()
        out[f"best_{role}"] = float(s.loc[best_step])
        out[f"best_{role}_step"] = int(best_step)
    _computed_f1(run, out)
    _after_best(run, out)
    _convergence(run, out)
    _speed(run, t, out)
    for role in ("memory", "throughput"):
        s = _clean(run, role)
        if s is not None:
            out[f"final_{role}"] = float(s.iloc[-1])
            out[f"max_{role}" if role == "memory" else f"median_{role}"] = float(
                s.max() if role == "memory" else s.median()
            )
    lr = _clean(run, "learning_rate")
    if lr is not None:
        out["initial_learning_rate"] = float(lr.iloc[0])
        out["final_learning_rate"] = float(lr.iloc[-1])
    outcome = _outcome(out)
    if outcome:
        out["outcome"] = outcome
    return evidence(**out)


# The quality signal a person reads first, in order, and its short name.
_OUTCOME = (
    ("val_accuracy", "val acc"),
    ("val_metric", "val metric"),
    ("val_f1", "val F1"),
    ("val_loss", "val loss"),
    ("reward", "reward"),
    ("train_loss", "train loss"),
)


def _outcome(out: dict[str, object]) -> str | None:
    """Where the run got, in words: why a run without findings is healthy, e.g. "val acc
    0.918 at step 63,180, its best so far (the last evaluation)" or "val acc best 0.991 at step 23,
    0.987 at the end"."""
    last = out.get("steps")
    for role, name in _OUTCOME:
        best, step = out.get(f"best_{role}"), out.get(f"best_{role}_step")
        final = out.get(f"final_{role}")
        if not isinstance(best, float) or not isinstance(step, int) or not isinstance(final, float):
            continue
        if role == "train_loss":
            at = f" at step {last:,}" if isinstance(last, int) else ""
            still = ", still improving" if out.get("still_improving") == 1 else ""
            return f"{name} {final:.4g}{at}{still}"
        if best == final:
            return f"{name} {best:.4g} at step {step:,}, its best so far (the last evaluation)"
        return f"{name} best {best:.4g} at step {step:,}, {final:.4g} at the end"
    return None


def _computed_f1(run: Run, out: dict[str, object]) -> None:
    """F1 = 2PR / (P + R) at the steps where precision and recall were both logged."""
    for side in ("train", "val"):
        if run.roles.get(f"{side}_f1"):
            continue
        p, r = _clean(run, f"{side}_precision"), _clean(run, f"{side}_recall")
        if p is None or r is None:
            continue
        both = p.index.intersection(r.index)
        if both.empty:
            continue
        pp, rr = p.loc[both].to_numpy(), r.loc[both].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(pp + rr > 0, 2 * pp * rr / (pp + rr), 0.0)
        out[f"final_{side}_f1_computed"] = float(f1[-1])
        out[f"best_{side}_f1_computed"] = float(f1.max())
        out[f"best_{side}_f1_computed_step"] = int(both[int(np.argmax(f1))])


def _convergence(run: Run, out: dict[str, object]) -> None:
    """The convergence rate of the training loss and where it is heading.

    The better of a power law and an exponential fitted to the loss (see ``fit_curve``);
    ``still_improving`` is 1 when twice the steps would lower the fitted loss by >= 1% of its
    current level.
    """
    loss = _clean(run, "train_loss")
    if loss is None or len(loss) < 8:
        return
    fit = loss_fit(run)
    if fit is None:
        return
    # Python ints: a step span near the int64 limit overflows numpy's int64 (issue #14).
    span = float(int(loss.index[-1]) - int(loss.index[0]) + 1)
    now, later = fit.at(span), fit.at(2 * span)
    out["convergence_model"] = fit.model
    out["convergence_rate"] = fit.c
    out["convergence_fit_r2"] = fit.r2
    out["projected_train_loss_2x_steps"] = later
    out["still_improving"] = int(abs(now) > 0 and (now - later) / abs(now) >= 0.01)


def _after_best(run: Run, out: dict[str, object]) -> None:
    """How much training came after the best validation score."""
    for key in (
        "best_val_loss_step",
        "best_val_accuracy_step",
        "best_val_f1_step",
        "best_val_metric_step",
    ):
        best = out.get(key)
        if best is None or out.get("steps") is None:
            continue
        first = int(run.scalars["step"].min())
        last = int(out["steps"])  # type: ignore[call-overload]
        out["best_val_step"] = best
        out["steps_after_best_val"] = last - int(best)  # type: ignore[call-overload]
        out["share_after_best_val"] = (last - int(best)) / max(1, last - first)  # type: ignore[call-overload]
        return


def _speed(run: Run, t: Thresholds, out: dict[str, object]) -> None:
    wall = run.scalars["wall_time"].to_numpy(dtype=float)
    wall = wall[np.isfinite(wall) & (wall > 0)]
    if wall.size >= 2:
        out["wall_time_s"] = float(wall.max() - wall.min())
    rate = step_rate(run)
    if rate is not None and len(rate) >= 4:
        v = rate.to_numpy(dtype=float)
        q = max(1, len(v) // 4)
        out["steps_per_s"] = float(np.median(v))
        out["steps_per_s_trend"] = float(np.median(v[-q:]) / np.median(v[:q]))
    train_wall = run.wall_times("train_loss")
    if train_wall is not None and len(train_wall) >= 3:
        gaps = np.diff(np.sort(train_wall.to_numpy(dtype=float)))
        median_gap = float(np.median(gaps))
        if median_gap > 0:
            stalls = gaps[gaps > t.stall_gap * median_gap]
            out["stalls"] = int(stalls.size)
            out["longest_stall_s"] = float(stalls.max()) if stalls.size else 0.0
    epoch = _clean(run, "epoch")
    epoch_wall = run.wall_times("epoch")
    if epoch is not None and epoch_wall is not None and len(epoch) >= 2:
        epochs = float(epoch.max() - epoch.min())
        span = float(epoch_wall.max() - epoch_wall.min())
        if epochs > 0 and span > 0:
            out["time_per_epoch_s"] = span / epochs
