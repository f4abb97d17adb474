"""``dlreport tags``, ``export`` and ``thresholds``: the commands that list or dump what is
there (tags and roles, every scalar point, every threshold) rather than diagnose it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import click

from ..errors import DlreportError
from .common import (
    _check_logdir,
    _config_option,
    _prepare,
    _progress,
    _role_option,
    _select,
    _selection_options,
    _silence_stdout,
    _stdout,
    _tags_option,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..export_runs import FlatScalars
    from ..selection import Selection


@click.command()
@click.argument("logdirs", metavar="LOGDIR...", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Output as JSON (docs/tags-json.md).")
@_role_option
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
    from ..pipeline import read_runs, roles_by_run, selected_tags
    from ..render.tags import render_tags
    from ..settings import load_settings, merged, parse_pairs

    for logdir in logdirs:
        _check_logdir(logdir)
    select = _select(include, exclude, tag_pattern)
    with _progress("reading runs") as progress:
        # Counted, not read: tags needs points and steps, not values (a tenth of the memory).
        data = read_runs(logdirs, select, progress=progress, values=False)
    settings = merged(load_settings(logdirs[0], config), parse_pairs(roles, "role"), {})
    chosen = roles_by_run(data, settings.roles)  # on every tag, before --tags narrows the list
    _stdout(render_tags(selected_tags(data, select.tags), chosen, as_json=as_json))


@click.command()
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
    from ..errors import OutputError
    from ..render.export import export_scalars
    from ..render.safetext import visible

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
    from ..errors import InputError
    from ..export_runs import flat_scalars
    from ..render.safetext import visible
    from ..rungroups import plan_logdirs

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


@click.command("thresholds")
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

    from ..thresholds import describe_thresholds

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
