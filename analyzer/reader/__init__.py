"""The reader: the only code that touches event files.

``read_logdir(root)`` finds every run under ``root`` (a local path or an fsspec URL) and reads
every point of it into tidy pandas frames. The modules, in the order the data flows:

* :mod:`.discover`: the runs under a root, and their files;
* :mod:`.events`: one file, read a block at a time, and its problems;
* :mod:`.framing`: TFRecord frames and their CRCs, in bulk;
* :mod:`.proto`: ``Event`` records decoded into columns, with :mod:`.wire` (the protobuf wire
  format in bulk), :mod:`.layouts` (records that repeat a layout, read at fixed offsets),
  :mod:`.tags` (tag names and plugins), :mod:`.tensors` and :mod:`.histograms`;
* :mod:`.restarts`: restarts and rewritten steps resolved, once;
* :mod:`.hparams`: hyperparameters (hparams plugin, Lightning's ``hparams.yaml``);
* :mod:`.runs`: one run assembled into tidy frames;
* :mod:`.reference`: the simple per-record decoder the fast path is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..render.safetext import visible
from .discover import InputError, RunSource, discover_runs, is_event_file
from .events import Problem
from .restarts import DuplicateSteps, Restart
from .runs import RunData, ScalarColumns, TagInfo, read_run, read_scalar_columns
from .text import text_of_path

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "DuplicateSteps",
    "InputError",
    "Logdir",
    "Problem",
    "Restart",
    "RunData",
    "RunSource",
    "ScalarColumns",
    "TagInfo",
    "discover_runs",
    "is_event_file",
    "read_logdir",
    "read_run",
    "read_scalar_columns",
    "scalars_frame",
    "text_of_path",
]


@dataclass(frozen=True, slots=True)
class Logdir:
    """Every run found under ``root``, in name order."""

    root: str
    runs: tuple[RunData, ...]


def read_logdir(root: str, *, check_crc: bool = True) -> Logdir:
    """Read every run under ``root``; raises :class:`InputError` when nothing can be read."""
    runs = tuple(read_run(src, check_crc=check_crc) for src in discover_runs(str(root)))
    if not any(run.readable for run in runs):
        reasons = "; ".join(str(p) for run in runs for p in run.problems[:1])
        # One line, whatever the files are named (a name may hold a newline).
        raise InputError(visible(f"{root}: no readable event file ({reasons})"))
    return Logdir(root=str(root), runs=runs)


def scalars_frame(logdir: Logdir) -> pd.DataFrame:
    """The scalars of all runs in one tidy frame: run, tag, step, wall_time, value."""
    import pandas as pd  # here: export reads runs without pandas

    frames = [run.scalars.assign(run=run.name) for run in logdir.runs if not run.scalars.empty]
    if not frames:
        return pd.DataFrame(columns=["run", "tag", "step", "wall_time", "value"])
    out = pd.concat(frames, ignore_index=True)
    out["tag"] = out["tag"].astype(str)
    return out[["run", "tag", "step", "wall_time", "value"]]
