"""``dlreport tags``: what a logdir holds, as text for people or JSON for scripts."""

from __future__ import annotations

from collections.abc import Mapping

from ..reader import DuplicateSteps, Logdir, RunData, text_of_path
from ..roles import Roles
from .json import finite_values
from .safetext import NAME_LIMIT, shorten, strict_json, visible

_HPARAMS_SHOWN = 12  # HF Trainer logs ~100 arguments; --json has them all


def render_tags(
    data: Logdir, roles: Mapping[str, Roles] | None = None, *, as_json: bool = False
) -> str:
    """The runs, their tags and problems, and the roles chosen per analysed run, with why."""
    roles = roles or {}
    if as_json:
        out = {
            "runs": [_run_dict(run) for run in data.runs],
            "roles": {name: _roles_dict(r) for name, r in roles.items()},
        }
        return strict_json(out) + "\n"
    text = "".join(_run_text(run) for run in data.runs) + "".join(
        _roles_text(name, r) for name, r in roles.items()
    )
    return "\n".join(visible(line) for line in text.split("\n"))


def _roles_dict(roles: Roles) -> dict[str, object]:
    return {
        "roles": {c.role: {"tag": c.tag, "reason": c.reason} for c in roles.choices},
        "layers": {k: list(v) for k, v in roles.layers.items()},
    }


def _roles_text(name: str, roles: Roles) -> str:
    lines = [f"roles for run {name}:"]
    if not roles.choices:
        lines.append("  (none found: pin them with --role ROLE=TAG or a dlreport.toml)")
    width = max((len(c.role) for c in roles.choices), default=0)
    for c in roles.choices:
        lines.append(f"  {c.role:<{width}} <- {c.tag}   ({c.reason})")
    for family, tags in roles.layers.items():
        lines.append(f"  {family:<{width}} <- {len(tags)} tags: {tags[0]} ... {tags[-1]}")
    return "\n".join(lines) + "\n\n"


def _run_dict(run: RunData) -> dict[str, object]:
    return {
        "run": run.name,
        "files": [text_of_path(f) for f in run.files],
        "records": run.records,
        "tags": [
            {
                "tag": t.tag,
                "kind": t.kind,
                "points": t.points,
                "first_step": t.first_step,
                "last_step": t.last_step,
            }
            for t in run.tags
        ],
        "hparams": finite_values(run.hparams),
        "restarts": [
            {"file": r.file, "from_step": r.from_step, "to_step": r.to_step, "tags": r.tags}
            for r in run.restarts
        ],
        "duplicate_steps": [
            {
                "tag": d.tag,
                "first_step": d.first_step,
                "last_step": d.last_step,
                "count": d.count,
                "steps": d.steps,
            }
            for d in run.duplicates
        ],
        "problems": [{"file": p.path, "kind": p.kind, "message": p.message} for p in run.problems],
    }


def _run_text(run: RunData) -> str:
    lines = [f"run {run.name}  ({len(run.files)} files, {run.records} records)"]
    if run.tags:
        # Names cut for the column (a 1 MiB tag padded every line to 1 MiB); --json has them.
        names = [shorten(t.tag, NAME_LIMIT) for t in run.tags]
        width = max(len(n) for n in names)
        for name, t in zip(names, run.tags, strict=True):
            steps = "" if t.first_step is None else f"steps {t.first_step}..{t.last_step}"
            lines.append(f"  {name:<{width}}  {t.kind:<9}  {t.points:>9} points  {steps}")
    else:
        lines.append("  (no tags)")
    if run.hparams:
        shown = sorted(run.hparams.items())[:_HPARAMS_SHOWN]
        more = len(run.hparams) - len(shown)
        text = ", ".join(f"{k}={v}" for k, v in shown) + (f", ... (+{more} more)" if more else "")
        lines.append(f"  hparams: {text}")
    for r in run.restarts:
        lines.append(
            f"  note: restart in {r.file}: step went back from {r.from_step} to {r.to_step} "
            f"({r.tags} tags); the latest write of each step is kept"
        )
    for d in run.duplicates:
        lines.append(
            f"  note: {shorten(d.tag, NAME_LIMIT)}: {_rewritten(d)}; the latest write is kept"
        )
    for p in run.problems:
        lines.append(f"  problem: {p}")
    return "\n".join(lines) + "\n\n"


def _rewritten(d: DuplicateSteps) -> str:
    """``200 steps written 3 times each (400 extra writes, steps 0..199)``: the times are
    said only when every step was written as often (``count`` extra writes over ``steps``)."""
    steps = f"{d.steps} step{'s' if d.steps != 1 else ''}"
    times, uneven = divmod(d.count, d.steps) if d.steps else (0, 1)
    how = "more than once" if uneven else ("twice" if times == 1 else f"{times + 1} times")
    each = " each" if d.steps > 1 and not uneven else ""
    one = d.first_step == d.last_step
    span = f"step {d.first_step}" if one else f"steps {d.first_step}..{d.last_step}"
    extra = f"{d.count} extra write{'s' if d.count != 1 else ''}"
    return f"{steps} written {how}{each} ({extra}, {span})"
