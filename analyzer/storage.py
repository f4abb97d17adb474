"""Where a path lives: on this machine (read with :mod:`os`) or behind an fsspec URL.

fsspec is imported for URLs only: it costs about 25 ms of every start-up (it pulls in asyncio),
and most logdirs are local folders.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from fsspec import AbstractFileSystem


def filesystem(path: str) -> tuple[AbstractFileSystem | None, str]:
    """The filesystem holding ``path`` and the path within it; None for this machine's own.

    A path without ``://`` is local. A URL goes to fsspec, which may still name a local file
    (``file:///logs``): that is local too, so local files are read one way whatever the spelling.
    """
    if "://" not in path:
        return None, local_path(path)
    import fsspec
    from fsspec.implementations.local import LocalFileSystem

    fs, inner = fsspec.core.url_to_fs(path)
    return (None, inner) if isinstance(fs, LocalFileSystem) else (fs, inner)


def local_path(path: str) -> str:
    """``path`` spelled as fsspec's local filesystem spells it (so paths in reports stay as they
    were): absolute, a leading ``~`` expanded, no trailing slash, otherwise as written."""
    if path.startswith("~"):
        path = os.path.expanduser(path)
    elif not path.startswith("/"):
        rest = "" if path == "." else path.removeprefix("./")
        path = f"{os.getcwd()}/{rest}"
    return path.rstrip("/") or "/"


def exists(fs: AbstractFileSystem | None, path: str) -> bool:
    return os.path.exists(path) if fs is None else bool(fs.exists(path))


def is_file(fs: AbstractFileSystem | None, path: str) -> bool:
    return os.path.isfile(path) if fs is None else bool(fs.isfile(path))


def is_dir(fs: AbstractFileSystem | None, path: str) -> bool:
    return os.path.isdir(path) if fs is None else bool(fs.isdir(path))
