"""Assembly: one run's files (found by :mod:`.discover`) read into tidy frames.

Each file is decoded in chunks (:mod:`.events`); the chunks' columns are gathered in write
order, then restarts and rewrites are resolved once, here (:mod:`.restarts`): in the frames
of a :class:`RunData`, every (tag, step) appears once, with its latest write. Downstream code
never needs to de-duplicate; what was superseded is described by ``restarts`` and
``duplicates``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .columns import Resolved, TagStore
from .discover import RunSource, SpecialFile, open_regular
from .events import Problem, read_event_stream
from .histograms import Histogram
from .hparams import decode_hparams, read_hparams_yaml
from .proto import Chunk
from .restarts import DuplicateSteps, Restart, merge_restarts
from .tags import TagTable
from .text import text_of_path

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

SCALAR_COLUMNS = ("tag", "step", "wall_time", "value")
HISTOGRAM_COLUMNS = (
    "tag", "step", "wall_time", "num", "min", "max", "sum", "sum_squares", "edges", "counts",
)  # fmt: skip
TEXT_COLUMNS = ("tag", "step", "wall_time", "text")


@dataclass(frozen=True, slots=True)
class TagInfo:
    """What a tag holds, for ``dlreport tags``."""

    tag: str
    kind: str  # scalar, histogram, text, image, audio, hparams, tensor, ...
    points: int
    first_step: int | None
    last_step: int | None


@dataclass(frozen=True, slots=True)
class RunData:
    """Everything read from one run. Frames are tidy (one row per point), sorted by tag, step.

    Steps are resolved: in ``scalars`` and ``histograms`` each (tag, step) appears once (the
    latest write), and steps increase within a tag. ``restarts`` and ``duplicates`` say what
    the resolution dropped; ``superseded`` counts it.
    """

    name: str
    path: str
    files: tuple[str, ...]
    scalars: pd.DataFrame  # tag (category), step int64, wall_time float64, value float64
    histograms: pd.DataFrame  # one row per (tag, step): edges, counts arrays and moments
    texts: pd.DataFrame  # tag, step, wall_time, text
    hparams: Mapping[str, float | str | bool] = field(default_factory=dict)
    restarts: tuple[Restart, ...] = ()
    duplicates: tuple[DuplicateSteps, ...] = ()
    problems: tuple[Problem, ...] = ()
    other_tags: tuple[TagInfo, ...] = ()  # tags of kinds only counted: images, audio, ...
    records: int = 0
    # ``tags`` once computed. A list, so that a frozen instance can fill it in.
    _tags: list[tuple[TagInfo, ...]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    @property
    def readable(self) -> bool:
        """Whether any file of the run could be read."""
        return self.records > 0

    @property
    def tags(self) -> tuple[TagInfo, ...]:
        """Every tag of the run with what it holds, sorted by name (for ``dlreport tags``).

        Computed on first use: only ``tags`` needs it, and computing it for every run took
        nearly half the time of reading many small runs.
        """
        if not self._tags:
            self._tags.append(tag_infos(self.scalars, self.histograms, self.texts, self.other_tags))
        return self._tags[0]

    @property
    def superseded(self) -> int:
        """Points dropped because a later write of the same tag and step replaced them."""
        return sum(r.replaced for r in self.restarts) + sum(d.count for d in self.duplicates)


def read_run(source: RunSource, *, check_crc: bool = True, values: bool = True) -> RunData:
    """Read every file of a run and assemble its frames (restarts resolved, see module doc).

    With ``values`` False, scalars and histograms are only counted: their frames are empty
    and every tag is in ``other_tags`` with its points and steps (``dlreport tags``, which
    holds a tenth of the memory that way).
    """
    points = _read_points(source, check_crc, values)
    if not values:
        return _counted(source, points)
    return _assemble(source, points)


@dataclass(frozen=True)
class ScalarColumns:
    """One run's scalars, handed out a tag at a time (``dlreport export``): a run's points
    are held once, compactly, and each tag's columns are built only when asked for."""

    name: str
    path: str
    files: tuple[str, ...]
    problems: tuple[Problem, ...]
    records: int
    tag_names: frozenset[str]  # of its scalars, histograms and texts with points
    _points: _Points
    _resolved: Resolved

    @property
    def readable(self) -> bool:
        return self.records > 0

    def tags(
        self, wanted: Callable[[str], bool] | None = None
    ) -> Iterator[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
        """(tag, step, wall_time, value) of each tag in name order, restarts resolved: the
        rows ``RunData.scalars`` holds, in the same order. Only the tags ``wanted`` (by
        name) are built."""
        names = self._points.tags.names
        by_id = None if wanted is None else (lambda t: wanted(names[t]))
        for t, step, wall, value in self._points.scalars.tags(self._resolved, by_id):
            yield names[t], step, wall, value


def read_scalar_columns(source: RunSource, *, check_crc: bool = True) -> ScalarColumns:
    """Read a run for its scalars, to be taken a tag at a time (see :class:`ScalarColumns`);
    histograms only counted (their tags are in ``tag_names``)."""
    points = _read_points(source, check_crc, True, histogram_values=False)
    names = points.tags.names
    resolved = points.scalars.resolve(names, points.starts, points.files)
    hists = points.hists.resolve(names, points.starts, points.files)
    tag_names = frozenset(
        [names[t] for t in resolved.order]
        + [names[t] for t in hists.order]
        + [names[t] for t, _, _, _ in points.texts]
    )
    return ScalarColumns(
        source.name,
        source.path,
        source.files,
        points.problems,
        points.records,
        tag_names,
        points,
        resolved,
    )


def _read_points(
    source: RunSource, check_crc: bool, values: bool, *, histogram_values: bool | None = None
) -> _Points:
    points = _Points(values, values if histogram_values is None else histogram_values)
    points.files = [text_of_path(f) for f in source.files]  # as restarts name them
    for file_no, path in enumerate(source.files):
        shown = points.files[file_no]  # in messages: valid text whatever the file's name
        try:
            with open_regular(path) as stream:
                read = read_event_stream(
                    shown,
                    stream,
                    points.tags,
                    check_crc=check_crc,
                    sink=lambda c, f=file_no: points.add(f, c),  # type: ignore[misc]
                )
        except SpecialFile as exc:
            points.problems += (Problem(shown, "special_file", str(exc), True),)
            continue
        except OSError as exc:
            points.problems += (Problem(shown, "unreadable", _os_reason(exc), True),)
            continue
        points.records += read.records
        points.problems += read.problems
    if source.hparams_file is not None:
        points.yaml_hparams, problem = read_hparams_yaml(source.hparams_file)
        if problem is not None:
            points.problems += (problem,)
    return points


def _os_reason(exc: OSError) -> str:
    return f"cannot be read ({exc.strerror or type(exc).__name__})"


class _Points:
    """A run's points, gathered chunk by chunk, grouped by tag (private; see :mod:`.columns`)."""

    def __init__(self, values: bool, histogram_values: bool) -> None:
        self.tags = TagTable()
        self.values = values
        self.histogram_values = histogram_values
        self.scalars = TagStore(values=values)
        self.hists = TagStore(values=histogram_values)
        self.histograms: list[Histogram] = []
        self.n_hist = 0
        self.texts: list[tuple[int, int, float, str]] = []
        self.hparams: list[bytes] = []
        self.starts: list[tuple[int, float, int]] = []  # SessionLog.START: step, wall, file
        self.files: list[str] = []
        self.problems: tuple[Problem, ...] = ()
        self.records = 0
        self.yaml_hparams: dict[str, float | str | bool] = {}

    def add(self, file_no: int, c: Chunk) -> None:
        n_tags = len(self.tags.names)
        self.scalars.add(
            file_no,
            n_tags,
            c.scalar_tag,
            c.scalar_step,
            c.scalar_wall_time,
            c.scalar_value,
            [o for o, _, _, _ in c.session_starts],
        )
        index = np.arange(self.n_hist, self.n_hist + c.hist_tag.size, dtype=np.int64)
        self.hists.add(
            file_no,
            n_tags,
            c.hist_tag,
            c.hist_step,
            c.hist_wall_time,
            index,
            [h for _, h, _, _ in c.session_starts],
        )
        self.n_hist += c.hist_tag.size
        if self.histogram_values:
            self.histograms.extend(c.histograms)
        self.starts += [(step, wall, file_no) for _, _, step, wall in c.session_starts]
        self.texts.extend(c.texts)
        self.hparams.extend(c.hparams)

    def hparams_dict(self) -> dict[str, float | str | bool]:
        hparams: dict[str, float | str | bool] = dict(self.yaml_hparams)
        for content in self.hparams:
            hparams.update(decode_hparams(content))
        return hparams

    def texts_frame(self) -> pd.DataFrame:
        import pandas as pd

        names = self.tags.names
        return pd.DataFrame(
            [(names[t], s, w, x) for t, s, w, x in self.texts], columns=list(TEXT_COLUMNS)
        )


def _assemble(source: RunSource, points: _Points) -> RunData:
    import pandas as pd

    names = points.tags.names
    scalar_kept = points.scalars.resolve(names, points.starts, points.files)
    columns = {"tag": _categorical(scalar_kept, names)}
    for column, key, dtype in (
        ("step", "step", "int64"),
        ("wall_time", "wall", "float64"),
        ("value", "value", "float64"),
    ):
        columns[column] = points.scalars.kept_column(scalar_kept, key, dtype)
        points.scalars.release(key)  # each column is held once: in the store, then the frame
    # The columns are fresh arrays: keep them as they are rather than copying them into one
    # 2-D block per dtype (a tenth of the read's time on a file of scalars).
    scalars = pd.DataFrame(columns, copy=False)
    hist_kept = points.hists.resolve(names, points.starts, points.files)
    rows = points.hists.kept_column(hist_kept, "value", "int64")
    histograms = _histogram_frame(
        [points.histograms[i] for i in rows.tolist()],
        _categorical(hist_kept, names),
        points.hists.kept_column(hist_kept, "step", "int64"),
        points.hists.kept_column(hist_kept, "wall", "float64"),
    )
    return RunData(
        name=source.name,
        path=source.path,
        files=source.files,
        scalars=scalars,
        histograms=histograms,
        texts=points.texts_frame(),
        hparams=points.hparams_dict(),
        restarts=merge_restarts(scalar_kept.restarts, hist_kept.restarts),
        duplicates=tuple(scalar_kept.duplicates + hist_kept.duplicates),
        problems=points.problems,
        other_tags=_other_tags(points.tags),
        records=points.records,
    )


def _counted(source: RunSource, points: _Points) -> RunData:
    """A run whose scalars and histograms are only counted (see :func:`read_run`)."""
    import pandas as pd

    names = points.tags.names
    counted: list[TagInfo] = []
    restarts: list[list[Restart]] = []
    duplicates: list[DuplicateSteps] = []
    for kind, store in (("scalar", points.scalars), ("histogram", points.hists)):
        kept = store.resolve(names, points.starts, points.files)
        for t in kept.order:
            first, last = store.first_last(kept, t)
            counted.append(TagInfo(names[t], kind, kept.counts[t], first, last))
        restarts.append(kept.restarts)
        duplicates += kept.duplicates
    nothing = Resolved((), {}, {}, [], [])
    return RunData(
        name=source.name,
        path=source.path,
        files=source.files,
        scalars=pd.DataFrame(
            {
                "tag": _categorical(nothing, names),
                "step": _NO_INTS,
                "wall_time": _NO_FLOATS,
                "value": _NO_FLOATS,
            }
        ),
        histograms=_histogram_frame([], _categorical(nothing, names), _NO_INTS, _NO_FLOATS),
        texts=points.texts_frame(),
        hparams=points.hparams_dict(),
        restarts=merge_restarts(*restarts),
        duplicates=tuple(duplicates),
        problems=points.problems,
        other_tags=_other_tags(points.tags) + tuple(counted),
        records=points.records,
    )


_NO_INTS = np.zeros(0, dtype=np.int64)
_NO_FLOATS = np.zeros(0, dtype=np.float64)


def _categorical(resolved: Resolved, names: list[str]) -> pd.Categorical:
    """The tag column of the kept points: categories are the tags kept, in the order they
    were first seen; rows are grouped by tag in name order."""
    import pandas as pd

    used = sorted(resolved.order)
    remap = np.full(len(names), -1, dtype=np.int32)
    remap[used] = np.arange(len(used), dtype=np.int32)
    codes = np.repeat(
        remap[list(resolved.order)], [resolved.counts[t] for t in resolved.order]
    ).astype(np.int32, copy=False)
    return pd.Categorical.from_codes(codes, categories=[names[i] for i in used])


def _histogram_frame(
    hists: list[Histogram], tag: pd.Categorical, step: np.ndarray, wall: np.ndarray
) -> pd.DataFrame:
    import pandas as pd

    def moment(name: str) -> np.ndarray:
        return np.array([getattr(h, name) for h in hists], dtype=np.float64)

    return pd.DataFrame(
        {
            "tag": tag,
            "step": step,
            "wall_time": wall,
            **{name: moment(name) for name in ("num", "min", "max", "sum", "sum_squares")},
            "edges": pd.Series([h.edges for h in hists], dtype=object),
            "counts": pd.Series([h.counts for h in hists], dtype=object),
        }
    )


def tag_infos(
    scalars: pd.DataFrame,
    histograms: pd.DataFrame,
    texts: pd.DataFrame,
    other: tuple[TagInfo, ...] = (),
) -> tuple[TagInfo, ...]:
    """One :class:`TagInfo` per tag and kind of the frames, with ``other``, sorted by tag."""
    infos = list(other)
    for kind, frame in (("scalar", scalars), ("histogram", histograms), ("text", texts)):
        if not frame.empty:
            infos.extend(_infos_of(kind, frame["tag"], frame["step"].to_numpy()))
    return tuple(sorted(infos, key=lambda x: (x.tag, x.kind)))


def _infos_of(kind: str, tag: pd.Series, step: np.ndarray) -> list[TagInfo]:
    """Points and first and last step per tag, with numpy (a pandas groupby per run costs
    about a millisecond, which a thousand small runs notice)."""
    import pandas as pd

    codes, names = pd.factorize(tag)
    order = np.argsort(codes, kind="stable")
    codes, step = codes[order], step[order]
    first = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    size = np.diff(np.r_[first, codes.size])
    low = np.minimum.reduceat(step, first)
    high = np.maximum.reduceat(step, first)
    return [
        TagInfo(str(names[c]), kind, n, lo, hi)
        for c, n, lo, hi in zip(
            codes[first].tolist(), size.tolist(), low.tolist(), high.tolist(), strict=True
        )
    ]


def _other_tags(tags: TagTable) -> tuple[TagInfo, ...]:
    return tuple(
        TagInfo(name, tags.other_kind[i], tags.other_points[i], None, None)
        for i, name in enumerate(tags.names)
        if tags.other_points[i]
    )
