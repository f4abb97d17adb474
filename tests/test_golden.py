"""Golden files: "on this log we say this", in every format.

``DLREPORT_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py`` rewrites them (review the
diff before committing). On a mismatch the actual output goes to ``tests/actual/<case>/`` and the
test shows a unified diff. JSON and Markdown are compared whole. For HTML a whole-page gold file
would break on every change of style, so its gold is the page's text as a reader sees it
(``report.html.txt``: headings, paragraphs, one line per table row, images by their alt text;
no markup, CSS or chart data); its structure is checked by parsing (test_render_html.py).
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from schema import validate_report

from analyzer.pipeline import build_analysis
from analyzer.render import html, markdown
from analyzer.render.json import dumps

TESTS = Path(__file__).parent
SAMPLES = TESTS.parent / "sample_logs"
GOLDEN = TESTS / "golden"
ACTUAL = TESTS / "actual"
GENERATED_AT = "2026-01-01T00:00:00Z"

# case -> how to get its logdir (written at test time, or a committed fixture)
CASES: dict[str, Callable[[pytest.FixtureRequest], Path]] = {
    # tests/helpers/report_logs.py's runs, written once a session (conftest.py)
    "synthetic": lambda request: request.getfixturevalue("report_logs"),
    "mushrooms-yolov5": lambda request: TESTS / "fixtures" / "realworld" / "mushrooms-yolov5",
    # Every sample run (one per problem dlreport finds), analysed together as the README does.
    "sample_logs": lambda request: SAMPLES,
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
def test_golden_json_and_markdown(case: str, request: pytest.FixtureRequest) -> None:
    logdir = CASES[case](request)
    if not logdir.exists():
        pytest.skip(f"{logdir} is not in this checkout")
    report = build_analysis(
        str(logdir), generated_at=GENERATED_AT, strict=True, keep_runs=False
    ).report
    check_gold(case, "report.json", dumps(report))
    validate_report(json.loads(dumps(report)))  # docs/report.schema.json
    check_gold(case, "report.md", markdown.render(report))


# Elements that start a new line of text; everything else flows inline.
_BLOCKS = [
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "caption",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "ul",
]


def html_text(page: str) -> str:
    """The text of an HTML page as a reader sees it, one block or table row per line."""
    soup = BeautifulSoup(page, "html.parser")
    for tag in soup(["head", "style", "script", "template"]):
        tag.decompose()
    for wbr in soup.find_all("wbr"):  # a place a line may wrap: no text, no space
        wbr.decompose()
    soup = BeautifulSoup(str(soup), "html.parser")  # join the text either side of it
    for img in soup.find_all("img"):
        img.replace_with(f"[image: {img.get('alt', '')}]")
    for row in soup.find_all("tr"):
        cells = [" ".join(c.get_text(" ").split()) for c in row.find_all(["td", "th"])]
        row.replace_with("\n| " + " | ".join(cells) + " |\n")
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    lines = (" ".join(line.split()) for line in soup.get_text(" ").split("\n"))
    return "\n".join(line for line in lines if line) + "\n"


def test_html_text_keeps_rows_blocks_and_alt_text() -> None:
    page = (
        "<html><head><title>t</title><style>p{}</style></head><body><h1>Report</h1>"
        "<p>two <b>words</b></p><table><tr><th>a</th><td> 1 </td></tr></table>"
        '<img alt="loss by step" src="data:,"></body></html>'
    )
    assert html_text(page) == "Report\ntwo words\n| a | 1 |\n[image: loss by step]\n"


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_html_text(case: str, request: pytest.FixtureRequest) -> None:
    if case == "synthetic":
        # conftest.py's page of these logs, made as below (the HTML tests check the same one)
        assert request.getfixturevalue("report_analysis").report.generated_at == GENERATED_AT
        page = request.getfixturevalue("report_html")
        check_gold(case, "report.html.txt", html_text(page))
        return
    logdir = CASES[case](request)
    if not logdir.exists():
        pytest.skip(f"{logdir} is not in this checkout")
    analysis = build_analysis(str(logdir), generated_at=GENERATED_AT, strict=True)
    check_gold(case, "report.html.txt", html_text(html.render(analysis.report, analysis.runs)))
