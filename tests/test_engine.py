"""Engines: a process pool and a Dask cluster give the same report as one process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_checks import one_line_error, run_cli

from analyzer.engine import MAX_CHUNK, LocalPool, chunk_size, default_jobs, executor_for
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


def test_process_pool_gives_the_same_report(
    in_process: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    # sample_logs is too little work to be given a pool by default: force one.
    monkeypatch.setattr("analyzer.pipeline.POOL_MIN_WORK_S", 0.0)
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


# --- limits (issue #14 items 5 and 6) -----------------------------------------------------


def test_workers_are_capped_at_the_runs_and_at_4_per_core() -> None:
    # `--jobs 10000` on 17 runs started ~4,300 processes (18.7 GB) within 60 s.
    with executor_for(jobs=10_000) as ex:
        assert isinstance(ex, LocalPool)
        assert ex.max_workers == 4 * default_jobs()
        assert ex.workers == 0  # nothing started before there is work
        pids = set(ex.map(_pid, range(3)))
        assert ex.workers == 3
        assert 1 <= len(pids) <= 3


def test_runs_are_sent_in_chunks_and_come_back_in_order() -> None:
    # 200 small runs: a task each cost the parent as much CPU as a worker's chunk balance gains
    assert chunk_size(3, 2) == 1  # a few runs: one each, so both workers get some
    assert 1 < chunk_size(200, 2) <= MAX_CHUNK
    assert chunk_size(100_000, 2) == MAX_CHUNK  # bounded: no worker is left alone at the end
    with executor_for(jobs=2) as ex:
        assert list(ex.map(abs, range(-200, 0))) == list(range(200, 0, -1))  # type: ignore[union-attr]


def _pid(_: int) -> int:
    import os
    import time

    time.sleep(0.05)
    return os.getpid()


def test_cli_caps_jobs_and_says_so(tmp_path: Path) -> None:
    result = run_cli(["analyze", str(SAMPLES / "healthy"), "-f", "json", "--jobs", "10000"])
    assert result.exit_code == 0, result.stderr
    assert f"--jobs 10000 capped at {4 * default_jobs()}" in result.stderr


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@pytest.fixture
def http_port() -> Iterator[int]:
    """A loopback port that answers every connection as an HTTP server would."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def answer() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=answer, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def test_scheduler_that_never_answers_times_out() -> None:
    pytest.importorskip("distributed")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        started = time.monotonic()
        with (
            pytest.raises(EngineError, match=r"no handshake within 1 s"),
            executor_for(scheduler=f"tcp://127.0.0.1:{server.getsockname()[1]}", timeout=1),
        ):
            pass
        assert time.monotonic() - started < 10


@pytest.mark.parametrize("port", ["silent_port", "http_port"])
def test_cli_scheduler_failures_are_one_line(port: str, request: pytest.FixtureRequest) -> None:
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{request.getfixturevalue(port)}"
    result = run_cli(
        ["analyze", str(SAMPLES / "healthy"), "-f", "json", "--scheduler", address,
         "--scheduler-timeout", "1"],
        timeout=30,
    )  # fmt: skip
    reason = "no handshake within 1 s" if port == "silent_port" else "Dask's protocol"
    one_line_error(result, f"cannot reach the Dask scheduler at {address}", reason)


def test_scheduler_timeout_must_be_positive() -> None:
    result = run_cli(["analyze", str(SAMPLES), "--scheduler-timeout", "0"])
    assert result.exit_code == 2
    assert "'--scheduler-timeout': 0.0 is not in the range" in result.stderr
