"""The Python API: the pipeline and the renderers composed, for callers other than the CLI."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path

from .pipeline import Analysis, PerRun, build_analysis, now
from .render.site import PageHook, Site, write_site
from .settings import Settings


def build_site(
    logdir: str,
    out: Path,
    settings: Settings | None = None,
    *,
    generated_at: str | None = None,
    strict: bool = False,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Analysis, Site]:
    """Analyse ``logdir`` and write the report folder ``out``: an index and a page per run."""
    stamp = generated_at or now()

    def run_analysis(per_run: PerRun, receive: PageHook) -> Analysis:
        return build_analysis(
            logdir,
            settings,
            generated_at=stamp,
            strict=strict,
            keep_runs=False,
            per_run=per_run,
            executor=executor,
            progress=progress,
            receive=receive,
        )

    return write_site(out, run_analysis, generated_at=stamp)
