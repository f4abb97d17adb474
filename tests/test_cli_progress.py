"""The progress bar (a terminal only) and --open (the default browser)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer.cli import cli
from analyzer.commands import common as cli_common


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_terminal_after_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    term = _Terminal()
    monkeypatch.setattr(cli_common.sys, "stderr", term)
    clock = iter([0.0, 0.5, 2.0, 2.1, 2.2, 2.3])
    monkeypatch.setattr(cli_common.time, "monotonic", lambda: next(clock))
    with cli_common._progress("reading runs") as update:
        assert update is not None
        update(1, 4)  # 0.5 s: too early for a bar
        assert term.getvalue() == ""
        for done in (2, 3, 4):
            update(done, 4)
    text = term.getvalue()
    assert "reading runs" in text
    assert "100%" in text


def test_no_progress_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_common.sys, "stderr", io.StringIO())
    with cli_common._progress("x") as update:
        assert update is None


@pytest.fixture(scope="module")
def logs(report_logs: Path) -> Path:
    # One of conftest.py's runs: what is opened does not depend on how many runs the page has.
    return report_logs / "healthy"


def test_open_shows_the_written_report(
    logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url, *a, **k: opened.append(url) or True)
    out = tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["analyze", str(logs), "-o", str(out), "--open"])
    assert result.exit_code == 0, result.output
    assert opened == [out.resolve().as_uri()]
    site = tmp_path / "site"
    result = CliRunner().invoke(cli, ["analyze", str(logs), "-o", f"{site}/", "--open", "-j", "1"])
    assert result.exit_code == 0, result.output
    assert opened[-1] == (site / "index.html").resolve().as_uri()


def test_without_open_no_browser(
    logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url, *a, **k: opened.append(url) or True)
    result = CliRunner().invoke(cli, ["analyze", str(logs), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 0
    assert opened == []
