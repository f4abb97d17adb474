"""Which runs, and which tags: several logdirs, name globs, a tag pattern, experiments.

Every command names runs the same way (:func:`analyzer.pipeline.plan_runs` merges Keras sides
and hparams-only timestamp children first); the selection then applies to those names:

- several LOGDIRs: each run's name is prefixed by the LOGDIR as typed (``runs/a/seed0``), so
  that two trees holding a run ``seed0`` stay apart; one LOGDIR keeps the names relative to it;
- ``--include`` / ``--exclude`` globs (``fnmatch``, ``*`` crosses ``/``) match the whole name,
  or, for a pattern without ``/``, its last component (as ``.gitignore`` does);
- ``--tags REGEX`` keeps the tags it finds (``re.search``) for ``tags`` and ``export``;
- experiments (:func:`experiment_of`): runs grouped by their parent folder by default, so that
  cross-run evidence never pools a sweep with unrelated runs.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase

from .errors import ConfigError, InputError
from .reader import RunData, RunSource, discover_runs

# How runs are grouped into experiments (--group-by): parent folder (default), top folder,
# every run in one experiment, or by the value of a hyperparameter ("hparam:task").
GROUP_BY_CHOICES = ("parent", "top", "none")
DEFAULT_GROUP_BY = "parent"


@dataclass(frozen=True, slots=True)
class Selection:
    """Which runs (name globs) and which tags (a regular expression) to keep."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    tags: str | None = None

    def __post_init__(self) -> None:
        if self.tags is not None:
            try:
                re.compile(self.tags)
            except re.error as exc:
                raise ConfigError(f"--tags {self.tags}: not a regular expression ({exc})") from None

    def wants(self, name: str) -> bool:
        """Whether the run ``name`` is selected."""
        if self.include and not any(_matches(name, p) for p in self.include):
            return False
        return not any(_matches(name, p) for p in self.exclude)

    def describe(self) -> str:
        """The options as typed, for a message."""
        parts = [f"--include {p}" for p in self.include] + [f"--exclude {p}" for p in self.exclude]
        return " ".join(parts)


def _matches(name: str, pattern: str) -> bool:
    if fnmatchcase(name, pattern):
        return True
    return "/" not in pattern and fnmatchcase(posixpath.basename(name), pattern)


def discover(logdirs: Sequence[str]) -> list[RunSource]:
    """The runs of every LOGDIR; with several, each name is prefixed by its LOGDIR as typed."""
    if not logdirs:
        raise InputError("no LOGDIR given")
    if len(logdirs) == 1:
        return discover_runs(logdirs[0])
    out: list[RunSource] = []
    where: dict[str, str] = {}
    for logdir in logdirs:
        label = _label(logdir)
        for src in discover_runs(logdir):
            name = label if src.name == "." else f"{label}/{src.name}"
            if name in where:
                raise InputError(f"{logdir}: run {name} is also found under {where[name]}")
            where[name] = logdir
            out.append(replace(src, name=name))
    return sorted(out, key=lambda s: s.name)


def _label(logdir: str) -> str:
    scheme, sep, rest = logdir.partition("://")
    if not sep:
        scheme, rest = "", logdir
    rest = posixpath.normpath(rest.replace("\\", "/")) if rest else rest
    return f"{scheme}{sep}{rest}".rstrip("/") or "/"


def keep_tags(run: RunData, pattern: str | None) -> RunData:
    """The run with only the tags ``pattern`` finds (``re.search``)."""
    if pattern is None:
        return run
    regex = re.compile(pattern)

    def frame_keep(frame):  # type: ignore[no-untyped-def]
        if frame.empty:
            return frame
        keep = frame["tag"].astype(str).map(lambda t: regex.search(t) is not None)
        out = frame[keep.to_numpy(dtype=bool)].reset_index(drop=True)
        if hasattr(out["tag"], "cat"):
            out = out.assign(tag=out["tag"].cat.remove_unused_categories())
        return out

    return replace(
        run,
        scalars=frame_keep(run.scalars),
        histograms=frame_keep(run.histograms),
        texts=frame_keep(run.texts),
        other_tags=tuple(t for t in run.other_tags if regex.search(t.tag)),
        duplicates=tuple(d for d in run.duplicates if regex.search(d.tag)),
    )


def experiment_of(name: str, hparams: Mapping[str, object], group_by: str) -> str:
    """The experiment a run belongs to: its parent folder by default (see ``--group-by``)."""
    if group_by == "none":
        return "all runs"
    if group_by.startswith("hparam:"):
        key = group_by.partition(":")[2]
        value = hparams.get(key)
        return f"{key}={value}" if value is not None else f"{key} not set"
    parent = posixpath.dirname(name) if name != "." else ""
    if group_by == "top":
        return name.split("/", 1)[0] if "/" in name else "."
    if group_by == "parent":
        return parent or "."
    raise ConfigError(f"--group-by {group_by}: use {', '.join(GROUP_BY_CHOICES)} or hparam:NAME")


def check_group_by(group_by: str) -> str:
    """``group_by`` if valid, else a :class:`ConfigError` naming the choices."""
    experiment_of("x", {}, group_by)
    return group_by
