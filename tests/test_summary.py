"""The performance summary: final/best values, the best step, convergence, speed, stalls."""

from __future__ import annotations

import numpy as np
import pytest
from run_builders import decay, make_run

from analyzer.settings import Thresholds
from analyzer.summary import summarize

T = Thresholds()


def test_final_and_best_values_with_their_steps() -> None:
    run = make_run(
        train_loss=[2.0, 1.5, 1.0, 0.8, 0.7],
        val_loss=[2.1, 1.2, 0.9, 1.1],
        val_accuracy=[0.5, 0.8, 0.7, 0.6],
        steps={"val_loss": [0, 10, 20, 30], "val_accuracy": [0, 10, 20, 30]},
    )
    s = summarize(run, T)
    assert s["final_train_loss"] == 0.7
    assert s["best_train_loss"] == 0.7
    assert s["final_val_loss"] == 1.1
    assert s["best_val_loss"] == 0.9
    assert s["best_val_loss_step"] == 20
    assert s["best_val_accuracy"] == 0.8  # higher is better
    assert s["best_val_accuracy_step"] == 10
    # The best validation step comes from the loss, and the steps after it from the run's end.
    assert s["steps"] == 30
    assert s["best_val_step"] == 20
    assert s["steps_after_best_val"] == 10
    assert s["share_after_best_val"] == pytest.approx(10 / 30)


def test_nan_points_and_duplicate_steps_do_not_count() -> None:
    run = make_run(
        train_loss=[2.0, float("nan"), 1.0, 3.0, 0.5],
        steps={"train_loss": [0, 1, 2, 2, 3]},  # step 2 written twice: the last write wins
    )
    s = summarize(run, T)
    assert s["final_train_loss"] == 0.5
    assert s["best_train_loss"] == 0.5
    assert s["best_train_loss_step"] == 3


def test_f1_is_computed_from_precision_and_recall_only_when_not_logged() -> None:
    run = make_run(val_precision=[0.5, 0.8, 0.9], val_recall=[0.5, 0.6, 0.3])
    s = summarize(run, T)
    f1 = [2 * p * r / (p + r) for p, r in ((0.5, 0.5), (0.8, 0.6), (0.9, 0.3))]
    assert s["final_val_f1_computed"] == pytest.approx(f1[-1])
    assert s["best_val_f1_computed"] == pytest.approx(max(f1))
    assert s["best_val_f1_computed_step"] == 1
    logged = make_run(val_precision=[0.5], val_recall=[0.5], val_f1=[0.4])
    assert "final_val_f1_computed" not in summarize(logged, T)


def test_convergence_of_a_falling_loss_is_fitted_and_projected() -> None:
    loss = decay(500, start=2.3, floor=0.05, rate=3.0)  # still well above its floor at the end
    s = summarize(make_run(train_loss=loss), T)
    assert s["convergence_model"] in {"power", "exponential"}
    assert s["convergence_fit_r2"] > 0.99
    projected = s["projected_train_loss_2x_steps"]
    assert isinstance(projected, float)
    assert 0.05 <= projected < loss[-1]
    assert s["still_improving"] == 1
    flat = summarize(make_run(train_loss=decay(500, rate=40.0)), T)  # converged early
    assert flat["still_improving"] == 0


def test_speed_steps_per_second_its_trend_and_stalls() -> None:
    n = 100
    steps = np.arange(n) * 10
    wall = 1000.0 + np.arange(n, dtype=float)  # 10 steps/s
    wall[60:] += 200.0  # one stall of 201 s between two points
    wall[80:] += np.arange(n - 80, dtype=float)  # then twice as slow
    run = make_run(train_loss=decay(n), steps={"train_loss": steps}, wall={"train_loss": wall})
    s = summarize(run, T)
    assert s["steps_per_s"] == pytest.approx(10.0)
    assert s["steps_per_s_trend"] == pytest.approx(0.5)
    assert s["stalls"] == 1
    assert s["longest_stall_s"] == pytest.approx(201.0)
    assert s["wall_time_s"] == pytest.approx(wall[-1] - wall[0])


def test_a_stall_is_relative_to_the_threshold() -> None:
    wall = 1000.0 + np.arange(50, dtype=float)
    wall[30:] += 5.0  # a 6 s gap: a stall only when the threshold is under 6x the median gap
    run = make_run(train_loss=decay(50), wall={"train_loss": wall})
    assert summarize(run, T)["stalls"] == 0
    assert summarize(run, Thresholds(stall_gap=5.0))["stalls"] == 1


def test_memory_throughput_and_learning_rate() -> None:
    run = make_run(
        memory=[1.0, 3.0, 2.0],
        throughput=[100.0, 120.0, 90.0],
        learning_rate=[1e-3, 5e-4, 1e-4],
    )
    s = summarize(run, T)
    assert (s["final_memory"], s["max_memory"]) == (2.0, 3.0)
    assert (s["final_throughput"], s["median_throughput"]) == (90.0, 100.0)
    assert (s["initial_learning_rate"], s["final_learning_rate"]) == (1e-3, 1e-4)


def test_time_per_epoch() -> None:
    run = make_run(epoch=[0, 1, 2, 3], wall={"epoch": [100.0, 130.0, 160.0, 190.0]})
    assert summarize(run, T)["time_per_epoch_s"] == pytest.approx(30.0)


def test_an_empty_run_summarises_to_unknowns() -> None:
    s = summarize(make_run(), T)
    assert s["steps"] is None
    assert "final_train_loss" not in s
