"""The HTML report in a real browser: Debian's chromium, driven by playwright, fully offline.

The page is opened from a ``file://`` URL. It must load without a console error, request
nothing but itself, show every run and every chart (each SVG decodes to a real image), sort
the run table by a click without any script, and print. A full-page screenshot goes to
``tests/actual/report.png`` for a person to look at.

The same holds for a report folder (``-o dir/``: the index, then a run page reached by a click,
and back; nothing requested but the folder's own pages) and for the comparison page
(screenshots ``index.png``, ``run.png``, ``compare.png``).

Skipped, with the reason, when ``/usr/bin/chromium`` or the playwright package is missing
(``.ci/run`` installs both). Playwright never downloads a browser here: it is handed the
system one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from report_logs import HOSTILE, write_report_logs
from sweep_logs import HOSTILE_RUN, write_sweep

from analyzer.api import build_site
from analyzer.compare import compare
from analyzer.pipeline import build_analysis
from analyzer.render import compare_html
from analyzer.render.html import render
from analyzer.render.site import page_file

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ACTUAL = Path(__file__).parent / "actual"

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("browser")
    logdir = write_report_logs(tmp / "logs")
    analysis = build_analysis(str(logdir), generated_at="2026-01-01T00:00:00Z", strict=True)
    page = tmp / "report.html"
    page.write_text(render(analysis.report, analysis.runs), encoding="utf-8")
    return page


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def test_report_loads_offline_and_reads_well(browser: object, report_file: Path) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    console: list[str] = []
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    url = report_file.as_uri()
    page.goto(url, wait_until="load")

    assert not errors
    assert not [m for m in console if m.startswith(("error", "warning"))], console
    assert [u for u in requests if not u.startswith("data:")] == [url]

    assert page.locator("section.run").count() == 4
    # diverged: NaN loss + exploding gradients; overfit: overfitting ("not logged, so not
    # checked" is a run note now, not an info finding per run).
    assert page.locator("article.finding").count() >= 3
    titles = page.locator("section.run h2").all_inner_texts()
    assert HOSTILE in titles  # shown as text, never run
    # Every chart decoded into a real picture (a broken data URI has naturalWidth 0).
    sizes = page.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth])")
    assert len(sizes) > 10
    assert all(done and width > 0 for done, width in sizes)

    ACTUAL.mkdir(exist_ok=True)
    page.screenshot(path=str(ACTUAL / "report.png"), full_page=True)
    page.close()


def test_run_table_sorts_by_click_without_script(browser: object, report_file: Path) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(report_file.as_uri())
    assert page.locator("#runs-by-status").is_visible()
    assert not page.locator("#runs-by-run").is_visible()
    page.locator('#runs-by-status th a[href="#runs-by-run"]').click()
    assert page.locator("#runs-by-run").is_visible()
    assert not page.locator("#runs-by-status").is_visible()
    names = page.locator("#runs-by-run tbody .run-name").all_inner_texts()
    assert names == sorted(names)
    page.close()


def test_prints_to_pdf(browser: object, report_file: Path, tmp_path: Path) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(report_file.as_uri())
    page.emulate_media(media="print")
    assert not page.locator(".hint").first.is_visible()  # screen-only help is hidden
    assert page.locator("#runs-by-status").is_visible()
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf))
    assert pdf.stat().st_size > 10_000
    page.close()


def _watch(page: object) -> tuple[list[str], list[str], list[str]]:
    """Console messages, page errors and requested URLs of ``page``, as they come."""
    console: list[str] = []
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: errors.append(str(e)))  # type: ignore[attr-defined]
    page.on("request", lambda r: requests.append(r.url))  # type: ignore[attr-defined]
    return console, errors, requests


def _all_images_decoded(page: object) -> int:
    sizes = page.eval_on_selector_all(  # type: ignore[attr-defined]
        "img", "els => els.map(e => [e.complete, e.naturalWidth])"
    )
    assert all(done and width > 0 for done, width in sizes)
    return len(sizes)


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report folder of a sweep: index with the cross-run section, a page per run."""
    tmp = tmp_path_factory.mktemp("site")
    out = tmp / "out"
    build_site(str(write_sweep(tmp / "logs")), out, generated_at="2026-01-01T00:00:00Z")
    return out


def test_report_folder_index_and_run_page_offline(browser: object, site_dir: Path) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    console, errors, requests = _watch(page)
    index_url = (site_dir / "index.html").as_uri()
    page.goto(index_url, wait_until="load")
    assert page.locator("#runs-by-status tbody tr").count() == 10
    assert page.locator("#cross-run article.sweep").count() == 3
    assert _all_images_decoded(page) == 3  # the cross-run charts
    ACTUAL.mkdir(exist_ok=True)
    page.screenshot(path=str(ACTUAL / "index.png"), full_page=True)

    # To the hostile run's page by a click on its name, and back by the page's own link.
    row = page.locator("#runs-by-status tbody tr", has_text=HOSTILE_RUN)
    status = row.locator(".badge").inner_text()
    row.locator("a.run-name").click()
    page.wait_for_load_state("load")
    run_url = (site_dir / "runs" / page_file(HOSTILE_RUN)).as_uri()
    assert page.url == run_url
    assert page.locator("section.run h2").inner_text() == HOSTILE_RUN  # text, not markup
    assert page.locator("section.run .run-header .badge").inner_text() == status
    assert page.locator("section.run b").count() == 0
    assert _all_images_decoded(page) >= 3  # overview, any finding's chart, every tag
    page.screenshot(path=str(ACTUAL / "run.png"), full_page=True)
    page.locator("nav.crumbs a").click()
    page.wait_for_load_state("load")
    assert page.url == index_url

    assert not errors
    assert not [m for m in console if m.startswith(("error", "warning"))], console
    assert [u for u in requests if not u.startswith("data:")] == [index_url, run_url, index_url]
    page.close()


@pytest.fixture(scope="module")
def compare_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two single runs of the report logs compared: healthy against overfitting."""
    tmp = tmp_path_factory.mktemp("compare")
    logdir = write_report_logs(tmp / "logs")
    base = build_analysis(str(logdir / "healthy"), generated_at="2026-01-01T00:00:00Z")
    cand = build_analysis(str(logdir / "overfit"), generated_at="2026-01-01T00:00:00Z")
    result = compare(base.report, cand.report, cand.runs, baseline_name="healthy",
                     candidate_name=HOSTILE)  # fmt: skip
    page = tmp / "compare.html"
    page.write_text(compare_html.render(result, base.runs, cand.runs), encoding="utf-8")
    return page


def test_compare_page_offline(browser: object, compare_file: Path) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    console, errors, requests = _watch(page)
    url = compare_file.as_uri()
    page.goto(url, wait_until="load")
    assert page.locator("table.comparison tbody tr").count() == 1
    assert _all_images_decoded(page) == 2  # training and validation loss, overlaid
    assert HOSTILE in page.locator(".meta").inner_text()
    details = page.locator("details.deltas")
    assert not details.locator("table").is_visible()
    details.locator("summary").click()  # opens without script
    assert details.locator("table").is_visible()
    ACTUAL.mkdir(exist_ok=True)
    page.screenshot(path=str(ACTUAL / "compare.png"), full_page=True)
    assert not errors
    assert not [m for m in console if m.startswith(("error", "warning"))], console
    assert [u for u in requests if not u.startswith("data:")] == [url]
    page.close()
