"""The runs ``dlreport export`` writes: each analysed run's scalars, a tag at a time.

The counterpart of ``flat_run`` (which builds a whole :class:`~analyzer.reader.RunData` for
``tags``) for export, which needs only scalars and never a frame: a run's points are held
once, compactly, by the reader, and each tag's columns are built when the writer asks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .reader import Problem, ScalarColumns, read_run, read_scalar_columns
from .sides import clashes_of

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .pipeline import RunPlan


@dataclass(frozen=True)
class FlatScalars:
    """One analysed run's scalars for ``export``, a tag at a time: the parts' tags prefixed
    as :func:`flat_run` prefixes them, and only those ``pattern`` finds (``--tags``)."""

    name: str
    parts: tuple[tuple[str, ScalarColumns], ...]
    problems: tuple[Problem, ...]
    records: int
    pattern: str | None = None

    @property
    def readable(self) -> bool:
        return self.records > 0

    def tags(self) -> Iterator[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
        regex = re.compile(self.pattern) if self.pattern is not None else None
        for prefix, columns in self.parts:

            def name_of(tag: str, prefix: str = prefix) -> str:
                return f"{prefix}/{tag}" if prefix else tag

            def wanted(tag: str, name_of: Callable[[str], str] = name_of) -> bool:
                return regex is None or regex.search(name_of(tag)) is not None

            for tag, step, wall, value in columns.tags(None if regex is None else wanted):
                yield name_of(tag), step, wall, value


def flat_scalars(plan: RunPlan, pattern: str | None = None) -> tuple[FlatScalars, ...]:
    """``flat_runs`` for ``export``: the scalars of an analysed run, read and held compactly,
    handed out a tag at a time (the hparams children only counted, for their problems); a
    side folder whose prefixed tags would mix with the run's follows as a run of its own."""
    parts = [(prefix, read_scalar_columns(src)) for prefix, src in plan.parts]
    clashes = clashes_of([(prefix, set(cols.tag_names)) for prefix, cols in parts])
    kept = tuple(part for part, c in zip(parts, clashes, strict=True) if not c)
    apart = [cols for (_, cols), c in zip(parts, clashes, strict=True) if c]
    lent = [read_run(src, values=False) for src in plan.hparams_from]
    parent = FlatScalars(
        name=plan.name,
        parts=kept,
        problems=tuple(x for _, r in kept for x in r.problems)
        + tuple(x for r in lent for x in r.problems),
        records=sum(r.records for _, r in kept) + sum(r.records for r in lent),
        pattern=pattern,
    )
    sides = (FlatScalars(c.name, (("", c),), c.problems, c.records, pattern) for c in apart)
    return (parent, *sides)
