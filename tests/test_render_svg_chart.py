"""The hand-written SVG line chart: its ticks, log axes, escaping, and odd series."""

from __future__ import annotations

import base64
import dataclasses
import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from run_builders import make_run

from analyzer.render.axes import eng_ticks, linear_ticks, log_ticks, nice_step, symlog_ticks
from analyzer.render.charts import BAD_COLOR, PALETTE, SPAN_COLOR, Chart, Line
from analyzer.render.run_charts import overview_plot
from analyzer.render.svg_chart import chart_svg

NS = "{http://www.w3.org/2000/svg}"
MINUS = "\u2212"


def _values(ticks: list) -> list[float]:  # type: ignore[type-arg]
    return [t.value for t in ticks]


def _labels(ticks: list) -> list[str]:  # type: ignore[type-arg]
    return [t.label + (f"^{t.power}" if t.power else "") for t in ticks]


def _texts(svg: bytes) -> list[str]:
    return ["".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{NS}text")]


def _paths(svg: bytes, colour: str) -> list[ET.Element]:
    return [p for p in ET.fromstring(svg).iter(f"{NS}path") if p.get("stroke") == colour]


def _points(path: ET.Element) -> list[tuple[float, float]]:
    pairs = re.findall(r"(-?[\d.]+) (-?[\d.]+)", path.get("d", ""))
    return [(float(x), float(y)) for x, y in pairs]


# ---------------------------------------------------------------------------------------------
# Ticks.


def test_linear_ticks_follow_the_1_2_5_rule() -> None:
    assert _values(linear_ticks(0, 1, 5)) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert _labels(linear_ticks(0, 1, 5)) == ["0", "0.2", "0.4", "0.6", "0.8", "1.0"]
    # a constant series' view (1.0 widened by 5%, then a 5% margin): labels with 2 decimals
    assert _labels(linear_ticks(0.945, 1.055, 5)) == ["0.95", "1.00", "1.05"]
    assert _labels(linear_ticks(-2.4, 0.3, 5)) == [f"{MINUS}2", f"{MINUS}1", "0"]
    assert nice_step(660, 8) == 100
    assert nice_step(0.11, 5) == 0.05
    assert nice_step(7, 3) == 5


def test_step_ticks_are_integers_with_si_prefixes() -> None:
    assert _labels(eng_ticks(-30, 630, 8)) == ["0", "100", "200", "300", "400", "500", "600"]
    assert _labels(eng_ticks(0, 2_000_000, 4)) == ["0", "500k", "1M", "1.5M", "2M"]
    assert _values(eng_ticks(0.5, 3.5, 8)) == [1, 2, 3]  # never a fractional step


def test_large_and_tiny_values_use_scientific_labels() -> None:
    assert _labels(linear_ticks(0, 3e6, 3)) == ["0", "1M", "2M", "3M"]
    assert _labels(linear_ticks(2e7, 1.6e8, 3)) == ["50M", "100M", "150M"]  # one prefix for all
    assert _labels(linear_ticks(1e-5, 4e-5, 3)) == [f"{k}e{MINUS}5" for k in (1, 2, 3, 4)]
    # a narrow range of ordinary values stays in plain digits (a loss stuck near ln 2)
    assert _labels(linear_ticks(0.69308, 0.69322, 3)) == ["0.69310", "0.69315", "0.69320"]
    assert _labels(linear_ticks(0, 1.6e-5, 4)) == ["0"] + [
        f"{k}e{MINUS}5" for k in ("0.5", "1.0", "1.5")
    ]


@given(
    lo=st.floats(-1e9, 1e9, allow_nan=False),
    width=st.floats(1e-6, 1e9),
    intervals=st.integers(5, 10),
)
def test_linear_ticks_are_few_evenly_spaced_and_inside(
    lo: float, width: float, intervals: int
) -> None:
    hi = lo + width
    if width < 1e-8 * max(abs(lo), 1):  # too narrow for a float to resolve
        return
    ticks = linear_ticks(lo, hi, intervals)
    values = _values(ticks)
    assert 2 <= len(values) <= intervals + 1
    assert all(lo - 1e-9 * width <= v <= hi + 1e-9 * width for v in values)
    step = nice_step(width, intervals)
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert min(abs(mantissa - m) for m in (1, 2, 5, 10)) < 1e-9
    k = np.round(np.array(values) / step)
    assert (np.diff(k) == 1).all()  # consecutive multiples of the step
    assert np.allclose(values, k * step, rtol=1e-12, atol=1e-9 * step)
    labels = _labels(ticks)
    assert len(set(labels)) == len(labels)  # enough digits to tell them apart


def test_log_ticks_are_powers_of_ten_every_nth_when_many() -> None:
    assert _labels(log_ticks(1e-4, 20, 7)) == [f"10^{MINUS}{p}" for p in (4, 3, 2, 1)] + [
        "10^0", "10^1",
    ]  # fmt: skip
    assert _values(log_ticks(0.5, 2e18, 7)) == [10.0**p for p in range(0, 19, 3)]


def test_log_ticks_within_two_decades_use_1_2_5_then_linear() -> None:
    assert _values(log_ticks(0.04, 3, 7)) == [0.05, 0.1, 0.2, 0.5, 1, 2]
    assert _labels(log_ticks(0.04, 3, 7)) == ["0.05", "0.1", "0.2", "0.5", "1", "2"]
    assert _values(log_ticks(0.28, 0.96, 7)) == [0.4, 0.6, 0.8]  # only 0.5 is 1-2-5
    assert log_ticks(0.0, 1.0, 7) == []  # not a log range


def test_symlog_ticks_are_zero_and_signed_powers() -> None:
    # powers of ten from the threshold up, none crowding another on the axis
    labels = _labels(symlog_ticks(-0.5, 200, 0.01, 6))
    assert labels == [f"{MINUS}10^{MINUS}1", "0", f"10^{MINUS}1", "10^0", "10^1", "10^2"]
    ticks = symlog_ticks(-150, 150, 1.0, 6)
    assert _labels(ticks)[0] == f"{MINUS}10^2"
    assert 0.0 in _values(ticks)


# ---------------------------------------------------------------------------------------------
# Charts.


def test_log_axis_ticks_are_evenly_spaced_decades() -> None:
    steps = np.arange(100)
    svg = chart_svg(Chart(lines=[Line(steps, np.geomspace(1e3, 1e-3, 100))]))
    root = ET.fromstring(svg)
    left = [t for t in root.iter(f"{NS}text") if t.get("text-anchor") == "end"]
    assert ["".join(t.itertext()) for t in left] == ["10" + _sup(p) for p in range(-3, 4)]
    y = [float(t.get("y", "nan")) for t in left]
    assert np.allclose(np.diff(y), y[1] - y[0], atol=0.11)  # one decimal per coordinate
    assert y[0] > y[-1]  # the smallest at the bottom


def _sup(power: int) -> str:
    return str(power).replace("-", MINUS)


def test_hostile_text_is_escaped() -> None:
    hostile = '</text><script>alert(1)</script>&amp;"<'
    svg = chart_svg(Chart(lines=[Line(np.arange(3), np.ones(3))], ylabel=hostile))
    root = ET.fromstring(svg)  # still well-formed
    assert not list(root.iter(f"{NS}script"))
    assert _texts(svg)[-1] == hostile  # shown as written, not obeyed


def test_a_hostile_tag_name_never_enters_the_svg() -> None:
    tag = '"><script>alert(1)</script>$\\frac{a}{b}$'
    run = make_run(**{tag: np.linspace(2, 0.1, 80)})
    run = dataclasses.replace(run, roles={"train_loss": tag})
    plot = overview_plot(run, {})
    assert plot is not None
    svg = base64.b64decode(plot.uri.split(",", 1)[1])
    ET.fromstring(svg)
    assert b"script" not in svg
    assert b"alert" not in svg
    assert plot.legend[0][0] == tag  # the name goes to the legend (HTML, autoescaped)


def test_nan_and_inf_points_are_skipped_and_marked() -> None:
    values = np.array([1.0, np.nan, 2.0, np.inf, 3.0, 4.0, -np.inf])
    svg = chart_svg(Chart(lines=[Line(np.arange(7), values)]))
    text = svg.decode()
    assert "nan" not in text.lower()
    assert "inf" not in text.lower()
    line, dots = _paths(svg, PALETTE[0])
    d = line.get("d", "")
    # 1 and 2 stand alone between bad points (dots), 3-4 is a segment: 4 points drawn
    assert len(_points(line)) == 4
    assert d.count("M") == 3
    assert d.count("h0") == 2
    assert len(_points(dots)) == 4
    (rug,) = _paths(svg, BAD_COLOR)
    assert len(_points(rug)) == 3  # a red mark per bad step


def test_a_one_point_series_is_a_dot_in_the_middle() -> None:
    svg = chart_svg(Chart(lines=[Line(np.array([5]), np.array([0.3]))]))
    line, _ = _paths(svg, PALETTE[0])
    ((x, y),) = _points(line)
    assert line.get("d", "").endswith("h0")
    assert line.get("stroke-linecap") == "round"  # so that the zero-length path shows
    labels = _texts(svg)
    assert "5" in labels  # its step is a tick
    assert "0.30" in labels  # its value too, on an axis widened around it
    root = ET.fromstring(svg)
    rect = next(root.iter(f"{NS}rect"))  # the plot area (the clip)
    left, width = float(rect.get("x", "0")), float(rect.get("width", "0"))
    top, height = float(rect.get("y", "0")), float(rect.get("height", "0"))
    assert (x, y) == pytest.approx((left + width / 2, top + height / 2), abs=0.1)


def test_empty_and_all_bad_series_draw_an_empty_frame() -> None:
    for chart in (
        Chart(lines=[]),
        Chart(lines=[Line(np.arange(0), np.arange(0, dtype=float))]),
        Chart(lines=[Line(np.arange(5), np.full(5, np.nan))], size="small"),
    ):
        svg = chart_svg(chart)
        ET.fromstring(svg)
        assert "nan" not in svg.decode().lower()


def test_spans_marks_levels_and_a_right_axis() -> None:
    steps = np.arange(1000)
    chart = Chart(
        lines=[
            Line(steps, np.linspace(2, 1, 1000)),
            Line(steps, np.full(1000, 1e-3), axis="right"),
        ],
        spans=[(200, 400), (700, 700)],
        marks=[500],
        levels=[1.5],
    )
    svg = chart_svg(chart)
    root = ET.fromstring(svg)
    bands = [r for r in root.iter(f"{NS}rect") if r.get("fill") == SPAN_COLOR]
    assert len(bands) == 1  # the one-step span is a solid line instead
    assert len(_paths(svg, SPAN_COLOR)) == 1
    dashed = [p for p in root.iter(f"{NS}path") if p.get("stroke-dasharray") == "4 2.7"]
    dotted = [p for p in root.iter(f"{NS}path") if p.get("stroke-dasharray") == "1.3 2"]
    assert len(dashed) == 1
    assert len(dotted) == 1
    # the level line sits where the line crosses 1.5 (at step ~500, where the mark is)
    (level_y,) = {y for _, y in _points(dotted[0])}
    (mark_x,) = {x for x, _ in _points(dashed[0])}
    line = _paths(svg, PALETTE[0])[0]
    crossing = min(_points(line), key=lambda p: abs(p[0] - mark_x))
    assert crossing[1] == pytest.approx(level_y, abs=0.5)
    right_labels = [t for t in root.iter(f"{NS}text") if t.get("text-anchor") == "start"]
    assert right_labels  # a constant right-axis series still gets ticks


def test_steps_near_int64_max_do_not_overflow() -> None:
    steps = np.array([0, 2**62, 2**63 - 1], dtype=np.int64)
    svg = chart_svg(Chart(lines=[Line(steps, np.array([1.0, 2.0, 3.0]))], spans=[(0, 2**62)]))
    ET.fromstring(svg)
    xs = [x for x, _ in _points(_paths(svg, PALETTE[0])[0])]
    assert xs == sorted(xs)
    assert xs[0] < xs[1] < xs[2]


def test_the_same_chart_gives_the_same_bytes() -> None:
    rng = np.random.default_rng(3)
    chart = Chart(lines=[Line(np.arange(5000), rng.standard_normal(5000), smooth=0.6)])
    assert chart_svg(chart) == chart_svg(chart)
