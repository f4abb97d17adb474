"""The HTML report: parsed, then asserted on (structure, self-containment, escaping, CLI)."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from report_logs import HOSTILE
from run_builders import decay, make_run

from analyzer.cli import cli
from analyzer.diagnostics import REGISTRY, run_diagnostics
from analyzer.model import Advice, Finding, Report, Run, RunReport
from analyzer.pipeline import Analysis
from analyzer.render import html as html_render
from analyzer.render import run_charts
from analyzer.render.environment import (
    ENV,
    fmt_duration,
    fmt_num,
    fmt_pct,
    fmt_step,
    fmt_steps,
    fmt_value,
    label,
    template_dirs,
)
from analyzer.render.html import render, run_plots
from analyzer.settings import Thresholds

GENERATED_AT = "2026-01-01T00:00:00Z"
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
SVG_PREFIX = "data:image/svg+xml;base64,"


# The logs, their analysis and page are conftest.py's, shared with the golden and site tests.
@pytest.fixture(scope="module")
def logdir(report_logs: Path) -> Path:
    return report_logs


@pytest.fixture(scope="module")
def analysis(report_analysis: Analysis) -> Analysis:
    return report_analysis


@pytest.fixture(scope="module")
def html(report_html: str) -> str:
    return report_html


@pytest.fixture(scope="module")
def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def _sections(soup: BeautifulSoup) -> dict[str, object]:
    return {s.find("h2").get_text(): s for s in soup.select("section.run")}


def test_one_section_per_run_worst_first(analysis: Analysis, soup: BeautifulSoup) -> None:
    sections = soup.select("section.run")
    names = [s.find("h2").get_text() for s in sections]
    assert sorted(names) == sorted(r.run for r in analysis.report.runs)
    statuses = [s.select_one(".run-header .badge").get_text() for s in sections]
    rank = {"error": 0, "warning": 1, "info": 2, "ok": 3}
    assert statuses == sorted(statuses, key=rank.__getitem__)
    ids = [tag["id"] for tag in soup.select("[id]")]
    assert len(ids) == len(set(ids))


def test_verdict_comes_first_in_each_section(soup: BeautifulSoup) -> None:
    for section in soup.select("section.run"):
        first_block = section.find("div", class_="run-header").find_next_sibling()
        assert "verdict" in first_block["class"]
        assert first_block.get_text().strip().startswith("Verdict:")


def test_one_card_per_finding_with_what_it_checks(analysis: Analysis, soup: BeautifulSoup) -> None:
    sections = _sections(soup)
    for r in analysis.report.runs:
        cards = sections[r.run].select("article.finding")
        assert len(cards) == len(r.findings)
        for card, f in zip(cards, r.findings, strict=True):
            assert f"finding--{f.code}" in card["class"]
            assert f"sev--{f.severity}" in card["class"]
            assert card.select_one(".finding-title").get_text() == f.title
            checks = card.select_one(".checks").get_text()
            if f.code in REGISTRY:
                assert REGISTRY[f.code].doc in checks
            shown = card.select("table.evidence tr") + card.select("p.evidence-long")
            assert len(shown) == len(f.evidence)


def test_findings_with_steps_have_an_annotated_plot(
    analysis: Analysis, soup: BeautifulSoup
) -> None:
    sections = _sections(soup)
    diverged = next(r for r in analysis.report.runs if r.run == "diverged")
    codes = {f.code for f in diverged.findings}
    assert {"exploding_gradients", "loss_divergence"} <= codes
    for card, f in zip(
        sections["diverged"].select("article.finding"), diverged.findings, strict=True
    ):
        img = card.select_one("figure.chart img")
        if f.code == "no_signal":
            assert img is None
            continue
        assert img["src"].startswith(SVG_PREFIX)
        series = {"exploding_gradients": "train/grad_norm", "loss_divergence": "train/loss"}
        assert series[f.code] in img["alt"]
        caption = card.select_one("figcaption").get_text()
        assert fmt_steps(f.steps) in caption  # the shaded range is named in the legend
        assert "NaN/Inf" in caption


def test_every_plot_is_a_valid_svg(soup: BeautifulSoup) -> None:
    images = soup.find_all("img")
    assert len(images) > 10
    for img in images:
        assert img["src"].startswith(SVG_PREFIX)
        assert img.get("alt")
        svg = base64.b64decode(img["src"][len(SVG_PREFIX) :])
        assert ET.fromstring(svg).tag.endswith("svg")
        assert b"<script" not in svg
        assert b'href="http' not in svg


def test_appendix_has_every_scalar_tag(analysis: Analysis, soup: BeautifulSoup) -> None:
    sections = _sections(soup)
    for name, run in analysis.runs.items():
        tags = sorted(run.scalars["tag"].astype(str).unique())
        shown = [t.select_one(".tag").get_text() for t in sections[name].select("figure.tile")]
        assert shown == tags


def test_self_contained(html: str, soup: BeautifulSoup) -> None:
    """No request of any kind: only data: images and in-page links, a strict CSP, no script."""
    for tag in soup.find_all(True):
        for attr in ("src", "href", "srcset", "action", "poster", "data", "formaction"):
            value = tag.get(attr)
            if value is not None:
                assert value.startswith(("#", "data:")), (tag.name, attr, value[:60])
        assert not [a for a in tag.attrs if a.lower().startswith("on")], tag.name
    for name in ("script", "link", "iframe", "object", "embed", "base", "form", "frame"):
        assert soup.find(name) is None, name
    meta = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})
    assert meta["content"] == CSP
    style = soup.find("style").get_text()
    assert "url(" not in style
    assert "@import" not in style
    assert not re.search(r"https?://", re.sub(r"data:image/svg\+xml;base64,[^\"']*", "", html))


def test_hostile_names_are_text(html: str, soup: BeautifulSoup) -> None:
    assert HOSTILE not in html  # only escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert soup.find("script") is None
    assert HOSTILE in _sections(soup)
    tiles = [t.get_text() for t in soup.select("figure.tile .tag")]
    assert HOSTILE in tiles


def test_run_table_is_sortable_without_script(analysis: Analysis, soup: BeautifulSoup) -> None:
    orders = soup.select("section.runs div.order")
    keys = [o["id"].removeprefix("runs-by-") for o in orders]
    assert keys[-1] == "status"  # the default comes last, so CSS ":target ~" can hide it
    assert "order--default" in orders[-1]["class"]
    assert set(keys) == {"status", "run", "steps", "train", "val", "time", "findings"}
    ids = {tag["id"] for tag in soup.select("[id]")}
    n = len(analysis.report.runs)
    for order in orders:
        rows = order.select("tbody tr")
        assert len(rows) == n
        for a in order.select("a[href]"):
            assert a["href"][1:] in ids  # every link lands somewhere
    by_run = [r.select_one(".run-name").get_text() for r in soup.select("#runs-by-run tbody tr")]
    assert by_run == sorted(by_run)
    by_status = [r.select_one(".badge").get_text() for r in soup.select("#runs-by-status tbody tr")]
    assert by_status[0] == "error"


def test_single_run_has_no_run_table(analysis: Analysis) -> None:
    one = next(r for r in analysis.report.runs if r.run == "healthy")
    report = Report(schema_version=1, tool_version="0", generated_at=GENERATED_AT, runs=(one,))
    soup = BeautifulSoup(render(report, analysis.runs), "html.parser")
    assert soup.select("section.runs") == []
    assert len(soup.select("section.run")) == 1


def test_text_only_without_the_runs(analysis: Analysis) -> None:
    soup = BeautifulSoup(render(analysis.report), "html.parser")
    assert soup.find("img") is None
    assert len(soup.select("section.run")) == len(analysis.report.runs)


def test_plots_drawn_ahead_render_the_same(analysis: Analysis, html: str) -> None:
    """The per_run hook's RunPlots give the page the Runs themselves give."""
    drawn = {r.run: run_plots(r, analysis.runs[r.run]) for r in analysis.report.runs}
    assert render(analysis.report, drawn) == html


def test_deterministic(analysis: Analysis, html: str) -> None:
    assert render(analysis.report, analysis.runs) == html


def _finding(code: str, **evidence: object) -> Finding:
    return Finding(code=code, severity="warning", title=f"{code} <b>", steps=(10, 40),
                   evidence=evidence)  # fmt: skip


def _report(*runs: RunReport) -> Report:
    return Report(schema_version=1, tool_version="0", generated_at=GENERATED_AT, runs=runs)


def test_advice_notes_errors_and_summary_are_rendered() -> None:
    advice = (
        Advice(
            parameter="learning_rate",
            action="decrease",
            because=("loss_spikes", "plateau"),
            rationale="The loss <spikes> & oscillates.",
            factor=0.1,
            value=3e-4,
        ),
        Advice(
            parameter="lr_schedule",
            action="set",
            because=("plateau",),
            rationale="Decay it.",
            value="cosine",
            extra={"warmup_steps": 500, "betas": (0.9, 0.95)},
        ),
    )
    r = RunReport(
        run="a|b",
        status="warning",
        roles={"train_loss": "loss", "learning_rate": "lr"},
        summary={
            "steps": 1200,
            "final_train_loss": 0.41,
            "best_train_loss": 0.4,
            "best_train_loss_step": 900,
            "wall_time_s": 3725.0,
            "steps_per_s": 3.2,
            "share_after_best_val": 0.25,
            "max_memory": 2.5e9,
        },
        findings=(_finding("loss_spikes", largest_step=20), _finding("plateau")),
        advice=advice,
        layer_tags={"grad_norm_layers": ("g/0", "g/1")},
        notes=("restart in events.1: step went back from 90 to 50",),
        errors=("dead_units: ValueError: boom",),
    )
    soup = BeautifulSoup(render(_report(r)), "html.parser")
    cards = soup.select("article.advice")
    assert len(cards) == 2
    first = cards[0].get_text(" ", strip=True)
    assert "decrease learning_rate ×0.1 to 0.0003" in first
    assert "The loss <spikes> & oscillates." in first
    links = [a["href"] for a in cards[0].select("a")]
    anchors = [a["id"] for a in soup.select("article.finding")]
    assert links == [f"#{anchors[0]}", f"#{anchors[1]}"]
    second = cards[1].get_text(" ", strip=True)
    assert "set lr_schedule to cosine" in second
    assert "warmup steps 500" in second
    assert "0.9, 0.95" in second
    verdict = soup.select_one(".verdict").get_text(" ", strip=True)
    assert "Top advice: decrease learning_rate ×0.1 to 0.0003" in verdict
    text = soup.get_text(" ", strip=True)
    assert "restart in events.1" in text
    assert "dead_units: ValueError: boom" in text
    assert "1 h 02 min" in text  # wall time
    assert "25%" in text
    assert "g/0" in [t.get_text() for t in soup.select(".tag")]  # <wbr> inside, no space
    metrics = soup.select("table.metrics tbody tr")
    assert [c.get_text() for c in metrics[0].find_all(["th", "td"])] == [
        "train loss", "loss", "0.41", "0.4", "900"]  # fmt: skip


def test_every_code_renders_with_its_doc() -> None:
    findings = (*(_finding(code) for code in REGISTRY), _finding("no_signal"))
    r = RunReport(run="r", status="warning", roles={}, summary={}, findings=findings)
    soup = BeautifulSoup(render(_report(r)), "html.parser")
    cards = soup.select("article.finding")
    assert len(cards) == len(findings)
    for card, f in zip(cards, findings, strict=True):
        assert f.code in card.select_one("code").get_text()
        if f.code in REGISTRY:
            assert REGISTRY[f.code].doc in card.get_text()
        assert "<b>" in card.select_one(".finding-title").get_text()  # escaped, shown


def _charted(code: str, *chart: str, **evidence: object) -> Finding:
    return Finding(code=code, severity="warning", title=code, steps=(10, 40),
                   evidence=evidence, chart=chart)  # fmt: skip


def _chart_run() -> Run:
    n = 100
    return make_run(
        train_loss=decay(n),
        val_loss=decay(n) + 0.1,
        grad_norm=np.full(n, 2.0),
        learning_rate=np.full(n, 1e-3),
        throughput=np.full(n, 50.0),
        val_accuracy=np.linspace(0.5, 0.9, n),
        layers={"grad_norm_layers": {"g0": np.full(n, 1e-6), "g1": np.ones(n)}},
    )


@pytest.mark.parametrize(
    ("finding", "series"),
    [
        (_charted("exploding_gradients", "grad_norm"), ["grad_norm"]),
        (_charted("vanishing_gradients", "g0", "g1"), ["g0", "g1"]),
        (_charted("no_signal", "val_loss", "train_loss"), ["val_loss", "train_loss"]),
        (_charted("plateau", "train_loss", "learning_rate"), ["train_loss", "learning_rate"]),
        (_charted("overfitting", "val_accuracy", "train_loss"), ["val_accuracy", "train_loss"]),
        (_charted("throughput_drop", "steps/s"), ["steps/s"]),
        # The renderer reads what the finding declares, never its code or evidence wording.
        (_charted("overfitting", "grad_norm", metric="val_loss"), ["grad_norm"]),
        (_finding("loss_spikes", series="gradient norm"), []),
        (_charted("dead_units"), []),
        (_charted("a_future_code", "train_loss"), ["train_loss"]),
    ],
)
def test_each_finding_plots_the_series_it_declares(finding: Finding, series: list[str]) -> None:
    plot = html_render.finding_plot(_chart_run(), finding)
    if not series:
        assert plot is None
        return
    assert plot is not None
    assert [name for name, _, _ in plot.legend] == series


def test_a_loss_beside_an_accuracy_gets_its_own_axis() -> None:
    series = run_charts._finding_series(
        _chart_run(), _charted("overfitting", "val_accuracy", "train_loss")
    )
    assert [s.axis for s in series] == ["left", "right"]


def test_every_diagnostic_declares_a_chart_of_tags_the_run_has() -> None:
    run = _chart_run()
    found = run_diagnostics(run, Thresholds(), strict=True).findings
    assert found
    for f in found:
        assert (
            f.series is None
            or f.series in run.roles.values()
            or f.series in (t for tags in run.layer_tags.values() for t in tags)
        )
        for tag in f.chart:
            assert tag == "steps/s" or len(run.tag_series(tag)), (f.code, tag)


def test_roles_keep_their_colour_across_charts() -> None:
    n = 50
    run = make_run(train_loss=decay(n), val_loss=decay(n) + 0.1)
    overview = html_render.overview_plot(run, {})
    overfit = html_render.finding_plot(run, _charted("overfitting", "val_loss", "train_loss"))
    assert overview is not None
    assert overfit is not None
    assert dict((s, c) for s, c, _ in overview.legend) == dict((s, c) for s, c, _ in overfit.legend)


def test_templates_load_and_autoescape_by_name() -> None:
    assert template_dirs()
    assert ENV.get_template("report.html.j2").environment.autoescape("report.html.j2")
    assert not ENV.autoescape("report.md.j2")  # type: ignore[operator]
    with pytest.raises(Exception, match="undefined"):
        ENV.from_string("{{ nope }}").render()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (0, "0"),
        (12345, "12,345"),
        (0.41, "0.41"),
        (0.007291, "0.007291"),
        (1752.02, "1,752"),
        (3e-06, "3e-6"),
        (6.85075e-05, "6.85e-5"),
        (2.5e12, "2.5e12"),
        (0.0009996, "0.001"),
        (float("nan"), "NaN"),
        (float("inf"), "∞"),
        (True, "yes"),
        ("adam", "adam"),
    ],
)
def test_fmt_num(value: object, text: str) -> None:
    assert fmt_num(value) == text


def test_other_filters() -> None:
    assert fmt_step(70199) == "70,199"
    assert fmt_step(12.0) == "12"
    assert fmt_steps((4200, 4400)) == "steps 4,200–4,400"
    assert fmt_steps((7, 7)) == "step 7"
    assert fmt_steps(None) == "whole run"
    assert fmt_duration(42.1) == "42.1 s"
    assert fmt_duration(1752.0) == "29 min 12 s"
    assert fmt_duration(3 * 3600 + 300) == "3 h 05 min"
    assert fmt_duration(2 * 86400 + 4 * 3600) == "2 d 4 h"
    assert fmt_pct(0.83) == "83%"
    assert fmt_value(0.25, "share_of_steps_after_best") == "25%"
    assert fmt_value(3.2, "steps_per_s") == "3.2"
    assert fmt_value(90.0, "wall_seconds_after_best") == "1 min 30 s"
    assert fmt_value(1, "still_improving") == "yes"
    assert label("final_train_loss") == "final train loss"
    assert label("wall_time_s") == "wall time"


def test_cli_writes_dlreport_html_by_default(
    logdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # two of the four runs: the page is drawn whole, and a run table appears (with 2 or more)
    args = ["analyze", str(logdir), "--include", "healthy", "--include", "overfit"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "wrote dlreport.html" in result.stderr
    page = BeautifulSoup((tmp_path / "dlreport.html").read_text(encoding="utf-8"), "html.parser")
    assert len(page.select("section.run")) == 2
    assert page.select("section.runs")


def test_cli_html_to_stdout_and_to_a_file(logdir: Path, tmp_path: Path) -> None:
    logdir = logdir / "healthy"  # one run is enough here
    result = CliRunner().invoke(cli, ["analyze", str(logdir), "-o", "-"])
    assert result.stdout.startswith("<!DOCTYPE html>")
    out = tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["analyze", str(logdir), "-f", "html", "-o", str(out)])
    assert result.exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert str(out) in result.stderr


def test_cli_json_goes_to_stdout_by_default(logdir: Path) -> None:
    result = CliRunner().invoke(cli, ["analyze", str(logdir), "-f", "json", "--fail-on", "error"])
    assert result.exit_code == 1  # the diverged run
    assert result.stdout.lstrip().startswith("{")
