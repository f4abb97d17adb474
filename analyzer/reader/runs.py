"""Assembly: one run's files (found by :mod:`.discover`) read into tidy frames.

Each file is decoded in chunks (:mod:`.events`); the chunks' columns are gathered in write
order, then restarts and rewrites are resolved once, here (:mod:`.restarts`): in the frames
of a :class:`RunData`, every (tag, step) appears once, with its latest write. Downstream code
never needs to de-duplicate; what was superseded is described by ``restarts`` and
``duplicates``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .discover import RunSource, SpecialFile, open_regular
from .events import Problem, read_event_stream
from .histograms import Histogram
from .hparams import decode_hparams, read_hparams_yaml
from .proto import Chunk
from .restarts import DuplicateSteps, Restart, merge_restarts, resolve_restarts
from .tags import TagTable
from .text import text_of_path

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


def read_run(source: RunSource, *, check_crc: bool = True) -> RunData:
    """Read every file of a run and assemble its frames (restarts resolved, see module doc)."""
    tags = TagTable()
    points = _Points()
    problems: list[Problem] = []
    records = 0
    for file_no, path in enumerate(source.files):
        shown = text_of_path(path)  # in messages: valid text whatever the file's name
        try:
            with open_regular(path) as stream:
                read = read_event_stream(shown, stream, tags, check_crc=check_crc)
        except SpecialFile as exc:
            problems.append(Problem(shown, "special_file", str(exc), True))
            continue
        except OSError as exc:
            problems.append(Problem(shown, "unreadable", _os_reason(exc), True))
            continue
        records += read.records
        problems.extend(read.problems)
        for chunk in read.chunks:
            points.add(file_no, chunk)
        del read  # the chunks' columns now live in ``points`` only
    yaml_hparams: dict[str, float | str | bool] = {}
    if source.hparams_file is not None:
        yaml_hparams, problem = read_hparams_yaml(source.hparams_file)
        if problem is not None:
            problems.append(problem)
    return _assemble(source, points, tags, tuple(problems), records, yaml_hparams)


def _os_reason(exc: OSError) -> str:
    return f"cannot be read ({exc.strerror or type(exc).__name__})"


class _Points:
    """Columns of a run's points, gathered chunk by chunk in write order (private)."""

    def __init__(self) -> None:
        self.scalar: dict[str, list[np.ndarray]] = {k: [] for k in ("tag", "step", "wall", "value")}
        self.hist: dict[str, list[np.ndarray]] = {k: [] for k in ("tag", "step", "wall")}
        self.histograms: list[Histogram] = []
        self.texts: list[tuple[int, int, float, str]] = []
        self.hparams: list[bytes] = []
        self.starts: list[tuple[int, int, int, float, int]] = []  # rows before, step, wall, file
        self.scalar_file_rows: list[tuple[int, int]] = []  # (file, first row) per chunk
        self.hist_file_rows: list[tuple[int, int]] = []
        self.n_scalar = 0
        self.n_hist = 0

    def add(self, file_no: int, c: Chunk) -> None:
        for o, h, step, wall in c.session_starts:
            self.starts.append((self.n_scalar + o, self.n_hist + h, step, wall, file_no))
        self.scalar_file_rows.append((file_no, self.n_scalar))
        self.hist_file_rows.append((file_no, self.n_hist))
        scalar_cols = (c.scalar_tag, c.scalar_step, c.scalar_wall_time, c.scalar_value)
        for key, col in zip(self.scalar, scalar_cols, strict=True):
            self.scalar[key].append(col)
        for key, col in zip(self.hist, (c.hist_tag, c.hist_step, c.hist_wall_time), strict=True):
            self.hist[key].append(col)
        self.histograms.extend(c.histograms)
        self.texts.extend(c.texts)
        self.hparams.extend(c.hparams)
        self.n_scalar += c.scalar_tag.size
        self.n_hist += c.hist_tag.size

    @staticmethod
    def take(parts: dict[str, list[np.ndarray]], key: str, dtype: str) -> np.ndarray:
        """One column, concatenated; its parts are released as it is built."""
        col = (
            np.concatenate(parts[key]).astype(dtype, copy=False)
            if parts[key]
            else np.zeros(0, dtype)
        )
        parts[key].clear()
        return col


def _file_of_rows(file_rows: list[tuple[int, int]], rows: np.ndarray) -> np.ndarray:
    if not file_rows:
        return np.zeros(rows.size, dtype=np.int64)
    files = np.array([f for f, _ in file_rows])
    firsts = np.array([r for _, r in file_rows])
    return files[np.searchsorted(firsts, rows, side="right") - 1]


def _assemble(
    source: RunSource,
    points: _Points,
    tags: TagTable,
    problems: tuple[Problem, ...],
    records: int,
    yaml_hparams: Mapping[str, float | str | bool],
) -> RunData:
    files = [text_of_path(f) for f in source.files]  # as restarts name them
    rank = _name_rank(tags.names)

    scalar_kept = _resolve(
        points.scalar,
        points.scalar_file_rows,
        [(rows, step, wall, f) for rows, _, step, wall, f in points.starts],
        rank,
        tags.names,
        files,
    )
    scalars = pd.DataFrame(
        {
            "tag": scalar_kept.tag,
            "step": scalar_kept.step,
            "wall_time": scalar_kept.wall_time,
            "value": _Points.take(points.scalar, "value", "float64")[scalar_kept.rows],
        },
        # The columns are fresh arrays: keep them as they are rather than copying them into
        # one 2-D block per dtype (a tenth of the read's time on a file of scalars).
        copy=False,
    )
    hist_kept = _resolve(
        points.hist,
        points.hist_file_rows,
        [(rows, step, wall, f) for _, rows, step, wall, f in points.starts],
        rank,
        tags.names,
        files,
    )
    histograms = _histogram_frame(
        [points.histograms[i] for i in hist_kept.rows.tolist()],
        hist_kept.tag,
        hist_kept.step,
        hist_kept.wall_time,
    )
    texts = pd.DataFrame(
        [(tags.names[t], s, w, x) for t, s, w, x in points.texts], columns=list(TEXT_COLUMNS)
    )
    hparams: dict[str, float | str | bool] = dict(yaml_hparams)
    for content in points.hparams:
        hparams.update(decode_hparams(content))
    return RunData(
        name=source.name,
        path=source.path,
        files=source.files,
        scalars=scalars,
        histograms=histograms,
        texts=texts,
        hparams=hparams,
        restarts=merge_restarts(scalar_kept.restarts, hist_kept.restarts),
        duplicates=tuple(scalar_kept.duplicates + hist_kept.duplicates),
        problems=problems,
        other_tags=_other_tags(tags),
        records=records,
    )


@dataclass(frozen=True)
class _Resolved:
    """The points of one kind (scalars or histograms) that survive restarts and rewrites."""

    rows: np.ndarray  # their indices in write order, sorted by tag name and step
    tag: pd.Categorical
    step: np.ndarray
    wall_time: np.ndarray
    restarts: list[Restart]
    duplicates: list[DuplicateSteps]


def _resolve(
    parts: dict[str, list[np.ndarray]],
    file_rows: list[tuple[int, int]],
    session_starts: list[tuple[int, int, float, int]],
    rank: np.ndarray,
    names: list[str],
    files: list[str],
) -> _Resolved:
    """Concatenate the tag, step and wall columns of ``parts`` and keep what survives."""
    tag = _Points.take(parts, "tag", "int32")
    step = _Points.take(parts, "step", "int64")
    wall = _Points.take(parts, "wall", "float64")
    rows, restarts, duplicates = resolve_restarts(
        rank, tag, step, wall, session_starts, names, files,
        lambda at: _file_of_rows(file_rows, at),
    )  # fmt: skip
    return _Resolved(
        rows, _categorical(tag[rows], names), step[rows], wall[rows], restarts, duplicates
    )


def _name_rank(names: list[str]) -> np.ndarray:
    """Rank of each tag id when tags are sorted by name (small ints sort fast)."""
    rank = np.empty(len(names), dtype=np.int64)
    rank[np.argsort(np.array(names, dtype=object), kind="stable")] = np.arange(len(names))
    return rank.astype(np.int16 if len(names) < 2**15 else np.int32)


def _categorical(codes: np.ndarray, names: list[str]) -> pd.Categorical:
    used = np.flatnonzero(np.bincount(codes, minlength=len(names)))
    remap = np.full(len(names), -1, dtype=np.int32)
    remap[used] = np.arange(used.size, dtype=np.int32)
    return pd.Categorical.from_codes(remap[codes], categories=[names[i] for i in used.tolist()])


def _histogram_frame(
    hists: list[Histogram], tag: pd.Categorical, step: np.ndarray, wall: np.ndarray
) -> pd.DataFrame:
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
