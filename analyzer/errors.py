"""The one error root: every failure a user can cause is a :class:`DlreportError`.

The command line catches :class:`DlreportError` and prints its one-line message (exit 2).
Any other exception is a bug in dlreport (exit 3, "please report"). Each subclass says which
step refused the input, so that a caller of the Python API can tell them apart.
"""

from __future__ import annotations


class DlreportError(Exception):
    """A problem with the input, the settings or the environment, told in one line."""


class InputError(DlreportError):
    """A logdir or file that cannot be read (missing, empty, not event files)."""


class ConfigError(DlreportError, ValueError):
    """A settings file or option that cannot be used (one line, naming it)."""


class RoleError(DlreportError, ValueError):
    """A pinned role that names no tag, or a role that does not exist."""


class EngineError(DlreportError, RuntimeError):
    """The executor (process pool or Dask cluster) cannot be used."""


class OutputError(DlreportError, OSError):
    """A report, folder or export that cannot be written where asked."""
