"""Names from the logs as text: run folders and tag names, which are bytes, made valid text.

One rule everywhere: valid UTF-8 is kept as it is; every byte that is not valid UTF-8 is shown
as ``\\xNN``. The result encodes to UTF-8 and JSON without error (no lone surrogates, no raw
bytes), and distinct invalid bytes stay distinct (``acc\\xff`` and ``acc\\xfe``), where
``errors="replace"`` made both ``acc\ufffd``. Control characters are left to the renderers
(:mod:`analyzer.render.safetext`).
"""

from __future__ import annotations


def text_of_bytes(raw: bytes) -> str:
    """``raw`` decoded as UTF-8, each invalid byte shown as ``\\xNN``."""
    return raw.decode("utf-8", errors="backslashreplace")


def text_of_path(path: str) -> str:
    """A path or folder name as Python's ``os`` functions return it, with the bytes that were
    not UTF-8 (held as lone surrogates, PEP 383) shown as ``\\xNN``."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        pass
    try:
        raw = path.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate not from a byte: show its UTF-8 bytes
        raw = path.encode("utf-8", errors="surrogatepass")
    return text_of_bytes(raw)


def distinct(name: str, taken: set[str] | dict[str, int]) -> str:
    """``name``, or ``name (2)``, ``name (3)``... if it is taken: two names that show the
    same (the bytes ``\\xff`` and the four characters ``\\xff``) must not merge."""
    if name not in taken:
        return name
    n = 2
    while f"{name} ({n})" in taken:
        n += 1
    return f"{name} ({n})"
