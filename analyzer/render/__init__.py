"""Renderers: a :class:`~analyzer.model.Report` (and, for charts, the runs' frames) in, text out.

Renderers format; they never compute a statistic or run the pipeline. :data:`RENDERERS` maps a
format name to the module and function that render it, imported only when that format is
asked for, so that ``-f json`` and ``-f md`` never load the chart modules (and HTML loads
matplotlib only to draw distributions or sweeps: the line charts are :mod:`.svg_chart`'s).
A new format is one module here and one line in :data:`RENDERERS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..model import Report, Run

# format -> "module:function"; each function takes (report, runs) and returns the text.
RENDERERS: dict[str, str] = {
    "html": "analyzer.render.html:render",
    "json": "analyzer.render.json:render",
    "md": "analyzer.render.markdown:render",
}
# The comparison's formats (``dlreport compare -f``): each takes (comparison, baseline runs,
# candidate runs).
COMPARE_RENDERERS: dict[str, str] = {
    "html": "analyzer.render.compare_html:render",
    "json": "analyzer.render.compare_json:render_json",
    "md": "analyzer.render.compare_markdown:render_markdown",
}
# Other names users type for a format.
ALIASES: dict[str, str] = {"markdown": "md"}

Renderer = Callable[["Report", "Mapping[str, Run | object] | None"], str]


def _load(target: str) -> Callable[..., str]:
    module, _, name = target.partition(":")
    func: Callable[..., str] = getattr(importlib.import_module(module), name)
    return func


def renderer(fmt: str) -> Renderer:
    """The function that renders a report as ``fmt`` (``"html"``, ``"json"``, ``"md"``)."""
    return _load(RENDERERS[ALIASES.get(fmt, fmt)])


def compare_renderer(fmt: str) -> Callable[..., str]:
    """The function that renders a comparison as ``fmt``."""
    return _load(COMPARE_RENDERERS[ALIASES.get(fmt, fmt)])
