"""The appendix's sparklines: hand-written SVG, small and cheap, every tag still shown."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from analyzer.model import Report, Run, RunReport
from analyzer.render.charts import BAD_COLOR
from analyzer.render.environment import fmt_num
from analyzer.render.html import render, run_plots, tiles
from analyzer.render.sparkline import SPARK_POINTS, sparkline

PREFIX = "data:image/svg+xml;base64,"


def _svg(uri: str) -> str:
    assert uri.startswith(PREFIX)
    return base64.b64decode(uri[len(PREFIX) :]).decode("utf-8")


def _pairs(svg: str, colour: str = "#1f6fb4") -> int:
    """Coordinate pairs of the line drawn in ``colour``."""
    (d,) = re.findall(rf'<path d="([^"]*)" fill="none" stroke="{colour}" stroke-width="2.4"', svg)
    return len(re.findall(r"-?\d+ -?\d+", d))


def test_a_million_points_give_a_small_valid_svg() -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    values = np.cumsum(rng.standard_normal(n))
    values[123_456] = 1e5  # a spike survives the decimation
    spark = sparkline(np.arange(n), values)
    svg = _svg(spark.uri)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert "<script" not in svg
    assert "href" not in svg
    assert _pairs(svg) <= SPARK_POINTS
    assert len(svg) < 3_000
    assert spark.hi == 1e5
    assert spark.lo == pytest.approx(values.min())
    assert sparkline(np.arange(n), values) == spark  # deterministic


def test_nan_makes_a_gap_and_a_red_rug() -> None:
    values = np.linspace(1.0, 2.0, 100)
    values[40:50] = np.nan
    values[70] = np.inf
    spark = sparkline(np.arange(100), values)
    svg = _svg(spark.uri)
    (d,) = re.findall(r'<path d="([^"]*)" fill="none" stroke="#1f6fb4" stroke-width="2.4"', svg)
    assert d.count("M") == 3  # before the NaNs, between them and the Inf, after
    assert f'stroke="{BAD_COLOR}"' in svg
    assert (spark.lo, spark.hi, spark.log) == (1.0, 2.0, False)


def test_log_scale_when_values_span_decades() -> None:
    assert sparkline(np.arange(50), np.geomspace(1e-4, 10, 50)).log
    assert not sparkline(np.arange(50), np.linspace(-1, 1e4, 50)).log


@pytest.mark.parametrize(
    "values",
    [np.array([]), np.array([3.0]), np.full(10, 2.5), np.full(10, np.nan), np.array([0.0, 1e300])],
)
def test_degenerate_series_draw(values: np.ndarray) -> None:
    spark = sparkline(np.arange(values.size), values)
    ET.fromstring(_svg(spark.uri))
    finite = values[np.isfinite(values)]
    assert spark.lo == (float(finite.min()) if finite.size else None)


def test_few_points_are_dots() -> None:
    svg = _svg(sparkline(np.arange(5), np.arange(5.0)).uri)
    assert svg.count("h0") == 5
    assert 'stroke-width="6"' in svg


def _run(tags: int, points: int) -> Run:
    steps = np.arange(points)
    frames = [
        pd.DataFrame(
            {
                "tag": f"metric/{i}",
                "step": steps,
                "wall_time": steps.astype(float),
                "value": np.sin(steps / (i + 1)),
            }
        )
        for i in range(tags)
    ]
    scalars = pd.concat(frames, ignore_index=True)
    return Run(name="r", scalars=scalars, histograms=scalars.iloc[:0], roles={})


def test_appendix_of_many_long_tags_stays_small() -> None:
    """30 tags of 20,000 points: the appendix used to be ~8 KB of SVG per tag."""
    run = _run(30, 20_000)
    shown = tiles(run)
    assert [t.tag for t in shown] == sorted(f"metric/{i}" for i in range(30))
    size = sum(len(t.uri) for t in shown)
    assert size < 30 * 4_000


def test_appendix_caption_names_the_range() -> None:
    run = _run(2, 100)
    r = RunReport(run="r", status="ok", roles={}, summary={}, findings=())
    report = Report(schema_version=1, tool_version="0", generated_at="x", runs=(r,))
    soup = BeautifulSoup(render(report, {"r": run_plots(r, run)}), "html.parser")
    captions = [c.get_text(" ", strip=True) for c in soup.select("figure.tile figcaption")]
    t = tiles(run)[0]
    assert f"range {fmt_num(t.lo)} to {fmt_num(t.hi)}" in captions[0]
    assert "100 points, steps 0–99" in captions[0]
    for img in soup.select("figure.tile img"):
        assert img["alt"].endswith("by step")
        assert (img["width"], img["height"]) == ("240", "56")
