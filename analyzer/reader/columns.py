"""A run's points of one kind, kept grouped by tag as the chunks come, and resolved tag by tag.

Each decoded chunk is sorted by tag as it arrives (a 64k-row sort, cheap) and only its step,
wall time and value columns are kept; the chunk itself is released. So a run's points cost
20 bytes each (step as int32 when it fits, wall time, value; 12 without values), not the
twice that and more of concatenating every chunk's columns and sorting them all at once, and
one tag's points are a few slices away: ``export`` and ``tags`` take the run a tag at a time.

Whether a tag's steps ever stop increasing is checked as the chunks come, with whole-chunk
operations: a tag whose steps only increase (nearly every tag of nearly every run) keeps every
point, and resolving it costs nothing. The others are resolved by :mod:`.restarts`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from .restarts import DuplicateSteps, Regressions, Restart, describe, resolve_tag

_I32 = np.iinfo(np.int32)


@dataclass(frozen=True, slots=True)
class _Part:
    """One chunk's points of one kind, sorted by tag id (stable: write order within a tag)."""

    file_no: int
    offsets: np.ndarray  # int64, one more than the tags known then: tag t is [t]:[t+1]
    step: np.ndarray  # int32 or int64
    wall: np.ndarray  # float64
    value: np.ndarray | None  # float64 (scalars) or int64 (index of a histogram); None: counts


@dataclass(frozen=True, slots=True)
class Resolved:
    """The outcome of resolving every tag of one kind (see :meth:`TagStore.resolve`)."""

    order: tuple[int, ...]  # tag ids with points kept, in name order
    kept: dict[int, np.ndarray | None]  # per tag id: which points survive (None: all)
    counts: dict[int, int]  # points kept per tag id
    restarts: list[Restart]
    duplicates: list[DuplicateSteps]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class TagStore:
    """The points of one kind (scalars or histograms) of a run, grouped by tag (mutable, owned
    by one reader). ``values`` False keeps steps and wall times only (``dlreport tags``)."""

    def __init__(self, *, values: bool = True) -> None:
        self.values = values
        self.parts: list[_Part] = []
        self.totals = np.zeros(0, dtype=np.int64)  # points per tag id so far
        self.last_step = np.zeros(0, dtype=np.int64)  # per tag id, valid where totals > 0
        self.dirty = np.zeros(0, dtype=bool)  # tags whose step did not always increase
        self.session_counts: list[np.ndarray] = []  # per SessionLog.START: points before it
        self.wall_min = np.inf
        self.rows = 0

    def _grow(self, n_tags: int) -> None:
        if n_tags > self.totals.size:
            more = n_tags - self.totals.size
            self.totals = np.concatenate((self.totals, np.zeros(more, dtype=np.int64)))
            self.last_step = np.concatenate((self.last_step, np.zeros(more, dtype=np.int64)))
            self.dirty = np.concatenate((self.dirty, np.zeros(more, dtype=bool)))

    def add(
        self,
        file_no: int,
        n_tags: int,
        tag: np.ndarray,
        step: np.ndarray,
        wall: np.ndarray,
        value: np.ndarray | None,
        session_offsets: list[int],
    ) -> None:
        """Add one chunk's points (in write order); ``session_offsets`` are the rows before
        each ``SessionLog.START`` in the chunk."""
        self._grow(n_tags)
        for offset in session_offsets:
            before = self.totals.copy()
            if offset:
                before += np.bincount(tag[:offset], minlength=n_tags)
            self.session_counts.append(before)
        if tag.size == 0:
            return
        # Radix sort for small ints: tags of one chunk are a handful of ids.
        key = tag.astype(np.int16, copy=False) if n_tags < 2**15 else tag
        order = np.argsort(key, kind="stable")
        counts = np.bincount(tag, minlength=n_tags)
        offsets = np.zeros(n_tags + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        step = step[order]
        present = np.flatnonzero(counts)
        self._check_order(step, offsets, present)
        low, high = step.min(), step.max()
        if _I32.min <= low and high <= _I32.max:
            step = step.astype(np.int32)
        self.parts.append(
            _Part(
                file_no,
                offsets,
                step,
                wall[order],
                None if value is None or not self.values else value[order],
            )
        )
        self.wall_min = min(self.wall_min, float(wall.min()))
        self.totals += counts
        self.rows += int(tag.size)

    def _check_order(self, step: np.ndarray, offsets: np.ndarray, present: np.ndarray) -> None:
        """Mark the tags whose steps stop increasing in this chunk or against the last one."""
        not_up = np.flatnonzero(step[1:] <= step[:-1]) + 1  # rows not above the row before
        if not_up.size:
            # Rows that start a tag's slice compare against another tag: not a regression.
            starts = offsets[present]
            within = not_up[~np.isin(not_up, starts)]
            if within.size:
                owner = np.searchsorted(offsets, within, side="right") - 1
                self.dirty[owner] = True
        seen = present[self.totals[present] > 0]
        if seen.size:
            first = step[offsets[seen]]
            self.dirty[seen[first <= self.last_step[seen]]] = True
        self.last_step[present] = step[offsets[present + 1] - 1]

    def slices(self, tag_id: int, column: str) -> list[np.ndarray]:
        """The parts of one column holding ``tag_id``'s points, in write order."""
        out = []
        for p in self.parts:
            if tag_id + 1 < p.offsets.size:
                a, b = int(p.offsets[tag_id]), int(p.offsets[tag_id + 1])
                if b > a:
                    out.append(getattr(p, column)[a:b])
        return out

    def column(self, tag_id: int, column: str, dtype: str) -> np.ndarray:
        parts = self.slices(tag_id, column)
        if not parts:
            return np.zeros(0, dtype=dtype)
        return np.concatenate(parts, dtype=dtype)

    def _files(self, tag_id: int) -> np.ndarray:
        sizes, files = [], []
        for p in self.parts:
            if tag_id + 1 < p.offsets.size:
                sizes.append(int(p.offsets[tag_id + 1] - p.offsets[tag_id]))
                files.append(p.file_no)
        return np.repeat(np.array(files, dtype=np.int64), sizes)

    def resolve(
        self, names: list[str], session_starts: list[tuple[int, float, int]], files: list[str]
    ) -> Resolved:
        """Resolve every tag (restarts and rewrites, see :mod:`.restarts`), in name order."""
        self._grow(len(names))
        regressions = Regressions(len(session_starts))
        kept: dict[int, np.ndarray | None] = {}
        counts: dict[int, int] = {}
        sessions = bool(session_starts)
        for t in sorted(np.flatnonzero(self.totals).tolist(), key=names.__getitem__):
            keep: np.ndarray | None = None
            if self.dirty[t] or sessions:
                before = [
                    (int(c[t]) if t < c.size else 0, int(s))
                    for c, (s, _, _) in zip(self.session_counts, session_starts, strict=True)
                ]
                keep = resolve_tag(
                    t,
                    names[t],
                    self.column(t, "step", "int64"),
                    lambda t=t: self._files(t),  # type: ignore[misc]
                    lambda t=t: self.column(t, "wall", "float64"),  # type: ignore[misc]
                    before,
                    regressions,
                )
            n = int(self.totals[t]) if keep is None else int(keep.sum())
            if n:
                kept[t], counts[t] = keep, n
        wall_min = float(self.wall_min) if self.rows else 0.0
        restarts, duplicates = describe(regressions, wall_min, session_starts, names, files)
        return Resolved(tuple(kept), kept, counts, restarts, duplicates)

    def kept_column(self, resolved: Resolved, column: str, dtype: str) -> np.ndarray:
        """One column of every kept point, by tag in name order then step (one copy)."""
        parts: list[np.ndarray] = []
        masks: list[np.ndarray] = []
        masked = False
        for t in resolved.order:
            pieces = self.slices(t, column)
            parts += pieces
            keep = resolved.kept[t]
            if keep is not None:
                masked = True
                masks.append(keep)
            else:
                masks.append(np.ones(int(self.totals[t]), dtype=bool))
        if not parts:
            return np.zeros(0, dtype=dtype)
        out = np.concatenate(parts, dtype=dtype)
        return out[np.concatenate(masks)] if masked else out

    def tags(
        self, resolved: Resolved, wanted: Callable[[int], bool] | None = None
    ) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        """Each kept tag in name order (those ``wanted`` only): (tag id, step, wall_time,
        value) of its kept points."""
        for t in resolved.order:
            if wanted is not None and not wanted(t):
                continue
            keep = resolved.kept[t]
            cols = [
                self.column(t, "step", "int64"),
                self.column(t, "wall", "float64"),
                self.column(t, "value", "float64"),
            ]
            if keep is not None:
                cols = [c[keep] for c in cols]
            yield t, cols[0], cols[1], cols[2]

    def first_last(self, resolved: Resolved, tag_id: int) -> tuple[int, int]:
        """The first and last kept step of a tag (kept steps increase)."""
        keep = resolved.kept[tag_id]
        if keep is None:
            parts = self.slices(tag_id, "step")
            return int(parts[0][0]), int(parts[-1][-1])
        kept = np.flatnonzero(keep)
        step = self.column(tag_id, "step", "int64")
        return int(step[kept[0]]), int(step[kept[-1]])

    def release(self, column: str) -> None:
        """Drop one column of every part (once it has been copied out)."""
        self.parts = [
            _Part(
                p.file_no,
                p.offsets,
                np.zeros(0, np.int32) if column == "step" else p.step,
                np.zeros(0) if column == "wall" else p.wall,
                None if column == "value" else p.value,
            )
            for p in self.parts
        ]
