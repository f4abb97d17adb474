"""Sparklines: the appendix's one small chart per scalar tag, written as SVG by hand.

A matplotlib figure costs ~75 ms and ~8 KB whatever its points (axes, ticks, text): with a
dozen tags per run that was most of the time and size of a report of many runs. A sparkline
is a path of at most SPARK_POINTS points, its y range named in the HTML caption: ~1-2 KB,
well under a millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .charts import BAD_COLOR, PALETTE, data_uri, decimate, nonfinite_steps, spans_decades

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
    log = spans_decades(y[finite])
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
