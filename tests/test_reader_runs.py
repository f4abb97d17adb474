"""Runs: discovery, run names, several files, restarts, and the frames real writers produce."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from event_builders import (
    TBX_ACC,
    TBX_HIST_VALUES,
    TBX_HPARAMS,
    TBX_LOSS,
    TBX_TEXT,
    TBX_WALL,
    TbxLogdir,
    content_tensor,
    f32,
    float_tensor,
    header_event,
    metadata,
    scalar_event,
    session_start_event,
    shape,
    tensor_event,
    write_event_file,
)
from tensorboard import data_compat
from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2
from tensorboard.summary import Writer
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.util import tensor_util
from tensorboardX import SummaryWriter
from tensorboardX.proto import summary_pb2 as tbx_summary_pb2
from tensorboardX.proto import tensor_pb2 as tbx_tensor_pb2

from analyzer.reader import (
    InputError,
    Logdir,
    RunData,
    TagInfo,
    discover_runs,
    is_event_file,
    read_logdir,
    read_run,
    scalars_frame,
)
from analyzer.reader.runs import tag_infos


def _runs(root: Path | str) -> dict[str, RunData]:
    return {run.name: run for run in read_logdir(str(root)).runs}


def _points(run: RunData, tag: str) -> list[tuple[int, float]]:
    frame = run.scalars[run.scalars["tag"] == tag]
    return list(zip(frame["step"].tolist(), frame["value"].tolist(), strict=True))


# ---------------------------------------------------------------------------------------------
# tensorboardX: simple_value scalars, HistogramProto, text, hparams


def test_tensorboardx_scalars_are_read_exactly(tbx_logdir: TbxLogdir) -> None:
    runs = _runs(tbx_logdir.root)
    assert sorted(runs) == ["run", "run/hp"]
    run = runs["run"]
    assert run.path == str(tbx_logdir.run)
    assert len(run.files) == 1
    assert Path(run.files[0]).parent == tbx_logdir.run
    frame = run.scalars
    assert list(frame.columns) == ["tag", "step", "wall_time", "value"]
    assert isinstance(frame["tag"].dtype, pd.CategoricalDtype)
    assert frame["step"].dtype == np.int64
    assert frame["wall_time"].dtype == np.float64
    assert frame["value"].dtype == np.float64
    expected = [("train/loss", 10 * i, TBX_WALL + i, f32(v)) for i, v in enumerate(TBX_LOSS)] + [
        ("val/acc", 20 * i, TBX_WALL + 100 + i, f32(v)) for i, v in enumerate(TBX_ACC)
    ]
    got = list(frame.astype({"tag": str}).itertuples(index=False, name=None))
    assert got == expected
    # simple_value is a float32: 1.1 is stored as 1.100000023841858, not 1.1
    assert frame["value"].iloc[1] == 1.100000023841858
    assert run.restarts == ()
    assert run.duplicates == ()
    assert run.problems == ()


def test_tensorboardx_histogram_edges_counts_and_moments(tbx_logdir: TbxLogdir) -> None:
    hist = _runs(tbx_logdir.root)["run"].histograms
    assert list(hist.columns) == [
        "tag", "step", "wall_time", "num", "min", "max", "sum", "sum_squares", "edges", "counts",
    ]  # fmt: skip
    assert len(hist) == 1
    row = hist.iloc[0]
    assert (row["tag"], row["step"], row["wall_time"]) == ("weights", 5, TBX_WALL)
    values = TBX_HIST_VALUES
    assert row["num"] == 7.0
    assert row["min"] == 1.0
    assert row["max"] == 4.0
    assert row["sum"] == float(values.sum())
    assert row["sum_squares"] == float(values @ values)
    # tensorboardX writes bucket limits [0, 1.5, 2.5, 5] with counts [0, 1, 2, 4]. Edges are
    # as TensorBoard draws them: empty buckets at the ends dropped, then [min, inner..., max]
    # (keeping the empty first bucket would give a backwards bucket [1, 0]).
    assert row["edges"].tolist() == [1.0, 1.5, 2.5, 4.0]
    assert row["counts"].tolist() == [1.0, 2.0, 4.0]
    # ...which is exactly TensorBoard's own conversion (data_compat, float32).
    (file,) = _runs(tbx_logdir.root)["run"].files
    [histo] = [
        v
        for e in LegacyEventFileLoader(file).Load()
        for v in e.summary.value
        if v.HasField("histo")
    ]
    rows = tensor_util.make_ndarray(data_compat.migrate_value(histo).tensor)
    assert np.array_equal(rows[:, 0], row["edges"][:-1].astype(np.float32))
    assert np.array_equal(rows[:, 1], row["edges"][1:].astype(np.float32))
    assert np.array_equal(rows[:, 2], row["counts"].astype(np.float32))


def test_tensorboardx_text(tbx_logdir: TbxLogdir) -> None:
    texts = _runs(tbx_logdir.root)["run"].texts
    assert list(texts.columns) == ["tag", "step", "wall_time", "text"]
    assert texts.to_dict("records") == [
        {"tag": "notes/text_summary", "step": 3, "wall_time": TBX_WALL + 7, "text": TBX_TEXT}
    ]


def test_tensorboardx_hparams_land_in_their_own_run(tbx_logdir: TbxLogdir) -> None:
    runs = _runs(tbx_logdir.root)
    assert dict(runs["run"].hparams) == {}
    hp = runs[tbx_logdir.hparams_run]
    expected = {
        "lr": 0.01,
        "optimizer": "adam",
        "batch_norm": True,
        "layers": float(TBX_HPARAMS["layers"]),
    }
    assert dict(hp.hparams) == expected
    assert type(hp.hparams["batch_norm"]) is bool
    assert _points(hp, "hp/final_loss") == [(40, 0.25)]


def test_tag_infos(tbx_logdir: TbxLogdir) -> None:
    run = _runs(tbx_logdir.root)["run"]
    assert run.tags == (
        TagInfo("notes/text_summary", "text", 1, 3, 3),
        TagInfo("train/loss", "scalar", 5, 0, 40),
        TagInfo("val/acc", "scalar", 3, 0, 40),
        TagInfo("weights", "histogram", 1, 5, 5),
    )
    # records: file_version + 5 + 3 scalars + histogram + text
    assert run.records == 11


def test_tag_infos_are_computed_only_when_asked(tbx_logdir: TbxLogdir) -> None:
    """Reading a run does not summarise its tags (nearly half the time of reading many small
    runs): only ``tags`` does, once."""
    run = _runs(tbx_logdir.root)["run"]
    assert run._tags == []
    first = run.tags
    assert run._tags == [first]
    assert run.tags is first


@pytest.mark.parametrize("seed", range(5))
def test_tag_infos_match_a_pandas_groupby(seed: int) -> None:
    """The numpy summary gives what a plain groupby gives, whatever the row order."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    names = [f"t{i}" for i in rng.permutation(7)]
    frame = pd.DataFrame(
        {
            "tag": pd.Categorical(rng.choice(names, n), categories=names),
            "step": rng.integers(-5, 50, n),
        }
    )
    g = frame.groupby("tag", observed=True)["step"].agg(["size", "min", "max"])
    expected = tuple(
        TagInfo(str(t), "scalar", int(r["size"]), int(r["min"]), int(r["max"]))
        for t, r in g.iterrows()
    )
    empty = frame.iloc[:0]
    assert tag_infos(frame, empty, empty) == tuple(sorted(expected, key=lambda x: x.tag))


# ---------------------------------------------------------------------------------------------
# Tensor scalars: torch new_style, TensorBoard's torch-free writer, TF2 dtypes


def test_new_style_tensor_scalars_written_by_tensorboardx(tmp_path: Path) -> None:
    """What torch's ``add_scalar(..., new_style=True)`` writes (float_val, or double_val with
    ``double_precision``); this tensorboardX has no ``new_style``, so the same Summary is
    written through its FileWriter."""
    with SummaryWriter(str(tmp_path)) as w:
        fw = w._get_file_writer()
        plugin = tbx_summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
        for step, (value, double) in enumerate([(0.1, False), (0.2, True), (0.3, False)]):
            tensor = (
                tbx_tensor_pb2.TensorProto(double_val=[value], dtype="DT_DOUBLE")
                if double
                else tbx_tensor_pb2.TensorProto(float_val=[value], dtype="DT_FLOAT")
            )
            value_pb = tbx_summary_pb2.Summary.Value(
                tag="loss",
                tensor=tensor,
                metadata=tbx_summary_pb2.SummaryMetadata(plugin_data=plugin),
            )
            fw.add_summary(tbx_summary_pb2.Summary(value=[value_pb]), step, walltime=5.0 + step)
    run = _runs(tmp_path)["."]
    assert _points(run, "loss") == [(0, f32(0.1)), (1, 0.2), (2, f32(0.3))]
    assert run.scalars["wall_time"].tolist() == [5.0, 6.0, 7.0]
    assert run.tags == (TagInfo("loss", "scalar", 3, 0, 2),)


def test_tensorboard_summary_writer_tensor_scalars(tmp_path: Path) -> None:
    """TensorBoard's own torch-free writer: rank-0 DT_FLOAT tensors, scalars plugin."""
    writer = Writer(str(tmp_path / "tb"))
    for step in range(4):
        writer.add_scalar("metric", 0.25 * step + 0.1, step * 100, wall_time=50.0 + step)
    writer.add_scalar("other", -3, 7, wall_time=60.0)
    writer.close()
    run = _runs(tmp_path)["tb"]
    assert _points(run, "metric") == [(s * 100, f32(0.25 * s + 0.1)) for s in range(4)]
    assert _points(run, "other") == [(7, -3.0)]
    assert run.scalars["wall_time"].tolist() == [50.0, 51.0, 52.0, 53.0, 60.0]
    assert run.problems == ()


_TF2_SCALARS = [
    ("float_val", tensor_util.make_tensor_proto(np.float32(1.25)), 1.25),
    ("float_content", content_tensor(np.float32(-0.1), 1), f32(-0.1)),
    ("double_val", tensor_util.make_tensor_proto(np.float64(0.1)), 0.1),
    ("double_content", content_tensor(np.float64(1e300), 2), 1e300),
    ("half_val", tensor_util.make_tensor_proto(np.float16(0.333)), float(np.float16(0.333))),
    ("half_content", content_tensor(np.float16(-2.5), 19), -2.5),
    ("int32_val", tensor_util.make_tensor_proto(np.int32(-5)), -5.0),
    ("int32_content", content_tensor(np.int32(-7), 3), -7.0),
    ("int64_val", tensor_util.make_tensor_proto(np.int64(2**40 + 1)), float(2**40 + 1)),
    ("int64_content", content_tensor(np.int64(-(2**33)), 9), float(-(2**33))),
    ("uint8_val", tensor_util.make_tensor_proto(np.uint8(200)), 200.0),
    ("int16_val", tensor_util.make_tensor_proto(np.int16(-300)), -300.0),
    ("bool_val", tensor_util.make_tensor_proto(np.bool_(True)), 1.0),
    ("uint32_content", content_tensor(np.uint32(2**32 - 1), 22), float(2**32 - 1)),
    ("uint64_val", tensor_pb2.TensorProto(dtype=23, uint64_val=[2**63]), float(2**63)),
    ("bfloat16_val", tensor_pb2.TensorProto(dtype=14, half_val=[0x3FC0]), 1.5),
    ("empty_float_val", tensor_pb2.TensorProto(dtype=1), 0.0),  # an empty field means zero
    ("shape_1x1", tensor_pb2.TensorProto(dtype=1, tensor_shape=shape(1, 1), float_val=[4.0]), 4.0),
]


@pytest.mark.parametrize(
    ("name", "tensor", "expected"), _TF2_SCALARS, ids=[s[0] for s in _TF2_SCALARS]
)
def test_tf2_tensor_scalar_dtypes(
    tmp_path: Path, name: str, tensor: tensor_pb2.TensorProto, expected: float
) -> None:
    writer = EventFileWriter(str(tmp_path))
    writer.add_event(tensor_event(3, 9.5, name, tensor))
    writer.close()
    run = _runs(tmp_path)["."]
    assert run.scalars.astype({"tag": str}).to_dict("records") == [
        {"tag": name, "step": 3, "wall_time": 9.5, "value": expected}
    ]
    assert run.problems == ()


def test_tensor_without_metadata_and_non_scalar_tensors(tmp_path: Path) -> None:
    """No plugin at all and one element: a scalar (TensorBoard's rule). Several elements, or
    another plugin's tensor, are not scalars: they are counted under their kind."""
    writer = EventFileWriter(str(tmp_path))
    writer.add_event(tensor_event(1, 1.0, "bare", float_tensor(2.0), plugin=None))
    vector = tensor_pb2.TensorProto(dtype=1, tensor_shape=shape(2), float_val=[1.0, 2.0])
    writer.add_event(tensor_event(1, 1.0, "vector", vector))
    writer.add_event(tensor_event(1, 1.0, "curve", float_tensor(3.0), plugin="pr_curves"))
    writer.add_event(tensor_event(2, 1.0, "curve", float_tensor(4.0), plugin=None))
    writer.close()
    run = _runs(tmp_path)["."]
    assert _points(run, "bare") == [(1, 2.0)]
    assert run.tags == (
        TagInfo("bare", "scalar", 1, 1, 1),
        TagInfo("curve", "pr_curves", 2, None, None),
        TagInfo("vector", "scalars", 1, None, None),
    )


def test_tf2_histogram_tensors(tmp_path: Path) -> None:
    """``[k, 3]`` tensors of (left, right, count) rows, tagged with the histograms plugin: as
    tensor_content (double, what make_tensor_proto writes) and as float_val."""
    rows = np.array([[0.0, 0.5, 3.0], [0.5, 1.0, 0.0], [1.0, 2.0, 5.0]])
    writer = EventFileWriter(str(tmp_path))
    writer.add_event(tensor_event(4, 2.0, "w", tensor_util.make_tensor_proto(rows), "histograms"))
    as_floats = tensor_pb2.TensorProto(
        dtype=1, tensor_shape=shape(2, 3), float_val=[-1.0, 0.0, 2.0, 0.0, 1.0, 6.0]
    )
    writer.add_event(tensor_event(5, 3.0, "w", as_floats, "histograms"))
    empty = tensor_pb2.TensorProto(dtype=2, tensor_shape=shape(0, 3))
    writer.add_event(tensor_event(6, 4.0, "w", empty, "histograms"))
    writer.close()
    hist = _runs(tmp_path)["."].histograms
    assert hist["step"].tolist() == [4, 5, 6]
    assert hist["wall_time"].tolist() == [2.0, 3.0, 4.0]
    assert [e.tolist() for e in hist["edges"]] == [[0.0, 0.5, 1.0, 2.0], [-1.0, 0.0, 1.0], []]
    assert [c.tolist() for c in hist["counts"]] == [[3.0, 0.0, 5.0], [2.0, 6.0], []]
    assert hist["num"].tolist() == [8.0, 8.0, 0.0]
    assert hist["min"].tolist() == [0.0, -1.0, 0.0]
    assert hist["max"].tolist() == [2.0, 1.0, 0.0]
    # TF2 histograms keep no sums: estimated from bucket centres.
    assert hist["sum"].tolist() == [0.25 * 3 + 1.5 * 5, -0.5 * 2 + 0.5 * 6, 0.0]


def test_other_kinds_are_counted(tmp_path: Path) -> None:
    event = event_pb2.Event(step=1, wall_time=1.0)
    event.summary.value.add(tag="img", image=summary_pb2.Summary.Image(height=1, width=1))
    event.summary.value.add(tag="snd", audio=summary_pb2.Summary.Audio(sample_rate=8000.0))
    write_event_file(tmp_path / "events.out.tfevents.1", [header_event(), event, event])
    run = _runs(tmp_path)["."]
    assert run.tags == (
        TagInfo("img", "image", 2, None, None),
        TagInfo("snd", "audio", 2, None, None),
    )
    assert run.scalars.empty
    assert run.readable


# ---------------------------------------------------------------------------------------------
# Several writes of a step: duplicates, restarts, SessionLog.START


def test_duplicate_steps_last_write_wins(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path)) as w:
        for i, step in enumerate([0, 1, 2, 2, 3, 3, 4]):
            w.add_scalar("x", float(i), step, walltime=100.0 + i)
    run = _runs(tmp_path)["."]
    assert _points(run, "x") == [(0, 0.0), (1, 1.0), (2, 3.0), (3, 5.0), (4, 6.0)]
    assert run.scalars["wall_time"].tolist() == [100.0, 101.0, 103.0, 105.0, 106.0]
    assert run.restarts == ()
    assert len(run.duplicates) == 1
    dup = run.duplicates[0]
    assert (dup.tag, dup.first_step, dup.last_step, dup.count, dup.steps) == ("x", 2, 3, 2, 2)
    assert run.superseded == 2


def test_a_step_written_three_times_is_one_step_with_two_extra_writes(tmp_path: Path) -> None:
    """Issue #14 case 17: 200 steps written 3 times each were "400 steps written twice"."""
    events = [header_event()]
    events += [scalar_event(s, 1.0 + s, {"x": float(k)}) for s in range(200) for k in range(3)]
    write_event_file(tmp_path / "events.out.tfevents.1.x", events)
    run = _runs(tmp_path)["."]
    (dup,) = run.duplicates
    assert (dup.steps, dup.count, dup.first_step, dup.last_step) == (200, 400, 0, 199)
    assert _points(run, "x") == [(s, 2.0) for s in range(200)]
    assert not run.scalars.duplicated(["tag", "step"]).any()


def test_restart_in_a_new_file_latest_write_wins(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path), filename_suffix=".1") as w:
        for s in range(10):
            w.add_scalar("loss", float(s), s, walltime=1000.0 + s)
            w.add_scalar("lr", 0.5, s, walltime=1000.0 + s)
    with SummaryWriter(str(tmp_path), filename_suffix=".2") as w:
        for s in range(6, 12):
            w.add_scalar("loss", 100.0 + s, s, walltime=2000.0 + s)
    run = _runs(tmp_path)["."]
    assert [Path(f).suffix for f in run.files] == [".1", ".2"]
    assert _points(run, "loss") == [(s, float(s)) for s in range(6)] + [
        (s, 100.0 + s) for s in range(6, 12)
    ]
    assert _points(run, "lr") == [(s, 0.5) for s in range(10)]  # this tag did not go back
    assert len(run.restarts) == 1
    r = run.restarts[0]
    assert (r.file, r.from_step, r.to_step, r.wall_time, r.tags, r.replaced) == (
        run.files[1], 9, 6, 2006.0, 1, 4,
    )  # fmt: skip
    assert run.duplicates == ()
    assert run.superseded == 4


def test_restart_within_one_file(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path)) as w:
        for s in [0, 1, 2, 3, 1, 2, 3, 4]:
            w.add_scalar("a", float(s * 10), s, walltime=1.0)
    run = _runs(tmp_path)["."]
    assert _points(run, "a") == [(0, 0.0), (1, 10.0), (2, 20.0), (3, 30.0), (4, 40.0)]
    (r,) = run.restarts
    assert (r.from_step, r.to_step, r.tags, r.replaced) == (3, 1, 1, 3)


def test_session_log_start_purges_every_tag(tmp_path: Path) -> None:
    """tensorboardX ``purge_step`` writes ``SessionLog.START`` at that step: every point written
    before it at a step >= the purge step is dropped, in all tags (TensorBoard's purge)."""
    with SummaryWriter(str(tmp_path), filename_suffix=".1") as w:
        for s in range(10):
            w.add_scalar("a", float(s), s, walltime=100.0 + s)
            w.add_scalar("b", float(s), 2 * s, walltime=100.0 + s)
    with SummaryWriter(str(tmp_path), purge_step=5, filename_suffix=".2") as w:
        for s in range(5, 8):
            w.add_scalar("a", 50.0 + s, s, walltime=200.0 + s)
    run = _runs(tmp_path)["."]
    assert _points(run, "a") == [(s, float(s)) for s in range(5)] + [
        (5, 55.0),
        (6, 56.0),
        (7, 57.0),
    ]
    assert _points(run, "b") == [(0, 0.0), (2, 1.0), (4, 2.0)]  # b has no new write at all
    assert run.restarts
    assert {(r.file, r.to_step) for r in run.restarts} == {(run.files[1], 5)}
    assert max(r.from_step for r in run.restarts) == 18
    # every point dropped is accounted for: 20 + 3 written, 11 kept
    assert sum(r.replaced for r in run.restarts) == 12


def test_session_log_start_without_earlier_points_changes_nothing(tmp_path: Path) -> None:
    events = [header_event(), session_start_event(0, 1.0)]
    events += [scalar_event(s, 2.0 + s, {"loss": 1.0 / (s + 1)}) for s in range(3)]
    events += [session_start_event(100, 9.0)]  # after every point: nothing to purge
    write_event_file(tmp_path / "events.out.tfevents.1", events)
    run = _runs(tmp_path)["."]
    assert _points(run, "loss") == [(0, 1.0), (1, 0.5), (2, f32(1 / 3))]
    assert run.restarts == ()


def test_histograms_follow_restarts_too(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path), filename_suffix=".1") as w:
        for s in range(4):
            w.add_histogram("h", np.full(3, float(s)), s, walltime=1.0)
    with SummaryWriter(str(tmp_path), filename_suffix=".2") as w:
        for s in range(2, 5):
            w.add_histogram("h", np.full(5, float(s)), s, walltime=2.0)
    run = _runs(tmp_path)["."]
    hist = run.histograms
    assert hist["step"].tolist() == [0, 1, 2, 3, 4]
    assert hist["num"].tolist() == [3.0, 3.0, 5.0, 5.0, 5.0]
    (r,) = run.restarts
    assert (r.file, r.from_step, r.to_step, r.replaced) == (run.files[1], 3, 2, 2)


# ---------------------------------------------------------------------------------------------
# Discovery: files in name order, run names, single files, errors


def test_several_files_are_read_in_name_order(tmp_path: Path) -> None:
    later = tmp_path / "events.out.tfevents.0000000002.host"
    earlier = tmp_path / "events.out.tfevents.0000000001.host"
    # Written in the opposite order (and so with the opposite mtimes).
    write_event_file(later, [header_event(), *(scalar_event(s, 2.0, {"x": s}) for s in (3, 4))])
    write_event_file(earlier, [header_event(), *(scalar_event(s, 1.0, {"x": s}) for s in (1, 2))])
    os.utime(earlier, (2e9, 2e9))
    run = _runs(tmp_path)["."]
    assert run.files == (str(earlier), str(later))
    assert _points(run, "x") == [(1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0)]
    assert run.restarts == ()


def test_tags_and_plugins_are_remembered_across_files(tmp_path: Path) -> None:
    """Writers send a tag's metadata once: a later file's bare tensor keeps the plugin."""
    rows = tensor_util.make_tensor_proto(np.array([[0.0, 1.0, 2.0]]))
    write_event_file(
        tmp_path / "events.out.tfevents.1",
        [header_event(), tensor_event(1, 1.0, "h", rows, "histograms")],
    )
    write_event_file(
        tmp_path / "events.out.tfevents.2",
        [header_event(), tensor_event(2, 2.0, "h", rows, plugin=None)],
    )
    run = _runs(tmp_path)["."]
    assert run.histograms["step"].tolist() == [1, 2]
    assert run.scalars.empty


def test_nested_runs_are_named_by_relative_path(tmp_path: Path) -> None:
    for rel in ("", "a/b", "a/c/d", "z"):
        write_event_file(tmp_path / rel / "events.out.tfevents.1", [header_event()])
    (tmp_path / "a" / "notes.txt").write_text("not a run")
    (tmp_path / "empty").mkdir()
    sources = discover_runs(str(tmp_path))
    assert [s.name for s in sources] == [".", "a/b", "a/c/d", "z"]
    assert [s.path for s in sources] == [
        str(tmp_path), str(tmp_path / "a/b"), str(tmp_path / "a/c/d"), str(tmp_path / "z"),
    ]  # fmt: skip
    assert sources[1].files == (str(tmp_path / "a/b/events.out.tfevents.1"),)
    assert [r.name for r in read_logdir(str(tmp_path / "a")).runs] == ["b", "c/d"]


def test_a_single_file_is_a_run_named_dot(tbx_logdir: TbxLogdir) -> None:
    file = next(tbx_logdir.run.glob("*tfevents*"))
    logdir = read_logdir(str(file))
    assert isinstance(logdir, Logdir)
    assert logdir.root == str(file)
    (run,) = logdir.runs
    assert (run.name, run.path, run.files) == (".", str(tbx_logdir.run), (str(file),))
    assert len(run.scalars) == len(TBX_LOSS) + len(TBX_ACC)


def test_keras_train_and_validation_are_two_runs(keras_logdir: Path) -> None:
    runs = _runs(keras_logdir)
    assert sorted(runs) == ["train", "validation"]
    assert _points(runs["train"], "epoch_loss") == [(0, 1.0), (1, 0.5), (2, f32(1 / 3))]
    assert _points(runs["validation"], "epoch_loss") == [(0, 1.5), (1, 1.0), (2, f32(1 / 3 + 0.5))]
    frame = scalars_frame(read_logdir(str(keras_logdir)))
    assert list(frame.columns) == ["run", "tag", "step", "wall_time", "value"]
    assert frame["run"].tolist() == ["train"] * 3 + ["validation"] * 3
    assert frame["tag"].tolist() == ["epoch_loss"] * 6
    assert frame["wall_time"].tolist() == [10.0, 11.0, 12.0] * 2


def test_scalars_frame_without_scalars(tmp_path: Path) -> None:
    write_event_file(tmp_path / "events.out.tfevents.1", [header_event()])
    frame = scalars_frame(read_logdir(str(tmp_path)))
    assert list(frame.columns) == ["run", "tag", "step", "wall_time", "value"]
    assert frame.empty


def test_is_event_file() -> None:
    assert is_event_file("runs/x/events.out.tfevents.1700000000.host.1.0")
    assert is_event_file("s3://b/runs/events.out.tfevents.ViT")
    assert not is_event_file("runs/tfevents/hparams.yaml")


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(InputError) as info:
        discover_runs(str(missing))
    assert str(info.value) == f"{missing}: no such file or directory"


def test_directory_without_event_files_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "model.ckpt").write_bytes(b"\0" * 10)
    with pytest.raises(InputError) as info:
        read_logdir(str(tmp_path))
    assert str(info.value) == f"{tmp_path}: no TensorBoard event files (*tfevents*) found"


def test_a_file_without_tfevents_in_its_name_is_an_input_error(tmp_path: Path) -> None:
    file = tmp_path / "metrics.csv"
    file.write_text("step,loss\n")
    with pytest.raises(InputError) as info:
        discover_runs(str(file))
    assert str(info.value) == f"{file}: not an event file (its name has no 'tfevents')"


def test_nothing_readable_is_an_input_error_with_the_reason(tmp_path: Path) -> None:
    file = tmp_path / "events.out.tfevents.1"
    file.write_bytes(b"")
    with pytest.raises(InputError) as info:
        read_logdir(str(tmp_path))
    assert str(info.value) == f"{tmp_path}: no readable event file ({file}: empty file (0 bytes))"
    assert "\n" not in str(info.value)


def test_one_bad_run_does_not_hide_the_others(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "events.out.tfevents.1").write_bytes(b"")
    write_event_file(tmp_path / "good" / "events.out.tfevents.1", [scalar_event(1, 1.0, {"x": 2})])
    runs = _runs(tmp_path)
    assert sorted(runs) == ["bad", "good"]
    assert not runs["bad"].readable
    assert [(p.kind, p.fatal) for p in runs["bad"].problems] == [("empty", True)]
    assert _points(runs["good"], "x") == [(1, 2.0)]


def test_unreadable_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    write_event_file(
        tmp_path / "events.out.tfevents.1", [header_event(), scalar_event(1, 1, {"x": 1})]
    )
    dangling = tmp_path / "events.out.tfevents.2"
    dangling.symlink_to(tmp_path / "gone")
    (run,) = read_logdir(str(tmp_path)).runs
    assert run.files[1] == str(dangling)
    (problem,) = run.problems
    assert (problem.path, problem.kind, problem.fatal) == (str(dangling), "unreadable", True)
    assert problem.message == "cannot be read (No such file or directory)"
    assert _points(run, "x") == [(1, 1.0)]


def test_symlink_loops_are_walked_once(tmp_path: Path) -> None:
    write_event_file(tmp_path / "run" / "events.out.tfevents.1", [header_event()])
    (tmp_path / "run" / "loop").symlink_to(tmp_path)
    assert [s.name for s in discover_runs(str(tmp_path))] == ["run"]


def test_read_run_without_crc_checks(tmp_path: Path) -> None:
    write_event_file(
        tmp_path / "events.out.tfevents.1", [header_event(), scalar_event(1, 1, {"x": 1})]
    )
    (source,) = discover_runs(str(tmp_path))
    run = read_run(source, check_crc=False)
    assert _points(run, "x") == [(1, 1.0)]
    assert run.records == 2


def test_hparams_written_as_tensorboard_plugin_data(tmp_path: Path) -> None:
    """The hparams plugin's session_start_info, as TensorBoard's hparams API writes it."""
    from tensorboard.plugins.hparams import plugin_data_pb2

    info = plugin_data_pb2.SessionStartInfo()
    info.hparams["units"].number_value = 16
    info.hparams["opt"].string_value = "sgd"
    info.hparams["bn"].bool_value = False
    content = plugin_data_pb2.HParamsPluginData(version=0, session_start_info=info)
    event = event_pb2.Event(step=0, wall_time=1.0)
    event.summary.value.add(
        tag="_hparams_/session_start_info",
        tensor=tensor_pb2.TensorProto(dtype=7, string_val=[b""]),
        metadata=metadata("hparams", content.SerializeToString()),
    )
    damaged = event_pb2.Event(step=0, wall_time=1.0)
    damaged.summary.value.add(
        tag="_hparams_/session_start_info", metadata=metadata("hparams", b"\xff\xff")
    )
    write_event_file(tmp_path / "events.out.tfevents.1", [header_event(), event, damaged])
    run = _runs(tmp_path)["."]
    assert dict(run.hparams) == {"units": 16.0, "opt": "sgd", "bn": False}
    assert run.scalars.empty
    assert run.texts.empty
