"""Gradient diagnostics: exploding and vanishing, global and per layer."""

from __future__ import annotations

import numpy as np
import pytest
from run_builders import decay, make_run, noisy

from analyzer.diagnostics.gradients import exploding_gradients, vanishing_gradients
from analyzer.settings import Thresholds

T = Thresholds()


def test_exploding_fires_on_orders_of_magnitude_growth() -> None:
    g = np.concatenate([noisy(np.ones(100), 0.1), np.logspace(0, 4, 100)])
    (f,) = exploding_gradients(make_run(grad_norm=g), T)
    assert (f.code, f.severity) == ("exploding_gradients", "error")
    assert f.evidence["growth"] >= T.grad_growth
    assert f.steps[1] == 199  # the peak


def test_exploding_fires_on_nan_gradients() -> None:
    g = noisy(np.ones(50), 0.1)
    g[30] = np.inf
    (f,) = exploding_gradients(make_run(grad_norm=g), T)
    assert f.severity == "error"
    assert f.evidence["first_nonfinite_step"] == 30


def test_exploding_fires_on_first_to_last_layer_ratio() -> None:
    layers = {"grad_norm/layer0": np.full(50, 80.0), "grad_norm/layer9": np.full(50, 1.0)}
    (f,) = exploding_gradients(make_run(layers={"grad_norm_layers": layers}), T)
    assert f.evidence["median_first_last_ratio"] == pytest.approx(80.0)


def test_healthy_gradients_do_not_explode() -> None:
    g = noisy(decay(300, start=5.0, floor=0.5), 0.3, seed=2)
    assert list(exploding_gradients(make_run(grad_norm=g), T)) == []


def test_vanishing_fires_on_first_to_last_layer_ratio() -> None:
    layers = {"grad/l1": np.full(40, 1e-6), "grad/l2": np.full(40, 1e-3), "grad/l3": np.ones(40)}
    (f,) = vanishing_gradients(make_run(layers={"grad_norm_layers": layers}), T)
    assert (f.severity, f.evidence["first_layer"]) == ("error", "grad/l1")


def test_vanishing_fires_when_no_gradient_flows() -> None:
    (f,) = vanishing_gradients(make_run(grad_norm=np.zeros(60)), T)
    assert f.evidence["zero_share"] == 1.0


def test_vanishing_fires_on_collapse_while_the_loss_stalls() -> None:
    g = np.logspace(0, -5, 200)
    run = make_run(grad_norm=g, train_loss=np.full(200, 2.3))
    (f,) = vanishing_gradients(run, T)
    assert f.severity in ("warning", "error")


def test_shrinking_gradients_of_a_converging_model_are_not_vanishing() -> None:
    g = np.logspace(0, -4, 200)  # gradients shrink as the loss goes to ~0
    run = make_run(grad_norm=g, train_loss=decay(200, floor=0.001, rate=10))
    assert list(vanishing_gradients(run, T)) == []
