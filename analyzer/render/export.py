"""``dlreport export``: every scalar point of a logdir as one tidy table (CSV or Parquet).

The table is written run by run and, within a run, tag by tag in batches straight from the
reader's per-tag columns (:class:`~analyzer.reader.ScalarColumns`): never as one long frame,
nor as one frame per run (a 10M-event run took 880 MB that way; the reader holds a run's
points in 20 bytes each, and a batch is all the rest). With pyarrow installed (the
``parquet`` extra) both formats go through its writers, whose CSV writer is several times
faster than ``DataFrame.to_csv``; the CSV text is kept the same as pandas writes it (``repr``
of each float, NaN as an empty field, quotes only where needed), which
``tests/test_render_export.py`` checks. Without pyarrow, CSV falls back to pandas.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Protocol, TextIO

import numpy as np

from ..errors import OutputError
from .safetext import encodable

COLUMNS = ("run", "tag", "step", "wall_time", "value")
# Rows per Parquet row group, and per CSV write: each bounds the memory beyond the run's own
# columns. The CSV text of a batch is several times its numbers, and fresh memory is dear
# here (about 2 CPU-ms per MB), so CSV goes in smaller batches: 1M-event export 1.0 CPU-s
# against 1.5 with batches of 1M rows.
BATCH_ROWS = 1 << 20
CSV_BATCH_ROWS = 1 << 17

# One tag's points: its name, steps, wall times and values.
Piece = tuple[str, np.ndarray, np.ndarray, np.ndarray]


class ScalarRun(Protocol):
    """What export needs of a run: its name, and its scalars a tag at a time."""

    @property
    def name(self) -> str: ...

    def tags(self) -> Iterator[Piece]: ...


def export_scalars(runs: Iterable[ScalarRun], output: str, *, stdout: TextIO) -> int:
    """Write the scalars of ``runs`` to ``output`` ('-' for CSV on ``stdout``); returns rows.

    ``runs`` may be a generator reading one run at a time: each run is released before the
    next is read. Nothing is written until the first run arrives.
    """
    if output == "-" or output.endswith(".csv"):
        kind = "csv"
    elif output.endswith(".parquet"):
        kind = "parquet"
    else:
        raise OutputError(f"{output}: unknown format (use .csv, .parquet or - for stdout)")
    pa = _pyarrow()
    if kind == "parquet" and pa is None:
        raise OutputError(
            f"{output}: writing Parquet needs pyarrow (pip install 'dlreport[parquet]')"
        )
    writer: _Writer | None = None
    rows = 0
    size = BATCH_ROWS if kind == "parquet" else CSV_BATCH_ROWS
    try:
        for run in runs:
            if writer is None:
                writer = _open(kind, output, stdout, pa is not None)
            # A name read from undecodable bytes holds lone surrogates, which no writer
            # accepts: they are shown as \xNN, as everywhere else.
            name = encodable(run.name)
            for batch in _batches(run.tags(), size):
                writer.write(name, batch)
                rows += sum(piece[1].size for piece in batch)
        if writer is None:  # no run at all: still a table with its header
            writer = _open(kind, output, stdout, pa is not None)
    finally:
        if writer is not None:
            writer.close()
    return rows


def _batches(pieces: Iterator[Piece], size: int) -> Iterator[list[Piece]]:
    """The tags' pieces regrouped in batches of ``size`` rows (a long tag is cut)."""
    batch: list[Piece] = []
    rows = 0
    for tag, step, wall, value in pieces:
        start = 0
        while start < step.size:
            take = min(size - rows, step.size - start)
            end = start + take
            batch.append((tag, step[start:end], wall[start:end], value[start:end]))
            rows += take
            start = end
            if rows == size:
                yield batch
                batch, rows = [], 0
    if batch:
        yield batch


def _pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError:
        return None
    return pyarrow


class _Writer:
    def write(self, run: str, batch: list[Piece]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def _open(kind: str, output: str, stdout: TextIO, arrow: bool) -> _Writer:
    if kind == "parquet":
        return _ParquetWriter(output)
    try:
        target: IO[Any] = stdout if output == "-" else Path(output).open("wb" if arrow else "w")  # noqa: SIM115
    except OSError as exc:
        raise OutputError(f"{output}: cannot be written ({exc.strerror})") from None
    owns = output != "-"
    return _ArrowCsvWriter(target, owns) if arrow else _PandasCsvWriter(target, owns)


def _tag_names(batch: list[Piece]) -> tuple[list[str], np.ndarray]:
    """The distinct tag names of a batch, and the index of each row's name."""
    index: dict[str, int] = {}
    codes = [index.setdefault(tag, len(index)) for tag, _, _, _ in batch]
    sizes = [piece[1].size for piece in batch]
    return list(index), np.repeat(np.array(codes, dtype=np.int32), sizes)


def _arrow_batch(run: str, batch: list[Piece], *, csv_text: bool) -> Any:
    """One batch as a pyarrow table with the export's columns."""
    import pyarrow as pa

    names, codes = _tag_names(batch)
    tags = pa.DictionaryArray.from_arrays(_numbers(codes), _strings(names))
    runs = pa.DictionaryArray.from_arrays(
        _numbers(np.zeros(codes.size, dtype=np.int32)), _strings([run])
    )
    step = np.concatenate([p[1] for p in batch])
    wall = np.concatenate([p[2] for p in batch])
    value = np.concatenate([p[3] for p in batch])
    if csv_text:  # pyarrow's CSV writer takes the dictionaries as they are
        columns = [
            runs,
            tags,
            _numbers(step),
            _python_float_text(wall),
            _python_float_text(value),
        ]
    else:  # Parquet stores strings dictionary-encoded anyway: no string is ever built
        columns = [runs, tags, _numbers(step), _numbers(wall), _numbers(value)]
    return pa.table(columns, names=list(COLUMNS))


# Arrays are handed to pyarrow as buffers: ``pa.array`` first looks whether pandas is
# installed, which imports it (0.2 CPU-s of ``export``, which needs no pandas).


def _numbers(values: np.ndarray) -> Any:
    """A pyarrow array over a 1-D numpy array of numbers (no copy)."""
    import pyarrow as pa

    values = np.ascontiguousarray(values)
    kind = pa.from_numpy_dtype(values.dtype)
    return pa.Array.from_buffers(kind, values.size, [None, pa.py_buffer(values)])


def _mask(flags: np.ndarray) -> Any:
    """A pyarrow boolean array of a numpy bool array."""
    import pyarrow as pa

    bits = np.packbits(flags, bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), flags.size, [None, pa.py_buffer(bits)])


def _bools(flags: Any) -> np.ndarray:
    """A numpy bool array of a pyarrow boolean array without nulls."""
    bits = np.frombuffer(flags.buffers()[1], dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little", count=flags.offset + len(flags))[
        flags.offset :
    ].astype(bool)


def _strings(texts: list[str]) -> Any:
    """A pyarrow string array of ``texts``."""
    import pyarrow as pa

    data = [t.encode("utf-8") for t in texts]
    offsets = np.zeros(len(data) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in data], out=offsets[1:])
    return pa.Array.from_buffers(
        pa.large_string(), len(data), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))]
    ).cast(pa.string())


def _repeated(text: str, count: int) -> Any:
    """A pyarrow string array of ``count`` times ``text`` (a scalar would bring in pandas)."""
    import pyarrow as pa

    data = text.encode("utf-8")
    offsets = np.arange(count + 1, dtype=np.int64) * len(data)
    return pa.Array.from_buffers(
        pa.large_string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(data * count)]
    ).cast(pa.string())


def _needs_quotes(name: str) -> bool:
    """Whether Python's csv module (so pandas) would quote this field."""
    return name == "" or any(c in name for c in ',"\r\n')


# Where repr writes plain notation ([1e-4, 1e16)) and pyarrow does too, both write the shortest
# digits that read back to the same double, so the texts agree but for repr's ".0" on whole
# numbers; everywhere else the rare value is written by repr itself.
# tests/test_render_export.py checks this on hundreds of thousands of doubles of every kind.
_PLAIN_LOW, _PLAIN_HIGH = 1e-4, 1e16


def _python_float_text(values: np.ndarray) -> Any:
    """``values`` as text exactly as pandas' ``to_csv`` writes them (NaN as null)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.cast(_numbers(values), pa.string())
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore"):
        whole = values == np.floor(values)  # true of inf too, which keeps its "inf"
    # pyarrow switches to exponent notation at other places than repr (2.4e+13 for
    # 24000000000000.0, 1.3e+10 for 13463053035.748682, 0.00001 for 1e-05): those get repr.
    exponent = _bools(pc.match_substring(text, "e"))
    odd = np.isfinite(values) & (
        ((magnitude < _PLAIN_LOW) & (values != 0)) | (magnitude >= _PLAIN_HIGH) | exponent
    )
    plain_whole = whole & np.isfinite(values) & ~odd
    # Each fix touches only the texts it changes: suffixing every text and picking with
    # if_else cost a tenth of a second per million rows.
    if plain_whole.any():
        mask = _mask(plain_whole)
        count = int(plain_whole.sum())
        suffixed = pc.binary_join_element_wise(
            pc.filter(text, mask), _repeated(".0", count), _repeated("", count)
        )
        text = pc.replace_with_mask(text, mask, suffixed)
    if odd.any():
        fixed = _strings([repr(x) for x in values[odd].tolist()])
        text = pc.replace_with_mask(text, _mask(odd), fixed)
    nan = np.isnan(values)
    if nan.any():
        text = pc.replace_with_mask(text, _mask(nan), pa.nulls(int(nan.sum()), pa.string()))
    return text


class _ArrowCsvWriter(_Writer):
    def __init__(self, target: IO[Any], owns: bool) -> None:
        self.target, self.owns = target, owns
        # Text streams (stdout, click's runner) get text; files get the bytes directly.
        self.binary = "b" in getattr(target, "mode", "") and not isinstance(target, io.TextIOBase)
        self._put(",".join(COLUMNS) + "\n")

    def _put(self, text: str) -> None:
        if self.binary:
            self.target.write(text.encode("utf-8"))
        else:
            self.target.write(text)

    def write(self, run: str, batch: list[Piece]) -> None:
        import pyarrow as pa
        import pyarrow.csv as pcsv

        if _needs_quotes(run) or any(_needs_quotes(tag) for tag, _, _, _ in batch):
            # pyarrow quotes every string or none; pandas quotes those that need it.
            text = io.StringIO()
            _PandasCsvWriter.write_batch(text, run, batch)
            self._put(text.getvalue())
            return
        table = _arrow_batch(run, batch, csv_text=True)
        options = pcsv.WriteOptions(include_header=False, quoting_style="none")
        if self.binary:
            pcsv.write_csv(table, self.target, options)
        else:
            sink = pa.BufferOutputStream()
            pcsv.write_csv(table, sink, options)
            self._put(sink.getvalue().to_pybytes().decode("utf-8"))

    def close(self) -> None:
        if self.owns:
            self.target.close()
        else:
            self.target.flush()


class _PandasCsvWriter(_Writer):
    def __init__(self, target: IO[Any], owns: bool) -> None:
        self.target, self.owns = target, owns
        csv.writer(target, lineterminator="\n").writerow(COLUMNS)

    def write(self, run: str, batch: list[Piece]) -> None:
        self.write_batch(self.target, run, batch)

    @staticmethod
    def write_batch(target: IO[Any], run: str, batch: list[Piece]) -> None:
        import pandas as pd

        names, codes = _tag_names(batch)
        out = pd.DataFrame(
            {
                "run": run,
                "tag": np.array(names, dtype=object)[codes],
                "step": np.concatenate([p[1] for p in batch]),
                "wall_time": np.concatenate([p[2] for p in batch]),
                "value": np.concatenate([p[3] for p in batch]),
            }
        )
        out.to_csv(target, index=False, header=False, lineterminator="\n")

    def close(self) -> None:
        if self.owns:
            self.target.close()
        else:
            self.target.flush()


class _ParquetWriter(_Writer):
    def __init__(self, output: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        words = pa.dictionary(pa.int32(), pa.string())
        schema = pa.schema(
            [
                ("run", words),
                ("tag", words),
                ("step", pa.int64()),
                ("wall_time", pa.float64()),
                ("value", pa.float64()),
            ]
        )
        try:
            # Without the Arrow schema stored, readers see plain string columns (pandas: str,
            # as when pandas wrote the file), though they are written from dictionaries.
            self.writer = pq.ParquetWriter(output, schema, store_schema=False)
        except OSError as exc:
            raise OutputError(f"{output}: cannot be written ({exc})") from None

    def write(self, run: str, batch: list[Piece]) -> None:
        self.writer.write_table(_arrow_batch(run, batch, csv_text=False), BATCH_ROWS)

    def close(self) -> None:
        self.writer.close()
