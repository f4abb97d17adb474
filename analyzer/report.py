"""The pipeline: logdir -> runs -> roles -> diagnostics -> findings -> summary -> report.

Renderers take the :class:`~analyzer.model.Report` this builds; they compute nothing.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd
from pandas.api.types import union_categoricals

from . import __version__
from .advice import advise
from .config import Settings
from .diagnostics import run_diagnostics
from .jsonreport import SCHEMA_VERSION
from .model import Report, Run, RunReport, sort_findings, worst
from .reader import Logdir, RunData, read_logdir
from .roles import SIDE_FOLDERS, RoleError, Roles, infer_roles
from .summary import summarize
from .thresholds import Thresholds, with_overrides


@dataclass(frozen=True, slots=True)
class RunGroup:
    """One analysed run: one reader run, or several merged (Keras ``train/``+``validation/``).

    ``parts`` pairs a tag prefix ("" for none) with the reader's run.
    """

    name: str
    parts: tuple[tuple[str, RunData], ...]


def group_runs(runs: Sequence[RunData]) -> list[RunGroup]:
    """Merge Keras-style side folders into their parent run, as one run with two sides.

    ``X/train`` and ``X/validation`` (also ``val``, ``eval``) become run ``X`` with tags
    prefixed ``train/`` and ``validation/``; a run at ``X`` itself (hparams) joins them. A child
    run holding only hparams (older Hugging Face Trainer versions write them into a timestamped
    subfolder; tensorboardX's ``add_hparams`` adds one point per metric) lends them to its
    parent run.
    """
    by_name = {r.name: r for r in runs}
    sides: dict[str, list[tuple[str, RunData]]] = {}
    for r in runs:
        parent, leaf = posixpath.split(r.name) if r.name != "." else ("", ".")
        if leaf in SIDE_FOLDERS:
            sides.setdefault(parent or ".", []).append((SIDE_FOLDERS[leaf], r))
    merged_children = {r.name for parts in sides.values() for _, r in parts}
    groups: list[RunGroup] = []
    for r in runs:
        if r.name in merged_children:
            continue
        parts = [("", r)] if r.name not in sides else [("", r), *sides.pop(r.name)]
        groups.append(RunGroup(r.name, tuple(parts)))
    groups += [RunGroup(name, tuple(parts)) for name, parts in sides.items()]
    return sorted(_lend_hparams(groups, by_name), key=lambda g: g.name)


def _lend_hparams(groups: list[RunGroup], by_name: Mapping[str, RunData]) -> list[RunGroup]:
    names = {g.name for g in groups}
    out = []
    for g in groups:
        only = g.parts[0][1] if len(g.parts) == 1 else None
        parent = posixpath.dirname(g.name) or "."
        if (
            only is not None
            and only.hparams
            and only.histograms.empty
            # add_hparams writes its metrics as one point each next to the hparams
            and (only.scalars.empty or only.scalars["tag"].value_counts().max() <= 1)
            and g.name != "."
            and parent in names
        ):
            continue  # shown through the parent's hparams below
        out.append(g)
    kept = {g.name for g in out}
    lent: dict[str, dict[str, float | str | bool]] = {}
    for g in groups:
        if g.name not in kept:
            lent.setdefault(posixpath.dirname(g.name) or ".", {}).update(g.parts[0][1].hparams)
    return [
        RunGroup(g.name, g.parts) if g.name not in lent else _with_hparams(g, lent[g.name])
        for g in out
    ]


def _with_hparams(g: RunGroup, hparams: Mapping[str, float | str | bool]) -> RunGroup:
    prefix, first = g.parts[0]
    merged = {**hparams, **first.hparams}
    return RunGroup(g.name, ((prefix, _replace_hparams(first, merged)), *g.parts[1:]))


def _replace_hparams(r: RunData, hparams: Mapping[str, float | str | bool]) -> RunData:
    from dataclasses import replace

    return replace(r, hparams=dict(hparams))


def make_run(group: RunGroup, overrides: Mapping[str, str]) -> tuple[Run, Roles]:
    """The diagnostics' view of a run group, with its roles resolved."""
    scalars = _concat([_prefixed(r.scalars, p) for p, r in group.parts])
    histograms = _concat([_prefixed(r.histograms, p) for p, r in group.parts])
    points = scalars["tag"].value_counts().to_dict() if not scalars.empty else {}
    points = {k: v for k, v in points.items() if v}  # unused categories count 0
    hist_tags = tuple(histograms["tag"].unique()) if not histograms.empty else ()
    roles = infer_roles({str(k): int(v) for k, v in points.items()}, hist_tags, overrides)
    hparams: dict[str, float | str | bool] = {}
    notes: list[str] = []
    for _, r in group.parts:
        hparams.update(r.hparams)
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
    )
    return run, roles


def _prefixed(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """The frame with its tags as a categorical, prefixed ``prefix/`` (no copy of the rest)."""
    tags = frame["tag"]
    if not isinstance(tags.dtype, pd.CategoricalDtype):
        tags = tags.astype("category")
    if prefix:
        tags = tags.cat.rename_categories([f"{prefix}/{c}" for c in tags.cat.categories])
    return frame.assign(tag=tags)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(
            {
                "tag": pd.Categorical([]),
                "step": pd.Series(dtype="int64"),
                "wall_time": pd.Series(dtype=float),
                "value": pd.Series(dtype=float),
                "edges": pd.Series(dtype=object),
                "counts": pd.Series(dtype=object),
            }
        )
    if len(frames) == 1:
        return frames[0]
    tags = union_categoricals([f["tag"] for f in frames])
    out = pd.concat([f.drop(columns="tag") for f in frames], ignore_index=True)
    out.insert(0, "tag", tags)
    return out


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
        notes=run.notes,
        errors=outcome.errors,
    )


@dataclass(frozen=True, slots=True)
class Analysis:
    """A report and the runs it was made from (the HTML report plots their series)."""

    report: Report
    runs: Mapping[str, Run]


def build_analysis(
    logdir: str | Logdir,
    settings: Settings | None = None,
    *,
    generated_at: str | None = None,
    strict: bool = False,
) -> Analysis:
    """Read ``logdir`` and diagnose every run in it."""
    settings = settings or Settings()
    data = read_logdir(logdir) if isinstance(logdir, str) else logdir
    thresholds = with_overrides(Thresholds(), settings.thresholds)
    reports = []
    runs: dict[str, Run] = {}
    pinned_found: set[str] = set()
    for group in group_runs(data.runs):
        run, _ = make_run(group, settings.roles)
        pinned_found |= {r for r, tag in settings.roles.items() if run.roles.get(r) == tag}
        reports.append(analyze_run(run, thresholds, strict=strict))
        runs[run.name] = run
    missing = sorted(set(settings.roles) - pinned_found)
    if missing:
        pins = ", ".join(f"{r}={settings.roles[r]}" for r in missing)
        raise RoleError(f"pinned role(s) {pins}: no run has such a scalar tag")
    report = Report(
        schema_version=SCHEMA_VERSION,
        tool_version=__version__,
        generated_at=generated_at or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        runs=tuple(reports),
    )
    return Analysis(report=report, runs=runs)


def build_report(
    logdir: str | Logdir,
    settings: Settings | None = None,
    *,
    generated_at: str | None = None,
    strict: bool = False,
) -> Report:
    """Read ``logdir`` and diagnose every run in it: the report alone."""
    return build_analysis(logdir, settings, generated_at=generated_at, strict=strict).report
