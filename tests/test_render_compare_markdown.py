"""The comparison's Markdown (``dlreport compare -f md``), held to golden files.

The golden files were written by the hand-built renderer that came before the template; the
template must give the same text, byte for byte, including the cut at GitHub's limit.
"""

from __future__ import annotations

import pytest
from test_golden import check_gold

from analyzer.compare import Comparison, RunComparison
from analyzer.render.compare_markdown import render_markdown


def _run(name: str, verdict: str = "same", **kw: object) -> RunComparison:
    fields: dict[str, object] = {
        "run": name,
        "verdict": verdict,
        "outcome": "best_val_loss",
        "baseline_value": 0.5,
        "candidate_value": 0.55,
        "relative_change": 0.1,
        "noise": 0.01,
        "baseline_status": "ok",
        "candidate_status": "warning",
        "new_findings": (),
        "resolved_findings": (),
        "steps_to_baseline_best": None,
        "deltas": {},
    }
    fields.update(kw)
    return RunComparison(**fields)  # type: ignore[arg-type]


def _comparison(runs: tuple[RunComparison, ...], **kw: object) -> Comparison:
    fields: dict[str, object] = {
        "baseline": "runs/main",
        "candidate": "runs/my|branch_*x*",
        "verdict": "regressed",
        "runs": runs,
        "only_in_baseline": (),
        "only_in_candidate": (),
        "generated_at": "2026-01-01T00:00:00Z",
        "tool_version": "0.1.0",
    }
    fields.update(kw)
    return Comparison(**fields)  # type: ignore[arg-type]


CASES: dict[str, Comparison] = {
    "mixed": _comparison(
        (
            _run("a", "regressed", new_findings=("loss_spikes", "plateau")),
            _run(
                "b|c_*d*",
                "improved",
                outcome=None,
                baseline_value=None,
                candidate_value=3e-9,
                relative_change=None,
                resolved_findings=("overfitting",),
            ),
            _run("e", relative_change=-0.00041, baseline_value=12345.678),
        ),
        only_in_baseline=("old`run", "x"),
        only_in_candidate=tuple(f"new{i}" for i in range(60)),
    ),
    "improved-empty": _comparison((), verdict="improved"),
    "same-one": _comparison((_run("."),), verdict="same"),
    # Long enough to be cut at the limit.
    "cut": _comparison(tuple(_run(f"sweep/lr{i:05d}/" + "x" * 80) for i in range(600))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_compare_markdown_matches_golden(case: str) -> None:
    check_gold("compare", f"{case}.md", render_markdown(CASES[case]))


def test_cut_says_how_many_runs_are_missing() -> None:
    text = render_markdown(CASES["cut"])
    assert len(text) <= 60_000 + 200
    shown = text.count("| sweep/lr")
    assert 0 < shown < 600
    assert f"… {600 - shown} more runs not shown" in text
