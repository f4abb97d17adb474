"""The JSON report contract (shared/spec/report-json.md), as data the tests check against.

Copied here so the tests run without ../shared; ``test_jsonreport`` checks the copy against the
spec file whenever it is present.
"""

from __future__ import annotations

from pathlib import Path

SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "report-json.md"

CODES = (
    "exploding_gradients",
    "vanishing_gradients",
    "loss_divergence",
    "loss_oscillation",
    "loss_spikes",
    "slow_convergence",
    "plateau",
    "overfitting",
    "dead_units",
    "unstable_metric",
    "throughput_drop",
    "no_signal",
)
PARAMETERS = (
    "learning_rate",
    "lr_schedule",
    "optimizer",
    "momentum",
    "gradient_clipping",
    "weight_decay",
    "early_stopping",
    "batch_size",
    "architecture",
)
SEVERITIES = ("info", "warning", "error")
STATUSES = ("ok", "info", "warning", "error")
ACTIONS = ("decrease", "increase", "set", "enable", "disable")
TOP_KEYS = ("schema_version", "tool", "generated_at", "runs")
RUN_KEYS = ("run", "status", "roles", "summary", "findings", "advice")
FINDING_KEYS = ("code", "severity", "title", "steps", "evidence")


def spec_table(heading: str) -> list[str]:
    """The first-column backticked names of a table under ``## heading`` in the spec."""
    text = SPEC.read_text(encoding="utf-8")
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return [
        line.split("|")[1].strip().strip("`")
        for line in section.splitlines()
        if line.startswith("| `")
    ]
