"""User settings: pinned roles and threshold overrides, from the command line or a file.

The thresholds themselves, their sources and how an override is coerced live in
:mod:`analyzer.thresholds`; their names are re-exported here for the callers that take
thresholds and settings together.
"""

from __future__ import annotations

import posixpath
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError
from .storage import filesystem, is_dir, is_file
from .thresholds import (
    ADVICE,
    DEFAULTS,
    AdviceLimits,
    Thresholds,
    coerce_threshold,
    describe_thresholds,
    threshold_names,
    with_overrides,
)

if TYPE_CHECKING:  # pragma: no cover
    from fsspec import AbstractFileSystem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "ADVICE",
    "DEFAULTS",
    "MAX_SETTINGS_BYTES",
    "SETTINGS_FILES",
    "AdviceLimits",
    "Settings",
    "Thresholds",
    "coerce_threshold",
    "describe_thresholds",
    "load_settings",
    "merged",
    "parse_pairs",
    "threshold_names",
    "with_overrides",
]

# Looked up like ruff and pytest do: a ``dlreport.toml`` (tables ``[roles]`` and
# ``[thresholds]``, at its top level or under ``[tool.dlreport]``), or a ``pyproject.toml`` with
# ``[tool.dlreport]``, in LOGDIR and its parents, then in the working directory and its parents;
# the first found wins. ``--config FILE`` names the file instead. Command-line options win
# over the file.

SETTINGS_FILES = ("dlreport.toml", "pyproject.toml")
_TABLES = {"roles", "thresholds"}


@dataclass(frozen=True, slots=True)
class Settings:
    """Pinned roles (role -> tag) and threshold overrides (name -> number)."""

    roles: Mapping[str, str] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=dict)
    source: str | None = None  # the file they came from, if any


def load_settings(logdir: str, config: str | None = None) -> Settings:
    """The settings for ``logdir``: from ``config`` if given, else the first file found."""
    if config is not None:
        settings = _read_file(config, explicit=True)
        assert settings is not None  # an explicit file always yields settings (or raises)
        return settings
    for fs, path in _candidates(logdir):
        try:
            found = is_file(fs, path)
        except OSError:  # an unreadable parent folder is not a settings file
            found = False
        if found:
            settings = _read_file(path, located=(fs, path))
            if settings is not None:
                return settings
    return Settings()


def _candidates(logdir: str) -> Iterator[tuple[AbstractFileSystem | None, str]]:
    """Where a settings file may be: LOGDIR and its parents, then the working directory and
    its parents (a remote LOGDIR is looked in itself only: its parents are other people's).
    A filesystem None is this machine's (:func:`analyzer.storage.filesystem`)."""
    seen: set[tuple[bool, str]] = set()
    folders: list[tuple[AbstractFileSystem | None, str]] = []
    try:
        fs, base = filesystem(logdir)
    except (ImportError, ValueError):  # the reader says what is missing, in one line
        pass
    else:
        if fs is None:
            start = Path(base).resolve()
            if start.is_file():
                start = start.parent
            folders += [(None, str(p)) for p in (start, *start.parents)]
        else:
            try:
                if fs.isfile(base):
                    base = posixpath.dirname(base)
            except OSError:
                pass
            folders.append((fs, base))
    cwd = Path.cwd()
    folders += [(None, str(p)) for p in (cwd, *cwd.parents)]
    for fs_, folder in folders:
        key = (fs_ is None, folder)
        if key in seen:
            continue
        seen.add(key)
        for name in SETTINGS_FILES:
            yield fs_, str(Path(folder) / name) if fs_ is None else posixpath.join(folder, name)


def _read_file(
    path: str,
    *,
    located: tuple[AbstractFileSystem | None, str] | None = None,
    explicit: bool = False,
) -> Settings | None:
    """The settings in one file, or None for a ``pyproject.toml`` without ``[tool.dlreport]``.

    ``located`` is the filesystem and the path within it when the caller knows them; else they
    come from ``path``."""
    shown = path
    try:
        fs, inner = located or filesystem(path)
        if is_dir(fs, inner):
            raise ConfigError(f"{shown}: is a folder, not a settings file")
        with open(inner, "rb") if fs is None else fs.open(inner, "rb") as f:
            # A settings file is a few lines: more than 1 MB is not one (and would be read
            # whole into memory).
            raw = f.read(MAX_SETTINGS_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{shown}: no such settings file") from None
    except ImportError as exc:
        raise ConfigError(f"{shown}: cannot be read ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_SETTINGS_BYTES:
        raise ConfigError(f"{shown}: larger than {MAX_SETTINGS_BYTES // 1_000_000} MB")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{shown}: not valid TOML ({reason})") from None
    tool = data.get("tool")
    if tool is not None and not isinstance(tool, dict):
        raise ConfigError(f"{shown}: 'tool' must be a table ([tool.dlreport])")
    table = tool.get("dlreport") if tool else None
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{shown}: 'tool.dlreport' must be a table ([tool.dlreport])")
    name = posixpath.basename(path.replace("\\", "/"))
    if table is None and (name != "pyproject.toml" or explicit):
        table = {k: v for k, v in data.items() if k != "tool"}  # tables at the top level
    if table is None:
        return None
    return _settings(table, shown)


MAX_SETTINGS_BYTES = 1_000_000


def _settings(table: Mapping[str, object], path: str) -> Settings:
    unknown = sorted(set(table) - _TABLES)
    if unknown:
        raise ConfigError(
            f"{path}: unknown table(s) {', '.join(repr(k) for k in unknown)} "
            "(expected [roles] and [thresholds])"
        )
    roles = table.get("roles", {})
    thresholds = table.get("thresholds", {})
    if not isinstance(roles, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in roles.items()
    ):
        raise ConfigError(f"{path}: [roles] must map role names to tag names (strings)")
    if not isinstance(thresholds, dict):
        raise ConfigError(f"{path}: [thresholds] must map threshold names to numbers")
    numbers = {
        name: coerce_threshold(name, value, f"{path}: [thresholds]", text=False)
        for name, value in thresholds.items()
    }
    return Settings(roles=dict(roles), thresholds=numbers, source=path)


def parse_pairs(pairs: tuple[str, ...], what: str) -> dict[str, str]:
    """``("a=b", ...)`` from repeated options into a dict; a malformed pair is an error."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"--{what} {pair!r}: expected NAME=VALUE")
        out[key.strip()] = value.strip()
    return out


def merged(file: Settings, roles: Mapping[str, str], thresholds: Mapping[str, str]) -> Settings:
    """File settings overridden by command-line ones (thresholds coerced to their types)."""
    numbers = {
        name: coerce_threshold(name, text, "--threshold") for name, text in thresholds.items()
    }
    return Settings(
        roles={**file.roles, **roles},
        thresholds={**file.thresholds, **numbers},
        source=file.source,
    )
