"""Closed loop: apply dlreport's advice to each run's config, retrain with the same seed, compare.

    .venv-torch/bin/python closed_loop.py --split dev [--dlreport-python P] [--repo R] [--json OUT]

1. dlreport's report for ``runs/<split>`` (``score.analyze``: whichever checkout ``--repo`` is);
2. each run's advice items mapped onto its config (``apply_advice``); an item the trainers cannot
   express (``architecture``, ``momentum``, ``reduce_on_plateau``, ``exponential``) is counted
   as not applicable;
3. the advised config retrained with the same seed into ``runs_advised/<split>/<run>/``;
4. the final validation loss compared (the last finite point of the writer's validation-loss
   tag; the training loss's last tenth where there is none; a NaN run counts as +inf).

Improved: more than 5% lower; worsened: more than 5% higher. *Treatable* runs are labelled
runs with a code other than ``throughput_drop`` (no hyper-parameter fixes a slow machine).
Healthy runs must get no advice. Runs excluded by ``review.json`` are skipped. The held-out
splits are for the lead, once (``--final``; *test* to *test16* are spent).
"""

from __future__ import annotations

import copy
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import build  # noqa: E402
from check import read_run  # noqa: E402
from score import analyze, parse_split_arguments, split_arguments  # noqa: E402

ADVISED = HERE / "runs_advised"
UNTREATABLE = {"throughput_drop"}
SCHEDULES = {"warmup", "cosine", "step"}
OPTIMIZERS = {"sgd", "sgd_momentum", "adam", "adamw"}


def apply_advice(cfg: dict[str, Any], advice: list[dict[str, Any]]) -> tuple[dict, list, list]:
    """The config with the advice applied, the items applied and those that could not be."""
    new, done, skipped = copy.deepcopy(cfg), [], []
    for a in advice:
        p, factor, value = a["parameter"], a.get("factor"), a.get("value")
        if p == "learning_rate" and (factor or value):
            new["opt"]["lr"] = new["opt"]["lr"] * factor if factor else float(value)
        elif p == "lr_schedule" and value in SCHEDULES:
            new["sched"] = value
        elif p == "optimizer" and value in OPTIMIZERS:
            new["opt"]["name"] = value
            if a.get("betas"):
                new["opt"]["betas"] = list(a["betas"])
        elif p == "gradient_clipping":
            new["clip"] = float(value) if value else 1.0
        elif p == "weight_decay":
            current = new["opt"].get("weight_decay", 0.0)
            new["opt"]["weight_decay"] = (
                float(value) if value else max(current * (factor or 10), 0.01)
            )
        elif p == "early_stopping" and value:
            new["steps"] = max(int(value), 1)  # the run ends at the best step
        elif p == "batch_size" and factor:
            new["batch"] = max(1, round(new["batch"] * factor))
        else:
            skipped.append(a)
            continue
        done.append(a)
    return new, done, skipped


def final_loss(run: Path, roles: dict[str, str]) -> float:
    if not run.is_dir():
        return math.nan
    scalars, _ = read_run(run)
    for role in ("val_loss", "train_loss"):
        tag = roles.get(role)
        if tag in scalars:
            v = scalars[tag][1]
            if role == "train_loss":
                v = v[-max(len(v) // 10, 1) :]
            if not np.all(np.isfinite(v[-1:])):
                return math.inf
            return float(np.median(v)) if role == "train_loss" else float(v[-1])
    return math.nan


def main(argv: list[str] | None = None) -> int:
    args = parse_split_arguments(split_arguments(__doc__), argv)
    labels = json.loads((HERE / "labels.json").read_text())
    review = json.loads((HERE / "review.json").read_text())
    names = sorted(
        n
        for n, v in labels.items()
        if v["split"] == args.split and review.get(n, {}).get("verdict") != "exclude"
    )
    if args.dry_run:
        built = [n for n in names if (HERE / "runs" / args.split / n / "config.json").is_file()]
        print(
            f"would ask {args.dlreport_python} -m analyzer ({args.repo}) for advice on "
            f"{len(built)} built runs of {args.split} ({len(names) - len(built)} not built) "
            f"and retrain the advised ones into {ADVISED / args.split}"
        )
        return 0
    report = analyze(HERE / "runs" / args.split, args.dlreport_python, args.repo)
    advice: dict[str, list] = {}
    for r in report["runs"]:
        advice.setdefault(r["run"].split("/")[0], []).extend(r.get("advice", []))
    todo, plan = [], {}
    for n in names:
        cfg, items = labels[n]["config"], advice.get(n, [])
        new, done, skipped = apply_advice(cfg, items)
        plan[n] = {"advice": items, "applied": done, "not_applicable": skipped}
        if done and new != cfg:
            todo.append(new)

    def where(c: dict) -> Path:
        return ADVISED / c["split"] / c["name"]

    built = [
        c
        for c in todo
        if (where(c) / "config.json").is_file()
        and json.loads((where(c) / "config.json").read_text()) == c
    ]
    ADVISED.mkdir(exist_ok=True)
    cpu = build.train([c for c in todo if c not in built], ADVISED / "build.log", where)
    retrained = {c["name"] for c in todo}
    rows, verdicts = [], {}
    for n in names:
        roles = labels[n]["roles"]
        before = final_loss(HERE / "runs" / args.split / n, roles)
        after = final_loss(ADVISED / args.split / n, roles) if n in retrained else before
        if n not in retrained:
            v = "unchanged"
        elif math.isinf(before) and math.isfinite(after):
            v = "improved"
        elif math.isinf(after) and math.isfinite(before):
            v = "worsened"
        elif after < 0.95 * before:
            v = "improved"
        elif after > 1.05 * before:
            v = "worsened"
        else:
            v = "unchanged"
        verdicts[n] = v
        rows.append((n, before, after, v, [a["parameter"] for a in plan[n]["applied"]]))
    treatable = [n for n in names if set(labels[n]["expected"]) - UNTREATABLE]
    healthy = [n for n in names if not labels[n]["expected"]]
    imp = sum(verdicts[n] == "improved" for n in treatable)
    wor = sum(verdicts[n] == "worsened" for n in treatable)
    advised_healthy = [n for n in healthy if plan[n]["advice"]]
    changed_healthy = [n for n in healthy if verdicts[n] != "unchanged"]
    for n, b, a, v, ps in rows:
        if n in retrained:
            print(f"{n}: {b:.4g} -> {a:.4g} {v} {ps}")
    print(f"\nretrained {len(todo)} runs ({cpu:.0f} s CPU)")
    print(
        f"treatable runs improved by > 5%: {imp}/{len(treatable)} "
        f"({imp / max(len(treatable), 1):.0%}, target >= 85%); "
        f"worsened: {wor} ({wor / max(len(treatable), 1):.0%}, target <= 3%)"
    )
    print(
        f"healthy runs given advice: {len(advised_healthy)}/{len(healthy)}; "
        f"changed by it: {len(changed_healthy)} (target 0)"
    )
    n_items = sum(len(p["advice"]) for p in plan.values())
    n_na = sum(len(p["not_applicable"]) for p in plan.values())
    print(f"advice items: {n_items}, not applicable to these trainers: {n_na}")
    if args.json:
        args.json.write_text(json.dumps({"verdicts": verdicts, "plan": plan}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
