"""``dlreport export`` streams run by run, and writes what one long pandas frame wrote."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from event_builders import scalar_event, write_event_file

from analyzer.reader import discover_runs, read_logdir, read_scalar_columns, scalars_frame
from analyzer.render import export
from analyzer.render.export import export_scalars

pa = pytest.importorskip("pyarrow")

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"


def _runs(root: Path | str) -> list:
    return [read_scalar_columns(s) for s in discover_runs(str(root))]


def _reference_csv(root: Path | str) -> str:
    """What export wrote before it streamed: one frame of every run, ``DataFrame.to_csv``."""
    return scalars_frame(read_logdir(str(root))).to_csv(index=False, lineterminator="\n")


def _export_text(runs: list) -> str:
    out = io.StringIO()
    export_scalars(iter(runs), "-", stdout=out)
    return out.getvalue()


def test_csv_text_is_what_pandas_wrote_on_every_sample() -> None:
    assert _export_text(_runs(SAMPLES)) == _reference_csv(SAMPLES)


def test_csv_file_and_stdout_agree(tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    export_scalars(iter(_runs(SAMPLES)), str(out), stdout=io.StringIO())
    assert out.read_text() == _reference_csv(SAMPLES)


def test_csv_without_pyarrow_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "_pyarrow", lambda: None)
    assert _export_text(_runs(SAMPLES)) == _reference_csv(SAMPLES)


def test_parquet_holds_the_same_table(tmp_path: Path) -> None:
    out = tmp_path / "x.parquet"
    rows = export_scalars(iter(_runs(SAMPLES)), str(out), stdout=io.StringIO())
    got = pd.read_parquet(out)
    want = scalars_frame(read_logdir(str(SAMPLES)))
    assert rows == len(want) == len(got)
    # Read back as plain strings, as the file pandas wrote from the whole frame was.
    assert got.dtypes.equals(pd.read_parquet(_pandas_parquet(want, out.parent)).dtypes)
    pd.testing.assert_frame_equal(got, want.astype({"tag": got["tag"].dtype}))


def _pandas_parquet(frame: pd.DataFrame, where: Path) -> Path:
    path = where / "pandas.parquet"
    frame.to_parquet(path, index=False)
    return path


def test_batches_and_awkward_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Several batches per run, names that need quoting, values of every notation.
    run = tmp_path / 'a,"b"'
    values = [0.0, -0.0, 1.0, 2.5, 1e-05, 3e-7, 1e15, 1.5e16, float("nan"), float("inf"), 7e-300]
    events = [
        scalar_event(s, 1e9 + s, {"x,y": values[s % len(values)], "plain": s / 7})
        for s in range(50)
    ]
    write_event_file(run / "events.out.tfevents.1", events)
    monkeypatch.setattr(export, "BATCH_ROWS", 7)
    monkeypatch.setattr(export, "CSV_BATCH_ROWS", 6)
    assert _export_text(_runs(tmp_path)) == _reference_csv(tmp_path)
    out = tmp_path / "x.parquet"
    export_scalars(iter(_runs(tmp_path)), str(out), stdout=io.StringIO())
    meta = pytest.importorskip("pyarrow.parquet").ParquetFile(out).metadata
    assert meta.num_row_groups == 100 // 7 + 1  # row groups of at most 7 rows
    assert pd.read_parquet(out)["run"].unique().tolist() == ['a,"b"']


# "all" is a slow test (conftest.py); the default run checks a quarter as many of each kind
@pytest.mark.parametrize("size", [50_000, 200_000], ids=["quarter", "all"])
def test_float_text_is_python_repr_for_any_double(size: int) -> None:
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**64, size=size, dtype=np.uint64).view(np.float64)
    ordinary = rng.uniform(-1e6, 1e6, size=size) * 10.0 ** rng.integers(-8, 12, size)
    whole = rng.integers(-(10**17), 10**17, size=size // 10).astype(np.float64)
    edges = np.array([1e-4, np.nextafter(1e-4, 0), 1e15, np.nextafter(1e15, 0), 5e-324, -0.0])
    for values in (bits, ordinary, whole, edges, np.float32(ordinary).astype(np.float64)):
        got = export._python_float_text(values).to_pylist()
        want = [None if np.isnan(x) else repr(x) for x in values.tolist()]
        assert got == want


def test_no_run_still_a_header() -> None:
    out = io.StringIO()
    assert export_scalars(iter(()), "-", stdout=out) == 0
    assert out.getvalue() == "run,tag,step,wall_time,value\n"
