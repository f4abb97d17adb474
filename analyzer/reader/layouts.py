"""Records that repeat one layout, read at fixed offsets instead of parsed.

A long log is mostly one kind of record over and over: a scalar of one tag at the next step.
Two such records of a tag have the same bytes but for three *holes*, wall_time, step and value::

    09 [wall_time: 8 bytes] 10 [step: varint] 2a 13 0a 11 0a 0a "train/loss" 15 [value: 4 bytes]

So one record, parsed field by field, gives a :class:`Layout`: its bytes, and a mask that is
0xFF on the bytes that must match, 0x00 on the wall_time and value bytes, and 0x80 on the step's
varint (its continuation bits, hence its length, must match; its payload may differ). Another
record of the same length that equals the layout under the mask has every field at the same
offset, so its values are read there directly, for all such records at once. Comparing 8-byte
words at a few fixed offsets costs a handful of numpy operations per record, where the general
lockstep scan (:mod:`.wire`) costs a dozen per field of every nested message.

Layouts of one length whose masks and holes are the same form a *shape*; its layouts differ
only in their constant bytes (mostly the tag). A record is matched to a layout of the shape by
looking up a hash of its masked words, then checked word by word, so a hash collision can only
send a record to the general path, never to the wrong layout.

What a record means is not decided here: the caller (:func:`.decode.decode`) parses one record
of each new layout with the general decoder and says where its holes are, or that it has none
(anything but a plain scalar event). Records that match no layout take the general path too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .wire import unaligned

MIN_RECORDS = 16  # records of one length in a batch before a layout is looked for
_LEARN_PER_LENGTH = 64  # new layouts tried per length and batch (a tag each, typically)
_FAILURES_PER_LENGTH = 16  # records of a length without a layout before that length is left
_MAX_SHAPES_PER_LENGTH = 8
_MAX_LAYOUTS = 4096  # a run with more distinct scalar records than this takes the general path
_MAX_LENGTH = 4096  # longer records (histograms, images) are never plain scalars


@dataclass(frozen=True, slots=True)
class Layout:
    """One record's bytes with its holes, and what the caller wants to know about it.

    Offsets are from the start of the record; ``wall_at`` is -1 and ``step_len`` 0 where the
    record has no wall_time or step field (proto3 leaves zeros out).
    """

    length: int
    data: bytes
    mask: bytes  # 0xFF: must match; 0x80: a varint byte's continuation bit; 0x00: free
    wall_at: int
    step_at: int
    step_len: int  # at most 8 bytes (steps below 2**56)
    value_at: int
    value_width: int  # 4: float32, 8: float64
    tag: int  # the caller's tag id
    needs_plugin: bool  # a tensor or metadata: usable only once its tag is known to be a scalar

    @property
    def holes(self) -> tuple[int, ...]:
        return (self.wall_at, self.step_at, self.step_len, self.value_at, self.value_width)


@dataclass(frozen=True, slots=True)
class Matched:
    """The records of a batch that follow a layout, in record order, and their values."""

    record: np.ndarray  # int64 index into the batch's starts
    layout: np.ndarray  # int64 index into LayoutCache.layouts
    wall_time: np.ndarray  # float64
    step: np.ndarray  # int64
    value: np.ndarray  # float64

    @staticmethod
    def none() -> Matched:
        empty = np.zeros(0, dtype=np.int64)
        return Matched(empty, empty, np.zeros(0), empty, np.zeros(0))

    def where(self, keep: np.ndarray) -> Matched:
        """Only the records where ``keep`` is true."""
        if keep.all():
            return self
        return Matched(
            self.record[keep],
            self.layout[keep],
            self.wall_time[keep],
            self.step[keep],
            self.value[keep],
        )


def _words(data: bytes) -> np.ndarray:
    """``data`` zero-padded to whole 8-byte words, as little-endian uint64."""
    padded = data + bytes(-len(data) % 8)
    return np.frombuffer(padded, dtype="<u8").copy()


def _word_count(length: int) -> int:
    return -(-length // 8)


@dataclass
class _Shape:
    """The layouts of one length that share mask and holes (mutable; grows as tags appear).

    A record is compared as ``W = ceil(length / 8)`` words read from its start; the bytes past
    its end (its CRC, the next record) fall under a zero mask.
    """

    length: int
    mask: bytes
    holes: tuple[int, ...]
    hits: int = 0  # records matched so far: shapes are tried most frequent first
    _mask_words: np.ndarray = field(init=False)
    _expected: np.ndarray = field(init=False)  # (layouts, W) masked words
    _expected_rows: np.ndarray = field(init=False)  # the same rows as one void item each
    _expected_cols: list[np.ndarray] = field(init=False)  # and as columns
    ids: np.ndarray = field(init=False)  # index of each layout in LayoutCache.layouts
    _hashes: np.ndarray = field(init=False)  # sorted hashes of the layouts' words
    _by_hash: np.ndarray = field(init=False)  # layout row of each sorted hash

    def __post_init__(self) -> None:
        self._mask_words = _words(self.mask)
        self._expected = np.zeros((0, self._mask_words.size), dtype=np.uint64)
        self.ids = np.zeros(0, dtype=np.int64)

    def add(self, data: bytes, layout_id: int) -> None:
        words = _words(data) & self._mask_words
        self._expected = np.vstack([self._expected, words[None, :]])
        self._expected_rows = _rows(self._expected)
        self._expected_cols = [np.ascontiguousarray(col) for col in self._expected.T]
        self.ids = np.append(self.ids, layout_id)
        h = self._hash(self._expected)
        self._by_hash = np.argsort(h, kind="stable")
        self._hashes = h[self._by_hash]

    def _hash(self, words: np.ndarray) -> np.ndarray:
        # A multiply-add over the words (wrapping): a different layout can share a hash, but
        # the comparison of all words that follows decides.
        coeffs = _HASH_COEFFS[: words.shape[1]]
        with np.errstate(over="ignore"):
            return words @ coeffs

    def match(self, words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(matches, layout row) for records given as their (records, W) words."""
        masked = words & self._mask_words
        if self.ids.size == 1:
            return _rows(masked) == self._expected_rows[0], np.zeros(masked.shape[0], np.int64)
        h = self._hash(masked)
        at = np.minimum(np.searchsorted(self._hashes, h), self._hashes.size - 1)
        row = self._by_hash[at]
        # The hash only found a candidate; the words decide (column by column: numpy
        # compares 1-D columns faster than rows of a matrix).
        ok = masked[:, 0] == self._expected_cols[0][row]
        for w in range(1, len(self._expected_cols)):
            ok &= masked[:, w] == self._expected_cols[w][row]
        return ok, row


def _rows(words: np.ndarray) -> np.ndarray:
    """Each row of a C-contiguous (n, W) uint64 matrix as one void item: one comparison per row."""
    words = np.ascontiguousarray(words)
    return words.view(f"V{8 * words.shape[1]}").ravel()


_HASH_COEFFS = np.random.default_rng(0x5EED).integers(
    1, 2**63, size=_word_count(_MAX_LENGTH), dtype=np.uint64
) | np.uint64(1)


Learner = Callable[[int, int], Layout | None]
"""Given a record's start and length, its layout, or None for a record that has none."""


@dataclass
class LayoutCache:
    """The layouts seen so far in one run (mutable, owned by one reader, like the tag table)."""

    layouts: list[Layout] = field(default_factory=list)
    _shapes: dict[int, list[_Shape]] = field(default_factory=dict)
    _failures: dict[int, int] = field(default_factory=dict)

    def tag_ids(self) -> np.ndarray:
        """The tag of each layout, by layout index."""
        return np.array([lay.tag for lay in self.layouts], dtype=np.int32)

    def match(
        self, arr: np.ndarray, starts: np.ndarray, lengths: np.ndarray, learn: Learner
    ) -> Matched:
        """The records at ``starts``/``lengths`` of ``arr`` that follow a layout, learning new
        layouts from records of frequent lengths that follow none yet."""
        found: list[tuple[np.ndarray, np.ndarray, _Shape]] = []
        if starts.size:
            counts = np.bincount(np.minimum(lengths, _MAX_LENGTH + 1))[: _MAX_LENGTH + 1]
            for length in np.flatnonzero(counts[8:]).tolist():
                length += 8
                known = self._shapes.get(length, [])
                if not known and (
                    counts[length] < MIN_RECORDS
                    or self._failures.get(length, 0) >= _FAILURES_PER_LENGTH
                ):
                    continue
                pending = np.flatnonzero(lengths == length)
                # The words of each record, read past its end to a whole word (the CRC and
                # the next record are there, under a zero mask); not past the buffer.
                size = 8 * _word_count(length)
                pending = pending[starts[pending] + size <= arr.shape[0]]
                if not pending.size:
                    continue
                whole = np.ndarray(
                    shape=(arr.shape[0] - size + 1,), dtype=f"V{size}", buffer=arr, strides=(1,)
                )
                words = whole[starts[pending]].view("<u8").reshape(pending.size, size // 8)
                known.sort(key=lambda shape: -shape.hits)
                for shape in known:
                    if not pending.size:
                        break
                    pending, words = self._take(shape, pending, words, found)
                if pending.size >= MIN_RECORDS:
                    self._learn(length, pending, words, found, learn, starts)
        return self._read(arr, starts, found)

    def _take(
        self,
        shape: _Shape,
        pending: np.ndarray,
        words: np.ndarray,
        found: list[tuple[np.ndarray, np.ndarray, _Shape]],
    ) -> tuple[np.ndarray, np.ndarray]:
        """Record the pending records that follow one of ``shape``'s layouts; the rest."""
        ok, row = shape.match(words)
        hits = int(np.count_nonzero(ok))
        if not hits:
            return pending, words
        shape.hits += hits
        found.append((pending[ok], shape.ids[row[ok]], shape))
        rest = ~ok
        return pending[rest], words[rest]

    def _learn(
        self,
        length: int,
        pending: np.ndarray,
        words: np.ndarray,
        found: list[tuple[np.ndarray, np.ndarray, _Shape]],
        learn: Learner,
        starts: np.ndarray,
    ) -> None:
        for _ in range(_LEARN_PER_LENGTH):
            if not pending.size or self._failures.get(length, 0) >= _FAILURES_PER_LENGTH:
                return
            if len(self.layouts) >= _MAX_LAYOUTS:
                return
            record = pending[0]
            layout = learn(int(starts[record]), length)
            shape = self._add(layout) if layout is not None else None
            if shape is not None:
                pending, words = self._take(shape, pending, words, found)
            if pending.size and pending[0] == record:  # no layout, or (a hash clash) no match
                self._failures[length] = self._failures.get(length, 0) + 1
                pending, words = pending[1:], words[1:]

    def _add(self, layout: Layout) -> _Shape | None:
        shapes = self._shapes.setdefault(layout.length, [])
        shape = next((s for s in shapes if s.mask == layout.mask and s.holes == layout.holes), None)
        if shape is None:
            if len(shapes) >= _MAX_SHAPES_PER_LENGTH:
                return None
            shape = _Shape(layout.length, layout.mask, layout.holes)
            shapes.append(shape)
        self.layouts.append(layout)
        shape.add(layout.data, len(self.layouts) - 1)
        return shape

    def _read(
        self,
        arr: np.ndarray,
        starts: np.ndarray,
        found: list[tuple[np.ndarray, np.ndarray, _Shape]],
    ) -> Matched:
        if not found:
            return Matched.none()
        u64, u32 = unaligned(arr, "<u8"), unaligned(arr, "<u4")
        records, layouts, walls, steps, values = [], [], [], [], []
        for record, layout_id, shape in found:
            pos = starts[record]
            wall_at, step_at, step_len, value_at, value_width = shape.holes
            n = pos.size
            walls.append(u64[pos + wall_at].view("<f8") if wall_at >= 0 else np.zeros(n))
            steps.append(_varints(u64, pos, step_at, step_len, shape.length))
            if value_width == 4:
                values.append(u32[pos + value_at].view("<f4").astype(np.float64))
            else:
                values.append(u64[pos + value_at].view("<f8"))
            records.append(record)
            layouts.append(layout_id)
        record = np.concatenate(records)
        order = np.argsort(record, kind="stable")  # a merge of a few sorted runs
        return Matched(
            record=record[order],
            layout=np.concatenate(layouts)[order],
            wall_time=np.concatenate(walls)[order],
            step=np.concatenate(steps)[order],
            value=np.concatenate(values)[order],
        )


def _varints(u64: np.ndarray, pos: np.ndarray, at: int, size: int, length: int) -> np.ndarray:
    """The varint of ``size`` bytes (at most 8) at offset ``at`` of each record, as int64."""
    if size == 0:
        return np.zeros(pos.size, dtype=np.int64)
    word_at = min(at, length - 8)  # the 8-byte word that holds it, inside the record
    word = u64[pos + word_at] >> np.uint64(8 * (at - word_at))
    out = word & np.uint64(0x7F)
    for k in range(1, size):
        out |= ((word >> np.uint64(8 * k)) & np.uint64(0x7F)) << np.uint64(7 * k)
    return out.view(np.int64)
