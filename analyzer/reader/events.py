"""One event file: its bytes in, decoded chunks and a list of problems out.

Nothing is lost silently: a record that fails its CRC is skipped and counted, a corrupt
header is skipped by searching for the next valid one, an incomplete last record (a run still
being written, or a writer that crashed) ends the file, and each of these becomes a
:class:`Problem` with a one-line message naming the file.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Literal

import numpy as np

from . import framing
from .proto import Chunk, decode
from .tags import TagTable

ProblemKind = Literal[
    "empty",
    "lfs_pointer",
    "not_event_file",
    "unreadable",
    "special_file",
    "skipped_prefix",
    "corrupt_header",
    "crc_mismatch",
    "malformed",
    "truncated",
    "no_header",
]

# Bytes read per block. Records decoded per batch: bounds the temporary arrays (a few hundred
# bytes per record) while keeping numpy's per-call overhead negligible.
BLOCK_BYTES = 16 << 20
_GAPS_LISTED = 10  # corrupt headers reported one by one; the rest are summed up in one line
CHUNK_RECORDS = 1 << 16
# An Event is a protobuf message, and protobuf cannot encode one of 2 GiB or more: a header
# declaring more is corrupt, whatever its CRC says (one in 2^32 random headers passes it).
MAX_RECORD_BYTES = (1 << 31) - 1
# A file with no valid record in its first bytes is not an event file: the search for a
# first header stops there (a real file starts with one; a damaged one within a record).
FIRST_RECORD_SCAN = BLOCK_BYTES
_LFS_MAGIC = b"version https://git-lfs"

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with one file; ``fatal`` when nothing could be read from it."""

    path: str
    kind: ProblemKind
    message: str
    fatal: bool = False

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True, slots=True)
class FileRead:
    """What one event file held."""

    path: str
    records: int
    chunks: tuple[Chunk, ...]
    problems: tuple[Problem, ...] = field(default=())


def read_event_bytes(path: str, data: bytes, tags: TagTable, *, check_crc: bool = True) -> FileRead:
    """Decode the event file ``data`` (read from ``path``, which is only used in messages)."""
    return read_event_stream(path, io.BytesIO(data), tags, check_crc=check_crc)


def read_event_stream(
    path: str,
    stream: BinaryIO,
    tags: TagTable,
    *,
    check_crc: bool = True,
    sink: Callable[[Chunk], None] | None = None,
) -> FileRead:
    """Decode an event file from a binary stream, a block at a time.

    Memory stays bounded by the block size (or the largest record), whatever the file's size.
    With a ``sink``, each decoded chunk is handed to it as soon as it is decoded and not kept
    (``FileRead.chunks`` is then empty): the caller keeps only what it needs of each.
    """
    reader = _StreamReader(path, stream, tags, check_crc, sink)
    if not reader.buf:
        return FileRead(path, 0, (), (Problem(path, "empty", "empty file (0 bytes)", True),))
    if reader.buf[: len(_LFS_MAGIC)] == _LFS_MAGIC:
        msg = "a Git LFS pointer, not an event file (fetch the real file with `git lfs pull`)"
        return FileRead(path, 0, (), (Problem(path, "lfs_pointer", msg, True),))
    reader.run()
    problems = reader.problems
    summary = reader.gap_summary()
    if summary is not None:
        problems.append(summary)
    if reader.gave_up:
        msg = (
            f"not a TensorBoard event file (no valid record in its first {FIRST_RECORD_SCAN} bytes)"
        )
        return FileRead(path, 0, (), (Problem(path, "not_event_file", msg, True),))
    if reader.records == 0 and not any(p.kind == "truncated" for p in problems):
        msg = f"not a TensorBoard event file (no valid record in {reader.consumed} bytes)"
        return FileRead(path, 0, (), (Problem(path, "not_event_file", msg, True),))
    if reader.crc_failures:
        problems.append(
            Problem(
                path,
                "crc_mismatch",
                f"{reader.crc_failures} records failed their CRC check and were skipped "
                f"(first at byte {reader.first_crc_failure})",
            )
        )
    malformed = reader.malformed
    if malformed:
        problems.append(
            Problem(
                path, "malformed", f"{malformed} records are not valid Event protobufs; skipped"
            )
        )
    if reader.records and not reader.file_versions:
        problems.append(
            Problem(
                path,
                "no_header",
                "no file_version record: an old writer, or a file that starts mid-log",
            )
        )
    if reader.records == 0:
        for i, p in enumerate(problems):
            if p.kind == "truncated":
                problems[i] = Problem(path, p.kind, p.message, True)
    return FileRead(path, reader.records, tuple(reader.chunks), tuple(problems))


def _plausible_length_prefix(head: bytes | memoryview) -> bool:
    """Whether ``head`` (under 12 bytes) can begin a frame header still being written.

    A record length is a little-endian uint64; no event record comes near 2^32 bytes, so its
    upper four bytes are zero. Bytes that break this are garbage, not a cut-off header.
    """
    return not any(head[4:8])


class _StreamReader:
    """The state of one streaming read (private; the result is a frozen :class:`FileRead`).

    ``buf`` holds the bytes from file offset ``base`` on; ``pos`` is where the next frame
    starts in it. While ``skipping_from`` is set, we are looking for a valid header after a
    corrupt one that started at that file offset.

    Every block is read into the same ``bytearray`` (``buf`` is a view of it): a fresh
    buffer per block costs a page fault per 4 KiB touched, which on a small VM is as much CPU
    as decoding a file of plain scalars. Nothing decoded keeps a view of ``buf``. The buffer
    is as large as the first block read, so a small file never allocates a whole block.
    """

    def __init__(
        self,
        path: str,
        stream: BinaryIO,
        tags: TagTable,
        check_crc: bool,
        sink: Callable[[Chunk], None] | None = None,
    ) -> None:
        self.path, self.stream, self.tags, self.check_crc = path, stream, tags, check_crc
        self.sink = sink
        self.malformed = 0  # records that passed their CRC but are not Events
        self.file_versions = 0  # file_version records seen
        self._store = _first_block(stream)
        self.buf = memoryview(self._store)
        self.base, self.pos = 0, 0
        self.eof = len(self._store) < BLOCK_BYTES
        self.skipping_from: int | None = None
        self.chunks: list[Chunk] = []
        self.problems: list[Problem] = []
        self.records = 0
        self.crc_failures = 0
        self.first_crc_failure = -1
        self.gaps = 0  # corrupt headers skipped
        self.gave_up = False  # no first record within FIRST_RECORD_SCAN bytes
        # Set while skipping a header whose record runs past the end of the file: with no
        # valid header after it, it is the last record, still being written.
        self.past_end_from: int | None = None
        self.gap_bytes = 0

    @property
    def consumed(self) -> int:
        return self.base + len(self.buf)

    def run(self) -> None:
        while True:
            if self.skipping_from is None:
                self._read_frames()
            if self.skipping_from is not None:
                self._look_for_header()
                if self.skipping_from is None:
                    continue
                if self.records == 0 and self.consumed >= FIRST_RECORD_SCAN:
                    self.gave_up = True
                    return
            if self.eof:
                if not self._finish():
                    return
                continue
            self._refill()

    def _read_frames(self) -> None:
        arr = np.frombuffer(self.buf, dtype=np.uint8)
        frames = framing.walk(self.buf, self.pos)
        starts, lengths, end = frames.starts, frames.lengths, frames.end
        if self.check_crc and starts.size:
            bad = framing.bad_records(arr, starts, lengths)
            if bad.size:
                header_ok = framing.header_crc_ok(arr, starts[bad] - framing.HEADER_BYTES)
                broken = bad[~header_ok]
                if broken.size:
                    # A corrupt length: the frames after it are garbage. Keep what came
                    # before; look for the next valid header.
                    cut = int(broken[0])
                    end = int(starts[cut]) - framing.HEADER_BYTES
                    bad = bad[bad < cut]
                    starts, lengths = starts[:cut], lengths[:cut]
                    self.skipping_from = self.base + end
                if bad.size:
                    self.crc_failures += int(bad.size)
                    if self.first_crc_failure < 0:
                        self.first_crc_failure = self.base + int(starts[bad[0]]) - 12
                    keep = np.ones(starts.size, dtype=bool)
                    keep[bad] = False
                    starts, lengths = starts[keep], lengths[keep]
        for i in range(0, starts.size, CHUNK_RECORDS):
            part = slice(i, i + CHUNK_RECORDS)
            chunk = decode(arr, starts[part], lengths[part], self.tags)
            self.malformed += chunk.malformed
            self.file_versions += len(chunk.file_versions)
            if self.sink is not None:
                self.sink(chunk)
            else:
                self.chunks.append(chunk)
        self.records += int(starts.size)
        self.pos = end + 1 if self.skipping_from is not None else end

    def _look_for_header(self) -> None:
        arr = np.frombuffer(self.buf, dtype=np.uint8)
        found = framing.find_header(arr, self.pos)
        if found is not None:
            self._report_gap(self.base + found)
            self.pos = found
        else:
            # Keep the last bytes: a header may straddle the next block boundary.
            self.pos = max(self.pos, len(self.buf) - framing.HEADER_BYTES + 1)

    def _finish(self) -> bool:
        """At the end of the file: report what is left over; False when done."""
        if self.skipping_from is not None:
            if self.skipping_from == self.past_end_from:
                self._report_truncated(self.skipping_from, self.consumed - self.skipping_from)
                return False
            self._report_gap(None)
            return False
        left = len(self.buf) - self.pos
        if left == 0:
            return False
        if left >= framing.HEADER_BYTES:
            # A header whose record does not end within the file: the last record, still
            # being written, unless a valid header follows (then this one is corrupt).
            self.skipping_from = self.base + self.pos
            if self._header_ok():
                self.past_end_from = self.skipping_from
            self.pos += 1
            return True
        if left < framing.HEADER_BYTES and not _plausible_length_prefix(self.buf[self.pos :]):
            # Too short for a header and not the start of one: garbage, not a cut-off record.
            self.skipping_from = self.base + self.pos
            self._report_gap(None)
            return False
        self._report_truncated(self.base + self.pos, left)
        return False

    def _report_truncated(self, at: int, left: int) -> None:
        self.problems.append(
            Problem(
                self.path,
                "truncated",
                f"last record incomplete at byte {at} ({left} bytes; file still being "
                "written, or the writer stopped mid-record); everything before it was read",
            )
        )

    def _header_ok(self) -> bool:
        """Whether the header at ``pos`` can start a record: its CRC passes (when checked)
        and its length is one an Event can have."""
        (length,) = struct.unpack_from("<Q", self.buf, self.pos)
        if length > MAX_RECORD_BYTES:
            return False
        if not self.check_crc:
            return True
        arr = np.frombuffer(self.buf, dtype=np.uint8)
        return bool(framing.header_crc_ok(arr, np.array([self.pos]))[0])

    def _refill(self) -> None:
        want = 1  # at least one more byte; as many as the buffer holds are read
        left = len(self.buf) - self.pos
        if self.skipping_from is None and left >= framing.HEADER_BYTES:
            if not self._header_ok():
                self.skipping_from = self.base + self.pos
                self.pos += 1
                return
            (length,) = struct.unpack_from("<Q", self.buf, self.pos)
            # One record larger than a block: read all of it. A declared length is trusted
            # only after its CRC passed, and never beyond what the file holds: a record that
            # cannot end within the file is the last one, still being written, or comes from
            # a corrupt header; a valid header after it tells which (see _finish).
            want = max(want, length + framing.FRAME_OVERHEAD - left)
            size = _size_of(self.stream)
            if size is not None and want > size - self.consumed:
                self.skipping_from = self.past_end_from = self.base + self.pos
                self.pos += 1
                return
        self._fill(want)

    def _fill(self, want: int) -> None:
        """Move the bytes not yet used to the front, then fill the buffer (at least ``want``
        more bytes, unless the file ends first)."""
        left = len(self.buf) - self.pos
        space = len(self._store) - left
        if want > space:
            # A record larger than the buffer: read it a block at a time, so that a huge
            # declared length never allocates more than the file holds.
            more = _read_up_to(self.stream, want)
            store = bytearray(left + len(more))
            store[:left] = self.buf[self.pos :]
            store[left:] = more
            self._store = store
            got, space = len(more), want
        else:
            memoryview(self._store)[:left] = self.buf[self.pos :]  # overlapping: a memmove
            got = _read_into(self.stream, memoryview(self._store)[left:])
        self.buf = memoryview(self._store)[: left + got]
        self.base += self.pos
        self.pos = 0
        if got < space:
            self.eof = True

    def _report_gap(self, stop: int | None) -> None:
        start = self.skipping_from
        assert start is not None
        self.skipping_from = None
        end = self.consumed if stop is None else stop
        if start == 0:
            msg = f"does not start with a record: skipped {end} bytes to the first valid one"
            self.problems.append(Problem(self.path, "skipped_prefix", msg))
            return
        self.gaps += 1
        self.gap_bytes += end - start
        if self.gaps > _GAPS_LISTED:
            return  # summed up by gap_summary()
        where = "the end of the file" if stop is None else f"the next valid record at byte {stop}"
        msg = f"corrupt record header at byte {start}: skipped {end - start} bytes to {where}"
        self.problems.append(Problem(self.path, "corrupt_header", msg))

    def gap_summary(self) -> Problem | None:
        """One line for the corrupt headers beyond the first few listed one by one."""
        more = self.gaps - _GAPS_LISTED
        if more <= 0:
            return None
        msg = f"{more} more corrupt record headers ({self.gap_bytes} bytes skipped in all)"
        return Problem(self.path, "corrupt_header", msg)


def _size_of(stream: BinaryIO) -> int | None:
    """The size of the file behind ``stream`` now, if it can be known (asked each time: a
    file being written grows)."""
    if isinstance(stream, io.BytesIO):
        with stream.getbuffer() as view:
            return view.nbytes
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        pass
    size = getattr(stream, "size", None)  # fsspec's remote files
    return size if isinstance(size, int) else None


def _first_block(stream: BinaryIO) -> bytearray:
    """The first block of the file (all of a smaller file), read straight into the buffer
    kept for the whole read (not read as bytes and copied: 16 MB less to copy and touch)."""
    size = _size_of(stream)
    if size is None:
        return bytearray(_read_up_to(stream, BLOCK_BYTES))
    store = bytearray(min(size, BLOCK_BYTES))
    got = _read_into(stream, memoryview(store))
    if got < len(store):  # the file shrank since its size was asked
        del store[got:]
    return store


def _read_up_to(stream: BinaryIO, size: int) -> bytes:
    """``size`` bytes of ``stream``, or all that is left, read a block at a time (file objects
    allocate the size asked for up front)."""
    parts: list[bytes] = []
    while size > 0:
        part = stream.read(min(size, BLOCK_BYTES))
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _read_into(stream: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from ``stream``, or as much of it as the stream has left; bytes read.

    Reads until the view is full or the stream ends (a stream may return fewer bytes than
    asked before its end, as network streams do), a block at a time.
    """
    readinto = getattr(stream, "readinto", None)
    got = 0
    while got < len(view):
        want = min(len(view) - got, BLOCK_BYTES)
        if readinto is not None:
            n = readinto(view[got : got + want])
        else:
            part = stream.read(want)
            n = len(part)
            view[got : got + n] = part
        if not n:
            break
        got += n
    return got


def raw_scalars(read: FileRead, tags: TagTable) -> pd.DataFrame:
    """A file's scalars in write order, before restarts are resolved (for tests and export
    of raw data): tag, step, wall_time, value."""
    import pandas as pd

    parts = [
        pd.DataFrame(
            {
                "tag": np.array(tags.names, dtype=object)[c.scalar_tag],
                "step": c.scalar_step,
                "wall_time": c.scalar_wall_time,
                "value": c.scalar_value,
            }
        )
        for c in read.chunks
    ]
    if not parts:
        return pd.DataFrame(columns=["tag", "step", "wall_time", "value"])
    return pd.concat(parts, ignore_index=True)
