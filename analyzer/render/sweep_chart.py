"""Sweeps: an outcome against one hyperparameter, across runs (the cross-run section's chart)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from .charts import PALETTE, RC_PARAMS, data_uri, render_svg, set_y_scale

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

Scale = Literal["log", "symlog", "linear", "category"]


@dataclass(frozen=True, slots=True)
class Sweep:
    """What to draw for one hyperparameter: a dot per run, the mean per value and its band.

    ``values`` are the hyperparameter's values in axis order, with ``mean`` and ``std`` (None
    where a value has one run) per value; ``runs`` pairs each run's value with its outcome.
    """

    values: Sequence[float | str]
    mean: Sequence[float]
    std: Sequence[float | None]
    runs: Sequence[tuple[float | str, float]]
    best: float | str | None
    scale: Scale


_SWEEP_SIZE = (4.6, 2.5)
_MAX_LABEL = 14  # characters of a category shown under its tick


def sweep_svg(sweep: Sweep) -> bytes:
    """Draw ``sweep`` (see :class:`Sweep`) and return its SVG."""
    import matplotlib

    with matplotlib.rc_context(RC_PARAMS):
        return render_svg(sweep_figure(sweep))


def sweep_figure(sweep: Sweep) -> Figure:
    """The matplotlib figure of ``sweep``: runs as dots, mean as a line, mean ± std as a band."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    with matplotlib.rc_context(RC_PARAMS):
        fig = Figure(figsize=_SWEEP_SIZE, layout="constrained")
        fig.patch.set_visible(False)
        ax = fig.add_subplot()
        ax.patch.set_visible(False)
        category = sweep.scale == "category"
        where = {v: i for i, v in enumerate(sweep.values)}

        def pos(v: float | str) -> float:
            return float(where[v]) if category else float(v)

        xs = np.array([pos(v) for v in sweep.values], dtype=float)
        mean = np.array(sweep.mean, dtype=float)
        std = np.array([0.0 if s is None else s for s in sweep.std], dtype=float)
        blue, green = PALETTE[0], PALETTE[2]
        if category:
            # No order between categories: a bar per value, not a line through them.
            for x, m, s in zip(xs, mean, std, strict=True):
                ax.fill_between([x - 0.3, x + 0.3], m - s, m + s, color=blue, alpha=0.15, lw=0)
                ax.plot([x - 0.3, x + 0.3], [m, m], color=blue, lw=1.4, zorder=3)
        else:
            ax.fill_between(xs, mean - std, mean + std, color=blue, alpha=0.15, lw=0)
            ax.plot(xs, mean, color=blue, lw=1.4, marker="o", ms=3, zorder=3)
        # Every run as a dot; in a category the seeds of one value are spread a little sideways
        # so that none hides another.
        seen: dict[float | str, int] = {}
        dots_x, dots_y = [], []
        for value, outcome in sweep.runs:
            k = seen[value] = seen.get(value, -1) + 1
            jitter = (((k % 5) - 2) * 0.06) if category else 0.0
            dots_x.append(pos(value) + jitter)
            dots_y.append(outcome)
        ax.plot(dots_x, dots_y, ls="", marker="o", ms=3.2, color="#212529", alpha=0.45, zorder=4)
        if sweep.best is not None and sweep.best in where:
            i = where[sweep.best]
            ax.axvline(xs[i], color=green, lw=0.9, ls=(0, (3, 2)), zorder=1)
            ax.plot([xs[i]], [mean[i]], ls="", marker="o", ms=9, mfc="none", mec=green, mew=1.6,
                    zorder=5)  # fmt: skip
        if category:
            labels = [
                str(v) if len(str(v)) <= _MAX_LABEL else str(v)[: _MAX_LABEL - 1] + "…"
                for v in sweep.values
            ]
            # Category names come from the logs: never parsed as mathtext ("$" in a name).
            ax.set_xticks(xs, labels, parse_math=False)
            ax.set_xlim(-0.6, len(xs) - 0.4)
        elif sweep.scale == "log":
            ax.set_xscale("log")
        elif sweep.scale == "symlog":
            positive = xs[xs > 0]
            ax.set_xscale("symlog", linthresh=float(positive.min()) if positive.size else 1.0)
        if sweep.scale in ("log", "symlog") and xs.size:
            # Room either side of the extreme values, in decades.
            ax.margins(x=0.08)
        finite = np.array([y for _, y in sweep.runs], dtype=float)
        set_y_scale(ax, [finite[np.isfinite(finite)]], None)
        ax.yaxis.set_major_locator(
            ax.yaxis.get_major_locator() if ax.get_yscale() == "log" else MaxNLocator(5)
        )
        ax.tick_params(labelsize=7, length=2.5)
        ax.spines["top"].set_visible(False)
        ax.spines["right"].set_visible(False)
        ax.grid(True, axis="y", color="#e9ecef", lw=0.5)
        return fig


def sweep_uri(sweep: Sweep) -> str:
    """:func:`sweep_svg` as a data URI."""
    return data_uri(sweep_svg(sweep))
