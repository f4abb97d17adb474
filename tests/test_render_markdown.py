"""The Markdown report: escaping, structure, GitHub's size limit, and the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer.cli import cli
from analyzer.model import Advice, Finding, Report, RunReport
from analyzer.render import markdown
from analyzer.render.environment import md_escape

GENERATED_AT = "2026-01-01T00:00:00Z"


@pytest.mark.parametrize("char", list("\\*_|[]<>`#~&!"))
def test_md_escape_backslashes_every_special(char: str) -> None:
    assert md_escape(f"a{char}b") == f"a\\{char}b"


def test_md_escape_keeps_one_line_and_handles_none() -> None:
    assert md_escape("two\nlines\r\n\tand a tab") == "two lines and a tab"
    assert md_escape(None) == ""
    assert md_escape("<script>alert(1)</script>") == "\\<script\\>alert(1)\\</script\\>"
    assert md_escape("train_loss") == "train\\_loss"


def _run(name: str, status: str = "warning", n_findings: int = 1, **kw: object) -> RunReport:
    findings = tuple(
        Finding(
            code="loss_spikes",
            severity="warning" if status in ("warning", "error") else "info",
            title=f"{i} spike(s) in {name}",
            steps=(i, i + 10),
        )
        for i in range(n_findings)
    )
    return RunReport(
        run=name,
        status=status,  # type: ignore[arg-type]
        roles={},
        summary={"steps": 1000, "final_train_loss": 0.5},
        findings=findings,
        **kw,  # type: ignore[arg-type]
    )


def _report(*runs: RunReport) -> Report:
    return Report(schema_version=1, tool_version="0.1.0", generated_at=GENERATED_AT, runs=runs)


def _table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ") and "---" not in line][1:]


def test_structure_worst_run_first() -> None:
    advice = Advice(
        parameter="learning_rate",
        action="decrease",
        because=("loss_spikes",),
        rationale="Spiky *loss*.",
        factor=0.1,
        value=3e-4,
    )
    text = markdown.render(
        _report(_run("a_ok", "ok", 0), _run("b_bad", "error", 2, advice=(advice, advice)))
    )
    assert text.startswith("## dlreport: 2 runs — ❌ 1 error, ✅ 1 ok\n")
    rows = _table_rows(text)
    assert [r.split(" | ")[1] for r in rows] == ["b\\_bad", "a\\_ok"]
    headings = re.findall(r"^### (.*)$", text, re.M)
    assert headings == ["❌ b\\_bad: error", "✅ a\\_ok: ok"]
    assert "**Top advice:** decrease `learning_rate` ×0.1 to 0.0003. Spiky \\*loss\\*." in text
    assert "- **warning** `loss_spikes` (steps 0–10): 0 spike(s) in b\\_bad" in text
    assert "**More advice:**" in text
    assert "No findings" in text  # the ok run
    assert text.endswith("</sub>\n")


def test_hostile_run_names_cannot_break_the_table() -> None:
    text = markdown.render(_report(_run("a|b<script>alert(1)</script>*[x](y)")))
    (row,) = _table_rows(text)
    assert len(re.findall(r"(?<!\\)\|", row)) == 7  # 6 columns, not one more
    assert "<script>" not in text
    assert "\\<script\\>" in text


def test_long_run_lists_details_fewer_runs_within_the_limit() -> None:
    runs = [_run(f"run{i:03d}" + "x" * 40, "warning", 5) for i in range(300)]
    full = markdown.render(_report(*runs), limit=10**9)
    assert len(full) > 65_536
    text = markdown.render(_report(*runs))
    assert len(text) <= 65_536
    assert len(_table_rows(text)) == 300  # every run still listed
    shown = len(re.findall(r"^### ", text, re.M))
    assert 0 < shown < 300
    assert f"{300 - shown} runs (the healthiest) in the table only" in text


def test_thousands_of_runs_list_fewer_rows_and_say_so() -> None:
    runs = [_run(f"r{i:05d}" + "y" * 60, "info", 1) for i in range(3000)]
    text = markdown.render(_report(*runs))
    assert len(text) <= 65_536
    rows = len(_table_rows(text))
    assert 0 < rows < 3000
    assert f"{3000 - rows} more runs not listed" in text
    assert "### " not in text


def test_findings_beyond_five_are_counted() -> None:
    text = markdown.render(_report(_run("r", "warning", 8)))
    assert text.count("`loss_spikes`") == 5
    assert "… and 3 more in the HTML report." in text


def test_cli_md_to_stdout_and_file(tmp_path: Path, report_logs: Path) -> None:
    logdir = report_logs  # conftest.py's, written once a session
    result = CliRunner().invoke(cli, ["analyze", str(logdir), "-f", "md"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("## dlreport: 4 runs")
    assert result.stderr == ""
    out = tmp_path / "summary.md"
    result = CliRunner().invoke(cli, ["analyze", str(logdir), "--format", "md", "-o", str(out)])
    assert out.read_text(encoding="utf-8").startswith("## dlreport")
    assert f"wrote {out}" in result.stderr
