"""The JSON report keeps the contract in shared/spec/report-json.md."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from contract import (
    ACTIONS,
    CODES,
    FINDING_KEYS,
    PARAMETERS,
    RUN_KEYS,
    SEVERITIES,
    SPEC,
    STATUSES,
    TOP_KEYS,
    spec_table,
)
from tensorboardX import SummaryWriter

from analyzer.diagnostics import REGISTRY
from analyzer.pipeline import build_report
from analyzer.render.json import dumps, to_dict


@pytest.mark.skipif(not SPEC.exists(), reason="../shared/spec is not beside the checkout")
def test_contract_copy_matches_the_spec() -> None:
    assert tuple(spec_table("Finding codes")) == CODES
    assert tuple(spec_table("Advice parameters")) == PARAMETERS


def test_every_code_has_a_diagnostic() -> None:
    assert set(REGISTRY) | {"no_signal"} == set(CODES)


@pytest.fixture
def report_json(tmp_path: Path) -> dict:
    rng = np.random.default_rng(0)
    with SummaryWriter(str(tmp_path / "a")) as w:
        for step in range(200):
            loss = 2.0 * np.exp(-step / 40) + 0.1 + 0.02 * rng.normal()
            w.add_scalar("train/loss", loss, step)
            w.add_scalar("train/grad_norm", 1.0 if step < 150 else 10.0 ** (step - 150), step)
    with SummaryWriter(str(tmp_path / "b")) as w:
        w.add_scalar("accuracy", 0.5, 0)
    report = build_report(str(tmp_path), generated_at="2026-11-26T12:00:00Z", strict=True)
    return json.loads(dumps(report))


def test_report_has_the_contract_shape(report_json: dict) -> None:
    assert tuple(report_json)[: len(TOP_KEYS)] == TOP_KEYS
    assert report_json["schema_version"] == 1
    assert report_json["tool"] == {"name": "dlreport", "version": "0.1.0"}
    assert report_json["generated_at"] == "2026-11-26T12:00:00Z"
    assert [r["run"] for r in report_json["runs"]] == ["a", "b"]
    for run in report_json["runs"]:
        assert tuple(run)[: len(RUN_KEYS)] == RUN_KEYS
        assert run["status"] in STATUSES
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in run["roles"].items())
        for f in run["findings"]:
            assert tuple(f)[: len(FINDING_KEYS)] == FINDING_KEYS  # fields are only added
            assert set(f) - set(FINDING_KEYS) <= {"series"}
            assert "series" not in f or isinstance(f["series"], str)
            assert f["code"] in CODES
            assert f["severity"] in SEVERITIES
            assert f["steps"] is None or (len(f["steps"]) == 2 and f["steps"][0] <= f["steps"][1])
            assert all(type(v) in (int, float, str, type(None)) for v in f["evidence"].values())
        for a in run["advice"]:
            assert a["parameter"] in PARAMETERS
            assert a["action"] in ACTIONS


def test_findings_and_status_in_the_json(report_json: dict) -> None:
    a, b = report_json["runs"]
    assert a["status"] == "error"
    assert "exploding_gradients" in [f["code"] for f in a["findings"]]
    assert a["roles"] == {"train_loss": "train/loss", "grad_norm": "train/grad_norm"}
    assert a["summary"]["steps"] == 199
    assert b["status"] == "warning"
    assert [f["code"] for f in b["findings"]] == ["no_signal"]


def test_json_is_strict_and_round_trips(report_json: dict) -> None:
    text = json.dumps(report_json, allow_nan=False)
    assert json.loads(text) == report_json


def test_to_dict_omits_absent_factor_and_value() -> None:
    from analyzer.model import Advice, Report, RunReport

    advice = Advice(
        parameter="early_stopping", action="enable", because=("overfitting",), rationale="r"
    )
    run = RunReport(run=".", status="ok", roles={}, summary={}, findings=(), advice=(advice,))
    d = to_dict(Report(schema_version=1, tool_version="0.1.0", generated_at="t", runs=(run,)))
    assert d["runs"][0]["advice"] == [
        {
            "parameter": "early_stopping",
            "action": "enable",
            "because": ["overfitting"],
            "rationale": "r",
        }
    ]
