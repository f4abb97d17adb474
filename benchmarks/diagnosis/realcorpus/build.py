"""Build the corpus: train every missing run of ``table.all_configs()`` and write the labels.

    python3 build.py                 # train what is missing (cached, idempotent)
    python3 build.py --only 'dev-keras-*' --force
    python3 build.py --labels-only   # write labels.json from the tables, train nothing
    python3 build.py --list

Runs go to ``runs/<split>/<name>/`` (git-ignored). A run is skipped when its ``config.json``
equals the table's config. One training process per environment (torch, tf) trains all its
runs in turn, under ``nice -n 10``; the CPU time of the children is measured and printed.
Any Python 3.10+ runs this script: it imports no training package.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from table import SPLITS, WRITERS, all_configs  # noqa: E402

REPO = HERE.parents[2]
RUNS = HERE / "runs"
VENVS = {"torch": REPO / ".venv-torch", "tf": REPO / ".venv-tf"}
SCRIPTS = {"torch": HERE / "torch_train.py", "tf": HERE / "tf_train.py"}


def expected_roles(cfg: dict) -> dict[str, str]:
    """role -> tag path (relative to the run folder) that the writer used for it."""
    w = WRITERS[cfg["writer"]]
    opt = {"sgd": "SGD", "sgd_momentum": "SGD", "adam": "Adam", "adamw": "AdamW"}[
        cfg["opt"]["name"]
    ]
    roles = {r: t.format(opt=opt, algo=cfg["model"].get("algo", "")) for r, t in w["tags"].items()}
    if cfg["loss"] in ("mse", "ae"):
        roles.pop("val_accuracy", None)
    if cfg["family"] == "gan":  # a GAN has two losses and no validation: no loss role is "right"
        for r in ("train_loss", "val_loss", "val_accuracy"):
            roles.pop(r, None)
    return roles


def run_dir(cfg: dict) -> Path:
    return RUNS / cfg["split"] / cfg["name"]


def is_built(cfg: dict) -> bool:
    f = run_dir(cfg) / "config.json"
    return f.is_file() and json.loads(f.read_text()) == cfg


def labels(cfgs: list[dict]) -> dict[str, dict]:
    return {
        c["name"]: {
            "split": c["split"],
            "writer": c["writer"],
            "family": c["family"],
            "condition": c["condition"],
            "cause": c["cause"],
            "expected": c["expected"],
            "roles": expected_roles(c),
            "config": c,
        }
        for c in cfgs
    }


def write_labels(new: dict[str, dict], path: Path) -> None:
    """Write the labels, refusing any change to a committed one: labels.json only grows."""
    old = json.loads(path.read_text()) if path.is_file() else {}
    changed = sorted(n for n in old if new.get(n) != old[n])
    if changed:
        raise SystemExit(
            f"{path}: {len(changed)} frozen labels would change or vanish "
            f"(first: {changed[0]}); the tables must only add runs"
        )
    path.write_text(json.dumps(new, indent=1, sort_keys=True) + "\n")


def summary(cfgs: list[dict]) -> str:
    """Markdown tables: runs per writer, family and condition, healthy and sick, by split."""
    splits = [s for s in SPLITS if any(c["split"] == s for c in cfgs)]

    def table(key, title):
        keys = sorted({key(c) for c in cfgs})
        head = [f"{s} {kind}" for s in splits for kind in ("healthy", "sick")]
        rows = [f"| {title} | " + " | ".join(head) + " |", "|---" * (len(head) + 1) + "|"]
        for k in [*keys, None]:
            n = Counter((c["split"], bool(c["expected"])) for c in cfgs if k is None or key(c) == k)
            cells = [str(n[s, sick]) for s in splits for sick in (False, True)]
            rows.append(f"| {'**all**' if k is None else k} | " + " | ".join(cells) + " |")
        return "\n".join(rows)

    return "\n\n".join(
        [
            table(lambda c: c["writer"], "writer"),
            table(lambda c: c["family"], "family"),
            table(lambda c: f"{c['condition']} {c['expected'] or ''}", "condition [label]"),
        ]
    )


def train(cfgs: list[dict], log: Path, where=None) -> float:
    """Train the configs, one process per environment; returns the children's CPU seconds."""
    where = where or run_dir
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for venv in ("torch", "tf"):
        todo = [c for c in cfgs if WRITERS[c["writer"]]["venv"] == venv]
        if not todo:
            continue
        for c in todo:
            shutil.rmtree(where(c), ignore_errors=True)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump([(c, str(where(c))) for c in todo], f)
        print(f"{venv}: training {len(todo)} runs (log: {log})", flush=True)
        with log.open("a") as out:
            subprocess.run(
                [
                    "nice",
                    "-n",
                    "10",
                    str(VENVS[venv] / "bin" / "python"),
                    str(SCRIPTS[venv]),
                    f.name,
                ],
                stdout=out,
                stderr=out,
                check=False,
            )
        Path(f.name).unlink()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="glob on run names")
    ap.add_argument("--force", action="store_true", help="retrain even if built")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--labels-only", action="store_true")
    ap.add_argument("--summary", action="store_true", help="Markdown run counts")
    ap.add_argument("--log", type=Path, default=HERE / "runs" / "build.log")
    args = ap.parse_args(argv)
    cfgs = all_configs()
    write_labels(labels(cfgs), HERE / "labels.json")
    if args.list:
        for c in cfgs:
            print(c["name"], c["expected"])
        return 0
    if args.summary:
        print(summary(cfgs))
        return 0
    if args.labels_only:
        return 0
    sel = [c for c in cfgs if not args.only or fnmatch.fnmatch(c["name"], args.only)]
    todo = [c for c in sel if args.force or not is_built(c)]
    RUNS.mkdir(exist_ok=True)
    t0 = time.time()
    cpu = train(todo, args.log) if todo else 0.0
    missing = [c["name"] for c in sel if not is_built(c)]
    print(
        f"trained {len(todo)} of {len(sel)} runs: {cpu:.0f} s CPU (children), "
        f"{time.time() - t0:.0f} s wall; failed: {len(missing)}"
    )
    for name in missing:
        print("  failed:", name)
    print(Counter((c["split"], c["writer"]) for c in sel))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
