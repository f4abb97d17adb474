"""The protobuf wire format, decoded for many messages at once with numpy.

Parsing one ``Event`` at a time, even with protobuf's C parser, costs a Python call and a few
objects per record: about 7 µs, which is most of the time on a file of millions of scalars.
Here the messages are scanned in lockstep instead: one numpy pass reads the first field of
every message, the next pass the second field of every message that has one, and so on. A
scalar event has three fields, so a file of millions of events takes a handful of passes.

Only the wire format is known here (tags, varints, fixed-width values, length-delimited spans);
what the fields mean is :mod:`analyzer.reader.proto`'s business.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VARINT, I64, LEN, I32 = 0, 1, 2, 5
_MAX_VARINT_BYTES = 10


@dataclass(frozen=True, slots=True)
class Fields:
    """The fields of a batch of messages, one entry per field occurrence.

    ``parent`` is the index of the message (into the ``starts`` given to :func:`scan`), ``value``
    holds varint values, and ``start``/``end`` the bytes of the value (for length-delimited
    fields: the payload, without its length prefix). ``bad`` flags malformed messages; their
    fields are dropped.
    """

    parent: np.ndarray  # int64
    number: np.ndarray  # int64
    wire: np.ndarray  # int8
    start: np.ndarray  # int64
    end: np.ndarray  # int64
    value: np.ndarray  # uint64
    bad: np.ndarray  # bool, one per message

    def where(self, number: int, wire: int) -> np.ndarray:
        """Indices of the fields with this number and wire type."""
        return np.flatnonzero((self.number == number) & (self.wire == wire))


def read_varints(
    buf: np.ndarray, pos: np.ndarray, limit: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode one varint at each of ``pos``; returns (values, positions after, ok)."""
    size = buf.shape[0]
    inside = pos < limit
    byte = buf[np.minimum(pos, size - 1)]
    value = (byte & 0x7F).astype(np.uint64)
    nxt = pos + 1
    ok = inside.copy()
    pending = np.flatnonzero(inside & (byte >= 0x80))
    shift = 7
    for k in range(1, _MAX_VARINT_BYTES):
        if pending.size == 0:
            break
        p = pos[pending] + k
        inside = p < limit[pending]
        byte = buf[np.minimum(p, size - 1)]
        value[pending] |= (byte & 0x7F).astype(np.uint64) << np.uint64(shift)
        nxt[pending] = p + 1
        ok[pending[~inside]] = False
        pending = pending[inside & (byte >= 0x80)]
        shift += 7
    ok[pending] = False  # more than ten bytes: not a varint
    return value, nxt, ok


def scan(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> Fields:
    """Split every message ``buf[starts[i]:ends[i]]`` into its fields."""
    n = starts.shape[0]
    bad = np.zeros(n, dtype=bool)
    cur = starts.astype(np.int64, copy=True)
    active = np.flatnonzero(cur < ends)
    out: list[tuple[np.ndarray, ...]] = []
    while active.size:
        pos, lim = cur[active], ends[active]
        key, pos, ok = read_varints(buf, pos, lim)
        wire = (key & np.uint64(7)).astype(np.int8)
        number = (key >> np.uint64(3)).astype(np.int64)
        value = np.zeros(active.size, dtype=np.uint64)
        start = pos.copy()
        end = pos.copy()

        is_varint = np.flatnonzero(wire == VARINT)
        if is_varint.size:
            v, nxt, vok = read_varints(buf, pos[is_varint], lim[is_varint])
            value[is_varint] = v
            end[is_varint] = nxt
            ok[is_varint] &= vok
        is_len = np.flatnonzero(wire == LEN)
        if is_len.size:
            length, nxt, lok = read_varints(buf, pos[is_len], lim[is_len])
            # A declared length beyond the message is caught below (end > lim); clip it first
            # so that a huge value cannot overflow the arithmetic.
            length = np.minimum(length, np.uint64(1 << 62)).astype(np.int64)
            start[is_len] = nxt
            end[is_len] = nxt + length
            value[is_len] = length.astype(np.uint64)
            ok[is_len] &= lok
        end[wire == I64] += 8
        end[wire == I32] += 4
        ok &= (end <= lim) & (number > 0) & ((wire <= LEN) | (wire == I32))

        if ok.all():
            out.append((active, number, wire, start, end, value))
        else:
            good = np.flatnonzero(ok)
            out.append(
                (active[good], number[good], wire[good], start[good], end[good], value[good])
            )
            bad[active[~ok]] = True
        cur[active] = end
        active = active[ok & (end < lim)]

    if out:
        parent, number, wire, start, end, value = (
            np.concatenate(col) for col in zip(*out, strict=True)
        )
        # Fields come pass by pass (every message's 1st field, then 2nd, ...), not grouped by
        # message: callers that need write order sort by ``start`` (see ``in_file_order``).
        if bad.any():
            keep = ~bad[parent]
            parent, number, wire = parent[keep], number[keep], wire[keep]
            start, end, value = start[keep], end[keep], value[keep]
        return Fields(
            parent=parent, number=number, wire=wire, start=start, end=end, value=value, bad=bad
        )
    empty = np.zeros(0, dtype=np.int64)
    return Fields(
        parent=empty,
        number=empty,
        wire=np.zeros(0, dtype=np.int8),
        start=empty,
        end=empty,
        value=np.zeros(0, dtype=np.uint64),
        bad=bad,
    )


def unaligned(buf: np.ndarray, dtype: str) -> np.ndarray:
    """A read-only view whose element ``i`` is the ``dtype`` value stored at byte ``i``.

    Numpy reads unaligned elements correctly, so picking elements of this view at any byte
    offsets is a gather of fixed-width values without an intermediate byte matrix.
    """
    width = np.dtype(dtype).itemsize
    count = max(buf.shape[0] - width + 1, 0)
    view = np.ndarray(shape=(count,), dtype=dtype, buffer=buf, strides=(1,))
    view.flags.writeable = False
    return view


def gather(buf: np.ndarray, pos: np.ndarray, width: int, dtype: str) -> np.ndarray:
    """Fixed-width little-endian values of ``dtype`` read at each of ``pos``."""
    if pos.size == 0:
        return np.zeros(0, dtype=dtype)
    if np.dtype(dtype).itemsize == width:
        return unaligned(buf, dtype)[pos]
    # A read-only view of every ``width``-byte window of the buffer; picking rows copies
    # just the bytes wanted.
    windows = np.lib.stride_tricks.sliding_window_view(buf, width)
    return np.ascontiguousarray(windows[pos]).view(dtype).ravel()


def in_file_order(fields: Fields, idx: np.ndarray) -> np.ndarray:
    """``idx`` reordered by position in the buffer, which is the order the fields were written.

    Usually already sorted (most messages have one occurrence of a field), so this is cheap.
    """
    if idx.size < 2 or bool((np.diff(fields.start[idx]) > 0).all()):
        return idx
    return idx[np.argsort(fields.start[idx], kind="stable")]


def assign_last(out: np.ndarray, fields: Fields, idx: np.ndarray, values: np.ndarray) -> None:
    """``out[parent] = value`` for the fields ``idx``; where a field repeats, the last one wins.

    That is protobuf's rule for a non-repeated field seen twice in one message.
    """
    parent = fields.parent[idx]
    # Strictly increasing parents (the usual case: one pass) means no repeats.
    if parent.size > 1 and not bool((parent[1:] > parent[:-1]).all()):
        order = np.argsort(fields.start[idx], kind="stable")
        parent, values = parent[order], values[order]
        _, first_from_end = np.unique(parent[::-1], return_index=True)
        last = parent.size - 1 - first_from_end
        parent, values = parent[last], values[last]
    out[parent] = values
