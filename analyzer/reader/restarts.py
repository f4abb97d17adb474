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
import pandas as pd

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


def resolve_restarts(
    rank: np.ndarray,
    tag: np.ndarray,
    step: np.ndarray,
    wall: np.ndarray,
    session_starts: list[tuple[int, int, float, int]],
    names: list[str],
    files: list[str],
    file_of_rows: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, list[Restart], list[DuplicateSteps]]:
    """The rows that survive, as indices sorted by tag name and step; and the restarts seen.

    Rows are in write order. A point survives iff every later point of its tag has a larger
    step: a later write at the same or a smaller step supersedes it (TensorBoard's purge of
    orphaned data, per tag). A ``SessionLog.START`` at step s supersedes every earlier point
    at a step >= s, in all tags.
    """
    n = tag.size
    if n == 0:
        return np.zeros(0, dtype=np.int64), [], []
    # Stable sort by tag name: within a tag, rows stay in write order (an integer radix sort).
    by_tag = np.argsort(rank[tag], kind="stable")
    t, s = tag[by_tag], step[by_tag]
    same_tag = t[1:] == t[:-1]
    back = same_tag & (s[1:] <= s[:-1])
    keep = np.ones(n, dtype=bool)  # in by_tag order
    restarts: list[Restart] = []
    duplicates: list[DuplicateSteps] = []
    if back.any():
        # Suffix minimum of the step within each tag, from the end of the write order.
        rev = pd.Series(s[::-1]).groupby(t[::-1]).cummin().to_numpy()[::-1]
        later_min = np.full(n, np.iinfo(np.int64).max)
        later_min[:-1] = np.where(same_tag, rev[1:], np.iinfo(np.int64).max)
        keep = s < later_min
        # A dropped point rewritten right away at the same step is a duplicate; any other
        # dropped point was superseded by a restart.
        rewritten = np.zeros(n, dtype=bool)
        rewritten[:-1] = same_tag & (s[1:] == s[:-1])
        restarts, duplicates = _describe_regressions(
            t, s, file_of_rows(by_tag), wall[by_tag], back, ~keep & ~rewritten, names, files
        )
    if session_starts:
        keep_rows = np.zeros(n, dtype=bool)
        keep_rows[by_tag[keep]] = True
        rows = np.arange(n)
        for before, start_step, start_wall, file_no in session_starts:
            purged = (rows < before) & (step >= start_step) & keep_rows
            if purged.any():
                keep_rows &= ~purged
                restart = Restart(
                    file=files[file_no],
                    from_step=int(step[purged].max()),
                    to_step=int(start_step),
                    wall_time=float(start_wall),
                    tags=int(np.unique(tag[purged]).size),
                    replaced=int(purged.sum()),
                )
                restarts = _with_restart(restarts, restart)
        keep = keep_rows[by_tag]
    idx = by_tag[keep]
    # After the purge, steps increase within each tag in write order, so ``idx`` is sorted by
    # (tag name, step) already.
    return idx, restarts, duplicates


def _describe_regressions(
    t: np.ndarray,
    s: np.ndarray,
    file_no: np.ndarray,
    wall: np.ndarray,
    back: np.ndarray,
    went_back_over: np.ndarray,
    names: list[str],
    files: list[str],
) -> tuple[list[Restart], list[DuplicateSteps]]:
    """Group the points where a tag's step did not advance into restarts and duplicates.

    Arrays are sorted by tag, then write order; ``back[i]`` says row i+1 did not advance, and
    ``went_back_over[i]`` that row i was superseded by a restart (dropped, and not merely
    rewritten at the same step by the next write).
    """
    at = np.flatnonzero(back) + 1  # the point that went back
    equal = s[at] == s[at - 1]
    duplicates = []
    for tag_id in sorted(np.unique(t[at[equal]]).tolist(), key=lambda i: names[i]):
        steps = s[at[equal & (t[at] == tag_id)]]
        duplicates.append(
            DuplicateSteps(
                tag=names[tag_id],
                first_step=int(steps.min()),
                last_step=int(steps.max()),
                count=int(steps.size),
                steps=int(np.unique(steps).size),
            )
        )
    # A restart event groups the regressions of different tags in one file; a tag going back
    # twice in one file starts a new event. Regressions are taken in write order (by wall time).
    went_back = at[~equal]
    went_back = went_back[np.lexsort((wall[went_back], file_no[went_back]))]
    events: list[_RestartEvent] = []
    for i in went_back.tolist()[: _MAX_RESTARTS_LISTED * 20]:
        f, tag_id = int(file_no[i]), int(t[i])
        if not events or events[-1].file != f or tag_id in events[-1].tag_ids:
            events.append(_RestartEvent(file=f, wall=float(wall[i])))
        e = events[-1]
        e.tag_ids.add(tag_id)
        e.from_steps.append(int(s[i - 1]))
        e.to_steps.append(int(s[i]))
    if not events:
        return [], duplicates
    # Each dropped point was superseded by the first restart after it (in file, then time).
    wmin = float(wall.min()) if wall.size else 0.0
    event_keys = np.array([e.file * 1e12 + (e.wall - wmin) for e in events])
    dropped = np.flatnonzero(went_back_over)
    owner = np.searchsorted(
        event_keys, file_no[dropped] * 1e12 + (wall[dropped] - wmin), side="right"
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
    ], duplicates


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
