"""Sweep thresholds on the *dev* split: healthy false alarms and recall per candidate value.

    python3 calibrate.py --dlreport-python .venv/bin/python --repo . [--corpus DIR] \\
        oscillation_no_progress=0.2,0.5,1 overfit_noise=1,2,3,5

For each ``name=v1,v2,...`` it runs dlreport on ``runs/dev`` once per value (``--threshold
name=value``, the other thresholds at their defaults) and prints, for every code whose figures
move, the healthy dev runs it alarms on and its recall on the runs labelled with it. Scoring is
score.py's (imported from beside this file); nothing of ``analyzer/`` is imported. Only the dev
split can be swept: the test split is held out.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from score import per_run, score  # noqa: E402


def analyze(python: str, repo: Path, corpus: Path, overrides: list[str]) -> dict[str, Any]:
    args = [python, "-m", "analyzer", "analyze", str(corpus / "runs" / "dev"), "-f", "json"]
    for o in overrides:
        args += ["--threshold", o]
    proc = subprocess.run(
        [*args, "-o", "-"],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(repo)),
        cwd=str(repo),
        check=False,
    )
    if not proc.stdout.strip():
        raise SystemExit(f"dlreport printed nothing (exit {proc.returncode}): {proc.stderr[-800:]}")
    return json.loads(proc.stdout)


def dev_labels(corpus: Path) -> dict[str, Any]:
    labels = json.loads((corpus / "labels.json").read_text())
    review = json.loads((corpus / "review.json").read_text())
    root = corpus / "runs" / "dev"
    return {
        n: v
        for n, v in labels.items()
        if v["split"] == "dev"
        and review.get(n, {}).get("verdict") != "exclude"
        and (root / n / "config.json").is_file()
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweeps", nargs="+", help="name=v1,v2,...")
    ap.add_argument("--dlreport-python", default=sys.executable)
    ap.add_argument("--repo", type=Path, default=HERE.parents[2])
    ap.add_argument(
        "--corpus", type=Path, default=HERE, help="the folder holding labels.json and runs/dev"
    )
    args = ap.parse_args(argv)
    labels = dev_labels(args.corpus)

    def run(overrides: list[str]) -> dict[str, Any]:
        report = analyze(args.dlreport_python, args.repo, args.corpus, overrides)
        return score(labels, per_run(report))

    base = run([])
    print(
        f"defaults: macro-F1 {base['macro_f1']:.3f}, healthy runs with an alarm "
        f"{base['false_alarm_rate']:.1%} ({base['healthy']} healthy dev runs)"
    )
    for sweep in args.sweeps:
        name, _, values = sweep.partition("=")
        print(f"\n{name}")
        rows = []
        for value in values.split(","):
            rows.append((value, run([f"{name}={value}"])))
        moved = sorted(
            c
            for c in set(base["per_code"]) | {c for _, s in rows for c in s["per_code"]}
            if any(
                s["per_code"].get(c, {}).get(k) != base["per_code"].get(c, {}).get(k)
                for _, s in rows
                for k in ("healthy_fa", "tp", "fp")
            )
        )
        for value, s in rows:
            cells = ", ".join(
                f"{c} FA {s['per_code'][c]['healthy_fa']}/{s['healthy']} "
                f"recall {s['per_code'][c]['tp']}/{s['per_code'][c]['support']}"
                for c in moved
                if c in s["per_code"]
            )
            print(
                f"  {value:>8}: macro-F1 {s['macro_f1']:.3f}, healthy FA "
                f"{s['false_alarm_rate']:.1%}; {cells or 'no code moves'}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
