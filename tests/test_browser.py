"""The HTML report in a real browser: Debian's chromium, driven by playwright, fully offline.

The page is opened from a ``file://`` URL. It must load without a console error, request
nothing but itself, show every run and every chart (each SVG decodes to a real image), sort
the run table by a click without any script, and print. A full-page screenshot goes to
``tests/actual/report.png`` for a person to look at.

Skipped, with the reason, when ``/usr/bin/chromium`` or the playwright package is missing
(``.ci/run`` installs both). Playwright never downloads a browser here: it is handed the
system one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from report_logs import HOSTILE, write_report_logs

from analyzer.htmlreport import render
from analyzer.report import build_analysis

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
    assert page.locator("article.finding").count() >= 6
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
