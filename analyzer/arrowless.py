"""pandas imported without pyarrow, for the commands that never need pyarrow.

When pyarrow is installed, ``import pandas`` imports it too (pandas 3 backs its string dtype
with it), with ``pyarrow.compute``: about 0.2 CPU-s and 40 MB of every ``analyze``, which
uses neither. :func:`install` makes pyarrow unimportable *while pandas itself is being
imported*, so pandas falls back to its pure-Python string storage (same values, same
results); once pandas is loaded, ``import pyarrow`` works as usual (``export`` needs it).
Installed by the command line only: a program that imports dlreport as a library gets pandas
exactly as it configured it.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType


class _HideFromPandas(importlib.abc.MetaPathFinder):
    """Refuses pyarrow while ``pandas`` is being initialised; stands aside otherwise."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] != "pyarrow" or "pyarrow" in sys.modules:
            return None  # once pyarrow is in (export imports it first), pandas may use it
        pandas = sys.modules.get("pandas")
        spec = getattr(pandas, "__spec__", None)
        if pandas is not None and getattr(spec, "_initializing", False):
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


def install() -> None:
    """Keep pyarrow out of pandas' import (no effect once either is imported)."""
    if "pandas" in sys.modules or "pyarrow" in sys.modules:
        return
    if not any(isinstance(f, _HideFromPandas) for f in sys.meta_path):
        sys.meta_path.insert(0, _HideFromPandas())
