"""The Python API: ``import dlreport``, ``analyze``, ``Report``, ``read_scalars``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

import dlreport
from analyzer.cli import cli


@pytest.fixture(scope="module")
def logs(report_logs: Path) -> Path:
    return report_logs  # conftest.py's, written once a session


@pytest.fixture(scope="module")
def report(logs: Path) -> dlreport.Report:
    return dlreport.analyze(logs)


def test_import_is_light() -> None:
    """The CLI imports the package: the API's names load on first use only."""
    code = (
        "import sys, dlreport, analyzer; "
        "heavy = [m for m in ('pandas', 'analyzer.api', 'matplotlib') if m in sys.modules]; "
        "print(heavy, dlreport.__version__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"[] {dlreport.__version__}"


def test_report_matches_the_cli(report: dlreport.Report, logs: Path) -> None:
    cli_json = json.loads(CliRunner().invoke(cli, ["analyze", str(logs), "-f", "json"]).stdout)
    api_json = json.loads(report.to_json())
    for data in (cli_json, api_json):
        data.pop("generated_at")
    assert api_json == cli_json
    assert report.to_dict()["runs"] == api_json["runs"]


def test_findings_are_plain_objects(report: dlreport.Report) -> None:
    findings = report.findings
    assert findings
    expected = [(r.run, f.code) for r in report.runs for f in r.findings]
    assert [(f.run, f.code) for f in findings] == expected
    first = findings[0]
    assert isinstance(first, dlreport.Finding)
    assert first.severity in {"info", "warning", "error"}
    assert isinstance(first.evidence, dict)
    assert report.status == "error"
    assert report.exit_code("error") == 1
    assert "error" in repr(report)


def test_markdown_html_and_jupyter(report: dlreport.Report, logs: Path, tmp_path: Path) -> None:
    md = report.to_markdown(tmp_path / "r.md")
    assert md.startswith("## dlreport:")
    assert (tmp_path / "r.md").read_text(encoding="utf-8") == md
    # the page is drawn twice below: one run keeps that cheap (every run draws its charts)
    one = dlreport.analyze(logs / "healthy")
    page = one.to_html()
    soup = BeautifulSoup(page, "html.parser")
    assert soup.find("img") is not None  # charts: the run data was kept
    frame = BeautifulSoup(one._repr_html_(), "html.parser").iframe
    assert frame is not None
    assert frame["srcdoc"] == page  # the page, escaped into the attribute


def test_options_pass_through(logs: Path) -> None:
    names = [r.run for r in dlreport.analyze(logs).runs]
    some = dlreport.analyze(logs, include=[names[0]])
    assert [r.run for r in some.runs] == [names[0]]
    with pytest.raises(dlreport.DlreportError, match="no such file"):
        dlreport.analyze(logs / "missing")
    with pytest.raises(dlreport.DlreportError):
        dlreport.analyze(logs, thresholds={"no_such_threshold": 1})


def test_read_scalars_is_the_export_frame(logs: Path, tmp_path: Path) -> None:
    frame = dlreport.read_scalars(logs)
    assert list(frame.columns) == ["run", "tag", "step", "wall_time", "value"]
    out = tmp_path / "s.csv"
    CliRunner().invoke(cli, ["export", str(logs), "-o", str(out)])
    exported = pd.read_csv(out)
    assert len(exported) == len(frame)
    assert exported["value"].tolist() == pytest.approx(frame["value"].tolist(), nan_ok=True)
    only_loss = dlreport.read_scalars(logs, tags="loss")
    assert 0 < len(only_loss) < len(frame)
    assert only_loss["tag"].str.contains("loss").all()
