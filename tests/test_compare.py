"""``dlreport compare``: verdicts, deltas, new and resolved findings, seeds as noise."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_checks import one_line_error
from click.testing import CliRunner
from tensorboardX import SummaryWriter

from analyzer.cli import cli
from analyzer.compare import compare
from analyzer.errors import InputError
from analyzer.pipeline import build_analysis


def _run(path: Path, val_floor: float, *, nan_at: int | None = None, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    with SummaryWriter(str(path)) as w:
        for step in range(100):
            loss = 2.0 * np.exp(-step / 20) + 0.1
            if nan_at is not None and step >= nan_at:
                loss = float("nan")
            w.add_scalar("train/loss", loss, step)
            if step % 10 == 9:
                w.add_scalar(
                    "eval/loss", val_floor + np.exp(-step / 20) + 0.001 * rng.normal(), step
                )
        w.add_hparams({"lr": 0.01, "seed": seed}, {"hp/x": 0.0}, name="1700000000.1")


def _compare(base: Path, cand: Path):
    b = build_analysis(str(base), keep_runs=False).report
    c = build_analysis(str(cand))
    return compare(b, c.report, c.runs, baseline_name="b", candidate_name="c")


def test_better_validation_loss_is_an_improvement(tmp_path: Path) -> None:
    _run(tmp_path / "base" / "r", 0.5)
    _run(tmp_path / "cand" / "r", 0.3)
    result = _compare(tmp_path / "base", tmp_path / "cand")
    (r,) = result.runs
    assert (result.verdict, r.verdict, r.outcome) == ("improved", "improved", "best_val_loss")
    # best val losses: 0.5 + e^-4.95 vs 0.3 + e^-4.95 (the last evaluation, at step 99)
    assert r.relative_change == pytest.approx(-0.2 / (0.5 + np.exp(-99 / 20)), abs=0.01)
    assert r.steps_to_baseline_best == 39  # 0.3 + e^(-39/20) = 0.44 is the first <= 0.507
    assert "best_val_loss" in r.deltas


def test_nan_loss_is_a_regression_with_new_findings(tmp_path: Path) -> None:
    _run(tmp_path / "base", 0.5)
    _run(tmp_path / "cand", 0.5, nan_at=50)
    result = _compare(tmp_path / "base", tmp_path / "cand")
    (r,) = result.runs
    assert result.verdict == "regressed"
    assert "loss_divergence" in r.new_findings


def test_seed_spread_sets_the_noise(tmp_path: Path) -> None:
    for seed in range(3):
        _run(tmp_path / "base" / f"s{seed}", 0.5, seed=seed)
        _run(tmp_path / "cand" / f"s{seed}", 0.5005, seed=seed)
    result = _compare(tmp_path / "base", tmp_path / "cand")
    assert result.verdict == "same"
    assert all(r.noise is not None and r.noise < 0.01 for r in result.runs)


def test_cli_markdown_json_and_gate(tmp_path: Path) -> None:
    _run(tmp_path / "base", 0.3)
    _run(tmp_path / "cand", 0.6)
    runner = CliRunner()
    md = runner.invoke(cli, ["compare", str(tmp_path / "base"), str(tmp_path / "cand")])
    assert md.exit_code == 0
    assert "regressed" in md.stdout
    assert "| run |" in md.stdout
    gated = runner.invoke(
        cli,
        ["compare", str(tmp_path / "base"), str(tmp_path / "cand"), "-f", "json",
         "--fail-on", "regression"],
    )  # fmt: skip
    assert gated.exit_code == 1
    data = json.loads(gated.stdout)
    assert data["verdict"] == "regressed"
    assert data["runs"][0]["run"] == "."


def test_unmatched_runs_are_listed(tmp_path: Path) -> None:
    for name in ("a", "b"):
        _run(tmp_path / "base" / name, 0.5)
    for name in ("b", "c"):
        _run(tmp_path / "cand" / name, 0.5)
    result = _compare(tmp_path / "base", tmp_path / "cand")
    assert [r.run for r in result.runs] == ["b"]
    assert (result.only_in_baseline, result.only_in_candidate) == (("a",), ("c",))


# --- edges that must never pass a CI gate silently (issue #14 items 15-16, issue #13) ------


def _train_only(path: Path, *, nan: bool) -> None:
    with SummaryWriter(str(path)) as w:
        for step in range(100):
            w.add_scalar("train/loss", float("nan") if nan else 2.0 * np.exp(-step / 20), step)


@pytest.mark.parametrize("with_eval", [False, True], ids=["train-only", "with-eval"])
def test_a_loss_nan_at_every_step_is_a_regression(tmp_path: Path, with_eval: bool) -> None:
    if with_eval:  # the validation loss is finite and equal: only the training loss is lost
        _run(tmp_path / "base", 0.5)
        _run(tmp_path / "cand", 0.5, nan_at=0)
    else:
        _train_only(tmp_path / "base", nan=False)
        _train_only(tmp_path / "cand", nan=True)
    result = _compare(tmp_path / "base", tmp_path / "cand")
    (r,) = result.runs
    assert (result.verdict, r.verdict) == ("regressed", "regressed")
    assert r.candidate_value is None or with_eval
    gated = CliRunner().invoke(
        cli,
        ["compare", str(tmp_path / "base"), str(tmp_path / "cand"), "--fail-on", "regression"],
    )
    assert gated.exit_code == 1, gated.output
    assert "--fail-on regression: 1 run(s) regressed" in gated.stderr


def test_no_run_in_common_is_an_error_naming_both_sides(tmp_path: Path) -> None:
    for name in ("a", "b"):
        _run(tmp_path / "base" / name, 0.5)
    for name in ("c", "d"):
        _run(tmp_path / "cand" / name, 0.5)
    with pytest.raises(InputError, match="no run in common"):
        _compare(tmp_path / "base", tmp_path / "cand")
    base, cand = str(tmp_path / "base"), str(tmp_path / "cand")
    for fmt in ("md", "json", "html"):
        result = CliRunner().invoke(
            cli, ["compare", base, cand, "-f", fmt, "--fail-on", "regression", "-o", "-"]
        )
        line = one_line_error(result, "no run in common", base, cand)
        assert "2 runs (a, b)" in line
        assert "2 runs (c, d)" in line
