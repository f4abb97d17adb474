"""Engines: a process pool and a Dask cluster give the same report as one process."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_checks import CliServer, one_line_error, run_cli

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


def test_cli_caps_jobs_and_says_so(cli_server: CliServer) -> None:
    result = cli_server.cli(["analyze", str(SAMPLES / "healthy"), "-f", "json", "--jobs", "10000"])
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
def test_cli_scheduler_failures_are_one_line(
    port: str, request: pytest.FixtureRequest, cli_server: CliServer
) -> None:
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{request.getfixturevalue(port)}"
    result = cli_server.cli(
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


# --- a pool that cannot go on is one line, never a hang ---------------------------------------
# Under `ulimit -v`, the thread that feeds the workers could not start: a traceback, and the
# command waited for ever (the pool's manager thread had died). Each case runs in a thread
# given up on after a while, so that a regression fails instead of hanging the suite.


def _within(seconds: float, work: Callable[[], object]) -> object:
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s: the pool hangs"
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome.get("value")


def _map(fn: Callable[[int], object]) -> list[object]:
    with executor_for(jobs=2) as ex:
        return list(ex.map(fn, range(4)))


def test_a_thread_the_pool_cannot_start_is_one_error_not_a_hang(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    import multiprocessing.queues

    def refuse(self: object) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(multiprocessing.queues.Queue, "_start_thread", refuse)
    with pytest.raises(EngineError) as err:
        _within(30, lambda: _map(_pid))
    assert str(err.value) == (
        "the local pool of 2 worker processes failed (can't start new thread: out of memory? "
        "try fewer --jobs, or -j 1)"
    )
    assert "Traceback" not in capfd.readouterr().err  # the thread's failure is in the line


def _die(item: int) -> int:
    if item == 1:
        os._exit(9)  # as the kernel's OOM killer would end it
    time.sleep(0.05)
    return item


def _out_of_memory(item: int) -> int:
    raise MemoryError("malloc of size 128 failed")


def _bad_value(item: int) -> int:
    raise ValueError(f"item {item}")


@pytest.mark.parametrize(
    ("task", "reason"),
    [
        (_die, "a worker process died (killed for memory?); try fewer --jobs, or -j 1"),
        (_out_of_memory, "malloc of size 128 failed: out of memory? try fewer --jobs, or -j 1"),
    ],
    ids=["killed", "memory"],
)
def test_a_worker_that_dies_or_runs_out_of_memory_is_one_error(
    task: Callable[[int], int], reason: str
) -> None:
    with pytest.raises(EngineError) as err:
        _within(30, lambda: _map(task))
    assert str(err.value) == f"the local pool of 2 worker processes failed ({reason})"


def test_a_task_error_is_not_the_pool_s() -> None:
    with pytest.raises(ValueError, match="item 0"):
        _within(30, lambda: _map(_bad_value))


def test_out_of_memory_in_the_cli_is_one_line(cli_server: CliServer) -> None:
    """Under a memory limit below what Python and pandas need, the command says so in one
    line (exit 2), whatever allocation failed first."""
    result = cli_server.run(
        ["analyze", str(SAMPLES / "healthy"), "-f", "json", "-j", "1"], memory_cap=100 << 20
    )
    stderr = result.stderr.decode("utf-8")
    assert result.returncode == 2, stderr
    (line,) = stderr.splitlines()
    assert line.startswith("Error: out of memory (")
