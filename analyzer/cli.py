"""The command line: parse options, call the library, write, exit.

Exit codes: 0 success, 1 findings at or above ``--fail-on`` (analyze), 2 unusable input or a
usage error (any :class:`~analyzer.errors.DlreportError`, told in one line), 3 a bug in dlreport
(with the traceback under ``--debug``). Data goes to stdout, messages to stderr.

Only click is imported here at start-up: each command imports what it needs when it runs, so
``dlreport --help`` does not pay for pandas, matplotlib or the reader.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import __version__
from .engine import SCHEDULER_ENV
from .errors import DlreportError

if TYPE_CHECKING:  # pragma: no cover
    from .reader import Logdir

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}
EXIT_OK, EXIT_FINDINGS, EXIT_INPUT, EXIT_BUG = 0, 1, 2, 3
FORMATS = ("html", "json", "md", "markdown")  # "markdown" is another name for "md"


class InputFailure(click.ClickException):
    """Bad input: a one-line message and exit code 2."""

    exit_code = EXIT_INPUT


class _Group(click.Group):
    """Turns a :class:`DlreportError` into one line and exit 2, anything else into exit 3."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DlreportError as exc:
            raise InputFailure(str(exc)) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as exc:  # a bug: say so, and keep the traceback for --debug
            if ctx.obj and ctx.obj.get("debug"):
                import traceback  # only here: it costs 25 ms of every start-up

                traceback.print_exc()
            else:
                click.echo(
                    f"internal error: {type(exc).__name__}: {exc}. This is a bug in dlreport; "
                    "please report it with the output of --debug.",
                    err=True,
                )
            ctx.exit(EXIT_BUG)


@click.group(cls=_Group, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, package_name="dlreport")
@click.option("--debug", is_flag=True, envvar="DLREPORT_DEBUG", help="Show tracebacks of bugs.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Diagnose deep-learning training runs from TensorBoard event files."""
    ctx.obj = {"debug": debug}


def _read(logdir: str) -> Logdir:
    from .reader import read_logdir

    return read_logdir(logdir)


def _warn_problems(data: Logdir) -> None:
    from .render.safetext import visible

    for run in data.runs:
        for problem in run.problems:
            click.echo(f"warning: {visible(problem)}", err=True)


@cli.command()
@click.argument("logdir")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--role", "roles", multiple=True, metavar="ROLE=TAG", help="Pin a tag to a role.")
def tags(logdir: str, as_json: bool, roles: tuple[str, ...]) -> None:
    """List the runs and tags under LOGDIR: kind, points, steps, problems, and roles.

    The roles section says which tag dlreport takes for the training loss, learning rate, ...
    of each analysed run, and why (the writer convention it recognised).

    LOGDIR is a directory (every folder holding *tfevents* files is a run), one event file,
    or an fsspec URL such as s3://bucket/logs.

    \b
    Example:
        dlreport tags runs/
    """
    from .pipeline import roles_by_run
    from .render.tags import render_tags
    from .settings import load_settings, merged, parse_pairs

    data = _read(logdir)
    settings = merged(load_settings(logdir), parse_pairs(roles, "role"), {})
    chosen = roles_by_run(data, settings.roles)
    click.echo(render_tags(data, chosen, as_json=as_json), nl=False)


@cli.command()
@click.argument("logdir")
@click.option(
    "-o",
    "--output",
    required=True,
    help="File to write: .csv, .parquet (needs pyarrow), or '-' for CSV on stdout.",
)
def export(logdir: str, output: str) -> None:
    """Export every scalar point of every run under LOGDIR as one tidy table.

    Columns: run, tag, step, wall_time, value (after restarts are resolved: the latest write
    of each step wins).

    \b
    Example:
        dlreport export runs/ -o scalars.parquet
    """
    from .render.export import export_scalars

    data = _read(logdir)
    _warn_problems(data)
    rows = export_scalars(data, output, stdout=sys.stdout)
    if output != "-":
        click.echo(f"wrote {rows} points to {output}", err=True)


@cli.command()
@click.argument("logdir")
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
@click.option("--role", "roles", multiple=True, metavar="ROLE=TAG", help="Pin a tag to a role.")
@click.option(
    "--threshold", "thresholds", multiple=True, metavar="NAME=VALUE", help="Override a threshold."
)
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
    help="Runs analysed in parallel by a process pool [default: all cores].",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help=f"A Dask scheduler (tcp://host:8786) to run the analysis on; also ${SCHEDULER_ENV}. "
    "Needs dlreport[dask].",
)
def analyze(
    logdir: str,
    fmt: str,
    output: str | None,
    roles: tuple[str, ...],
    thresholds: tuple[str, ...],
    fail_on: str | None,
    jobs: int | None,
    scheduler: str | None,
) -> None:
    """Diagnose every run under LOGDIR and write a report.

    Roles (which tag is the training loss, the learning rate, ...) are inferred from the
    conventions of common writers; pin them with --role or a dlreport.toml beside the logs.

    \b
    Examples:
        dlreport analyze runs/                      # writes dlreport.html
        dlreport analyze runs/ -o report/           # report/index.html + a page per run
        dlreport analyze runs/ -f json -o report.json
        dlreport analyze runs/ -f md >> "$GITHUB_STEP_SUMMARY"
        dlreport analyze runs/ --role train_loss=my/loss --fail-on error
    """
    from .engine import executor_for
    from .model import exit_code
    from .pipeline import build_analysis, now
    from .render import renderer
    from .render.safetext import visible
    from .settings import load_settings, merged, parse_pairs

    fmt = "md" if fmt == "markdown" else fmt
    folder = output is not None and _is_folder(output)
    if folder and fmt != "html":
        raise InputFailure(f"-o {output}: a folder is written for -f html only")
    settings = merged(
        load_settings(logdir),
        parse_pairs(roles, "role"),
        parse_pairs(thresholds, "threshold"),
    )
    generated_at = now()
    # Each run is read, diagnosed and (for HTML) charted in a worker, which sends back only its
    # report and charts (or, for a folder, its whole page): memory is bounded by the runs in
    # flight.
    with executor_for(jobs, scheduler) as executor:

        def run_analysis(per_run: Any, receive: Any = None) -> Any:
            return build_analysis(
                logdir,
                settings,
                generated_at=generated_at,
                keep_runs=False,
                per_run=per_run,
                receive=receive,
                executor=executor,
                progress=_progress_bar(),
            )

        if folder:
            from .render.site import write_site

            assert output is not None
            analysis, site = write_site(Path(output), run_analysis, generated_at=generated_at)
        else:
            plots = None
            if fmt == "html":
                from .render.html import run_plots

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
        sys.exit(exit_code(analysis.report, fail_on))
    text = renderer(fmt)(analysis.report, analysis.extras)
    if output is None:
        output = "dlreport.html" if fmt == "html" else "-"
    if output == "-":
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")
        size = len(text.encode("utf-8"))
        click.echo(f"wrote {output} ({_kilobytes(size)})", err=True)
    runs = len(analysis.report.runs)
    if fmt == "html" and runs > LARGE_REPORT_RUNS:
        click.echo(
            f"note: {runs} runs in one page is slow to open; '-o DIR/' writes an index and "
            "one page per run instead",
            err=True,
        )
    sys.exit(exit_code(analysis.report, fail_on))


# Above this many runs a single page gets long and heavy (~150 KB of charts per run): the CLI
# suggests a folder instead.
LARGE_REPORT_RUNS = 30


def _is_folder(output: str) -> bool:
    """Whether ``-o`` names a folder: it ends in a separator, or is an existing directory."""
    return output != "-" and (output.endswith(("/", os.sep)) or Path(output).is_dir())


def _progress_bar() -> Callable[[int, int], None] | None:
    """A progress bar on stderr when it is a terminal (and the work takes a while)."""
    if not sys.stderr.isatty():
        return None
    started = time.monotonic()
    bar: list[Any] = []

    def update(done: int, total: int) -> None:
        if not bar and time.monotonic() - started > 1.0 and done < total:
            bar.append(click.progressbar(length=total, label="analysing runs", file=sys.stderr))
            bar[0].__enter__()
            bar[0].update(done)
        elif bar:
            bar[0].update(1)
        if bar and done == total:
            bar[0].__exit__(None, None, None)

    return update


def _kilobytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{max(1, round(size / 1e3))} KB"


@cli.command()
@click.argument("baseline")
@click.argument("candidate")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="md",
    show_default=True,
    help="json: docs/compare-json.md; md: GitHub Markdown for the pull request; html: one "
    "self-contained page with the curves of both sides overlaid.",
)
@click.option(
    "-o",
    "--output",
    default=None,
    help="File to write, or '-'. Default: dlreport-compare.html for html, stdout for json/md.",
)
@click.option("--role", "roles", multiple=True, metavar="ROLE=TAG", help="Pin a tag to a role.")
@click.option(
    "--fail-on",
    type=click.Choice(["regression"]),
    default=None,
    help="Exit 1 if the candidate regressed.",
)
def compare(
    baseline: str,
    candidate: str,
    fmt: str,
    output: str | None,
    roles: tuple[str, ...],
    fail_on: str | None,
) -> None:
    """Compare a CANDIDATE run (or tree of runs) against a BASELINE, run by run.

    Runs are matched by name; two single-run directories are matched to each other. The
    verdict (improved, regressed, same within noise) is on the best validation loss, else the
    best training loss; new error findings count as a regression.

    \b
    Examples:
        dlreport compare runs/main runs/my-branch --fail-on regression
        dlreport compare runs/main runs/my-branch -f html   # dlreport-compare.html
    """
    from .compare import compare as compare_reports
    from .pipeline import build_analysis
    from .render import compare_renderer
    from .render.safetext import visible
    from .settings import load_settings, merged, parse_pairs

    fmt = "md" if fmt == "markdown" else fmt
    pins = parse_pairs(roles, "role")
    # The page overlays the baseline's curves too: keep its runs' data for html.
    base = build_analysis(
        baseline, merged(load_settings(baseline), pins, {}), keep_runs=fmt == "html"
    )
    cand = build_analysis(candidate, merged(load_settings(candidate), pins, {}))
    result = compare_reports(
        base.report,
        cand.report,
        cand.runs,
        baseline_name=baseline,
        candidate_name=candidate,
    )
    for problem in base.problems + cand.problems:
        click.echo(f"warning: {visible(problem)}", err=True)
    text = compare_renderer(fmt)(result, base.runs, cand.runs)
    if output is None:
        output = "dlreport-compare.html" if fmt == "html" else "-"
    if output == "-":
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    sys.exit(EXIT_FINDINGS if fail_on == "regression" and result.verdict == "regressed" else 0)


def main() -> None:
    """Entry point for ``python -m analyzer``."""
    cli(prog_name="dlreport")


if __name__ == "__main__":  # pragma: no cover
    main()
