"""Plain helpers shared by the reader tests: build ``Event`` records and event files.

Records are built with TensorBoard's own protobuf classes and framed by TensorBoard's own
``RecordWriter`` (not by the code under test), so a test can only pass if the reader agrees
with the real format. Fixtures that need ``tmp_path`` live in ``conftest.py``.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2
from tensorboard.summary.writer.record_writer import RecordWriter

from analyzer.reader.events import FileRead, raw_scalars, read_event_bytes
from analyzer.reader.tags import TagTable

FILE_VERSION = "brain.Event:2"
FIXTURES = Path(__file__).parents[1] / "fixtures"
REALWORLD_FIXTURES = FIXTURES / "realworld"

# What conftest's ``tbx_logdir`` fixture writes (values chosen so float32 rounding shows).
TBX_LOSS = [2.5, 1.1, 0.7, 0.3, 0.1]
TBX_ACC = [0.1, 0.35, 0.6]
TBX_WALL = 1_600_000_000.0
TBX_HIST_VALUES = np.array([1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0])
TBX_TEXT = "lr=0.1, **bold** — ünïcode"
TBX_HPARAMS = {"lr": 0.01, "optimizer": "adam", "batch_norm": True, "layers": 4}


@dataclass(frozen=True)
class TbxLogdir:
    """Where ``tbx_logdir`` wrote: the logdir, its main run, and the run add_hparams made."""

    root: Path
    run: Path
    hparams_run: str


def header_event(wall_time: float = 1.0) -> event_pb2.Event:
    """The first record every current writer puts in a file."""
    return event_pb2.Event(wall_time=wall_time, file_version=FILE_VERSION)


def metadata(plugin: str, content: bytes = b"") -> summary_pb2.SummaryMetadata:
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin, content=content)
    )


def scalar_event(step: int, wall_time: float, values: dict[str, float]) -> event_pb2.Event:
    """A TF1 / tensorboardX style event: ``simple_value`` scalars."""
    event = event_pb2.Event(step=step, wall_time=wall_time)
    for tag, value in values.items():
        event.summary.value.add(tag=tag, simple_value=value)
    return event


def tensor_event(
    step: int,
    wall_time: float,
    tag: str,
    tensor: tensor_pb2.TensorProto,
    plugin: str | None = "scalars",
) -> event_pb2.Event:
    """A TF2 style event: one tensor value, with the plugin's metadata unless ``plugin`` is None."""
    event = event_pb2.Event(step=step, wall_time=wall_time)
    value = event.summary.value.add(tag=tag, tensor=tensor)
    if plugin is not None:
        value.metadata.CopyFrom(metadata(plugin))
    return event


def float_tensor(value: float) -> tensor_pb2.TensorProto:
    """A rank-0 DT_FLOAT tensor in ``float_val`` (what torch ``new_style=True`` writes)."""
    return tensor_pb2.TensorProto(dtype=1, tensor_shape=scalar_shape(), float_val=[value])


def content_tensor(value: np.generic, dtype: int) -> tensor_pb2.TensorProto:
    """A rank-0 tensor whose value is in ``tensor_content`` (raw little-endian bytes)."""
    arr = np.asarray(value)
    raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    return tensor_pb2.TensorProto(dtype=dtype, tensor_shape=scalar_shape(), tensor_content=raw)


def scalar_shape() -> tensor_shape_pb2.TensorShapeProto:
    return tensor_shape_pb2.TensorShapeProto()


def shape(*dims: int) -> tensor_shape_pb2.TensorShapeProto:
    return tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in dims]
    )


def histogram_event(
    step: int,
    wall_time: float,
    tag: str,
    *,
    lo: float,
    hi: float,
    limits: Sequence[float],
    counts: Sequence[float],
) -> event_pb2.Event:
    """A TF1 / tensorboardX ``HistogramProto`` (num: the total count; sum, sum_squares: fixed)."""
    histo = summary_pb2.HistogramProto(
        min=lo,
        max=hi,
        num=float(sum(counts)),
        sum=1.5,
        sum_squares=2.5,
        bucket_limit=list(limits),
        bucket=list(counts),
    )
    event = event_pb2.Event(step=step, wall_time=wall_time)
    event.summary.value.add(tag=tag, histo=histo)
    return event


def session_start_event(step: int, wall_time: float) -> event_pb2.Event:
    return event_pb2.Event(
        step=step,
        wall_time=wall_time,
        session_log=event_pb2.SessionLog(status=event_pb2.SessionLog.START),
    )


def frame_records(records: Iterable[bytes]) -> bytes:
    """Serialised records framed as TFRecords by TensorBoard's own writer."""
    out = io.BytesIO()
    writer = RecordWriter(out)
    for record in records:
        writer.write(record)
    return out.getvalue()


def event_file_bytes(events: Iterable[event_pb2.Event]) -> bytes:
    return frame_records(e.SerializeToString() for e in events)


def write_event_file(path: Path, events: Iterable[event_pb2.Event]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(event_file_bytes(events))
    return path


def frame_offsets(data: bytes) -> list[int]:
    """Where each frame of a well-formed event file starts (a plain walk, for corrupting)."""
    offsets, pos = [], 0
    while pos + 12 <= len(data):
        offsets.append(pos)
        (length,) = struct.unpack_from("<Q", data, pos)
        pos += 16 + length
    return offsets


def read_bytes(data: bytes, path: str = "f") -> tuple[FileRead, pd.DataFrame]:
    """Read one event file from bytes: the :class:`FileRead` and its scalars in write order."""
    tags = TagTable()
    read = read_event_bytes(path, data, tags)
    return read, raw_scalars(read, tags)


def problem_kinds(read: FileRead) -> list[str]:
    return [p.kind for p in read.problems]


def f32(x: float) -> float:
    """``x`` rounded to float32, as ``simple_value`` stores it."""
    return float(np.float32(x))
