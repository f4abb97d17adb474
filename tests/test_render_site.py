"""The report folder: index.html plus one page per run, safe file names, relative links."""

from __future__ import annotations

import os
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from report_logs import HOSTILE
from tensorboardX import SummaryWriter

from analyzer.api import build_site
from analyzer.cli import cli
from analyzer.commands import analyze as analyze_command
from analyzer.pipeline import Analysis, build_analysis
from analyzer.render.html import render
from analyzer.render.site import (
    HASH_CHARS,
    MAX_SLUG,
    SAFE_FILE,
    PageNames,
    Site,
    SiteError,
    SiteWriter,
    page_file,
)

GENERATED_AT = "2026-01-01T00:00:00Z"
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

HOSTILE_NAMES = [
    "../../x",
    "/etc/passwd",
    "..",
    ".",
    "",
    "<script>",
    HOSTILE,
    "a/b/../../../c",
    "x" * 500,
    "résumé/日本語/Ünïcödé",
    "日本語",
    "Run",
    "run",
    "RUN",
    "a\nb\x00c\x1b[31m",
    "con",
    ".hidden",
    "-rf",
    "a b\tc",
    "C:\\Windows\\x",
    "%2e%2e%2fx",
    "\udcff-undecodable",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_page_file_is_safe_and_bounded(name: str, tmp_path: Path) -> None:
    file = page_file(name)
    assert SAFE_FILE.fullmatch(file), file
    assert ".." not in file
    assert "/" not in file
    assert "\\" not in file
    assert len(file) <= MAX_SLUG + 1 + HASH_CHARS + len(".html")
    assert not any(ord(ch) < 32 for ch in file)
    runs = tmp_path / "runs"
    assert (runs / file).resolve().parent == runs.resolve()  # lands in runs/, nowhere else


def test_page_files_are_readable_and_deterministic() -> None:
    assert page_file("sweep/lr0.1").startswith("sweep-lr0.1-")
    assert page_file("../../x").startswith("x-")
    assert page_file("résumé").startswith("resume-")
    assert page_file(".").startswith("run-")
    assert page_file("日本語").startswith("run-")
    assert page_file("sweep/lr0.1") == page_file("sweep/lr0.1")


def test_page_files_are_unique_even_ignoring_case() -> None:
    names = PageNames()
    files = [names(n) for n in HOSTILE_NAMES]
    assert len({f.casefold() for f in files}) == len(HOSTILE_NAMES)
    # Should two names ever hash alike, the second still gets its own file.
    again = names("Run")
    assert again.casefold() not in {f.casefold() for f in files}
    assert again.endswith("-2.html")


def test_writer_refuses_a_folder_that_leads_outside(tmp_path: Path, report_logs: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "runs").symlink_to(outside, target_is_directory=True)
    writer = SiteWriter(out)
    report = build_analysis(str(report_logs / "healthy")).report
    with pytest.raises(SiteError, match="outside"):
        writer.receive(report.runs[0], "<!DOCTYPE html>")
    assert list(outside.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# A whole folder.


@pytest.fixture(scope="module")
def logdir(report_logs: Path) -> Path:
    return report_logs  # conftest.py's, analysed once a session (report_analysis)


@pytest.fixture(scope="module")
def site_dir(logdir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "out"
    build_site(str(logdir), out, generated_at=GENERATED_AT, strict=True)
    return out


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _pages(out: Path) -> list[Path]:
    return [out / "index.html", *sorted((out / "runs").glob("*.html"))]


def test_index_and_one_page_per_run(site_dir: Path, report_analysis: Analysis) -> None:
    runs = report_analysis.report.runs
    files = sorted(p.name for p in (site_dir / "runs").iterdir())
    assert files == sorted(page_file(r.run) for r in runs)
    assert sorted(p.name for p in site_dir.iterdir()) == ["index.html", "runs"]
    index = _soup(site_dir / "index.html")
    assert index.select("section.run") == []  # the runs live on their own pages
    names = [a.get_text() for a in index.select("#runs-by-run a.run-name")]
    assert names == sorted(r.run for r in runs)
    for page in (site_dir / "runs").iterdir():
        soup = _soup(page)
        (section,) = soup.select("section.run")
        assert soup.select_one("nav.crumbs a")["href"] == "../index.html"
        assert soup.title.get_text().startswith("dlreport: ")
        assert section.select("figure.chart img")  # the charts came with the page


def test_every_page_is_self_contained_and_links_stay_inside(site_dir: Path) -> None:
    root = site_dir.resolve()
    for page in _pages(site_dir):
        soup = _soup(page)
        assert soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"] == CSP
        for name in ("script", "link", "iframe", "object", "embed", "base", "form"):
            assert soup.find(name) is None, (page.name, name)
        for tag in soup.find_all(True):
            assert not [a for a in tag.attrs if a.lower().startswith("on")]
            for attr in ("src", "href", "srcset", "action", "data"):
                value = tag.get(attr)
                if value is None or value.startswith(("#", "data:")):
                    continue
                # A relative link to another page of the folder, which exists.
                assert not re.match(r"^[a-z][a-z0-9+.-]*:|^/|^\\\\", value), value
                target = (page.parent / value.split("#")[0]).resolve()
                assert target.is_file(), (page.name, value)
                assert target.is_relative_to(root)
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"https?://", re.sub(r"data:image/svg\+xml;base64,[^\"']*", "", text))


def test_index_links_reach_every_run_page(site_dir: Path) -> None:
    index = _soup(site_dir / "index.html")
    linked = {a["href"] for a in index.select("#runs-by-status a.run-name")}
    assert linked == {f"runs/{p.name}" for p in (site_dir / "runs").iterdir()}


def test_hostile_run_name_is_text_in_both_pages(site_dir: Path) -> None:
    index = (site_dir / "index.html").read_text(encoding="utf-8")
    assert HOSTILE not in index
    assert "&lt;script&gt;alert(1)&lt;/" in index
    soup = BeautifulSoup(index, "html.parser")
    assert soup.find("script") is None
    assert HOSTILE in [a.get_text() for a in soup.select("#runs-by-run a.run-name")]
    page = site_dir / "runs" / page_file(HOSTILE)
    text = page.read_text(encoding="utf-8")
    assert HOSTILE not in text
    soup = BeautifulSoup(text, "html.parser")
    assert soup.find("script") is None
    assert soup.select_one("section.run h2").get_text() == HOSTILE
    assert HOSTILE in [t.get_text() for t in soup.select("figure.tile .tag")]


def test_run_page_shows_the_section_of_the_single_page_report(
    site_dir: Path, report_analysis: Analysis, report_html: str
) -> None:
    analysis = report_analysis  # the same logs, options and time as site_dir's
    single = BeautifulSoup(report_html, "html.parser")
    sections = {s.find("h2").get_text(): s for s in single.select("section.run")}
    for r in analysis.report.runs:
        own = _soup(site_dir / "runs" / page_file(r.run)).select_one("section.run")
        ref = sections[r.run]
        assert own.get_text(" ", strip=True) == ref.get_text(" ", strip=True)
        assert [i["src"] for i in own.find_all("img")] == [i["src"] for i in ref.find_all("img")]


def test_pages_rendered_in_a_process_pool_are_the_same(
    site_dir: Path, logdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-run hook and its page survive pickling; the bytes do not depend on the engine.
    (Four small runs are not worth a pool on their own: the pool is taken all the same.)"""
    monkeypatch.setattr("analyzer.pipeline.worth_a_pool", lambda plans, *, charts: True)
    out = tmp_path / "pool"
    with ProcessPoolExecutor(max_workers=2) as pool:
        _, site = build_site(str(logdir), out, generated_at=GENERATED_AT, executor=pool)
    assert len(site.pages) == 4
    for page in _pages(site_dir):
        other = out / page.relative_to(site_dir)
        assert other.read_bytes() == page.read_bytes(), page.name


def test_cross_run_advice_reaches_the_run_pages(sweep_site: tuple[Analysis, Site, Path]) -> None:
    """A page is rendered before the other runs are in; its advice is redone after."""
    analysis, site, out = sweep_site  # conftest.py's: the sweep as one folder
    report = analysis.report
    single = BeautifulSoup(render(report), "html.parser")
    sections = {s.find("h2").get_text(): s for s in single.select("section.run")}
    cited = [r for r in report.runs if any("Among" in a.rationale for a in r.advice)]
    assert cited  # the sweep gives cross-run advice to the runs far from the best rate
    for r in report.runs:
        page = _soup(site.pages[r.run])
        cards = [c.get_text(" ", strip=True) for c in page.select("article.advice")]
        assert cards == [
            c.get_text(" ", strip=True) for c in sections[r.run].select("article.advice")
        ]
        verdict = page.select_one(".verdict").get_text(" ", strip=True)
        assert verdict == sections[r.run].select_one(".verdict").get_text(" ", strip=True)
    index = _soup(out / "index.html")
    assert index.select_one("section#cross-run") is not None


def test_many_hostile_run_names_stay_inside(tmp_path: Path) -> None:
    """Real directories named to attack the file names: every page lands in runs/."""
    names = ["<script>", "Run", "run", "x" * 200, "résumé", "日本語", "..foo", "-rf", "a b"]
    logs = tmp_path / "logs"
    for name in names:
        with SummaryWriter(str(logs / name)) as w:
            for step in range(30):
                w.add_scalar("loss", float(np.exp(-step / 10)), step)
    out = tmp_path / "deep" / "out"
    _analysis, site = build_site(str(logs), out, generated_at=GENERATED_AT)
    assert sorted(site.pages) == sorted(names)
    files = sorted(os.listdir(out / "runs"))
    assert len(files) == len(names)
    assert all(SAFE_FILE.fullmatch(f) for f in files)
    assert sorted(os.listdir(tmp_path)) == ["deep", "logs"]  # nothing written beside the folder
    assert sorted(os.listdir(tmp_path / "deep")) == ["out"]


# ---------------------------------------------------------------------------------------------
# The command line.


def test_cli_writes_a_folder_for_a_trailing_slash(logdir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    two = ["--include", "healthy", "--include", "overfit"]  # site_dir has all four runs' pages
    result = CliRunner().invoke(cli, ["analyze", str(logdir), *two, "-o", f"{out}/", "-j", "1"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "index.html and 2 run pages" in result.stderr
    assert (out / "index.html").is_file()
    assert len(list((out / "runs").glob("*.html"))) == 2


def test_cli_writes_a_folder_into_an_existing_directory(logdir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["analyze", str(logdir / "healthy"), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "index.html").is_file()
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [page_file(".")]


def test_cli_folder_needs_html(logdir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["analyze", str(logdir), "-f", "json", "-o", f"{tmp_path}/"])
    assert result.exit_code == 2
    assert "-f html" in result.stderr


def test_cli_folder_in_the_way_of_a_file(logdir: Path, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file")
    result = CliRunner().invoke(cli, ["analyze", str(logdir), "-o", f"{tmp_path / 'taken'}/"])
    assert result.exit_code == 2
    assert "cannot create the report folder" in result.stderr
    assert "Traceback" not in result.output


def test_cli_suggests_a_folder_for_many_runs(
    logdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analyze_command, "LARGE_REPORT_RUNS", 3)
    single = CliRunner().invoke(cli, ["analyze", str(logdir), "-o", str(tmp_path / "r.html")])
    assert single.exit_code == 0
    assert "4 runs in one page" in single.stderr
    assert "-o DIR/" in single.stderr
    folder = CliRunner().invoke(cli, ["analyze", str(logdir), "-o", f"{tmp_path / 'dir'}/"])
    assert "in one page" not in folder.stderr
    monkeypatch.setattr(analyze_command, "LARGE_REPORT_RUNS", 30)
    quiet = CliRunner().invoke(cli, ["analyze", str(logdir), "-o", str(tmp_path / "q.html")])
    assert "in one page" not in quiet.stderr
