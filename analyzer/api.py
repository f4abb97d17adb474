"""The Python API: the pipeline and the renderers composed, for callers other than the CLI.

``analyze`` and ``read_scalars`` are what ``import dlreport`` offers (lazily re-exported by
``analyzer/__init__.py`` and the ``dlreport`` shim); ``build_site`` writes a report folder.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from os import PathLike, fspath
from pathlib import Path
from typing import Any

import pandas as pd

from . import model
from .engine import executor_for
from .errors import OutputError
from .pipeline import Analysis, PerRun, build_analysis, now, read_runs, selected_tags
from .reader import scalars_frame
from .render import renderer
from .render.site import PageHook, Site, write_site
from .selection import DEFAULT_GROUP_BY, Selection, check_group_by
from .settings import Settings, load_settings, merged


def build_site(
    logdir: str,
    out: Path,
    settings: Settings | None = None,
    *,
    generated_at: str | None = None,
    strict: bool = False,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
    group_by: str = DEFAULT_GROUP_BY,
) -> tuple[Analysis, Site]:
    """Analyse ``logdir`` and write the report folder ``out``: an index and a page per run."""
    stamp = generated_at or now()

    def run_analysis(per_run: PerRun, receive: PageHook) -> Analysis:
        return build_analysis(
            logdir,
            settings,
            generated_at=stamp,
            strict=strict,
            group_by=group_by,
            keep_runs=False,
            per_run=per_run,
            executor=executor,
            progress=progress,
            receive=receive,
        )

    return write_site(out, run_analysis, generated_at=stamp)


# ---------------------------------------------------------------------------------------------
# The library: ``import dlreport; report = dlreport.analyze("runs/")``


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One finding of one run, as a plain object (``Report.findings``)."""

    run: str
    code: str
    severity: str
    title: str
    steps: tuple[int, int] | None
    evidence: Mapping[str, float | int | str | None]


class Report:
    """A diagnosed set of runs: its findings, and the report in every format.

    ``data`` is the record the renderers take (:class:`analyzer.model.Report`); ``runs`` its
    per-run reports. The run data is kept so that :meth:`to_html` can draw the charts.
    """

    def __init__(
        self, data: model.Report, runs: Mapping[str, model.Run], problems: tuple[str, ...] = ()
    ) -> None:
        self.data = data
        self._runs = runs
        self.problems = problems  # one line per file problem the reader noticed

    @property
    def runs(self) -> tuple[model.RunReport, ...]:
        """Every run's report: status, roles, summary, findings, advice."""
        return self.data.runs

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding of every run, worst run first as in each run's report."""
        return tuple(
            Finding(
                run=r.run,
                code=f.code,
                severity=f.severity,
                title=f.title,
                steps=f.steps,
                evidence=dict(f.evidence),
            )
            for r in self.data.runs
            for f in r.findings
        )

    @property
    def status(self) -> str:
        """The worst status of any run: ok, info, warning or error."""
        return max((r.status for r in self.data.runs), key=model._RANK.__getitem__, default="ok")

    def exit_code(self, fail_on: str | None) -> int:
        """What ``--fail-on`` would exit with: 1 when a run reaches ``fail_on``, else 0."""
        return model.exit_code(self.data, fail_on)

    def to_dict(self) -> dict[str, Any]:
        """The JSON report as plain data (docs/report-json.md)."""
        from .render.json import to_dict

        return to_dict(self.data)

    def to_json(self, path: str | PathLike[str] | None = None) -> str:
        """The JSON report (docs/report.schema.json); written to ``path`` when given."""
        return _written(renderer("json")(self.data, None), path)

    def to_markdown(self, path: str | PathLike[str] | None = None) -> str:
        """The GitHub Markdown report; written to ``path`` when given."""
        return _written(renderer("md")(self.data, None), path)

    def to_html(self, path: str | PathLike[str] | None = None) -> str:
        """The self-contained HTML page, with charts; written to ``path`` when given."""
        return _written(renderer("html")(self.data, self._runs), path)

    def _repr_html_(self) -> str:
        """Jupyter shows the report in a frame (its own styles and strict CSP stay inside)."""
        return (
            '<iframe style="width:100%;height:640px;border:1px solid #ccc" '
            f'sandbox srcdoc="{html.escape(self.to_html(), quote=True)}"></iframe>'
        )

    def __repr__(self) -> str:
        counts = {s: sum(f.severity == s for f in self.findings) for s in ("error", "warning")}
        return (
            f"<dlreport.Report: {len(self.runs)} run{'s' if len(self.runs) != 1 else ''}, "
            f"status {self.status}, {counts['error']} error, {counts['warning']} warning>"
        )


def _written(text: str, path: str | PathLike[str] | None) -> str:
    if path is not None:
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return text


def _paths(path: str | PathLike[str] | Sequence[str | PathLike[str]]) -> list[str]:
    if isinstance(path, (str, PathLike)):
        return [fspath(path)]
    return [fspath(p) for p in path]


def analyze(
    path: str | PathLike[str] | Sequence[str | PathLike[str]],
    *,
    roles: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    group_by: str = DEFAULT_GROUP_BY,
    jobs: int | None = 1,
    strict: bool = False,
) -> Report:
    """Diagnose every run under ``path`` (one LOGDIR or several), as ``dlreport analyze`` does.

    ``roles`` pins tags to roles and ``thresholds`` overrides thresholds (over a
    ``dlreport.toml`` beside the logs); ``include``/``exclude`` are run-name globs and
    ``group_by`` groups runs into experiments (see ``dlreport analyze --help``). ``jobs``
    processes analyse runs in parallel (``None``: all cores). Raises
    :class:`~analyzer.errors.DlreportError` on unusable input.
    """
    roots = _paths(path)
    settings = merged(
        load_settings(roots[0]),
        dict(roles or {}),
        {k: str(v) for k, v in (thresholds or {}).items()},
    )
    check_group_by(group_by)
    with executor_for(jobs) as executor:
        analysis = build_analysis(
            roots,
            settings,
            select=Selection(include=tuple(include), exclude=tuple(exclude)),
            group_by=group_by,
            strict=strict,
            executor=executor,
            keep_runs=True,
        )
    return Report(analysis.report, analysis.runs, analysis.problems)


def read_scalars(
    path: str | PathLike[str] | Sequence[str | PathLike[str]],
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    tags: str | None = None,
) -> pd.DataFrame:
    """Every scalar point as the tidy frame ``dlreport export`` writes.

    Columns run, tag, step, wall_time, value; runs named as :func:`analyze` names them.
    """
    select = Selection(include=tuple(include), exclude=tuple(exclude), tags=tags)
    data = selected_tags(read_runs(_paths(path), select), select.tags)
    return scalars_frame(data)
