"""The comparison as GitHub Markdown, for the pull request (``templates/compare.md.j2``)."""

from __future__ import annotations

from collections.abc import Mapping

from ..compare import Comparison
from .environment import ENV
from .markdown import largest

_MD_LIMIT = 60_000  # GitHub's comment limit is 65,536 characters; keep room for a note
_MAX_NAMES = 50  # unmatched run names listed per side


def _render(c: Comparison, shown: int, *, head_only: bool = False) -> str:
    return ENV.get_template("compare.md.j2").render(
        c=c,
        rows=c.runs[:shown],
        omitted=len(c.runs) - shown,
        head_only=head_only,
        max_names=_MAX_NAMES,
    )


def render_markdown(c: Comparison, *_runs: Mapping[str, object] | None) -> str:
    """A verdict line and one table row per run, under GitHub's comment limit."""
    # The table keeps the rows that fit (the head's text, less its final newline, within the
    # limit); the notes after it are always written.
    shown = largest(len(c.runs), lambda k: len(_render(c, k, head_only=True)) - 1 <= _MD_LIMIT)
    return _render(c, shown)
