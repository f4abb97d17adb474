"""A logdir of thousands of runs, and a run of thousands of tags: read and analysed whole."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from event_builders import event_file_bytes, header_event, scalar_event

from analyzer.cli import cli
from analyzer.pipeline import build_report
from analyzer.reader import read_logdir

RUNS = 1000
TAGS = 3000


def test_thousands_of_runs(tmp_path: Path) -> None:
    for i in range(RUNS):
        run = tmp_path / f"sweep{i // 100:02d}" / f"run{i:04d}"
        run.mkdir(parents=True)
        events = [
            header_event(),
            *(scalar_event(s, 1.0 + s, {"loss": 1.0 / (s + 1)}) for s in range(3)),
        ]
        (run / "events.out.tfevents.1.x").write_bytes(event_file_bytes(events))
    data = read_logdir(str(tmp_path))
    assert len(data.runs) == RUNS
    assert sum(len(r.scalars) for r in data.runs) == 3 * RUNS
    result = CliRunner().invoke(cli, ["tags", str(tmp_path), "--json"])
    assert result.exit_code == 0
    assert result.stdout.count('"run": "sweep') == RUNS


def test_thousands_of_tags(tmp_path: Path) -> None:
    tags = [f"layer{i:04d}/grad_norm" for i in range(TAGS)] + ["train/loss"]
    events = [header_event()]
    events += [scalar_event(s, 1.0 + s, dict.fromkeys(tags, 1.0 / (s + 1))) for s in range(20)]
    run = tmp_path / "run"
    run.mkdir()
    (run / "events.out.tfevents.1.x").write_bytes(event_file_bytes(events))
    (report,) = build_report(str(tmp_path), strict=True).runs
    assert report.roles["train_loss"] == "train/loss"
    assert len(report.layer_tags["grad_norm_layers"]) == TAGS
