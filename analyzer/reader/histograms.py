"""Histograms: TF1 ``HistogramProto`` values and TF2 ``[k, 3]`` tensors, decoded in bulk.

Edges are as TensorBoard draws them (``data_compat``): for a ``HistogramProto``, the empty
buckets at both ends are dropped and the outer edges are the recorded min and max; a TF2
tensor's rows are (left edge, right edge, count) and its sums are estimated from the bucket
centres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tensors import T_CONTENT, T_DTYPE, tensor_floats
from .wire import I64, LEN, VARINT, Fields, assign_last, gather, scan


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


def decode_histograms(
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
    idx = t.where(T_DTYPE, VARINT)
    assign_last(dtype, t, idx, t.value[idx].astype(np.int64))
    content_s, content_e, content_ok = _single_field(t, T_CONTENT, LEN, n)
    has_content = np.bincount(t.parent[t.where(T_CONTENT, LEN)], minlength=n) > 0
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
    values = tensor_floats(arr, start, end)
    if values is None or values.size % 3:
        return None
    return _histograms_of_rows(values.reshape(1, -1, 3))[0]


def histogram_values(
    arr: np.ndarray,
    protos: np.ndarray,
    tensors: np.ndarray,
    order: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
) -> tuple[np.ndarray, list[Histogram]]:
    """The histograms among some ``Summary.Value`` messages, in the order they were written.

    ``protos`` and ``tensors`` index the values holding a ``HistogramProto`` and a tensor of
    the histograms plugin; ``order``, ``start`` and ``end`` give, per value, its byte offset
    and the span of its payload. Returns the indices of the values that decode (in write
    order) and their histograms; the others are not histograms after all and are dropped.
    """
    which = np.concatenate([protos, tensors])
    is_proto = np.concatenate([np.ones(protos.size, bool), np.zeros(tensors.size, bool)])
    by_order = np.argsort(order[which], kind="stable")
    which, is_proto = which[by_order], is_proto[by_order]
    decoded = decode_histograms(arr, start[which], end[which], is_proto)
    keep = [i for i, h in enumerate(decoded) if h is not None]
    return which[keep], [h for h in decoded if h is not None]
