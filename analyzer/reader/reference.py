"""The simple, obviously-correct reader the fast path is tested against.

One record at a time: check both CRCs, parse the ``Event`` with protobuf's own parser (upb),
and read its values with the same rules as :mod:`.decode`, written out plainly. About 20×
slower than the bulk decoder; used by the tests and the benchmark, not by dlreport itself.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import pandas as pd
from google.protobuf.message import DecodeError
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2

from . import framing

_FIELD_OF_DTYPE = {1: "float_val", 2: "double_val", 3: "int_val", 4: "int_val", 5: "int_val",
                   6: "int_val", 9: "int64_val", 10: "bool_val", 14: "half_val", 17: "int_val",
                   19: "half_val", 22: "uint32_val", 23: "uint64_val"}  # fmt: skip
_CONTENT_DTYPE = {1: "<f4", 2: "<f8", 3: "<i4", 4: "u1", 5: "<i2", 6: "i1", 9: "<i8", 10: "u1",
                  14: "<u2", 17: "<u2", 19: "<f2", 22: "<u4", 23: "<u8"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReferenceRead:
    """Every point of one file in write order, before any restart handling."""

    scalars: pd.DataFrame  # tag, step, wall_time, value
    histograms: list[
        tuple[str, int, float, np.ndarray, np.ndarray]
    ]  # tag, step, wall, edges, counts
    texts: list[tuple[str, int, float, str]]
    bad_records: int


def read_file_reference(path: str) -> ReferenceRead:
    """Read one local event file record by record."""
    with open(path, "rb") as f:
        return read_bytes_reference(f.read())


def read_bytes_reference(data: bytes, plugins: dict[str, str] | None = None) -> ReferenceRead:
    """Read the records of ``data`` one at a time (stops at the first corrupt header)."""
    plugins = {} if plugins is None else plugins
    rows: list[tuple[str, int, float, float]] = []
    hists: list[tuple[str, int, float, np.ndarray, np.ndarray]] = []
    texts: list[tuple[str, int, float, str]] = []
    bad = 0
    pos, size = 0, len(data)
    while pos + framing.HEADER_BYTES <= size:
        header = data[pos : pos + 8]
        if framing.masked_crc(header) != struct.unpack_from("<I", data, pos + 8)[0]:
            break
        (length,) = struct.unpack_from("<Q", header)
        body_at = pos + framing.HEADER_BYTES
        if body_at + length + framing.FOOTER_BYTES > size:
            break
        body = data[body_at : body_at + length]
        pos = body_at + length + framing.FOOTER_BYTES
        if framing.masked_crc(body) != struct.unpack_from("<I", data, pos - 4)[0]:
            bad += 1
            continue
        try:
            event = event_pb2.Event.FromString(body)
        except DecodeError:
            bad += 1
            continue
        for value in event.summary.value:
            if value.HasField("metadata") and value.tag not in plugins:
                name = value.metadata.plugin_data.plugin_name
                if name:
                    plugins[value.tag] = name
            _read_value(value, event, plugins.get(value.tag, ""), rows, hists, texts)
    scalars = pd.DataFrame(rows, columns=["tag", "step", "wall_time", "value"])
    return ReferenceRead(scalars=scalars, histograms=hists, texts=texts, bad_records=bad)


def _read_value(
    value: summary_pb2.Summary.Value,
    event: event_pb2.Event,
    plugin: str,
    rows: list[tuple[str, int, float, float]],
    hists: list[tuple[str, int, float, np.ndarray, np.ndarray]],
    texts: list[tuple[str, int, float, str]],
) -> None:
    kind = value.WhichOneof("value")
    key = (value.tag, event.step, event.wall_time)
    if kind == "simple_value":
        rows.append((*key, float(value.simple_value)))
    elif kind == "histo":
        h = value.histo
        if len(h.bucket) != len(h.bucket_limit):
            return
        # TensorBoard's data_compat: drop the empty buckets at both ends, then min and max
        # are the outer edges.
        filled = [i for i, c in enumerate(h.bucket) if c > 0]
        if not filled:
            hists.append((*key, np.zeros(0), np.zeros(0)))
            return
        first, last = filled[0], filled[-1]
        edges = np.array([h.min, *list(h.bucket_limit)[first:last], h.max])
        hists.append((*key, edges, np.array(h.bucket[first : last + 1], dtype=np.float64)))
    elif kind == "tensor":
        t = value.tensor
        if plugin == "histograms":
            arr = _tensor_values(t)
            if arr is not None and arr.size % 3 == 0:
                r = arr.reshape(-1, 3)
                edges = np.concatenate([r[:, 0], r[-1:, 1]]) if r.size else np.zeros(0)
                hists.append((*key, edges, r[:, 2].copy()))
        elif plugin == "text" and t.dtype == 7:
            texts.append((*key, "\n".join(s.decode("utf-8", "replace") for s in t.string_val)))
        elif plugin in ("scalars", "") and _elements(t) == 1:
            v = _first(t)
            if v is not None:
                rows.append((*key, v))


def _elements(t: tensor_pb2.TensorProto) -> int:
    n = 1
    for dim in t.tensor_shape.dim:
        if dim.size < 0:
            return -1
        n *= dim.size
    return n


def _first(t: tensor_pb2.TensorProto) -> float | None:
    dtype = _CONTENT_DTYPE.get(t.dtype)
    if dtype is None:
        return None
    if t.tensor_content:
        if len(t.tensor_content) != np.dtype(dtype).itemsize:
            return None
        raw = np.frombuffer(t.tensor_content, dtype=dtype)
        return _bits_to_float(raw[0], t.dtype)
    field = getattr(t, _FIELD_OF_DTYPE[t.dtype])
    if len(field) == 0:
        return 0.0
    return _bits_to_float(field[0], t.dtype)


def _bits_to_float(v: object, dtype: int) -> float:
    if dtype == 19:  # DT_HALF: the bits of a float16
        return float(np.array([v]).astype(np.uint16).view(np.float16)[0])
    if dtype == 14:  # DT_BFLOAT16: the top 16 bits of a float32
        return float((np.array([v]).astype(np.uint32) << 16).view(np.float32)[0])
    return float(v)  # type: ignore[arg-type]


def _tensor_values(t: tensor_pb2.TensorProto) -> np.ndarray | None:
    if t.dtype not in (1, 2):
        return None
    if t.tensor_content:
        return np.frombuffer(t.tensor_content, dtype="<f4" if t.dtype == 1 else "<f8").astype(
            np.float64
        )
    vals = t.double_val if t.dtype == 2 else t.float_val
    return np.array(vals, dtype=np.float64)
