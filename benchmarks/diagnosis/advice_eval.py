"""Evaluate dlreport's advice by retraining: does the advised run end better?

For every labelled run (``corpus/`` and ``corpus_heldout/``), this script

1. asks dlreport for its report (``dlreport analyze RUN -f json``, the project venv's CLI, so
   the torch venv needs nothing of dlreport's) and collects ``runs[].advice``;
2. applies the advice to the run's ``config.json`` with ``train.apply_advice_items``; an item
   that the config cannot express is counted as *not applicable* (with the reason);
3. retrains with the same seed (same data split, batch order and initialisation) into
   ``retrained/<run>/`` (git-ignored), unless the advice changed nothing;
4. compares the **final validation loss** before and after.

Final validation loss
    ``metrics.json["final_val_loss"]``: the cross-entropy on the run's validation split of
    the model as it is when training ends: after the last step, or at the early-stopping step
    when training stopped early (advice ``early_stopping`` sets ``stop_at_step``). train.py
    always computes it, also for runs that did not *log* a validation loss (so no run falls
    back to the training loss; the code would use ``final_train_loss`` if it were missing).
    A non-finite value (a run that went NaN) counts as +inf, the worst.

Verdicts (relative change ``(after - before) / before``):
    *improved*: after < 0.95 x before (more than 5% lower), or before non-finite and after
    finite; *worsened*: after > 1.05 x before (more than 5% higher), or after non-finite and
    before finite; otherwise *unchanged* (including runs that got no applicable advice).

Runs are *pathological* when the oracle's labels (``labels*.json`` ``expected``) are non-empty,
*healthy* otherwise. Pathologies that no training hyper-parameter can cure (``throughput_drop``,
``no_signal``) are reported separately: a run labelled only with those is *untreatable*.

``--per-item`` also retrains every run that got two or more applicable items once per item
alone (into ``retrained/_items/``), so each rule's effect can be told apart.

    .venv-torch/bin/python benchmarks/diagnosis/advice_eval.py                 # both corpora
    .venv-torch/bin/python benchmarks/diagnosis/advice_eval.py --set heldout --per-item
    .venv-torch/bin/python benchmarks/diagnosis/advice_eval.py --only 'overfitting_*' \\
        --json /tmp/advice.json
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

from train import apply_advice_items, full_config, train  # noqa: E402

SETS = {
    "corpus": (HERE / "corpus", HERE / "labels.json"),
    "heldout": (HERE / "corpus_heldout", HERE / "labels_heldout.json"),
}
RETRAINED = HERE / "retrained"
DLREPORT = REPO / ".venv" / "bin" / "dlreport"
MARGIN = 0.05  # improved: > 5% lower; worsened: > 5% higher
UNTREATABLE = frozenset({"throughput_drop", "no_signal"})
ALARM = ("warning", "error")
TARGET_IMPROVED, TARGET_WORSENED = 0.80, 0.05


# ------------------------------------------------------------------------------- dlreport


def dlreport_report(run_dir: Path, exe: Path) -> dict[str, Any]:
    """dlreport's codes (warning/error) and advice for one run folder (all its sub-runs)."""
    proc = subprocess.run(
        [str(exe), "analyze", str(run_dir), "-f", "json", "-o", "-"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"codes": [], "advice": [], "error": f"dlreport exit {proc.returncode}: {tail[0]}"}
    codes: set[str] = set()
    advice: dict[str, dict[str, Any]] = {}
    for run in report.get("runs", []):
        codes.update(f["code"] for f in run.get("findings", []) if f["severity"] in ALARM)
        for item in run.get("advice", []):
            advice.setdefault(json.dumps(item, sort_keys=True), item)
    return {"codes": sorted(codes), "advice": list(advice.values()), "error": None}


# ------------------------------------------------------------------------------- numbers


def final_loss(metrics: Mapping[str, Any]) -> tuple[float, str]:
    """The comparison value (see the module docstring) and where it came from."""
    if "final_val_loss" in metrics:
        value, source = metrics["final_val_loss"], "val"
    else:
        value, source = metrics.get("final_train_loss"), "train"
    if value is None or not math.isfinite(float(value)):
        return math.inf, source  # metrics.json stores NaN as null: the worst
    return float(value), source


def verdict(before: float, after: float) -> tuple[str, float | None]:
    """improved / worsened / unchanged, and the relative change (None if not finite)."""
    if not math.isfinite(before) and not math.isfinite(after):
        return "unchanged", None
    if not math.isfinite(before):
        return "improved", None
    if not math.isfinite(after):
        return "worsened", None
    rel = (after - before) / before
    if rel < -MARGIN:
        return "improved", rel
    if rel > MARGIN:
        return "worsened", rel
    return "unchanged", rel


def fmt_loss(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else "NaN"


def fmt_rel(rel: float | None, v: str) -> str:
    if rel is None:
        return {"improved": "NaN->ok", "worsened": "ok->NaN"}.get(v, "-")
    return f"{rel:+.0%}"


def describe(item: Mapping[str, Any]) -> str:
    """A short name for an advice item: parameter, action, value or factor."""
    p, a = item.get("parameter"), item.get("action")
    if a == "set" or (a == "enable" and item.get("value") is not None):
        return f"{p}={item.get('value')}"
    if item.get("factor") is not None:
        return f"{p} x{item['factor']:g}"
    return f"{p} {a}"


def rule_key(item: Mapping[str, Any]) -> str:
    """The rule an item comes from, as far as the JSON tells: parameter + action (+ value)."""
    p, a = item.get("parameter"), item.get("action")
    if p in ("lr_schedule", "optimizer", "architecture") and a == "set":
        return f"{p}={item.get('value')}"
    return f"{p} {a}"


# ------------------------------------------------------------------------------- training


def _retrain(job: tuple[dict[str, Any], str, bool]) -> tuple[dict[str, Any], bool, float]:
    """Train ``cfg`` into ``out`` unless an identical finished run is already there."""
    cfg, out, force = job
    out_dir = Path(out)
    full = full_config(cfg)
    done = out_dir / "metrics.json"
    if (
        not force
        and done.exists()
        and (out_dir / "config.json").exists()
        and json.loads((out_dir / "config.json").read_text()) == full
    ):
        return json.loads(done.read_text()), False, 0.0
    if out_dir.exists():
        shutil.rmtree(out_dir)
    start = time.perf_counter()
    train(full, out_dir)
    return json.loads(done.read_text()), True, time.perf_counter() - start


def run_jobs(jobs: list[tuple[dict[str, Any], str, bool]], n: int) -> list[Any]:
    if n > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=n) as pool:
            return list(pool.map(_retrain, jobs))
    return [_retrain(j) for j in jobs]


# ------------------------------------------------------------------------------- evaluation


def evaluate_set(
    set_name: str,
    corpus: Path,
    labels: Mapping[str, Any],
    args: argparse.Namespace,
) -> list[dict[str, Any]]:
    records = []
    names = [n for n in labels if fnmatch.fnmatch(n, args.only)]
    for name in names:
        run_dir = corpus / name
        if not run_dir.is_dir():
            print(f"missing run {run_dir}", file=sys.stderr)
            continue
        rep = dlreport_report(run_dir, args.dlreport)
        config = json.loads((run_dir / "config.json").read_text())
        new_cfg, outcomes = apply_advice_items(config, rep["advice"])
        before, source = final_loss(json.loads((run_dir / "metrics.json").read_text()))
        expected = list(labels[name]["expected"])
        records.append(
            {
                "set": set_name,
                "run": name,
                "expected": expected,
                "pathological": bool(expected),
                "treatable": bool(set(expected) - UNTREATABLE),
                "dlreport_codes": rep["codes"],
                "dlreport_error": rep["error"],
                "advice": rep["advice"],
                "outcomes": outcomes,
                "config": new_cfg,
                "changed": new_cfg != full_config(config),
                "before": before,
                "loss_source": source,
            }
        )
    # retrain every run whose config the advice changed (and, with --per-item, each item)
    jobs, where = [], []
    for i, r in enumerate(records):
        if r["changed"]:
            jobs.append((r["config"], str(RETRAINED / r["run"]), args.force))
            where.append((i, None))
        applied = [o for o in r["outcomes"] if o["applied"]]
        if args.per_item and len(applied) >= 2:
            config = json.loads((corpus / r["run"] / "config.json").read_text())
            for k, o in enumerate(r["outcomes"]):
                if not o["applied"]:
                    continue
                single, _ = apply_advice_items(config, [o["item"]])
                out = RETRAINED / "_items" / f"{r['run']}__{k}_{o['item']['parameter']}"
                jobs.append((single, str(out), args.force))
                where.append((i, k))
    results = run_jobs(jobs, args.jobs)
    for r in records:
        r["after"], r["trained_s"], r["item_effects"] = r["before"], 0.0, {}
    for (i, k), (metrics, trained, seconds) in zip(where, results, strict=True):
        r = records[i]
        after, _ = final_loss(metrics)
        if k is None:
            r["after"], r["trained_s"] = after, seconds if trained else 0.0
            r["stop_reason"] = metrics.get("stop_reason")
        else:
            v, rel = verdict(r["before"], after)
            r["item_effects"][k] = {"after": after, "verdict": v, "rel": rel}
    for r in records:
        r["verdict"], r["rel"] = verdict(r["before"], r["after"])
        applied = [k for k, o in enumerate(r["outcomes"]) if o["applied"]]
        if len(applied) == 1 and r["changed"]:  # the whole run is that item's effect
            r["item_effects"][applied[0]] = {
                "after": r["after"],
                "verdict": r["verdict"],
                "rel": r["rel"],
            }
    return records


# ------------------------------------------------------------------------------- printing


def print_runs(records: list[dict[str, Any]]) -> None:
    print(f"{'run':52s} {'before':>8s} {'after':>8s} {'change':>8s}  verdict")
    for r in records:
        codes = ",".join(r["expected"]) or "healthy"
        got = ",".join(r["dlreport_codes"]) or "-"
        print(
            f"{r['run']:52s} {fmt_loss(r['before']):>8s} {fmt_loss(r['after']):>8s} "
            f"{fmt_rel(r['rel'], r['verdict']):>8s}  {r['verdict']}"
        )
        print(f"    labels: {codes}   dlreport: {got}")
        if r["dlreport_error"]:
            print(f"    dlreport failed: {r['dlreport_error']}")
        for k, o in enumerate(r["outcomes"]):
            because = ",".join(o["item"].get("because", []))
            what = o["change"] if o["applied"] else f"NOT APPLICABLE: {o['reason']}"
            effect = r["item_effects"].get(k)
            alone = ""
            if effect is not None and len([x for x in r["outcomes"] if x["applied"]]) > 1:
                alone = (
                    f"  [alone: {fmt_loss(effect['after'])}, "
                    f"{fmt_rel(effect['rel'], effect['verdict'])}]"
                )
            print(f"    - {describe(o['item'])} (because {because}): {what}{alone}")
        if not r["outcomes"]:
            print("    (no advice)")


def share(n: int, d: int) -> str:
    return f"{n}/{d} ({n / d:.0%})" if d else f"{n}/0"


def summarise(records: list[dict[str, Any]], title: str) -> dict[str, Any]:
    path = [r for r in records if r["pathological"]]
    treat = [r for r in path if r["treatable"]]
    healthy = [r for r in records if not r["pathological"]]

    def counts(rs: list[dict[str, Any]]) -> dict[str, int]:
        return {
            "runs": len(rs),
            "improved": sum(r["verdict"] == "improved" for r in rs),
            "worsened": sum(r["verdict"] == "worsened" for r in rs),
            "unchanged": sum(r["verdict"] == "unchanged" for r in rs),
            "no_advice": sum(not r["advice"] for r in rs),
            "advice_not_applicable": sum(bool(r["advice"]) and not r["changed"] for r in rs),
        }

    out = {"pathological": counts(path), "treatable": counts(treat), "healthy": counts(healthy)}
    out["healthy"]["with_advice"] = sum(bool(r["advice"]) for r in healthy)
    out["healthy"]["hurt"] = out["healthy"]["worsened"]
    items = [o for r in records for o in r["outcomes"]]
    out["items"] = {
        "total": len(items),
        "applied": sum(o["applied"] for o in items),
        "not_applicable": sum(not o["applied"] for o in items),
    }
    p, t, h = out["pathological"], out["treatable"], out["healthy"]
    print(f"\n== {title}: {len(records)} runs ==")
    for label, c in (("pathological", p), ("treatable pathological", t)):
        print(
            f"{label:24s} improved >5%: {share(c['improved'], c['runs']):>12s}   "
            f"worsened >5%: {share(c['worsened'], c['runs']):>11s}   "
            f"unchanged: {c['unchanged']} (no advice {c['no_advice']}, "
            f"advice not applicable {c['advice_not_applicable']})"
        )
    print(
        f"{'healthy':24s} with advice: {h['with_advice']}/{h['runs']}   "
        f"hurt (>5% higher): {h['hurt']}   improved: {h['improved']}"
    )
    print(
        f"advice items: {out['items']['total']}, applied {out['items']['applied']}, "
        f"not applicable {out['items']['not_applicable']}"
    )
    ok_i = t["runs"] and t["improved"] / t["runs"] >= TARGET_IMPROVED
    ok_w = t["runs"] and t["worsened"] / t["runs"] <= TARGET_WORSENED
    print(
        f"targets (treatable runs): improved >= 80%: {'met' if ok_i else 'NOT met'}; "
        f"worsened <= 5%: {'met' if ok_w else 'NOT met'}; "
        f"no healthy run hurt: {'met' if h['hurt'] == 0 else 'NOT met'}"
    )
    return out


def per_rule(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Each rule's effect: the run's change when it was the only applied item, else the
    item-alone retrain (--per-item); items without an isolated effect count as 'mixed'."""
    table: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"n": 0, "improved": 0, "worsened": 0, "unchanged": 0, "not_applicable": 0,
                 "mixed": 0, "rels": [], "worsened_runs": [], "not_applicable_runs": []}
    )  # fmt: skip
    for r in records:
        for k, o in enumerate(r["outcomes"]):
            for because in o["item"].get("because", []) or ["?"]:
                key = f"{rule_key(o['item'])} <- {because}"
                row = table[key]
                row["n"] += 1
                if not o["applied"]:
                    row["not_applicable"] += 1
                    row["not_applicable_runs"].append(f"{r['run']}: {o['reason']}")
                    continue
                effect = r["item_effects"].get(k)
                if effect is None:
                    row["mixed"] += 1
                    continue
                row[effect["verdict"]] += 1
                if effect["rel"] is not None:
                    row["rels"].append(effect["rel"])
                if effect["verdict"] == "worsened":
                    row["worsened_runs"].append(
                        f"{r['run']} ({fmt_rel(effect['rel'], 'worsened')})"
                    )
    print("\n== per rule (parameter action/value <- because code), effect of the item alone ==")
    print(
        f"{'rule':58s} {'n':>3s} {'impr':>5s} {'wors':>5s} {'same':>5s} {'n/a':>4s} "
        f"{'mixed':>5s} {'median':>7s}"
    )
    out = {}
    for key in sorted(table):
        row = table[key]
        med = statistics.median(row["rels"]) if row["rels"] else None
        print(
            f"{key:58s} {row['n']:>3d} {row['improved']:>5d} {row['worsened']:>5d} "
            f"{row['unchanged']:>5d} {row['not_applicable']:>4d} {row['mixed']:>5d} "
            f"{(f'{med:+.0%}' if med is not None else '-'):>7s}"
        )
        for w in row["worsened_runs"]:
            print(f"      worsened: {w}")
        for w in row["not_applicable_runs"]:
            print(f"      not applicable: {w}")
        out[key] = {k: v for k, v in row.items() if k != "rels"} | {"median_rel": med}
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set", action="append", choices=sorted(SETS), help="corpus and/or heldout (default both)"
    )
    parser.add_argument("--only", default="*", help="fnmatch pattern of run names")
    parser.add_argument("--per-item", action="store_true", help="also retrain each item alone")
    parser.add_argument("--force", action="store_true", help="retrain runs already retrained")
    parser.add_argument("--jobs", type=int, default=1, help="retrains in parallel (default 1)")
    parser.add_argument("--dlreport", type=Path, default=DLREPORT, help="the dlreport CLI")
    parser.add_argument("--json", type=Path, help="write every number here")
    parser.add_argument("--quiet", action="store_true", help="totals only, no per-run lines")
    args = parser.parse_args(list(argv) if argv is not None else None)

    start = time.perf_counter()
    RETRAINED.mkdir(exist_ok=True)
    (RETRAINED / ".gitignore").write_text("# retrained runs: rebuilt by advice_eval.py\n*\n")
    chosen = args.set or [s for s in SETS if SETS[s][1].exists()]
    records: list[dict[str, Any]] = []
    summaries = {}
    for set_name in chosen:
        corpus, labels_path = SETS[set_name]
        labels = json.loads(labels_path.read_text())
        t0 = time.perf_counter()
        recs = evaluate_set(set_name, corpus, labels, args)
        if not args.quiet:
            print(f"\n######## {set_name} ({corpus.relative_to(REPO)}) ########")
            print_runs(recs)
        summaries[set_name] = summarise(recs, f"{set_name} ({time.perf_counter() - t0:.0f}s)")
        records.extend(recs)
    if len(chosen) > 1:
        summaries["all"] = summarise(records, "all sets")
    rules = per_rule(records)
    trained = sum(r["trained_s"] for r in records)
    wall = time.perf_counter() - start
    print(f"\n{wall:.0f}s wall, {trained:.0f}s of retraining (runs already retrained are kept)")
    if args.json:
        args.json.write_text(
            json.dumps(
                _jsonable(
                    {
                        "definition": {
                            "loss": "final validation loss (metrics.json final_val_loss); "
                            "NaN counts as +inf",
                            "improved": f"after < {1 - MARGIN:g} x before, or NaN -> finite",
                            "worsened": f"after > {1 + MARGIN:g} x before, or finite -> NaN",
                            "untreatable_codes": sorted(UNTREATABLE),
                        },
                        "summary": summaries,
                        "per_rule": rules,
                        "runs": [{k: v for k, v in r.items() if k != "config"} for r in records],
                        "wall_seconds": wall,
                        "retrain_seconds": trained,
                    }
                ),
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
