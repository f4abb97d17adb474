"""Axes of the hand-drawn charts (:mod:`.svg_chart`): scales, "nice" ticks and their labels.

Ticks follow the 1-2-5 rule on a linear axis (integers with SI prefixes for steps, as
matplotlib's EngFormatter wrote them) and powers of ten on a log axis (1-2-5 within a decade
when the axis spans less than two); a symlog axis (values down to zero) gets zero and signed
powers of ten. Labels use a real minus sign, as matplotlib's did.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .charts import YScale

_MARGIN = 0.05  # of the data range on each side, as matplotlib's default margins
_CHAR = 0.6  # a digit's width in ems, to size the margins for the tick labels
_MINUS = "\u2212"  # a real minus sign, as matplotlib writes it
_PREFIXES = ((12, "T"), (9, "G"), (6, "M"))


@dataclass(frozen=True, slots=True)
class Tick:
    """A tick's value and label; ``power`` is a superscript (10 to the ``power``)."""

    value: float
    label: str
    power: str = ""


# ---------------------------------------------------------------------------------------------
# Ticks and their labels.


def nice_step(span: float, max_intervals: int) -> float:
    """The smallest step of 1, 2 or 5 times a power of ten that cuts ``span`` into at most
    ``max_intervals`` intervals."""
    raw = span / max(1, max_intervals)
    power = math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        step = m * 10.0**power
        if step >= raw * (1 - 1e-9):
            return step
    return 10.0 ** (power + 1)  # pragma: no cover  (m = 10 always qualifies)


def linear_ticks(lo: float, hi: float, max_intervals: int, *, integer: bool = False) -> list[Tick]:
    """Multiples of a 1-2-5 step within ``[lo, hi]``, labelled with the digits the step needs."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [Tick(lo, _fmt_general(lo))] if math.isfinite(lo) else []
    step = nice_step(hi - lo, max_intervals)
    if integer:
        step = max(step, 1.0)
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    values = [float(f"{k * step:.12g}") for k in range(first, last + 1)]  # no 0.30000000000000004
    return [Tick(v, label) for v, label in zip(values, _fmt_linear(values, step), strict=True)]


def eng_ticks(lo: float, hi: float, max_intervals: int) -> list[Tick]:
    """Integer ticks (steps) labelled with SI prefixes, as matplotlib's EngFormatter: 1.5k, 2M."""
    return [
        Tick(t.value, _fmt_eng(t.value)) for t in linear_ticks(lo, hi, max_intervals, integer=True)
    ]


def log_ticks(lo: float, hi: float, max_ticks: int) -> list[Tick]:
    """Powers of ten within ``[lo, hi]`` (every n-th when there are many); 1, 2 and 5 times
    them when fewer than three powers fit; linear ticks when not even two of those do."""
    if not (0 < lo < hi) or not math.isfinite(hi):
        return []
    first, last = math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi) + 1e-9)
    powers = list(range(first, last + 1))
    values = sorted(
        float(f"{m * 10.0**p:.12g}")
        for p in range(first - 1, last + 2)
        for m in (1, 2, 5)
        if lo * (1 - 1e-9) <= m * 10.0**p <= hi * (1 + 1e-9)
    )
    if len(powers) < 3 and 2 <= len(values) <= max_ticks:
        return [Tick(v, _fmt_general(v)) for v in values]
    if len(powers) >= 2:
        stride = math.ceil(len(powers) / max_ticks)
        every = [p for p in powers if p % stride == 0]  # 10^0 among them when in range
        powers = every if len(every) >= 2 else powers[::stride]
        return [Tick(10.0**p, "10", _signed(str(p))) for p in powers]
    return [t for t in linear_ticks(lo, hi, max_ticks - 1) if t.value > 0]


def symlog_ticks(lo: float, hi: float, linthresh: float, max_ticks: int) -> list[Tick]:
    """Zero and signed powers of ten at or above ``linthresh`` within ``[lo, hi]``: the largest
    first, each kept only if it is not crowding one kept before (on the symlog axis)."""

    def at(v: float) -> float:
        return math.copysign(math.log10(1 + abs(v) / linthresh), v)

    top = max(abs(lo), abs(hi))
    if not (linthresh > 0 and top > 0 and hi > lo):
        return []
    first = math.ceil(math.log10(linthresh) - 1e-9)
    candidates = [0.0] + [
        v
        for p in range(math.floor(math.log10(top) + 1e-9), first - 1, -1)
        for v in (10.0**p, -(10.0**p))
    ]
    gap = (at(hi) - at(lo)) / (max_ticks + 1)
    kept: list[float] = []
    for v in candidates:
        if lo <= v <= hi and len(kept) < max_ticks and all(abs(at(v) - at(k)) >= gap for k in kept):
            kept.append(v)
    return [
        Tick(v, _MINUS + "10" if v < 0 else "10", _signed(str(round(math.log10(abs(v))))))
        if v
        else Tick(0.0, "0")
        for v in sorted(kept)
    ]


def _signed(text: str) -> str:
    return text.replace("-", _MINUS)


def _fmt_linear(values: Sequence[float], step: float) -> list[str]:
    """Labels with the digits ``step`` needs, all in one notation: "0.25", "0.69315"; "50M"
    (one SI prefix) from a million up; "1.5e−5" (one exponent) for small values on fine steps."""
    top = max((abs(v) for v in values), default=0.0)
    places = math.floor(math.log10(step) + 1e-9)  # the step's leading digit
    if top >= 1e6:
        power, prefix = next((p, x) for p, x in _PREFIXES if top >= 10.0**p)
        decimals = min(12, max(0, power - places))
        return [_signed(f"{v / 10.0**power:.{decimals}f}{prefix}") if v else "0" for v in values]
    if step < 1e-4 and top < 1e-2:
        power = math.floor(math.log10(top))
        decimals = min(12, max(0, power - places))
        return [_signed(f"{v / 10.0**power:.{decimals}f}e{power}") if v else "0" for v in values]
    decimals = min(12, max(0, -places))
    return [_signed(f"{v:.{decimals}f}") if v else "0" for v in values]


def _fmt_general(v: float) -> str:
    text = f"{v:.6g}"
    if "e" in text:
        mantissa, _, exponent = text.partition("e")
        text = f"{mantissa}e{int(exponent)}"
    return _signed(text)


def _fmt_eng(v: float) -> str:
    """1500 -> "1.5k", 2e6 -> "2M", 40 -> "40"."""
    for power, prefix in (*_PREFIXES, (3, "k")):
        if abs(v) >= 10.0**power:
            mantissa = f"{v / 10.0**power:.3f}".rstrip("0").rstrip(".")
            return _signed(mantissa + prefix)
    return _signed(f"{v:.3f}".rstrip("0").rstrip(".") if v != int(v) else str(int(v)))


def label_width(tick: Tick, font: float) -> float:
    return (len(tick.label) + 0.75 * len(tick.power)) * _CHAR * font


# ---------------------------------------------------------------------------------------------
# Scales: data values to the axis' linear coordinate.


@dataclass(frozen=True, slots=True)
class Scale:
    """How values map to an axis' linear coordinate: as they are, log10, or symlog."""

    kind: YScale
    linthresh: float = 0.0

    def forward(self, v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.kind == "log":
                return np.where(v > 0, np.log10(np.where(v > 0, v, 1.0)), np.nan)
            if self.kind == "symlog":
                return np.sign(v) * np.log10(1 + np.abs(v) / self.linthresh)
        return v

    def backward(self, t: float) -> float:
        if self.kind == "log":
            return float(10.0**t)
        if self.kind == "symlog":
            return float(math.copysign(self.linthresh * (10.0 ** abs(t) - 1), t))
        return t

    def ticks(self, lo: float, hi: float, max_intervals: int) -> list[Tick]:
        """Ticks within the view ``[lo, hi]`` (in this scale's coordinate)."""
        a, b = self.backward(lo), self.backward(hi)
        if self.kind == "log":
            return log_ticks(a, b, max_intervals + 2)
        if self.kind == "symlog":
            return symlog_ticks(a, b, self.linthresh, max_intervals + 1)
        return linear_ticks(a, b, max_intervals)


def view_range(values: Sequence[np.ndarray]) -> tuple[float, float]:
    """The axis range: the finite values' range and a margin (a constant series is widened)."""
    finite = [v[np.isfinite(v)] for v in values]
    finite = [v for v in finite if v.size]
    if not finite:
        return 0.0, 1.0
    lo = float(min(v.min() for v in finite))
    hi = float(max(v.max() for v in finite))
    if hi <= lo:
        pad = 0.05 * abs(lo) or 0.05
        lo, hi = lo - pad, hi + pad
    margin = _MARGIN * (hi - lo)
    return lo - margin, hi + margin
