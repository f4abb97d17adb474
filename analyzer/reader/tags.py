"""Tags: a run's table of tag names, and what each tag holds (the plugin named in its metadata).

A tag's plugin comes from the ``SummaryMetadata`` of its first value: writers send the
metadata only once, so it is remembered across chunks and files of a run in a
:class:`TagTable`. Tag names are numbered in bulk (:func:`factorize_spans`): a chunk of a
million records holds a handful of distinct names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .layouts import LayoutCache
from .text import distinct, text_of_bytes
from .wire import LEN, Fields, assign_last, scan

# Summary.Value fields read here (the value itself is :mod:`.proto`'s business)
V_TAG, V_METADATA = 1, 9

# What a tag holds, as TensorBoard's plugins name it.
SCALARS, HISTOGRAMS, TEXT, HPARAMS = "scalars", "histograms", "text", "hparams"
NO_PLUGIN, P_SCALARS, P_HISTOGRAMS, P_TEXT, P_OTHER = 0, 1, 2, 3, 4
_PLUGIN_CODES = {"": NO_PLUGIN, SCALARS: P_SCALARS, HISTOGRAMS: P_HISTOGRAMS, TEXT: P_TEXT}


@dataclass
class TagTable:
    """Tags of one run seen so far, with what each holds (mutable, owned by one reader)."""

    names: list[str] = field(default_factory=list)
    plugin: list[str] = field(default_factory=list)
    other_points: list[int] = field(default_factory=list)  # images, audio, unknown tensors
    other_kind: list[str] = field(default_factory=list)
    layouts: LayoutCache = field(default_factory=LayoutCache)  # of the run's scalar records
    _ids: dict[bytes, int] = field(default_factory=dict)
    _taken: set[str] = field(default_factory=set)  # names given (distinct bytes, distinct names)

    def ids(self, uniques: list[bytes]) -> np.ndarray:
        """Run-wide ids for a chunk's distinct tag names, adding the new ones."""
        out = np.empty(len(uniques), dtype=np.int32)
        for i, raw in enumerate(uniques):
            tag_id = self._ids.get(raw)
            if tag_id is None:
                tag_id = self._ids[raw] = len(self.names)
                name = distinct(text_of_bytes(raw), self._taken)
                self._taken.add(name)
                self.names.append(name)
                self.plugin.append("")
                self.other_points.append(0)
                self.other_kind.append("")
            out[i] = tag_id
        return out

    def plugin_codes(self, tag_id: np.ndarray) -> np.ndarray:
        """The plugin of each tag in ``tag_id``, as a small code (``NO_PLUGIN``, ...)."""
        if not tag_id.size:
            return np.zeros(0, dtype=np.int8)
        codes = np.array([_PLUGIN_CODES.get(p, P_OTHER) for p in self.plugin], dtype=np.int8)
        return codes[tag_id]

    def count_other(self, tag_id: int, kind: str) -> None:
        """One more point of a kind not read (image, audio, a tensor of another plugin)."""
        self.other_points[tag_id] += 1
        if not self.other_kind[tag_id]:
            self.other_kind[tag_id] = self.plugin[tag_id] or kind


def tag_ids(arr: np.ndarray, values: Fields, nv: int, tags: TagTable) -> np.ndarray:
    start = np.zeros(nv, dtype=np.int64)
    end = np.zeros(nv, dtype=np.int64)
    idx = values.where(V_TAG, LEN)
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


def remember_plugins(arr: np.ndarray, values: Fields, tag_id: np.ndarray, tags: TagTable) -> None:
    idx = values.where(V_METADATA, LEN)
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
            tags.plugin[t] = (
                arr[pdata.start[i] : pdata.end[i]].tobytes().decode("utf-8", errors="replace")
            )


def hparams_contents(
    arr: np.ndarray, values: Fields, tag_id: np.ndarray, tags: TagTable
) -> list[bytes]:
    """Raw ``HParamsPluginData`` of the hparams plugin's values (decoded by the caller)."""
    idx = values.where(V_METADATA, LEN)
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
