"""Where the per-run work runs: in this process, a process pool, or a Dask cluster.

Every engine is a ``concurrent.futures.Executor``, so the pipeline has one code path
(``executor.map(analyze_plan, plans)`` in :func:`analyzer.pipeline.build_analysis`): Dask's
``Client.get_executor()`` is one, so a cluster needs no code of ours beyond connecting.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager

from .errors import EngineError

SCHEDULER_ENV = "DLREPORT_SCHEDULER"


def default_jobs() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover  (not Linux)
        return os.cpu_count() or 1


@contextmanager
def executor_for(
    jobs: int | None = None, scheduler: str | None = None
) -> Iterator[Executor | None]:
    """The executor for ``jobs`` local processes, or the Dask scheduler at ``scheduler``.

    ``scheduler`` (or the ``DLREPORT_SCHEDULER`` environment variable) wins; ``jobs`` 1 means
    no executor (work in this process, which is also what a single run needs).
    """
    scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise EngineError(
                "a Dask scheduler was given but Dask is not installed "
                "(pip install 'dlreport[dask]')"
            ) from None
        try:
            client = Client(scheduler, timeout="5s")
        except (OSError, TimeoutError) as exc:
            raise EngineError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
        try:
            yield client.get_executor()
        finally:
            client.close()
        return
    jobs = default_jobs() if jobs is None else jobs
    if jobs <= 1:
        yield None
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield pool
