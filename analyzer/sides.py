"""Side folders (Keras ``train/``, ``validation/``) whose tags would mix with their run's.

:func:`analyzer.pipeline.plan_runs` joins ``X/train`` and ``X/validation`` to run ``X``,
their tags prefixed ``train/`` and ``validation/``; it decides from folder names alone, before
anything is read. Once the tags are known, a side whose prefixed tags are also tags of the
run it joins (a ``train/loss`` written at ``X`` itself beside a ``train/`` folder's ``loss``)
would merge two series into one: 200 points over 100 steps, every step twice, with nothing
said. Such a side is analysed as a run of its own instead (named by its folder, ``X/train``),
and both runs carry a note that says why (issue #14, case 17).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .reader import RunData

_SHOWN = 3  # clashing tags named in a note


@dataclass(frozen=True, slots=True)
class KeptApart:
    """A side folder's run left out of the run it would have joined."""

    side: RunData
    prefix: str
    clashes: tuple[str, ...]  # its prefixed tags that the run already had, sorted

    def note_for_parent(self) -> str:
        return (
            f"{self.side.name} is analysed as a run of its own: its tags, prefixed "
            f"'{self.prefix}/', would mix with this run's {_clashes(self.clashes)}"
        )

    def note_for_side(self, parent: str) -> str:
        return (
            f"kept apart from run {parent}: this folder's tags, prefixed '{self.prefix}/', "
            f"would mix with that run's {_clashes(self.clashes)}"
        )


def _clashes(tags: tuple[str, ...]) -> str:
    shown = ", ".join(tags[:_SHOWN])
    more = f" and {len(tags) - _SHOWN} more" if len(tags) > _SHOWN else ""
    return f"{shown}{more}"


def tag_names(run: RunData) -> set[str]:
    """The names of the run's scalar, histogram and text tags (those with points)."""
    names: set[str] = set()
    for frame in (run.scalars, run.histograms, run.texts):
        if not frame.empty:
            names.update(str(tag) for tag in frame["tag"].unique())
    # A run read for ``tags`` counts its scalars and histograms instead of holding frames.
    names.update(t.tag for t in run.other_tags if t.kind in ("scalar", "histogram"))
    return names


def keep_apart(
    parts: Sequence[tuple[str, RunData]],
) -> tuple[tuple[tuple[str, RunData], ...], tuple[KeptApart, ...]]:
    """The parts (tag prefix, run) that join without mixing tags, and the sides that would.

    Parts are taken in order (the run's own first): a side joins unless one of its prefixed
    tags is already a tag of what joined before it.
    """
    clashes = clashes_of([(prefix, tag_names(run)) for prefix, run in parts])
    kept = tuple((p, r) for (p, r), c in zip(parts, clashes, strict=True) if not c)
    apart = tuple(KeptApart(r, p, c) for (p, r), c in zip(parts, clashes, strict=True) if c)
    return kept, apart


def clashes_of(parts: Sequence[tuple[str, set[str]]]) -> list[tuple[str, ...]]:
    """Per part (tag prefix, tag names), in order: the prefixed tags it shares with the parts
    that joined before it (sorted), empty when it joins (:func:`keep_apart`; ``export``
    decides the same from the names alone)."""
    out: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for prefix, names in parts:
        prefixed = {f"{prefix}/{t}" for t in names} if prefix else names
        clashes = prefixed & seen
        if prefix and clashes:
            out.append(tuple(sorted(clashes)))
            continue
        out.append(())
        seen |= prefixed
    return out
