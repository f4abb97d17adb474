"""The runs × hyperparameters × outcome table: every ordering pre-rendered, no script."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from analyzer.pipeline import build_analysis
from analyzer.render.html import render


@pytest.fixture(scope="module")
def soup(sweep_logs: Path) -> BeautifulSoup:
    report = build_analysis(str(sweep_logs), keep_runs=False).report
    return BeautifulSoup(render(report), "html.parser")


def _column(div: BeautifulSoup, i: int) -> list[str]:
    return [tr.find_all("td")[i].get_text() for tr in div.select("tbody tr")]


def test_one_ordering_per_column_default_best_outcome_first(soup: BeautifulSoup) -> None:
    section = soup.select_one("section#hparams")
    assert section is not None
    heads = [th.get_text() for th in section.select(".order--default thead th")]
    assert heads == ["run", "lr", "optimizer", "seed", "weight_decay", "best val loss"]
    ids = [d["id"] for d in section.select("div.order")]
    assert ids == [f"hparams-by-{k}" for k in ("run", "h0", "h1", "h2", "h3", "outcome")]
    # every heading links to an ordering that exists
    links = {a["href"] for a in section.select("thead a")}
    assert links == {f"#{i}" for i in ids}
    default = section.select_one(".order--default")
    outcome = [float(x) for x in _column(default, 5)]
    assert outcome == sorted(outcome)
    by_lr = section.select_one("#hparams-by-h0")
    assert [float(x) for x in _column(by_lr, 1)] == sorted(float(x) for x in _column(by_lr, 1))
    names = _column(section.select_one("#hparams-by-run"), 0)
    assert names == sorted(names)
    assert len(names) == 10
    # each run links to its section
    assert all(a["href"].startswith("#run-") for a in default.select("a.run-name"))
    assert section.find("b") is None  # the hostile run name is text


def test_no_table_for_one_run_or_nothing_varying(sweep_logs: Path) -> None:
    report = build_analysis(str(sweep_logs / "wd0.0"), keep_runs=False).report
    assert BeautifulSoup(render(report), "html.parser").select("#hparams") == []
