"""Score dlreport on one split of the corpus: findings against the frozen labels, and roles.

    python3 score.py --split dev [--dlreport-python /work/main/.venv/bin/python]
                     [--repo /work/main] [--verbose] [--json OUT]

It runs ``python -m analyzer analyze runs/<split> -f json`` with the given interpreter and
``PYTHONPATH=<repo>``, so it scores whatever analyzer that checkout holds (nothing of
``analyzer/`` is imported here). A run's predicted codes are those of its findings at
``warning`` or ``error``, over all the sub-runs dlreport found in its folder. Prints per-code
precision / recall / F1, the macro-F1 over the codes in the labels, the false-alarm rate on
healthy runs (a healthy run with any predicted code) and per code, and for each writer the share
of labelled roles that dlreport assigned to exactly the writer's tag.

The held-out splits are scored once, at the end, by the lead: each asks for ``--final``
(*test* to *test16* were scored once and are spent; *test17* is the next; a new split goes at
the end of ``SPLITS``). ``--json OUT`` keeps the scores for
``code_table.py``, which writes the README's per-code table from them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ALARM = ("warning", "error")
SPLITS = (
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
)
# Every split but dev is held out, scored once (--final).
HELD_OUT = SPLITS[1:]


def analyze(root: Path, python: str, repo: Path) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(repo))
    proc = subprocess.run(
        [python, "-m", "analyzer", "analyze", str(root), "-f", "json", "-o", "-"],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(repo),
        check=False,
    )
    if not proc.stdout.strip():
        raise SystemExit(
            f"dlreport printed nothing (exit {proc.returncode}): {proc.stderr[-2000:]}"
        )
    return json.loads(proc.stdout)


def per_run(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Corpus run name -> {"codes", "titles", "roles" (role -> set of full tag paths)}."""
    out: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"codes": set(), "titles": {}, "roles": defaultdict(set), "evidence": {}}
    )
    for r in report["runs"]:
        name, _, sub = r["run"].partition("/")
        entry = out[name]
        for f in r["findings"]:
            if f["severity"] in ALARM:
                entry["codes"].add(f["code"])
                entry["titles"].setdefault(f["code"], f["title"])
                entry["evidence"].setdefault(f["code"], f.get("evidence", {}))
        for role, tag in r.get("roles", {}).items():
            entry["roles"][role].add(f"{sub}/{tag}" if sub else tag)
    return out


def score(labels: dict[str, Any], pred: dict[str, dict[str, Any]]) -> dict[str, Any]:
    names = sorted(labels)
    exp = {n: set(labels[n]["expected"]) for n in names}
    got = {n: pred[n]["codes"] if n in pred else set() for n in names}
    codes = sorted(set().union(*exp.values()))
    per_code = {}
    healthy = [n for n in names if not exp[n]]
    for c in codes:
        tp = sum(c in exp[n] and c in got[n] for n in names)
        fp = sum(c not in exp[n] and c in got[n] for n in names)
        fn = sum(c in exp[n] and c not in got[n] for n in names)
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        per_code[c] = {
            "precision": p,
            "recall": r,
            "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "support": tp + fn,
            "healthy_fa": sum(c in got[n] for n in healthy),
        }
    extra = sorted({c for n in healthy for c in got[n]} - set(codes))
    for c in extra:
        per_code.setdefault(
            c,
            {
                "precision": 0.0,
                "recall": 1.0,
                "f1": 0.0,
                "tp": 0,
                "fp": sum(c in got[n] for n in names),
                "fn": 0,
                "support": 0,
                "healthy_fa": sum(c in got[n] for n in healthy),
            },
        )
    macro = sum(per_code[c]["f1"] for c in codes) / len(codes) if codes else 0.0
    fa = sum(bool(got[n]) for n in healthy) / len(healthy) if healthy else 0.0
    roles: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for n in names:
        w = labels[n]["writer"]
        for role, tag in labels[n]["roles"].items():
            ok = n in pred and pred[n]["roles"].get(role, set()) == {tag}
            roles[w][0] += ok
            roles[w][1] += 1
    return {
        "runs": len(names),
        "healthy": len(healthy),
        "per_code": per_code,
        "macro_f1": macro,
        "false_alarm_rate": fa,
        "roles": {w: v[0] / v[1] for w, v in roles.items()},
        "roles_counts": dict(roles),
        "exact": sum(exp[n] == got[n] for n in names),
    }


def split_arguments(doc: str) -> argparse.ArgumentParser:
    """The options score.py and closed_loop.py share: which split, which dlreport."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--split", choices=SPLITS, default="dev")
    ap.add_argument("--final", action="store_true", help="allow a held-out split (used once)")
    ap.add_argument("--dry-run", action="store_true", help="check the arguments and the runs, stop")
    ap.add_argument("--dlreport-python", default=str(HERE.parents[2] / ".venv" / "bin" / "python"))
    ap.add_argument("--repo", type=Path, default=HERE.parents[2])
    ap.add_argument("--json", type=Path)
    return ap


def parse_split_arguments(ap: argparse.ArgumentParser, argv: list[str] | None):
    args = ap.parse_args(argv)
    if args.split in HELD_OUT and not args.final:
        raise SystemExit(f"the {args.split} split is used once, at the end: add --final")
    return args


def main(argv: list[str] | None = None) -> int:
    ap = split_arguments(__doc__)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--report", type=Path, help="reuse a saved dlreport JSON instead of running")
    args = parse_split_arguments(ap, argv)
    labels = {
        n: v
        for n, v in json.loads((HERE / "labels.json").read_text()).items()
        if v["split"] == args.split
    }
    review = json.loads((HERE / "review.json").read_text())
    excluded = sorted(n for n in labels if review.get(n, {}).get("verdict") == "exclude")
    labels = {n: v for n, v in labels.items() if n not in excluded}
    root = HERE / "runs" / args.split
    labels = {n: v for n, v in labels.items() if (root / n / "config.json").is_file()}
    if args.dry_run:
        healthy = sum(not v["expected"] for v in labels.values())
        print(
            f"would score {len(labels)} built runs of {args.split} ({healthy} healthy; "
            f"{len(excluded)} excluded by review.json) with {args.dlreport_python} "
            f"-m analyzer on {args.repo}"
        )
        return 0
    report = (
        json.loads(args.report.read_text())
        if args.report
        else analyze(root, args.dlreport_python, args.repo)
    )
    pred = per_run(report)
    s = score(labels, pred)
    print(
        f"split {args.split}: {s['runs']} runs ({s['healthy']} healthy), analyzer {args.repo}; "
        f"{len(excluded)} runs excluded by review.json\n"
    )
    print(f"{'code':<22}{'P':>6}{'R':>6}{'F1':>6}{'tp':>5}{'fp':>5}{'fn':>5}{'healthy FA':>12}")
    for c, v in sorted(s["per_code"].items()):
        print(
            f"{c:<22}{v['precision']:>6.2f}{v['recall']:>6.2f}{v['f1']:>6.2f}{v['tp']:>5}"
            f"{v['fp']:>5}{v['fn']:>5}{v['healthy_fa']:>6}/{s['healthy']}"
        )
    print(f"\nmacro-F1 {s['macro_f1']:.3f} (target >= 0.95)")
    print(f"false alarms on healthy runs {s['false_alarm_rate']:.1%} (target <= 2%)")
    print(f"runs with exactly the labelled codes: {s['exact']}/{s['runs']}")
    print(
        "roles right per writer: "
        + ", ".join(
            f"{w} {v:.0%} ({s['roles_counts'][w][0]}/{s['roles_counts'][w][1]})"
            for w, v in sorted(s["roles"].items())
        )
    )
    if args.verbose:
        print()
        for n in sorted(labels):
            e, g = set(labels[n]["expected"]), pred[n]["codes"] if n in pred else set()
            wrong = {
                r: (t, sorted(pred[n]["roles"].get(r, set())) if n in pred else None)
                for r, t in labels[n]["roles"].items()
                if n not in pred or pred[n]["roles"].get(r, set()) != {t}
            }
            if e != g:
                titles = "; ".join(f"{c}: {pred[n]['titles'][c]}" for c in sorted(g - e))
                print(f"{n}: missed {sorted(e - g)} extra {sorted(g - e)} {titles}")
            if wrong:
                print(f"{n}: roles {wrong}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "scores": s,
                    "predicted": {n: sorted(v["codes"]) for n, v in pred.items()},
                    "evidence": {n: v["evidence"] for n, v in pred.items()},
                },
                indent=1,
                default=sorted,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
