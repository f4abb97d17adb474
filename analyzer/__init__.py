"""dlreport: diagnose deep-learning training runs from TensorBoard event files.

The public API (``import dlreport`` or ``import analyzer``)::

    report = dlreport.analyze("runs/")        # -> dlreport.Report
    report.findings                           # plain Finding objects (run, code, severity, ...)
    report.to_html("report.html"); report.to_json(); report.to_markdown()
    frame = dlreport.read_scalars("runs/")    # the tidy frame `dlreport export` writes

The names are imported on first use (module ``__getattr__``): the command line imports this
package, and its start-up must not pay for pandas and the pipeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_LAZY = {
    "analyze": "analyzer.api",
    "read_scalars": "analyzer.api",
    "Report": "analyzer.api",
    "Finding": "analyzer.api",
    "DlreportError": "analyzer.errors",
}
__all__ = ["DlreportError", "Finding", "Report", "__version__", "analyze", "read_scalars"]

if TYPE_CHECKING:  # pragma: no cover
    from .api import Finding, Report, analyze, read_scalars
    from .errors import DlreportError


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
