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


def chart_svg(chart: Chart) -> bytes:
    """Draw ``chart`` (see :class:`~.charts.Chart`) and return its SVG."""
    width, height = _SIZE[chart.size]
    font = _FONT[chart.size]
    x_intervals, y_intervals = _MAX_INTERVALS[chart.size]
    max_points = chart.max_points or (MAX_POINTS if chart.size == "wide" else SMALL_MAX_POINTS)
    lw = _LINE_WIDTH[chart.size]

    drawn = [_series(line, i, max_points) for i, line in enumerate(chart.lines)]
    # The scale is decided on the lines as drawn (a smoothed line's EMA), the view on all.
    left = Scale(*y_scale([d.shown for d in drawn if d.axis == "left"], chart.log_left))
    has_right = any(d.axis == "right" for d in drawn)
    right = Scale("linear")
    xs = [d.x for d in drawn if d.x.size]
    data_width = max(float(x.max()) for x in xs) - min(float(x.min()) for x in xs) if xs else 0.0
    span_ends = [float(v) for span in chart.spans for v in span]
    x_view = view_range([*xs, np.array(span_ends + [float(m) for m in chart.marks])])
    if not xs and not span_ends and not chart.marks:
        x_view = (0.0, 1.0)
    levels = left.forward(np.asarray(chart.levels, dtype=float))
    y_view = view_range(
        [left.forward(v) for d in drawn if d.axis == "left" for v in d.values] + [levels]
    )
    r_view = view_range([v for d in drawn if d.axis == "right" for v in d.values])

    x_ticks = eng_ticks(*x_view, x_intervals)
    y_ticks = left.ticks(*y_view, y_intervals)
    r_ticks = right.ticks(*r_view, y_intervals) if has_right else []

    # The plot area: room for the tick labels, the axis labels and the last x label's half.
    label_room = _TICK + _GAP
    pad_left = 4 + (font + 4 if chart.ylabel else 0)
    pad_left += max((label_width(t, font) for t in y_ticks), default=0) + label_room
    pad_right = (
        4 + max((label_width(t, font) for t in r_ticks), default=0) + label_room
        if has_right
        else max(10.0, max((label_width(t, font) for t in x_ticks[-1:]), default=0) / 2 + 2)
    )
    pad_top = 8 + (0.45 * font if any(t.power for t in y_ticks) else 0)
    pad_bottom = label_room + font + 2 + (font + 4 if chart.size == "wide" else 0)
    x0, x1 = pad_left, width - pad_right
    y0, y1 = pad_top, height - pad_bottom  # top, bottom

    def px(v: np.ndarray | float) -> np.ndarray:
        return x0 + (np.asarray(v, dtype=float) - x_view[0]) / (x_view[1] - x_view[0]) * (x1 - x0)

    def py(t: np.ndarray | float, view: tuple[float, float]) -> np.ndarray:
        return y1 - (np.asarray(t, dtype=float) - view[0]) / (view[1] - view[0]) * (y1 - y0)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{_FAMILY}" font-size="{_n(font)}">',
        f'<defs><clipPath id="plot"><rect x="{_n(x0)}" y="{_n(y0)}" width="{_n(x1 - x0)}" '
        f'height="{_n(y1 - y0)}"/></clipPath></defs>',
    ]
    y_pos = [(t, float(py(left.forward(np.array([t.value]))[0], y_view))) for t in y_ticks]
    x_pos = [(t, float(px(t.value))) for t in x_ticks]
    if chart.size == "wide":
        grid = "".join(f"M{_n(x)} {_n(y0)}V{_n(y1)}" for _, x in x_pos)
        grid += "".join(f"M{_n(x0)} {_n(y)}H{_n(x1)}" for _, y in y_pos)
        out.append(f'<path d="{grid}" stroke="{_GRID}" stroke-width="0.7"/>')
    for start, end in chart.spans:
        a, b = float(px(start)), float(px(end))
        if end - start > 0:
            out.append(
                f'<rect x="{_n(a)}" y="{_n(y0)}" width="{_n(b - a)}" height="{_n(y1 - y0)}" '
                f'fill="{SPAN_COLOR}" fill-opacity="0.18"/>'
            )
        if end - start <= 0.01 * data_width:
            # Too narrow to see as a band (one step of a long run): a solid line too.
            out.append(
                f'<path d="M{_n(a)} {_n(y0)}V{_n(y1)}" stroke="{SPAN_COLOR}" '
                'stroke-width="2" stroke-opacity="0.8"/>'
            )
    rules = "".join(f"M{_n(float(px(m)))} {_n(y0)}V{_n(y1)}" for m in chart.marks)
    if rules:
        out.append(
            f'<path d="{rules}" stroke="{MARK_COLOR}" stroke-width="1.1" stroke-dasharray="4 2.7"/>'
        )
    rules = "".join(
        f"M{_n(x0)} {_n(float(py(t, y_view)))}H{_n(x1)}"
        for t in levels.tolist()
        if math.isfinite(t)
    )
    if rules:
        out.append(
            f'<path d="{rules}" stroke="{MARK_COLOR}" stroke-width="1.1" stroke-dasharray="1.3 2"/>'
        )

    lines = []
    rug = []
    for d in drawn:
        scale, view = (right, r_view) if d.axis == "right" else (left, y_view)
        dash = ' stroke-dasharray="5.3 2.7"' if d.dashed else ""
        style = f'fill="none" stroke="{d.colour}" stroke-linejoin="round" stroke-linecap="round"'
        raw = _path(px(d.x), py(scale.forward(d.y), view))
        if d.smooth is not None:
            # The raw series faint beneath, its EMA (computed on every point) on top.
            lines.append(
                f'<path d="{raw}" {style} stroke-width="{_n(lw * 0.8)}" '
                f'stroke-opacity="0.25"{dash}/>'
            )
            raw = _path(px(d.smooth[0]), py(scale.forward(d.smooth[1]), view))
        lines.append(f'<path d="{raw}" {style} stroke-width="{_n(lw)}"{dash}/>')
        if d.smooth is None and d.x.size <= _DOTS:  # a few evaluations: show the points
            dots = _path(px(d.x), py(scale.forward(d.y), view), dots=True)
            lines.append(f'<path d="{dots}" {style} stroke-width="{_n(_DOT)}"/>')
        rug += [f"M{_n(v)} {_n(y1 + 4)}v-8" for v in px(d.bad).tolist()]
    out.append(f'<g clip-path="url(#plot)">{"".join(lines)}</g>')
    if rug:
        # At the bottom of the axes: the line has a gap there, say why.
        out.append(f'<path d="{"".join(rug)}" stroke="{BAD_COLOR}" stroke-width="1.1"/>')

    frame = f"M{_n(x0)} {_n(y0)}V{_n(y1)}H{_n(x1)}" + (f"V{_n(y0)}" if has_right else "")
    out.append(f'<path d="{frame}" fill="none" stroke="{_AXIS}" stroke-width="0.8"/>')
    r_pos = [(t, float(py(t.value, r_view))) for t in r_ticks]
    marks = "".join(f"M{_n(x)} {_n(y1)}v{_n(_TICK)}" for _, x in x_pos)
    marks += "".join(f"M{_n(x0)} {_n(y)}h{_n(-_TICK)}" for _, y in y_pos)
    marks += "".join(f"M{_n(x1)} {_n(y)}h{_n(_TICK)}" for _, y in r_pos)
    out.append(f'<path d="{marks}" stroke="{_TEXT}" stroke-width="0.8"/>')

    texts = [_text(x, y1 + label_room + 0.8 * font, t, "middle", font) for t, x in x_pos]
    texts += [_text(x0 - label_room, y + 0.35 * font, t, "end", font) for t, y in y_pos]
    texts += [_text(x1 + label_room, y + 0.35 * font, t, "start", font) for t, y in r_pos]
    if chart.size == "wide":
        texts.append(_text((x0 + x1) / 2, height - 4, Tick(0, "step"), "middle", font))
    if chart.ylabel:
        texts.append(
            f'<text transform="rotate(-90)" x="{_n(-(y0 + y1) / 2)}" y="{_n(4 + 0.8 * font)}" '
            f'text-anchor="middle">{escape(chart.ylabel)}</text>'
        )
    out.append(f'<g fill="{_TEXT}">{"".join(texts)}</g>')
    out.append("</svg>")
    return "".join(out).encode("utf-8")


def chart_uri(chart: Chart) -> str:
    """:func:`chart_svg` as a data URI."""
    return data_uri(chart_svg(chart))
