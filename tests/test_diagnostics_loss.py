"""Loss diagnostics: divergence, oscillation, spikes, slow convergence, plateau."""

from __future__ import annotations

import numpy as np
import pytest
from run_builders import decay, make_run, noisy

from analyzer.diagnostics import run_diagnostics
from analyzer.diagnostics.convergence import slow_convergence
from analyzer.diagnostics.loss import (
    loss_divergence,
    loss_oscillation,
    loss_spikes,
)
from analyzer.diagnostics.plateau import plateau
from analyzer.settings import Thresholds

T = Thresholds()


def codes(findings) -> list[str]:
    return [f.code for f in findings]


# --- divergence


def test_divergence_fires_on_nan_with_its_first_step() -> None:
    loss = decay(100)
    loss[60:] = np.nan
    (f,) = loss_divergence(make_run(train_loss=loss), T)
    assert (f.code, f.severity, f.steps) == ("loss_divergence", "error", (60, 99))
    assert f.evidence["first_nonfinite_step"] == 60
    assert f.evidence["nonfinite_points"] == 40


def test_divergence_fires_when_loss_climbs_above_its_start() -> None:
    loss = np.concatenate([decay(50, start=2.0, floor=1.0), np.linspace(1.0, 6.0, 50)])
    (f,) = loss_divergence(make_run(train_loss=loss), T)
    assert f.severity == "error"
    assert f.evidence["final_loss"] > 1.5 * f.evidence["start_loss"]


def test_divergence_fires_when_progress_is_given_back() -> None:
    loss = np.concatenate([decay(60, start=2.0, floor=0.1), np.linspace(0.1, 1.2, 40)])
    (f,) = loss_divergence(make_run(train_loss=loss), T)
    assert f.severity == "warning"
    assert f.evidence["best_smoothed_loss"] == pytest.approx(0.1, rel=0.2)


def test_warmup_bump_then_progress_is_not_divergence() -> None:
    bump = np.concatenate([np.linspace(2.3, 3.5, 20), decay(180, start=3.5, floor=0.2)])
    assert codes(loss_divergence(make_run(train_loss=noisy(bump, 0.03)), T)) == []


def test_healthy_noisy_decay_is_not_divergence() -> None:
    assert codes(loss_divergence(make_run(train_loss=noisy(decay(500), 0.1)), T)) == []


def test_all_nan_validation_is_bad_validation_data_not_divergence() -> None:
    run = make_run(train_loss=decay(50), val_loss=np.full(10, np.nan))
    assert codes(loss_divergence(run, T)) == []
    found = run_diagnostics(run, T, strict=True).findings
    (f,) = [f for f in found if f.code == "no_signal"]
    assert f.severity == "warning"
    assert "validation" in f.title.lower()
    assert f.series == "val_loss"


# --- oscillation


def test_oscillation_fires_on_large_swings_without_progress() -> None:
    n = 400
    t = np.arange(n)
    loss = 1.5 + 0.6 * np.sign(np.sin(t / 7.0)) + 0.05 * np.random.default_rng(1).normal(size=n)
    (f,) = loss_oscillation(make_run(train_loss=loss), T)
    assert f.code == "loss_oscillation"
    assert f.evidence["swing_share_of_start"] >= T.oscillation_swing
    assert f.steps == (200, 399)


def test_oscillation_reports_a_periodic_pattern() -> None:
    n = 800
    t = np.arange(n)
    loss = 1.0 + 0.5 * np.sin(2 * np.pi * t / 50)
    (f,) = loss_oscillation(make_run(train_loss=loss), T)
    assert "periodic" in f.title
    assert f.evidence["spectral_peak_period"] == pytest.approx(50, rel=0.15)


def test_minibatch_noise_is_not_oscillation() -> None:
    # 30% relative noise on a decaying curve: healthy small-batch training.
    loss = noisy(decay(1000), 0.3, seed=3)
    assert codes(loss_oscillation(make_run(train_loss=loss), T)) == []


# --- spikes


def test_spikes_are_catalogued_with_onset_size_and_recovery() -> None:
    loss = noisy(decay(600, floor=0.5), 0.02, seed=4)
    loss[300] *= 4
    loss[450:453] *= 3.5
    grad = noisy(np.ones(600), 0.05, seed=5)
    grad[449] = 30.0  # a gradient spike just before the second loss spike
    (f,) = loss_spikes(make_run(train_loss=loss, grad_norm=grad), T)
    assert f.evidence["spikes"] == 2
    assert f.steps[0] == 300
    assert f.evidence["largest_step"] == 300
    assert f.evidence["preceded_by_grad_spike"] == 1
    assert "step 450" in f.evidence["catalogue"]


def test_a_single_spike_is_info_and_small_jumps_late_in_training_are_not_spikes() -> None:
    loss = noisy(decay(600, floor=0.01), 0.02, seed=9)
    loss[500] = 0.1  # x10 on a tiny late loss: far below half the starting loss
    assert list(loss_spikes(make_run(train_loss=loss), T)) == []
    loss[300] = 3.0
    (f,) = loss_spikes(make_run(train_loss=loss), T)
    assert (f.severity, f.evidence["spikes"]) == ("info", 1)


def test_noise_and_a_slow_rise_are_not_spikes() -> None:
    loss = noisy(decay(600, floor=0.5), 0.05, seed=6)
    assert codes(loss_spikes(make_run(train_loss=loss), T)) == []


# --- slow convergence and plateau


def test_slow_convergence_fires_on_a_slow_steady_fall() -> None:
    loss = noisy(np.linspace(2.3, 1.8, 300), 0.01, seed=7)
    (f,) = slow_convergence(make_run(train_loss=loss), T)
    assert f.code == "slow_convergence"
    assert f.evidence["relative_drop"] == pytest.approx(0.22, abs=0.03)
    assert f.evidence["fit_r2"] > 0.9
    assert f.evidence["projected_loss_at_2x_steps"] < f.evidence["fitted_loss_now"] - 0.1


def test_fast_convergence_is_not_slow() -> None:
    assert codes(slow_convergence(make_run(train_loss=noisy(decay(300), 0.02)), T)) == []


def test_plateau_fires_with_a_constant_learning_rate() -> None:
    loss = np.concatenate([decay(100, start=2.0, floor=1.2, rate=8), np.full(200, 1.2)])
    # SGD noise of 2.5% of the level: the optimizer bounces around its plateau.
    run = make_run(train_loss=noisy(loss, 0.02, seed=8), learning_rate=np.full(300, 0.1))
    (f,) = plateau(run, T)
    assert f.severity == "warning"
    assert f.evidence["final_lr_share_of_max"] == pytest.approx(1.0)
    assert 40 <= f.evidence["plateau_start_step"] <= 120


def test_a_loss_flat_after_losing_most_of_its_start_is_near_its_floor() -> None:
    # The same shape and noise, but the loss lost 75% of its start before going flat (a
    # model at its floor): not stalled high, so not a plateau.
    loss = np.concatenate([decay(100, start=2.0, floor=0.5, rate=8), np.full(200, 0.5)])
    run = make_run(train_loss=noisy(loss, 0.02, seed=8), learning_rate=np.full(300, 0.1))
    assert codes(plateau(run, T)) == []


def test_flat_loss_that_does_not_bounce_sits_at_its_floor() -> None:
    # A loss at a floor of its objective (the data's entropy) barely moves from point to point:
    # a smaller step cannot take it lower, so it is not a plateau.
    loss = np.concatenate([decay(100, start=5.0, floor=3.18, rate=8), np.full(200, 3.18)])
    run = make_run(train_loss=noisy(loss, 0.003, seed=8), learning_rate=np.full(300, 0.1))
    assert codes(plateau(run, T)) == []


def test_no_plateau_while_the_validation_loss_still_falls() -> None:
    # Label smoothing keeps the training loss at its floor; the validation loss still falls.
    loss = np.concatenate([decay(100, start=2.3, floor=1.3, rate=8), np.full(200, 1.3)])
    lr = np.full(300, 1e-3)
    val = np.linspace(0.40, 0.33, 300)
    still = make_run(train_loss=noisy(loss, 0.02, seed=3), learning_rate=lr, val_loss=val)
    assert codes(plateau(still, T)) == []
    # A validation loss that is flat too, at the training loss's level, leaves the plateau.
    flat_val = noisy(np.full(300, 1.25), 0.01)
    flat = make_run(train_loss=noisy(loss, 0.02, seed=3), learning_rate=lr, val_loss=flat_val)
    assert codes(plateau(flat, T)) == ["plateau"]
    # Flat as well, but at 0.4, far below the training loss: the training objective's floor.
    low_val = noisy(np.full(300, 0.4), 0.01)
    low = make_run(train_loss=noisy(loss, 0.02, seed=3), learning_rate=lr, val_loss=low_val)
    assert codes(plateau(low, T)) == []


def test_plateau_after_lr_decay_is_convergence() -> None:
    loss = np.concatenate([decay(100, start=2.0, floor=0.8, rate=8), np.full(200, 0.8)])
    lr = np.concatenate([np.full(150, 0.1), np.full(150, 0.001)])
    assert codes(plateau(make_run(train_loss=loss, learning_rate=lr), T)) == []


def test_plateau_after_learning_without_logged_lr_is_not_reported() -> None:
    # Whether decay would help cannot be judged: the run stays "ok" (issue #10, class 12).
    loss = np.concatenate([decay(100, start=2.0, floor=0.8, rate=8), np.full(200, 0.8)])
    assert codes(plateau(make_run(train_loss=loss), T)) == []


def test_convergence_to_zero_is_not_a_plateau() -> None:
    loss = decay(300, start=2.0, floor=0.001, rate=12)
    assert codes(plateau(make_run(train_loss=loss, learning_rate=np.full(300, 0.1)), T)) == []


def _periodic_jumps(n: int = 2000, every: int = 50) -> np.ndarray:
    """A loss that fell to 0.1 and jumps by 3 at every ``every``-th step, then recovers over
    about 10 steps (the shape unshuffled data and corrupted batches both give)."""
    base = noisy(decay(n, start=2.3, floor=0.1, rate=10), 0.01, seed=4)
    bump = 3.0 * np.exp(-np.arange(every // 2) / 5.0)
    for i in range(every, n - every, every):
        base[i : i + bump.size] += bump
    return base


def test_jumps_that_the_validation_loss_swings_with_are_oscillation_not_spikes() -> None:
    # Unshuffled data: the whole model swings with the class it last saw, so its validation
    # loss swings too; the training loss's jumps are the peaks of that swing.
    val = 0.9 + 0.4 * np.sin(np.arange(80) * 2.4)
    steps = {"val_loss": np.arange(80) * 25}
    run = make_run(train_loss=_periodic_jumps(), val_loss=val, steps=steps)
    found = {f.code for f in run_diagnostics(run, T, strict=True).findings}
    assert "loss_oscillation" in found
    assert "loss_spikes" not in found


def test_jumps_over_a_steadily_falling_validation_loss_are_spikes() -> None:
    # Corrupted batches: the training loss jumps, the model (its validation loss) does not.
    val = np.linspace(1.0, 0.2, 80)
    steps = {"val_loss": np.arange(80) * 25}
    run = make_run(train_loss=_periodic_jumps(), val_loss=val, steps=steps)
    found = {f.code for f in run_diagnostics(run, T, strict=True).findings}
    assert "loss_spikes" in found
    assert "loss_oscillation" not in found


def test_a_gradient_norm_nan_to_the_end_is_divergence_a_single_overflow_is_not() -> None:
    loss = noisy(decay(100), 0.01, seed=2)
    dead = np.concatenate([np.full(60, 1.0), np.full(40, np.nan)])
    assert codes(loss_divergence(make_run(train_loss=loss, grad_norm=dead), T)) == [
        "loss_divergence"
    ]
    overflow = np.full(100, 1.0)
    overflow[30] = np.inf  # mixed precision: the scaler skips the step, training goes on
    assert codes(loss_divergence(make_run(train_loss=loss, grad_norm=overflow), T)) == []
