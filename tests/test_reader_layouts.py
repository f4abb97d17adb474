"""The layout path of the decoder (``analyzer/reader/layouts.py``) against the general path.

Records that repeat a layout are read at fixed offsets; all others are parsed field by field.
The general path defines what a record means, so the tests read the same bytes twice, as the
reader does and with the layout path switched off, and want identical results, down to the
bits of every value; where the log holds only scalars, protobuf's own parser (the reference
reader) must agree too. Logs are built to make the layout path work hard: tags of one length,
a tag whose plugin is only known later, tensors of other plugins, steps that change their
varint length, records damaged after their CRC was computed.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest
from conftest import examples
from event_builders import (
    content_tensor,
    float_tensor,
    frame_records,
    header_event,
    histogram_event,
    metadata,
    scalar_event,
    session_start_event,
    shape,
    tensor_event,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tensorboard.compat.proto import event_pb2, tensor_pb2
from tensorboardX import SummaryWriter
from test_reader_realworld import ALL_FILES

from analyzer.reader import events, layouts
from analyzer.reader.events import FileRead, read_event_bytes
from analyzer.reader.layouts import LayoutCache, Matched
from analyzer.reader.proto import _layout_of
from analyzer.reader.reference import read_bytes_reference
from analyzer.reader.tags import TagTable

DT_FLOAT, DT_DOUBLE, DT_INT64 = 1, 2, 9


# --------------------------------------------------------------------------------------
# Reading both ways


@contextmanager
def _general_path_only() -> Iterator[None]:
    with mock.patch.object(LayoutCache, "match", return_value=Matched.none()):
        yield


@contextmanager
def _small_batches(chunk_records: int) -> Iterator[None]:
    """Batches of a few records, and layouts learned from 2 records: small logs then cross
    many batch boundaries and use the layout path as long logs do."""
    with (
        mock.patch.object(events, "CHUNK_RECORDS", chunk_records),
        mock.patch.object(layouts, "MIN_RECORDS", 2),
    ):
        yield


def _fast_records(data: bytes) -> int:
    """How many records of ``data`` the layout path decodes."""
    count = 0
    original = LayoutCache.match

    def counting(self: LayoutCache, *args: Any) -> Matched:
        nonlocal count
        found = original(self, *args)
        count += found.record.size
        return found

    with mock.patch.object(LayoutCache, "match", counting):
        read_event_bytes("f", data, TagTable())
    return count


def _bits(values: np.ndarray) -> list[int]:
    return np.asarray(values, dtype=np.float64).view(np.uint64).tolist()


def _everything(read: FileRead, tags: TagTable) -> dict[str, object]:
    """All a read produced, with tag ids replaced by names (the paths number tags in
    different orders) and floats by their bits (NaN payloads included)."""
    names = tags.names
    out: dict[str, object] = {
        "records": read.records,
        "problems": [(p.kind, p.message) for p in read.problems],
        "chunks": [],
        "tags": sorted(
            (names[i], tags.plugin[i], tags.other_points[i], tags.other_kind[i])
            for i in range(len(names))
            if tags.plugin[i] or tags.other_points[i]
        ),
    }
    scalars: list[tuple[object, ...]] = []
    for c in read.chunks:
        scalars.extend(
            zip(
                [names[t] for t in c.scalar_tag.tolist()],
                c.scalar_step.tolist(),
                _bits(c.scalar_wall_time),
                _bits(c.scalar_value),
                strict=True,
            )
        )
        out["chunks"].append(  # type: ignore[attr-defined]
            (
                [names[t] for t in c.hist_tag.tolist()],
                c.hist_step.tolist(),
                _bits(c.hist_wall_time),
                [(_bits(h.edges), _bits(h.counts), h.num) for h in c.histograms],
                [(names[t], s, w, x) for t, s, w, x in c.texts],
                c.hparams,
                c.file_versions,
                c.malformed,
            )
        )
    out["scalars"] = scalars
    # Session starts count the scalar rows before them: compare them as positions in the log.
    out["session_starts"] = [
        (sum(c.scalar_tag.size for c in read.chunks[:i]) + rows, step, wall)
        for i, c in enumerate(read.chunks)
        for rows, _, step, wall in c.session_starts
    ]
    return out


def _read_both_ways(data: bytes) -> tuple[dict[str, object], dict[str, object]]:
    tags = TagTable()
    fast = _everything(read_event_bytes("f", data, tags), tags)
    with _general_path_only():
        tags = TagTable()
        general = _everything(read_event_bytes("f", data, tags), tags)
    return fast, general


def _reference_scalars(data: bytes) -> list[tuple[object, ...]]:
    ref = read_bytes_reference(data)
    return [
        (tag, step, *_bits(np.array([wall, value])))
        for tag, step, wall, value in ref.scalars[["tag", "step", "wall_time", "value"]]
        .astype({"tag": str})
        .itertuples(index=False, name=None)
    ]


# --------------------------------------------------------------------------------------
# What a layout is


def _layout(event: event_pb2.Event) -> layouts.Layout | None:
    raw = event.SerializeToString()
    return _layout_of(np.frombuffer(raw, dtype=np.uint8), 0, len(raw), TagTable())


def test_a_simple_value_event_has_holes_for_wall_time_step_and_value() -> None:
    event = scalar_event(300, 1.5, {"train/loss": 0.25})
    raw = event.SerializeToString()
    layout = _layout(event)
    assert layout is not None
    # 09 [wall: 8] 10 [step: ac 02] 2a .. 0a .. 0a 0a "train/loss" 15 [value: 4]
    assert (layout.wall_at, layout.step_at, layout.step_len) == (1, 10, 2)
    assert (layout.value_at, layout.value_width) == (len(raw) - 4, 4)
    assert not layout.needs_plugin
    mask = np.frombuffer(layout.mask, dtype=np.uint8)
    assert mask[1:9].tolist() == [0] * 8
    assert mask[10:12].tolist() == [0x80, 0x80]
    assert mask[-4:].tolist() == [0] * 4
    assert set(np.delete(mask, [*range(1, 9), 10, 11, *range(len(raw) - 4, len(raw))])) == {0xFF}


@pytest.mark.parametrize(
    ("tensor", "width"),
    [
        (content_tensor(np.float32(0.5), DT_FLOAT), 4),  # TF2's C++ writer
        (float_tensor(0.5), 4),  # torch new_style: packed float_val
        (content_tensor(np.float64(0.5), DT_DOUBLE), 8),
        (tensor_pb2.TensorProto(dtype=DT_DOUBLE, double_val=[0.5]), 8),  # no shape field
    ],
)
def test_a_scalar_tensor_event_has_its_element_as_hole(
    tensor: tensor_pb2.TensorProto, width: int
) -> None:
    event = tensor_event(7, 2.0, "loss", tensor)
    layout = _layout(event)
    assert layout is not None
    assert layout.value_width == width
    assert layout.needs_plugin  # a tensor is a scalar only if its tag's plugin says so
    raw = event.SerializeToString()
    value = np.frombuffer(raw[layout.value_at : layout.value_at + width], f"<f{width}")[0]
    assert value == 0.5


def test_an_unpacked_float_val_has_its_element_as_hole() -> None:
    # dtype=DT_FLOAT, tensor_shape {}, float_val as one fixed32 field (key 0x2d), not packed
    tensor = bytes([0x08, 0x01, 0x12, 0x00, 0x2D]) + struct.pack("<f", 0.5)
    value = bytes([0x0A, 0x01, ord("x"), 0x42, len(tensor)]) + tensor  # tag "x", tensor
    summary = bytes([0x0A, len(value)]) + value
    raw = bytes([0x10, 0x05, 0x2A, len(summary)]) + summary  # step 5, no wall_time
    layout = _layout_of(np.frombuffer(raw, dtype=np.uint8), 0, len(raw), TagTable())
    assert layout is not None
    assert (layout.wall_at, layout.step_at, layout.step_len) == (-1, 1, 1)
    assert raw[layout.value_at : layout.value_at + 4] == struct.pack("<f", 0.5)


def _two_values() -> event_pb2.Event:
    return scalar_event(1, 1.0, {"a": 1.0, "b": 2.0})


def _tensor(tensor: tensor_pb2.TensorProto) -> event_pb2.Event:
    return tensor_event(1, 1.0, "t", tensor)


@pytest.mark.parametrize(
    "event",
    [
        _two_values(),
        histogram_event(1, 1.0, "h", lo=0.0, hi=1.0, limits=[1.0], counts=[2.0]),
        _tensor(content_tensor(np.int64(3), DT_INT64)),
        _tensor(tensor_pb2.TensorProto(dtype=DT_FLOAT, tensor_shape=shape(1), float_val=[1.0])),
        _tensor(tensor_pb2.TensorProto(dtype=DT_FLOAT, float_val=[1.0, 2.0])),
        _tensor(tensor_pb2.TensorProto(dtype=DT_FLOAT, tensor_content=b"\0" * 8)),
        scalar_event(-1, 1.0, {"neg": 1.0}),  # a 10-byte varint
        scalar_event(2**60, 1.0, {"huge": 1.0}),  # 9 bytes
        header_event(),
        session_start_event(3, 1.0),
        event_pb2.Event(step=1, wall_time=1.0),
    ],
    ids=[
        "two-values",
        "histogram",
        "int64-tensor",
        "shape-[1]",
        "two-elements",
        "content-too-long",
        "negative-step",
        "step-2**60",
        "file-version",
        "session-log",
        "no-summary",
    ],
)
def test_records_that_are_not_plain_scalars_have_no_layout(event: event_pb2.Event) -> None:
    assert _layout(event) is None


# --------------------------------------------------------------------------------------
# Real writers and real files


def test_a_tensorboardx_log_is_read_by_layout_and_agrees(tmp_path: Path) -> None:
    tags = ["train/loss", "train/acc", "val/loss", "lr"]
    with SummaryWriter(str(tmp_path)) as w:
        for step in range(0, 3000, 3):  # the step's varint grows from 1 to 2 bytes
            for i, tag in enumerate(tags):
                w.add_scalar(tag, 1.0 / (step + i + 1), step, walltime=1e9 + step)
        w.add_histogram("weights", np.arange(10.0), 5)
    (path,) = tmp_path.glob("*tfevents*")
    data = path.read_bytes()
    records = 2 + 1000 * len(tags)
    assert _fast_records(data) > 0.95 * records
    fast, general = _read_both_ways(data)
    assert fast == general
    assert len(fast["scalars"]) == 1000 * len(tags)  # type: ignore[arg-type]
    assert fast["scalars"] == _reference_scalars(data)


@pytest.mark.parametrize("path", ALL_FILES)
@pytest.mark.parametrize("chunk_records", [16, 65536])
def test_real_world_files_read_the_same_both_ways(path: Path, chunk_records: int) -> None:
    data = path.read_bytes()
    with _small_batches(chunk_records):
        fast, general = _read_both_ways(data)
    assert fast == general


# --------------------------------------------------------------------------------------
# Built logs, hard on the layout path

SETTINGS = settings(
    max_examples=examples(80), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# Tags of equal length, so that records of different tags share a length (and a shape).
_TAGS = ["a/lr", "b/lr", "loss", "a/ac", "x", "val/loss"]
_KINDS = [
    "simple",
    "content",
    "float_val",
    "float_val_unpacked",
    "double",
    "int64",
    "no_shape",
    "shape_1",
]
_PLUGINS = ["scalars", "histograms", "text", "custom", None]


@st.composite
def _variants(draw: st.DrawFn) -> tuple[str, str, str | None, bool]:
    """How one tag is written: (tag, kind, plugin in its metadata, metadata on every record)."""
    return (
        draw(st.sampled_from(_TAGS)),
        draw(st.sampled_from(_KINDS)),
        draw(st.sampled_from(_PLUGINS)),
        draw(st.booleans()),
    )


def _unpacked(value: float) -> tensor_pb2.TensorProto:
    # protobuf packs repeated floats; parse a hand-made unpacked field instead
    return tensor_pb2.TensorProto.FromString(
        bytes([0x08, 0x01, 0x12, 0x00, 0x2D]) + struct.pack("<f", value)
    )


def _record(variant: tuple[str, str, str | None, bool], first: bool, step: int, wall: float,
            value: float) -> bytes:  # fmt: skip
    tag, kind, plugin, every = variant
    if kind == "simple":
        event = scalar_event(step, wall, {tag: value})
        if plugin is not None and (first or every):
            event.summary.value[0].metadata.CopyFrom(metadata(plugin))
        return event.SerializeToString()
    tensor = {
        "content": lambda v: content_tensor(np.float32(v), DT_FLOAT),
        "float_val": float_tensor,
        "float_val_unpacked": _unpacked,
        "double": lambda v: content_tensor(np.float64(v), DT_DOUBLE),
        "int64": lambda v: content_tensor(np.int64(v if abs(v) < 2**62 else 7), DT_INT64),
        "no_shape": lambda v: tensor_pb2.TensorProto(dtype=DT_FLOAT, float_val=[v]),
        "shape_1": lambda v: tensor_pb2.TensorProto(
            dtype=DT_FLOAT, tensor_shape=shape(1), float_val=[v]
        ),
    }[kind](value)
    with_plugin = plugin if first or every else None
    return tensor_event(step, wall, tag, tensor, with_plugin).SerializeToString()


_steps = st.one_of(st.integers(0, 300), st.integers(-5, -1), st.integers(2**55, 2**57), st.just(0))
_walls = st.sampled_from([0.0, 1.5e9, -0.0, math.nan, 1e-300])
_values = st.floats(width=32)


@st.composite
def _logs(draw: st.DrawFn) -> list[bytes]:
    variants = draw(st.lists(_variants(), min_size=1, max_size=4))
    seen: set[int] = set()
    records: list[bytes] = [header_event().SerializeToString()]
    step = draw(st.integers(0, 200))
    for _ in range(draw(st.integers(10, 80))):
        v = draw(st.integers(0, len(variants) - 1))
        step += draw(st.integers(0, 40))
        which_step = draw(st.one_of(st.just(step), _steps))
        records.append(_record(variants[v], v not in seen, which_step, draw(_walls), draw(_values)))
        seen.add(v)
        extra = draw(st.integers(0, 30))
        if extra == 0:
            records.append(session_start_event(step, 1.0).SerializeToString())
        elif extra == 1:
            event = histogram_event(step, 1.0, "h", lo=0.0, hi=2.0, limits=[1.0], counts=[3.0])
            records.append(event.SerializeToString())
        elif extra == 2:
            # a copy of the last record with one byte changed after the fact (its CRC is
            # computed over the damaged bytes): anything from a new value to garbage
            damaged = bytearray(records[-1])
            at = draw(st.integers(0, len(damaged) - 1))
            damaged[at] ^= draw(st.integers(1, 255))
            records.append(bytes(damaged))
    return records


@SETTINGS
@given(records=_logs(), chunk_records=st.sampled_from([3, 16, 65536]))
def test_built_logs_read_the_same_both_ways(records: list[bytes], chunk_records: int) -> None:
    data = frame_records(records)
    with _small_batches(chunk_records):
        fast, general = _read_both_ways(data)
    assert fast == general


@SETTINGS
@given(
    variant=_variants().filter(lambda v: v[1] in ("simple", "content", "float_val", "double")),
    steps=st.lists(_steps, min_size=20, max_size=60),
)
def test_regular_scalar_logs_agree_with_protobuf(
    variant: tuple[str, str, str | None, bool], steps: list[int]
) -> None:
    tag, kind, _, every = variant
    variant = (tag, kind, "scalars", every)  # always a scalar, so the reference agrees
    records = [header_event().SerializeToString()]
    records += [_record(variant, i == 0, s, 1.5e9 + i, 0.1 * i) for i, s in enumerate(steps)]
    data = frame_records(records)
    with _small_batches(16):
        fast, general = _read_both_ways(data)
        assert _fast_records(data) > 0
    assert fast == general
    assert fast["scalars"] == _reference_scalars(data)


@pytest.mark.parametrize("kind", ["simple", "content", "float_val", "double"])
def test_every_single_bit_flip_of_a_record_reads_the_same_both_ways(kind: str) -> None:
    """A record damaged after its CRC was computed, among records of its layout: one bit at a
    time, through every byte (the step's continuation bits, the lengths, the tag...)."""
    variant = ("val/loss", kind, "scalars", False)  # the plugin is known after the first batch
    regular = [_record(variant, i == 0, 200 + i, 1.5e9 + i, 0.5 * i) for i in range(24)]
    header = header_event().SerializeToString()
    with _small_batches(8):
        assert _fast_records(frame_records([header, *regular, *regular])) >= len(regular)
    victim = regular[-1]
    for at in range(len(victim)):
        for bit in range(8):
            damaged = bytearray(victim)
            damaged[at] ^= 1 << bit
            data = frame_records([header, *regular, bytes(damaged), *regular])
            with _small_batches(8):
                fast, general = _read_both_ways(data)
            assert fast == general, (at, bit)
