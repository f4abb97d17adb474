"""What the fuzzers feed the reader, as plain functions (no atheris here, so the test suite
runs them too, with hypothesis: tests/test_reader_fuzz_targets.py).

Each target takes arbitrary bytes and checks the reader's promise: it reads the input or
reports it in one line; it never raises, hangs, or allocates what the input cannot hold.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import fields

import fsspec

from analyzer.errors import ConfigError
from analyzer.reader import InputError, read_logdir
from analyzer.reader.discover import RunSource
from analyzer.reader.events import read_event_bytes
from analyzer.reader.hparams import YAML_MAX_VALUES, read_hparams_yaml
from analyzer.reader.runs import read_run
from analyzer.reader.tags import TagTable
from analyzer.settings import Thresholds, load_settings, with_overrides

_FS = fsspec.filesystem("memory")
_PATH = "memory://fuzz/run/events.out.tfevents.0"
_YAML = "memory://fuzz/run/hparams.yaml"
_SEED_EVENTS = b""  # set by the harness: a small valid event file to place in trees


def event_file(data: bytes) -> None:
    """``data`` as one event file, then as a run (restarts, frames); nothing may raise."""
    read = read_event_bytes("fuzz", data, TagTable())
    for problem in read.problems:
        assert "\n" not in problem.message, problem.message  # one line, always
    with _FS.open(_PATH, "wb") as f:
        f.write(data)
    run = read_run(RunSource(name=".", path="memory://fuzz/run", files=(_PATH,)))
    assert run.records == read.records
    assert len(run.scalars) <= sum(c.scalar_tag.size for c in read.chunks)
    _check_text(run.tags and [t.tag for t in run.tags])


def hparams_yaml(data: bytes) -> None:
    """``data`` as a Lightning ``hparams.yaml``: flattened within the bounds, or one line."""
    with _FS.open(_YAML, "wb") as f:
        f.write(data)
    values, problem = read_hparams_yaml(_YAML)
    assert len(values) <= YAML_MAX_VALUES
    if problem is not None:
        assert "\n" not in problem.message, problem.message


_THRESHOLD_FIELDS = {f.name: f for f in fields(Thresholds)}


def settings_file(data: bytes) -> None:
    """``data`` as ``dlreport.toml`` and as ``pyproject.toml``: settings whose thresholds all
    have their field's type and are finite, or a ``ConfigError`` in one line naming the file."""
    for name in ("dlreport.toml", "pyproject.toml"):
        path = f"memory://fuzz/{name}"
        with _FS.open(path, "wb") as f:
            f.write(data)
        try:
            settings = load_settings("memory://fuzz/logs", config=path)
        except ConfigError as exc:
            message = str(exc)
            assert "\n" not in message, message
            assert path in message, message
            continue
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in settings.roles.items())
        for key, value in settings.thresholds.items():
            assert math.isfinite(value), (key, value)
            kind = int if _THRESHOLD_FIELDS[key].type == "int" else float
            assert isinstance(value, kind), (key, value)
        with_overrides(Thresholds(), settings.thresholds)  # accepted once, accepted again


# Directory trees: the input is a list of operations, one per 2 + n bytes:
# (operation, name length, name bytes...). Names are raw bytes (not UTF-8, dots, spaces).
_OPS = ("dir", "event", "garbage", "hparams", "link_up", "link_loop", "link_zero", "fifo", "up")


def directory_tree(data: bytes) -> None:
    """``data`` as a tree of folders, event files, links and special files, then read."""
    with tempfile.TemporaryDirectory() as tmp:
        # The tree goes one level down: a link to ".." at its top then leads to this empty
        # temporary folder, not to the shared temporary folder (which another program's
        # event files may fill: reading them made a test take minutes).
        root = os.path.join(os.fsencode(tmp), b"logs")
        os.mkdir(root)
        _build_tree(root, data)
        try:
            logdir = read_logdir(os.fsdecode(root))
        except InputError:
            return  # nothing readable: said in one line by the CLI (safetext.visible)
        names = [run.name for run in logdir.runs]
        assert len(set(names)) == len(names), names  # distinct folders, distinct runs
        _check_text(names)
        for run in logdir.runs:
            _check_text([t.tag for t in run.tags] + [str(p) for p in run.problems])
            # one line; a path may hold a newline (a file name can), which renderers show
            # escaped (analyzer.render.safetext)
            assert all("\n" not in p.message for p in run.problems)


def _build_tree(root: bytes, data: bytes) -> None:
    here = root
    pos = 0
    while pos + 2 <= len(data) and pos < 400:
        op, size = _OPS[data[pos] % len(_OPS)], data[pos + 1] % 12
        raw = data[pos + 2 : pos + 2 + size].replace(b"/", b"_").replace(b"\0", b"_")
        pos += 2 + size
        name = raw if raw not in (b"", b".", b"..") else b"x"
        path = os.path.join(here, name)
        try:
            if op == "dir":
                os.makedirs(path, exist_ok=True)
                here = path
            elif op == "up":
                here = os.path.dirname(here) if here != root else root
            elif op == "event":
                _write(path + b".tfevents", _SEED_EVENTS)
            elif op == "garbage":
                _write(path + b".tfevents", raw * 50)
            elif op == "hparams":
                _write(os.path.join(here, b"hparams.yaml"), raw)
            elif op == "link_up":
                os.symlink(b"..", path)
            elif op == "link_loop":
                os.symlink(name + b".tfevents", path + b".tfevents")  # a link to itself
            elif op == "link_zero":
                os.symlink(b"/dev/zero", path + b".tfevents")
            elif op == "fifo" and hasattr(os, "mkfifo"):
                os.mkfifo(path + b".tfevents")
        except OSError:
            continue  # a name taken twice, too long...: the tree is what it is


def _write(path: bytes, data: bytes) -> None:
    """Write ``data`` to ``path`` without ever waiting.

    A name the tree already gave a FIFO (a "fifo" op, then an "event" op of the same name)
    must not be opened for writing as a file is: that open waits for a reader, and there is
    none, so the test hung for ever (issue #12's split branch: the default suite stopped in
    test_directory_tree_target whenever hypothesis drew that pair). Non-blocking, the open of
    a FIFO without a reader fails (ENXIO), which is a name taken twice like any other.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NONBLOCK, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _check_text(texts: object) -> None:
    """Every name is valid text: it encodes to UTF-8 (no lone surrogates)."""
    for text in texts or ():
        str(text).encode("utf-8")
