"""Golden files: "on this log we say this", for the JSON and the Markdown report.

``DLREPORT_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py`` rewrites them (review the
diff before committing). On a mismatch the actual output goes to ``tests/actual/<case>/`` and the
test shows a unified diff. The HTML report is checked by parsing instead (test_render_html.py):
a whole-page gold file would break on every change of style.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from report_logs import write_report_logs

from analyzer.pipeline import build_analysis
from analyzer.render import markdown
from analyzer.render.json import dumps

TESTS = Path(__file__).parent
GOLDEN = TESTS / "golden"
ACTUAL = TESTS / "actual"
GENERATED_AT = "2026-01-01T00:00:00Z"

# case -> how to get its logdir (written at test time, or a committed fixture)
CASES: dict[str, Callable[[Path], Path]] = {
    "synthetic": lambda tmp: write_report_logs(tmp / "logs"),
    "mushrooms-yolov5": lambda tmp: TESTS / "fixtures" / "realworld" / "mushrooms-yolov5",
}


def check_gold(case: str, name: str, actual: str) -> None:
    """Compare ``actual`` with ``golden/<case>/<name>``; rewrite it when asked."""
    __tracebackhide__ = True
    gold = GOLDEN / case / name
    if os.environ.get("DLREPORT_UPDATE_GOLDEN"):
        gold.parent.mkdir(parents=True, exist_ok=True)
        gold.write_text(actual, encoding="utf-8")
        return
    expected = gold.read_text(encoding="utf-8") if gold.exists() else ""
    if actual == expected:
        return
    out = ACTUAL / case / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(actual, encoding="utf-8")
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=str(gold),
            tofile=str(out),
        )
    )
    pytest.fail(
        f"{gold} differs from the output (written to {out}); if the change is intended, "
        f"rerun with DLREPORT_UPDATE_GOLDEN=1.\n{diff[:20_000]}",
        pytrace=False,
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_json_and_markdown(case: str, tmp_path: Path) -> None:
    logdir = CASES[case](tmp_path)
    if not logdir.exists():
        pytest.skip(f"{logdir} is not in this checkout")
    report = build_analysis(
        str(logdir), generated_at=GENERATED_AT, strict=True, keep_runs=False
    ).report
    check_gold(case, "report.json", dumps(report))
    check_gold(case, "report.md", markdown.render(report))
