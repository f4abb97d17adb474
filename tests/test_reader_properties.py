"""Property tests: any valid log round-trips exactly; any damaged log reads what is intact."""

from __future__ import annotations

import math
import struct
import uuid
from dataclasses import dataclass

import fsspec
import numpy as np
import pandas as pd
import pytest
from conftest import examples
from event_builders import frame_records, header_event, problem_kinds, read_bytes
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2
from tensorboard.util import tensor_util

from analyzer.reader import events, framing, read_logdir
from analyzer.reader.events import raw_scalars, read_event_stream
from analyzer.reader.reference import read_bytes_reference
from analyzer.reader.tags import TagTable

SETTINGS = settings(
    max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

tags = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
steps = st.integers(-(2**63), 2**63 - 1)
walls = st.floats(allow_nan=True, allow_infinity=True)
float32s = st.floats(width=32)  # NaN, ±inf, subnormals included


@dataclass(frozen=True)
class Point:
    """One scalar as it should be read back."""

    tag: str
    step: int
    wall: float
    value: float


@st.composite
def records(draw: st.DrawFn) -> tuple[bytes, list[Point], int]:
    """One serialised Event: (record, the scalars it holds, the histograms it holds)."""
    step, wall = draw(steps), draw(walls)
    event = event_pb2.Event(step=step, wall_time=wall)
    points: list[Point] = []
    hists = 0
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(
                ["simple", "float_val", "content", "double", "int64", "histo", "hist_tensor"]
            )
        )
        # a tag's kind is fixed by its prefix, so every tag keeps one plugin
        tag = f"{kind}/" + draw(tags)
        value = event.summary.value.add(tag=tag)
        if kind == "simple":
            v = draw(float32s)
            value.simple_value = v
            points.append(Point(tag, step, wall, v))
        elif kind in ("float_val", "content"):
            v = draw(float32s)
            value.metadata.plugin_data.plugin_name = "scalars"
            if kind == "float_val":
                value.tensor.CopyFrom(tensor_pb2.TensorProto(dtype=1, float_val=[v]))
            else:
                raw = np.float32(v).tobytes()
                value.tensor.CopyFrom(tensor_pb2.TensorProto(dtype=1, tensor_content=raw))
            points.append(Point(tag, step, wall, v))
        elif kind == "double":
            v = draw(st.floats())
            value.metadata.plugin_data.plugin_name = "scalars"
            value.tensor.CopyFrom(tensor_util.make_tensor_proto(np.float64(v)))
            points.append(Point(tag, step, wall, v))
        elif kind == "int64":
            v = draw(st.integers(-(2**63), 2**63 - 1))
            value.metadata.plugin_data.plugin_name = "scalars"
            value.tensor.CopyFrom(tensor_util.make_tensor_proto(np.int64(v)))
            points.append(Point(tag, step, wall, float(v)))
        elif kind == "histo":
            k = draw(st.integers(0, 4))
            counts = draw(st.lists(st.floats(0, 100), min_size=k, max_size=k))
            limits = sorted(draw(st.lists(st.floats(-1e6, 1e6), min_size=k, max_size=k)))
            lo, hi = draw(st.floats(-1e6, 1e6)), draw(st.floats(-1e6, 1e6))
            histo = summary_pb2.HistogramProto(min=lo, max=hi, bucket_limit=limits, bucket=counts)
            value.histo.CopyFrom(histo)
            hists += 1
        else:
            rows = draw(st.lists(st.tuples(*[st.floats(-1e6, 1e6)] * 3), max_size=4))
            value.metadata.plugin_data.plugin_name = "histograms"
            arr = np.array(rows, dtype=np.float64).reshape(-1, 3)
            value.tensor.CopyFrom(tensor_util.make_tensor_proto(arr))
            hists += 1
    return event.SerializeToString(), points, hists


logs = st.lists(records(), max_size=25)


def _rows(frame: pd.DataFrame) -> list[tuple[str, int, float, float]]:
    return list(
        frame.astype({"tag": str})[["tag", "step", "wall_time", "value"]].itertuples(
            index=False, name=None
        )
    )


def _nan_key(row: tuple[object, ...]) -> tuple[object, ...]:
    return tuple("nan" if isinstance(x, float) and math.isnan(x) else x for x in row)


def _same(a: list[tuple[str, int, float, float]], b: list[tuple[str, int, float, float]]) -> bool:
    """Equal rows, NaN equal to NaN."""
    return [_nan_key(r) for r in a] == [_nan_key(r) for r in b]


def _is_subsequence(part: list[tuple[object, ...]], whole: list[tuple[object, ...]]) -> bool:
    it = iter(whole)
    return all(any(x == y for y in it) for x in part)


@SETTINGS
@given(log=logs, header=st.booleans())
def test_valid_logs_round_trip_exactly(
    log: list[tuple[bytes, list[Point], int]], header: bool
) -> None:
    blobs = ([header_event().SerializeToString()] if header else []) + [r for r, _, _ in log]
    data = frame_records(blobs)
    read, scalars = read_bytes(data)
    expected = [(p.tag, p.step, p.wall, p.value) for _, pts, _ in log for p in pts]
    assert _same(_rows(scalars), expected)
    assert scalars["step"].tolist() == [p[1] for p in expected]  # int64 exactly, no float trip
    assert read.records == len(blobs)
    assert problem_kinds(read) == (["empty"] if not blobs else [] if header else ["no_header"])
    assert sum(c.hist_tag.size for c in read.chunks) == sum(h for _, _, h in log)
    # ... and the reference reader (protobuf's own parser) agrees on everything
    ref = read_bytes_reference(data)
    assert _same(_rows(ref.scalars), expected)
    tags_ = TagTable()
    fast = events.read_event_bytes("f", data, tags_)
    fast_hists = [
        (tags_.names[t], s, h.edges.tolist(), h.counts.tolist())
        for c in fast.chunks
        for t, s, h in zip(c.hist_tag.tolist(), c.hist_step.tolist(), c.histograms, strict=True)
    ]
    ref_hists = [(t, s, e.tolist(), c.tolist()) for t, s, _, e, c in ref.histograms]
    assert fast_hists == ref_hists


@settings(max_examples=examples(60), deadline=None)
@given(
    writes=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c/ü"]), st.integers(-5, 30), float32s),
        max_size=60,
    ),
    split=st.integers(0, 60),
)
def test_restarts_keep_the_latest_write_of_every_step(
    writes: list[tuple[str, int, float]], split: int
) -> None:
    """Oracle: a point survives iff every later write of its tag has a larger step; frames are
    sorted by tag name, then step. Written as two files of one run on fsspec's memory fs."""
    events_ = []
    for i, (t, s, v) in enumerate(writes):
        event = event_pb2.Event(step=s, wall_time=float(i))
        event.summary.value.add(tag=t, simple_value=v)
        events_.append(event)
    root = f"memory://prop-{uuid.uuid4().hex}"
    fs = fsspec.filesystem("memory")
    parts = (events_[:split], events_[split:])
    for n, part in enumerate(parts):
        blobs = [header_event().SerializeToString()] + [e.SerializeToString() for e in part]
        with fsspec.open(f"{root}/run/events.out.tfevents.{n}", "wb") as f:
            f.write(frame_records(blobs))
    try:
        (run,) = read_logdir(root).runs
    finally:
        fs.rm(root.removeprefix("memory://"), recursive=True)
    expected = []
    for i, (t, s, v) in enumerate(writes):
        if all(t2 != t or s2 > s for t2, s2, _ in writes[i + 1 :]):
            expected.append((t, s, float(i), v))
    expected.sort(key=lambda r: (r[0], r[1]))
    assert _same(_rows(run.scalars), expected)
    went_back = any(
        t2 == t and s2 < s for i, (t, s, _) in enumerate(writes) for t2, s2, _ in writes[i + 1 :]
    )
    assert bool(run.restarts) == went_back

    # every dropped point is credited to one restart, unless the next write of its tag merely
    # rewrote the same step (a duplicate)
    def superseded_by_restart(i: int, t: str, s: int) -> bool:
        dropped = any(t2 == t and s2 <= s for t2, s2, _ in writes[i + 1 :])
        nxt = next((s2 for t2, s2, _ in writes[i + 1 :] if t2 == t), None)
        return dropped and nxt != s

    superseded = sum(superseded_by_restart(i, t, s) for i, (t, s, _) in enumerate(writes))
    assert sum(r.replaced for r in run.restarts) == superseded


# ---------------------------------------------------------------------------------------------
# Damaged files


def _corrupt(data: bytes, ops: list[tuple[str, int, int]], offsets: list[int]) -> bytes:
    buf = bytearray(data)
    for op, a, b in ops:
        if not buf:
            break
        at = a % len(buf)
        if op == "truncate":
            del buf[at:]
        elif op == "flip":
            buf[at] ^= 1 << (b % 8)
        elif op == "insert":
            buf[at:at] = bytes([b % 256]) * (1 + b % 17)
        elif op == "delete":
            del buf[at : at + 1 + b % 40]
        elif op in ("length", "length_with_crc") and offsets:
            pos = offsets[a % len(offsets)]
            if pos + 12 > len(buf):
                continue
            length = struct.pack("<Q", b)
            buf[pos : pos + 8] = length
            if op == "length_with_crc":  # a wrong length that passes its own CRC
                buf[pos + 8 : pos + 12] = struct.pack("<I", framing.masked_crc(length))
    return bytes(buf)


def _whole_frames_only(damaged: bytes, frames: list[bytes]) -> bool:
    """Whether ``damaged`` is just some of the original frames, whole and in order: a cut at
    a frame boundary, which no reader can tell from a shorter log."""
    pos = 0
    for f in frames:
        if damaged[pos : pos + len(f)] == f:
            pos += len(f)
    return pos == len(damaged)


ops = st.lists(
    st.tuples(
        st.sampled_from(["truncate", "flip", "insert", "delete", "length", "length_with_crc"]),
        st.integers(0, 2**32),
        st.integers(0, 2**64 - 1),
    ),
    min_size=1,
    max_size=4,
)


@SETTINGS
@given(log=st.lists(records(), min_size=1, max_size=15), damage=ops)
def test_damaged_logs_read_what_is_intact(
    log: list[tuple[bytes, list[Point], int]], damage: list[tuple[str, int, int]]
) -> None:
    blobs = [header_event().SerializeToString()] + [r for r, _, _ in log]
    frames = [framing.frame(b) for b in blobs]
    data = b"".join(frames)
    offsets = list(np.cumsum([0] + [len(f) for f in frames[:-1]]))
    damaged = _corrupt(data, damage, offsets)
    assume(damaged != data)
    read, scalars = read_bytes(damaged, "x/events.out.tfevents.1")  # never raises
    original = [_nan_key((p.tag, p.step, p.wall, p.value)) for _, pts, _ in log for p in pts]
    got = [_nan_key(r) for r in _rows(scalars)]
    assert _is_subsequence(got, original)  # intact records only, in their order
    for problem in read.problems:
        assert problem.path == "x/events.out.tfevents.1"
        assert "\n" not in str(problem)
    if read.records == 0:
        assert any(p.fatal for p in read.problems) or not damaged
    if read.records < len(blobs) and not _whole_frames_only(damaged, frames):
        assert set(problem_kinds(read)) - {"no_header"}, "records lost without a word"


@SETTINGS
@given(log=st.lists(records(), min_size=1, max_size=15), damage=ops, block=st.integers(16, 300))
def test_streaming_in_small_blocks_reads_the_same(
    log: list[tuple[bytes, list[Point], int]], damage: list[tuple[str, int, int]], block: int
) -> None:
    blobs = [header_event().SerializeToString()] + [r for r, _, _ in log]
    frames = [framing.frame(b) for b in blobs]
    offsets = list(np.cumsum([0] + [len(f) for f in frames[:-1]]))
    damaged = _corrupt(b"".join(frames), damage, offsets)
    whole_read, whole = read_bytes(damaged)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(events, "BLOCK_BYTES", block)
        mp.setattr(events, "CHUNK_RECORDS", 4)
        table = TagTable()
        read = read_event_stream("f", _Dribble(damaged), table)
    assert _same(_rows(raw_scalars(read, table)), _rows(whole))
    assert [(p.kind, p.message) for p in read.problems] == [
        (p.kind, p.message) for p in whole_read.problems
    ]


class _Dribble:
    """A stream that returns fewer bytes than asked (as network streams may), never zero
    before the end."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def read(self, n: int = -1) -> bytes:
        n = len(self.data) - self.pos if n < 0 else min(n, 1 + n // 2) if n > 1 else n
        out = self.data[self.pos : self.pos + n]
        self.pos += len(out)
        return out
