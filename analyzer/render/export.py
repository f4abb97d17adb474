"""``dlreport export``: every scalar point of a logdir as one tidy table (CSV or Parquet)."""

from __future__ import annotations

from dataclasses import replace
from typing import TextIO

from ..errors import OutputError
from ..reader import Logdir, scalars_frame
from .safetext import encodable


def export_scalars(data: Logdir, output: str, *, stdout: TextIO) -> int:
    """Write the scalars of ``data`` to ``output`` ('-' for CSV on ``stdout``); returns rows."""
    frame = scalars_frame(_encodable_names(data))
    if output == "-":
        frame.to_csv(stdout, index=False)
    elif output.endswith(".csv"):
        frame.to_csv(output, index=False)
    elif output.endswith(".parquet"):
        try:
            import pyarrow  # noqa: F401  (pandas needs it for Parquet)
        except ImportError:
            raise OutputError(
                f"{output}: writing Parquet needs pyarrow (pip install 'dlreport[parquet]')"
            ) from None
        frame.to_parquet(output, index=False)
    else:
        raise OutputError(f"{output}: unknown format (use .csv, .parquet or - for stdout)")
    return len(frame)


def _encodable_names(data: Logdir) -> Logdir:
    """The runs with undecodable bytes of their names shown as ``\\xNN`` (pandas' string
    columns, CSV and Parquet writers all refuse a lone surrogate)."""
    if all(encodable(r.name) == r.name for r in data.runs):
        return data
    runs = tuple(replace(r, name=encodable(r.name)) for r in data.runs)
    return replace(data, runs=runs)
