"""Draft the review of a split's check/label disagreements, and sheets of their PNGs to look at.

    .venv-torch/bin/python check.py --split test2 --png --json /tmp/check_test2.json
    .venv-torch/bin/python review.py /tmp/check_test2.json --sheets /tmp/sheets
    .venv-torch/bin/python review.py /tmp/check_test2.json --exclude RUN="why" --write

The draft applies the rules the *dev* and *test* reviews used (README, "Labels"): a labelled
run whose check found one of its labelled codes is kept (the extra codes are side effects or
overlapping definitions); a labelled run whose check found none of them is excluded (the cause
left no trace in what this writer logs); a healthy run that trips a definition is kept, unless
its validation loss ends >= 1.3x its best (the healthy recipe really overfits: excluded). The
draft is only a start: every disagreement is looked at on its curves (``--sheets``), and
``--keep`` / ``--exclude`` record a different decision with its reason. Labels never move.
Runs already in ``review.json`` keep their entry.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WHY = {
    "side": "labelled symptom present; extra codes are side effects or definition overlap",
    "no_trace": "the cause left no trace of its labelled symptom in what this writer logs",
    "trips": "healthy shape that trips a README definition",
    "overfits": "the healthy recipe really overfits (validation loss >= 1.3x its best)",
}


def draft(name: str, res: dict[str, Any]) -> dict[str, Any]:
    label, found = sorted(res["expected"]), sorted(res["found"])
    if label:
        kind = "side" if set(label) & set(found) else "no_trace"
    else:
        rise = res["measures"].get("overfitting")
        kind = "overfits" if isinstance(rise, float) and rise >= 1.3 else "trips"
    differ = sorted(set(label) ^ set(found))
    return {
        "label": label,
        "check": found,
        "evidence": {c: res["evidence"][c] for c in differ},
        "verdict": "exclude" if kind in ("no_trace", "overfits") else "keep",
        "why": WHY[kind],
    }


def sheets(names: list[str], out: Path, per_sheet: int = 8) -> list[Path]:
    """The runs' PNGs stacked, ``per_sheet`` to an image, in the order given."""
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    made = []
    for k in range(0, len(names), per_sheet):
        imgs = [Image.open(HERE / "png" / f"{n}.png") for n in names[k : k + per_sheet]]
        sheet = Image.new("RGB", (max(i.width for i in imgs), sum(i.height for i in imgs)), "white")
        y = 0
        for img in imgs:
            sheet.paste(img, (0, y))
            y += img.height
        made.append(out / f"sheet{k // per_sheet:02d}.png")
        sheet.save(made[-1])
    return made


def _decisions(items: list[str], verdict: str) -> dict[str, tuple[str, str]]:
    out = {}
    for item in items:
        name, sep, why = item.partition("=")
        if not sep or not why:
            raise SystemExit(f"{item}: expected RUN=reason")
        out[name] = (verdict, why)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("check_json", type=Path, help="check.py --json output")
    ap.add_argument("--sheets", type=Path, help="write contact sheets of the disagreements")
    ap.add_argument("--keep", action="append", default=[], metavar="RUN=why")
    ap.add_argument("--exclude", action="append", default=[], metavar="RUN=why")
    ap.add_argument("--write", action="store_true", help="add the new entries to review.json")
    args = ap.parse_args(argv)
    checked = json.loads(args.check_json.read_text())
    review_file = HERE / "review.json"
    review = json.loads(review_file.read_text())
    decided = {**_decisions(args.keep, "keep"), **_decisions(args.exclude, "exclude")}
    unknown = sorted(set(decided) - set(checked))
    if unknown:
        raise SystemExit(f"not in {args.check_json}: {', '.join(unknown)}")
    new = {}
    for name, res in sorted(checked.items()):
        if res["agree"] or name in review:
            continue
        entry = draft(name, res)
        if name in decided:
            entry["verdict"], entry["why"] = decided[name]
        new[name] = entry
    for name, e in new.items():
        print(f"{e['verdict']:<8}{name}: label {e['label']} check {e['check']} | {e['why']}")
    counts = {v: sum(e["verdict"] == v for e in new.values()) for v in ("keep", "exclude")}
    print(f"{len(new)} disagreements: {counts['keep']} kept, {counts['exclude']} excluded")
    if args.sheets:
        order = sorted(new, key=lambda n: (new[n]["why"], n))
        for i, path in enumerate(sheets(order, args.sheets)):
            print(f"{path}: {', '.join(order[i * 8 : i * 8 + 8])}")
    if args.write:
        review.update(new)
        review_file.write_text(json.dumps(review, indent=1, sort_keys=True))  # as committed
    return 0


if __name__ == "__main__":
    sys.exit(main())
