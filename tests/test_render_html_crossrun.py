"""The cross-run section of the HTML report: a chart and a table per hyperparameter."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from sweep_logs import BEST_LR, HOSTILE_OPTIMIZER, HOSTILE_RUN

from analyzer.pipeline import Analysis, build_analysis
from analyzer.render.environment import fmt_num
from analyzer.render.html import cross_run_view, render, render_index, sweep_scale
from analyzer.render.site import Site, page_file
from analyzer.render.sweep_chart import Sweep, sweep_figure, sweep_svg

GENERATED_AT = "2026-01-01T00:00:00Z"
SVG_PREFIX = "data:image/svg+xml;base64,"


@pytest.fixture(scope="module")
def sweep_dir(sweep_logs: Path) -> Path:
    return sweep_logs  # conftest.py's, written once a session


@pytest.fixture(scope="module")
def analysis(sweep_dir: Path) -> Analysis:
    # One experiment: the hostile run's name holds a "/" ("</b>"), so it sits one folder
    # deeper than its siblings and the default grouping (parent folder) would set it apart.
    return build_analysis(str(sweep_dir), generated_at=GENERATED_AT, strict=True, group_by="none")


@pytest.fixture(scope="module")
def soup(analysis: Analysis) -> BeautifulSoup:
    return BeautifulSoup(render(analysis.report, analysis.runs), "html.parser")


def test_sweep_has_the_expected_evidence(analysis: Analysis) -> None:
    c = analysis.report.cross_run
    assert c is not None
    assert list(c.by_hparam) == ["learning_rate", "optimizer", "weight_decay"]
    assert c.best["learning_rate"] == BEST_LR


def test_section_sits_between_the_run_table_and_the_runs(soup: BeautifulSoup) -> None:
    main = soup.find("main")
    order = [s["id"] for s in main.find_all("section", recursive=False)]
    # then the runs × hyperparameters table, then the runs
    assert order[:3] == ["runs", "cross-run", "hparams"]
    assert all(i.startswith("run-") for i in order[3:])
    assert len(order) == 3 + 10


def test_one_chart_and_table_per_hyperparameter(analysis: Analysis, soup: BeautifulSoup) -> None:
    c = analysis.report.cross_run
    assert c is not None
    articles = soup.select("#cross-run article.sweep")
    assert [a["id"] for a in articles] == [f"cross-run-{name}" for name in c.by_hparam]
    ids = {t["id"] for t in soup.select("[id]")}
    for article, (name, points) in zip(articles, c.by_hparam.items(), strict=True):
        img = article.select_one("figure.chart img")
        assert img["src"].startswith(SVG_PREFIX)
        assert ET.fromstring(base64.b64decode(img["src"][len(SVG_PREFIX) :])).tag.endswith("svg")
        assert "10 runs as dots" in img["alt"]
        rows = article.select("table.points tbody tr")
        assert len(rows) == len(points)
        for row, p in zip(rows, points, strict=True):
            cells = [td.get_text(strip=True) for td in row.find_all("td")]
            # Numbers from the evidence, only formatted.
            assert cells[:4] == [str(p.runs), fmt_num(p.mean), fmt_num(p.std), fmt_num(p.best)]
            assert ("best" in (row.get("class") or [])) == (p.value == c.best[name])
            link = row.select_one("a")
            assert link.get_text() == p.best_run
            assert link["href"].startswith("#")
            assert link["href"][1:] in ids  # lands on the run's section


def test_scales_log_categorical_and_log_beyond_zero(analysis: Analysis) -> None:
    view = cross_run_view(analysis.report, {})
    assert view is not None
    scales = {s.name: s.scale for s in view.sweeps}
    assert scales == {"learning_rate": "log", "optimizer": "category", "weight_decay": "symlog"}
    assert all(s.dots == 10 for s in view.sweeps)  # every run is a dot in every chart


@pytest.mark.parametrize(
    ("name", "values", "scale"),
    [
        ("learning_rate", [1e-4, 1e-3, 1e-2], "log"),
        ("weight_decay", [1e-5, 1e-3], "log"),
        ("weight_decay", [0.0, 1e-4, 1e-2], "symlog"),
        ("batch_size", [16.0, 32.0, 64.0], "log"),
        ("optimizer", ["adam", "sgd"], "category"),
        ("learning_rate", [0.01, "auto"], "category"),
        ("learning_rate", [-1.0, 1.0], "linear"),
        ("dropout", [0.1, 0.2], "linear"),
    ],
)
def test_sweep_scale(name: str, values: list[float | str], scale: str) -> None:
    assert sweep_scale(name, values) == scale


def test_chart_draws_runs_mean_band_and_best() -> None:
    sweep = Sweep(
        values=[1e-3, 1e-2, 1e-1],
        mean=[0.6, 0.3, 0.9],
        std=[0.01, 0.02, None],
        runs=[(1e-3, 0.59), (1e-3, 0.61), (1e-2, 0.28), (1e-2, 0.32), (1e-1, 0.9)],
        best=1e-2,
        scale="log",
    )
    fig = sweep_figure(sweep)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    dots = [line for line in ax.get_lines() if line.get_linestyle() == "None" and
            len(line.get_xdata()) == 5]  # fmt: skip
    assert len(dots) == 1
    mean = [line for line in ax.get_lines() if list(line.get_ydata()) == [0.6, 0.3, 0.9]]
    assert len(mean) == 1
    assert ax.collections  # the band
    best = [line for line in ax.get_lines() if list(line.get_xdata()) == [1e-2, 1e-2]]
    assert best  # the dashed line at the best value


def test_categories_are_text_never_mathtext() -> None:
    sweep = Sweep(
        values=["adam", HOSTILE_OPTIMIZER],
        mean=[0.5, 0.4],
        std=[0.1, None],
        runs=[("adam", 0.4), ("adam", 0.6), (HOSTILE_OPTIMIZER, 0.4)],
        best=HOSTILE_OPTIMIZER,
        scale="category",
    )
    svg = sweep_svg(sweep)
    texts = [t.text for t in ET.fromstring(svg).iter() if t.tag.endswith("text")]
    assert HOSTILE_OPTIMIZER in texts  # the "$" kept, the "<i>" escaped by the SVG writer
    assert b"<i>" not in svg


def test_hostile_values_and_names_are_escaped(soup: BeautifulSoup) -> None:
    html = str(soup)
    section = soup.select_one("#cross-run-optimizer")
    values = [th.get_text(" ", strip=True) for th in section.select("tbody th")]
    assert HOSTILE_OPTIMIZER.lower() in values[1]
    assert "<i>" not in html.replace("&lt;i&gt;", "")
    assert soup.find("b") is None  # the run named "opt=<b>sgd</b>" is text
    assert HOSTILE_RUN in [h.get_text() for h in soup.select("section.run h2")]


def test_index_page_links_the_best_runs_to_their_pages(
    sweep_site: tuple[Analysis, Site, Path],
) -> None:
    analysis, site, out = sweep_site  # conftest.py's: the sweep as one folder, group_by="none"
    index = BeautifulSoup(site.index.read_text(encoding="utf-8"), "html.parser")
    links = index.select("#cross-run table.points a")
    assert links
    for a in links:
        assert a["href"] == f"runs/{page_file(a.get_text())}"
        assert (out / a["href"]).is_file()
    # The same section as the single page, but for the links.
    single = BeautifulSoup(render(analysis.report), "html.parser")
    assert index.select_one("#cross-run").get_text() == single.select_one("#cross-run").get_text()


def test_no_section_without_evidence(analysis: Analysis) -> None:
    report = replace(analysis.report, cross_run=None, experiments=())
    assert BeautifulSoup(render(report), "html.parser").select("#cross-run") == []
    hrefs = {r.run: f"runs/{page_file(r.run)}" for r in report.runs}
    assert BeautifulSoup(render_index(report, hrefs), "html.parser").select("#cross-run") == []
