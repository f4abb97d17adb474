"""``dlreport analyze``: JSON on stdout, exit codes, pinned roles, settings files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tensorboardX import SummaryWriter

from analyzer.cli import cli


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    with SummaryWriter(str(tmp_path / "run")) as w:
        for step in range(60):
            w.add_scalar("objective", 2.0 / (step + 1), step)
            w.add_scalar("Loss/train", float("nan") if step > 40 else 1.0, step)
    return tmp_path


def test_analyze_writes_json_and_gates_on_severity(logdir: Path) -> None:
    result = CliRunner().invoke(cli, ["analyze", str(logdir), "-f", "json", "--fail-on", "error"])
    assert result.exit_code == 1
    (run,) = json.loads(result.stdout)["runs"]
    assert run["status"] == "error"
    assert run["findings"][0]["code"] == "loss_divergence"


def test_pinned_role_changes_the_diagnosis(logdir: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "analyze",
            str(logdir),
            "-f",
            "json",
            "--role",
            "train_loss=objective",
            "--fail-on",
            "error",
        ],
    )
    (run,) = json.loads(result.stdout)["runs"]
    assert run["roles"]["train_loss"] == "objective"
    # The pinned loss is the one whose shape is judged; the other loss is still a loss of the
    # run, and its NaN is never missed (issue #10, class 6): it is named in the finding.
    assert result.exit_code == 1, result.output
    nan = [f for f in run["findings"] if f["code"] == "loss_divergence"]
    assert [f["series"] for f in nan] == ["Loss/train"]
    assert run["layer_tags"]["loss_parts"] == ["Loss/train"]


def test_settings_file_beside_the_logs(logdir: Path) -> None:
    (logdir / "dlreport.toml").write_text('[roles]\ntrain_loss = "objective"\n')
    result = CliRunner().invoke(cli, ["analyze", str(logdir), "-f", "json"])
    assert json.loads(result.stdout)["runs"][0]["roles"]["train_loss"] == "objective"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "train_loss"], "expected NAME=VALUE"),
        (["--role", "bogus=objective"], "unknown role"),
        (["--threshold", "spike_z=abc"], "not a number"),
        (["--threshold", "nonsense=1"], "unknown threshold"),
    ],
)
def test_bad_options_exit_2_with_one_line(logdir: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["analyze", str(logdir), *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_output_file(logdir: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = CliRunner().invoke(cli, ["analyze", str(logdir), "-f", "json", "-o", str(out)])
    assert result.exit_code == 0
    assert json.loads(out.read_text())["schema_version"] == 1
