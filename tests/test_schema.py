"""Every JSON the tool writes follows the schemas published in docs/."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from schema import validate_report, validate_tags
from sweep_logs import write_sweep

from analyzer.cli import cli

ROOT = Path(__file__).resolve().parents[1]
REALWORLD = ROOT / "tests" / "fixtures" / "realworld"
LOGDIRS = [ROOT / "sample_logs", *sorted(p for p in REALWORLD.iterdir() if p.is_dir())]


def _json(*args: str) -> dict:
    result = CliRunner().invoke(cli, [*args])
    if result.exit_code == 2 and "Git LFS pointer" in result.stderr:
        pytest.skip("a Git LFS pointer in this checkout")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("logdir", LOGDIRS, ids=lambda p: p.name)
def test_report_and_tags_follow_the_schemas(logdir: Path) -> None:
    validate_report(_json("analyze", str(logdir), "-f", "json", "-j", "1"))
    validate_tags(_json("tags", str(logdir), "--json"))


def test_sweep_with_cross_run_and_experiments(tmp_path: Path) -> None:
    write_sweep(tmp_path / "a")
    write_sweep(tmp_path / "b")
    data = _json("analyze", str(tmp_path), "-f", "json", "-j", "1")
    assert len(data["experiments"]) == 2
    validate_report(data)
    single = _json("analyze", str(tmp_path / "a"), "-f", "json", "-j", "1")
    assert "cross_run" in single
    validate_report(single)


def test_the_schema_rejects_what_breaks_the_contract() -> None:
    good = _json("analyze", str(ROOT / "sample_logs" / "overfitting"), "-f", "json")
    validate_report(good)
    for path, value in (
        (("runs", 0, "status"), "fine"),
        (("runs", 0, "findings", 0, "code"), "made_up"),
        (("runs", 0, "findings", 0, "steps"), [1]),
        (("runs", 0, "summary", "steps"), [1, 2]),
        (("schema_version",), 2),
    ):
        bad = copy.deepcopy(good)
        target = bad
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        with pytest.raises(jsonschema.ValidationError):
            validate_report(bad)
    bad = copy.deepcopy(good)
    del bad["runs"][0]["advice"]
    with pytest.raises(jsonschema.ValidationError):
        validate_report(bad)
