"""TFRecord framing: CRCs, the pattern-guessing walk, the batched CRC check, header search."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from conftest import examples
from event_builders import frame_records
from hypothesis import given, settings
from hypothesis import strategies as st
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

from analyzer.reader import framing


def _records(lengths: list[int], seed: int = 0) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [rng.bytes(n) for n in lengths]


def _buf(lengths: list[int], seed: int = 0) -> np.ndarray:
    return np.frombuffer(frame_records(_records(lengths, seed)), dtype=np.uint8)


def _bad_one_by_one(arr: np.ndarray, frames: framing.Frames) -> list[int]:
    """The obvious per-record check: both CRCs of every frame."""
    data = arr.tobytes()
    out = []
    for i, (s, n) in enumerate(zip(frames.starts.tolist(), frames.lengths.tolist(), strict=True)):
        header_ok = (
            framing.masked_crc(data[s - 12 : s - 4]) == struct.unpack_from("<I", data, s - 4)[0]
        )
        data_ok = framing.masked_crc(data[s : s + n]) == struct.unpack_from("<I", data, s + n)[0]
        if not (header_ok and data_ok):
            out.append(i)
    return out


def test_masked_crc_matches_tensorboard() -> None:
    for data in (b"", b"a", b"\x00" * 8, bytes(range(256)) * 3):
        assert framing.masked_crc(data) == masked_crc32c(data)
    assert framing.masked_crc(b"") == 0xA282EAD8  # crc32c("") == 0, masked


def test_frame_matches_tensorboards_record_writer() -> None:
    for record in (b"", b"x", b"hello world" * 100):
        assert framing.frame(record) == frame_records([record])


def test_unmask_inverts_the_mask() -> None:
    crcs = np.array([0, 1, 0xFFFFFFFF, 0x12345678, 0xA282EAD8], dtype=np.uint32)
    masked = np.array(
        [(((int(c) >> 15) | (int(c) << 17)) + 0xA282EAD8) & 0xFFFFFFFF for c in crcs],
        dtype=np.uint32,
    )
    assert framing.unmask(masked).tolist() == crcs.tolist()


@pytest.mark.parametrize(
    "lengths",
    [
        [],
        [0],
        [5, 0, 3],
        [20] * 3000,  # one record per step: period 1
        [30, 31, 32] * 2000,  # a few tags per step
        [24, 25, 26, 27, 28, 29, 30] * 300 + [99] + [24, 25] * 700,  # pattern breaks, a new one
        list(range(1, 400)),  # irregular
        [40] * 500 + list(range(1, 300)) + [40] * 500,
        [7] * 130 + [8] + [7] * 5000,  # the pattern breaks right after the first guess
    ],
    ids=[
        "empty",
        "one-empty",
        "short",
        "period1",
        "period3",
        "break",
        "irregular",
        "mixed",
        "late",
    ],
)
def test_walk_equals_walk_simple(lengths: list[int]) -> None:
    arr = _buf(lengths)
    fast, simple = framing.walk(arr.tobytes()), framing.walk_simple(arr.tobytes())
    assert fast.starts.tolist() == simple.starts.tolist()
    assert fast.lengths.tolist() == lengths
    assert fast.end == simple.end == arr.size
    assert fast.starts.dtype == fast.lengths.dtype == np.int64


def test_walk_stops_before_a_frame_that_does_not_fit() -> None:
    lengths = [16] * 1000
    data = _buf(lengths).tobytes()
    for cut in (1, 5, 12, 13, 31):
        part = data[:-cut]
        fast, simple = framing.walk(part), framing.walk_simple(part)
        assert fast.starts.tolist() == simple.starts.tolist()
        assert fast.starts.size == 999
        assert fast.end == simple.end == 999 * 32


def test_walk_from_an_offset_and_with_a_record_limit() -> None:
    data = b"junk!" + _buf([3, 4, 5]).tobytes()
    frames = framing.walk(data, start=5)
    assert frames.starts.tolist() == [17, 36, 56]
    assert frames.lengths.tolist() == [3, 4, 5]
    limited = framing.walk_simple(data, 5, max_records=2)
    assert limited.starts.tolist() == [17, 36]
    assert limited.end == 5 + 19 + 20


@settings(max_examples=examples(60), deadline=None)
@given(
    pattern=st.lists(st.integers(0, 60), min_size=1, max_size=8),
    repeats=st.integers(1, 400),
    tail=st.lists(st.integers(0, 200), max_size=40),
    cut=st.integers(0, 40),
)
def test_walk_equals_walk_simple_on_random_patterns(
    pattern: list[int], repeats: int, tail: list[int], cut: int
) -> None:
    lengths = pattern * repeats + tail
    data = frame_records(b"\x01" * n for n in lengths)
    data = data[: len(data) - cut]
    fast, simple = framing.walk(data), framing.walk_simple(data)
    assert fast.starts.tolist() == simple.starts.tolist()
    assert fast.lengths.tolist() == simple.lengths.tolist()
    assert fast.end == simple.end


def test_bad_records_finds_nothing_in_a_clean_buffer() -> None:
    arr = _buf([0, 1, 2, 3, 4, 5, 100, 3] * 50)
    frames = framing.walk(arr.tobytes())
    assert framing.bad_records(arr, frames.starts, frames.lengths).tolist() == []
    assert framing.bad_records(arr, frames.starts[:0], frames.lengths[:0]).tolist() == []


@pytest.mark.parametrize("where", ["data", "header_crc", "footer", "length_crc_of_short"])
def test_bad_records_finds_each_kind_of_damage(where: str) -> None:
    lengths = [10, 2, 10, 0, 10] * 40
    arr = _buf(lengths).copy()
    frames = framing.walk(arr.tobytes())
    s, n = int(frames.starts[101]), int(frames.lengths[101])  # a 2-byte record
    victim = {"data": s, "header_crc": s - 2, "footer": s + n + 3, "length_crc_of_short": s - 4}
    if where == "data":
        s, n = int(frames.starts[100]), int(frames.lengths[100])
        victim["data"] = s + 9
    arr[victim[where]] ^= 0x40
    bad = framing.bad_records(arr, frames.starts, frames.lengths)
    assert bad.tolist() == [100 if where == "data" else 101]


@settings(max_examples=examples(40), deadline=None)
@given(
    lengths=st.lists(st.integers(0, 40), min_size=1, max_size=300),
    flips=st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 7)), max_size=12),
)
def test_bad_records_agrees_with_a_per_record_check(
    lengths: list[int], flips: list[tuple[int, int]]
) -> None:
    arr = _buf(lengths).copy()
    frames = framing.walk(arr.tobytes())  # walk the clean buffer; corrupt anything but lengths
    length_bytes = {int(s) - 12 + k for s in frames.starts for k in range(8)}
    for pos, bit in flips:
        pos %= arr.size
        if pos not in length_bytes:
            arr[pos] ^= 1 << bit
    expected = _bad_one_by_one(arr, frames)
    assert framing.bad_records(arr, frames.starts, frames.lengths).tolist() == expected


def test_bad_records_across_many_spans() -> None:
    """More records than one pure-CRC span: the split must find every bad one."""
    n = framing._SPAN_RECORDS + 5000
    lengths = [6] * n
    arr = np.frombuffer(frame_records([b"abcdef"] * n), dtype=np.uint8).copy()
    frames = framing.walk(arr.tobytes())
    victims = [0, 1, 4095, framing._SPAN_RECORDS - 1, framing._SPAN_RECORDS, n - 1]
    for i in victims:
        arr[int(frames.starts[i]) + 2] ^= 0xFF
    assert framing.bad_records(arr, frames.starts, frames.lengths).tolist() == victims
    assert frames.lengths.tolist() == lengths


def test_header_crc_ok() -> None:
    arr = _buf([5, 6])
    assert framing.header_crc_ok(arr, np.array([0, 21])).tolist() == [True, True]
    assert framing.header_crc_ok(arr, np.array([1, 20, 22])).tolist() == [False, False, False]


def test_find_header() -> None:
    garbage = b"\x00\x01\x02" * 7 + b"\xff"
    data = garbage + _buf([5, 6]).tobytes()
    arr = np.frombuffer(data, dtype=np.uint8)
    assert framing.find_header(arr, 0) == len(garbage)
    assert framing.find_header(arr, len(garbage)) == len(garbage)
    assert framing.find_header(arr, len(garbage) + 1) == len(garbage) + 21
    assert framing.find_header(arr, len(garbage) + 22) is None
    # a small window: the search crosses windows
    assert framing.find_header(arr, 0, window=3) == len(garbage)
    assert framing.find_header(np.zeros(11, dtype=np.uint8), 0) is None


def test_find_header_at_the_very_end() -> None:
    header = struct.pack("<Q", 100)
    data = b"\x07" * 30 + header + struct.pack("<I", framing.masked_crc(header))
    arr = np.frombuffer(data, dtype=np.uint8)
    assert framing.find_header(arr, 0, window=7) == 30
