"""The command line around the reader: ``dlreport tags``, ``dlreport export``, help, errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from event_builders import (
    TBX_ACC,
    TBX_LOSS,
    TBX_WALL,
    TbxLogdir,
    f32,
    frame_offsets,
    header_event,
    scalar_event,
    write_event_file,
)

from analyzer.cli import cli


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _one_line_error(result: Result) -> str:
    """The whole of stderr, checked to be one line with no traceback."""
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    return result.stderr.rstrip("\n")


@pytest.mark.parametrize("name", [None, *sorted(cli.commands)])
def test_help_for_every_command(name: str | None) -> None:
    args = ([name] if name else []) + ["-h"]
    result = _run(*args)
    assert result.exit_code == 0
    assert result.stdout.startswith(f"Usage: cli {name + ' ' if name else ''}[OPTIONS]")
    assert result.stderr == ""
    assert _run(*args[:-1], "--help").stdout == result.stdout


def test_the_group_lists_the_reader_commands() -> None:
    out = _run("-h").stdout
    assert "  tags " in out
    assert "  export " in out


def test_python_dash_m_analyzer() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "analyzer", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: dlreport [OPTIONS] COMMAND [ARGS]...")
    assert result.stderr == ""
    version = subprocess.run(
        [sys.executable, "-m", "analyzer", "--version"], capture_output=True, text=True, check=False
    )
    assert version.returncode == 0
    assert version.stdout == "dlreport, version 0.1.0\n"


# ---------------------------------------------------------------------------------------------
# tags


def test_tags_text(tbx_logdir: TbxLogdir) -> None:
    result = _run("tags", str(tbx_logdir.root))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    i = lines.index("run run  (1 files, 11 records)")
    assert lines[i + 1 : i + 5] == [
        "  notes/text_summary  text               1 points  steps 3..3",
        "  train/loss          scalar             5 points  steps 0..40",
        "  val/acc             scalar             3 points  steps 0..40",
        "  weights             histogram          1 points  steps 5..5",
    ]
    j = lines.index("run run/hp  (1 files, 5 records)")
    assert lines[j + 1 : j + 3] == [
        "  hp/final_loss  scalar             1 points  steps 40..40",
        "  hparams: batch_norm=True, layers=4.0, lr=0.01, optimizer=adam",
    ]


def test_tags_json(tbx_logdir: TbxLogdir) -> None:
    result = _run("tags", str(tbx_logdir.root), "--json")
    assert result.exit_code == 0, result.stderr
    runs = {r["run"]: r for r in json.loads(result.stdout)["runs"]}
    assert sorted(runs) == ["run", "run/hp"]
    run = runs["run"]
    assert len(run["files"]) == 1
    assert Path(run["files"][0]).parent == tbx_logdir.run
    assert run["records"] == 11
    assert run["tags"] == [
        {"tag": "notes/text_summary", "kind": "text", "points": 1, "first_step": 3, "last_step": 3},
        {"tag": "train/loss", "kind": "scalar", "points": 5, "first_step": 0, "last_step": 40},
        {"tag": "val/acc", "kind": "scalar", "points": 3, "first_step": 0, "last_step": 40},
        {"tag": "weights", "kind": "histogram", "points": 1, "first_step": 5, "last_step": 5},
    ]
    assert (run["hparams"], run["restarts"], run["duplicate_steps"], run["problems"]) == (
        {}, [], [], [],
    )  # fmt: skip
    assert runs["run/hp"]["hparams"] == {
        "lr": 0.01, "optimizer": "adam", "batch_norm": True, "layers": 4.0,
    }  # fmt: skip


def test_tags_shows_restarts_duplicates_and_problems(tmp_path: Path) -> None:
    first = [header_event(), *(scalar_event(s, 1.0, {"loss": s}) for s in range(6))]
    second = [header_event(), *(scalar_event(s, 2.0, {"loss": 10 + s}) for s in (3, 4, 4, 5))]
    a = write_event_file(tmp_path / "events.out.tfevents.1", first)
    b = write_event_file(tmp_path / "events.out.tfevents.2", second)
    last = frame_offsets(b.read_bytes())[-1]
    b.write_bytes(b.read_bytes()[:-3])  # the last record is cut short
    result = _run("tags", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        "run .  (2 files, 11 records)",
        "  loss  scalar             5 points  steps 0..4",
    ]
    assert (
        f"  note: restart in {b}: step went back from 5 to 3 (1 tags); "
        "the latest write of each step is kept"
    ) in lines
    assert (
        "  note: loss: 1 step written twice (1 extra write, step 4); the latest write is kept"
    ) in lines
    left = len(b.read_bytes()) - last
    problem = [line for line in lines if line.startswith("  problem: ")]
    assert problem == [
        f"  problem: {b}: last record incomplete at byte {last} ({left} bytes; file still "
        "being written, or the writer stopped mid-record); everything before it was read"
    ]
    payload = json.loads(_run("tags", str(tmp_path), "--json").stdout)["runs"][0]
    assert payload["restarts"] == [{"file": str(b), "from_step": 5, "to_step": 3, "tags": 1}]
    assert payload["duplicate_steps"] == [
        {"tag": "loss", "first_step": 4, "last_step": 4, "count": 1, "steps": 1}
    ]
    assert [p["kind"] for p in payload["problems"]] == ["truncated"]
    assert a.exists()


def test_tags_on_a_single_file(tbx_logdir: TbxLogdir) -> None:
    file = next(tbx_logdir.run.glob("*tfevents*"))
    result = _run("tags", str(file))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "run .  (1 files, 11 records)"


def test_tags_on_a_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such"
    result = _run("tags", str(missing))
    assert _one_line_error(result) == f"Error: {missing}: no such file or directory"


def test_tags_on_a_directory_without_event_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    result = _run("tags", str(tmp_path))
    assert _one_line_error(result) == (
        f"Error: {tmp_path}: no TensorBoard event files (*tfevents*) found"
    )


def test_tags_when_nothing_can_be_read(tmp_path: Path) -> None:
    file = tmp_path / "events.out.tfevents.1"
    file.write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 9\n")
    result = _run("tags", str(tmp_path))
    assert _one_line_error(result) == (
        f"Error: {tmp_path}: no readable event file ({file}: a Git LFS pointer, not an event "
        "file (fetch the real file with `git lfs pull`))"
    )


# ---------------------------------------------------------------------------------------------
# export


def _expected_export() -> pd.DataFrame:
    """The points of conftest's ``tbx_logdir`` main run, as ``export`` writes them."""
    rows = [("run", "train/loss", 10 * i, TBX_WALL + i, f32(v)) for i, v in enumerate(TBX_LOSS)]
    rows += [("run", "val/acc", 20 * i, TBX_WALL + 100 + i, f32(v)) for i, v in enumerate(TBX_ACC)]
    return pd.DataFrame(rows, columns=["run", "tag", "step", "wall_time", "value"])


def _without_hp(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["run"] != "run/hp"].reset_index(drop=True)


def test_export_csv(tbx_logdir: TbxLogdir, tmp_path: Path) -> None:
    out = tmp_path / "scalars.csv"
    result = _run("export", str(tbx_logdir.root), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == f"wrote 9 points to {out}\n"
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["run", "tag", "step", "wall_time", "value"]
    assert frame.iloc[-1].tolist() == ["run/hp", "hp/final_loss", 40, frame.iloc[-1, 3], 0.25]
    pd.testing.assert_frame_equal(_without_hp(frame), _expected_export())


def test_export_parquet(tbx_logdir: TbxLogdir, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    out = tmp_path / "scalars.parquet"
    result = _run("export", str(tbx_logdir.root), "--output", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"wrote 9 points to {out}\n"
    frame = pd.read_parquet(out)
    assert list(frame.columns) == ["run", "tag", "step", "wall_time", "value"]
    assert str(frame["step"].dtype) == "int64"
    assert str(frame["value"].dtype) == "float64"
    got = _without_hp(frame.astype({"run": str, "tag": str}))
    pd.testing.assert_frame_equal(got, _expected_export(), check_dtype=False)


def test_export_to_stdout(tbx_logdir: TbxLogdir) -> None:
    result = _run("export", str(tbx_logdir.root), "-o", "-")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "run,tag,step,wall_time,value"
    assert lines[1] == f"run,train/loss,0,{TBX_WALL},2.5"
    assert lines[2] == f"run,train/loss,10,{TBX_WALL + 1},1.100000023841858"
    assert len(lines) == 10


def test_export_warns_about_problems_on_stderr(tmp_path: Path) -> None:
    file = write_event_file(
        tmp_path / "events.out.tfevents.1", [scalar_event(s, 1.0, {"x": s}) for s in range(3)]
    )
    result = _run("export", str(tmp_path), "-o", "-")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "run,tag,step,wall_time,value", ".,x,0,1.0,0.0", ".,x,1,1.0,1.0", ".,x,2,1.0,2.0",
    ]  # fmt: skip
    assert result.stderr == (
        f"warning: {file}: no file_version record: an old writer, or a file that starts mid-log\n"
    )


def test_export_unknown_extension(tbx_logdir: TbxLogdir, tmp_path: Path) -> None:
    out = tmp_path / "scalars.txt"
    result = _run("export", str(tbx_logdir.root), "-o", str(out))
    assert _one_line_error(result) == (
        f"Error: {out}: unknown format (use .csv, .parquet or - for stdout)"
    )
    assert not out.exists()


def test_export_missing_directory(tmp_path: Path) -> None:
    result = _run("export", str(tmp_path / "nope"), "-o", "-")
    assert _one_line_error(result) == f"Error: {tmp_path / 'nope'}: no such file or directory"


def test_export_needs_an_output() -> None:
    result = _run("export", "somewhere")
    assert result.exit_code == 2
    assert "Missing option '-o' / '--output'" in result.stderr


def test_export_of_nothing_readable_is_one_line(tmp_path: Path) -> None:
    # Runs are read one at a time now: the unreadable ones must not leak warnings or a header
    # before the error.
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "events.out.tfevents.1").write_bytes(b"not an event file at all")
    (tmp_path / "b" / "events.out.tfevents.1").write_bytes(b"")
    result = _run("export", str(tmp_path), "-o", "-")
    assert _one_line_error(result).startswith(f"Error: {tmp_path}: no readable event file (")


def test_export_streams_runs_after_an_unreadable_one(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "events.out.tfevents.1").write_bytes(b"")
    write_event_file(
        tmp_path / "b" / "events.out.tfevents.1", [scalar_event(s, 1.0, {"x": s}) for s in range(2)]
    )
    result = _run("export", str(tmp_path), "-o", "-")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["run,tag,step,wall_time,value", "b,x,0,1.0,0.0",
                                          "b,x,1,1.0,1.0"]  # fmt: skip
    assert result.stderr.startswith("warning: ")
    assert "events.out.tfevents.1" in result.stderr


def test_a_local_logdir_never_imports_fsspec(tmp_path: Path) -> None:
    """fsspec (and the asyncio it pulls in) costs ~25 ms of each start-up: it is imported for
    URLs only. The logdir holds a settings file and a Lightning hparams.yaml, so discovery, the
    settings search and the files beside the event files are all read; the same logdir as a
    file:// URL then does load fsspec (the check can see it)."""
    logdir = tmp_path / "logs"
    shutil.copytree(Path(__file__).parent.parent / "sample_logs" / "healthy", logdir / "run")
    (logdir / "run" / "hparams.yaml").write_text("lr: 0.25\n")
    (logdir / "dlreport.toml").write_text('[roles]\nval_accuracy = "eval/f1"\n')
    code = (
        "import json, sys\n"
        "from analyzer.cli import cli\n"
        "for n, logdir in enumerate(sys.argv[1:3]):\n"
        "    out = f'{sys.argv[3]}/report{n}.json'\n"
        "    try:\n"
        "        cli.main(['analyze', logdir, '-f', 'json', '-o', out])\n"
        "    except SystemExit as done:\n"
        "        assert done.code in (0, 1), done.code\n"
        "    run = json.load(open(out))['runs'][0]\n"
        "    print(run['roles']['val_accuracy'], run['hparams'], 'fsspec' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(logdir), logdir.as_uri(), str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.splitlines() == [
        "eval/f1 {'lr': 0.25} False",
        "eval/f1 {'lr': 0.25} True",
    ]
