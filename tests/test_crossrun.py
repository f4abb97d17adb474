"""Cross-run evidence: outcome against hyperparameters, seeds, and the advice citing it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tensorboardX import SummaryWriter

from analyzer.crossrun import cross_run, hparam
from analyzer.pipeline import build_analysis

# best validation loss reached per learning rate in the fake sweep (lr 1e-2 is best)
QUALITY = {0.1: 0.9, 0.01: 0.3, 0.001: 0.6}


def _sweep(root: Path) -> None:
    """A 3 learning rates x 3 seeds sweep, hparams written as tensorboardX does."""
    for lr, level in QUALITY.items():
        for seed in range(3):
            run = root / f"lr{lr}_seed{seed}"
            rng = np.random.default_rng(seed)
            with SummaryWriter(str(run)) as w:
                for step in range(50):
                    w.add_scalar("train/loss", 2.0 * np.exp(-step / 10) + level, step)
                    if step % 10 == 9:
                        w.add_scalar("eval/loss", level + 0.01 * rng.normal() + 0.05, step)
                w.add_hparams({"lr": lr, "seed": seed}, {"hp/x": 0.0}, name="1700000000.5")


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("sweep")
    _sweep(root)
    return build_analysis(str(root), keep_runs=False).report


def test_outcome_against_learning_rate_with_seed_spread(sweep) -> None:
    c = sweep.cross_run
    assert c is not None
    assert (c.outcome, c.runs, c.seed_groups) == ("best_val_loss", 9, 3)
    points = {p.value: p for p in c.by_hparam["learning_rate"]}
    assert set(points) == {0.1, 0.01, 0.001}
    assert points[0.01].runs == 3
    assert points[0.01].std is not None
    assert points[0.01].mean == pytest.approx(0.35, abs=0.03)
    assert c.best["learning_rate"] == 0.01


def test_advice_cites_the_sibling_runs(sweep) -> None:
    by_run = {r.run: r for r in sweep.runs}
    (advice,) = [a for a in by_run["lr0.1_seed0"].advice if a.parameter == "learning_rate"]
    assert (advice.action, advice.value, advice.factor) == ("decrease", 0.01, 0.1)
    assert advice.rationale.startswith("Among 9 runs, lr=0.01")
    best = by_run["lr0.01_seed1"]
    assert not [a for a in best.advice if a.parameter == "learning_rate"]


def test_hparam_aliases() -> None:
    assert hparam({"learning_rate": "3e-4"}, "learning_rate") == 3e-4
    assert hparam({"optim": "AdamW"}, "optimizer") == "adamw"
    assert hparam({"per_device_train_batch_size": 16}, "batch_size") == 16.0
    assert hparam({"lr": True}, "learning_rate") is None


def test_no_evidence_from_too_few_runs(sweep) -> None:
    assert cross_run(sweep.runs[:2]) is None
