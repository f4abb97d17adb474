"""One event file read from bytes or a stream, and everything that can be wrong with it."""

from __future__ import annotations

import io
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from event_builders import (
    event_file_bytes,
    f32,
    frame_offsets,
    header_event,
    problem_kinds,
    read_bytes,
    scalar_event,
)

from analyzer.reader import events, framing, read_logdir
from analyzer.reader.events import Problem, raw_scalars, read_event_stream
from analyzer.reader.tags import TagTable

N = 10  # points in the standard file


def _good() -> bytes:
    """A header and ten scalar records: steps 0..9, value = step / 4."""
    return event_file_bytes(
        [header_event(), *(scalar_event(s, 100.0 + s, {"loss": s / 4}) for s in range(N))]
    )


def _steps(data: bytes) -> list[int]:
    return read_bytes(data)[1]["step"].tolist()


def _huge_header(length: int = 2**60) -> bytes:
    """A frame header declaring ``length`` bytes, with a valid length CRC."""
    raw = struct.pack("<Q", length)
    return raw + struct.pack("<I", framing.masked_crc(raw))


def test_a_good_file() -> None:
    read, scalars = read_bytes(_good(), "run/events.out.tfevents.1")
    assert read.path == "run/events.out.tfevents.1"
    assert read.records == N + 1
    assert read.problems == ()
    assert list(scalars.columns) == ["tag", "step", "wall_time", "value"]
    assert scalars["step"].tolist() == list(range(N))
    assert scalars["wall_time"].tolist() == [100.0 + s for s in range(N)]
    assert scalars["value"].tolist() == [s / 4 for s in range(N)]


def test_truncated_last_record() -> None:
    data = _good()
    last = frame_offsets(data)[-1]
    for cut in (1, 4, len(data) - last - 12, len(data) - last - 5):  # in data, in header
        read, scalars = read_bytes(data[:-cut])
        assert scalars["step"].tolist() == list(range(N - 1))
        (problem,) = read.problems
        assert (problem.kind, problem.fatal) == ("truncated", False)
        left = len(data) - cut - last
        assert problem.message == (
            f"last record incomplete at byte {last} ({left} bytes; file still being written, "
            "or the writer stopped mid-record); everything before it was read"
        )


def test_crc_mismatch_in_the_middle_skips_that_record() -> None:
    data = bytearray(_good())
    offsets = frame_offsets(bytes(data))
    data[offsets[4] + 12 + 3] ^= 0x01  # a byte of record 4's data: the event at step 3
    read, scalars = read_bytes(bytes(data))
    assert scalars["step"].tolist() == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert read.records == N
    (problem,) = read.problems
    assert problem.kind == "crc_mismatch"
    assert problem.message == (
        f"1 records failed their CRC check and were skipped (first at byte {offsets[4]})"
    )


def test_several_crc_mismatches_are_counted() -> None:
    data = bytearray(_good())
    offsets = frame_offsets(bytes(data))
    for i in (2, 5, 9):
        data[offsets[i + 1] - 1] ^= 0x80  # the data CRC of record i
    read, scalars = read_bytes(bytes(data))
    assert scalars["step"].tolist() == [0, 2, 3, 5, 6, 7, 9]
    assert problem_kinds(read) == ["crc_mismatch"]
    assert read.problems[0].message.startswith("3 records failed their CRC check")


@pytest.mark.parametrize("byte", [0, 3, 7, 8, 11], ids=lambda b: f"header-byte-{b}")
def test_corrupt_length_header_in_the_middle_resyncs(byte: int) -> None:
    data = bytearray(_good())
    offsets = frame_offsets(bytes(data))
    data[offsets[5] + byte] ^= 0x10
    read, scalars = read_bytes(bytes(data))
    assert scalars["step"].tolist() == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    (problem,) = read.problems
    assert problem.kind == "corrupt_header"
    assert problem.message == (
        f"corrupt record header at byte {offsets[5]}: skipped {offsets[6] - offsets[5]} bytes "
        f"to the next valid record at byte {offsets[6]}"
    )


def test_corrupt_header_of_the_last_record() -> None:
    data = bytearray(_good())
    offsets = frame_offsets(bytes(data))
    data[offsets[-1] + 1] ^= 0xFF
    read, scalars = read_bytes(bytes(data))
    assert scalars["step"].tolist() == list(range(N - 1))
    (problem,) = read.problems
    assert problem.kind == "corrupt_header"
    assert problem.message == (
        f"corrupt record header at byte {offsets[-1]}: skipped {len(data) - offsets[-1]} bytes "
        "to the end of the file"
    )


def test_garbage_before_the_first_record() -> None:
    read, scalars = read_bytes(b"\x00garbage before the log!" + _good())
    assert scalars["step"].tolist() == list(range(N))
    (problem,) = read.problems
    assert problem.kind == "skipped_prefix"
    assert (
        problem.message == "does not start with a record: skipped 24 bytes to the first valid one"
    )


def test_garbage_between_records() -> None:
    data = _good()
    offsets = frame_offsets(data)
    read, scalars = read_bytes(data[: offsets[3]] + b"\xde\xad" * 40 + data[offsets[3] :])
    assert scalars["step"].tolist() == list(range(N))
    assert problem_kinds(read) == ["corrupt_header"]


def test_empty_file() -> None:
    read, scalars = read_bytes(b"", "x/events.out.tfevents.1")
    assert read.records == 0
    assert scalars.empty
    assert list(scalars.columns) == ["tag", "step", "wall_time", "value"]
    assert read.problems == (
        Problem("x/events.out.tfevents.1", "empty", "empty file (0 bytes)", True),
    )
    assert str(read.problems[0]) == "x/events.out.tfevents.1: empty file (0 bytes)"


@pytest.mark.parametrize("size", [12, 100, 5000, 100_000])
def test_random_bytes_are_not_an_event_file(size: int) -> None:
    data = np.random.default_rng(size).bytes(size)
    read, scalars = read_bytes(data, "r")
    assert scalars.empty
    assert read.records == 0
    (problem,) = read.problems
    assert (problem.kind, problem.fatal) == ("not_event_file", True)
    assert problem.message == f"not a TensorBoard event file (no valid record in {size} bytes)"
    assert "\n" not in str(problem)


def test_git_lfs_pointer() -> None:
    pointer = (
        b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 1234\n"
    )
    read, _ = read_bytes(pointer)
    (problem,) = read.problems
    assert (problem.kind, problem.fatal) == ("lfs_pointer", True)
    assert problem.message == (
        "a Git LFS pointer, not an event file (fetch the real file with `git lfs pull`)"
    )


def test_no_file_version_header() -> None:
    data = event_file_bytes([scalar_event(s, 1.0, {"x": s}) for s in range(3)])
    read, scalars = read_bytes(data)
    assert scalars["step"].tolist() == [0, 1, 2]
    (problem,) = read.problems
    assert (problem.kind, problem.fatal) == ("no_header", False)
    assert problem.message == "no file_version record: an old writer, or a file that starts mid-log"


def test_a_record_that_is_not_an_event() -> None:
    data = _good() + framing.frame(b"\xff\xff\xff\xff")
    read, scalars = read_bytes(data)
    assert scalars["step"].tolist() == list(range(N))
    (problem,) = read.problems
    assert (problem.kind, problem.message) == (
        "malformed", "1 records are not valid Event protobufs; skipped",
    )  # fmt: skip


def test_huge_declared_length_does_not_allocate() -> None:
    """2^60 bytes is no Event (protobuf caps a message under 2 GiB): a corrupt header, even
    with a valid CRC, skipped like any other; nothing is allocated for it."""
    data = _good() + _huge_header() + b"x" * 100
    start = time.perf_counter()
    read, scalars = read_bytes(data)
    assert time.perf_counter() - start < 1.0
    assert scalars["step"].tolist() == list(range(N))
    (problem,) = read.problems
    assert problem.kind == "corrupt_header"
    assert problem.message == (
        f"corrupt record header at byte {len(_good())}: skipped 112 bytes to the end of the file"
    )
    alone, _ = read_bytes(_huge_header(2**64 - 1))
    assert [(p.kind, p.fatal) for p in alone.problems] == [("not_event_file", True)]


def test_huge_first_header_does_not_hide_the_records_after_it() -> None:
    """Issue #14 case 7: a first header declaring 2^62 bytes with a valid CRC used to be taken
    for a record still being written, and nothing after it was read."""
    read, scalars = read_bytes(_huge_header(2**62) + _good())
    assert scalars["step"].tolist() == list(range(N))
    assert problem_kinds(read) == ["skipped_prefix"]


@pytest.mark.parametrize("length", [1000, events.MAX_RECORD_BYTES])
def test_plausible_length_past_the_end_is_a_record_being_written(length: int) -> None:
    """A length an Event can have, running past the end of the file, with no valid header
    after it: the last record, still being written. Only the file's bytes are read."""
    data = _good() + _huge_header(length) + b"x" * 100
    read, scalars = read_bytes(data)
    assert scalars["step"].tolist() == list(range(N))
    (problem,) = read.problems
    assert problem.kind == "truncated"
    assert problem.message.startswith(f"last record incomplete at byte {len(_good())} (112 bytes;")


def test_plausible_length_past_the_end_with_records_after_it_is_a_corrupt_header() -> None:
    """A valid header after a record that cannot end within the file: that record's header
    was corrupt, and the records after it are read."""
    data = _good() + _huge_header(10_000) + _good()
    read, scalars = read_bytes(data)
    assert scalars["step"].tolist() == list(range(N)) * 2
    assert problem_kinds(read) == ["corrupt_header"]


def test_huge_declared_length_in_a_real_file(tmp_path: Path) -> None:
    """Read through a real file object: ``read(2**60)`` on it would allocate 2**60 bytes."""
    (tmp_path / "events.out.tfevents.1").write_bytes(_good() + _huge_header(5000) + b"x" * 100)
    start = time.perf_counter()
    (run,) = read_logdir(str(tmp_path)).runs
    assert time.perf_counter() - start < 2.0
    assert run.scalars["step"].tolist() == list(range(N))
    assert [p.kind for p in run.problems] == ["truncated"]


def test_no_first_record_in_the_first_bytes_is_not_an_event_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue #14 case 2: the search for a first record is bounded (a device or a huge file of
    garbage would be scanned to its end, or for ever)."""
    # The bound scaled down from 16 MiB (2.6 CPU-s of zeros searched) and read in blocks
    # smaller than it, so that it is checked across blocks; the real bound, on a real file:
    # test_reader_hostile.py::test_a_regular_file_of_zeros_is_refused_after_the_first_bytes.
    monkeypatch.setattr(events, "FIRST_RECORD_SCAN", 256 << 10)
    monkeypatch.setattr(events, "BLOCK_BYTES", 64 << 10)
    data = bytes(events.FIRST_RECORD_SCAN + (1 << 20)) + _good()
    read, scalars = read_bytes(data)
    assert scalars.empty
    (problem,) = read.problems
    assert (problem.kind, problem.fatal) == ("not_event_file", True)
    assert problem.message == (
        f"not a TensorBoard event file (no valid record in its first "
        f"{events.FIRST_RECORD_SCAN} bytes)"
    )


def test_reading_in_small_blocks_gives_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks and chunks much smaller than the file: frames straddle block boundaries, a record
    is larger than a block, and a corrupt header is searched for across blocks."""
    big = scalar_event(50, 1.0, {"big" * 100: 1.0})
    data = bytearray(
        event_file_bytes(
            [header_event(), *(scalar_event(s, 1.0, {"loss": s / 4}) for s in range(N)), big]
            + [scalar_event(s, 2.0, {"acc": s}) for s in range(100, 150)]
        )
    )
    offsets = frame_offsets(bytes(data))
    data[offsets[30] + 2] ^= 0x01  # corrupt header: record 30 (acc step 118) is lost
    data[offsets[40] + 14] ^= 0x01  # a CRC mismatch: record 40 (acc step 128) is skipped
    whole_read, whole = read_bytes(bytes(data))
    monkeypatch.setattr(events, "BLOCK_BYTES", 64)
    monkeypatch.setattr(events, "CHUNK_RECORDS", 3)
    tags = TagTable()
    read = read_event_stream("f", io.BytesIO(bytes(data)), tags)
    small = raw_scalars(read, tags)
    assert small.astype({"tag": str}).values.tolist() == whole.astype({"tag": str}).values.tolist()
    assert [(p.kind, p.message) for p in read.problems] == [
        (p.kind, p.message) for p in whole_read.problems
    ]
    assert problem_kinds(read) == ["corrupt_header", "crc_mismatch"]
    expected = [s for s in range(100, 150) if s not in (118, 128)]
    assert small[small["tag"] == "acc"]["step"].tolist() == expected
    assert len(read.chunks) > 5


def test_without_crc_checks_corrupt_data_is_still_decoded() -> None:
    data = bytearray(_good())
    offsets = frame_offsets(bytes(data))
    data[offsets[2] - 1] ^= 0xFF  # only the data CRC of record 1 (step 0) is wrong
    tags = TagTable()
    read = events.read_event_bytes("f", bytes(data), tags, check_crc=False)
    assert raw_scalars(read, tags)["step"].tolist() == list(range(N))
    assert read.problems == ()
    checked, _ = read_bytes(bytes(data))
    assert problem_kinds(checked) == ["crc_mismatch"]


def test_values_survive_float32() -> None:
    data = event_file_bytes([scalar_event(1, 1.0, {"x": 0.1})])
    assert read_bytes(data)[1]["value"].tolist() == [f32(0.1)]
