"""Which of the reader's runs make one analysed run, and reading them as one.

Decided from names alone, before reading: a Keras ``train/`` and ``validation/`` pair is one
run, and a child named by a timestamp lends its hparams to its parent (:func:`plan_runs`); a
side whose tags would mix with its run's is kept apart once read (:func:`split_sides`). Every
command names runs this way (``analyze``, ``tags``, ``export``).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .errors import InputError
from .reader import Logdir, RunData, RunSource, read_run
from .roles import HELDOUT_FOLDERS, SIDE_FOLDERS
from .selection import Selection, discover, keep_tags
from .sides import keep_apart

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


@dataclass(frozen=True, slots=True)
class RunGroup:
    """One analysed run: one reader run, or several merged (Keras ``train/``+``validation/``).

    ``parts`` pairs a tag prefix ("" for none) with the reader's run.
    """

    name: str
    parts: tuple[tuple[str, RunData], ...]
    notes: tuple[str, ...] = ()  # why a side folder was kept apart (:func:`split_sides`)


def split_sides(group: RunGroup) -> tuple[RunGroup, ...]:
    """``group``, and each side folder whose prefixed tags would mix with the group's as a
    run of its own (:mod:`analyzer.sides`); the group alone when nothing mixes."""
    kept, apart = keep_apart(group.parts)
    if not apart:
        return (group,)
    parent = RunGroup(group.name, kept, group.notes + tuple(a.note_for_parent() for a in apart))
    sides = (RunGroup(a.side.name, (("", a.side),), (a.note_for_side(group.name),)) for a in apart)
    return (parent, *sides)


@dataclass(frozen=True, slots=True)
class RunPlan:
    """What to read for one analysed run (decided from names alone, before reading)."""

    name: str
    parts: tuple[tuple[str, RunSource], ...]  # (tag prefix, source): "" or a Keras side
    hparams_from: tuple[RunSource, ...] = ()  # children that only hold hparams


# Older Hugging Face Trainer versions and tensorboardX's add_hparams write the hparams into a
# child folder named by time.time(): such a child lends them to its parent run.
_TIMESTAMP_CHILD = re.compile(r"\d{9,11}(?:\.\d+)?")


def plan_runs(sources: Sequence[RunSource]) -> list[RunPlan]:
    """Group the reader's runs into analysed runs.

    ``X/train`` and ``X/validation`` (also ``val``, ``eval``; and ``test``, ``valid``, ``dev``
    beside a ``train``) become run ``X`` with tags prefixed ``train/`` and ``validation/``
    (``test/``); a run at ``X`` itself (hparams) joins them. A child
    named by a timestamp (``X/1731490564.51``) lends its hparams to ``X``.
    """
    names = {src.name for src in sources}
    sides: dict[str, list[tuple[str, RunSource]]] = {}
    lent: dict[str, list[RunSource]] = {}
    plain: list[RunSource] = []
    trained = {posixpath.dirname(n) or "." for n in names if posixpath.basename(n) == "train"}
    for src in sources:
        parent, leaf = posixpath.split(src.name) if src.name != "." else ("", ".")
        parent = parent or "."
        if leaf in SIDE_FOLDERS:
            sides.setdefault(parent, []).append((SIDE_FOLDERS[leaf], src))
        elif leaf in HELDOUT_FOLDERS and parent in trained:
            sides.setdefault(parent, []).append((HELDOUT_FOLDERS[leaf], src))
        elif _TIMESTAMP_CHILD.fullmatch(leaf) and parent in names and src.name != ".":
            lent.setdefault(parent, []).append(src)
        else:
            plain.append(src)
    plans = [
        RunPlan(
            src.name,
            (("", src), *sides.pop(src.name, [])),
            tuple(lent.pop(src.name, [])),
        )
        for src in plain
    ]
    plans += [
        RunPlan(name, tuple(parts), tuple(lent.pop(name, []))) for name, parts in sides.items()
    ]
    return sorted(plans, key=lambda p: p.name)


def plan_logdirs(logdirs: str | Sequence[str], select: Selection | None = None) -> list[RunPlan]:
    """The analysed runs under one or several LOGDIRs, named and selected as every command does."""
    roots = [logdirs] if isinstance(logdirs, str) else list(logdirs)
    plans = plan_runs(discover(roots))
    if select is not None and (select.include or select.exclude):
        plans = [p for p in plans if select.wants(p.name)]
        if not plans:
            raise InputError(f"{', '.join(roots)}: no run matches {select.describe()}")
    return plans


def flat_runs(plan: RunPlan, *, check_crc: bool = True, values: bool = True) -> tuple[RunData, ...]:
    """One analysed run as the reader's record (``tags``, ``export``): parts merged, tags prefixed.

    Named as ``analyze`` names it: a Keras ``train/`` side's tags become ``train/...`` of the
    parent run, and a timestamp child's hparams (and files) belong to its parent. A side whose
    prefixed tags would mix with the run's follows as a run of its own (:func:`split_sides`).
    With ``values`` False, scalars and histograms are only counted (see ``read_run``).
    """
    read = [(p, read_run(src, check_crc=check_crc, values=values)) for p, src in plan.parts]
    kept, apart = keep_apart(read)
    flat = _flat_run(plan, list(kept), check_crc=check_crc, values=values)
    return (flat, *(a.side for a in apart))


def _flat_run(
    plan: RunPlan, parts: list[tuple[str, RunData]], *, check_crc: bool, values: bool
) -> RunData:
    import pandas as pd  # here: export plans runs without pandas

    lent = [read_run(src, check_crc=check_crc, values=values) for src in plan.hparams_from]
    (prefix, first), *_ = parts
    if len(parts) == 1 and not prefix and not lent:
        return replace(first, name=plan.name)
    pieces = [(p, r) for p, r in parts] + [("", r) for r in lent]
    hparams: dict[str, float | str | bool] = {}
    for r in [*lent, *(r for _, r in parts)]:
        hparams.update(r.hparams)

    def tag(p: str, t: str) -> str:
        return f"{p}/{t}" if p else t

    return RunData(
        name=plan.name,
        path=first.path,
        files=tuple(f for _, r in pieces for f in r.files),
        scalars=concat_frames([prefixed_tags(r.scalars, p) for p, r in parts]),
        histograms=concat_frames([prefixed_tags(r.histograms, p) for p, r in parts]),
        texts=pd.concat(
            [r.texts.assign(tag=[tag(p, str(t)) for t in r.texts["tag"]]) for p, r in pieces],
            ignore_index=True,
        ),
        hparams=hparams,
        restarts=tuple(x for _, r in pieces for x in r.restarts),
        duplicates=tuple(replace(d, tag=tag(p, d.tag)) for p, r in pieces for d in r.duplicates),
        problems=tuple(x for _, r in pieces for x in r.problems),
        other_tags=tuple(replace(t, tag=tag(p, t.tag)) for p, r in pieces for t in r.other_tags),
        records=sum(r.records for _, r in pieces),
    )


def read_runs(
    logdirs: str | Sequence[str],
    select: Selection | None = None,
    *,
    check_crc: bool = True,
    progress: Callable[[int, int], None] | None = None,
    values: bool = True,
) -> Logdir:
    """Every selected run, read and named as ``analyze`` names them (for ``tags``, ``export``).

    Tags are not filtered here (roles are chosen on all of them): see :func:`keep_tags`.
    ``values`` False: scalars and histograms only counted (``tags``; see ``read_run``).
    """
    roots = [logdirs] if isinstance(logdirs, str) else list(logdirs)
    plans = plan_logdirs(roots, select)
    runs: list[RunData] = []
    for done, plan in enumerate(plans, start=1):
        runs.extend(flat_runs(plan, check_crc=check_crc, values=values))
        if progress is not None:
            progress(done, len(plans))
    if not any(run.readable for run in runs):
        reasons = "; ".join(str(p) for run in runs for p in run.problems[:1])
        raise InputError(f"{', '.join(roots)}: no readable event file ({reasons})")
    return Logdir(root=", ".join(roots), runs=tuple(runs))


def selected_tags(data: Logdir, pattern: str | None) -> Logdir:
    """``data`` with only the tags ``pattern`` finds (``--tags``)."""
    if pattern is None:
        return data
    return replace(data, runs=tuple(keep_tags(r, pattern) for r in data.runs))


def read_plan(plan: RunPlan, *, check_crc: bool = True) -> RunGroup:
    """Read the files of one analysed run."""
    parts = tuple((prefix, read_run(src, check_crc=check_crc)) for prefix, src in plan.parts)
    lent = [read_run(src, check_crc=check_crc) for src in plan.hparams_from]
    return _group(plan.name, parts, lent)


def group_in_memory(plan: RunPlan, data: Logdir) -> RunGroup:
    """The same as :func:`read_plan`, for runs already read."""
    by_name = {r.name: r for r in data.runs}
    parts = tuple((prefix, by_name[src.name]) for prefix, src in plan.parts)
    return _group(plan.name, parts, [by_name[src.name] for src in plan.hparams_from])


def _group(name: str, parts: tuple[tuple[str, RunData], ...], lent: list[RunData]) -> RunGroup:
    if lent:
        hparams = {k: v for r in lent for k, v in r.hparams.items()}
        prefix, first = parts[0]
        parts = ((prefix, replace(first, hparams={**hparams, **first.hparams})), *parts[1:])
    return RunGroup(name, parts)


def prefixed_tags(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """The frame with its tags as a categorical, prefixed ``prefix/`` (no copy of the rest)."""
    import pandas as pd  # here: export plans runs without pandas

    tags = frame["tag"]
    if not isinstance(tags.dtype, pd.CategoricalDtype):
        tags = tags.astype("category")
    if prefix:
        tags = tags.cat.rename_categories([f"{prefix}/{c}" for c in tags.cat.categories])
    return frame.assign(tag=tags)


def concat_frames(frames: list[pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd  # here: export plans runs without pandas
    from pandas.api.types import union_categoricals

    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(
            {
                "tag": pd.Categorical([]),
                "step": pd.Series(dtype="int64"),
                "wall_time": pd.Series(dtype=float),
                "value": pd.Series(dtype=float),
                "edges": pd.Series(dtype=object),
                "counts": pd.Series(dtype=object),
            }
        )
    if len(frames) == 1:
        return frames[0]
    tags = union_categoricals([f["tag"] for f in frames])
    out = pd.concat([f.drop(columns="tag") for f in frames], ignore_index=True)
    out.insert(0, "tag", tags)
    return out
