"""A :class:`~.charts.Chart` written as SVG by hand: the report's line charts without matplotlib.

Importing matplotlib alone (~0.3 CPU-s) was over the start-up budget of a one-run report
(issue #12), and a line chart needs little of it: a frame, "nice" ticks, lines, shaded spans
and dashed marks. What is drawn is what the matplotlib version drew (colours, log axis when the
values span decades, symlog with zeros, a faint raw line under its EMA, a red rug where values
are NaN/Inf); only the numbers in the Chart are drawn, none is computed here beyond the axes.

The axes' ticks are :mod:`.axes`' (1-2-5 steps, powers of ten on a log axis). Every text goes
through XML escaping. The output is identical byte for byte for the same chart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

import numpy as np

from .axes import Scale, Tick, eng_ticks, label_width, view_range
from .charts import (
    BAD_COLOR,
    MARK_COLOR,
    MAX_POINTS,
    PALETTE,
    SMALL_MAX_POINTS,
    SPAN_COLOR,
    Chart,
    Line,
    data_uri,
    decimate,
    ema,
    nonfinite_steps,
    y_scale,
)

# CSS pixels (the <img> scales to its column): the 6.4 x 2.3 inch figure matplotlib drew.
_SIZE = {"wide": (640, 230), "small": (300, 150)}
_FONT = {"wide": 9.5, "small": 8.5}
# At most this many intervals between ticks: (x, y) per size.
_MAX_INTERVALS = {"wide": (8, 5), "small": (3, 3)}
_LINE_WIDTH = {"wide": 1.3, "small": 1.1}
_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif"
_TEXT = "#495057"
_AXIS = "#868e96"
_GRID = "#e9ecef"
_TICK, _GAP = 3.5, 3.0  # tick length, and the gap from a tick to its label
_DOTS = 40  # this few points on a line: each one drawn as a dot too
_DOT = 4.5  # its diameter


# ---------------------------------------------------------------------------------------------
# Drawing.


def _n(v: float) -> str:
    """A coordinate: one decimal (a tenth of a CSS pixel), no trailing zeros."""
    text = f"{v:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _path(px: np.ndarray, py: np.ndarray, *, dots: bool = False) -> str:
    """Path data through the points whose y is finite: a non-finite y lifts the pen (a gap).

    A point alone between gaps (or every point, with ``dots``) is a zero-length subpath, which
    the round line cap draws as a dot.
    """
    out: list[str] = []
    xs, ys = px.tolist(), py.tolist()
    n = len(xs)
    for i in range(n):
        y = ys[i]
        if not math.isfinite(y):
            continue
        prev_ok = i > 0 and math.isfinite(ys[i - 1])
        next_ok = i + 1 < n and math.isfinite(ys[i + 1])
        point = f"{_n(xs[i])} {_n(y)}"
        if dots or not (prev_ok or next_ok):
            out.append(f"M{point}h0")
        elif prev_ok:
            out.append(f" {point}")  # after M, a bare pair is a line-to
        else:
            out.append(f"M{point}")
    return "".join(out)


def _text(x: float, y: float, tick: Tick, anchor: str, font: float) -> str:
    power = (
        f'<tspan dy="{_n(-0.45 * font)}" font-size="{_n(0.75 * font)}">{escape(tick.power)}</tspan>'
        if tick.power
        else ""
    )
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}">{escape(tick.label)}{power}</text>'
    )


@dataclass(frozen=True, slots=True)
class _Series:
    """A line as drawn: sorted by step and decimated; its EMA beside it when smoothed."""

    axis: str
    colour: str
    dashed: bool
    x: np.ndarray
    y: np.ndarray
    smooth: tuple[np.ndarray, np.ndarray] | None
    bad: np.ndarray  # steps whose value is NaN/Inf, one per decimation bucket

    @property
    def shown(self) -> np.ndarray:
        """The values of the solid line: the EMA when smoothed."""
        return self.y if self.smooth is None else self.smooth[1]

    @property
    def values(self) -> tuple[np.ndarray, ...]:
        return (self.y,) if self.smooth is None else (self.y, self.smooth[1])


def _series(line: Line, position: int, max_points: int) -> _Series:
    order = np.argsort(np.asarray(line.steps), kind="stable")
    steps = np.asarray(line.steps)[order]
    values = np.asarray(line.values, dtype=float)[order]
    x, y = decimate(steps, values, max_points)
    smooth = None
    if line.smooth > 0:
        sx, sy = decimate(steps, ema(values, line.smooth), max_points)
        smooth = (sx.astype(float), sy)
    return _Series(
        axis=line.axis,
        colour=PALETTE[(position if line.colour is None else line.colour) % len(PALETTE)],
        dashed=line.dashed,
        x=x.astype(float),  # Python floats: a span of int64 steps can overflow int64 itself
        y=y,
        smooth=smooth,
        bad=nonfinite_steps(steps, values, max_points).astype(float),
    )


@dataclass(frozen=True, slots=True)
class _Frame:
    """The plot area (CSS pixels), the ranges it shows, and its ticks with their positions."""

    x0: float
    x1: float
    y0: float  # top
    y1: float  # bottom
    x_view: tuple[float, float]
    views: dict[str, tuple[float, float]]  # "left"/"right": the y range, in the scale's terms
    scales: dict[str, Scale]
    x_ticks: list[tuple[Tick, float]]
    y_ticks: dict[str, list[tuple[Tick, float]]]

    def px(self, v: np.ndarray | float) -> np.ndarray:
        lo, hi = self.x_view
        return self.x0 + (np.asarray(v, dtype=float) - lo) / (hi - lo) * (self.x1 - self.x0)

    def py(self, v: np.ndarray | float, axis: str = "left") -> np.ndarray:
        """Where values ``v`` of that axis are drawn (through its scale: log10, symlog)."""
        lo, hi = self.views[axis]
        t = self.scales[axis].forward(np.asarray(v, dtype=float))
        return self.y1 - (t - lo) / (hi - lo) * (self.y1 - self.y0)


def _layout(chart: Chart, drawn: list[_Series]) -> _Frame:
    """Scales, ranges and ticks; then the plot area, leaving room for the tick labels."""
    width, height = _SIZE[chart.size]
    font = _FONT[chart.size]
    x_intervals, y_intervals = _MAX_INTERVALS[chart.size]
    # The scale is decided on the lines as drawn (a smoothed line's EMA), the ranges on all.
    scales = {
        "left": Scale(*y_scale([d.shown for d in drawn if d.axis == "left"], chart.log_left)),
        "right": Scale("linear"),
    }
    xs = [d.x for d in drawn if d.x.size]
    ends = [float(v) for span in chart.spans for v in span] + [float(m) for m in chart.marks]
    x_view = view_range([*xs, np.array(ends)]) if xs or ends else (0.0, 1.0)
    shown = {"left": [np.asarray(chart.levels, dtype=float)], "right": []}  # levels: left
    for d in drawn:
        shown[d.axis] += d.values
    views = {axis: view_range([scales[axis].forward(v) for v in shown[axis]]) for axis in shown}
    x_ticks = eng_ticks(*x_view, x_intervals)
    has_right = any(d.axis == "right" for d in drawn)
    y_ticks = {
        axis: scales[axis].ticks(*views[axis], y_intervals)
        for axis in ("left", "right")
        if axis == "left" or has_right
    }

    def room(ticks: list[Tick]) -> float:
        return max((label_width(t, font) for t in ticks), default=0.0) + _TICK + _GAP

    x0 = 4 + (font + 4 if chart.ylabel else 0) + room(y_ticks["left"])
    # Without a right axis, room for half the last step label, centred under its tick.
    half_last = max((label_width(t, font) / 2 + 2 for t in x_ticks[-1:]), default=0.0)
    x1 = width - (4 + room(y_ticks["right"]) if has_right else max(10.0, half_last))
    y0 = 8 + (0.45 * font if any(t.power for t in y_ticks["left"]) else 0)  # a superscript
    y1 = height - (_TICK + _GAP + font + 2 + (font + 4 if chart.size == "wide" else 0))
    frame = _Frame(x0, x1, y0, y1, x_view, views, scales, [], {})
    return _Frame(
        x0, x1, y0, y1, x_view, views, scales,
        x_ticks=[(t, float(frame.px(t.value))) for t in x_ticks],
        y_ticks={
            axis: [(t, float(frame.py(t.value, axis))) for t in ticks]
            for axis, ticks in y_ticks.items()
        },
    )  # fmt: skip


def _backdrop(chart: Chart, f: _Frame, data_width: float) -> list[str]:
    """Under the lines: the grid, the finding's shaded steps, marked steps and levels."""
    out = []
    top, bottom = _n(f.y0), _n(f.y1)
    if chart.size == "wide":
        grid = "".join(f"M{_n(x)} {top}V{bottom}" for _, x in f.x_ticks)
        grid += "".join(f"M{_n(f.x0)} {_n(y)}H{_n(f.x1)}" for _, y in f.y_ticks["left"])
        out.append(f'<path d="{grid}" stroke="{_GRID}" stroke-width="0.7"/>')
    for start, end in chart.spans:
        a, b = float(f.px(start)), float(f.px(end))
        if end - start > 0:
            out.append(
                f'<rect x="{_n(a)}" y="{top}" width="{_n(b - a)}" height="{_n(f.y1 - f.y0)}" '
                f'fill="{SPAN_COLOR}" fill-opacity="0.18"/>'
            )
        if end - start <= 0.01 * data_width:
            # Too narrow to see as a band (one step of a long run): a solid line too.
            out.append(
                f'<path d="M{_n(a)} {top}V{bottom}" stroke="{SPAN_COLOR}" '
                'stroke-width="2" stroke-opacity="0.8"/>'
            )
    marks = "".join(f"M{_n(float(f.px(m)))} {top}V{bottom}" for m in chart.marks)
    levels = "".join(
        f"M{_n(f.x0)} {_n(y)}H{_n(f.x1)}"
        for y in f.py(np.asarray(chart.levels, dtype=float)).tolist()
        if math.isfinite(y)
    )
    for rules, dashes in ((marks, "4 2.7"), (levels, "1.3 2")):  # dashed steps, dotted levels
        if rules:
            out.append(
                f'<path d="{rules}" stroke="{MARK_COLOR}" stroke-width="1.1" '
                f'stroke-dasharray="{dashes}"/>'
            )
    return out


def _lines(drawn: list[_Series], f: _Frame, lw: float) -> list[str]:
    """The lines, clipped to the plot area; the red rug of NaN/Inf steps under it."""
    lines, rug = [], []
    for d in drawn:
        dash = ' stroke-dasharray="5.3 2.7"' if d.dashed else ""
        style = f'fill="none" stroke="{d.colour}" stroke-linejoin="round" stroke-linecap="round"'
        path = _path(f.px(d.x), f.py(d.y, d.axis))
        if d.smooth is not None:
            # The raw series faint beneath, its EMA (computed on every point) on top.
            lines.append(
                f'<path d="{path}" {style} stroke-width="{_n(lw * 0.8)}" '
                f'stroke-opacity="0.25"{dash}/>'
            )
            path = _path(f.px(d.smooth[0]), f.py(d.smooth[1], d.axis))
        lines.append(f'<path d="{path}" {style} stroke-width="{_n(lw)}"{dash}/>')
        if d.smooth is None and d.x.size <= _DOTS:  # a few evaluations: show the points
            dots = _path(f.px(d.x), f.py(d.y, d.axis), dots=True)
            lines.append(f'<path d="{dots}" {style} stroke-width="{_n(_DOT)}"/>')
        rug += [f"M{_n(x)} {_n(f.y1 + 4)}v-8" for x in f.px(d.bad).tolist()]
    out = [f'<g clip-path="url(#plot)">{"".join(lines)}</g>']
    if rug:
        # At the bottom of the axes: the line has a gap there, say why.
        out.append(f'<path d="{"".join(rug)}" stroke="{BAD_COLOR}" stroke-width="1.1"/>')
    return out


def _axes(chart: Chart, f: _Frame) -> list[str]:
    """The frame, the ticks and their labels, and the axis labels."""
    font = _FONT[chart.size]
    height = _SIZE[chart.size][1]
    right = f.y_ticks.get("right")
    frame = f"M{_n(f.x0)} {_n(f.y0)}V{_n(f.y1)}H{_n(f.x1)}" + (f"V{_n(f.y0)}" if right else "")
    ticks = "".join(f"M{_n(x)} {_n(f.y1)}v{_n(_TICK)}" for _, x in f.x_ticks)
    ticks += "".join(f"M{_n(f.x0)} {_n(y)}h{_n(-_TICK)}" for _, y in f.y_ticks["left"])
    ticks += "".join(f"M{_n(f.x1)} {_n(y)}h{_n(_TICK)}" for _, y in right or ())
    gap = _TICK + _GAP
    texts = [_text(x, f.y1 + gap + 0.8 * font, t, "middle", font) for t, x in f.x_ticks]
    texts += [_text(f.x0 - gap, y + 0.35 * font, t, "end", font) for t, y in f.y_ticks["left"]]
    texts += [_text(f.x1 + gap, y + 0.35 * font, t, "start", font) for t, y in right or ()]
    if chart.size == "wide":
        texts.append(_text((f.x0 + f.x1) / 2, height - 4, Tick(0, "step"), "middle", font))
    if chart.ylabel:
        texts.append(
            f'<text transform="rotate(-90)" x="{_n(-(f.y0 + f.y1) / 2)}" '
            f'y="{_n(4 + 0.8 * font)}" text-anchor="middle">{escape(chart.ylabel)}</text>'
        )
    return [
        f'<path d="{frame}" fill="none" stroke="{_AXIS}" stroke-width="0.8"/>',
        f'<path d="{ticks}" stroke="{_TEXT}" stroke-width="0.8"/>',
        f'<g fill="{_TEXT}">{"".join(texts)}</g>',
    ]


def chart_svg(chart: Chart) -> bytes:
    """Draw ``chart`` (see :class:`~.charts.Chart`) and return its SVG."""
    width, height = _SIZE[chart.size]
    max_points = chart.max_points or (MAX_POINTS if chart.size == "wide" else SMALL_MAX_POINTS)
    drawn = [_series(line, i, max_points) for i, line in enumerate(chart.lines)]
    f = _layout(chart, drawn)
    xs = [d.x for d in drawn if d.x.size]
    data_width = max(float(x.max()) for x in xs) - min(float(x.min()) for x in xs) if xs else 0.0
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{_FAMILY}" '
        f'font-size="{_n(_FONT[chart.size])}">',
        f'<defs><clipPath id="plot"><rect x="{_n(f.x0)}" y="{_n(f.y0)}" '
        f'width="{_n(f.x1 - f.x0)}" height="{_n(f.y1 - f.y0)}"/></clipPath></defs>',
        *_backdrop(chart, f, data_width),
        *_lines(drawn, f, _LINE_WIDTH[chart.size]),
        *_axes(chart, f),
        "</svg>",
    ]
    return "".join(out).encode("utf-8")


def chart_uri(chart: Chart) -> str:
    """:func:`chart_svg` as a data URI."""
    return data_uri(chart_svg(chart))
