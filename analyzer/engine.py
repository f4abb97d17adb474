"""Where the per-run work runs: in this process, a process pool, or a Dask cluster.

Every engine is a ``concurrent.futures.Executor``, so the pipeline has one code path
(``executor.map(analyze_plan, plans)`` in :func:`analyzer.pipeline.build_analysis`): Dask's
``Client.get_executor()`` is one, so a cluster needs no code of ours beyond connecting.

Limits (SECURITY.md): a local pool never starts more workers than there are runs to analyse,
nor more than :data:`MAX_JOBS_PER_CORE` per core, whatever ``--jobs`` asks; connecting to a
scheduler (TCP connect and Dask's handshake) gives up after ``timeout`` seconds, and any
failure to connect is an :class:`~analyzer.errors.EngineError` (exit 2, one line). So is a
local pool that cannot go on (:class:`LocalPool`): a thread that cannot start, a worker that
dies, a worker out of memory.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from concurrent.futures import wait as wait_for
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

    It also waits for ever when its manager thread dies: under a memory cap (``ulimit -v``)
    the thread that feeds the workers could not start, a traceback was printed, and the
    command hung. :meth:`map` waits in short steps and checks that thread, and every failure
    of the pool itself is one :class:`EngineError` (the workers are then stopped).
    """

    def __init__(self, max_workers: int) -> None:
        self.max_workers = max(1, min(max_workers, max_jobs()))
        self.workers = 0  # started so far (0 until the first map or submit)
        self._pool: ProcessPoolExecutor | None = None
        self._thread_errors: list[BaseException] = []
        self._excepthook: Callable[[Any], Any] | None = None  # to put back at shutdown

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
            self._excepthook = _quiet_pool_threads(self._thread_errors)
        return self._pool

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._failures(starting=True):
            return self._start(self.max_workers).submit(fn, *args, **kwargs)

    def map(
        self,
        fn: Callable[..., Any],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int = 1,
    ) -> Iterator[Any]:
        """``fn`` over the items, results in order (as ``Executor.map``; no ``timeout``).

        Items go to the workers :func:`chunk_size` at a time unless ``chunksize`` says.
        """
        lists = [list(it) for it in iterables]
        items = min((len(x) for x in lists), default=0)
        calls = list(zip(*lists, strict=False))
        with self._failures(starting=True):
            pool = self._start(items)
            size = chunksize if chunksize > 1 else chunk_size(items, self.workers)
            futures = [
                pool.submit(_call_each, fn, calls[i : i + size]) for i in range(0, len(calls), size)
            ]
        return self._results(futures)

    def _results(self, futures: list[Future[list[Any]]]) -> Iterator[Any]:
        try:
            for future in futures:
                while not wait_for([future], timeout=_POLL_S).done:
                    manager = getattr(self._pool, "_executor_manager_thread", None)
                    if manager is not None and not manager.is_alive():
                        raise self._failed(RuntimeError("its manager thread stopped"))
                with self._failures():
                    results = future.result()
                yield from results
        finally:
            for future in futures:
                future.cancel()

    @contextmanager
    def _failures(self, *, starting: bool = False) -> Iterator[None]:
        """The pool's own failures as one :class:`EngineError`; a task's own errors pass.

        While ``starting`` (workers, threads, pipes), any OSError or RuntimeError is the
        pool's; a result is the pool's failure only when a worker died or ran out of memory.
        """
        from concurrent.futures.process import BrokenProcessPool  # with the pool, not before

        try:
            yield
        except (BrokenProcessPool, MemoryError) as exc:
            raise self._failed(exc) from None
        except (RuntimeError, OSError) as exc:
            if not starting:
                raise
            raise self._failed(exc) from None

    def _failed(self, exc: BaseException) -> EngineError:
        """The one-line error for a pool that cannot go on; its workers are stopped."""
        from concurrent.futures.process import BrokenProcessPool

        cause = self._thread_errors[0] if self._thread_errors else exc
        reason = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        if isinstance(cause, MemoryError) or "thread" in reason:
            reason = f"{reason or 'MemoryError'}: out of memory? try fewer --jobs, or -j 1"
        elif isinstance(cause, BrokenProcessPool):
            reason = "a worker process died (killed for memory?); try fewer --jobs, or -j 1"
        for process in list((getattr(self._pool, "_processes", None) or {}).values()):
            with contextlib.suppress(Exception):
                process.kill()
        return EngineError(f"the local pool of {self.workers} worker processes failed ({reason})")

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)
        if self._excepthook is not None:
            threading.excepthook = self._excepthook
            self._excepthook = None


_POLL_S = 0.2  # how often map() checks, while it waits, that the pool can still answer


def chunk_size(items: int, workers: int) -> int:
    """Items per task: at least :data:`CHUNKS_PER_WORKER` chunks each, of :data:`MAX_CHUNK`
    items at most (1 for a few items, 4 for 200 runs on 2 workers)."""
    return max(1, min(MAX_CHUNK, items // (max(1, workers) * CHUNKS_PER_WORKER)))


def _call_each(fn: Callable[..., Any], calls: list[tuple[Any, ...]]) -> list[Any]:
    """``fn`` on each argument tuple of one chunk, in a worker."""
    return [fn(*args) for args in calls]


def _quiet_pool_threads(errors: list[BaseException]) -> Callable[[Any], Any]:
    """Keep the pool's own threads' failures for the one-line error, off stderr; returns the
    hook it replaced."""
    previous = threading.excepthook

    def hook(args: Any) -> None:
        thread = args.thread
        module = type(thread).__module__ if thread is not None else ""
        name = thread.name if thread is not None else ""
        if module.startswith(("concurrent.futures", "multiprocessing")) or name.startswith(
            "QueueFeederThread"
        ):
            errors.append(args.exc_value)
            return
        previous(args)

    threading.excepthook = hook
    return previous


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
