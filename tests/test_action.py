"""The GitHub Action: its script run locally with a fake job summary, and its action.yml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "action" / "dlreport_action.py"
SAMPLES = ROOT / "sample_logs"


def _run(tmp_path: Path, **inputs: str) -> tuple[subprocess.CompletedProcess[str], str, str]:
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    summary.write_text("earlier step\n", encoding="utf-8")
    env = {
        "PATH": "/usr/bin:/bin",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
        **{f"INPUT_{k.upper()}": v for k, v in inputs.items()},
    }
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    out = output.read_text(encoding="utf-8") if output.exists() else ""
    return done, summary.read_text(encoding="utf-8"), out


def test_summary_html_and_gate(tmp_path: Path) -> None:
    done, summary, output = _run(
        tmp_path, path=f"{SAMPLES / 'overfitting'}\n{SAMPLES / 'healthy'}\n", fail_on="warning"
    )
    assert done.returncode == 0, done.stderr  # the gate is the action's last step
    assert summary.startswith("earlier step\n## dlreport: 2 runs")  # appended, not replaced
    assert "exit-code=1" in output.splitlines()
    assert "status=warning" in output.splitlines()
    html = tmp_path / "dlreport.html"
    assert f"html={html}" in output.splitlines()
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "runs at or above warning" in done.stderr


def test_no_gate_passes(tmp_path: Path) -> None:
    done, _, output = _run(tmp_path, path=str(SAMPLES / "healthy"), fail_on="", html="r.html")
    assert done.returncode == 0
    assert "exit-code=0" in output.splitlines()
    assert (tmp_path / "r.html").exists()


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"path": "does/not/exist"}, "no such file"),
        ({"path": ""}, "the 'path' input is empty"),
        ({"path": str(SAMPLES), "fail_on": "sometimes"}, "fail-on sometimes"),
    ],
)
def test_bad_input_is_one_error_line(tmp_path: Path, inputs: dict[str, str], message: str) -> None:
    done, summary, _ = _run(tmp_path, **inputs)
    assert done.returncode == 2
    assert done.stderr.startswith("::error::dlreport: ")
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert summary == "earlier step\n"


def test_action_yml_runs_the_script_and_gates_last() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    assert "action/dlreport_action.py" in steps[1]["run"]
    assert steps[2]["uses"].startswith("actions/upload-artifact@")
    assert steps[-1]["run"] == 'exit "${{ steps.analyse.outputs.exit-code }}"'
    assert set(action["inputs"]) >= {"path", "fail-on"}
    # installs its own checkout (the version the workflow pins), from no other source
    assert steps[0]["run"].endswith('pip install --quiet "${{ github.action_path }}"')
