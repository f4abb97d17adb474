"""Runs: finding them under a root, and assembling one run's files into tidy frames.

A run is a directory holding ``*tfevents*`` files, as in TensorBoard; its files are read in
name order (writers put a timestamp in the name). When a tag's step goes backwards, training
was restarted (from a checkpoint, or from scratch into the same directory): as TensorBoard
purges orphaned data, the points written before the restart at steps the new write reaches
are dropped, so the latest write of every step wins. Every restart and every step written
more than once is recorded on the run, for the diagnostics to report.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import fsspec
import numpy as np
import pandas as pd
from fsspec.implementations.local import LocalFileSystem

from ..errors import InputError
from .decode import Chunk, Histogram, TagTable
from .events import Problem, read_event_stream

SCALAR_COLUMNS = ("tag", "step", "wall_time", "value")
HISTOGRAM_COLUMNS = (
    "tag", "step", "wall_time", "num", "min", "max", "sum", "sum_squares", "edges", "counts",
)  # fmt: skip
TEXT_COLUMNS = ("tag", "step", "wall_time", "text")
_MAX_RESTARTS_LISTED = 100  # a file with steps in random order would list thousands
HPARAMS_YAML = "hparams.yaml"  # PyTorch Lightning's TensorBoardLogger writes it per version


@dataclass(frozen=True, slots=True)
class RunSource:
    """Where a run's files are: ``name`` relative to the root ("." for the root itself)."""

    name: str
    path: str
    files: tuple[str, ...]
    hparams_file: str | None = None  # PyTorch Lightning's hparams.yaml beside the event files


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
    count: int  # extra writes


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
    """Everything read from one run. Frames are tidy (one row per point), sorted by tag, step."""

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
    tags: tuple[TagInfo, ...] = ()
    records: int = 0

    @property
    def readable(self) -> bool:
        """Whether any file of the run could be read."""
        return self.records > 0


# ---------------------------------------------------------------------------------------------
# Discovery


def is_event_file(name: str) -> bool:
    """TensorBoard's rule: an event file has "tfevents" in its name."""
    return "tfevents" in posixpath.basename(name)


def discover_runs(root: str) -> list[RunSource]:
    """Every directory under ``root`` holding event files is a run (sorted by name).

    ``root`` is a local path or an fsspec URL (``s3://bucket/logs``); a single event file is
    a run of its own. Raises :class:`InputError` if there is nothing to read.
    """
    fs, base = fsspec.core.url_to_fs(root)
    if not fs.exists(base):
        raise InputError(f"{root}: no such file or directory")
    if fs.isfile(base):
        if not is_event_file(base):
            raise InputError(f"{root}: not an event file (its name has no 'tfevents')")
        return [
            RunSource(
                name=".", path=_unstrip(fs, posixpath.dirname(base)), files=(_unstrip(fs, base),)
            )
        ]
    by_dir: dict[str, list[str]] = {}
    hparams_files: dict[str, str] = {}
    for directory, files in _walk(fs, base):
        events = sorted(f for f in files if is_event_file(f))
        if events:
            by_dir[directory] = [_join(fs, directory, f) for f in events]
            if HPARAMS_YAML in files:
                hparams_files[directory] = _join(fs, directory, HPARAMS_YAML)
    if not by_dir:
        raise InputError(f"{root}: no TensorBoard event files (*tfevents*) found")
    runs = []
    for directory in sorted(by_dir):
        rel = _relative(fs, base, directory)
        runs.append(
            RunSource(
                name=rel,
                path=_unstrip(fs, directory),
                files=tuple(by_dir[directory]),
                hparams_file=hparams_files.get(directory),
            )
        )
    return runs


def _walk(fs: fsspec.AbstractFileSystem, base: str) -> Iterator[tuple[str, list[str]]]:
    if isinstance(fs, LocalFileSystem):
        # os.walk with a guard against symlink loops (a directory seen twice is skipped).
        seen: set[tuple[int, int]] = set()
        for directory, dirs, files in os.walk(base, followlinks=True):
            st = os.stat(directory)
            key = (st.st_dev, st.st_ino)
            if key in seen:
                dirs[:] = []
                continue
            seen.add(key)
            dirs.sort()
            yield directory, files
        return
    for directory, _dirs, files in fs.walk(base):
        yield directory, list(files)


def _join(fs: fsspec.AbstractFileSystem, directory: str, name: str) -> str:
    if isinstance(fs, LocalFileSystem):
        return os.path.join(directory, name)
    return _unstrip(fs, posixpath.join(directory, name))


def _relative(fs: fsspec.AbstractFileSystem, base: str, directory: str) -> str:
    if isinstance(fs, LocalFileSystem):
        rel = os.path.relpath(directory, base)
        return "." if rel == "." else rel.replace(os.sep, "/")
    rel = posixpath.relpath(directory.rstrip("/"), base.rstrip("/"))
    return "." if rel in (".", "") else rel


def _unstrip(fs: fsspec.AbstractFileSystem, path: str) -> str:
    """A path as the user would write it (with the protocol for remote filesystems)."""
    return path if isinstance(fs, LocalFileSystem) else fs.unstrip_protocol(path)


# ---------------------------------------------------------------------------------------------
# Reading and assembling a run


def read_run(source: RunSource, *, check_crc: bool = True) -> RunData:
    """Read every file of a run and assemble its frames (restarts resolved, see module doc)."""
    tags = TagTable()
    points = _Points()
    problems: list[Problem] = []
    records = 0
    for file_no, path in enumerate(source.files):
        try:
            with fsspec.open(path, "rb") as stream:
                read = read_event_stream(path, stream, tags, check_crc=check_crc)
        except OSError as exc:
            problems.append(Problem(path, "unreadable", _os_reason(exc), True))
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


def read_hparams_yaml(path: str) -> tuple[dict[str, float | str | bool], Problem | None]:
    """Lightning's ``hparams.yaml``, flattened (``model.lr``) to numbers, strings and bools.

    Read with ``yaml.safe_load``: it builds plain values only, never objects (files with
    python tags, which old Lightning versions wrote, are reported and skipped).
    """
    import yaml  # imported here: only Lightning logs need it

    try:
        with fsspec.open(path, "rb") as f:
            data = yaml.safe_load(f.read(1 << 20))
    except (OSError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return {}, Problem(path, "malformed", f"hparams.yaml not readable ({first})")
    out: dict[str, float | str | bool] = {}

    def flatten(value: object, prefix: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                flatten(v, f"{prefix}.{k}" if prefix else str(k))
        elif isinstance(value, (bool, str)):
            out[prefix] = value
        elif isinstance(value, (int, float)):
            out[prefix] = float(value)
        elif value is not None:
            out[prefix] = str(value)

    flatten(data, "")
    return out, None


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
    files = list(source.files)
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
        hparams.update(_decode_hparams(content))
    return RunData(
        name=source.name,
        path=source.path,
        files=tuple(files),
        scalars=scalars,
        histograms=histograms,
        texts=texts,
        hparams=hparams,
        restarts=_merge_restarts(scalar_kept.restarts, hist_kept.restarts),
        duplicates=tuple(scalar_kept.duplicates + hist_kept.duplicates),
        problems=problems,
        tags=_tag_infos(scalars, histograms, texts, tags),
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
    rows, restarts, duplicates = _resolve_restarts(
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


def _resolve_restarts(
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


def _merge_restarts(a: list[Restart], b: list[Restart]) -> tuple[Restart, ...]:
    seen = {(r.file, r.to_step) for r in a}
    return tuple(a + [r for r in b if (r.file, r.to_step) not in seen])


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


def _decode_hparams(content: bytes) -> dict[str, float | str | bool]:
    """The hyperparameters in an hparams plugin's ``session_start_info``."""
    from tensorboard.plugins.hparams import plugin_data_pb2

    try:
        data = plugin_data_pb2.HParamsPluginData.FromString(content)
    except Exception:  # a damaged content is simply not hparams
        return {}
    if not data.HasField("session_start_info"):
        return {}
    out: dict[str, float | str | bool] = {}
    for name, value in data.session_start_info.hparams.items():
        kind = value.WhichOneof("kind")
        if kind == "number_value":
            out[name] = float(value.number_value)
        elif kind == "string_value":
            out[name] = value.string_value
        elif kind == "bool_value":
            out[name] = bool(value.bool_value)
    return out


def _tag_infos(
    scalars: pd.DataFrame, histograms: pd.DataFrame, texts: pd.DataFrame, tags: TagTable
) -> tuple[TagInfo, ...]:
    infos: list[TagInfo] = []
    for kind, frame in (("scalar", scalars), ("histogram", histograms), ("text", texts)):
        if frame.empty:
            continue
        g = frame.groupby("tag", observed=True)["step"].agg(["size", "min", "max"])
        infos.extend(
            TagInfo(str(name), kind, int(r["size"]), int(r["min"]), int(r["max"]))
            for name, r in g.iterrows()
        )
    for i, name in enumerate(tags.names):
        if tags.other_points[i]:
            infos.append(TagInfo(name, tags.other_kind[i], tags.other_points[i], None, None))
    return tuple(sorted(infos, key=lambda x: (x.tag, x.kind)))
