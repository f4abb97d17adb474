"""Every diagnostic on real training runs: each fires where the logged numbers show its problem
and stays silent elsewhere.

The runs are small CPU trainings written by real writers with the tag habits of Hugging Face
Trainer, Keras (train/ + validation/, TF2 tensor scalars), tensorboardX and torch: the
``sample_logs/`` of the project and three more corpus runs in ``tests/fixtures/corpus``. Their
expected codes are the labels of benchmarks/diagnosis (checked there by a separate oracle on
the logged numbers). Only warnings and errors count: info findings are remarks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.diagnostics import REGISTRY
from analyzer.pipeline import build_report

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = {
    ROOT / "sample_logs" / "healthy": set(),
    ROOT / "sample_logs" / "healthy_keras": set(),
    ROOT / "sample_logs" / "exploding_gradients": {"exploding_gradients"},
    ROOT / "sample_logs" / "loss_divergence": {"exploding_gradients", "loss_divergence"},
    ROOT / "sample_logs" / "overfitting": {"overfitting"},
    ROOT / "sample_logs" / "plateau": {"plateau"},
    ROOT / "sample_logs" / "slow_convergence": {"slow_convergence"},
    ROOT / "sample_logs" / "loss_oscillation": {"loss_oscillation"},
    ROOT / "sample_logs" / "vanishing_gradients": {"vanishing_gradients"},
    ROOT / "sample_logs" / "dead_units": {"dead_units", "vanishing_gradients"},
    ROOT / "sample_logs" / "throughput_drop": {"throughput_drop"},
    ROOT / "tests" / "fixtures" / "corpus" / "spikes_hf_corrupted_batches": {"loss_spikes"},
    ROOT / "tests" / "fixtures" / "corpus" / "unstable_keras_moons_tiny_val": {
        "loss_oscillation",
        "unstable_metric",
    },
    ROOT / "tests" / "fixtures" / "corpus" / "nosignal_hf_crashed_early": {"no_signal"},
}


def _alarms(run_dir: Path) -> set[str]:
    (run,) = build_report(str(run_dir), strict=True).runs
    return {f.code for f in run.findings if f.severity in ("warning", "error")}


@pytest.mark.parametrize("run_dir", sorted(EXPECTED), ids=lambda p: p.name)
def test_findings_on_real_runs(run_dir: Path) -> None:
    assert _alarms(run_dir) == EXPECTED[run_dir]


def test_every_code_fires_somewhere_and_stays_silent_somewhere() -> None:
    codes = set(REGISTRY) | {"no_signal"}
    fired = set().union(*EXPECTED.values())
    assert fired == codes
    for code in codes:
        assert any(code not in expected for expected in EXPECTED.values())
