"""Dead units, from activation histograms (written by a real writer too)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from run_builders import make_run
from tensorboardX import SummaryWriter

from analyzer.diagnostics.activations import dead_units, zero_share
from analyzer.pipeline import build_report
from analyzer.settings import Thresholds

T = Thresholds()


def _hist(tag: str, edges: list[float], counts: list[float], step: int = 0) -> dict:
    return {"tag": tag, "step": step, "wall_time": 0.0,
            "edges": np.array(edges), "counts": np.array(counts)}  # fmt: skip


def test_zero_share_counts_the_bucket_holding_zero() -> None:
    assert zero_share(np.array([-1.0, -1e-12, 1e-12, 1.0]), np.array([0, 9, 1])) == 0.9


def test_dead_units_fires_on_a_layer_of_zeros() -> None:
    h = pd.DataFrame(
        [
            _hist("activations/l0", [-1e-12, 1e-12, 1.0], [50, 50]),
            _hist("activations/l1", [-1e-12, 1e-12, 1.0], [99, 1]),
        ]
    )
    run = make_run(histograms=h, activations=("activations/l0", "activations/l1"))
    (f,) = dead_units(run, T)
    assert (f.evidence["worst_layer"], f.severity) == ("activations/l1", "error")


def test_live_relu_layers_are_not_dead() -> None:
    h = pd.DataFrame([_hist("activations/l0", [-1e-12, 1e-12, 1.0], [40, 60])])
    assert list(dead_units(make_run(histograms=h, activations=("activations/l0",)), T)) == []


def test_dead_units_from_tensorboardx_histograms(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    with SummaryWriter(str(tmp_path / "run")) as w:
        for step in range(20):
            w.add_scalar("train/loss", 1.0 / (step + 1), step)
            live = np.maximum(rng.normal(size=1000), 0)
            dead = np.where(rng.random(1000) < 0.97, 0.0, rng.random(1000))
            w.add_histogram("activations/fc1", live, step)
            w.add_histogram("activations/fc2", dead, step)
    (run,) = build_report(str(tmp_path), strict=True).runs
    (f,) = [f for f in run.findings if f.code == "dead_units"]
    assert f.evidence["dead_layers"] == "activations/fc2"
