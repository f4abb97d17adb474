"""Text from log files made safe to print and to write: shown, never obeyed, always encodable.

Tag names, run folders, hparams and text summaries come from files someone else wrote. An
ANSI escape sequence in a tag name must not recolour (or rewrite) the user's terminal, and a
NUL or a carriage return must not hide the rest of a line.

A name may also hold bytes that are not UTF-8: Python keeps an undecodable byte of a folder
name as a lone surrogate (``os.fsdecode`` gives ``"run\\udcff"`` for ``b"run\\xff"``), which no
UTF-8 writer accepts. Every writer shows such a byte the same way, as the four characters
``\\xff`` (:func:`encodable`): in HTML, Markdown, CSV, Parquet and on the terminal, and in JSON
as the string ``"run\\\\xff"``, which any strict parser reads back as ``run\\xff``
(:func:`strict_json`). Other lone surrogates are shown as ``\\udXXX``.
"""

from __future__ import annotations

import json
import re

# C0 controls (but tab, shown as a space elsewhere), DEL, and C1 controls
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _surrogate(match: re.Match[str]) -> str:
    code = ord(match.group())
    # U+DC80..U+DCFF is how surrogateescape keeps the byte 0x80..0xFF it could not decode.
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def encodable(text: str) -> str:
    """``text`` with every lone surrogate (an undecodable byte) written as ``\\xNN``."""
    return _SURROGATE.sub(_surrogate, text) if _SURROGATE.search(text) else text


def visible(text: object) -> str:
    """``text`` with every control character and undecodable byte written as a ``\\xNN``
    escape: one line, safe on a terminal."""
    return encodable(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text)))


# The longest text shown in a page or on the terminal: a tag name of 1 MiB (any writer accepts
# one) would otherwise be repeated in full by every table and caption that names the tag.
# JSON and export keep names whole.
DISPLAY_LIMIT = 1000
NAME_LIMIT = 200  # a name in an aligned terminal column


def shorten(text: str, limit: int = DISPLAY_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… (+{len(text) - limit} characters)"


def strict_json(data: object, *, indent: int | None = 2) -> str:
    """``data`` as strict JSON text (RFC 8259): no NaN, no lone surrogate, valid UTF-8.

    NaN or inf in ``data`` is a bug of the caller (the contract writes ``null``): it raises
    ``ValueError``. A lone surrogate inside a string becomes the escaped text ``\\\\xNN``.
    """
    text = json.dumps(data, indent=indent, allow_nan=False, ensure_ascii=False)
    if not _SURROGATE.search(text):
        return text
    # Surrogates only occur inside JSON strings (the structure is ASCII): a backslash there
    # must itself be escaped.
    return _SURROGATE.sub(lambda m: _surrogate(m).replace("\\", "\\\\"), text)
