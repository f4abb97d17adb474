"""Where the per-run work runs: in this process, a process pool, or a Dask cluster.

Every engine is a ``concurrent.futures.Executor``, so the pipeline has one code path
(``executor.map(analyze_plan, plans)`` in :func:`analyzer.pipeline.build_analysis`): Dask's
``Client.get_executor()`` is one, so a cluster needs no code of ours beyond connecting.

Limits (SECURITY.md): a local pool never starts more workers than there are runs to analyse,
nor more than :data:`MAX_JOBS_PER_CORE` per core, whatever ``--jobs`` asks; connecting to a
scheduler (TCP connect and Dask's handshake) gives up after ``timeout`` seconds, and any
failure to connect is an :class:`~analyzer.errors.EngineError` (exit 2, one line).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from concurrent.futures import ProcessPoolExecutor

from .errors import EngineError

SCHEDULER_ENV = "DLREPORT_SCHEDULER"
# The per-run work is CPU-bound: beyond a few workers per core they only add memory (each
# worker is a Python process of ~100 MB with pandas loaded). 4 leaves room for runs that wait
# on a network filesystem.
MAX_JOBS_PER_CORE = 4
# Seconds to reach a Dask scheduler and finish the handshake (``--scheduler-timeout``).
SCHEDULER_TIMEOUT = 5.0
# Runs handed to a worker at a time, at most: a task costs the parent ~0.5 ms (pickling, queue,
# a wake-up), which competes with the workers for the same cores; a larger chunk leaves one
# worker finishing alone at the end (a run of the batch benchmark takes ~17 ms).
MAX_CHUNK = 8
# Chunks per worker, at least: so that a slow run is balanced by the others' chunks.
CHUNKS_PER_WORKER = 16


def default_jobs() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover  (not Linux)
        return os.cpu_count() or 1


def max_jobs() -> int:
    """The most local workers ever started: :data:`MAX_JOBS_PER_CORE` per core."""
    return MAX_JOBS_PER_CORE * default_jobs()


class LocalPool(Executor):
    """A process pool started on first use with no more workers than items to map.

    ``ProcessPoolExecutor`` forks all its workers at the first task on Linux: sized by
    ``--jobs`` alone, ``--jobs 10000`` on 17 runs started thousands of processes.
    """

    def __init__(self, max_workers: int) -> None:
        self.max_workers = max(1, min(max_workers, max_jobs()))
        self.workers = 0  # started so far (0 until the first map or submit)
        self._pool: ProcessPoolExecutor | None = None

    def _start(self, items: int) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self.workers = max(1, min(self.max_workers, items))
            # Forked workers start with what the parent imported (pandas, numpy, the pipeline:
            # ~0.5-0.9 CPU-s a process). "spawn" and "forkserver" (the default from Python 3.14)
            # would import it all again in each worker. Fork is safe on Linux in a process of
            # one thread (the command line); with other threads (a notebook's kernel), or on
            # other systems, the platform's default.
            fork = sys.platform == "linux" and threading.active_count() == 1
            context = multiprocessing.get_context("fork") if fork else None
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        return self._pool

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return self._start(self.max_workers).submit(fn, *args, **kwargs)

    def map(
        self,
        fn: Callable[..., Any],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int = 1,
    ) -> Iterator[Any]:
        lists = [list(it) for it in iterables]
        items = min((len(x) for x in lists), default=0)
        pool = self._start(items)
        if chunksize == 1:  # not asked for: a few runs per task (see MAX_CHUNK)
            chunksize = chunk_size(items, self.workers)
        return pool.map(fn, *lists, timeout=timeout, chunksize=chunksize)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def chunk_size(items: int, workers: int) -> int:
    """Items per task: at least :data:`CHUNKS_PER_WORKER` chunks each, of :data:`MAX_CHUNK`
    items at most (1 for a few items, 4 for 200 runs on 2 workers)."""
    return max(1, min(MAX_CHUNK, items // (max(1, workers) * CHUNKS_PER_WORKER)))


def _connect(scheduler: str, timeout: float) -> Any:
    """A Dask ``Client`` on ``scheduler``, or :class:`EngineError` within about ``timeout`` s.

    Dask's own ``timeout`` covers the TCP connect, but a port that accepts and never answers
    (or answers another protocol: HTTP's first bytes read as a frame length asked for 3 EiB)
    could still hang or fail inside the handshake. The connection is made in a thread that is
    given up on after the timeout (it is a daemon: the process can still exit).
    """
    from distributed import Client

    result: dict[str, Any] = {}

    def connect() -> None:
        try:
            result["client"] = Client(scheduler, timeout=f"{timeout}s", set_as_default=False)
        except BaseException as exc:  # any failure here is "cannot connect"
            result["error"] = exc

    thread = threading.Thread(target=connect, name="dlreport-connect", daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    if thread.is_alive() or "error" in result:
        # The half-made Client's __del__ fails again at exit ("Exception ignored ..."): the
        # one line below already said what went wrong.
        _quiet_client_finalizers()
    if thread.is_alive():
        raise EngineError(
            f"cannot reach the Dask scheduler at {scheduler} (no handshake within {timeout:g} s)"
        )
    if "error" in result:
        exc = result["error"]
        if isinstance(exc, MemoryError):  # a length read from another protocol's bytes
            reason = "it does not speak Dask's protocol"
        else:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise EngineError(f"cannot reach the Dask scheduler at {scheduler} ({reason})")
    return result["client"]


def _quiet_client_finalizers() -> None:
    """Silence the errors a failed Dask ``Client`` raises when it is garbage-collected."""
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        where = getattr(unraisable.object, "__qualname__", "")
        if not where.startswith("Client."):
            previous(unraisable)

    sys.unraisablehook = hook


@contextmanager
def executor_for(
    jobs: int | None = None,
    scheduler: str | None = None,
    *,
    timeout: float = SCHEDULER_TIMEOUT,
) -> Iterator[Executor | None]:
    """The executor for ``jobs`` local processes, or the Dask scheduler at ``scheduler``.

    ``scheduler`` (or the ``DLREPORT_SCHEDULER`` environment variable) wins; ``jobs`` 1 means
    no executor (work in this process, which is also what a single run needs). ``timeout`` is
    how long connecting to the scheduler may take, in seconds.
    """
    scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if scheduler:
        if not timeout > 0:
            raise EngineError(f"scheduler timeout {timeout}: must be a positive number of seconds")
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise EngineError(
                "a Dask scheduler was given but Dask is not installed "
                "(pip install 'dlreport[dask]')"
            ) from None
        client = _connect(scheduler, timeout)
        try:
            yield client.get_executor()
        finally:
            _close(client, timeout)
        return
    jobs = default_jobs() if jobs is None else jobs
    if jobs <= 1:
        yield None
        return
    pool = LocalPool(jobs)
    try:
        yield pool
    finally:
        pool.shutdown()


def _close(client: Any, timeout: float) -> None:
    """Close the client without hanging on a scheduler that stopped answering."""
    # The report is done: a failed goodbye changes nothing.
    with contextlib.suppress(Exception):
        client.close(timeout=timeout)
