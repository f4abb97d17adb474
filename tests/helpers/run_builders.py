"""Build :class:`analyzer.model.Run` objects from arrays, for the diagnostics tests.

``make_run(train_loss=..., grad_norm=...)`` gives each role a tag of the same name (so the
roles map is explicit), with steps 0..n-1 unless given and wall times one second apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from analyzer.model import Run

ArrayLike = Sequence[float] | np.ndarray


def make_run(
    *,
    steps: Mapping[str, ArrayLike] | None = None,
    wall: Mapping[str, ArrayLike] | None = None,
    layers: Mapping[str, Mapping[str, ArrayLike]] | None = None,
    histograms: pd.DataFrame | None = None,
    activations: Sequence[str] = (),
    name: str = "run",
    **series: ArrayLike,
) -> Run:
    """A run whose role R is played by tag R, holding ``series[R]``."""
    rows = []
    steps = dict(steps or {})
    wall = dict(wall or {})
    layer_tags: dict[str, tuple[str, ...]] = {}
    all_series: dict[str, ArrayLike] = dict(series)
    for family, members in (layers or {}).items():
        layer_tags[family] = tuple(members)
        all_series.update(members)
    for tag, values in all_series.items():
        v = np.asarray(values, dtype=float)
        s = np.asarray(steps.get(tag, np.arange(v.size)), dtype=np.int64)
        w = np.asarray(wall.get(tag, 1000.0 + s.astype(float)), dtype=float)
        rows.append(pd.DataFrame({"tag": tag, "step": s, "wall_time": w, "value": v}))
    scalars = (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame({"tag": [], "step": [], "wall_time": [], "value": []})
    )
    if activations:
        layer_tags["activations"] = tuple(activations)
    return Run(
        name=name,
        scalars=scalars,
        histograms=histograms if histograms is not None else _no_histograms(),
        roles={role: role for role in series},
        layer_tags=layer_tags,
    )


def _no_histograms() -> pd.DataFrame:
    return pd.DataFrame({"tag": [], "step": [], "wall_time": [], "edges": [], "counts": []}).astype(
        {"step": "int64"}
    )


def decay(n: int, start: float = 2.3, floor: float = 0.05, rate: float = 5.0) -> np.ndarray:
    """A healthy loss curve: exponential decay from ``start`` toward ``floor``."""
    t = np.linspace(0, 1, n)
    return floor + (start - floor) * np.exp(-rate * t)


def noisy(values: np.ndarray, rel: float = 0.05, seed: int = 0) -> np.ndarray:
    """Multiplicative minibatch-like noise (relative std ``rel``), seeded."""
    rng = np.random.default_rng(seed)
    return values * (1 + rel * rng.standard_normal(values.size))
