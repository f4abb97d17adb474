"""The pipeline: logdir -> runs -> roles -> diagnostics -> findings -> summary -> report.

Renderers take the :class:`~analyzer.model.Report` this builds; they compute nothing.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import partial

from . import __version__
from .advice import advise
from .crossrun import cite_in_advice, experiments
from .diagnostics import run_diagnostics
from .errors import ConfigError, InputError, RoleError
from .model import SCHEMA_VERSION, Report, Run, RunReport, sort_findings, worst
from .reader import Logdir, RunSource
from .roles import Roles, infer_roles
from .rungroups import (
    RunGroup,
    RunPlan,
    concat_frames,
    flat_runs,
    group_in_memory,
    plan_logdirs,
    plan_runs,
    prefixed_tags,
    read_plan,
    read_runs,
    selected_tags,
    split_sides,
)
from .selection import DEFAULT_GROUP_BY, Selection
from .settings import Settings
from .summary import summarize
from .thresholds import Thresholds, with_overrides

# Re-exported: every command plans and reads runs through the pipeline's names.
__all__ = [
    "Analysis",
    "RunGroup",
    "RunPlan",
    "build_analysis",
    "build_report",
    "flat_runs",
    "plan_logdirs",
    "plan_runs",
    "read_plan",
    "read_runs",
    "roles_by_run",
    "selected_tags",
    "split_sides",
]


#: The reproducible-builds variable (https://reproducible-builds.org/specs/source-date-epoch/):
#: where it is set, a report's ``generated_at`` is that time, so that two reports of the same
#: logs are byte-identical (diffable in a PR, cacheable, golden-testable).
SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"


def now() -> str:
    """The report's ``generated_at``: the current UTC time to the second, or ``$SOURCE_DATE_EPOCH``.

    The spec asks tools to refuse a malformed value rather than fall back to the clock, since a
    silently moving stamp is what the variable exists to prevent.
    """
    epoch = os.environ.get(SOURCE_DATE_EPOCH, "").strip()
    if not epoch:
        moment = datetime.now(timezone.utc)
    elif not epoch.isdigit():
        raise ConfigError(f"${SOURCE_DATE_EPOCH}: {epoch!r} is not a whole number of seconds")
    else:
        try:
            moment = datetime.fromtimestamp(int(epoch), timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise ConfigError(f"${SOURCE_DATE_EPOCH}: {epoch!r} is out of range") from None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_run(group: RunGroup, overrides: Mapping[str, str]) -> tuple[Run, Roles]:
    """The diagnostics' view of a run group, with its roles resolved."""
    scalars = concat_frames([prefixed_tags(r.scalars, p) for p, r in group.parts])
    histograms = concat_frames([prefixed_tags(r.histograms, p) for p, r in group.parts])
    points = scalars["tag"].value_counts().to_dict() if not scalars.empty else {}
    points = {k: v for k, v in points.items() if v}  # unused categories count 0
    hist_tags = tuple(histograms["tag"].unique()) if not histograms.empty else ()
    roles = infer_roles({str(k): int(v) for k, v in points.items()}, hist_tags, overrides)
    hparams: dict[str, float | str | bool] = {}
    notes: list[str] = list(group.notes)
    texts: dict[str, str] = {}
    for prefix, r in group.parts:
        hparams.update(r.hparams)
        if not r.texts.empty:  # the last text of each tag (Hugging Face's training arguments)
            last = r.texts.groupby("tag", sort=True, observed=True)["text"].last()
            for tag, text in last.items():
                texts[f"{prefix}/{tag}" if prefix else str(tag)] = str(text)
        notes += [
            f"restart in {posixpath.basename(x.file)}: step went back from {x.from_step} to "
            f"{x.to_step} ({x.tags} tags); the latest write of each step is kept"
            for x in r.restarts
        ]
        notes += [str(p) for p in r.problems]
    run = Run(
        name=group.name,
        scalars=scalars,
        histograms=histograms,
        roles=roles.tags,
        layer_tags=dict(roles.layers),
        hparams=hparams,
        notes=tuple(notes),
        texts=texts,
    )
    return run, roles


def roles_by_run(data: Logdir, overrides: Mapping[str, str]) -> dict[str, Roles]:
    """The roles each analysed run of ``data`` would use, with the reasons (for ``tags``).

    Chosen from the runs' tag lists (points per scalar tag, histogram tags), as
    :func:`make_run` chooses them from the frames: runs read with counted values have none.
    """
    plans = plan_runs([RunSource(r.name, r.path, r.files) for r in data.runs])
    chosen = {}
    for plan in plans:
        for group in split_sides(group_in_memory(plan, data)):
            points: dict[str, int] = {}
            histogram_tags: list[str] = []
            for prefix, run in group.parts:
                for info in run.tags:
                    tag = f"{prefix}/{info.tag}" if prefix else info.tag
                    if info.kind == "scalar":
                        points[tag] = info.points
                    elif info.kind == "histogram":
                        histogram_tags.append(tag)
            chosen[group.name] = infer_roles(points, tuple(histogram_tags), overrides)
    return chosen


def analyze_run(run: Run, thresholds: Thresholds, *, strict: bool = False) -> RunReport:
    """Diagnose one run and summarise it."""
    outcome = run_diagnostics(run, thresholds, strict=strict)
    findings = sort_findings(outcome.findings)
    return RunReport(
        run=run.name,
        status=worst(findings),
        roles=dict(run.roles),
        summary=summarize(run, thresholds),
        findings=findings,
        advice=advise(run, findings),
        layer_tags=dict(run.layer_tags),
        notes=run.notes + outcome.notes,
        errors=outcome.errors,
        hparams=dict(run.hparams),
    )


# A local process pool pays off only when the work is worth more than starting it: forking
# two workers from a parent holding pandas (and the HTML renderer), copying their pages
# on write and passing the reports back cost about 0.2-0.4 CPU-s, and 11 small runs take
# 0.2 CPU-s in all (the default -j was slower than -j 1 on them). The work is estimated from
# what is known before reading, measured on this project's benchmarks (bench_cli.py):
# about 20 ms per run, 11 ms per MB of event files, and 50 ms per run's charts or page. The
# last is the CPU-s of `analyze sample_logs -f html -j 1` less `-f json -j 1`, per run (46-50
# ms, 3x5 runs, when charts became SVG; 180 ms when matplotlib drew them). It averages in the
# page's fixed cost (jinja2 and the templates, ~40 ms) and matplotlib's import for the run
# with histograms (~0.3 s): 40 runs of 4 scalar tags each cost 11 ms more per run, not 50.
POOL_MIN_WORK_S = 1.0
WORK_PER_RUN_S = 0.02
WORK_PER_MB_S = 0.011
WORK_PER_CHARTED_RUN_S = 0.05


def _is_cluster(executor: Executor) -> bool:
    """Whether ``executor`` is Dask's (``--scheduler``) rather than a local process pool."""
    return type(executor).__module__.split(".")[0] == "distributed"


def worth_a_pool(plans: Sequence[RunPlan], *, charts: bool) -> bool:
    """Whether ``plans`` hold enough work for a local process pool (see POOL_MIN_WORK_S).

    Sizes are known for local files only; remote runs count by number alone.
    """
    if len(plans) < 2:
        return False
    size = 0
    for plan in plans:
        for _, source in plan.parts:
            for path in source.files:
                if "://" not in path:
                    with contextlib.suppress(OSError):  # an unreadable file is told later
                        size += os.path.getsize(path)
    per_run = WORK_PER_RUN_S + (WORK_PER_CHARTED_RUN_S if charts else 0.0)
    return len(plans) * per_run + size / 1e6 * WORK_PER_MB_S >= POOL_MIN_WORK_S


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What a worker sends back for one run: small, whatever the size of the run's logs."""

    report: RunReport
    records: int
    problems: tuple[str, ...]
    run: Run | None = None  # only when the caller keeps the data (single-page HTML plots)
    extra: object = None  # what the caller's per-run hook returned (e.g. a rendered page)


PerRun = Callable[[RunReport, Run], object]


def analyze_plan(
    plan: RunPlan,
    settings: Settings,
    thresholds: Thresholds,
    *,
    read: Callable[[RunPlan], RunGroup] = read_plan,
    strict: bool = False,
    keep_run: bool = False,
    per_run: PerRun | None = None,
) -> tuple[RunOutcome, ...]:
    """Read, diagnose and summarise one run (the unit of work of every executor); a side
    folder kept apart (:func:`split_sides`) comes back as a run of its own."""
    outcomes = []
    for group in split_sides(read(plan)):
        run, _ = make_run(group, settings.roles)
        report = analyze_run(run, thresholds, strict=strict)
        outcomes.append(
            RunOutcome(
                report=report,
                records=sum(r.records for _, r in group.parts),
                problems=tuple(str(p) for _, r in group.parts for p in r.problems),
                run=run if keep_run else None,
                extra=per_run(report, run) if per_run is not None else None,
            )
        )
    return tuple(outcomes)


@dataclass(frozen=True, slots=True)
class Analysis:
    """A report, and what the caller asked to keep of each run."""

    report: Report
    runs: Mapping[str, Run]  # empty unless keep_runs
    extras: Mapping[str, object]  # per-run hook results, by run name
    problems: tuple[str, ...]  # one line per file problem, for stderr


def build_analysis(
    logdir: str | Sequence[str] | Logdir,
    settings: Settings | None = None,
    *,
    select: Selection | None = None,
    group_by: str = DEFAULT_GROUP_BY,
    generated_at: str | None = None,
    strict: bool = False,
    check_crc: bool = True,
    keep_runs: bool = True,
    per_run: PerRun | None = None,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
    receive: Callable[[RunReport, object], object] | None = None,
) -> Analysis:
    """Read ``logdir`` and diagnose every run in it.

    Runs are independent: with an ``executor`` (a process pool, or Dask's through
    ``Client.get_executor()``) each is read and diagnosed in a worker, which sends back only
    its small :class:`RunOutcome`, so memory is bounded by the runs in flight. ``progress``
    is called with (runs done, runs in all).

    ``receive`` is called in this process with each run's report (before cross-run advice) and
    what ``per_run`` returned, as each run comes back; what it returns is kept in ``extras``
    instead. A run's rendered page can so be written to disk as soon as it arrives, and only
    its file name kept.
    """
    settings = settings or Settings()
    thresholds = with_overrides(Thresholds(), settings.thresholds)
    read: Callable[[RunPlan], RunGroup]
    if isinstance(logdir, Logdir):  # already read: group the runs in memory
        plans = plan_runs([RunSource(r.name, r.path, r.files) for r in logdir.runs])
        if select is not None:
            plans = [p for p in plans if select.wants(p.name)]
        read, executor = partial(group_in_memory, data=logdir), None
        where = logdir.root
    else:
        plans = plan_logdirs(logdir, select)
        read = partial(read_plan, check_crc=check_crc)
        where = logdir if isinstance(logdir, str) else ", ".join(logdir)
    task = partial(
        analyze_plan,
        settings=settings,
        thresholds=thresholds,
        read=read,
        strict=strict,
        keep_run=keep_runs,
        per_run=per_run,
    )
    # A cluster the user named always gets the work; a local pool only when it pays off.
    use_pool = executor is not None and (
        _is_cluster(executor) or worth_a_pool(plans, charts=per_run is not None)
    )
    outcomes_iter = (executor.map if use_pool else map)(task, plans)  # type: ignore[union-attr]
    outcomes: list[RunOutcome] = []
    for done, plan_outcomes in enumerate(outcomes_iter, start=1):
        for outcome in plan_outcomes:
            if receive is not None and outcome.extra is not None:
                outcome = replace(outcome, extra=receive(outcome.report, outcome.extra))
            outcomes.append(outcome)
        if progress is not None:
            progress(done, len(plans))
    if not any(o.records for o in outcomes):
        reasons = "; ".join(o.problems[0] for o in outcomes if o.problems)
        raise InputError(f"{where}: no readable event file ({reasons or 'no records'})")
    pinned_found = {
        role
        for o in outcomes
        for role, tag in settings.roles.items()
        if o.report.roles.get(role) == tag
    }
    missing = sorted(set(settings.roles) - pinned_found)
    if missing:
        pins = ", ".join(f"{r}={settings.roles[r]}" for r in missing)
        raise RoleError(f"pinned role(s) {pins}: no run has such a scalar tag")
    run_reports = [o.report for o in outcomes]
    # Evidence across runs is drawn within an experiment only (a sweep, not unrelated runs).
    found = experiments(run_reports, group_by, thresholds)
    by_name = {run: e for e in found for run in e.members}
    report = Report(
        schema_version=SCHEMA_VERSION,
        tool_version=__version__,
        generated_at=generated_at or now(),
        runs=tuple(cite_in_advice(r, by_name.get(r.run), thresholds) for r in run_reports),
        cross_run=found[0] if len(found) == 1 else None,
        experiments=tuple(found),
    )
    return Analysis(
        report=report,
        runs={o.report.run: o.run for o in outcomes if o.run is not None},
        extras={o.report.run: o.extra for o in outcomes if o.extra is not None},
        problems=tuple(p for o in outcomes for p in o.problems),
    )


def build_report(
    logdir: str | Sequence[str] | Logdir,
    settings: Settings | None = None,
    *,
    generated_at: str | None = None,
    strict: bool = False,
) -> Report:
    """Read ``logdir`` and diagnose every run in it: the report alone."""
    return build_analysis(
        logdir, settings, generated_at=generated_at, strict=strict, keep_runs=False
    ).report
