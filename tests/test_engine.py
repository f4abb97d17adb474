"""Engines: a process pool and a Dask cluster give the same report as one process."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.engine import executor_for
from analyzer.errors import EngineError
from analyzer.pipeline import build_analysis

SAMPLES = Path(__file__).resolve().parents[1] / "sample_logs"


def _findings(executor) -> list:
    analysis = build_analysis(str(SAMPLES), executor=executor, keep_runs=False)
    return [(r.run, r.status, r.findings, r.advice, r.summary) for r in analysis.report.runs]


@pytest.fixture(scope="module")
def in_process() -> list:
    with executor_for(jobs=1) as ex:
        assert ex is None
        return _findings(ex)


def test_process_pool_gives_the_same_report(in_process: list) -> None:
    with executor_for(jobs=2) as ex:
        assert ex is not None
        assert _findings(ex) == in_process


def test_dask_cluster_on_loopback_gives_the_same_report(
    in_process: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        monkeypatch.setenv("DLREPORT_SCHEDULER", cluster.scheduler_address)
        with executor_for() as ex:
            assert ex is not None
            assert _findings(ex) == in_process


def test_unreachable_scheduler_is_a_clear_error() -> None:
    pytest.importorskip("distributed")
    with (
        pytest.raises(EngineError, match="cannot reach"),
        executor_for(scheduler="tcp://127.0.0.1:9"),
    ):
        pass
