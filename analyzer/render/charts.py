"""Line charts for the HTML report, as deterministic SVG data URIs.

Built on a bare :class:`matplotlib.figure.Figure` (never pyplot: no global figure registry, no
GUI backend, safe to call from a library). Each chart holds no user text at all: titles and
legends are written in HTML around the ``<img>``, so tag names never meet matplotlib's mathtext
parser (a ``$`` in a tag) or its "labels starting with ``_`` are hidden" rule.

Long series are decimated before plotting (:func:`decimate`): the min and the max of each bucket
of consecutive points are kept, so a million-step run gives a chart of ~2,000 points per line
that still shows every spike.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter, MaxNLocator

# Line colours, by position; templates/report.css repeats them (.key--0 ...) for the legends.
PALETTE = ("#1f6fb4", "#d9480f", "#2b8a3e", "#7048e8", "#868e96")
SPAN_COLOR = "#f59f00"  # the steps a finding covers
MARK_COLOR = "#495057"  # a step named in the evidence (best step, first NaN, ...)
BAD_COLOR = "#c92a2a"  # steps whose value is NaN/Inf

# ~2,000 points per line in a full-width chart: about four per horizontal pixel of the
# 460-point-wide figure, more than the eye can resolve, and about 50 KB of SVG per line.
MAX_POINTS = 2000
# Small multiples are a third as wide, so a third of the points keeps the same density.
SMALL_MAX_POINTS = 600

Size = Literal["wide", "small"]
_FIGSIZE: dict[str, tuple[float, float]] = {"wide": (6.4, 2.3), "small": (3.0, 1.5)}

# Everything that makes matplotlib's SVG differ between two runs of the same input, fixed;
# plus text as <text> elements instead of glyph outlines (smaller, and selectable).
_RC: dict[Any, Any] = {  # Any keys: matplotlib types them as a Literal of every rcParam
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
    buf = io.BytesIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue().decode("utf-8")
    svg = _PATH_DATA.sub(lambda m: _LONG_DECIMAL.sub(r"\1", m.group(0)), svg)
    svg = _INDENT.sub("\n", _DROP.sub("", svg))
    return svg.encode("utf-8")


def data_uri(svg: bytes) -> str:
    """An ``<img src>`` value that needs no request: the SVG, base64-encoded."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def chart_svg(chart: Chart) -> bytes:
    """Draw ``chart`` (see :class:`Chart`) and return its SVG."""
    with matplotlib.rc_context(_RC):
        return render_svg(chart_figure(chart))


def chart_figure(chart: Chart) -> Figure:
    """The matplotlib figure of ``chart`` (see :class:`Chart`)."""
    max_points = chart.max_points or (MAX_POINTS if chart.size == "wide" else SMALL_MAX_POINTS)
    with matplotlib.rc_context(_RC):
        # Constrained layout fits any tick label but draws twice: half the time of a chart.
        # Small multiples (most of the charts) take fixed margins that fit 6-character labels.
        small = chart.size == "small"
        fig = Figure(figsize=_FIGSIZE[chart.size], layout=None if small else "constrained")
        if small:
            fig.subplots_adjust(left=0.15, right=0.97, bottom=0.15, top=0.9)  # 0.9: "1e9"
        fig.patch.set_visible(False)  # the page is the background: fewer bytes
        ax = fig.add_subplot()
        ax.patch.set_visible(False)
        right = ax.twinx() if any(line.axis == "right" for line in chart.lines) else None
        all_steps = [np.asarray(line.steps) for line in chart.lines if len(line.steps)]
        width = (
            # Python ints: a span of int64 steps can overflow int64 itself (issue #14).
            float(max(int(s.max()) for s in all_steps) - min(int(s.min()) for s in all_steps))
            if all_steps
            else 0.0
        )
        for start, end in chart.spans:
            if end - start > 0:
                ax.axvspan(start, end, color=SPAN_COLOR, alpha=0.18, lw=0, zorder=0)
            if end - start <= 0.01 * width:
                # Too narrow to see as a band (one step of a long run): a solid line too.
                ax.axvline(start, color=SPAN_COLOR, lw=1.5, alpha=0.8, zorder=0)
        for step in chart.marks:
            ax.axvline(step, color=MARK_COLOR, lw=0.8, ls=(0, (3, 2)), zorder=1)
        for level in chart.levels:
            ax.axhline(level, color=MARK_COLOR, lw=0.8, ls=(0, (1, 1.5)), zorder=1)
        left_values: list[np.ndarray] = []
        for i, line in enumerate(chart.lines):
            target = right if line.axis == "right" and right is not None else ax
            order = np.argsort(np.asarray(line.steps), kind="stable")
            steps, values = np.asarray(line.steps)[order], np.asarray(line.values, float)[order]
            x, y = decimate(steps, values, max_points)
            color = PALETTE[(i if line.colour is None else line.colour) % len(PALETTE)]
            lw = 0.9 if chart.size == "wide" else 0.8
            marker = "o" if x.size <= 40 else None  # a few evaluations: show the points
            ls = (0, (4, 2)) if line.dashed else "-"
            target.plot(x, y, color=color, lw=lw, ls=ls, marker=marker, ms=2.5, zorder=2)
            bad = nonfinite_steps(steps, values, max_points)
            if bad.size:
                # A rug at the bottom of the axes: the line has a gap there, say why.
                target.plot(
                    bad,
                    np.zeros(bad.size),
                    ls="",
                    marker="|",
                    ms=6,
                    color=BAD_COLOR,
                    transform=target.get_xaxis_transform(),
                    clip_on=False,
                    zorder=3,
                )
            if target is ax:
                left_values.append(y)
        _scale(ax, left_values, chart.log_left)
        for a in (ax, right):
            if a is None:
                continue
            a.xaxis.set_major_formatter(EngFormatter(sep=""))
            a.xaxis.set_major_locator(MaxNLocator(6 if chart.size == "wide" else 3, integer=True))
            a.yaxis.set_major_locator(
                a.yaxis.get_major_locator()
                if a.get_yscale() == "log"
                else MaxNLocator(5 if chart.size == "wide" else 3)
            )
            a.tick_params(labelsize=7 if chart.size == "wide" else 6.5, length=2.5)
            a.spines["top"].set_visible(False)
        if right is None:
            ax.spines["right"].set_visible(False)
        if chart.size == "wide":
            ax.grid(True, color="#e9ecef", lw=0.5)
            ax.set_xlabel("step", fontsize=7, color="#495057")
        return fig


def chart_uri(chart: Chart) -> str:
    """:func:`chart_svg` as a data URI."""
    return data_uri(chart_svg(chart))


def _scale(ax: object, values: list[np.ndarray], log: bool | None) -> None:
    """Log scale for the left axis when asked, or when positive values span >= 3 decades."""
    finite = [v[np.isfinite(v)] for v in values]
    finite = [v for v in finite if v.size]
    if not finite:
        return
    allv = np.concatenate(finite)
    positive = bool((allv > 0).all())
    if log is None:
        log = _spans_decades(allv)
    if log and positive:
        ax.set_yscale("log")  # type: ignore[attr-defined]


def _spans_decades(finite: np.ndarray) -> bool:
    """Whether finite values are all positive and span >= 3 decades (then a log axis reads)."""
    return (
        bool(finite.size)
        and bool((finite > 0).all())
        and (float(finite.max()) >= 1e3 * float(finite.min()))
    )


# ---------------------------------------------------------------------------------------------
# Sparklines: the appendix's one small chart per scalar tag, written as SVG by hand.
#
# A matplotlib figure costs ~75 ms and ~8 KB whatever its points (axes, ticks, text): with a
# dozen tags per run that was most of the time and size of a report of many runs. A sparkline
# is a path of at most SPARK_POINTS points, its y range named in the HTML caption: ~1-2 KB,
# well under a millisecond.

SPARK_WIDTH, SPARK_HEIGHT = 240, 56  # CSS pixels: a tile of the appendix grid is ~15rem wide
SPARK_POINTS = 240  # min and max of 120 buckets: one point per CSS pixel of the tile
_SPARK_SCALE = 2  # user units per CSS pixel, so integer coordinates keep half-pixel precision
_SPARK_PAD = (8, 6, 14, 6)  # top, right, bottom (room for the NaN rug), left, in user units
_SPARK_DOTS = 40  # this few points: draw each one, as the wide charts do


@dataclass(frozen=True, slots=True)
class Spark:
    """A sparkline and the y range it spans (None when nothing finite was drawn)."""

    uri: str
    lo: float | None
    hi: float | None
    log: bool


def sparkline(
    steps: np.ndarray, values: np.ndarray, colour: int = 0, max_points: int = SPARK_POINTS
) -> Spark:
    """One series as a small SVG: the line (gaps at NaN/Inf), a red rug where values are bad."""
    order = np.argsort(np.asarray(steps), kind="stable")
    steps = np.asarray(steps)[order]
    values = np.asarray(values, dtype=float)[order]
    x, y = decimate(steps, values, max_points)
    finite = np.isfinite(y)
    log = _spans_decades(y[finite])
    w, h = SPARK_WIDTH * _SPARK_SCALE, SPARK_HEIGHT * _SPARK_SCALE
    top, right, bottom, left = _SPARK_PAD
    span_w, span_h = w - left - right, h - top - bottom
    x0, x1 = (float(steps[0]), float(steps[-1])) if steps.size else (0.0, 0.0)
    px = (
        left + (x.astype(float) - x0) / (x1 - x0) * span_w
        if x1 > x0
        else np.full(x.size, left + span_w / 2)
    )
    lo = hi = None
    py = np.full(y.size, float("nan"))
    if finite.any():
        yv = np.log10(y[finite]) if log else y[finite]
        lo, hi = float(y[finite].min()), float(y[finite].max())
        a, b = float(yv.min()), float(yv.max())
        py[finite] = top + (b - yv) / (b - a) * span_h if b > a else top + span_h / 2
    colour_hex = PALETTE[colour % len(PALETTE)]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SPARK_WIDTH}" height="{SPARK_HEIGHT}" '
        f'viewBox="0 0 {w} {h}">',
        # Faint rules at the top and the bottom of the range: the caption names their values.
        f'<path d="M{left} {top}H{w - right}M{left} {top + span_h}H{w - right}" '
        'stroke="#e9ecef" stroke-width="2"/>',
    ]
    path = _spark_path(px, py)
    if path:
        dots = ' stroke-width="6"' if x.size <= _SPARK_DOTS else ' stroke-width="2.4"'
        parts.append(
            f'<path d="{path}" fill="none" stroke="{colour_hex}"{dots} '
            'stroke-linejoin="round" stroke-linecap="round"/>'
        )
        if x.size <= _SPARK_DOTS and x.size > 1:
            # Few points: join them with a thin line under the dots drawn above.
            joined = _spark_path(px, py, dots=False)
            parts.insert(2, f'<path d="{joined}" fill="none" stroke="{colour_hex}" '
                            'stroke-width="1.6" stroke-linejoin="round"/>')  # fmt: skip
    bad = nonfinite_steps(steps, values, max_points)
    if bad.size:
        rx = (
            left + (bad.astype(float) - x0) / (x1 - x0) * span_w
            if x1 > x0
            else np.full(bad.size, left + span_w / 2)
        )
        rug = "".join(f"M{v:.0f} {h - 2}v-8" for v in rx)
        parts.append(f'<path d="{rug}" stroke="{BAD_COLOR}" stroke-width="2"/>')
    parts.append("</svg>")
    return Spark(uri=data_uri("".join(parts).encode("utf-8")), lo=lo, hi=hi, log=log)


def _spark_path(px: np.ndarray, py: np.ndarray, *, dots: bool | None = None) -> str:
    """SVG path data through the finite points; a NaN starts a new subpath (a gap).

    With ``dots`` (the default when there are few points) every point is its own zero-length
    subpath, which a round line cap draws as a dot.
    """
    if dots is None:
        dots = px.size <= _SPARK_DOTS
    out: list[str] = []
    pen_down = False
    for x, y in zip(px.tolist(), py.tolist(), strict=True):
        if y != y:  # NaN: lift the pen
            pen_down = False
            continue
        if dots:
            out.append(f"M{x:.0f} {y:.0f}h0")
        elif pen_down:
            out.append(f" {x:.0f} {y:.0f}")  # after M, bare pairs are line-tos
        else:
            out.append(f"M{x:.0f} {y:.0f}")
            pen_down = True
    return "".join(out).strip()


# ---------------------------------------------------------------------------------------------
# Sweeps: an outcome against one hyperparameter, across runs.

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
    with matplotlib.rc_context(_RC):
        return render_svg(sweep_figure(sweep))


def sweep_figure(sweep: Sweep) -> Figure:
    """The matplotlib figure of ``sweep``: runs as dots, mean as a line, mean ± std as a band."""
    with matplotlib.rc_context(_RC):
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
        _scale(ax, [finite[np.isfinite(finite)]], None)
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
