"""Charts: min/max decimation, deterministic and self-contained SVG, matplotlib only when a
distribution is drawn, never pyplot. The SVG line chart's own details: test_render_svg_chart."""

from __future__ import annotations

import ast
import base64
import hashlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from analyzer.render import charts, svg_chart
from analyzer.render.charts import (
    Chart,
    Line,
    data_uri,
    decimate,
    nonfinite_steps,
    y_scale,
)
from analyzer.render.svg_chart import chart_svg, chart_uri


def test_short_series_come_back_unchanged() -> None:
    steps, values = np.arange(10), np.linspace(0, 1, 10)
    x, y = decimate(steps, values, max_points=100)
    assert x.tolist() == steps.tolist()
    assert y.tolist() == values.tolist()


def test_a_million_points_become_about_two_thousand_keeping_every_extreme() -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    steps = np.arange(n) * 3
    values = rng.standard_normal(n)
    spikes = np.arange(25) * 39_000 + 17  # isolated one-point spikes, in distinct buckets
    values[spikes] = 50.0 + np.arange(25)
    values[123_457] = -40.0
    x, y = decimate(steps, values)
    assert 1000 < y.size <= 2000
    assert set((spikes * 3).tolist()) <= set(x.tolist())  # every spike survives
    assert y.max() == values.max()
    assert y.min() == -40.0
    assert (np.diff(x) > 0).all()  # still in step order
    assert np.isin(y, values).all()  # real points, not averages


def test_uneven_lengths_and_the_padded_last_bucket() -> None:
    for n in (2001, 2999, 4001, 10_007):
        values = np.arange(n, dtype=float)
        x, y = decimate(np.arange(n), values, max_points=2000)
        assert y.size <= 2000
        assert x[0] == 0
        assert x[-1] == n - 1  # the last point is a bucket's max
        assert (np.diff(x) > 0).all()


def test_a_bucket_of_only_nan_becomes_a_gap() -> None:
    values = np.ones(10_000)
    values[5000:6000] = np.nan
    values[7000] = np.inf
    _, y = decimate(np.arange(10_000), values, max_points=200)
    assert np.isnan(y).sum() >= 1  # the line has a gap there
    assert np.isfinite(y[~np.isnan(y)]).all()  # the lone inf is dropped, not drawn
    bad = nonfinite_steps(np.arange(10_000), values, max_points=200)
    assert bad[0] == 5000
    assert 7000 in bad
    assert bad.size <= 100 + 1  # one mark per bucket, not one per point


def test_no_nonfinite_steps_when_all_finite() -> None:
    assert nonfinite_steps(np.arange(5), np.ones(5)).size == 0


def _chart(n: int = 5000) -> Chart:
    rng = np.random.default_rng(1)
    steps = np.arange(n)
    return Chart(
        lines=[
            Line(steps, np.exp(-steps / n) + 0.05 * rng.standard_normal(n)),
            Line(steps[::10], np.linspace(1e-3, 1e-5, steps[::10].size), axis="right"),
        ],
        spans=[(n // 3, n // 2), (n // 4, n // 4)],
        marks=[n // 5],
    )


def test_svg_is_valid_self_contained_and_small() -> None:
    svg = chart_svg(_chart(1_000_000))
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    text = svg.decode()
    assert "<script" not in text
    assert "<image" not in text  # no embedded or linked raster
    assert 'href="http' not in text
    assert "<!DOCTYPE" not in text
    assert "Date" not in text
    assert len(svg) < 120_000  # two decimated lines of a million-step run


def test_svg_is_identical_in_another_process() -> None:
    """Nothing in the SVG depends on the process (no ids from hashes, no dates)."""
    here = hashlib.sha256(chart_svg(_chart())).hexdigest()
    code = (
        "import hashlib, sys; sys.path.insert(0, sys.argv[1]);"
        "from test_render_charts import _chart; from analyzer.render.svg_chart import chart_svg;"
        "print(hashlib.sha256(chart_svg(_chart())).hexdigest())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == here


def test_matplotlib_is_imported_only_to_draw(tmp_path: Path) -> None:
    """-f json, -f md and the HTML of runs without histograms never load it (~0.3 s of
    start-up): line charts are hand-written SVG. A run with histograms loads it to draw them."""
    samples = Path(__file__).parent.parent / "sample_logs"
    code = (
        "import sys\n"
        "from analyzer.cli import cli\n"
        "import analyzer.render.charts, analyzer.render.sparkline, analyzer.render.sweep_chart\n"
        "import analyzer.render.svg_chart, analyzer.render.html, analyzer.render.compare_html\n"
        "def run(args):\n"
        "    try:\n"
        "        cli.main(args)\n"
        "    except SystemExit as done:\n"
        "        assert done.code in (0, 1), done.code\n"
        "for fmt in ('json', 'md', 'html'):\n"
        "    run(['analyze', sys.argv[1], '-f', fmt, '-o', f'{sys.argv[3]}/report.{fmt}'])\n"
        "print('matplotlib:', 'matplotlib' in sys.modules)\n"
        "run(['analyze', sys.argv[2], '-o', f'{sys.argv[3]}/histograms.html'])\n"
        "print('matplotlib:', 'matplotlib' in sys.modules)\n"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(samples / "overfitting"),
            str(samples / "dead_units"),  # logs weight and activation histograms
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split("\n")[:2] == ["matplotlib: False", "matplotlib: True"]
    for name in ("report.json", "report.md", "report.html", "histograms.html"):
        assert (tmp_path / name).stat().st_size > 0
    assert 'figure class="tile distribution"' in (tmp_path / "histograms.html").read_text()


def test_data_uri_is_base64_svg() -> None:
    uri = chart_uri(_chart(100))
    prefix = "data:image/svg+xml;base64,"
    assert uri.startswith(prefix)
    assert base64.b64decode(uri[len(prefix) :]).startswith(b"<svg ")
    assert data_uri(b"<svg/>") == prefix + base64.b64encode(b"<svg/>").decode()


@pytest.mark.parametrize(
    ("values", "log", "expected"),
    [
        (np.geomspace(1e-2, 1e4, 50), None, True),  # 6 decades: log
        (np.linspace(1, 2, 50), None, False),
        (np.linspace(-1, 1e6, 50), None, False),  # not all positive: never log
        (np.linspace(1, 2, 50), True, True),  # asked for
    ],
)
def test_log_scale_when_positive_values_span_decades(
    values: np.ndarray, log: bool | None, expected: bool
) -> None:
    assert (_scale_of(values, log) == "log") == expected
    # and the chart drawn shows it: powers of ten as tick labels, or none
    svg = chart_svg(Chart(lines=[Line(np.arange(values.size), values)], log_left=log)).decode()
    assert ("<tspan" in svg) == (expected and values.max() / values.min() >= 100)


def test_empty_and_all_nan_series_draw_without_error() -> None:
    chart_svg(Chart(lines=[Line(np.arange(0), np.arange(0, dtype=float))]))
    chart_svg(Chart(lines=[Line(np.arange(5), np.full(5, np.nan))], size="small"))


def _imports(module: object) -> set[str]:
    tree = ast.parse(Path(module.__file__).read_text())  # type: ignore[attr-defined]
    return {
        alias.name if isinstance(node, ast.Import) else f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }


def test_plots_never_import_pyplot() -> None:
    assert not any("pyplot" in name for name in _imports(charts))
    assert not any("matplotlib" in name for name in _imports(svg_chart))


def test_ema_is_tensorboards_debiased_average() -> None:
    from analyzer.render.charts import ema

    values = np.array([1.0, 3.0, np.nan, 2.0])
    out = ema(values, 0.6)
    # TensorBoard: last = last * w + (1 - w) * v, divided by 1 - w**n (n finite points so far)
    first = 0.4 * 1.0
    second = first * 0.6 + 0.4 * 3.0
    third = second * 0.6 + 0.4 * 2.0
    assert out[0] == pytest.approx(first / 0.4)
    assert out[1] == pytest.approx(second / (1 - 0.6**2))
    assert np.isnan(out[2])
    assert out[3] == pytest.approx(third / (1 - 0.6**3))
    assert ema(values, 0.0)[[0, 1, 3]] == pytest.approx([1.0, 3.0, 2.0])


def _scale_of(values: np.ndarray, log: bool | None = None) -> str:
    return y_scale([values], log)[0]


def test_log_scale_tolerates_zeros_and_negatives() -> None:
    stuck = np.geomspace(160, 0.01, 200)
    assert _scale_of(stuck) == "log"
    stuck[50] = 0.0  # one exact zero used to turn it linear and hide the plateau
    assert _scale_of(stuck) == "symlog"
    assert y_scale([stuck], None)[1] == pytest.approx(0.01)  # linear below the smallest value
    assert _scale_of(np.array([-1.0, 0.0, 1.0, 2.0]), log=True) == "symlog"
    assert _scale_of(np.linspace(1, 2, 50)) == "linear"
    # the symlog chart labels zero and powers of ten, and draws every point
    svg = chart_svg(Chart(lines=[Line(np.arange(200), stuck)])).decode()
    assert ">0</text>" in svg
    assert ">10<tspan" in svg


def test_smoothed_line_over_faint_raw_and_y_label() -> None:
    rng = np.random.default_rng(0)
    values = 1 / np.arange(1, 301) + 0.05 * rng.random(300)
    svg = chart_svg(Chart(lines=[Line(np.arange(300), values, smooth=0.6)], ylabel="loss"))
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    raw, smooth = [p for p in root.iter(f"{ns}path") if p.get("stroke") == charts.PALETTE[0]]
    assert raw.get("stroke-opacity") == "0.25"
    assert smooth.get("stroke-opacity") is None

    def variation(path: ET.Element) -> float:
        ys = [float(v) for v in re.findall(r"[ M][-\d.]+ ([-\d.]+)", path.get("d", ""))]
        assert len(ys) == 300  # every point: 300 is under the decimation's 2,000
        return float(np.abs(np.diff(ys)).sum())

    # the smoothed line is smoother: smaller total variation than the raw one
    assert variation(smooth) < 0.5 * variation(raw)
    assert [t.text for t in root.iter(f"{ns}text")][-2:] == ["step", "loss"]


def test_histogram_quantiles_interpolate_within_buckets() -> None:
    from analyzer.measures import DISTRIBUTION_BPS, histogram_quantiles

    edges = np.linspace(0.0, 10.0, 11)
    q = histogram_quantiles(edges, np.ones(10))  # uniform on [0, 10]
    assert q == pytest.approx([b / 1000 for b in DISTRIBUTION_BPS])
    # empty buckets in between: no interpolation across the gap's flat cumulative count
    q = histogram_quantiles(np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 0.0, 1.0]))
    assert q[0] == 0.0
    assert q[-1] == 3.0
    assert 0.0 <= q[4] <= 2.0
    assert np.isnan(histogram_quantiles(edges, np.zeros(10))).all()


def test_weight_histograms_become_distribution_bands(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bs4 import BeautifulSoup
    from tensorboardX import SummaryWriter

    import dlreport

    rng = np.random.default_rng(0)
    with SummaryWriter(str(tmp_path / "r")) as w:
        for step in range(0, 100, 10):
            w.add_scalar("train/loss", 1.0 / (step + 1), step)
            w.add_histogram("weights/fc", rng.normal(0, 1 + step / 10, 2000), step)
        w.add_histogram("once/only", rng.normal(size=100), 0)  # one step: no band to draw
    soup = BeautifulSoup(dlreport.analyze(tmp_path).to_html(), "html.parser")
    (fig,) = soup.select("figure.distribution")
    assert fig.select_one(".tag").get_text() == "weights/fc"
    assert "10 steps, steps 0–90" in fig.figcaption.get_text()
    assert fig.img["src"].startswith("data:image/svg+xml;base64,")
