"""Analysis of many runs on S3 (moto on loopback), in one process and in a process pool."""

from __future__ import annotations

from pathlib import Path

import fsspec
import numpy as np
import pytest
from tensorboardX import SummaryWriter

pytest.importorskip("s3fs", reason="s3fs is not installed")
pytest.importorskip("moto.server", reason="moto[server] is not installed")

from conftest import BUCKET

from analyzer.engine import executor_for
from analyzer.pipeline import build_analysis

RUNS = 24


def _write_runs(root: Path) -> None:
    for i in range(RUNS):
        with SummaryWriter(str(root / f"sweep/run{i:02d}")) as w:
            for step in range(60):
                loss = 2.0 * np.exp(-step / 15) + 0.1
                if i % 6 == 5 and step > 30:
                    loss = float("nan")
                w.add_scalar("train/loss", loss, step)
                w.add_scalar("train/learning_rate", 1e-3 * (i + 1), step)


def test_analyze_many_runs_on_s3(s3: fsspec.AbstractFileSystem, tmp_path: Path) -> None:
    local = tmp_path / "logs"
    _write_runs(local)
    s3.put(str(local), f"{BUCKET}/logs", recursive=True)
    here = build_analysis(str(local), keep_runs=False).report
    remote = build_analysis(f"s3://{BUCKET}/logs", keep_runs=False).report
    assert [r.run for r in remote.runs] == [f"sweep/run{i:02d}" for i in range(RUNS)]
    assert [(r.status, r.findings) for r in remote.runs] == [
        (r.status, r.findings) for r in here.runs
    ]
    assert sum(r.status == "error" for r in remote.runs) == RUNS // 6
    with executor_for(jobs=2) as ex:
        pooled = build_analysis(f"s3://{BUCKET}/logs", executor=ex, keep_runs=False).report
    assert [r.findings for r in pooled.runs] == [r.findings for r in remote.runs]
