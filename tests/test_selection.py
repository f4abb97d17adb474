"""Say which runs: several LOGDIRs, --include/--exclude, --tags, experiments, one naming."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from tensorboardX import SummaryWriter

from analyzer.cli import cli
from analyzer.crossrun import experiments
from analyzer.errors import ConfigError
from analyzer.pipeline import build_analysis
from analyzer.selection import Selection, experiment_of


def _run(path: Path, level: float, hparams: dict[str, float] | None = None, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    with SummaryWriter(str(path)) as w:
        for step in range(40):
            w.add_scalar("train/loss", 2.0 * np.exp(-step / 8) + level, step)
            w.add_scalar("lr", 0.1, step)
            if step % 10 == 9:
                w.add_scalar("eval/loss", level + 0.01 * rng.normal() + 0.05, step)
        if hparams is not None:
            # tensorboardX writes them into a child folder named by the time, as torch does
            w.add_hparams(hparams, {"hp/x": 0.0}, name="1700000000.5")


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_globs_match_the_whole_name_or_its_last_part() -> None:
    s = Selection(include=("lr*",), exclude=("*seed1",))
    assert s.wants("sweep/lr0.1_seed0")
    assert not s.wants("sweep/lr0.1_seed1")
    assert not s.wants("other/wd0")
    assert Selection(include=("sweep/*",)).wants("sweep/a/b")
    assert not Selection(include=("sweep/*",)).wants("other/sweep")
    assert Selection().wants("anything")


def test_several_logdirs_keep_same_named_runs_apart(tmp_path: Path) -> None:
    for side in ("main", "branch"):
        _run(tmp_path / side / "s0", 0.3)
        _run(tmp_path / side / "s1", 0.3)
    code, out, _ = _cli(
        "analyze", str(tmp_path / "main"), str(tmp_path / "branch"), "-f", "json",
        "--exclude", "s1",
    )  # fmt: skip
    assert code == 0
    names = [r["run"] for r in json.loads(out)["runs"]]
    assert names == [f"{tmp_path}/branch/s0", f"{tmp_path}/main/s0"]


def test_overlapping_logdirs_are_refused_in_one_line(tmp_path: Path) -> None:
    _run(tmp_path / "a", 0.3)
    code, _, err = _cli("export", str(tmp_path), str(tmp_path / "a"), "-o", "-")
    assert code == 2
    assert "also found under" in err
    assert "Traceback" not in err


def test_no_match_is_an_input_error(tmp_path: Path) -> None:
    _run(tmp_path / "a", 0.3)
    for command in (["analyze", "-f", "json"], ["tags"], ["export", "-o", "-"]):
        code, _, err = _cli(*command, str(tmp_path), "--include", "zzz*")
        assert code == 2, command
        assert "no run matches --include zzz*" in err


def test_tags_and_export_name_runs_as_analyze_does(tmp_path: Path) -> None:
    _run(tmp_path / "r", 0.3, {"lr": 0.1})
    # a Keras run: one run with train/ and validation/ sides
    for side in ("train", "validation"):
        with SummaryWriter(str(tmp_path / "k" / side)) as w:
            for step in range(10):
                w.add_scalar("epoch_loss", 1.0 / (step + 1), step)
    code, out, _ = _cli("analyze", str(tmp_path), "-f", "json")
    assert code == 0
    analysed = sorted(r["run"] for r in json.loads(out)["runs"])
    assert analysed == ["k", "r"]

    code, out, _ = _cli("tags", str(tmp_path), "--json")
    assert code == 0
    data = json.loads(out)
    assert sorted(r["run"] for r in data["runs"]) == analysed
    (r,) = [r for r in data["runs"] if r["run"] == "r"]
    assert r["hparams"]["lr"] == 0.1  # the timestamp child's hparams belong to r
    assert len(r["files"]) == 2
    (k,) = [r for r in data["runs"] if r["run"] == "k"]
    assert {t["tag"] for t in k["tags"]} == {"train/epoch_loss", "validation/epoch_loss"}
    assert sorted(data["roles"]) == analysed

    code, out, _ = _cli("export", str(tmp_path), "-o", "-")
    assert code == 0
    frame = pd.read_csv(io.StringIO(out))
    assert sorted(frame["run"].unique()) == analysed
    assert "validation/epoch_loss" in set(frame["tag"])


def test_tags_regex_narrows_tags_and_export(tmp_path: Path) -> None:
    _run(tmp_path / "r", 0.3)
    code, out, _ = _cli("export", str(tmp_path), "-o", "-", "--tags", "loss$")
    assert code == 0
    assert set(pd.read_csv(io.StringIO(out))["tag"]) == {"train/loss", "eval/loss"}
    code, out, _ = _cli("tags", str(tmp_path), "--json", "--tags", "^lr$")
    assert code == 0
    data = json.loads(out)
    assert [t["tag"] for t in data["runs"][0]["tags"]] == ["lr"]
    # roles are still chosen on every tag
    assert data["roles"]["r"]["roles"]["train_loss"]["tag"] == "train/loss"
    code, _, err = _cli("tags", str(tmp_path), "--tags", "(")
    assert code == 2
    assert "--tags (: not a regular expression" in err


def test_experiment_of() -> None:
    assert experiment_of("sweep/lr1", {}, "parent") == "sweep"
    assert experiment_of("lr1", {}, "parent") == "."
    assert experiment_of("a/b/c", {}, "top") == "a"
    assert experiment_of("a/b/c", {}, "none") == "all runs"
    assert experiment_of("a/b", {"task": "mnist"}, "hparam:task") == "task=mnist"
    with pytest.raises(ConfigError, match="--group-by nope"):
        experiment_of("a", {}, "nope")


def _two_tasks(root: Path) -> None:
    """Two sweeps of 3 learning rates on different tasks: their losses are not comparable."""
    for task, offset in (("taskA", 0.0), ("taskB", 5.0)):
        for lr, level in ((0.1, 0.9), (0.01, 0.3), (0.001, 0.6)):
            _run(root / task / f"lr{lr}", level + offset, {"lr": lr, "seed": 0})


def test_evidence_is_drawn_within_an_experiment(tmp_path: Path) -> None:
    _two_tasks(tmp_path)
    report = build_analysis(str(tmp_path), keep_runs=False).report
    assert [(e.experiment, e.runs) for e in report.experiments] == [("taskA", 3), ("taskB", 3)]
    assert report.cross_run is None  # two experiments: no single pooled answer
    for e in report.experiments:
        assert e.best["learning_rate"] == 0.01
        assert all(m.startswith(e.experiment + "/") for m in e.members)
    by_run = {r.run: r for r in report.runs}
    (advice,) = [a for a in by_run["taskB/lr0.1"].advice if a.parameter == "learning_rate"]
    assert "Among 3 runs, lr=0.01" in advice.rationale  # its experiment only, not all 6
    pooled = build_analysis(str(tmp_path), keep_runs=False, group_by="none").report
    assert pooled.cross_run is not None
    assert pooled.cross_run.runs == 6

    code, out, _ = _cli("analyze", str(tmp_path), "-f", "json", "--group-by", "none")
    assert code == 0
    assert json.loads(out)["cross_run"]["experiment"] == "all runs"
    code, _, err = _cli("analyze", str(tmp_path), "-f", "json", "--group-by", "bogus")
    assert code == 2
    assert "--group-by bogus" in err


def test_several_seeds_means_different_seeds(tmp_path: Path) -> None:
    from analyzer.model import RunReport

    def report(name: str, lr: float, seed: int, loss: float) -> RunReport:
        return RunReport(
            run=name, status="ok", roles={}, summary={"best_val_loss": loss}, findings=(),
            hparams={"lr": lr, "seed": seed},
        )  # fmt: skip

    same_seed = [report(f"r{i}", lr, 0, 0.5 + i / 10) for i, lr in enumerate((0.1, 0.1, 0.01))]
    (e,) = experiments(same_seed)
    assert e.seed_groups == 0  # two runs with seed 0 are not several seeds
    two_seeds = [report(f"r{i}", lr, i, 0.5 + i / 10) for i, lr in enumerate((0.1, 0.1, 0.01))]
    (e,) = experiments(two_seeds)
    assert e.seed_groups == 1


def test_html_has_one_cross_run_section_per_experiment(tmp_path: Path) -> None:
    from bs4 import BeautifulSoup

    from analyzer.render.html import render

    _two_tasks(tmp_path)
    analysis = build_analysis(str(tmp_path), keep_runs=False)
    soup = BeautifulSoup(render(analysis.report, None), "html.parser")
    sections = soup.select("section.crossrun")
    assert [s["id"] for s in sections] == ["cross-run", "cross-run-2"]
    assert [s.h2.get_text() for s in sections] == ["Across runs: taskA", "Across runs: taskB"]
    for s in sections:
        assert "of 3 runs" in s.select_one(".lead").get_text()
