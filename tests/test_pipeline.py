"""The pipeline end to end: runs grouped, roles resolved, findings and summary."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from tensorboard.summary import Writer
from tensorboardX import SummaryWriter

from analyzer.cli import cli
from analyzer.errors import RoleError
from analyzer.pipeline import build_report, plan_runs, read_plan
from analyzer.reader import discover_runs
from analyzer.settings import Settings

REALWORLD = Path(__file__).resolve().parents[2] / "shared" / "realworld"
needs_shared = pytest.mark.skipif(not REALWORLD.exists(), reason="../shared is not present")


def _keras(root: Path, val_losses: list[float]) -> None:
    for side, losses in (("train", [1.0, 0.6, 0.4, 0.3, 0.25, 0.2]), ("validation", val_losses)):
        with SummaryWriter(str(root / side)) as w:
            for epoch, loss in enumerate(losses):
                w.add_scalar("epoch_loss", loss, epoch)
                w.add_scalar("epoch_accuracy", 1 - loss / 2, epoch)


def test_keras_train_and_validation_folders_are_one_run(tmp_path: Path) -> None:
    _keras(tmp_path / "fit" / "20240101", [1.1, 0.7, 0.6, 0.7, 0.8, 0.9])
    plans = plan_runs(discover_runs(str(tmp_path)))
    assert [(p.name, [prefix for prefix, _ in p.parts]) for p in plans] == [
        ("fit/20240101", ["train", "validation"])
    ]
    (run,) = build_report(str(tmp_path), strict=True).runs
    assert run.roles["train_loss"] == "train/epoch_loss"
    assert run.roles["val_loss"] == "validation/epoch_loss"
    assert run.summary["best_val_loss"] == pytest.approx(0.6)
    assert run.summary["best_val_loss_step"] == 2
    assert "overfitting" in [f.code for f in run.findings]


def _root_and_keras_sides(root: Path) -> None:
    """Issue #14 case 17: ``train/loss`` written at the top, beside a Keras ``train/`` folder
    whose ``loss`` would be prefixed ``train/loss`` too (and a ``validation/`` folder that
    mixes with nothing)."""
    with SummaryWriter(str(root)) as w:
        for step in range(100):
            w.add_scalar("train/loss", 2.0 / (step + 1), step, walltime=1e9 + step)
    for side, scale in (("train", 3.0), ("validation", 4.0)):
        with SummaryWriter(str(root / side)) as w:
            for step in range(100):
                w.add_scalar("loss", scale / (step + 1), step, walltime=1e9 + step)


def test_a_side_whose_tags_would_mix_with_its_run_s_is_a_run_of_its_own(tmp_path: Path) -> None:
    # Both series were merged into one `train/loss` of 200 points over 100 steps, silently.
    _root_and_keras_sides(tmp_path)
    report = build_report(str(tmp_path))
    runs = {r.run: r for r in report.runs}
    assert set(runs) == {".", "train"}
    top, side = runs["."], runs["train"]
    assert top.roles["train_loss"] == "train/loss"
    assert top.roles["val_loss"] == "validation/loss"  # the side that mixes with nothing joins
    assert top.summary["final_train_loss"] == pytest.approx(2.0 / 100)
    assert side.summary["final_train_loss"] == pytest.approx(3.0 / 100)
    assert (
        "train is analysed as a run of its own: its tags, prefixed 'train/', would mix with "
        "this run's train/loss"
    ) in top.notes
    assert (
        "kept apart from run .: this folder's tags, prefixed 'train/', would mix with that "
        "run's train/loss"
    ) in side.notes


def test_tags_and_export_keep_the_side_apart_too(tmp_path: Path) -> None:
    _root_and_keras_sides(tmp_path)
    listed = CliRunner().invoke(cli, ["tags", str(tmp_path), "--json"])
    assert listed.exit_code == 0, listed.output
    tags = {
        r["run"]: {t["tag"]: t["points"] for t in r["tags"]}
        for r in json.loads(listed.stdout)["runs"]
    }
    assert tags == {
        ".": {"train/loss": 100, "validation/loss": 100},
        "train": {"loss": 100},
    }
    roles = json.loads(listed.stdout)["roles"]  # chosen on each run as analyze has them
    assert roles["."]["roles"]["train_loss"]["tag"] == "train/loss"
    assert roles["train"]["roles"]["train_loss"]["tag"] == "loss"
    exported = CliRunner().invoke(cli, ["export", str(tmp_path), "-o", "-"])
    assert exported.exit_code == 0, exported.output
    rows = [line.split(",")[:2] for line in exported.stdout.splitlines()[1:]]
    assert {(run, tag): rows.count([run, tag]) for run, tag in rows} == {
        (".", "train/loss"): 100,
        (".", "validation/loss"): 100,
        ("train", "loss"): 100,
    }


def test_tf2_custom_loop_train_and_test_folders_have_every_role(tmp_path: Path) -> None:
    """tf.summary's habit (rank-0 float tensors, one writer per side) written by TensorBoard's
    own torch-free writer: train/ and test/ are one run, and each role finds its tag."""
    run_dir = tmp_path / "gradient_tape" / "20240101-120000"
    train, test = Writer(str(run_dir / "train")), Writer(str(run_dir / "test"))
    for step in range(0, 200, 5):
        train.add_scalar("loss", 2.0 * np.exp(-step / 60) + 0.1, step, wall_time=1e9 + step)
        train.add_scalar("learning_rate", 1e-3, step, wall_time=1e9 + step)
        train.add_scalar("grad_norm", 1.5, step, wall_time=1e9 + step)
        train.add_scalar("examples_per_sec", 3000.0, step, wall_time=1e9 + step)
        if step % 20 == 0:
            test.add_scalar("loss", 2.1 * np.exp(-step / 60) + 0.2, step, wall_time=1e9 + step)
            test.add_scalar("accuracy", 0.9 - 0.8 * np.exp(-step / 60), step, wall_time=1e9 + step)
            test.add_scalar("examples_per_sec", 9000.0, step, wall_time=1e9 + step)
    train.close()
    test.close()
    (run,) = build_report(str(tmp_path), strict=True).runs
    assert run.roles == {
        "train_loss": "train/loss",
        "val_loss": "test/loss",
        "learning_rate": "train/learning_rate",
        "grad_norm": "train/grad_norm",
        "val_accuracy": "test/accuracy",
        "throughput": "train/examples_per_sec",
    }


def test_hparams_only_child_lends_its_hparams_to_the_parent(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path / "logs")) as w:
        for step in range(10):
            w.add_scalar("train/loss", 1.0 / (step + 1), step)
        w.add_hparams({"learning_rate": 3e-4}, {"hp/x": 1.0}, name="1731490564.51")
    (plan,) = plan_runs(discover_runs(str(tmp_path)))
    assert plan.name == "logs"
    assert read_plan(plan).parts[0][1].hparams == {"learning_rate": 3e-4}


def test_healthy_run_comes_out_without_warnings(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    with SummaryWriter(str(tmp_path / "healthy")) as w:
        for step in range(500):
            loss = 2.3 * np.exp(-step / 80) + 0.05
            w.add_scalar("Loss/train", loss * (1 + 0.1 * rng.normal()), step, walltime=1e9 + step)
            w.add_scalar("grad_norm", 2.0 * (1 + 0.2 * rng.normal()), step, walltime=1e9 + step)
            w.add_scalar("lr", 1e-3 * (1 - step / 500), step, walltime=1e9 + step)
            if step % 25 == 0:
                w.add_scalar("Loss/val", loss * 1.1, step, walltime=1e9 + step)
                w.add_scalar("Accuracy/val", 0.9 - loss / 5, step, walltime=1e9 + step)
    (run,) = build_report(str(tmp_path), strict=True).runs
    assert run.status in ("ok", "info"), [f.title for f in run.findings]
    assert run.summary["final_val_accuracy"] == pytest.approx(0.9 - 0.05 * 1.0 / 5, abs=0.05)


def test_a_pinned_role_no_run_has_is_an_error(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path / "r")) as w:
        w.add_scalar("loss", 1.0, 0)
    with pytest.raises(RoleError, match="no run has"):
        build_report(str(tmp_path), Settings(roles={"train_loss": "nope"}))


@needs_shared
@pytest.mark.parametrize(
    ("run", "expected", "absent"),
    [
        # ViT on CIFAR-10: val loss min at ~12k steps of 70k, then +58%: clear overfitting.
        ("uvadlc-saved-models/tutorial15/tensorboards/ViT", {"overfitting"}, {"loss_divergence"}),
        # Healthy ResNet (JAX, torch writer): nothing above info.
        ("uvadlc-saved-models/JAX/tutorial5/tensorboards/ResNet", set(), {"overfitting"}),
        # Keras LSTM whose validation values are all NaN: bad validation data, said as
        # missing signal, never as divergence (issue #10, class 3).
        ("stockdata/logs/fit/20220213-124139", {"no_signal"}, {"loss_divergence"}),
        # TF1 graph dump without summaries: nothing to diagnose, said once.
        ("timegan/logs/discriminator", {"no_signal"}, set()),
    ],
)
def test_real_world_runs(run: str, expected: set[str], absent: set[str]) -> None:
    (report,) = build_report(str(REALWORLD / run), strict=True).runs
    found = {f.code for f in report.findings if f.severity != "info"}
    assert expected <= found
    assert not (absent & found)


# ---------------------------------------------------------------------------------------------
# When a local process pool pays off


def _plans(root: Path) -> list:
    from analyzer.pipeline import plan_runs
    from analyzer.reader import discover_runs

    return plan_runs(discover_runs(str(root)))


def test_small_runs_stay_in_process_charted_or_not() -> None:
    from analyzer.pipeline import worth_a_pool

    samples = Path(__file__).resolve().parents[1] / "sample_logs"
    plans = _plans(samples)
    assert len(plans) > 4  # more runs than the old fixed threshold of 4
    assert not worth_a_pool(plans, charts=False)  # 0.2 CPU-s of work in all
    # SVG charts and pages: about 0.5 CPU-s more, less than forking a pool costs (-j 2 was
    # slower than -j 1 on them once charts were SVG); twice as many runs are worth one.
    assert not worth_a_pool(plans, charts=True)
    assert worth_a_pool(plans * 2, charts=True)
    assert not worth_a_pool(plans[:1], charts=True)  # one run: nothing to share


def test_many_runs_or_big_files_get_a_pool(tmp_path: Path) -> None:
    from analyzer.pipeline import RunPlan, worth_a_pool
    from analyzer.reader import RunSource

    many = [RunPlan(name=f"r{i}", parts=(("", RunSource(f"r{i}", "x", ())),)) for i in range(60)]
    assert worth_a_pool(many, charts=False)
    big = tmp_path / "events.out.tfevents.1"
    with big.open("wb") as f:
        f.truncate(60_000_000)  # sparse: 60 MB of logs, about 0.7 CPU-s each run
    two = [RunPlan(name=f"b{i}", parts=(("", RunSource(f"b{i}", "x", (str(big),))),))
           for i in range(2)]  # fmt: skip
    assert worth_a_pool(two, charts=False)
    assert not worth_a_pool(two[:1], charts=False)


def test_a_dask_executor_always_gets_the_work() -> None:
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    from analyzer.pipeline import _is_cluster

    class ClientExecutor(ThreadPoolExecutor):  # named and placed as Dask's
        __module__ = "distributed.cfexecutor"

    with ClientExecutor(1) as dask_like, ProcessPoolExecutor(1) as pool:
        assert _is_cluster(dask_like)
        assert not _is_cluster(pool)


def _a_run(root: Path) -> None:
    with SummaryWriter(str(root / "r")) as w:
        for step in range(50):
            w.add_scalar("loss", 1.0 / (1 + step), step)


def test_source_date_epoch_fixes_generated_at_so_reports_are_byte_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _a_run(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert build_report(str(tmp_path)).generated_at == "2023-11-14T22:13:20Z"
    runner = CliRunner()
    first = runner.invoke(cli, ["analyze", str(tmp_path), "-f", "md"])
    second = runner.invoke(cli, ["analyze", str(tmp_path), "-f", "md"])
    assert first.exit_code == second.exit_code == 0
    assert "2023-11-14T22:13:20Z" in first.stdout
    assert first.stdout == second.stdout


def test_without_source_date_epoch_the_stamp_is_the_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _a_run(tmp_path)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    stamp = build_report(str(tmp_path)).generated_at
    assert stamp.startswith(str(datetime.now(timezone.utc).year)), stamp


@pytest.mark.parametrize("value", ["yesterday", "-5", "1.5", "99999999999999999999"])
def test_a_malformed_source_date_epoch_is_exit_2_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    _a_run(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    result = CliRunner().invoke(cli, ["analyze", str(tmp_path), "-f", "json"])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert "$SOURCE_DATE_EPOCH" in line
    assert repr(value) in line
