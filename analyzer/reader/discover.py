"""Discovery: the runs under a root (a local path or an fsspec URL), and their files.

A run is a directory holding ``*tfevents*`` files, as in TensorBoard; its files are read in
name order (writers put a timestamp in the name). PyTorch Lightning's ``hparams.yaml`` beside
them is picked up too.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from ..errors import InputError
from ..storage import exists, filesystem, is_file
from .text import distinct, text_of_path

if TYPE_CHECKING:  # pragma: no cover
    from fsspec import AbstractFileSystem

HPARAMS_YAML = "hparams.yaml"  # PyTorch Lightning's TensorBoardLogger writes it per version


@dataclass(frozen=True, slots=True)
class RunSource:
    """Where a run's files are: ``name`` relative to the root ("." for the root itself), as
    text (:mod:`.text`); ``path`` and ``files`` as the filesystem needs them."""

    name: str
    path: str
    files: tuple[str, ...]
    hparams_file: str | None = None  # PyTorch Lightning's hparams.yaml beside the event files


def is_event_file(name: str) -> bool:
    """TensorBoard's rule: an event file has "tfevents" in its name."""
    return "tfevents" in posixpath.basename(name)


def discover_runs(root: str) -> list[RunSource]:
    """Every directory under ``root`` holding event files is a run (sorted by name).

    ``root`` is a local path or an fsspec URL (``s3://bucket/logs``); a single event file is
    a run of its own. Raises :class:`InputError` if there is nothing to read.
    """
    fs, base = filesystem(root)
    if not exists(fs, base):
        raise InputError(f"{root}: no such file or directory")
    if is_file(fs, base):
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
    names: set[str] = set()
    for directory in sorted(by_dir):
        rel = distinct(text_of_path(_relative(fs, base, directory)), names)
        names.add(rel)
        runs.append(
            RunSource(
                name=rel,
                path=_unstrip(fs, directory),
                files=tuple(by_dir[directory]),
                hparams_file=hparams_files.get(directory),
            )
        )
    return runs


# In the helpers below, ``fs`` None is this machine's filesystem (:func:`filesystem`).


def _walk(fs: AbstractFileSystem | None, base: str) -> Iterator[tuple[str, list[str]]]:
    if fs is None:
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


def _join(fs: AbstractFileSystem | None, directory: str, name: str) -> str:
    if fs is None:
        return os.path.join(directory, name)
    return _unstrip(fs, posixpath.join(directory, name))


def _relative(fs: AbstractFileSystem | None, base: str, directory: str) -> str:
    if fs is None:
        rel = os.path.relpath(directory, base)
        return "." if rel == "." else rel.replace(os.sep, "/")
    rel = posixpath.relpath(directory.rstrip("/"), base.rstrip("/"))
    return "." if rel in (".", "") else rel


def _unstrip(fs: AbstractFileSystem | None, path: str) -> str:
    """A path as the user would write it (with the protocol for remote filesystems)."""
    return path if fs is None else fs.unstrip_protocol(path)


class SpecialFile(OSError):
    """A path of the logdir that is not a regular file (a FIFO, a device, a socket)."""


_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


def open_regular(path: str) -> BinaryIO:
    """Open a file of the logdir for reading, if it is a regular file.

    Anything else is refused with :class:`SpecialFile`: a FIFO blocks forever (at open, or at
    the first read), and a device such as ``/dev/zero`` or ``/dev/urandom`` never ends. A
    local file is opened non-blocking and checked on the open descriptor, so a FIFO neither
    blocks the open nor can replace the file between a check and the open.
    """
    fs, local = filesystem(path)
    if fs is not None:
        return fs.open(local, "rb")  # object stores hold regular objects only
    fd = os.open(local, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _SPECIAL_KINDS if test(mode)), "a special file")
            raise SpecialFile(f"{kind}, not a regular file: not read")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
