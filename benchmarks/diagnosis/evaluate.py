"""Score dlreport's diagnostics on the labelled corpus of real training runs.

    python benchmarks/diagnosis/evaluate.py [--corpus DIR] [--labels FILE] [--verbose]

A run's predicted codes are those of its findings at severity warning or error (``info``
findings are remarks, not alarms: e.g. "gradients not logged, so not checked"). Expected codes
come from ``labels.json``, verified by ``verify.py`` from the logged numbers. Prints per-code
precision, recall and F1, the macro-F1 over the codes that occur in the labels, and the
false-alarm rate on healthy runs (share of runs labelled healthy with any predicted code).
Runs only in the project's own venv (no torch needed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path

from analyzer.pipeline import build_report

HERE = Path(__file__).resolve().parent
ALARM = ("warning", "error")


def predict(run_dir: Path) -> tuple[set[str], dict[str, str]]:
    """Codes dlreport raises (warning or error) on one corpus run, with their titles."""
    report = build_report(str(run_dir))
    codes: set[str] = set()
    titles: dict[str, str] = {}
    for run in report.runs:
        for f in run.findings:
            if f.severity in ALARM:
                codes.add(f.code)
                titles.setdefault(f.code, f.title)
    return codes, titles


def score(
    expected: Mapping[str, set[str]], predicted: Mapping[str, set[str]]
) -> tuple[dict[str, tuple[float, float, float, int, int, int]], float, float]:
    """Per code (precision, recall, F1, tp, fp, fn); macro-F1; healthy false-alarm rate."""
    codes = sorted(set().union(*expected.values()))
    per_code = {}
    for code in codes:
        tp = sum(code in expected[r] and code in predicted[r] for r in expected)
        fp = sum(code not in expected[r] and code in predicted[r] for r in expected)
        fn = sum(code in expected[r] and code not in predicted[r] for r in expected)
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_code[code] = (precision, recall, f1, tp, fp, fn)
    macro = sum(v[2] for v in per_code.values()) / len(per_code) if per_code else 0.0
    healthy = [r for r in expected if not expected[r]]
    false_alarms = sum(bool(predicted[r]) for r in healthy) / len(healthy) if healthy else 0.0
    return per_code, macro, false_alarms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=HERE / "corpus")
    parser.add_argument("--labels", type=Path, default=HERE / "labels.json")
    parser.add_argument("--verbose", action="store_true", help="list every mismatch")
    parser.add_argument("--json", type=Path, help="write the scores here")
    args = parser.parse_args(argv)
    labels = json.loads(args.labels.read_text())
    expected: dict[str, set[str]] = {}
    predicted: dict[str, set[str]] = {}
    titles: dict[str, dict[str, str]] = {}
    for name, label in sorted(labels.items()):
        run_dir = args.corpus / name
        if not run_dir.is_dir():
            print(f"missing run {run_dir}", file=sys.stderr)
            continue
        expected[name] = set(label["expected"])
        predicted[name], titles[name] = predict(run_dir)
    per_code, macro, false_alarms = score(expected, predicted)
    print(f"{len(expected)} runs ({sum(not v for v in expected.values())} healthy)\n")
    print(f"{'code':<22}{'precision':>10}{'recall':>8}{'F1':>7}{'tp':>5}{'fp':>5}{'fn':>5}")
    for code, (p, r, f1, tp, fp, fn) in per_code.items():
        print(f"{code:<22}{p:>10.2f}{r:>8.2f}{f1:>7.2f}{tp:>5}{fp:>5}{fn:>5}")
    print(f"\nmacro-F1 {macro:.3f} (target >= 0.9)")
    print(f"false alarms on healthy runs {false_alarms:.1%} (target <= 5%)")
    exact = sum(expected[r] == predicted[r] for r in expected)
    print(f"runs with exactly the expected codes: {exact}/{len(expected)}")
    if args.verbose:
        print()
        for r in expected:
            missed, extra = expected[r] - predicted[r], predicted[r] - expected[r]
            if missed or extra:
                detail = "; ".join(f"{c}: {titles[r][c]}" for c in sorted(extra))
                print(f"{r}: missed {sorted(missed)} extra {sorted(extra)} {detail}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"per_code": per_code, "macro_f1": macro, "false_alarm_rate": false_alarms},
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
