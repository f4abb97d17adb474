"""What the HTML report's charts show, and the charts matplotlib still draws.

:class:`Chart` and :class:`Line` say what a line chart holds (series by step, shaded step
ranges, marked steps, levels); :mod:`.svg_chart` writes it as SVG by hand, since importing
matplotlib alone (~0.3 CPU-s) was over the start-up budget of a one-run report. matplotlib
(a bare :class:`matplotlib.figure.Figure`, never pyplot) still draws the distribution bands
here and the sweep chart (:mod:`.sweep_chart`), imported only when such a chart is drawn. No
chart holds user text: titles and legends are written in HTML around the ``<img>``.

Long series are decimated before drawing (:func:`decimate`): the min and the max of each bucket
of consecutive points are kept, so a million-step run gives a chart of ~2,000 points per line
that still shows every spike.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

# Line colours, by position; templates/report.css repeats them (.key--0 ...) for the legends.
PALETTE = ("#1f6fb4", "#d9480f", "#2b8a3e", "#7048e8", "#868e96")
SPAN_COLOR = "#f59f00"  # the steps a finding covers
MARK_COLOR = "#495057"  # a step named in the evidence (best step, first NaN, ...)
BAD_COLOR = "#c92a2a"  # steps whose value is NaN/Inf

# ~2,000 points per line in a full-width chart: about three per horizontal pixel of the
# 640-pixel-wide chart, more than the eye can resolve, and about 25 KB of SVG per line.
MAX_POINTS = 2000
# Small multiples are a third as wide, so a third of the points keeps the same density.
SMALL_MAX_POINTS = 600

Size = Literal["wide", "small"]
YScale = Literal["linear", "log", "symlog"]

# Everything that makes matplotlib's SVG differ between two runs of the same input, fixed;
# plus text as <text> elements instead of glyph outlines (smaller, and selectable).
RC_PARAMS: dict[Any, Any] = {  # Any keys: matplotlib types them as a Literal of every rcParam
    "svg.hashsalt": "dlreport",
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 8,
    "axes.linewidth": 0.6,
    "axes.edgecolor": "#868e96",
    "xtick.color": "#495057",
    "ytick.color": "#495057",
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "path.simplify": True,
}
# Coordinates in path data and positions, cut to 2 decimals of a point (1/7200 inch): the
# default 6 decimals make a 2,000-point line ~40% larger for no visible difference.
_PATH_DATA = re.compile(r'(?<= d=")[^"]*|(?<= [xy]=")[^"]*')
_LONG_DECIMAL = re.compile(r"(\d+\.\d\d)\d+")
# Indentation, the RDF metadata, the DOCTYPE (a DTD URL nothing fetches, but why ship one) and
# no-op rotations carry nothing an <img> shows: ~25% of a small chart.
_DROP = re.compile(
    r'\s*<metadata>.*?</metadata>|<!DOCTYPE[^>]*>\s*| transform="rotate\(-?0 [^"]*\)"', re.DOTALL
)
_INDENT = re.compile(r"\n[ \t]+")


@dataclass(frozen=True, slots=True)
class Line:
    """One series to draw: values by step, on the left axis or on a second (right) y axis."""

    steps: np.ndarray
    values: np.ndarray
    axis: Literal["left", "right"] = "left"
    colour: int | None = None  # index into PALETTE; None: the line's position
    dashed: bool = False  # a reference (the baseline of a comparison), told apart without colour
    # TensorBoard's smoothing weight (0: none): the raw series drawn faint, its EMA solid on top
    smooth: float = 0.0


@dataclass(frozen=True, slots=True)
class Chart:
    """What to draw: lines, shaded step ranges, and marked steps."""

    lines: Sequence[Line]
    spans: Sequence[tuple[int, int]] = ()
    marks: Sequence[int] = ()
    log_left: bool | None = None  # None: log scale when the positive values span >= 1e3
    size: Size = "wide"
    max_points: int | None = None  # None: by size
    levels: Sequence[float] = ()  # values marked by a dotted horizontal line (a target)
    ylabel: str | None = None  # what the left axis measures ("loss"): fixed words, never a tag


def decimate(
    steps: np.ndarray, values: np.ndarray, max_points: int = MAX_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """At most ~``max_points`` points: the min and max of each bucket, in step order.

    Buckets are runs of consecutive points (not step ranges), so a dense stretch is not thinned
    more than a sparse one. A bucket whose values are all NaN/Inf becomes one NaN point, which
    matplotlib draws as a gap. Shorter series come back unchanged.
    """
    steps = np.asarray(steps)
    values = np.asarray(values, dtype=float)
    n = values.size
    if n <= max_points:
        return steps, values
    width = -(-n // max(1, max_points // 2))  # points per bucket (ceil)
    buckets = -(-n // width)  # so that only the last bucket is padded, and never wholly
    pad = buckets * width - n
    finite = np.isfinite(values)
    lo = np.concatenate([np.where(finite, values, np.inf), np.full(pad, np.inf)])
    hi = np.concatenate([np.where(finite, values, -np.inf), np.full(pad, -np.inf)])
    lo, hi = lo.reshape(buckets, width), hi.reshape(buckets, width)
    offset = np.arange(buckets) * width
    i_min = offset + lo.argmin(axis=1)
    i_max = offset + hi.argmax(axis=1)
    empty = ~np.isfinite(lo.min(axis=1))  # nothing finite in the bucket
    first = np.where(empty, offset, np.minimum(i_min, i_max))
    second = np.maximum(i_min, i_max)
    # Interleave (first, second) per bucket; drop the second where it repeats the first.
    idx = np.stack([first, second], axis=1).ravel()
    keep = np.ones(idx.size, dtype=bool)
    keep[1::2] = (second != first) & ~empty
    out = values[idx[keep]].copy()
    out[np.repeat(empty, 2)[keep]] = np.nan  # all-NaN/Inf bucket: a gap in the line
    idx = idx[keep]
    return steps[idx], out


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's smoothing: an exponential moving average, debiased at the start.

    ``weight`` is TensorBoard's slider (0.6 by default there). NaN/Inf points stay NaN and do
    not enter the average, so a gap in the raw line is a gap in the smoothed one.
    """
    values = np.asarray(values, dtype=float)
    out = np.full(values.size, np.nan)
    last, n = 0.0, 0
    for i, v in enumerate(values.tolist()):
        if not np.isfinite(v):
            continue
        last = last * weight + (1 - weight) * v
        n += 1
        out[i] = last / (1 - weight**n)
    return out


def nonfinite_steps(
    steps: np.ndarray, values: np.ndarray, max_points: int = MAX_POINTS
) -> np.ndarray:
    """Steps whose value is NaN/Inf, at most one per decimation bucket (for a rug of marks)."""
    steps = np.asarray(steps)
    bad = ~np.isfinite(np.asarray(values, dtype=float))
    if not bad.any():
        return steps[:0]
    buckets = max(1, max_points // 2)
    width = max(1, -(-bad.size // buckets))
    idx = np.flatnonzero(bad)
    _, first_per_bucket = np.unique(idx // width, return_index=True)
    return steps[idx[first_per_bucket]]


def render_svg(fig: Figure) -> bytes:
    """The figure as SVG, identical byte for byte for the same input."""
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context(RC_PARAMS):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue().decode("utf-8")
    svg = _PATH_DATA.sub(lambda m: _LONG_DECIMAL.sub(r"\1", m.group(0)), svg)
    svg = _INDENT.sub("\n", _DROP.sub("", svg))
    return svg.encode("utf-8")


def data_uri(svg: bytes) -> str:
    """An ``<img src>`` value that needs no request: the SVG, base64-encoded."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def y_scale(values: Sequence[np.ndarray], log: bool | None) -> tuple[YScale, float]:
    """The left axis' scale, and symlog's linear threshold (the smallest positive value).

    Log when asked, or when the positive values span >= 3 decades; symlog instead of log when
    some values are zero or negative (linear within the smallest positive value of zero).
    """
    finite = [v[np.isfinite(v)] for v in (np.asarray(v, dtype=float) for v in values)]
    finite = [v for v in finite if v.size]
    if not finite:
        return "linear", 0.0
    allv = np.concatenate(finite)
    positive = allv[allv > 0]
    if log is None:
        # Decided on the positive values: one exact 0 (a stuck run) must not turn a chart
        # spanning decades linear and hide its plateau.
        log = spans_decades(positive) and positive.size >= 0.5 * allv.size
    if not log or not positive.size:
        return "linear", 0.0
    if positive.size == allv.size:
        return "log", 0.0
    return "symlog", float(positive.min())


def set_y_scale(ax: object, values: list[np.ndarray], log: bool | None) -> None:
    """:func:`y_scale` applied to a matplotlib axes (the sweep chart)."""
    scale, linthresh = y_scale(values, log)
    if scale == "log":
        ax.set_yscale("log")  # type: ignore[attr-defined]
    elif scale == "symlog":
        ax.set_yscale("symlog", linthresh=linthresh)  # type: ignore[attr-defined]


def spans_decades(finite: np.ndarray) -> bool:
    """Whether finite values are all positive and span >= 3 decades (then a log axis reads)."""
    return (
        bool(finite.size)
        and bool((finite > 0).all())
        and (float(finite.max()) >= 1e3 * float(finite.min()))
    )


# ---------------------------------------------------------------------------------------------
# Distributions: a histogram tag (weights, gradients, activations) over steps as nested bands,
# TensorBoard's "distributions" view. The percentiles are measured (measures.histogram_bands).

MAX_DISTRIBUTION_STEPS = 200  # steps drawn per chart; more are thinned evenly


def distribution_svg(steps: np.ndarray, quantiles: np.ndarray) -> bytes:
    """Nested bands (min-max, 7-93%, 16-84%, 31-69%) and the median, by step.

    ``quantiles`` has one row per step, its columns the percentiles from lowest to highest
    (:data:`analyzer.measures.DISTRIBUTION_BPS`).
    """
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter, MaxNLocator

    steps = np.asarray(steps)
    if steps.size > MAX_DISTRIBUTION_STEPS:
        keep = np.unique(np.linspace(0, steps.size - 1, MAX_DISTRIBUTION_STEPS).round().astype(int))
        steps, quantiles = steps[keep], quantiles[keep]
    with matplotlib.rc_context(RC_PARAMS):
        fig = Figure(figsize=(3.6, 1.6))
        fig.subplots_adjust(left=0.16, right=0.97, bottom=0.16, top=0.92)
        fig.patch.set_visible(False)
        ax = fig.add_subplot()
        ax.patch.set_visible(False)
        n = quantiles.shape[1]
        for i in range(n // 2):
            ax.fill_between(
                steps, quantiles[:, i], quantiles[:, n - 1 - i],
                color=PALETTE[0], alpha=0.15 + 0.12 * i, lw=0,
            )  # fmt: skip
        ax.plot(steps, quantiles[:, n // 2], color=PALETTE[0], lw=0.9)
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
        ax.xaxis.set_major_locator(MaxNLocator(4, integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.tick_params(labelsize=6.5, length=2.5)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return render_svg(fig)
