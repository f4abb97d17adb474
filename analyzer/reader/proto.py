"""What the records mean: ``Event`` protobufs decoded in bulk into columns.

The field numbers below are those of TensorBoard's ``event.proto`` and ``summary.proto``
(tensorboard/compat/proto). The semantics follow TensorBoard's own loader
(``data_compat.migrate_value`` and the ``EventAccumulator``):

* a scalar is either ``Summary.Value.simple_value`` (TF1, tensorboardX, older torch) or a
  one-element numeric tensor (TF2 ``tf.summary.scalar``, torch ``new_style=True``), read by
  :mod:`.tensors`;
* a histogram is either a ``HistogramProto`` (TF1, torch, tensorboardX) or a ``[k, 3]`` tensor
  of (left edge, right edge, count) rows (TF2), tagged with the ``histograms`` plugin
  (:mod:`.histograms`);
* what a tensor means is set by the plugin named in the ``SummaryMetadata`` of the first value
  of its tag, remembered across chunks and files of a run (:mod:`.tags`);
* the value fields of ``Summary.Value`` form a protobuf ``oneof``: the last one present wins.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .histograms import Histogram, histogram_values
from .layouts import Layout, Matched
from .tags import (
    SCALARS,
    V_METADATA,
    V_TAG,
    TagTable,
    hparams_contents,
    remember_plugins,
    tag_ids,
)
from .tensors import T_CONTENT, T_DTYPE, T_SHAPE, tensor_values
from .wire import I32, I64, LEN, VARINT, Fields, assign_last, gather, scan

# Event fields
_WALL_TIME, _STEP, _FILE_VERSION, _GRAPH_DEF, _SUMMARY = 1, 2, 3, 4, 5
_LOG_MESSAGE, _SESSION_LOG, _RUN_METADATA, _META_GRAPH_DEF = 6, 7, 8, 9
# Summary.Value fields (2..6 and 8 are the ``value`` oneof; tag and metadata: :mod:`.tags`)
_SIMPLE_VALUE, _OLD_HISTOGRAM, _IMAGE, _HISTO, _AUDIO, _TENSOR = 2, 3, 4, 5, 6, 8
_ONEOF = (_SIMPLE_VALUE, _OLD_HISTOGRAM, _IMAGE, _HISTO, _AUDIO, _TENSOR)
_ONEOF_NAMES = {_IMAGE: "image", _AUDIO: "audio", _OLD_HISTOGRAM: "histogram", _TENSOR: "tensor"}
# SessionLog.status: START = 1 (a (re)start of training at this step)
_SESSION_START = 1


@dataclass(frozen=True, slots=True)
class Chunk:
    """What a span of records held, in columns, each in the order it was written."""

    scalar_tag: np.ndarray  # int32 tag ids
    scalar_step: np.ndarray  # int64
    scalar_wall_time: np.ndarray  # float64
    scalar_value: np.ndarray  # float64
    hist_tag: np.ndarray
    hist_step: np.ndarray
    hist_wall_time: np.ndarray
    histograms: list[Histogram]
    texts: list[tuple[int, int, float, str]]  # (tag id, step, wall_time, text)
    hparams: list[bytes]  # raw HParamsPluginData contents, in order
    # SessionLog.START events: (scalar rows before it, histogram rows before it, step, wall)
    session_starts: list[tuple[int, int, int, float]]
    file_versions: list[str]
    malformed: int  # records that passed their CRC but are not a valid Event


def decode(arr: np.ndarray, starts: np.ndarray, lengths: np.ndarray, tags: TagTable) -> Chunk:
    """Decode the ``Event`` records at ``starts``/``lengths`` of ``arr`` into columns.

    Plain scalar records that repeat a layout already seen are read at fixed offsets
    (:mod:`.layouts`); the rest are parsed field by field (:func:`_decode_general`), which
    also parses one record of every new layout to learn it.
    """
    fast = tags.layouts.match(
        arr, starts, lengths, lambda at, size: _layout_of(arr, at, size, tags)
    )
    if fast.record.size:
        # A tensor (or a value with metadata) is a scalar only if its tag's plugin says so.
        # A tag's plugin is set by its first metadata and never changes, so one known before
        # this batch is final; records of tags not known yet take the general path, which
        # sees this batch's metadata in the order it was written.
        usable = np.array(
            [
                not lay.needs_plugin or tags.plugin[lay.tag] == SCALARS
                for lay in tags.layouts.layouts
            ]
        )
        fast = fast.where(usable[fast.layout])
    if not fast.record.size:
        return _decode_general(arr, starts, lengths, tags).chunk
    general_records = np.ones(starts.size, dtype=bool)
    general_records[fast.record] = False
    general = _decode_general(arr, starts[general_records], lengths[general_records], tags)
    return _merge(general, fast, starts[fast.record], tags.layouts.tag_ids())


@dataclass(frozen=True, slots=True)
class _General:
    """What :func:`_decode_general` read, with the byte offsets :func:`_merge` orders by."""

    chunk: Chunk
    scalar_offset: np.ndarray  # int64, ascending
    session_offset: list[int]  # of each SessionLog.START in chunk.session_starts


def _merge(
    general: _General, fast: Matched, fast_offset: np.ndarray, layout_tag: np.ndarray
) -> Chunk:
    """The scalars of both paths in write order (the rest comes from the general path only)."""
    g = general.chunk
    offset = np.concatenate([fast_offset, general.scalar_offset])
    order = np.argsort(offset, kind="stable") if g.scalar_tag.size else slice(None)

    def both(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.concatenate([a, b])[order]

    return dataclasses.replace(
        g,
        scalar_tag=both(layout_tag[fast.layout], g.scalar_tag),
        scalar_step=both(fast.step, g.scalar_step),
        scalar_wall_time=both(fast.wall_time, g.scalar_wall_time),
        scalar_value=both(fast.value, g.scalar_value),
        session_starts=[
            (rows + int(np.searchsorted(fast_offset, at)), hist_rows, step, wall)
            for (rows, hist_rows, step, wall), at in zip(
                g.session_starts, general.session_offset, strict=True
            )
        ],
    )


def _decode_general(
    arr: np.ndarray, starts: np.ndarray, lengths: np.ndarray, tags: TagTable
) -> _General:
    """Every record parsed field by field, in bulk (:func:`.wire.scan`)."""
    n = starts.shape[0]
    ev = scan(arr, starts, starts + lengths)
    wall = np.zeros(n, dtype=np.float64)
    idx = ev.where(_WALL_TIME, I64)
    assign_last(wall, ev, idx, gather(arr, ev.start[idx], 8, "<f8"))
    step = np.zeros(n, dtype=np.int64)
    idx = ev.where(_STEP, VARINT)
    assign_last(step, ev, idx, ev.value[idx].view(np.int64))

    file_versions = [_text(arr, ev, i) for i in ev.where(_FILE_VERSION, LEN).tolist()]
    session_starts = _session_starts(arr, ev, step, wall)

    # Summary -> Summary.Value messages, each knowing its event.
    summ = ev.where(_SUMMARY, LEN)
    sm = scan(arr, ev.start[summ], ev.end[summ])
    vals = sm.where(1, LEN)
    values = scan(arr, sm.start[vals], sm.end[vals])
    v_event = ev.parent[summ][sm.parent[vals]]
    v_order = sm.start[vals]  # byte offsets: the order values were written in
    nv = vals.size

    # A malformed Summary or Value makes the whole Event unreadable, as protobuf's parser would.
    event_bad = ev.bad.copy()
    event_bad[ev.parent[summ][sm.bad]] = True
    event_bad[v_event[values.bad]] = True

    tag_id = tag_ids(arr, values, nv, tags)
    remember_plugins(arr, values, tag_id, tags)
    hparams = hparams_contents(arr, values, tag_id, tags)

    # The value oneof: the last field of the oneof present in each Value.
    kind = np.zeros(nv, dtype=np.int64)
    oneof = np.flatnonzero(np.isin(values.number, _ONEOF))
    assign_last(kind, values, oneof, values.number[oneof])
    kind[event_bad[v_event]] = 0
    span_start = np.zeros(nv, dtype=np.int64)
    span_end = np.zeros(nv, dtype=np.int64)
    assign_last(span_start, values, oneof, values.start[oneof])
    assign_last(span_end, values, oneof, values.end[oneof])

    # Scalars: simple_value, and one-element tensors.
    simple = np.flatnonzero(kind == _SIMPLE_VALUE)
    tensor = np.flatnonzero(kind == _TENSOR)
    t = tensor_values(arr, tensor, tags.plugin_codes(tag_id[tensor]), v_order, span_start, span_end)
    which = np.concatenate([simple, t.scalar])
    s_value = gather(arr, span_start[simple], 4, "<f4").astype(np.float64)
    s_value = np.concatenate([s_value, t.scalar_value])
    s_ev = v_event[which]
    scalar_order = v_order[which]
    order = np.argsort(scalar_order, kind="stable")

    hist_which, histograms = histogram_values(
        arr, np.flatnonzero(kind == _HISTO), t.histogram, v_order, span_start, span_end
    )
    h_ev = v_event[hist_which]
    texts = [
        (int(tag_id[i]), int(step[v_event[i]]), float(wall[v_event[i]]), text) for i, text in t.text
    ]

    # Count everything else per tag (images, audio, tensors of other plugins).
    counted = kind != 0
    counted[simple] = False
    counted[t.read] = False
    counted[hist_which] = False
    for i in np.flatnonzero(counted).tolist():
        tags.count_other(int(tag_id[i]), _ONEOF_NAMES.get(int(kind[i]), "tensor"))

    scalar_order = scalar_order[order]
    hist_order = v_order[hist_which]
    chunk = Chunk(
        scalar_tag=tag_id[which][order],
        scalar_step=step[s_ev][order],
        scalar_wall_time=wall[s_ev][order],
        scalar_value=s_value[order],
        hist_tag=tag_id[hist_which],
        hist_step=step[h_ev],
        hist_wall_time=wall[h_ev],
        histograms=histograms,
        texts=texts,
        hparams=hparams,
        session_starts=[
            (int(np.searchsorted(scalar_order, o)), int(np.searchsorted(hist_order, o)), st, w)
            for o, st, w in session_starts
        ],
        file_versions=file_versions,
        malformed=int(event_bad.sum()),
    )
    return _General(chunk, scalar_order, [o for o, _, _ in session_starts])


def _layout_of(arr: np.ndarray, start: int, length: int, tags: TagTable) -> Layout | None:
    """The layout of the record at ``start`` if it is a plain scalar event, else None.

    Plain: an Event with wall_time, step (a varint of at most 8 bytes) and a summary of one
    value, that value holding a tag, optionally metadata, and either simple_value or a rank-0
    float/double tensor whose one element sits in tensor_content or in a packed or single
    float_val/double_val. Each field at most once, nothing else: then every field's meaning is
    fixed by this record's constant bytes, and only wall_time, step and value can vary.
    """
    raw = arr[start : start + length].tobytes()
    ev = _fields_once(raw, 0, length, {(_WALL_TIME, I64), (_STEP, VARINT), (_SUMMARY, LEN)})
    if ev is None or (_SUMMARY, LEN) not in ev:
        return None
    summary = _fields_once(raw, *ev[_SUMMARY, LEN], {(1, LEN)})
    if summary is None or (1, LEN) not in summary:
        return None
    value_kinds = {(_SIMPLE_VALUE, I32), (_TENSOR, LEN)}
    value = _fields_once(raw, *summary[1, LEN], {(V_TAG, LEN), (V_METADATA, LEN)} | value_kinds)
    if value is None or (V_TAG, LEN) not in value or len(value_kinds & value.keys()) != 1:
        return None
    if (_SIMPLE_VALUE, I32) in value:
        value_at, width = value[_SIMPLE_VALUE, I32][0], 4
    else:
        element = _scalar_tensor_element(raw, *value[_TENSOR, LEN])
        if element is None:
            return None
        value_at, width = element

    mask = bytearray(b"\xff" * length)
    wall_at = step_at = -1
    step_len = 0
    if (_WALL_TIME, I64) in ev:
        wall_at = ev[_WALL_TIME, I64][0]
        mask[wall_at : wall_at + 8] = bytes(8)
    if (_STEP, VARINT) in ev:
        step_at, step_to = ev[_STEP, VARINT]
        step_len = step_to - step_at
        if step_len > 8:
            return None  # steps of 2**56 and more, and negative ones: the general path
        mask[step_at:step_to] = b"\x80" * step_len
    mask[value_at : value_at + width] = bytes(width)
    tag_from, tag_to = value[V_TAG, LEN]
    return Layout(
        length=length,
        data=raw,
        mask=bytes(mask),
        wall_at=wall_at,
        step_at=step_at,
        step_len=step_len,
        value_at=value_at,
        value_width=width,
        tag=int(tags.ids([raw[tag_from:tag_to]])[0]),
        needs_plugin=(_TENSOR, LEN) in value or (V_METADATA, LEN) in value,
    )


def _fields_once(
    raw: bytes, start: int, end: int, allowed: set[tuple[int, int]]
) -> dict[tuple[int, int], tuple[int, int]] | None:
    """(number, wire) -> (start, end) of the fields of the message ``raw[start:end]``; None if
    it is malformed, has a field outside ``allowed``, or one field twice.

    One small message, so a plain loop (a few microseconds) rather than :func:`.wire.scan`;
    it accepts nothing that ``scan`` rejects, so a layout never reads a malformed record.
    """
    out: dict[tuple[int, int], tuple[int, int]] = {}
    pos = start
    while pos < end:
        key = _varint_at(raw, pos, end)
        if key is None:
            return None
        number, wire, pos = key[0] >> 3, key[0] & 7, key[1]
        if wire == VARINT:
            payload = _varint_at(raw, pos, end)
            if payload is None:
                return None
            field_end = payload[1]
        elif wire == LEN:
            size = _varint_at(raw, pos, end)
            if size is None:
                return None
            pos, field_end = size[1], size[1] + size[0]
        elif wire in (I64, I32):
            field_end = pos + (8 if wire == I64 else 4)
        else:
            return None
        if field_end > end or (number, wire) not in allowed or (number, wire) in out:
            return None  # (field number 0 is never allowed)
        out[number, wire] = (pos, field_end)
        pos = field_end
    return out


def _varint_at(raw: bytes, pos: int, end: int) -> tuple[int, int] | None:
    """(value, position after) of the varint at ``pos``; None past ``end`` or 10 bytes."""
    value = shift = 0
    for at in range(pos, min(pos + 10, end)):
        byte = raw[at]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at + 1
        shift += 7
    return None


def _scalar_tensor_element(raw: bytes, start: int, end: int) -> tuple[int, int] | None:
    """(offset, width) of the one element of a rank-0 float32/float64 tensor, else None."""
    width_of = {1: 4, 2: 8}  # DT_FLOAT, DT_DOUBLE
    single = {(5, I32), (6, I64)}  # float_val, double_val written one element per field
    packed = {(5, LEN), (6, LEN), (T_CONTENT, LEN)}
    t = _fields_once(raw, start, end, {(T_DTYPE, VARINT), (T_SHAPE, LEN)} | single | packed)
    if t is None or (T_DTYPE, VARINT) not in t:
        return None
    dtype_from, dtype_to = t[T_DTYPE, VARINT]
    dtype = raw[dtype_from] if dtype_to - dtype_from == 1 else 0
    width = width_of.get(dtype)
    shape = t.get((T_SHAPE, LEN))
    if width is None or (shape is not None and shape[0] != shape[1]):
        return None  # another dtype, or a shape with dimensions
    typed = 5 if dtype == 1 else 6
    sources = [key for key in t if key[0] in (typed, T_CONTENT)]
    if len(sources) != 1 or len(t) != len(sources) + 1 + (shape is not None):
        return None  # no element, two sources, or the other dtype's field
    number, wire = sources[0]
    at, to = t[number, wire]
    if wire == LEN and to - at != width:
        return None
    return at, width


def _text(arr: np.ndarray, f: Fields, i: int) -> str:
    return arr[f.start[i] : f.end[i]].tobytes().decode("utf-8", errors="replace")


def _session_starts(
    arr: np.ndarray, ev: Fields, step: np.ndarray, wall: np.ndarray
) -> list[tuple[int, int, float]]:
    idx = ev.where(_SESSION_LOG, LEN)
    if idx.size == 0:
        return []
    sl = scan(arr, ev.start[idx], ev.end[idx])
    status = np.zeros(idx.size, dtype=np.int64)
    s = sl.where(1, VARINT)
    assign_last(status, sl, s, sl.value[s].astype(np.int64))
    out = []
    for i in np.flatnonzero(status == _SESSION_START).tolist():
        e = int(ev.parent[idx[i]])
        out.append((int(ev.start[idx[i]]), int(step[e]), float(wall[e])))
    return out
