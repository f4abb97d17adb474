"""Overfitting and unstable metrics."""

from __future__ import annotations

import numpy as np
from run_builders import decay, make_run, noisy

from analyzer.diagnostics.generalization import overfitting, unstable_metric
from analyzer.settings import Thresholds

T = Thresholds()
EVAL_STEPS = np.arange(0, 1000, 50)


def test_overfitting_reports_the_best_step_and_compute_after_it() -> None:
    val = np.concatenate([np.linspace(1.0, 0.5, 6), np.linspace(0.52, 0.9, 14)])
    run = make_run(train_loss=decay(1000, floor=0.01), val_loss=val, steps={"val_loss": EVAL_STEPS})
    (f,) = overfitting(run, T)
    assert f.evidence["best_step"] == 250
    assert f.steps == (250, 950)
    assert f.evidence["steps_after_best"] == 999 - 250
    assert f.evidence["final_value"] >= 1.1 * f.evidence["best_value"]


def test_overfitting_from_a_falling_validation_accuracy() -> None:
    acc = np.concatenate([np.linspace(0.5, 0.9, 6), np.linspace(0.88, 0.7, 14)])
    run = make_run(
        train_loss=decay(1000, floor=0.01), val_accuracy=acc, steps={"val_accuracy": EVAL_STEPS}
    )
    (f,) = overfitting(run, T)
    assert f.evidence["metric"] == "val_accuracy"


def test_validation_that_tracks_training_is_not_overfitting() -> None:
    val = decay(20, start=1.0, floor=0.3)
    run = make_run(train_loss=decay(1000), val_loss=val, steps={"val_loss": EVAL_STEPS})
    assert list(overfitting(run, T)) == []


def test_unstable_metric_fires_on_swinging_accuracy() -> None:
    acc = 0.6 + 0.15 * (np.arange(20) % 2)  # 0.60, 0.75, 0.60, ...
    (f,) = unstable_metric(make_run(val_accuracy=acc), T)
    assert f.evidence["mean_swing"] >= T.unstable_swing


def test_steadily_rising_accuracy_is_stable() -> None:
    acc = noisy(np.linspace(0.5, 0.9, 20), 0.01)
    assert list(unstable_metric(make_run(val_accuracy=acc), T)) == []
