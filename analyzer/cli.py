"""The command line: parse options, call the library, write, exit.

Exit codes: 0 success, 1 findings at or above ``--fail-on`` (analyze), 2 unusable input or a
usage error (any :class:`~analyzer.errors.DlreportError`, told in one line), 3 a bug in dlreport
(with the traceback under ``--debug``). Data goes to stdout, messages to stderr.

Every output path is checked the same way: missing parent folders are created, and any other
failure to write (a read-only folder, a full disk, a folder where a file is asked) is one line
naming the path, exit 2. A closed stdout (``dlreport export -o - | head -1``) is a normal end:
exit 0, no message.

Only click is imported here at start-up: each command imports what it needs when it runs, so
``dlreport --help`` does not pay for pandas, matplotlib or the reader.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import __version__
from .engine import SCHEDULER_ENV, SCHEDULER_TIMEOUT
from .errors import DlreportError

if TYPE_CHECKING:  # pragma: no cover
    from .export_runs import FlatScalars
    from .selection import Selection

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
            from .render.safetext import visible

            raise InputFailure(visible(exc)) from None  # one line, whatever a name holds
        except BrokenPipeError:  # the reader of stdout is gone (| head): a normal end
            _silence_stdout()
            ctx.exit(EXIT_OK)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as exc:
            if _out_of_memory(exc):  # the environment's limit (ulimit -v, a container's)
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise InputFailure(
                    f"out of memory ({reason}); fewer runs or --jobs may fit"
                ) from None
            if _from_storage(exc):
                from .render.safetext import visible

                # No credentials, no network, a bucket that is not there: the user's
                # environment, not a bug in dlreport.
                if ctx.obj and ctx.obj.get("debug"):
                    import traceback

                    traceback.print_exc()
                reason = str(exc).splitlines()[0] if str(exc) else ""
                raise InputFailure(
                    visible(f"cannot read from storage: {type(exc).__name__}: {reason}")
                ) from None
            # a bug: say so, and keep the traceback for --debug
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


# Packages that reach remote storage for fsspec: their errors (credentials, network, missing
# buckets) come from the user's environment, not from dlreport.
_STORAGE_MODULES = ("botocore", "aiobotocore", "s3fs", "gcsfs", "google", "aiohttp", "requests")


def _out_of_memory(exc: BaseException) -> bool:
    """A MemoryError, or a library that could not be mapped into memory (under ``ulimit -v``,
    loading a shared library fails with "failed to map segment")."""
    return isinstance(exc, MemoryError) or (
        isinstance(exc, ImportError) and "failed to map segment" in str(exc)
    )


def _from_storage(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return module.split(".")[0] in _STORAGE_MODULES


@click.group(cls=_Group, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, package_name="dlreport")
@click.option("--debug", is_flag=True, envvar="DLREPORT_DEBUG", help="Show tracebacks of bugs.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Diagnose deep-learning training runs from TensorBoard event files."""
    from .arrowless import install

    install()  # pandas without pyarrow: 0.2 CPU-s less for commands that never use it
    ctx.obj = {"debug": debug}


F = Callable[..., Any]


def _selection_options(func: F) -> F:
    """--include / --exclude: which runs, by name (the same in every command)."""
    func = click.option(
        "--exclude",
        multiple=True,
        metavar="GLOB",
        help="Leave out the runs whose name matches (repeatable).",
    )(func)
    return click.option(
        "--include",
        multiple=True,
        metavar="GLOB",
        help="Only the runs whose name matches, e.g. 'sweep/*' or 'lr*' (a pattern without '/' "
        "also matches the name's last part; repeatable).",
    )(func)


def _tags_option(func: F) -> F:
    return click.option(
        "--tags",
        "tag_pattern",
        default=None,
        metavar="REGEX",
        help="Only the tags this regular expression finds (re.search), e.g. 'loss|lr'.",
    )(func)


def _open_option(func: F) -> F:
    return click.option(
        "--open", "open_", is_flag=True, help="Open the written report in the default browser."
    )(func)


def _select(
    include: tuple[str, ...], exclude: tuple[str, ...], tags: str | None = None
) -> Selection:
    from .selection import Selection

    return Selection(include=include, exclude=exclude, tags=tags)


def _open(path: str | Path) -> None:
    """Show a written report in the default browser (``--open``)."""
    import webbrowser

    webbrowser.open(Path(path).resolve().as_uri())


def _runs_one_by_one(
    logdirs: tuple[str, ...],
    select: Selection,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[FlatScalars]:
    """Each selected run's scalars, named as ``analyze`` names it and read when asked for (one
    run in memory at a time, handed out a tag at a time), its problems told on stderr as it
    is handed on, its tags narrowed by ``--tags``. As :func:`~analyzer.reader.read_logdir`:
    when no file at all can be read, one error line and nothing else (unreadable runs are
    held back until a readable one shows up)."""
    from .errors import InputError
    from .export_runs import flat_scalars
    from .render.safetext import visible
    from .rungroups import plan_logdirs

    plans = plan_logdirs(logdirs, select)
    held: list[FlatScalars] = []
    readable = False
    for i, plan in enumerate(plans, start=1):
        runs = flat_scalars(plan, select.tags)
        if progress is not None:
            progress(i, len(plans))
        held.extend(runs)
        if not any(run.readable for run in runs) and not readable:
            continue
        readable = True
        for ready in held:
            for problem in ready.problems:
                click.echo(f"warning: {visible(problem)}", err=True)
            yield ready
        held.clear()
    if not readable:
        reasons = "; ".join(str(p) for run in held for p in run.problems[:1])
        raise InputError(f"{', '.join(logdirs)}: no readable event file ({reasons})")


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush of what is still
    buffered cannot fail again at exit (Python's recipe for SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests): nothing buffered
        pass


def _stdout(text: str) -> None:
    """Write ``text`` to stdout; a failure is one line (exit 2), a closed pipe a normal end."""
    from .errors import OutputError
    from .render.safetext import encodable

    try:
        click.echo(encodable(text), nl=False)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        _silence_stdout()
        raise OutputError(f"stdout: cannot write ({exc.strerror or exc})") from None


def _prepare(output: str) -> Path:
    """``output`` as a path whose parent folders exist (created if missing)."""
    from .errors import OutputError
    from .render.safetext import visible

    path = Path(output)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{visible(output)}: cannot create its folder ({exc.strerror or exc})"
        ) from None
    if path.is_dir():
        raise OutputError(f"{visible(output)}: is a folder; name a file to write")
    return path


def _write_file(output: str, text: str) -> int:
    """Write ``text`` (UTF-8, names made encodable) to ``output``; returns the bytes written."""
    from .errors import OutputError
    from .render.safetext import encodable, visible

    data = encodable(text).encode("utf-8")
    path = _prepare(output)
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as exc:
        raise OutputError(f"{visible(output)}: cannot write ({exc.strerror or exc})") from None
    return len(data)


def _emit(output: str, text: str) -> int | None:
    """``text`` to ``output`` ('-' for stdout); the bytes written to a file, else None."""
    if output == "-":
        _stdout(text)
        return None
    return _write_file(output, text)


def _check_logdir(logdir: str) -> None:
    """A URL whose filesystem needs a package that is not installed: one line, exit 2."""
    from .errors import InputError
    from .render.safetext import visible

    protocol, sep, _ = logdir.partition("://")
    if not sep:
        return
    import fsspec

    try:
        fsspec.get_filesystem_class(protocol)
    except ValueError:
        raise InputError(f"{visible(logdir)}: unknown protocol {visible(protocol)}://") from None
    except ImportError:
        extra = _EXTRAS.get(protocol)
        hint = (
            f"install dlreport[{extra}]: pip install 'dlreport[{extra}]'"
            if extra
            else "install the fsspec implementation of that protocol"
        )
        raise InputError(
            f"{visible(logdir)}: reading {protocol}:// needs an optional package ({hint})"
        ) from None


# The optional dependencies (pyproject.toml) that bring each fsspec protocol.
_EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "http": "http", "https": "http"}


def _config_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--config",
        "config",
        default=None,
        metavar="FILE",
        help="Settings file to use (dlreport.toml or pyproject.toml) instead of looking for "
        "one in LOGDIR and the working directory and their parents.",
    )(func)


@cli.command()
@click.argument("logdirs", metavar="LOGDIR...", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Output as JSON (docs/tags-json.md).")
@click.option("--role", "roles", multiple=True, metavar="ROLE=TAG", help="Pin a tag to a role.")
@_config_option
@_selection_options
@_tags_option
def tags(
    logdirs: tuple[str, ...],
    as_json: bool,
    roles: tuple[str, ...],
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    tag_pattern: str | None,
    config: str | None,
) -> None:
    """List the runs and tags under LOGDIR: kind, points, steps, problems, and roles.

    The roles section says which tag dlreport takes for the training loss, learning rate, ...
    of each analysed run, and why (the writer convention it recognised). Runs are named as
    `analyze` names them.

    LOGDIR is a directory (every folder holding *tfevents* files is a run), one event file,
    or an fsspec URL such as s3://bucket/logs; with several, run names start with their LOGDIR.

    \b
    Example:
        dlreport tags runs/ --tags 'loss|lr'
    """
    from .pipeline import read_runs, roles_by_run, selected_tags
    from .render.tags import render_tags
    from .settings import load_settings, merged, parse_pairs

    for logdir in logdirs:
        _check_logdir(logdir)
    select = _select(include, exclude, tag_pattern)
    with _progress("reading runs") as progress:
        # Counted, not read: tags needs points and steps, not values (a tenth of the memory).
        data = read_runs(logdirs, select, progress=progress, values=False)
    settings = merged(load_settings(logdirs[0], config), parse_pairs(roles, "role"), {})
    chosen = roles_by_run(data, settings.roles)  # on every tag, before --tags narrows the list
    _stdout(render_tags(selected_tags(data, select.tags), chosen, as_json=as_json))


@cli.command()
@click.argument("logdirs", metavar="LOGDIR...", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    required=True,
    help="File to write: .csv, .parquet (needs pyarrow), or '-' for CSV on stdout.",
)
@_selection_options
@_tags_option
def export(
    logdirs: tuple[str, ...],
    output: str,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    tag_pattern: str | None,
) -> None:
    """Export every scalar point of every run under LOGDIR as one tidy table.

    Columns: run, tag, step, wall_time, value (after restarts are resolved: the latest write
    of each step wins). Runs are named as `analyze` names them.

    \b
    Example:
        dlreport export runs/ -o scalars.parquet --tags loss
    """
    from .errors import OutputError
    from .render.export import export_scalars
    from .render.safetext import visible

    for logdir in logdirs:
        _check_logdir(logdir)
    if output != "-":
        _prepare(output)
    select = _select(include, exclude, tag_pattern)
    try:
        with _progress("reading runs") as progress:
            runs = _runs_one_by_one(logdirs, select, progress)
            rows = export_scalars(runs, output, stdout=sys.stdout)
        if output == "-":
            sys.stdout.flush()
    except (BrokenPipeError, DlreportError):  # OutputError is an OSError too
        raise
    except OSError as exc:
        where = "stdout" if output == "-" else visible(output)
        if output == "-":
            _silence_stdout()
        raise OutputError(f"{where}: cannot write ({exc.strerror or exc})") from None
    if output != "-":
        click.echo(f"wrote {rows} points to {visible(output)}", err=True)


@cli.command()
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
    from .engine import executor_for, max_jobs
    from .pipeline import build_analysis, now
    from .render import renderer
    from .render.safetext import visible
    from .selection import check_group_by
    from .settings import load_settings, merged, parse_pairs

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
    from .model import at_least, exit_code
    from .render.safetext import visible

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


def _short(text: str, limit: int = 200) -> str:
    """A name cut for a log line (tag and run names can be megabytes long)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Above this many runs a single page gets long and heavy (~150 KB of charts per run): the CLI
# suggests a folder instead.
LARGE_REPORT_RUNS = 30


def _is_folder(output: str) -> bool:
    """Whether ``-o`` names a folder: it ends in a separator, or is an existing directory."""
    return output != "-" and (output.endswith(("/", os.sep)) or Path(output).is_dir())


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback (runs done, runs in all) drawing a bar on stderr.

    Only on a terminal, and only once the work has taken a second (a few runs need none). The
    bar is ``click.progressbar`` used as a context manager, closed when the block ends.
    """
    if not sys.stderr.isatty():
        yield None
        return
    started = time.monotonic()
    with ExitStack() as stack:
        bars: list[Any] = []

        def update(done: int, total: int) -> None:
            if not bars:
                if time.monotonic() - started <= 1.0 or done >= total:
                    return
                bars.append(
                    stack.enter_context(
                        click.progressbar(length=total, label=label, file=sys.stderr)
                    )
                )
            bars[0].update(done - bars[0].pos)

        yield update


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
    "--threshold", "thresholds", multiple=True, metavar="NAME=VALUE", help="Override a threshold."
)
@click.option(
    "--fail-on",
    type=click.Choice(["regression"]),
    default=None,
    help="Exit 1 if the candidate regressed.",
)
@_config_option
@_selection_options
@_open_option
def compare(
    baseline: str,
    candidate: str,
    fmt: str,
    output: str | None,
    roles: tuple[str, ...],
    thresholds: tuple[str, ...],
    fail_on: str | None,
    config: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    open_: bool,
) -> None:
    """Compare a CANDIDATE run (or tree of runs) against a BASELINE, run by run.

    Runs are matched by name; two single-run directories are matched to each other. The
    verdict (improved, regressed, same within noise) is on the best validation loss, else the
    best training loss; new error findings, and a loss that is NaN where the baseline's is
    finite, count as a regression. No run in common is an error (exit 2).

    \b
    Examples:
        dlreport compare runs/main runs/my-branch --fail-on regression
        dlreport compare runs/main runs/my-branch -f html   # dlreport-compare.html
    """
    from .compare import compare as compare_reports
    from .pipeline import build_analysis
    from .render import compare_renderer
    from .render.safetext import visible
    from .settings import Thresholds, load_settings, merged, parse_pairs, with_overrides

    fmt = "md" if fmt == "markdown" else fmt
    pins = parse_pairs(roles, "role")
    select = _select(include, exclude)
    overrides = parse_pairs(thresholds, "threshold")
    for side in (baseline, candidate):
        _check_logdir(side)
    if output is None:
        output = "dlreport-compare.html" if fmt == "html" else "-"
    if output != "-":
        _prepare(output)
    base_settings = merged(load_settings(baseline, config), pins, overrides)
    # The page overlays the baseline's curves too: keep its runs' data for html.
    with _progress("analysing the baseline") as progress:
        base = build_analysis(
            baseline,
            base_settings,
            select=select,
            keep_runs=fmt == "html",
            progress=progress,
        )
    with _progress("analysing the candidate") as progress:
        cand = build_analysis(
            candidate,
            merged(load_settings(candidate, config), pins, overrides),
            select=select,
            progress=progress,
        )
    result = compare_reports(
        base.report,
        cand.report,
        cand.runs,
        baseline_name=baseline,
        candidate_name=candidate,
        thresholds=with_overrides(Thresholds(), base_settings.thresholds),
    )
    for problem in base.problems + cand.problems:
        click.echo(f"warning: {visible(problem)}", err=True)
    text = compare_renderer(fmt)(result, base.runs, cand.runs)
    if _emit(output, text) is not None:
        click.echo(f"wrote {visible(output)}", err=True)
        if open_:
            _open(output)
    regressed = [r for r in result.runs if r.verdict == "regressed"]
    if fail_on == "regression" and result.verdict == "regressed":
        click.echo(f"--fail-on regression: {len(regressed)} run(s) regressed:", err=True)
        for r in regressed:
            why = ", ".join(r.new_findings) or r.outcome or "outcome"
            click.echo(f"  {visible(_short(r.run))}: {visible(why)}", err=True)
        sys.exit(EXIT_FINDINGS)
    sys.exit(EXIT_OK)


@cli.command("thresholds")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def thresholds_command(as_json: bool) -> None:
    """List every threshold: name, default, accepted range, and where the number comes from.

    Override one with --threshold NAME=VALUE or under [thresholds] in a dlreport.toml. The
    advice limits at the end are listed for reference and are not overridable.

    \b
    Example:
        dlreport thresholds
    """
    import json
    import textwrap

    from .settings import describe_thresholds

    rows = describe_thresholds()
    if as_json:
        _stdout(json.dumps(rows, indent=2) + "\n")
        return
    lines = []
    for row in rows:
        low, high = row["minimum"], row["maximum"]
        accepted = f">= {low:g}" if high is None else f"{low:g}..{high:g}"  # type: ignore[str-format]
        fixed = "" if row["overridable"] else "  (advice limit, fixed)"
        lines.append(f"{row['name']} = {row['default']}  [{row['type']}, {accepted}]{fixed}")
        lines += textwrap.wrap(
            str(row["source"]), 92, initial_indent="    ", subsequent_indent="    "
        )
    _stdout("\n".join(lines) + "\n")


def main() -> None:
    """Entry point for ``python -m analyzer``."""
    cli(prog_name="dlreport")


if __name__ == "__main__":  # pragma: no cover
    main()
