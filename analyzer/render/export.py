"""``dlreport export``: every scalar point of a logdir as one tidy table (CSV or Parquet)."""

from __future__ import annotations

from typing import TextIO

from ..errors import OutputError
from ..reader import Logdir, scalars_frame


def export_scalars(data: Logdir, output: str, *, stdout: TextIO) -> int:
    """Write the scalars of ``data`` to ``output`` ('-' for CSV on ``stdout``); returns rows."""
    frame = scalars_frame(data)
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
