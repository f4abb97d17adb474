"""``dlreport compare -f html``: one self-contained page, verdict, table, overlaid curves."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from tensorboardX import SummaryWriter

from analyzer.cli import cli
from analyzer.compare import Comparison, compare
from analyzer.model import Run
from analyzer.pipeline import build_analysis
from analyzer.render import compare_html
from analyzer.render.environment import fmt_change, fmt_num, fmt_step

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
SVG_PREFIX = "data:image/svg+xml;base64,"
HOSTILE = "<img src=x onerror=alert(1)>"


def _run(path: Path, val_floor: float, *, nan_at: int | None = None) -> None:
    with SummaryWriter(str(path)) as w:
        for step in range(100):
            loss = 2.0 * np.exp(-step / 20) + 0.1
            if nan_at is not None and step >= nan_at:
                loss = float("nan")
            w.add_scalar("train/loss", loss, step)
            if step % 10 == 9:
                w.add_scalar("eval/loss", val_floor + np.exp(-step / 20), step)


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("compare")
    base, cand = root / "base", root / "cand"
    _run(base / "better", 0.5)
    _run(cand / "better", 0.3)
    _run(base / HOSTILE, 0.5)
    _run(cand / HOSTILE, 0.5, nan_at=50)
    _run(base / "same", 0.5)
    _run(cand / "same", 0.5)
    _run(base / "gone", 0.5)
    _run(cand / "new", 0.5)
    return base, cand


@pytest.fixture(scope="module")
def result(sides: tuple[Path, Path]) -> tuple[Comparison, dict[str, Run], dict[str, Run]]:
    base, cand = sides
    b = build_analysis(str(base))
    c = build_analysis(str(cand))
    comparison = compare(b.report, c.report, c.runs, baseline_name="base", candidate_name=HOSTILE)
    return comparison, dict(b.runs), dict(c.runs)


@pytest.fixture(scope="module")
def page(result: tuple[Comparison, dict[str, Run], dict[str, Run]]) -> str:
    return compare_html.render(*result)


@pytest.fixture(scope="module")
def soup(page: str) -> BeautifulSoup:
    return BeautifulSoup(page, "html.parser")


def test_verdict_first(soup: BeautifulSoup) -> None:
    verdict = soup.select_one("main #verdict .verdict")
    assert verdict is soup.select_one("main").find(class_="verdict")
    text = verdict.get_text(" ", strip=True)
    assert text.startswith("regressed Verdict: regressed.")
    assert "3 runs matched: 1 regressed, 1 improved, 1 the same" in text
    assert soup.title.get_text().startswith("dlreport compare: regressed")


def test_table_has_a_row_per_run_regressions_first(
    result: tuple[Comparison, dict[str, Run], dict[str, Run]], soup: BeautifulSoup
) -> None:
    comparison = result[0]
    rows = soup.select("table.comparison tbody tr")
    names = [r.select_one(".run-name").get_text() for r in rows]
    assert names == [HOSTILE, "better", "same"]
    by_name = {r.run: r for r in comparison.runs}
    ids = {t["id"] for t in soup.select("[id]")}
    for row in rows:
        r = by_name[row.select_one(".run-name").get_text()]
        cells = [td.get_text(" ", strip=True) for td in row.find_all("td")]
        assert cells[1] == r.verdict
        assert cells[3:6] == [
            fmt_num(r.baseline_value),
            fmt_num(r.candidate_value),
            fmt_change(r.relative_change),
        ]
        assert cells[6] == f"± {fmt_num(r.noise)}"
        assert cells[7] == f"{r.baseline_status} → {r.candidate_status}"
        codes = [[c.get_text() for c in td.select("code")] for td in row.select("td.codes")]
        assert codes == [list(r.new_findings), list(r.resolved_findings)]
        assert cells[10] == fmt_step(r.steps_to_baseline_best)
        assert row.select_one("a")["href"][1:] in ids
    better = by_name["better"]
    assert better.steps_to_baseline_best is not None
    assert "loss_divergence" in by_name[HOSTILE].new_findings


def test_unmatched_runs_are_listed(soup: BeautifulSoup) -> None:
    lists = {s.find("h3").get_text(): s.get_text(" ", strip=True) for s in
             soup.select("section.unmatched")}  # fmt: skip
    assert lists == {
        "Only in the baseline (1)": "Only in the baseline (1) gone",
        "Only in the candidate (1)": "Only in the candidate (1) new",
    }


def test_each_run_overlays_baseline_and_candidate(soup: BeautifulSoup) -> None:
    sections = soup.select("section.compare-run")
    assert len(sections) == 3
    for section in sections:
        overlays = section.select(".overlay")
        assert [o.find("h3").get_text() for o in overlays] == ["Training loss", "Validation loss"]
        for overlay in overlays:
            img = overlay.select_one("img")
            svg = base64.b64decode(img["src"][len(SVG_PREFIX) :])
            assert ET.fromstring(svg).tag.endswith("svg")
            legend = [s.get_text() for s in overlay.select("figcaption .tag")]
            assert legend[0].startswith("baseline: ")
            assert legend[1].startswith("candidate: ")
    better = next(s for s in sections if s.find("h2").get_text() == "better")
    val = better.select(".overlay")[1]
    assert "steps to baseline best" in val.select_one("figcaption").get_text()
    assert "reaches the baseline's best at step" in val.select_one("img")["alt"]


def test_self_contained_and_escaped(page: str, soup: BeautifulSoup) -> None:
    html = page
    assert HOSTILE not in html
    assert soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"] == CSP
    for name in ("script", "link", "iframe", "object", "embed", "base", "form"):
        assert soup.find(name) is None, name
    for tag in soup.find_all(True):
        assert not [a for a in tag.attrs if a.lower().startswith("on")], tag
        for attr in ("src", "href", "srcset", "action", "data"):
            value = tag.get(attr)
            if value is not None:
                assert value.startswith(("#", "data:")), (tag.name, attr, value[:60])
    assert [i["src"][:26] for i in soup.find_all("img")] == [SVG_PREFIX] * 6
    assert not re.search(r"https?://", re.sub(r"data:image/svg\+xml;base64,[^\"']*", "", html))
    assert HOSTILE in soup.select_one(".meta").get_text()  # the candidate's name, as text


def test_without_the_runs_data_tables_only(
    result: tuple[Comparison, dict[str, Run], dict[str, Run]],
) -> None:
    soup = BeautifulSoup(compare_html.render(result[0]), "html.parser")
    assert soup.find("img") is None
    assert len(soup.select("table.comparison tbody tr")) == 3


def test_single_runs_with_different_names_still_get_curves(tmp_path: Path) -> None:
    _run(tmp_path / "base", 0.5)  # the root itself: run "."
    _run(tmp_path / "cand" / "x", 0.4)
    b, c = build_analysis(str(tmp_path / "base")), build_analysis(str(tmp_path / "cand"))
    comparison = compare(b.report, c.report, c.runs, baseline_name="b", candidate_name="c")
    soup = BeautifulSoup(compare_html.render(comparison, b.runs, c.runs), "html.parser")
    legend = [s.get_text() for s in soup.select(".overlay figcaption .tag")]
    assert legend == ["baseline: train/loss", "candidate: train/loss",
                      "baseline: eval/loss", "candidate: eval/loss"]  # fmt: skip


def test_cli_writes_dlreport_compare_html_by_default(
    sides: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, cand = sides
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli, ["compare", str(base), str(cand), "-f", "html", "--fail-on", "regression"]
    )
    assert result.exit_code == 1  # the regression gates, whatever the format
    assert result.stdout == ""
    assert "wrote dlreport-compare.html" in result.stderr
    soup = BeautifulSoup((tmp_path / "dlreport-compare.html").read_text("utf-8"), "html.parser")
    assert len(soup.select("section.compare-run")) == 3
    assert len(soup.select("section.compare-run img")) == 6
    # one run a side is enough here (its page still draws both curves)
    to_stdout = CliRunner().invoke(
        cli, ["compare", str(base / "better"), str(cand / "better"), "-f", "html", "-o", "-"]
    )
    assert to_stdout.stdout.startswith("<!DOCTYPE html>")
    one = BeautifulSoup(to_stdout.stdout, "html.parser")
    assert len(one.select("section.compare-run img")) == 2
    markdown = CliRunner().invoke(cli, ["compare", str(base / "better"), str(cand / "better")])
    assert markdown.stdout.startswith("## dlreport")  # md to stdout stays the default
