"""``import dlreport``: the public API of dlreport, whose sources live in ``analyzer/``.

See :mod:`analyzer` (``analyze``, ``read_scalars``, ``Report``, ``Finding``). Names are
re-exported lazily, so importing this stays as cheap as importing :mod:`analyzer`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import analyzer
from analyzer import __version__

if TYPE_CHECKING:  # pragma: no cover
    from analyzer.api import Finding, Report, analyze, read_scalars
    from analyzer.errors import DlreportError

__all__ = ["DlreportError", "Finding", "Report", "__version__", "analyze", "read_scalars"]


def __getattr__(name: str) -> Any:
    return getattr(analyzer, name)


def __dir__() -> list[str]:
    return dir(analyzer)
