"""Discovery: the runs under a root (a local path or an fsspec URL), and their files.

A run is a directory holding ``*tfevents*`` files, as in TensorBoard; its files are read in
name order (writers put a timestamp in the name). PyTorch Lightning's ``hparams.yaml`` beside
them is picked up too.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass

import fsspec
from fsspec.implementations.local import LocalFileSystem

HPARAMS_YAML = "hparams.yaml"  # PyTorch Lightning's TensorBoardLogger writes it per version


class InputError(Exception):
    """The input cannot be read at all (no event files, missing path, ...): one line."""


@dataclass(frozen=True, slots=True)
class RunSource:
    """Where a run's files are: ``name`` relative to the root ("." for the root itself)."""

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
