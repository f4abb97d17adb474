"""Restarts and rewrites: which points of a run survive, and what happened to the others.

When a tag's step goes backwards, training was restarted (from a checkpoint, or from scratch
into the same directory): as TensorBoard purges orphaned data, the points written before the
restart at steps the new write reaches are dropped, so the latest write of every step wins.
A ``SessionLog.START`` at step s does the same for every tag. Every restart and every step
written more than once is described, for the diagnostics to report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

_MAX_RESTARTS_LISTED = 100  # a file with steps in random order would list thousands


@dataclass(frozen=True, slots=True)
class Restart:
    """Training restarted in ``file``: a tag's step went back from ``from_step`` to ``to_step``."""

    file: str
    from_step: int
    to_step: int
    wall_time: float
    tags: int  # how many tags went back
    replaced: int  # points written before the restart and superseded by it


@dataclass(frozen=True, slots=True)
class DuplicateSteps:
    """Steps of ``tag`` written more than once, without going back (the last write is kept)."""

    tag: str
    first_step: int
    last_step: int
    count: int  # extra writes (a step written 3 times counts 2)
    steps: int  # distinct steps written more than once


@dataclass
class Regressions:
    """What the tags of one kind (scalars or histograms) went through, gathered tag by tag in
    name order by :func:`resolve_tag`, for :func:`describe` to group into restarts."""

    sessions: int  # SessionLog.START events of the run
    duplicates: list[DuplicateSteps] = field(default_factory=list)
    # One entry per tag whose step went back (to a smaller step): the points that went back.
    tag: list[np.ndarray] = field(default_factory=list)
    file: list[np.ndarray] = field(default_factory=list)
    wall: list[np.ndarray] = field(default_factory=list)
    from_step: list[np.ndarray] = field(default_factory=list)
    to_step: list[np.ndarray] = field(default_factory=list)
    # The points superseded by a restart (dropped, and not merely rewritten at the same step).
    dropped_file: list[np.ndarray] = field(default_factory=list)
    dropped_wall: list[np.ndarray] = field(default_factory=list)
    went_back: bool = False  # any tag's step did not advance
    # Per SessionLog.START: points it purged, the largest step purged, tags purged.
    purged: np.ndarray = field(init=False)
    purged_max: np.ndarray = field(init=False)
    purged_tags: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.purged = np.zeros(self.sessions, dtype=np.int64)
        self.purged_max = np.full(self.sessions, np.iinfo(np.int64).min, dtype=np.int64)
        self.purged_tags = np.zeros(self.sessions, dtype=np.int64)


def resolve_tag(
    tag_id: int,
    name: str,
    step: np.ndarray,
    file_of: Callable[[], np.ndarray],
    wall_of: Callable[[], np.ndarray],
    sessions: list[tuple[int, int]],
    out: Regressions,
) -> np.ndarray | None:
    """Which points of one tag survive (a mask, or None for all); what went back goes to ``out``.

    ``step`` holds the tag's points in write order; ``file_of`` and ``wall_of`` give their
    file numbers and wall times (asked for only when a step went back). ``sessions`` holds,
    per ``SessionLog.START`` of the run in order, the tag's points written before it and its
    step. A point survives iff every later point of its tag has a larger step: a later write
    at the same or a smaller step supersedes it (TensorBoard's purge of orphaned data, per
    tag). A ``SessionLog.START`` at step s supersedes every earlier point at a step >= s.
    Tags must be resolved in name order (that is the order restarts are grouped in).
    """
    n = step.size
    if n == 0:
        return None
    keep: np.ndarray | None = None
    back = step[1:] <= step[:-1]
    if back.any():
        out.went_back = True
        # Suffix minimum of the later steps, from the end of the write order.
        later_min = np.empty(n, dtype=np.int64)
        later_min[-1] = np.iinfo(np.int64).max
        later_min[:-1] = np.minimum.accumulate(step[::-1])[::-1][1:]
        keep = step < later_min
        # A dropped point rewritten right away at the same step is a duplicate; any other
        # dropped point was superseded by a restart.
        rewritten = np.zeros(n, dtype=bool)
        rewritten[:-1] = step[1:] == step[:-1]
        at = np.flatnonzero(back) + 1  # the points that went back
        equal = step[at] == step[at - 1]
        if equal.any():
            steps = step[at[equal]]
            out.duplicates.append(
                DuplicateSteps(
                    tag=name,
                    first_step=int(steps.min()),
                    last_step=int(steps.max()),
                    count=int(steps.size),
                    steps=int(np.unique(steps).size),
                )
            )
        files, walls = file_of(), wall_of()
        went = at[~equal]
        if went.size:
            out.tag.append(np.full(went.size, tag_id, dtype=np.int64))
            out.file.append(files[went])
            out.wall.append(walls[went])
            out.from_step.append(step[went - 1])
            out.to_step.append(step[went])
        dropped = np.flatnonzero(~keep & ~rewritten)
        if dropped.size:
            out.dropped_file.append(files[dropped])
            out.dropped_wall.append(walls[dropped])
    for k, (before, start_step) in enumerate(sessions):
        if before == 0:
            continue
        purged = step[:before] >= start_step
        if keep is not None:
            purged &= keep[:before]
        if purged.any():
            if keep is None:
                keep = np.ones(n, dtype=bool)
            keep[:before] &= ~purged
            out.purged[k] += int(purged.sum())
            out.purged_max[k] = max(int(out.purged_max[k]), int(step[:before][purged].max()))
            out.purged_tags[k] += 1
    return keep


def describe(
    out: Regressions,
    wall_min: float,
    session_starts: list[tuple[int, float, int]],
    names: list[str],
    files: list[str],
) -> tuple[list[Restart], list[DuplicateSteps]]:
    """The restarts and duplicated steps of one kind, from what :func:`resolve_tag` gathered.

    ``wall_min`` is the smallest wall time of all the kind's points; ``session_starts`` holds
    (step, wall, file number) per ``SessionLog.START``.
    """
    restarts: list[Restart] = []
    if out.went_back:
        restarts = _describe_regressions(out, wall_min, files)
    for k, (start_step, start_wall, file_no) in enumerate(session_starts):
        if out.purged[k]:
            restart = Restart(
                file=files[file_no],
                from_step=int(out.purged_max[k]),
                to_step=int(start_step),
                wall_time=float(start_wall),
                tags=int(out.purged_tags[k]),
                replaced=int(out.purged[k]),
            )
            restarts = _with_restart(restarts, restart)
    return restarts, out.duplicates


def _concat(parts: list[np.ndarray], dtype: str) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def _describe_regressions(out: Regressions, wall_min: float, files: list[str]) -> list[Restart]:
    """Group the points where a tag's step went back into restarts.

    A restart event groups the regressions of different tags in one file; a tag going back
    twice in one file starts a new event. Regressions are taken in write order (by file, then
    wall time; ties in tag name order).
    """
    tag, file_no = _concat(out.tag, "int64"), _concat(out.file, "int64")
    wall = _concat(out.wall, "float64")
    from_step, to_step = _concat(out.from_step, "int64"), _concat(out.to_step, "int64")
    order = np.lexsort((wall, file_no))
    events: list[_RestartEvent] = []
    for i in order.tolist()[: _MAX_RESTARTS_LISTED * 20]:
        f, tag_id = int(file_no[i]), int(tag[i])
        if not events or events[-1].file != f or tag_id in events[-1].tag_ids:
            events.append(_RestartEvent(file=f, wall=float(wall[i])))
        e = events[-1]
        e.tag_ids.add(tag_id)
        e.from_steps.append(int(from_step[i]))
        e.to_steps.append(int(to_step[i]))
    if not events:
        return []
    # Each dropped point was superseded by the first restart after it (in file, then time).
    event_keys = np.array([e.file * 1e12 + (e.wall - wall_min) for e in events])
    dropped_file = _concat(out.dropped_file, "int64")
    dropped_wall = _concat(out.dropped_wall, "float64")
    owner = np.searchsorted(
        event_keys, dropped_file * 1e12 + (dropped_wall - wall_min), side="right"
    )
    replaced = np.bincount(np.minimum(owner, len(events) - 1), minlength=len(events))
    return [
        Restart(
            file=files[e.file],
            from_step=max(e.from_steps),
            to_step=min(e.to_steps),
            wall_time=e.wall,
            tags=len(e.tag_ids),
            replaced=int(replaced[k]),
        )
        for k, e in enumerate(events[:_MAX_RESTARTS_LISTED])
    ]


def _with_restart(restarts: list[Restart], new: Restart) -> list[Restart]:
    """Add a ``SessionLog.START`` restart, merged with the step-went-back restart of the same
    file that describes the same event (one that went back to the start step or later)."""
    for i, r in enumerate(restarts):
        if r.file == new.file and r.to_step >= new.to_step:
            merged = Restart(
                file=r.file,
                from_step=max(r.from_step, new.from_step),
                to_step=new.to_step,
                wall_time=min(r.wall_time, new.wall_time),
                tags=max(r.tags, new.tags),
                replaced=r.replaced + new.replaced,
            )
            return [*restarts[:i], merged, *restarts[i + 1 :]]
    return [*restarts, new]


@dataclass
class _RestartEvent:
    file: int
    wall: float
    tag_ids: set[int] = field(default_factory=set)
    from_steps: list[int] = field(default_factory=list)
    to_steps: list[int] = field(default_factory=list)


def merge_restarts(a: list[Restart], b: list[Restart]) -> tuple[Restart, ...]:
    seen = {(r.file, r.to_step) for r in a}
    return tuple(a + [r for r in b if (r.file, r.to_step) not in seen])
