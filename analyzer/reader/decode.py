"""What the records mean: ``Event`` protobufs decoded in bulk into columns.

The field numbers below are those of TensorBoard's ``event.proto``, ``summary.proto``,
``tensor.proto``, ``tensor_shape.proto`` and ``histogram.proto`` (tensorboard/compat/proto).
The semantics follow TensorBoard's own loader (``data_compat.migrate_value`` and the
``EventAccumulator``):

* a scalar is either ``Summary.Value.simple_value`` (TF1, tensorboardX, older torch) or a
  one-element numeric tensor (TF2 ``tf.summary.scalar``, torch ``new_style=True``), read with
  TensorProto's rules (``tensor_content`` first, else the typed repeated field, an empty field
  meaning zero);
* a histogram is either a ``HistogramProto`` (TF1, torch, tensorboardX) or a ``[k, 3]`` tensor
  of (left edge, right edge, count) rows (TF2), tagged with the ``histograms`` plugin;
* what a tensor means is set by the plugin named in the ``SummaryMetadata`` of the first value
  of its tag (writers send the metadata only once, so it is remembered across chunks and files
  of a run in a :class:`TagTable`);
* the value fields of ``Summary.Value`` form a protobuf ``oneof``: the last one present wins.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .layouts import Layout, LayoutCache, Matched
from .wire import I32, I64, LEN, VARINT, Fields, assign_last, gather, read_varints, scan

# Event fields
_WALL_TIME, _STEP, _FILE_VERSION, _GRAPH_DEF, _SUMMARY = 1, 2, 3, 4, 5
_LOG_MESSAGE, _SESSION_LOG, _RUN_METADATA, _META_GRAPH_DEF = 6, 7, 8, 9
# Summary.Value fields (2..6 and 8 are the ``value`` oneof)
_TAG, _SIMPLE_VALUE, _OLD_HISTOGRAM, _IMAGE, _HISTO, _AUDIO, _TENSOR, _METADATA = (
    1,
    2,
    3,
    4,
    5,
    6,
    8,
    9,
)
_ONEOF = (_SIMPLE_VALUE, _OLD_HISTOGRAM, _IMAGE, _HISTO, _AUDIO, _TENSOR)
# TensorProto fields
_T_DTYPE, _T_SHAPE, _T_CONTENT = 1, 2, 4
# SessionLog.status: START = 1 (a (re)start of training at this step)
_SESSION_START = 1

# DataType enum -> (numpy dtype of tensor_content, TensorProto repeated field, its decoder)
# The decoder says how the repeated field stores one element: "f4"/"f8" fixed width,
# "varint" (signed), "uvarint", "half" (uint16 bits in a varint).
_DTYPES: dict[int, tuple[str, int, str]] = {
    1: ("<f4", 5, "f4"),  # DT_FLOAT: float_val
    2: ("<f8", 6, "f8"),  # DT_DOUBLE: double_val
    3: ("<i4", 7, "varint"),  # DT_INT32: int_val
    4: ("u1", 7, "varint"),  # DT_UINT8
    5: ("<i2", 7, "varint"),  # DT_INT16
    6: ("i1", 7, "varint"),  # DT_INT8
    9: ("<i8", 10, "varint"),  # DT_INT64: int64_val
    10: ("u1", 11, "uvarint"),  # DT_BOOL: bool_val
    14: ("<u2", 13, "bfloat16"),  # DT_BFLOAT16: half_val holds the bits
    17: ("<u2", 7, "varint"),  # DT_UINT16: int_val
    19: ("<f2", 13, "half"),  # DT_HALF: half_val holds the bits
    22: ("<u4", 16, "uvarint"),  # DT_UINT32: uint32_val
    23: ("<u8", 17, "uvarint"),  # DT_UINT64: uint64_val
}
DT_STRING = 7

# What a tag holds, as TensorBoard's plugins name it.
SCALARS, HISTOGRAMS, TEXT, HPARAMS = "scalars", "histograms", "text", "hparams"
_NO_PLUGIN, _P_SCALARS, _P_HISTOGRAMS, _P_TEXT, _P_OTHER = 0, 1, 2, 3, 4
_PLUGIN_CODES = {"": _NO_PLUGIN, SCALARS: _P_SCALARS, HISTOGRAMS: _P_HISTOGRAMS, TEXT: _P_TEXT}


@dataclass
class TagTable:
    """Tags of one run seen so far, with what each holds (mutable, owned by one reader)."""

    names: list[str] = field(default_factory=list)
    plugin: list[str] = field(default_factory=list)
    other_points: list[int] = field(default_factory=list)  # images, audio, unknown tensors
    other_kind: list[str] = field(default_factory=list)
    layouts: LayoutCache = field(default_factory=LayoutCache)  # of the run's scalar records
    _ids: dict[bytes, int] = field(default_factory=dict)

    def ids(self, uniques: list[bytes]) -> np.ndarray:
        """Run-wide ids for a chunk's distinct tag names, adding the new ones."""
        out = np.empty(len(uniques), dtype=np.int32)
        for i, raw in enumerate(uniques):
            tag_id = self._ids.get(raw)
            if tag_id is None:
                tag_id = self._ids[raw] = len(self.names)
                self.names.append(raw.decode("utf-8", errors="replace"))
                self.plugin.append("")
                self.other_points.append(0)
                self.other_kind.append("")
            out[i] = tag_id
        return out


@dataclass(frozen=True, slots=True)
class Histogram:
    """One histogram: ``counts[i]`` values fell in ``[edges[i], edges[i+1])``."""

    edges: np.ndarray
    counts: np.ndarray
    num: float
    min: float
    max: float
    sum: float
    sum_squares: float


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
    value_ok = ~event_bad[v_event]

    tag_id = _tag_ids(arr, values, nv, tags)
    _remember_plugins(arr, values, tag_id, tags)
    hparams = _hparams_contents(arr, values, tag_id, tags)

    # The value oneof: the last field of the oneof present in each Value.
    kind = np.zeros(nv, dtype=np.int64)
    oneof = np.flatnonzero(np.isin(values.number, _ONEOF))
    assign_last(kind, values, oneof, values.number[oneof])
    kind[~value_ok] = 0
    span_start = np.zeros(nv, dtype=np.int64)
    span_end = np.zeros(nv, dtype=np.int64)
    assign_last(span_start, values, oneof, values.start[oneof])
    assign_last(span_end, values, oneof, values.end[oneof])

    # Scalars from simple_value.
    simple = np.flatnonzero(kind == _SIMPLE_VALUE)
    s_value = [gather(arr, span_start[simple], 4, "<f4").astype(np.float64)]
    s_which = [simple]

    # Tensors: scalars, histograms, text, or something we only count.
    tensor = np.flatnonzero(kind == _TENSOR)
    tag_plugin = np.array([_PLUGIN_CODES.get(p, _P_OTHER) for p in tags.plugin], dtype=np.int8)
    plugin = tag_plugin[tag_id[tensor]] if tensor.size else np.zeros(0, dtype=np.int8)
    t_scalar, t_value, t_hist, t_text = _tensors(arr, span_start[tensor], span_end[tensor], plugin)
    s_value.append(t_value)
    s_which.append(tensor[t_scalar])

    which = np.concatenate(s_which)
    s_ev = v_event[which]
    scalar_order = v_order[which]
    order = np.argsort(scalar_order, kind="stable")

    # Histograms: TF1 HistogramProto and TF2 [k, 3] tensors.
    histo = np.flatnonzero(kind == _HISTO)
    hist_which = np.concatenate([histo, tensor[t_hist]])
    hist_which = hist_which[np.argsort(v_order[hist_which], kind="stable")]
    histograms = _histograms(
        arr, span_start[hist_which], span_end[hist_which], kind[hist_which] == _HISTO
    )
    h_keep = [i for i, h in enumerate(histograms) if h is not None]
    hist_which = hist_which[h_keep]
    histograms_kept = [h for h in histograms if h is not None]
    h_ev = v_event[hist_which]

    texts = []
    text_which = tensor[t_text]
    for i in text_which[np.argsort(v_order[text_which], kind="stable")].tolist():
        text = _tensor_text(arr, span_start[i], span_end[i])
        if text is not None:
            e = v_event[i]
            texts.append((int(tag_id[i]), int(step[e]), float(wall[e]), text))

    # Count everything else per tag (images, audio, tensors of other plugins).
    counted = np.ones(nv, dtype=bool)
    counted[which] = False
    counted[hist_which] = False
    counted[tensor[t_text]] = False
    counted[kind == 0] = False
    for i in np.flatnonzero(counted).tolist():
        t = int(tag_id[i])
        tags.other_points[t] += 1
        if not tags.other_kind[t]:
            tags.other_kind[t] = tags.plugin[t] or _ONEOF_NAMES.get(int(kind[i]), "tensor")

    scalar_order = scalar_order[order]
    hist_order = v_order[hist_which]
    chunk = Chunk(
        scalar_tag=tag_id[which][order],
        scalar_step=step[s_ev][order],
        scalar_wall_time=wall[s_ev][order],
        scalar_value=np.concatenate(s_value)[order],
        hist_tag=tag_id[hist_which],
        hist_step=step[h_ev],
        hist_wall_time=wall[h_ev],
        histograms=histograms_kept,
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
    value = _fields_once(raw, *summary[1, LEN], {(_TAG, LEN), (_METADATA, LEN)} | value_kinds)
    if value is None or (_TAG, LEN) not in value or len(value_kinds & value.keys()) != 1:
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
    tag_from, tag_to = value[_TAG, LEN]
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
        needs_plugin=(_TENSOR, LEN) in value or (_METADATA, LEN) in value,
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
    packed = {(5, LEN), (6, LEN), (_T_CONTENT, LEN)}
    t = _fields_once(raw, start, end, {(_T_DTYPE, VARINT), (_T_SHAPE, LEN)} | single | packed)
    if t is None or (_T_DTYPE, VARINT) not in t:
        return None
    dtype_from, dtype_to = t[_T_DTYPE, VARINT]
    dtype = raw[dtype_from] if dtype_to - dtype_from == 1 else 0
    width = width_of.get(dtype)
    shape = t.get((_T_SHAPE, LEN))
    if width is None or (shape is not None and shape[0] != shape[1]):
        return None  # another dtype, or a shape with dimensions
    typed = 5 if dtype == 1 else 6
    sources = [key for key in t if key[0] in (typed, _T_CONTENT)]
    if len(sources) != 1 or len(t) != len(sources) + 1 + (shape is not None):
        return None  # no element, two sources, or the other dtype's field
    number, wire = sources[0]
    at, to = t[number, wire]
    if wire == LEN and to - at != width:
        return None
    return at, width


_ONEOF_NAMES = {_IMAGE: "image", _AUDIO: "audio", _OLD_HISTOGRAM: "histogram", _TENSOR: "tensor"}


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


def _tag_ids(arr: np.ndarray, values: Fields, nv: int, tags: TagTable) -> np.ndarray:
    start = np.zeros(nv, dtype=np.int64)
    end = np.zeros(nv, dtype=np.int64)
    idx = values.where(_TAG, LEN)
    assign_last(start, values, idx, values.start[idx])
    assign_last(end, values, idx, values.end[idx])
    codes, uniques = factorize_spans(arr, start, end)
    return tags.ids(uniques)[codes] if nv else np.zeros(0, dtype=np.int32)


def factorize_spans(
    arr: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, list[bytes]]:
    """Number the distinct byte strings ``arr[start:end]``: (code per span, distinct strings).

    Spans are grouped by length; each group is gathered into a matrix whose rows are hashed
    to one 64-bit number, factorised, and then checked byte for byte against the row chosen
    for its code, so a hash collision can never merge two different tags.
    """
    n = start.size
    codes = np.empty(n, dtype=np.int64)
    uniques: list[bytes] = []
    length = end - start
    for size in np.unique(length).tolist():
        members = np.flatnonzero(length == size)
        if size == 0:
            codes[members] = len(uniques)
            uniques.append(b"")
            continue
        rows = np.lib.stride_tricks.sliding_window_view(arr, size)[start[members]]
        local, first = _factorize_rows(rows)
        codes[members] = local + len(uniques)
        uniques.extend(rows[i].tobytes() for i in first.tolist())
    return codes, uniques


def _factorize_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes for equal rows of a uint8 matrix, and the index of each code's first row."""
    width = -(-rows.shape[1] // 8) * 8
    padded = np.zeros((rows.shape[0], width), dtype=np.uint8)
    padded[:, : rows.shape[1]] = rows
    words = padded.view("<u8")
    h = np.full(rows.shape[0], 0xCBF29CE484222325, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for col in words.T:
            h = (h ^ col) * np.uint64(0x100000001B3)
            h ^= h >> np.uint64(29)
    uniq, first, codes = np.unique(h, return_index=True, return_inverse=True)
    if not (rows == rows[first][codes]).all():  # a collision: fall back to exact comparison
        _, first, codes = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    del uniq
    return codes.ravel(), first


def _remember_plugins(arr: np.ndarray, values: Fields, tag_id: np.ndarray, tags: TagTable) -> None:
    idx = values.where(_METADATA, LEN)
    if idx.size == 0:
        return
    meta_tag = tag_id[values.parent[idx]]
    # TF2 writers repeat the metadata with every value; only the first per tag matters, so
    # only those few are parsed.
    known = np.array([bool(p) for p in tags.plugin], dtype=bool)
    fresh = ~known[meta_tag]
    idx, meta_tag = idx[fresh], meta_tag[fresh]
    if idx.size == 0:
        return
    order = np.argsort(values.start[idx], kind="stable")
    _, first = np.unique(meta_tag[order], return_index=True)
    idx, meta_tag = idx[order][first], meta_tag[order][first]
    md = scan(arr, values.start[idx], values.end[idx])
    pd_idx = md.where(1, LEN)
    pdata = scan(arr, md.start[pd_idx], md.end[pd_idx])
    names = pdata.where(1, LEN)
    for i in names.tolist():
        t = int(meta_tag[md.parent[pd_idx[pdata.parent[i]]]])
        if not tags.plugin[t]:
            tags.plugin[t] = _text(arr, pdata, i)


def _hparams_contents(
    arr: np.ndarray, values: Fields, tag_id: np.ndarray, tags: TagTable
) -> list[bytes]:
    """Raw ``HParamsPluginData`` of the hparams plugin's values (decoded by the caller)."""
    idx = values.where(_METADATA, LEN)
    if idx.size == 0:
        return []
    is_hparams = np.array([p == HPARAMS for p in tags.plugin], dtype=bool)
    idx = idx[is_hparams[tag_id[values.parent[idx]]]]
    if idx.size == 0:
        return []
    idx = idx[np.argsort(values.start[idx], kind="stable")]
    md = scan(arr, values.start[idx], values.end[idx])
    pd_idx = md.where(1, LEN)
    pdata = scan(arr, md.start[pd_idx], md.end[pd_idx])
    content = pdata.where(2, LEN)
    content = content[np.argsort(pdata.start[content], kind="stable")]
    return [arr[pdata.start[i] : pdata.end[i]].tobytes() for i in content.tolist()]


def _tensors(
    arr: np.ndarray, start: np.ndarray, end: np.ndarray, plugin: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Classify tensor values: (scalar mask, scalar values, histogram mask, text mask)."""
    nt = start.size
    none = np.zeros(nt, dtype=bool)
    if nt == 0:
        return none, np.zeros(0), none, none
    t = scan(arr, start, end)
    dtype = np.zeros(nt, dtype=np.int64)
    idx = t.where(_T_DTYPE, VARINT)
    assign_last(dtype, t, idx, t.value[idx].astype(np.int64))
    elements = _num_elements(arr, t, nt)

    is_hist_plugin = plugin == _P_HISTOGRAMS
    is_text = (plugin == _P_TEXT) & (dtype == DT_STRING)
    # A scalar: the scalars plugin, or no plugin at all, and one numeric element.
    maybe_scalar = ((plugin == _P_SCALARS) | (plugin == _NO_PLUGIN)) & (elements == 1)
    values = np.full(nt, np.nan)
    decoded = np.zeros(nt, dtype=bool)
    for code, (np_dtype, field_no, how) in _DTYPES.items():
        members = np.flatnonzero(maybe_scalar & (dtype == code))
        if members.size:
            v, ok = _first_element(arr, t, members, np_dtype, field_no, how)
            values[members] = v
            decoded[members] = ok
    scalar = maybe_scalar & decoded
    return scalar, values[scalar], is_hist_plugin, is_text


def _num_elements(arr: np.ndarray, t: Fields, nt: int) -> np.ndarray:
    """Elements per tensor from its TensorShapeProto (rank 0 -> 1; unknown dims -> -1)."""
    shape = t.where(_T_SHAPE, LEN)
    elements = np.ones(nt, dtype=np.int64)
    if shape.size == 0:
        return elements
    sh = scan(arr, t.start[shape], t.end[shape])
    dims = sh.where(2, LEN)  # TensorShapeProto.dim
    if dims.size == 0:
        return elements
    dm = scan(arr, sh.start[dims], sh.end[dims])
    size = np.ones(dims.size, dtype=np.int64)  # a Dim without size field has size 0...
    size[:] = 0
    s = dm.where(1, VARINT)
    assign_last(size, dm, s, dm.value[s].view(np.int64))
    owner = t.parent[shape][sh.parent[dims]]
    for i, o in enumerate(owner.tolist()):  # few dims per tensor; most tensors are rank 0
        elements[o] = elements[o] * size[i] if size[i] >= 0 else -1
    return elements


def _first_element(
    arr: np.ndarray, t: Fields, members: np.ndarray, np_dtype: str, field_no: int, how: str
) -> tuple[np.ndarray, np.ndarray]:
    """Element 0 of one-element tensors: from tensor_content, else the typed repeated field.

    TensorProto: tensor_content wins when present; otherwise the last element of the typed
    field fills the rest of the tensor, and an empty field means zeros.
    """
    n = members.size
    values = np.zeros(n, dtype=np.float64)
    ok = np.ones(n, dtype=bool)
    local_of = np.full(t.bad.size, -1, dtype=np.int64)  # tensor index -> index in members
    local_of[members] = np.arange(n)
    width = np.dtype(np_dtype).itemsize

    # The typed repeated field, packed (LEN) or one element per field; element 0 is the
    # first element written.
    single_wire = {"f4": I32, "f8": I64}.get(how, VARINT)
    packed = t.where(field_no, LEN)
    packed = packed[(local_of[t.parent[packed]] >= 0) & (t.end[packed] > t.start[packed])]
    single = t.where(field_no, single_wire)
    single = single[local_of[t.parent[single]] >= 0]
    src = np.concatenate([packed, single])
    if src.size:
        src = src[np.argsort(t.start[src], kind="stable")]
        _, first = np.unique(t.parent[src], return_index=True)
        src = src[first]
        if how in ("f4", "f8"):
            is_packed = np.isin(src, packed)
            short = is_packed & (t.end[src] - t.start[src] < width)
            v = gather(arr, t.start[src[~short]], width, "<" + how).astype(np.float64)
            values[local_of[t.parent[src[~short]]]] = v
            ok[local_of[t.parent[src[short]]]] = False
        else:
            raw = t.value[src].copy()
            is_packed = np.isin(src, packed)
            if is_packed.any():
                v, _, vok = read_varints(arr, t.start[src[is_packed]], t.end[src[is_packed]])
                raw[is_packed] = v
                ok[local_of[t.parent[src[is_packed][~vok]]]] = False
            values[local_of[t.parent[src]]] = _from_bits(raw, np_dtype, how)

    content = t.where(_T_CONTENT, LEN)
    content = content[local_of[t.parent[content]] >= 0]
    if content.size:
        size_ok = (t.end[content] - t.start[content]) == width
        good = content[size_ok]
        raw_vals = gather(arr, t.start[good], width, np_dtype)
        if how == "bfloat16":
            raw_vals = _bfloat16(raw_vals.astype(np.uint64))
        values[local_of[t.parent[good]]] = raw_vals.astype(np.float64)
        ok[local_of[t.parent[good]]] = True
        ok[local_of[t.parent[content[~size_ok]]]] = False
    return values, ok


def _from_bits(raw: np.ndarray, np_dtype: str, how: str) -> np.ndarray:
    if how == "half":
        return raw.astype(np.uint16).view(np.float16).astype(np.float64)
    if how == "bfloat16":
        return _bfloat16(raw)
    if how == "varint":
        # int32 fields are sign-extended to 64 bits on the wire.
        return raw.view(np.int64).astype(np.float64)
    return raw.astype(np.float64)


def _bfloat16(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32).astype(np.float64)


def _histograms(
    arr: np.ndarray, start: np.ndarray, end: np.ndarray, is_proto: np.ndarray
) -> list[Histogram | None]:
    """Decode many histograms: the fields of all of them are scanned at once, then each is
    assembled from views of its packed arrays; unusual layouts (arrays split over several
    fields) take the one-at-a-time path."""
    out: list[Histogram | None] = [None] * start.size
    for proto, decode_many in ((True, _histogram_protos), (False, _histogram_tensors)):
        members = np.flatnonzero(is_proto == proto)
        if members.size:
            for i, h in zip(
                members.tolist(), decode_many(arr, start[members], end[members]), strict=True
            ):
                out[i] = h
    return out


def _single_field(
    f: Fields, number: int, wire: int, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start, end, ok) of the one occurrence of a field per message; ok is False where the
    field occurs more than once (those messages take the slow path)."""
    idx = f.where(number, wire)
    count = np.bincount(f.parent[idx], minlength=n)
    start = np.zeros(n, dtype=np.int64)
    end = np.zeros(n, dtype=np.int64)
    start[f.parent[idx]] = f.start[idx]
    end[f.parent[idx]] = f.end[idx]
    return start, end, count <= 1


def _histogram_protos(
    arr: np.ndarray, start: np.ndarray, end: np.ndarray
) -> list[Histogram | None]:
    n = start.size
    h = scan(arr, start, end)
    moments = {}
    for num in (1, 2, 3, 4, 5):  # min, max, num, sum, sum_squares
        moments[num] = np.zeros(n)
        idx = h.where(num, I64)
        assign_last(moments[num], h, idx, gather(arr, h.start[idx], 8, "<f8"))
    lim_s, lim_e, lim_ok = _single_field(h, 6, LEN, n)
    cnt_s, cnt_e, cnt_ok = _single_field(h, 7, LEN, n)
    unpacked = np.bincount(h.parent[np.isin(h.number, (6, 7)) & (h.wire == I64)], minlength=n)
    fast = lim_ok & cnt_ok & (unpacked == 0) & ~h.bad
    fast &= ((lim_e - lim_s) % 8 == 0) & ((lim_e - lim_s) == (cnt_e - cnt_s))
    out: list[Histogram | None] = [None] * n
    for i in np.flatnonzero(~fast & ~h.bad).tolist():
        out[i] = _histogram_proto(arr, int(start[i]), int(end[i]))
    # The rest in groups of one bucket count: trimmed all at once, then sliced row by row.
    buckets = (lim_e - lim_s) // 8
    lo_all, hi_all = moments[1], moments[2]
    for k in np.unique(buckets[fast]).tolist():
        members = np.flatnonzero(fast & (buckets == k))
        lim = _rows_of(arr, lim_s[members], k, "<f8")
        cnt = _rows_of(arr, cnt_s[members], k, "<f8")
        edges, first, last = _trimmed_rows(lim, cnt, lo_all[members], hi_all[members])
        stats = zip(
            *(moments[m][members].tolist() for m in (3, 1, 2, 4, 5)),
            first.tolist(),
            last.tolist(),
            strict=True,
        )
        for row, (i, (num, lo, hi, total, squares, a, b)) in enumerate(
            zip(members.tolist(), stats, strict=True)
        ):
            out[i] = Histogram(
                edges=edges[row, a : b + 2] if b >= a else _EMPTY,
                counts=cnt[row, a : b + 1] if b >= a else _EMPTY,
                num=num,
                min=lo,
                max=hi,
                sum=total,
                sum_squares=squares,
            )
    return out


_EMPTY = np.zeros(0)
_EMPTY.flags.writeable = False


def _rows_of(arr: np.ndarray, starts: np.ndarray, count: int, dtype: str) -> np.ndarray:
    """A (len(starts), count) float64 matrix of the ``count`` values of ``dtype`` at each start."""
    width = np.dtype(dtype).itemsize
    if count == 0:
        return np.zeros((starts.size, 0))
    rows = np.ndarray(
        shape=(arr.shape[0] - width * count + 1,),
        dtype=f"V{width * count}",
        buffer=arr,
        strides=(1,),
    )
    return rows[starts].view(dtype).reshape(starts.size, count).astype(np.float64, copy=False)


def _trimmed_rows(
    lim: np.ndarray, cnt: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TensorBoard's edges for histograms of one bucket count: the empty buckets at both ends
    dropped, then [min, inner limits..., max].

    Returns a matrix whose row ``i`` holds histogram i's edges at ``[first[i], last[i] + 2)``,
    and ``first``, ``last``: its first and last filled bucket (``last < first`` when none is).
    """
    m, k = cnt.shape
    filled = cnt > 0
    first = filled.argmax(axis=1) if k else np.zeros(m, dtype=np.int64)
    last = k - 1 - filled[:, ::-1].argmax(axis=1) if k else np.full(m, -1)
    none = ~filled.any(axis=1)
    first[none], last[none] = 1, 0
    # Row i: [_, lim..., _] with lo written just before the first filled bucket's limit and
    # hi over the last filled bucket's limit: [lo, lim[first:last], hi] is then a slice.
    edges = np.empty((m, k + 2))
    edges[:, 1 : k + 1] = lim
    rows = np.arange(m)
    some = ~none
    edges[rows[some], first[some]] = lo[some]
    edges[rows[some], last[some] + 1] = hi[some]
    return edges, first, last


def _trimmed(
    lim: np.ndarray, cnt: np.ndarray, lo: float, hi: float
) -> tuple[np.ndarray, np.ndarray]:
    """(edges, counts) of one histogram, trimmed as :func:`_trimmed_rows` does."""
    edges, first, last = _trimmed_rows(lim[None, :], cnt[None, :], np.array([lo]), np.array([hi]))
    a, b = int(first[0]), int(last[0])
    return (edges[0, a : b + 2], cnt[a : b + 1]) if b >= a else (_EMPTY, _EMPTY)


def _histogram_tensors(
    arr: np.ndarray, start: np.ndarray, end: np.ndarray
) -> list[Histogram | None]:
    n = start.size
    t = scan(arr, start, end)
    dtype = np.zeros(n, dtype=np.int64)
    idx = t.where(_T_DTYPE, VARINT)
    assign_last(dtype, t, idx, t.value[idx].astype(np.int64))
    content_s, content_e, content_ok = _single_field(t, _T_CONTENT, LEN, n)
    has_content = np.bincount(t.parent[t.where(_T_CONTENT, LEN)], minlength=n) > 0
    dbl_s, dbl_e, dbl_ok = _single_field(t, 6, LEN, n)
    flt_s, flt_e, flt_ok = _single_field(t, 5, LEN, n)
    # Where each tensor's values are: tensor_content, else the typed field of its dtype.
    usable = ~t.bad & np.isin(dtype, (1, 2))
    from_content = has_content & content_ok
    from_typed = ~has_content & np.where(dtype == 2, dbl_ok, flt_ok)
    a = np.where(from_content, content_s, np.where(dtype == 2, dbl_s, flt_s))
    b = np.where(from_content, content_e, np.where(dtype == 2, dbl_e, flt_e))
    width = np.where(dtype == 2, 8, 4)
    out: list[Histogram | None] = [None] * n
    for i in np.flatnonzero(usable & ~from_content & ~from_typed).tolist():
        out[i] = _histogram_tensor(arr, int(start[i]), int(end[i]))
    whole = usable & (from_content | from_typed) & ((b - a) % (3 * width) == 0)
    # The rest in groups of one dtype and size, all at once.
    values = (b - a) // width
    for w, count in {(int(x), int(y)) for x, y in zip(width[whole], values[whole], strict=True)}:
        members = np.flatnonzero(whole & (width == w) & (values == count))
        rows = _rows_of(arr, a[members], count, "<f4" if w == 4 else "<f8").reshape(
            members.size, -1, 3
        )
        for i, h in zip(members.tolist(), _histograms_of_rows(rows), strict=True):
            out[i] = h
    return out


def _histograms_of_rows(rows: np.ndarray) -> list[Histogram]:
    """Histograms from a stack of TF2 ``[k, 3]`` tensors (m, k, 3) of (left edge, right edge,
    count) rows. TF2 histograms keep no sums: they are estimated from the bucket centres."""
    m, k, _ = rows.shape
    if k == 0:
        return [Histogram(_EMPTY, _EMPTY, 0.0, 0.0, 0.0, 0.0, 0.0) for _ in range(m)]
    counts = rows[:, :, 2]
    edges = np.empty((m, k + 1))
    edges[:, :k] = rows[:, :, 0]
    edges[:, k] = rows[:, -1, 1]
    centres = (rows[:, :, 0] + rows[:, :, 1]) / 2
    num = counts.sum(axis=1).tolist()
    total = (centres * counts).sum(axis=1).tolist()
    squares = (centres**2 * counts).sum(axis=1).tolist()
    lo, hi = rows[:, 0, 0].tolist(), rows[:, -1, 1].tolist()
    return [
        Histogram(
            edges=edges[i],
            counts=counts[i],
            num=num[i],
            min=lo[i],
            max=hi[i],
            sum=total[i],
            sum_squares=squares[i],
        )
        for i in range(m)
    ]


def _histogram_proto(arr: np.ndarray, start: int, end: int) -> Histogram | None:
    """A ``HistogramProto``; edges as TensorBoard draws them (``data_compat``): the empty
    buckets at both ends are dropped (the outer limits may be ±DBL_MAX), then the edges are
    [min, inner limits..., max], so that no bucket runs backwards."""
    h = scan(arr, np.array([start]), np.array([end]))
    if h.bad[0]:
        return None
    scalars = {1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0, 5: 0.0}
    limits: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    for i in range(h.number.size):
        num, wire = int(h.number[i]), int(h.wire[i])
        if num in scalars and wire == I64:
            scalars[num] = float(gather(arr, h.start[i : i + 1], 8, "<f8")[0])
        elif num in (6, 7):
            if wire == LEN:
                raw = arr[h.start[i] : h.end[i]]
                if raw.size % 8:
                    return None
                vals = raw.view("<f8").copy()
            elif wire == I64:
                vals = gather(arr, h.start[i : i + 1], 8, "<f8")
            else:
                continue
            (limits if num == 6 else counts).append(vals)
    lim = np.concatenate(limits) if limits else np.zeros(0)
    cnt = np.concatenate(counts) if counts else np.zeros(0)
    if lim.size != cnt.size:
        return None
    lo, hi = scalars[1], scalars[2]
    edges, cnt = _trimmed(lim, cnt, lo, hi)
    return Histogram(
        edges=edges,
        counts=cnt,
        num=scalars[3],
        min=lo,
        max=hi,
        sum=scalars[4],
        sum_squares=scalars[5],
    )


def _histogram_tensor(arr: np.ndarray, start: int, end: int) -> Histogram | None:
    """A TF2 histogram: a ``[k, 3]`` tensor of (left edge, right edge, count) rows."""
    values = _tensor_array(arr, start, end)
    if values is None or values.size % 3:
        return None
    return _histograms_of_rows(values.reshape(1, -1, 3))[0]


def _tensor_array(arr: np.ndarray, start: int, end: int) -> np.ndarray | None:
    """All elements of a float or double tensor, flattened (for histogram tensors)."""
    t = scan(arr, np.array([start]), np.array([end]))
    if t.bad[0]:
        return None
    dtype = 0
    content = None
    typed: list[np.ndarray] = []
    for i in range(t.number.size):
        num, wire = int(t.number[i]), int(t.wire[i])
        raw = arr[t.start[i] : t.end[i]]
        if num == _T_DTYPE and wire == VARINT:
            dtype = int(t.value[i])
        elif num == _T_CONTENT and wire == LEN:
            content = raw
        elif num == 6 and wire == LEN and raw.size % 8 == 0 and dtype == 2:
            typed.append(raw.view("<f8"))
        elif num == 5 and wire == LEN and raw.size % 4 == 0 and dtype == 1:
            typed.append(raw.view("<f4").astype(np.float64))
    if dtype not in (1, 2):
        return None
    if content is not None:
        width = 4 if dtype == 1 else 8
        if content.size % width:
            return None
        return content.view("<f4" if dtype == 1 else "<f8").astype(np.float64)
    return np.concatenate(typed) if typed else np.zeros(0)


def _tensor_text(arr: np.ndarray, start: int, end: int) -> str | None:
    """The strings of a text-plugin tensor, joined by newlines."""
    t = scan(arr, np.array([start]), np.array([end]))
    if t.bad[0]:
        return None
    parts = [
        arr[t.start[i] : t.end[i]].tobytes().decode("utf-8", errors="replace")
        for i in range(t.number.size)
        if int(t.number[i]) == 8 and int(t.wire[i]) == LEN
    ]
    return "\n".join(parts)
