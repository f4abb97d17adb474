"""The protobuf wire format, decoded in bulk: varints, fields, fixed-width values, ordering."""

from __future__ import annotations

import numpy as np
import pytest
from tensorboard.compat.proto import event_pb2

from analyzer.reader import wire


def _u8(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.uint8)


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


_VARINTS = [0, 1, 127, 128, 300, 16383, 16384, 2**32 - 1, 2**35 + 7, 2**63, 2**64 - 1]


def test_read_varints_known_values() -> None:
    data = b"".join(_varint(v) for v in _VARINTS)
    pos, offsets = 0, []
    for v in _VARINTS:
        offsets.append(pos)
        pos += len(_varint(v))
    buf = _u8(data)
    starts = np.array(offsets, dtype=np.int64)
    values, after, ok = wire.read_varints(buf, starts, np.full(starts.size, len(data)))
    assert values.tolist() == _VARINTS
    assert after.tolist() == [*offsets[1:], len(data)]
    assert ok.all()
    # -1 as an int64 field is ten bytes on the wire
    assert len(_varint(-1)) == 10
    assert values.view(np.int64)[-1] == -1


def test_read_varints_rejects_truncated_and_overlong() -> None:
    data = b"\x80\x80" + b"\xff" * 11 + b"\x01"
    buf = _u8(data)
    # runs past its limit; more than ten bytes; nothing at all
    _, _, ok = wire.read_varints(buf, np.array([0, 2, 0]), np.array([2, len(data), 0]))
    assert ok.tolist() == [False, False, False]


def test_scan_splits_messages_into_fields() -> None:
    events = [
        event_pb2.Event(wall_time=1.5, step=7, file_version="brain.Event:2"),
        event_pb2.Event(step=-3),
        event_pb2.Event(),
    ]
    blobs = [e.SerializeToString() for e in events]
    data = b"".join(blobs)
    starts = np.cumsum([0] + [len(b) for b in blobs[:-1]])
    ends = starts + np.array([len(b) for b in blobs])
    buf = _u8(data)
    f = wire.scan(buf, starts, ends)
    assert not f.bad.any()
    order = np.argsort(f.start, kind="stable")
    got = list(
        zip(
            f.parent[order].tolist(),
            f.number[order].tolist(),
            f.wire[order].tolist(),
            strict=True,
        )
    )
    assert got == [(0, 1, wire.I64), (0, 2, wire.VARINT), (0, 3, wire.LEN), (1, 2, wire.VARINT)]
    i64 = f.where(1, wire.I64)
    assert wire.gather(buf, f.start[i64], 8, "<f8").tolist() == [1.5]
    # fields come pass by pass (every message's first field, then the second...): event 1's
    # step (its first field) comes before event 0's (its second); in_file_order restores it
    steps = f.where(2, wire.VARINT)
    assert f.value[steps].view(np.int64).tolist() == [-3, 7]
    assert f.value[wire.in_file_order(f, steps)].view(np.int64).tolist() == [7, -3]
    (text,) = f.where(3, wire.LEN).tolist()
    assert buf[f.start[text] : f.end[text]].tobytes() == b"brain.Event:2"
    assert f.value[text] == 13


def test_scan_flags_malformed_messages_and_drops_their_fields() -> None:
    good = event_pb2.Event(step=5).SerializeToString()
    malformed = [
        b"\x08",  # a varint field without its value
        b"\x1a\x05abc",  # a length beyond the message
        b"\x0b",  # wire type 3 (start group): not supported
        b"\x00\x01",  # field number 0
        b"\x12\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # a huge length
        b"\x09\x00\x00",  # a fixed64 cut short
    ]
    blobs = [good, *malformed, good]
    data = b"".join(blobs)
    starts = np.cumsum([0] + [len(b) for b in blobs[:-1]])
    ends = starts + np.array([len(b) for b in blobs])
    f = wire.scan(_u8(data), starts, ends)
    assert f.bad.tolist() == [False] + [True] * len(malformed) + [False]
    assert sorted(f.parent.tolist()) == [0, len(blobs) - 1]


def test_scan_of_nothing() -> None:
    f = wire.scan(_u8(b"abc"), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    assert f.parent.size == 0
    assert f.bad.size == 0
    empty = wire.scan(_u8(b"abc"), np.array([1]), np.array([1]))  # an empty message
    assert empty.parent.size == 0
    assert empty.bad.tolist() == [False]


def test_gather_reads_unaligned_little_endian() -> None:
    buf = _u8(b"\x00" + np.array([1.25, -2.0], dtype="<f8").tobytes() + b"\x01\x02\x03\x04")
    assert wire.gather(buf, np.array([1, 9]), 8, "<f8").tolist() == [1.25, -2.0]
    assert wire.gather(buf, np.array([17]), 4, "<u4").tolist() == [0x04030201]
    assert wire.gather(buf, np.array([], dtype=np.int64), 4, "<f4").dtype == np.float32


def test_assign_last_and_in_file_order() -> None:
    """A non-repeated field seen twice in one message: the last one wins (protobuf's rule)."""
    twice = (
        event_pb2.Event(step=1).SerializeToString() + event_pb2.Event(step=9).SerializeToString()
    )
    assert event_pb2.Event.FromString(twice).step == 9
    once = event_pb2.Event(step=4).SerializeToString()
    data = twice + once
    f = wire.scan(_u8(data), np.array([0, len(twice)]), np.array([len(twice), len(data)]))
    idx = f.where(2, wire.VARINT)
    ordered = wire.in_file_order(f, idx)
    assert f.start[ordered].tolist() == sorted(f.start[idx].tolist())
    out = np.zeros(2, dtype=np.int64)
    wire.assign_last(out, f, idx, f.value[idx].view(np.int64))
    assert out.tolist() == [9, 4]


@pytest.mark.parametrize("n_values", [1, 3])
def test_scan_nested_summary_values(n_values: int) -> None:
    event = event_pb2.Event(step=2)
    for i in range(n_values):
        event.summary.value.add(tag=f"t{i}", simple_value=float(i))
    data = event.SerializeToString()
    buf = _u8(data)
    ev = wire.scan(buf, np.array([0]), np.array([len(data)]))
    summ = ev.where(5, wire.LEN)
    sm = wire.scan(buf, ev.start[summ], ev.end[summ])
    vals = sm.where(1, wire.LEN)
    assert vals.size == n_values
    values = wire.scan(buf, sm.start[vals], sm.end[vals])
    tags = values.where(1, wire.LEN)
    got = [buf[values.start[i] : values.end[i]].tobytes().decode() for i in tags.tolist()]
    assert sorted(got) == [f"t{i}" for i in range(n_values)]
    simple = values.where(2, wire.I32)
    assert sorted(wire.gather(buf, values.start[simple], 4, "<f4").tolist()) == list(
        map(float, range(n_values))
    )
