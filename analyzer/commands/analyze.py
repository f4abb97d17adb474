"""``dlreport analyze``: diagnose every run and write the report, then exit by ``--fail-on``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from ..engine import SCHEDULER_ENV, SCHEDULER_TIMEOUT
from .common import (
    EXIT_BUG,
    FORMATS,
    InputFailure,
    _check_logdir,
    _config_option,
    _emit,
    _kilobytes,
    _open,
    _open_option,
    _overrides_options,
    _prepare,
    _progress,
    _select,
    _selection_options,
    _short,
)


@click.command()
@click.argument("logdirs", metavar="LOGDIR...", nargs=-1, required=True)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="html",
    show_default=True,
    help="html: one self-contained page with charts; json: the published contract; "
    "md: GitHub Markdown for a PR comment or $GITHUB_STEP_SUMMARY.",
)
@click.option(
    "-o",
    "--output",
    default=None,
    help="File to write, or '-' for stdout. Default: dlreport.html for html, stdout for json/md. "
    "With html, a folder (ending in '/', or existing) gets index.html and one page per run.",
)
@_overrides_options
@click.option(
    "--fail-on",
    type=click.Choice(["info", "warning", "error"]),
    default=None,
    help="Exit 1 if any run's status is at or above this severity.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Runs analysed in parallel by a process pool [default: all cores; never more than "
    "the runs, nor 4 per core].",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help=f"A Dask scheduler (tcp://host:8786) to run the analysis on; also ${SCHEDULER_ENV}. "
    "Needs dlreport[dask].",
)
@click.option(
    "--scheduler-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=SCHEDULER_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="How long connecting to the --scheduler (and its handshake) may take.",
)
@_config_option
@_selection_options
@click.option(
    "--group-by",
    default="parent",
    show_default=True,
    metavar="parent|top|none|hparam:NAME",
    help="How runs are grouped into experiments; cross-run evidence compares runs within one: "
    "parent folder, top folder, all runs together, or the value of a hyperparameter.",
)
@_open_option
def analyze(
    logdirs: tuple[str, ...],
    fmt: str,
    output: str | None,
    roles: tuple[str, ...],
    thresholds: tuple[str, ...],
    fail_on: str | None,
    jobs: int | None,
    scheduler: str | None,
    scheduler_timeout: float,
    config: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    group_by: str,
    open_: bool,
) -> None:
    """Diagnose every run under each LOGDIR and write a report.

    With several LOGDIRs, each run's name starts with its LOGDIR. Runs are grouped into
    experiments (by parent folder): evidence across runs compares runs of one experiment.

    Roles (which tag is the training loss, the learning rate, ...) are inferred from the
    conventions of common writers; pin them with --role or a dlreport.toml beside the logs.

    \b
    Examples:
        dlreport analyze runs/                      # writes dlreport.html
        dlreport analyze runs/ -o report/           # report/index.html + a page per run
        dlreport analyze runs/ -f json -o report.json
        dlreport analyze runs/ -f md >> "$GITHUB_STEP_SUMMARY"
        dlreport analyze runs/ --role train_loss=my/loss --fail-on error
        dlreport analyze runs/a runs/b --include 'lr*' --exclude '*debug*' --open
    """
    from ..engine import executor_for, max_jobs
    from ..pipeline import build_analysis, now
    from ..render import renderer
    from ..render.safetext import visible
    from ..selection import check_group_by
    from ..settings import load_settings, merged, parse_pairs

    fmt = "md" if fmt == "markdown" else fmt
    select = _select(include, exclude)
    check_group_by(group_by)
    folder = output is not None and _is_folder(output)
    if folder and fmt != "html":
        raise InputFailure(f"-o {visible(output)}: a folder is written for -f html only")
    for logdir in logdirs:
        _check_logdir(logdir)
    settings = merged(
        load_settings(logdirs[0], config),
        parse_pairs(roles, "role"),
        parse_pairs(thresholds, "threshold"),
    )
    if jobs is not None and jobs > max_jobs() and not scheduler:
        click.echo(f"note: --jobs {jobs} capped at {max_jobs()} (4 per core)", err=True)
    if output not in (None, "-") and not folder:
        _prepare(output)  # before the work: a path that cannot be written fails in a second
    generated_at = now()
    # Each run is read, diagnosed and (for HTML) charted in a worker, which sends back only its
    # report and charts (or, for a folder, its whole page): memory is bounded by the runs in
    # flight.
    with (
        executor_for(jobs, scheduler, timeout=scheduler_timeout) as executor,
        _progress("analysing runs") as progress,
    ):

        def run_analysis(per_run: Any, receive: Any = None) -> Any:
            return build_analysis(
                logdirs,
                settings,
                select=select,
                group_by=group_by,
                generated_at=generated_at,
                keep_runs=False,
                per_run=per_run,
                receive=receive,
                executor=executor,
                progress=progress,
            )

        if folder:
            from ..render.site import write_site

            assert output is not None
            analysis, site = write_site(Path(output), run_analysis, generated_at=generated_at)
        else:
            plots = None
            if fmt == "html":
                from ..render.html import run_plots

                plots = run_plots
            analysis = run_analysis(plots)
    for problem in analysis.problems:
        click.echo(f"warning: {visible(problem)}", err=True)
    if folder:
        click.echo(
            f"wrote {site.index} and {len(site.pages)} run page"
            f"{'' if len(site.pages) == 1 else 's'} ({_kilobytes(site.bytes)})",
            err=True,
        )
        if open_:
            _open(site.index)
        _exit_for(analysis.report, fail_on)
    text = renderer(fmt)(analysis.report, analysis.extras)
    if output is None:
        output = "dlreport.html" if fmt == "html" else "-"
    size = _emit(output, text)
    if size is not None:
        click.echo(f"wrote {visible(output)} ({_kilobytes(size)})", err=True)
        if open_:
            _open(output)
    runs = len(analysis.report.runs)
    if fmt == "html" and runs > LARGE_REPORT_RUNS:
        click.echo(
            f"note: {runs} runs in one page is slow to open; '-o DIR/' writes an index and "
            "one page per run instead",
            err=True,
        )
    _exit_for(analysis.report, fail_on)


def _exit_for(report: Any, fail_on: str | None) -> None:
    """Exit 3 when a diagnostic crashed, 1 when a run reached ``--fail-on`` (saying on stderr
    which runs and findings did: a CI log must show why the job failed), else 0."""
    from ..model import at_least, exit_code
    from ..render.safetext import visible

    crashed = [(r.run, e) for r in report.runs for e in r.errors]
    if crashed:
        # A diagnostic that raised is a bug, and its check is missing from the report: never a
        # silent pass (issue #12: a crash in loss_spikes still exited 0).
        run, error = crashed[0]
        click.echo(
            f"internal error: {len(crashed)} diagnostic(s) crashed (first: run "
            f"{visible(_short(run))}: {visible(_short(error))}); the report was written "
            "without them. This is a bug in dlreport; please report it.",
            err=True,
        )
        sys.exit(EXIT_BUG)
    code = exit_code(report, fail_on)
    if code and fail_on is not None:
        failed = [r for r in report.runs if at_least(r.status, fail_on)]
        click.echo(
            f"--fail-on {fail_on}: {len(failed)} run{'' if len(failed) == 1 else 's'} "
            f"reached {fail_on}:",
            err=True,
        )
        for r in failed:
            for f in r.findings:
                if at_least(f.severity, fail_on):
                    click.echo(
                        f"  {visible(_short(r.run))}: {f.severity} {f.code}: "
                        f"{visible(_short(f.title))}",
                        err=True,
                    )
    sys.exit(code)


# Above this many runs a single page gets long and heavy (~150 KB of charts per run): the CLI
# suggests a folder instead.
LARGE_REPORT_RUNS = 30


def _is_folder(output: str) -> bool:
    """Whether ``-o`` names a folder: it ends in a separator, or is an existing directory."""
    return output != "-" and (output.endswith(("/", os.sep)) or Path(output).is_dir())
