"""The README's per-code table (issue #11, item 6), written from ``score.py --json`` files.

    python3 code_table.py dev=/tmp/dev.json test4=/tmp/test4.json          # print it
    python3 code_table.py dev=/tmp/dev.json test4=/tmp/test4.json --write  # into the README

Each ``SPLIT=FILE`` is one ``score.py --split SPLIT --json FILE`` output; the splits' columns
come in the order given. Per code: false alarms on the split's healthy runs (healthy runs with
that code at warning/error), recall on the runs labelled with it, and F1; then macro-F1, the
share of healthy runs with any alarm, and the roles right per writer. Nothing is computed
here that ``score.py`` did not count: this only lays its figures out. ``--write`` replaces
the block between the two ``code-table`` markers of ``benchmarks/diagnosis/README.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
BEGIN, END = "<!-- code-table: begin (code_table.py) -->", "<!-- code-table: end -->"


def _cell(v: dict[str, Any] | None, healthy: int, what: str) -> str:
    if v is None:
        return "-"
    if what == "fa":
        return f"{v['healthy_fa']}/{healthy}"
    if what == "recall":
        return f"{v['recall']:.2f} ({v['tp']}/{v['support']})" if v["support"] else "-"
    return f"{v['f1']:.2f}" if v["support"] else "-"


def table(scores: dict[str, dict[str, Any]]) -> str:
    splits = list(scores)
    codes = sorted({c for s in scores.values() for c in s["per_code"]})
    head = ["code"]
    for what in ("healthy FA", "recall", "F1"):
        head += [f"{sp} {what}" for sp in splits]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in codes:
        cells = [f"`{c}`"]
        for what in ("fa", "recall", "f1"):
            cells += [
                _cell(scores[sp]["per_code"].get(c), scores[sp]["healthy"], what) for sp in splits
            ]
        rows.append("| " + " | ".join(cells) + " |")
    lines = ["\n".join(rows), ""]
    for sp in splits:
        s = scores[sp]
        roles = ", ".join(
            f"{w} {v:.0%}" for w, v in sorted(s["roles"].items(), key=lambda kv: kv[0])
        )
        lines.append(
            f"- *{sp}*: {s['runs']} runs ({s['healthy']} healthy); macro-F1 **{s['macro_f1']:.3f}**"
            f" (target >= 0.95); healthy runs with any alarm **{s['false_alarm_rate']:.1%}**"
            f" (target <= 2%); roles right: {roles}."
        )
    return "\n".join(lines)


def write_readme(text: str, readme: Path = README) -> None:
    doc = readme.read_text()
    if BEGIN not in doc or END not in doc:
        raise SystemExit(f"{readme}: no {BEGIN} ... {END} block to replace")
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scores", nargs="+", metavar="SPLIT=FILE", help="score.py --json outputs")
    ap.add_argument("--write", action="store_true", help="replace the README's block")
    args = ap.parse_args(argv)
    scores = {}
    for item in args.scores:
        split, sep, file = item.partition("=")
        if not sep:
            raise SystemExit(f"{item}: expected SPLIT=FILE")
        scores[split] = json.loads(Path(file).read_text())["scores"]
    text = table(scores)
    if args.write:
        write_readme(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
