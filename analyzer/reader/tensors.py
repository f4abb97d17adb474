"""Tensor values (``TensorProto``): one-element scalars, text, and the floats of histograms.

TensorProto's rules (tensorboard/compat/proto/tensor.proto): ``tensor_content`` holds the
elements packed when present; otherwise the typed repeated field of the dtype does, its last
element filling the rest of the tensor and an empty field meaning zeros. What a tensor means
is not in the tensor: it is set by its tag's plugin (:mod:`.tags`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tags import NO_PLUGIN, P_HISTOGRAMS, P_SCALARS, P_TEXT
from .wire import I32, I64, LEN, VARINT, Fields, assign_last, gather, read_varints, scan

# TensorProto fields
T_DTYPE, T_SHAPE, T_CONTENT = 1, 2, 4
T_FLOAT_VAL, T_DOUBLE_VAL, T_STRING_VAL = 5, 6, 8
DT_FLOAT, DT_DOUBLE, DT_STRING = 1, 2, 7

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


def classify_tensors(
    arr: np.ndarray, start: np.ndarray, end: np.ndarray, plugin: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Classify tensor values: (scalar mask, scalar values, histogram mask, text mask)."""
    nt = start.size
    none = np.zeros(nt, dtype=bool)
    if nt == 0:
        return none, np.zeros(0), none, none
    t = scan(arr, start, end)
    dtype = np.zeros(nt, dtype=np.int64)
    idx = t.where(T_DTYPE, VARINT)
    assign_last(dtype, t, idx, t.value[idx].astype(np.int64))
    elements = _num_elements(arr, t, nt)

    is_hist_plugin = plugin == P_HISTOGRAMS
    is_text = (plugin == P_TEXT) & (dtype == DT_STRING)
    # A scalar: the scalars plugin, or no plugin at all, and one numeric element.
    maybe_scalar = ((plugin == P_SCALARS) | (plugin == NO_PLUGIN)) & (elements == 1)
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
    shape = t.where(T_SHAPE, LEN)
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

    content = t.where(T_CONTENT, LEN)
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


def tensor_floats(arr: np.ndarray, start: int, end: int) -> np.ndarray | None:
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
        if num == T_DTYPE and wire == VARINT:
            dtype = int(t.value[i])
        elif num == T_CONTENT and wire == LEN:
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


def tensor_text(arr: np.ndarray, start: int, end: int) -> str | None:
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


@dataclass(frozen=True, slots=True)
class TensorValues:
    """What the tensor values of a chunk are, as indices of their ``Summary.Value``."""

    scalar: np.ndarray  # one-element numeric tensors of the scalars plugin (or of none)
    scalar_value: np.ndarray  # float64, their element
    histogram: np.ndarray  # tensors of the histograms plugin (decoded by :mod:`.histograms`)
    text: list[tuple[int, str]]  # (value, its strings joined) for text tensors, in write order
    # the scalars and text tensors: those not read (and histograms that fail to decode) are
    # counted as other points of their tag
    read: np.ndarray


def tensor_values(
    arr: np.ndarray,
    which: np.ndarray,
    plugin: np.ndarray,
    order: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
) -> TensorValues:
    """Classify and read the tensors at the values ``which`` (``plugin``: each one's plugin
    code; ``order``, ``start``, ``end``: per value, its byte offset and payload span)."""
    is_scalar, values, is_hist, is_text = classify_tensors(arr, start[which], end[which], plugin)
    text_which = which[is_text]
    texts = []
    for i in text_which[np.argsort(order[text_which], kind="stable")].tolist():
        text = tensor_text(arr, start[i], end[i])
        if text is not None:
            texts.append((i, text))
    return TensorValues(
        scalar=which[is_scalar],
        scalar_value=values,
        histogram=which[is_hist],
        text=texts,
        read=which[is_scalar | is_text],
    )
