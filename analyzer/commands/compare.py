"""``dlreport compare``: a candidate against a baseline, run by run, for a pull request."""

from __future__ import annotations

import sys

import click

from .common import (
    EXIT_FINDINGS,
    EXIT_OK,
    FORMATS,
    _check_logdir,
    _config_option,
    _emit,
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
@_overrides_options
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
    from ..compare import compare as compare_reports
    from ..pipeline import build_analysis
    from ..render import compare_renderer
    from ..render.safetext import visible
    from ..settings import load_settings, merged, parse_pairs
    from ..thresholds import Thresholds, with_overrides

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
