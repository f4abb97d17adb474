"""Settings: thresholds coerced to their field's type and range, settings files found like
ruff's and pytest's, refused with one line when they cannot be used, and listed by
``dlreport thresholds``."""

from __future__ import annotations

import json
import math
import os
from dataclasses import fields
from pathlib import Path

import pytest
from cli_checks import CliServer, one_line_error
from click.testing import CliRunner
from tensorboardX import SummaryWriter

from analyzer.cli import cli
from analyzer.errors import ConfigError
from analyzer.settings import (
    DEFAULTS,
    Thresholds,
    coerce_threshold,
    load_settings,
    with_overrides,
)


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    root = tmp_path / "project" / "logs"
    with SummaryWriter(str(root / "run")) as w:
        for step in range(300):
            w.add_scalar("objective", 2.0 / (step + 1), step)
            w.add_scalar("train/loss", 2.0 / (step + 1) + (3.0 if step == 200 else 0.0), step)
    return root


# --- coercion -------------------------------------------------------------------------------


def test_counts_become_ints_and_fractions_of_counts_are_refused() -> None:
    assert coerce_threshold("spike_window", "64", "--threshold") == 64
    assert isinstance(coerce_threshold("spike_window", 64.0, "x"), int)
    assert isinstance(coerce_threshold("spike_z", 8, "x"), float)
    with pytest.raises(ConfigError, match=r"min_points=5\.5: expected an integer"):
        coerce_threshold("min_points", "5.5", "--threshold")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("spike_z", "nan", "expected a finite number"),
        ("min_points", "nan", "expected a finite number"),
        ("spike_z", "inf", "expected a finite number"),
        ("spike_z", "-1", "must be >= 0"),
        ("min_points", "-3", "must be >= 2"),
        ("dead_share", "1.5", "must be between 0 and 1"),
        ("spike_z", "abc", "not a number"),
        ("spike_z", True, "expected a number"),
        ("min_points", [5], "expected an integer"),
    ],
)
def test_values_that_would_switch_a_diagnostic_off_are_refused(
    name: str, value: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        coerce_threshold(name, value, "--threshold")


def test_python_api_overrides_are_coerced_too() -> None:
    t = with_overrides(Thresholds(), {"spike_window": 64.0})
    assert t.spike_window == 64
    assert isinstance(t.spike_window, int)
    with pytest.raises(ConfigError):
        with_overrides(Thresholds(), {"min_points": math.nan})


def test_every_field_default_is_in_its_own_range() -> None:
    for f in fields(Thresholds):
        assert coerce_threshold(f.name, getattr(DEFAULTS, f.name), "default") == f.default


def test_spike_window_override_runs_the_spike_detector(logdir: Path) -> None:
    # Issue #12: "--threshold spike_window=64 crashes loss_spikes and still exits 0" (the
    # window came through as the float 64.0).
    result = CliRunner().invoke(
        cli, ["analyze", str(logdir), "-f", "json", "--threshold", "spike_window=64"]
    )
    assert result.exit_code == 0, result.output
    (run,) = json.loads(result.stdout)["runs"]
    assert "errors" not in run, run.get("errors")
    assert "loss_spikes" in {f["code"] for f in run["findings"]}


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("min_points=5.5", "expected an integer"),
        ("spike_z=nan", "finite"),
        ("min_points=nan", "finite"),
        ("spike_window=-4", "must be >= 2"),
    ],
)
def test_cli_refuses_bad_threshold_values_in_one_line(
    logdir: Path, pair: str, message: str
) -> None:
    result = CliRunner().invoke(cli, ["analyze", str(logdir), "-f", "json", "--threshold", pair])
    one_line_error(result, message)


def test_a_misspelt_threshold_lists_the_valid_names(logdir: Path) -> None:
    result = CliRunner().invoke(cli, ["analyze", str(logdir), "--threshold", "spike_zz=3"])
    line = one_line_error(result, "unknown threshold 'spike_zz'", "did you mean spike_z?")
    for f in fields(Thresholds):
        assert f.name in line
    assert "dlreport thresholds" in line


# --- settings files: types ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("dlreport.toml", "tool = 3\n", "'tool' must be a table"),
        ("pyproject.toml", "[tool]\ndlreport = 3\n", "'tool.dlreport' must be a table"),
        ("dlreport.toml", "roles = 3\n", "[roles] must map"),
        ("dlreport.toml", "[roles]\ntrain_loss = 3\n", "[roles] must map"),
        ("dlreport.toml", "thresholds = [1, 2]\n", "[thresholds] must map"),
        ("dlreport.toml", '[thresholds]\nspike_z = "8"\n', "expected a number, not text"),
        ("dlreport.toml", "[thresholds]\nspike_z = nan\n", "expected a finite number"),
        ("dlreport.toml", "[thresholds]\nmin_points = 5.5\n", "expected an integer"),
        ("dlreport.toml", "[thresholds]\nmin_points = -1\n", "must be >= 2"),
        ("dlreport.toml", "[thresholds]\nspike_z = true\n", "expected a number"),
        ("dlreport.toml", "[thresholds]\nspiek_z = 3\n", "unknown threshold 'spiek_z'"),
        ("dlreport.toml", "[threshold]\nspike_z = 3\n", "unknown table(s) 'threshold'"),
        ("dlreport.toml", "[roles\n", "not valid TOML"),
        ("dlreport.toml", b"[roles]\nx = '\xff'\n", "not valid TOML"),
        ("pyproject.toml", "[tool.dlreport.thresholds]\nspike_z = -2\n", "must be >= 0"),
    ],
)
def test_settings_file_errors_are_one_line_naming_the_file(
    logdir: Path, name: str, text: str | bytes, message: str
) -> None:
    path = logdir / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    for command in (["analyze", str(logdir), "-f", "json"], ["tags", str(logdir)]):
        result = CliRunner().invoke(cli, command)
        one_line_error(result, str(path), message)


def test_a_settings_file_over_1_mb_is_refused(logdir: Path) -> None:
    path = logdir / "dlreport.toml"
    path.write_text("[thresholds]\n" + "# padding\n" * 100_000)
    one_line_error(CliRunner().invoke(cli, ["tags", str(logdir)]), str(path), "larger than 1 MB")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs and /dev/zero")
def test_settings_lookup_passes_over_fifos_and_devices(logdir: Path, cli_server: CliServer) -> None:
    """A FIFO would block the read for ever, /dev/zero never end: only regular files are
    settings files (a child process under a timeout, so that a hang fails the test)."""
    os.mkfifo(logdir / "dlreport.toml")
    (logdir.parent / "pyproject.toml").symlink_to("/dev/zero")
    result = cli_server.cli(["tags", str(logdir)], timeout=60)
    assert (result.exit_code, result.stderr) == (0, "")
    assert "train/loss" in result.stdout


# --- settings files: lookup -----------------------------------------------------------------


def test_settings_in_a_parent_of_logdir_are_found(logdir: Path) -> None:
    (logdir.parent / "dlreport.toml").write_text('[roles]\ntrain_loss = "objective"\n')
    settings = load_settings(str(logdir / "run"))
    assert settings.roles == {"train_loss": "objective"}
    assert settings.source == str(logdir.parent / "dlreport.toml")


def test_a_pyproject_without_our_table_is_passed_over(logdir: Path) -> None:
    (logdir / "pyproject.toml").write_text("[tool.black]\nline-length = 100\n")
    (logdir.parent / "pyproject.toml").write_text("[tool.dlreport.thresholds]\nspike_z = 9\n")
    assert load_settings(str(logdir)).thresholds == {"spike_z": 9.0}


def test_the_nearest_file_wins(logdir: Path) -> None:
    (logdir.parent / "dlreport.toml").write_text("[thresholds]\nspike_z = 9\n")
    (logdir / "dlreport.toml").write_text("[thresholds]\nspike_z = 7\n")
    assert load_settings(str(logdir)).thresholds == {"spike_z": 7.0}


def test_settings_in_the_working_directory_are_found(
    logdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work" / "sub"
    work.mkdir(parents=True)
    (tmp_path / "work" / "pyproject.toml").write_text(
        '[tool.dlreport.roles]\ntrain_loss = "objective"\n'
    )
    monkeypatch.chdir(work)
    result = CliRunner().invoke(cli, ["analyze", str(logdir), "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["runs"][0]["roles"]["train_loss"] == "objective"


def test_config_option_names_the_file(logdir: Path, tmp_path: Path) -> None:
    (logdir / "dlreport.toml").write_text('[roles]\ntrain_loss = "train/loss"\n')
    config = tmp_path / "ci.toml"
    config.write_text('[roles]\ntrain_loss = "objective"\n')
    result = CliRunner().invoke(
        cli, ["analyze", str(logdir), "-f", "json", "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["runs"][0]["roles"]["train_loss"] == "objective"


@pytest.mark.parametrize("command", ["analyze", "tags", "compare"])
def test_a_missing_config_file_is_one_line(logdir: Path, tmp_path: Path, command: str) -> None:
    args = [command, str(logdir)] + ([str(logdir)] if command == "compare" else [])
    result = CliRunner().invoke(cli, [*args, "--config", str(tmp_path / "nope.toml")])
    one_line_error(result, "nope.toml", "no such settings file")


# --- dlreport thresholds --------------------------------------------------------------------


def test_thresholds_command_lists_names_defaults_and_sources() -> None:
    result = CliRunner().invoke(cli, ["thresholds"])
    assert result.exit_code == 0
    for f in fields(Thresholds):
        assert f"{f.name} = {f.default}" in result.stdout
    assert "TheDeepChecker" in result.stdout
    assert "born_exploded_norm = 30.0" in result.stdout  # the advice limits, marked fixed
    rows = json.loads(CliRunner().invoke(cli, ["thresholds", "--json"]).stdout)
    by_name = {r["name"]: r for r in rows}
    assert by_name["spike_window"] == {
        "name": "spike_window",
        "type": "int",
        "default": 128,
        "minimum": 2,
        "maximum": None,
        "overridable": True,
        "source": by_name["spike_window"]["source"],
    }
    assert not by_name["min_clip"]["overridable"]
