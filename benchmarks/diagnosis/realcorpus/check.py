"""Review each run's label against the numbers it logged, and draw one PNG per run.

    .venv-torch/bin/python check.py [--split dev|test|test2|...|test17] [--only GLOB] [--png]
                                    [--json OUT]

Written from the definitions in the project README's "Diagnosis" section, in its own words:
it imports nothing from ``analyzer/`` and shares no constant with it (the numbers below are
restated here from the prose). It knows which tag plays which role from the writer table (the
writer's own names), so it never has to guess roles. Each check returns the measured quantity
(for calibration) and whether the definition is met. A disagreement with the label is a run
to look at (``--png``), never a reason to move the label.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

Series = tuple[np.ndarray, np.ndarray]  # steps, values


# ------------------------------------------------------------------------------- reading
def read_run(run: Path) -> tuple[dict[str, Series], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Scalars (from simple values or rank-0 tensors) and the last histogram of each tag,
    keyed by "<folder relative to run>/<tag>"."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    scalars: dict[str, Series] = {}
    hists: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    folders = sorted({p.parent for p in run.rglob("events.out.tfevents*")})
    for folder in folders:
        acc = EventAccumulator(
            str(folder), size_guidance={"scalars": 0, "tensors": 0, "histograms": 1}
        )
        acc.Reload()
        rel = folder.relative_to(run).as_posix()
        prefix = "" if rel == "." else rel + "/"
        tags = acc.Tags()
        for tag in tags.get("scalars", []):
            ev = acc.Scalars(tag)
            scalars[prefix + tag] = (
                np.array([e.step for e in ev]),
                np.array([e.value for e in ev]),
            )
        for tag in tags.get("tensors", []):
            ev = acc.Tensors(tag)
            vals = [tensor_util.make_ndarray(e.tensor_proto) for e in ev]
            if vals and all(v.shape == () and v.dtype.kind in "fiub" for v in vals):
                scalars[prefix + tag] = (
                    np.array([e.step for e in ev]),
                    np.array([float(v) for v in vals]),
                )
        for tag in tags.get("histograms", []):
            h = acc.Histograms(tag)[-1].histogram_value
            hists[prefix + tag] = (np.array(h.bucket_limit), np.array(h.bucket))
    return scalars, hists


def _finite(s: Series) -> Series:
    ok = np.isfinite(s[1])
    return s[0][ok], s[1][ok]


def _med(v: np.ndarray) -> float:
    return float(np.median(v)) if len(v) else math.nan


# ---------------------------------------------------------------------------------- checks
# Each returns (fired, quantity, evidence text). Numbers restated from the README's prose.
def exploding(grad: Series | None, layers: dict[str, Series]) -> tuple[bool, float, str]:
    if grad is None or len(grad[1]) < 5:
        return False, math.nan, "no gradient norm"
    v = grad[1]
    if not np.all(np.isfinite(v)):
        return True, math.inf, "gradient norm NaN/Inf"
    n = len(v)
    early = _med(v[: max(n // 10, 1)])
    growth = max(v.max(), _med(v[-max(n // 5, 1) :])) / max(early, 1e-30)
    run_above, longest = 0, 0
    for x in v:
        run_above = run_above + 1 if x > 1e3 else 0
        longest = max(longest, run_above)
    ratio = _layer_ratio(layers)
    fired = v.max() > 1e6 or longest >= 5 or growth >= 100 or ratio >= 70
    return fired, float(growth), f"max {v.max():.3g}, growth {growth:.3g}x, layer ratio {ratio:.3g}"


def _layer_ratio(layers: dict[str, Series]) -> float:
    """Median norm of the first layer over that of the last (the head)."""
    if len(layers) < 2:
        return math.nan
    names = list(layers)
    first, last = _med(_finite(layers[names[0]])[1]), _med(_finite(layers[names[-1]])[1])
    return first / last if last > 0 else math.nan


def vanishing(grad: Series | None, layers: dict[str, Series], loss: Series | None):
    names = list(layers)
    if len(names) >= 2:
        first = _med(_finite(layers[names[0]])[1])
        ratio = _layer_ratio(layers)
        if ratio <= 1e-3 and first <= 1e-4:
            return True, float(ratio), f"first/last layer {ratio:.3g}, first {first:.3g}"
    if grad is None or len(grad[1]) < 5:
        return False, math.nan, "no gradient norm"
    v = _finite(grad)[1]
    if len(v) < 5:
        return False, math.nan, "no finite gradient norm"
    n = len(v)
    late, early = _med(v[-max(n // 5, 1) :]), _med(v[: max(n // 10, 1)])
    zero = float(np.mean(v == 0))
    collapse = late / early if early > 0 else math.nan
    kept = math.nan
    if loss is not None and len(loss[1]) >= 5:
        lv = _finite(loss)[1]
        kept = _med(lv[-max(len(lv) // 10, 1) :]) / max(_med(lv[: max(len(lv) // 20, 1)]), 1e-30)
    fired = late < 1e-7 or zero >= 0.9 or (collapse <= 1e-3 and kept >= 0.8)
    return (
        fired,
        float(collapse),
        f"late median {late:.3g}, collapse {collapse:.3g}, zero {zero:.2f}",
    )


def _start_end(v: np.ndarray) -> tuple[float, float]:
    k = max(len(v) // 20, 1)
    return _med(v[:k]), _med(v[-max(len(v) // 10, 1) :])


def divergence(loss: Series | None):
    if loss is None or len(loss[1]) < 5:
        return False, math.nan, "no loss"
    v = loss[1]
    if not np.all(np.isfinite(v)):
        first = int(loss[0][~np.isfinite(v)][0])
        return True, math.inf, f"loss non-finite from step {first}"
    start, end = _start_end(v)
    w = max(len(v) // 20, 3)
    rolling = np.array([np.median(v[i : i + w]) for i in range(0, len(v) - w + 1)])
    best = float(rolling.min())
    scale = abs(start) if start else 1.0
    rise = end / start if start > 0 else math.nan
    gave_back = end >= 3 * best and (end - best) >= 0.25 * scale
    return (
        rise >= 1.5 or gave_back,
        float(rise),
        f"start {start:.3g}, end {end:.3g}, best {best:.3g}",
    )


def oscillation(loss: Series | None):
    if loss is None or len(_finite(loss)[1]) < 40:
        return False, math.nan, "too few points"
    v = _finite(loss)[1]
    start = _start_end(v)[0]
    half = v[len(v) // 2 :]
    blocks = np.array_split(half, min(40, len(half)))
    med = np.array([np.median(b) for b in blocks])
    d = np.diff(med)
    swing = float(np.mean(np.abs(d))) / max(abs(start), 1e-12)
    tv, net = float(np.abs(d).sum()), float(med[0] - med[-1])
    trend = tv / max(net, 1e-12) if net > 0 else math.inf
    gated = swing if trend >= 3 else math.nan  # the quantity, where the other condition holds
    return swing >= 0.08 and trend >= 3, gated, f"swing {swing:.3g} of start, TV/net {trend:.3g}"


def spikes(loss: Series | None):
    if loss is None or len(_finite(loss)[1]) < 20:
        return False, math.nan, "too few points"
    v = _finite(loss)[1]
    start = abs(_start_end(v)[0])
    count, top = 0, 0.0
    for i in range(10, len(v)):
        prev = v[max(0, i - 128) : i]
        m = np.median(prev)
        mad = 1.4826 * np.median(np.abs(prev - m)) + 1e-12
        z = (v[i] - m) / mad
        local = np.median(v[max(0, i - 10) : i])
        if z >= 6 and v[i] >= 1.3 * m and v[i] - local >= 0.5 * start and v[i - 1] < m + 6 * mad:
            count += 1
            top = max(top, float(z))
    return count >= 2, float(count), f"{count} spikes, top z {top:.3g}"


def slow(loss: Series | None):
    if loss is None or len(_finite(loss)[1]) < 10:
        return False, math.nan, "too few points"
    v = _finite(loss)[1]
    if not np.all(np.isfinite(loss[1])):
        return False, math.nan, "non-finite loss"
    start, end = _start_end(v)
    drop = (start - end) / start if start > 0 else math.nan
    mid = _med(v[len(v) // 2 - max(len(v) // 20, 1) : len(v) // 2 + max(len(v) // 20, 1)])
    late_share = (mid - end) / (start - end) if start > end else 0.0
    fired = 0.01 <= drop < 0.4 and late_share >= 0.2
    gated = float(drop) if late_share >= 0.2 and drop >= 0.01 else math.nan
    return fired, gated, f"dropped {drop:.3g} of start, second half {late_share:.2f} of it"


def plateau(loss: Series | None, lr: Series | None):
    if loss is None or len(_finite(loss)[1]) < 20 or not np.all(np.isfinite(loss[1])):
        return False, math.nan, "too few points"
    v = loss[1]
    start = _start_end(v)[0]
    if start <= 0:
        return False, math.nan, "non-positive start"
    w = v[int(len(v) * 0.6) :]
    q = max(len(w) // 4, 1)
    gain = (_med(w[:q]) - _med(w[-q:])) / start
    fell = (start - float(np.min(np.convolve(v, np.ones(5) / 5, "valid")))) / start
    level = _med(w[-q:]) / start
    lr_ok = True
    if lr is not None and len(lr[1]):
        lr_ok = lr[1][-1] >= 0.5 * np.max(lr[1])
    fired = fell >= 0.3 and gain < 0.02 and gain > -0.1 and level >= 0.1 and lr_ok
    gated = float(gain) if fell >= 0.3 and gain > -0.1 and level >= 0.1 and lr_ok else math.nan
    return (
        fired,
        gated,
        f"fell {fell:.2f}, last-40% gain {gain:.3g}, level {level:.2f}, lr kept {lr_ok}",
    )


def overfitting(loss: Series | None, val: Series | None):
    if val is None or len(_finite(val)[1]) < 5 or loss is None:
        return False, math.nan, "no validation loss"
    s, v = _finite(val)
    ib = int(np.argmin(v))
    best, final = v[ib], _med(v[-2:])
    when = (s[ib] - s[0]) / max(s[-1] - s[0], 1)
    ls, lv = _finite(loss)
    at_best = (
        _med(lv[np.abs(ls - s[ib]) <= max(np.diff(ls).mean() * 3, 1)]) if len(lv) else math.nan
    )
    late = _med(lv[-max(len(lv) // 10, 1) :])
    rise = final / best if best > 0 else math.nan
    fired = when <= 0.7 and rise >= 1.1 and late <= 0.9 * at_best
    gated = float(rise) if when <= 0.7 and late <= 0.9 * at_best else math.nan
    return (
        fired,
        gated,
        f"best at {when:.2f} of run, final/best {rise:.3g}, train {late:.3g} vs {at_best:.3g}",
    )


def dead(hists: dict[str, tuple[np.ndarray, np.ndarray]]):
    top, where = 0.0, ""
    for tag, (limits, counts) in hists.items():
        if not tag.split("/")[-2:-1] and "activation" not in tag:
            continue
        if "activation" not in tag:
            continue
        total = counts.sum()
        if total <= 0:
            continue
        lows = np.concatenate([[-np.inf], limits[:-1]])
        at_zero = counts[(lows < 1e-12) & (limits >= -1e-12)].sum() / total
        if at_zero > top:
            top, where = float(at_zero), tag
    return top >= 0.9, top, f"{top:.2f} at zero in {where}"


def unstable(metric: Series | None):
    if metric is None or len(_finite(metric)[1]) < 8:
        return False, math.nan, "no metric"
    v = _finite(metric)[1]
    half = v[len(v) // 2 :]
    d = np.diff(half)
    swing = float(np.mean(np.abs(d)))
    net = abs(float(half[-1] - half[0]))
    fired = swing >= 0.08 and np.abs(d).sum() >= 2 * net
    return fired, swing, f"mean change {swing:.3g}, net {net:.3g}"


def throughput(tp: Series | None):
    if tp is None or len(_finite(tp)[1]) < 8:
        return False, math.nan, "no throughput"
    v = _finite(tp)[1][2:]
    q = max(len(v) // 4, 1)
    ratio = _med(v[-q:]) / max(_med(v[:q]), 1e-30)
    return ratio <= 0.6, float(ratio), f"last/first quarter {ratio:.3g}"


# ------------------------------------------------------------------------------------ runs
def review(run: Path, label: dict[str, Any]) -> dict[str, Any]:
    scalars, hists = read_run(run)
    roles = label["roles"]

    def get(role: str) -> Series | None:
        tag = roles.get(role)
        return scalars.get(tag) if tag else None

    layer_fmt = {
        "torch": "grad_norm/",
        "tbx": "gradients/",
        "lightning": "lightning_logs/version_0/grad_2.0_norm/",
    }.get(label["writer"])
    layers = {
        t: s
        for t, s in scalars.items()
        if layer_fmt
        and t.startswith(layer_fmt)
        and t.endswith("weight" if label["writer"] == "lightning" else "")
    }
    loss, grad = get("train_loss"), get("grad_norm")
    results = {
        "exploding_gradients": exploding(grad, layers),
        "vanishing_gradients": vanishing(grad, layers, loss),
        "loss_divergence": divergence(loss),
        "loss_oscillation": oscillation(loss),
        "loss_spikes": spikes(loss),
        "slow_convergence": slow(loss),
        "plateau": plateau(loss, get("learning_rate")),
        "overfitting": overfitting(loss, get("val_loss")),
        "dead_units": dead(hists),
        "unstable_metric": unstable(get("val_accuracy")),
        "throughput_drop": throughput(get("throughput")),
    }
    found = sorted(c for c, r in results.items() if r[0])
    return {
        "found": found,
        "expected": label["expected"],
        "agree": found == sorted(label["expected"]),
        "measures": {c: r[1] for c, r in results.items()},
        "evidence": {c: r[2] for c, r in results.items()},
        "scalars": scalars,
    }


def plot(run_name: str, out: Path, res: dict[str, Any], roles: dict[str, str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        r
        for r in (
            "train_loss",
            "val_loss",
            "grad_norm",
            "learning_rate",
            "val_accuracy",
            "throughput",
        )
        if roles.get(r) in res["scalars"]
    ]
    if not panels:
        panels = []
        extra = list(res["scalars"])[:4]
    else:
        extra = []
    keys = [roles[r] for r in panels] + extra
    fig, axes = plt.subplots(1, max(len(keys), 1), figsize=(3 * max(len(keys), 1), 2.4))
    axes = np.atleast_1d(axes)
    for ax, key in zip(axes, keys, strict=False):
        s, v = res["scalars"][key]
        ax.plot(s, v, lw=0.8)
        ax.set_title(key[-28:], fontsize=7)
        ax.tick_params(labelsize=6)
        if key.endswith("grad_norm") and np.all(np.isfinite(v)) and np.all(v > 0):
            ax.set_yscale("log")
    fig.suptitle(f"{run_name}\nlabel {res['expected']} check {res['found']}", fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=70)
    plt.close(fig)


# code -> (what the quantity is, direction in which it alarms, the README's number)
QUANTITIES = {
    "exploding_gradients": ("grad norm growth: max(max, late median) / early median", ">=", 100),
    "vanishing_gradients": ("grad norm collapse: late median / early median", "<=", 1e-3),
    "loss_divergence": ("train loss end / start (medians)", ">=", 1.5),
    "loss_oscillation": (
        "mean block-median swing / start loss (2nd half), where TV >= 3x net",
        ">=",
        0.08,
    ),
    "loss_spikes": ("count of 6-sigma spikes (>=2 alarms)", ">=", 2),
    "slow_convergence": (
        "loss drop / start, where still falling (2nd half >= 20% of drop)",
        "<",
        0.4,
    ),
    "plateau": ("gain over last 40% / start, where fell >= 30%, level >= 10%, lr kept", "<", 0.02),
    "overfitting": ("final / best val loss, where best in first 70% and train fell", ">=", 1.1),
    "dead_units": ("share of last activation histogram at zero", ">=", 0.9),
    "unstable_metric": ("mean abs change of val accuracy (2nd half)", ">=", 0.08),
    "throughput_drop": ("last / first quarter median throughput", "<=", 0.6),
}


def calibrate(out: dict[str, Any], labels: dict[str, Any], split: str = "dev") -> str:
    """Per code, on the healthy runs of a split: the quantity's spread, and the threshold at
    which at most 1% of them would alarm on the quantity alone (other conditions ignored)."""
    review_file = HERE / "review.json"
    review = json.loads(review_file.read_text()) if review_file.is_file() else {}
    healthy = [
        n
        for n in out
        if not labels[n]["expected"]
        and labels[n]["split"] == split
        and review.get(n, {}).get("verdict") != "exclude"
    ]
    rows = [
        "| code | quantity | healthy runs with it | min | median | max | alarms at README number "
        "| threshold for <= 1% |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for code, (what, sense, readme) in QUANTITIES.items():
        v = np.array([out[n]["measures"][code] for n in healthy], float)
        v = v[np.isfinite(v)]
        if not len(v):
            rows.append(f"| {code} | {what} | 0 | | | | | |")
            continue
        high = sense.startswith(">")
        fires = (v >= readme) if sense == ">=" else (v <= readme) if sense == "<=" else (v < readme)
        allowed = int(0.01 * len(v))  # 1% of the runs, rounded down
        ordered = np.sort(v)[::-1] if high else np.sort(v)
        edge = ordered[allowed]  # the (allowed+1)-th most alarming value must not alarm
        thr = f"{'>' if high else '<'} {edge:.3g}"
        rows.append(
            f"| {code} | {what} | {len(v)} | {v.min():.3g} | {np.median(v):.3g} | "
            f"{v.max():.3g} | {int(fires.sum())} ({sense} {readme:g}) | {thr} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--split",
        choices=[
            "dev",
            "test",
            "test2",
            "test3",
            "test4",
            "test5",
            "test6",
            "test7",
            "test8",
            "test9",
            "test10",
            "test11",
            "test12",
            "test13",
            "test14",
            "test15",
            "test16",
            "test17",
        ],
    )
    ap.add_argument("--only")
    ap.add_argument("--png", action="store_true", help="write png/<run>.png")
    ap.add_argument("--json", type=Path, help="write the measures here")
    ap.add_argument(
        "--calibrate",
        action="store_true",
        help="print the calibration table of the healthy runs checked",
    )
    args = ap.parse_args(argv)
    labels = json.loads((HERE / "labels.json").read_text())
    out: dict[str, Any] = {}
    agree = total = 0
    for name, label in sorted(labels.items()):
        if args.split and label["split"] != args.split:
            continue
        if args.only and not fnmatch.fnmatch(name, args.only):
            continue
        run = HERE / "runs" / label["split"] / name
        if not (run / "config.json").is_file():
            print(f"{name}: not built")
            continue
        res = review(run, label)
        total += 1
        agree += res["agree"]
        if not res["agree"]:
            detail = "; ".join(
                f"{c}: {res['evidence'][c]}"
                for c in sorted(set(res["found"]) ^ set(res["expected"]))
            )
            print(f"{name}: label {res['expected']} check {res['found']} | {detail}")
        if args.png:
            (HERE / "png").mkdir(exist_ok=True)
            plot(name, HERE / "png" / f"{name}.png", res, label["roles"])
        out[name] = {k: res[k] for k in ("found", "expected", "agree", "measures", "evidence")}
    print(f"check agrees with the label on {agree}/{total} runs")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=float))
    if args.calibrate:
        print(calibrate(out, labels, args.split or "dev"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
