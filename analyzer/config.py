"""User settings: pinned roles and threshold overrides, from the command line or a file.

A ``dlreport.toml`` in the analysed directory (tables ``[roles]`` and ``[thresholds]``, or
the same under ``[tool.dlreport]``), or a ``pyproject.toml`` there with ``[tool.dlreport]``.
Command-line options win over the file.
"""

from __future__ import annotations

import posixpath
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

import fsspec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(ValueError):
    """A settings file or option that cannot be used (one line, naming it)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Pinned roles (role -> tag) and threshold overrides (name -> number)."""

    roles: Mapping[str, str] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=dict)
    source: str | None = None  # the file they came from, if any


def load_settings(logdir: str) -> Settings:
    """The settings file beside the logs, if there is one."""
    fs, base = fsspec.core.url_to_fs(logdir)
    if fs.isfile(base):
        base = posixpath.dirname(base)
    for name in ("dlreport.toml", "pyproject.toml"):
        path = posixpath.join(base, name)
        if not fs.isfile(path):
            continue
        try:
            with fs.open(path, "rb") as f:
                data = tomllib.load(f)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        table = data.get("tool", {}).get("dlreport")
        if table is None and name == "dlreport.toml":
            table = data  # dlreport.toml may hold the tables at its top level
        if table is not None:
            return _settings(table, path)
    return Settings()


def _settings(table: Mapping[str, object], path: str) -> Settings:
    roles = table.get("roles", {})
    thresholds = table.get("thresholds", {})
    if not isinstance(roles, dict) or not all(isinstance(v, str) for v in roles.values()):
        raise ConfigError(f"{path}: [roles] must map role names to tag names")
    if not isinstance(thresholds, dict) or not all(
        isinstance(v, (int, float)) for v in thresholds.values()
    ):
        raise ConfigError(f"{path}: [thresholds] must map threshold names to numbers")
    return Settings(roles=dict(roles), thresholds=dict(thresholds), source=path)


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
    """File settings overridden by command-line ones."""
    numbers = {}
    for name, text in thresholds.items():
        try:
            numbers[name] = float(text)
        except ValueError:
            raise ConfigError(f"--threshold {name}={text}: not a number") from None
    return Settings(
        roles={**file.roles, **roles},
        thresholds={**file.thresholds, **numbers},
        source=file.source,
    )
