"""``dlreport tags``: what a logdir holds, as text for people or JSON for scripts."""

from __future__ import annotations

import json

from .reader import Logdir, RunData

_HPARAMS_SHOWN = 12  # HF Trainer logs ~100 arguments; --json has them all


def render_tags(data: Logdir, *, as_json: bool = False) -> str:
    """The runs, their tags and their problems, as text (or JSON)."""
    if as_json:
        return json.dumps([_run_dict(run) for run in data.runs], indent=2) + "\n"
    return "".join(_run_text(run) for run in data.runs)


def _run_dict(run: RunData) -> dict[str, object]:
    return {
        "run": run.name,
        "files": list(run.files),
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
        "hparams": dict(run.hparams),
        "restarts": [
            {"file": r.file, "from_step": r.from_step, "to_step": r.to_step, "tags": r.tags}
            for r in run.restarts
        ],
        "duplicate_steps": [
            {"tag": d.tag, "first_step": d.first_step, "last_step": d.last_step, "count": d.count}
            for d in run.duplicates
        ],
        "problems": [{"file": p.path, "kind": p.kind, "message": p.message} for p in run.problems],
    }


def _run_text(run: RunData) -> str:
    lines = [f"run {run.name}  ({len(run.files)} files, {run.records} records)"]
    if run.tags:
        width = max(len(t.tag) for t in run.tags)
        for t in run.tags:
            steps = "" if t.first_step is None else f"steps {t.first_step}..{t.last_step}"
            lines.append(f"  {t.tag:<{width}}  {t.kind:<9}  {t.points:>9} points  {steps}")
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
            f"  note: {d.tag}: {d.count} steps written twice ({d.first_step}..{d.last_step}); "
            "the latest write is kept"
        )
    for p in run.problems:
        lines.append(f"  problem: {p}")
    return "\n".join(lines) + "\n\n"
