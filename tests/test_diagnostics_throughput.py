"""Throughput drops, from a logged rate or from wall times."""

from __future__ import annotations

import numpy as np
from run_builders import decay, make_run, noisy

from analyzer.diagnostics.throughput import throughput_drop
from analyzer.settings import Thresholds

T = Thresholds()


def test_throughput_drop_from_a_logged_rate() -> None:
    rate = np.concatenate([np.full(50, 100.0), np.full(50, 30.0)])
    (f,) = throughput_drop(make_run(throughput=noisy(rate, 0.02)), T)
    assert f.evidence["ratio"] < T.throughput_drop
    assert f.steps[0] == 50


def test_throughput_drop_from_wall_times() -> None:
    wall = np.concatenate([np.arange(100) * 1.0, 100 + np.arange(100) * 5.0])
    (f,) = throughput_drop(make_run(train_loss=decay(200), wall={"train_loss": wall}), T)
    assert f.evidence["ratio"] == 0.2


def test_a_rate_from_wall_times_of_a_short_run_is_not_judged() -> None:
    # The same fivefold slowdown over 60 s instead of 600 s: another process on the machine
    # does that to a short run.
    wall = np.concatenate([np.arange(100) * 0.1, 10 + np.arange(100) * 0.5])
    assert (
        list(throughput_drop(make_run(train_loss=decay(200), wall={"train_loss": wall}), T)) == []
    )


def test_steady_throughput_does_not_drop() -> None:
    assert list(throughput_drop(make_run(throughput=noisy(np.full(100, 50.0), 0.1)), T)) == []
