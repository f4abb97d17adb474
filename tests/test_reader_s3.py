"""Logs on S3: a real S3-compatible server (moto) on loopback, reached through s3fs.

The endpoint is given the way a user would give it to any fsspec URL: fsspec's configuration
(``fsspec.config.conf["s3"]``, which is also what ``FSSPEC_S3_*`` environment variables fill),
so ``read_logdir("s3://...")`` needs no storage options of its own.
"""

from __future__ import annotations

from pathlib import Path

import fsspec
import fsspec.config
import numpy as np
import pytest
from click.testing import CliRunner
from tensorboardX import SummaryWriter

from analyzer.cli import cli
from analyzer.errors import InputError
from analyzer.reader import RunData, read_logdir, scalars_frame

pytest.importorskip("s3fs", reason="s3fs is not installed")
pytest.importorskip("moto.server", reason="moto[server] is not installed")

from conftest import BUCKET


@pytest.fixture
def local_logs(tmp_path: Path) -> Path:
    """Three runs: one in the root, Keras-style train/ and validation/ below it."""
    root = tmp_path / "logs"
    with SummaryWriter(str(root), filename_suffix=".root") as w:
        w.add_text("notes", "hello", 0, walltime=1.0)
        w.add_scalar("lr", 0.1, 0, walltime=1.0)
    for sub, shift in (("train", 0.0), ("validation", 1.0)):
        with SummaryWriter(str(root / sub), filename_suffix=".1") as w:
            for step in range(5):
                w.add_scalar("loss", 1.0 / (step + 1) + shift, step, walltime=10.0 + step)
            w.add_histogram("w", np.arange(6.0), 4, walltime=20.0)
        with SummaryWriter(str(root / sub), filename_suffix=".2") as w:  # a restart at step 3
            w.add_scalar("loss", 9.0 + shift, 3, walltime=30.0)
    return root


def _upload(fs: fsspec.AbstractFileSystem, local: Path, prefix: str) -> None:
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        fs.put_file(str(path), f"{prefix}/{path.relative_to(local).as_posix()}")


def _comparable(run: RunData) -> tuple[object, ...]:
    return (
        run.name,
        [Path(f).name for f in run.files],
        run.records,
        run.scalars.astype({"tag": str}).values.tolist(),
        run.histograms[["tag", "step", "num"]].astype({"tag": str}).values.tolist(),
        [e.tolist() for e in run.histograms["edges"]],
        run.texts.values.tolist(),
        [(r.from_step, r.to_step, r.tags, r.replaced) for r in run.restarts],
        run.tags,
    )


def test_runs_on_s3_equal_the_local_copy(s3: fsspec.AbstractFileSystem, local_logs: Path) -> None:
    _upload(s3, local_logs, f"{BUCKET}/logs")
    remote = read_logdir(f"s3://{BUCKET}/logs")
    local = read_logdir(str(local_logs))
    assert [r.name for r in remote.runs] == [".", "train", "validation"]
    assert [_comparable(r) for r in remote.runs] == [_comparable(r) for r in local.runs]
    train = remote.runs[1]
    assert train.path == f"s3://{BUCKET}/logs/train"
    assert all(f.startswith(f"s3://{BUCKET}/logs/train/events.out.tfevents.") for f in train.files)
    assert train.restarts[0].file == train.files[1]
    assert train.problems == ()
    frame = scalars_frame(remote)
    assert frame.values.tolist() == scalars_frame(local).values.tolist()
    loss = frame[(frame["run"] == "train") & (frame["tag"] == "loss")]
    # steps 0..4, then 9.0 at step 3 from the second file: it supersedes steps 3 and 4
    assert loss["step"].tolist() == [0, 1, 2, 3]
    assert loss["value"].tolist() == [1.0, 0.5, float(np.float32(1 / 3)), 9.0]


def test_a_single_file_on_s3(s3: fsspec.AbstractFileSystem, local_logs: Path) -> None:
    _upload(s3, local_logs, f"{BUCKET}/one")
    name = next((local_logs / "validation").glob("*.1")).name
    (run,) = read_logdir(f"s3://{BUCKET}/one/validation/{name}").runs
    assert (run.name, run.path) == (".", f"s3://{BUCKET}/one/validation")
    assert run.scalars["value"].tolist()[:2] == [2.0, 1.5]


def test_missing_prefix_on_s3(s3: fsspec.AbstractFileSystem) -> None:
    with pytest.raises(InputError) as info:
        read_logdir(f"s3://{BUCKET}/nothing-here")
    assert str(info.value) == f"s3://{BUCKET}/nothing-here: no such file or directory"


def test_cli_tags_and_export_on_s3(s3: fsspec.AbstractFileSystem, local_logs: Path) -> None:
    _upload(s3, local_logs, f"{BUCKET}/cli")
    runner = CliRunner()
    result = runner.invoke(cli, ["tags", f"s3://{BUCKET}/cli"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "run train  (2 files, 9 records)" in lines
    assert "run validation  (2 files, 9 records)" in lines
    assert "  loss  scalar             4 points  steps 0..3" in lines
    exported = runner.invoke(cli, ["export", f"s3://{BUCKET}/cli", "-o", "-"])
    local = runner.invoke(cli, ["export", str(local_logs), "-o", "-"])
    assert exported.exit_code == local.exit_code == 0
    assert exported.stdout == local.stdout
    assert exported.stdout.splitlines()[0] == "run,tag,step,wall_time,value"
    missing = runner.invoke(cli, ["tags", f"s3://{BUCKET}/nope"])
    assert missing.exit_code == 2
    assert missing.stderr == f"Error: s3://{BUCKET}/nope: no such file or directory\n"
