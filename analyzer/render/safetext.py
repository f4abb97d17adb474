"""Text from log files made safe to print: control characters shown, never obeyed.

Tag names, run folders, hparams and text summaries come from files someone else wrote. An
ANSI escape sequence in a tag name must not recolour (or rewrite) the user's terminal, and a
NUL or a carriage return must not hide the rest of a line.
"""

from __future__ import annotations

import re

# C0 controls (but tab, shown as a space elsewhere), DEL, and C1 controls
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def visible(text: object) -> str:
    """``text`` with every control character written as a ``\\xNN`` escape."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))
