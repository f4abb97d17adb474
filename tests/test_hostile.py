"""Hostile names and numbers: nothing written by someone else's logs is ever obeyed.

Tags, run folders, hparams and text summaries carrying HTML, JavaScript, Markdown table
breakers, control characters, very long strings and bytes that are not UTF-8; and numbers
that are NaN, infinite, constant, single, out of order, near 2^63, or with wall times going
backwards. The reports stay valid and inert; no diagnostic raises.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from event_builders import header_event, scalar_event, write_event_file
from tensorboardX import SummaryWriter

from analyzer.cli import cli
from analyzer.pipeline import build_report
from analyzer.reader import read_logdir
from analyzer.reader.framing import frame

HOSTILE_TAGS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "loss|val|| `code` **bold** [x](javascript:alert(3))",
    "\x1b[31mred\x1b[0m\rcarriage\x00nul",
    "t" * 5000,
]


def _raw_tag_event(tag: bytes, step: int, value: float) -> bytes:
    """An Event whose tag bytes are not valid UTF-8 (protobuf's encoder refuses to write
    one, so the wire format is put together by hand)."""
    import struct

    tag_field = b"\x0a" + bytes([len(tag)]) + tag
    simple = b"\x15" + struct.pack("<f", value)
    value_msg = tag_field + simple
    summary = b"\x0a" + bytes([len(value_msg)]) + value_msg
    event = struct.pack("<Bd", 0x09, 1.0) + b"\x10" + bytes([step]) + b"\x2a"
    return event + bytes([len(summary)]) + summary


@pytest.fixture
def hostile_logdir(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    run = root / "<script>alert(4)</script>" / "a|b`c"
    # TensorBoard's own protos write the tags as given (tensorboardX would sanitise them).
    events = [header_event()]
    for step in range(60):
        values = {tag: float(np.exp(-step / 20) + i) for i, tag in enumerate(HOSTILE_TAGS)}
        values["train/loss"] = float("nan") if step == 40 else 1.0 / (step + 1)
        events.append(scalar_event(step, 100.0 + step, values))
    write_event_file(run / "events.out.tfevents.1.x", events)
    with SummaryWriter(str(run)) as w:
        w.add_text("notes", "<script>alert(5)</script> | **x**", 0)
        w.add_hparams({"lr<script>": 0.1, "opt": "<b>adam</b>"}, {"m": 1.0}, name="1700000000.1")
    raw = root / "raw"
    raw.mkdir()
    records = [frame(header_event().SerializeToString())]
    records += [frame(_raw_tag_event(b"bad\xff\xfeutf8", s, 1.0 / (s + 1))) for s in range(20)]
    (raw / "events.out.tfevents.1.raw").write_bytes(b"".join(records))
    return root


def test_html_report_is_inert(hostile_logdir: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["analyze", str(hostile_logdir), "-o", str(out), "-j", "1"])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find_all("script") == []
    for tag in soup.find_all(True):
        assert not [a for a in tag.attrs if a.lower().startswith("on")], tag.name
        for attr in ("src", "href"):
            value = tag.get(attr)
            assert value is None or value.startswith(("data:", "#")), value
    assert "<script>alert(4)</script>/a|b`c" in soup.get_text()  # shown, as text
    assert "&lt;script&gt;alert(4)" in html
    assert "bad\\xff\\xfeutf8" in soup.get_text()  # undecodable bytes shown as \xNN, not dropped


def test_markdown_table_is_not_broken(hostile_logdir: Path) -> None:
    result = CliRunner().invoke(cli, ["analyze", str(hostile_logdir), "-f", "md", "-j", "1"])
    assert result.exit_code == 0, result.output
    md = result.stdout
    # every angle bracket from the logs is escaped (the template's own tags aside)
    from_logs = re.sub(r"</?(?:sub|details|summary|br)>", "", md)
    assert not re.search(r"(?<!\\)[<>]", from_logs)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", md)  # no raw control character
    lines = [line for line in md.splitlines() if line.startswith("|")]
    header_cells = len(re.findall(r"(?<!\\)\|", lines[0]))
    for line in lines:
        assert len(re.findall(r"(?<!\\)\|", line)) == header_cells, line


def test_json_keeps_the_names_and_stays_valid(hostile_logdir: Path) -> None:
    result = CliRunner().invoke(cli, ["analyze", str(hostile_logdir), "-f", "json", "-j", "1"])
    data = json.loads(result.stdout)
    names = {r["run"] for r in data["runs"]}
    assert "<script>alert(4)</script>/a|b`c" in names
    run = next(r for r in data["runs"] if r["run"].startswith("<script>"))
    assert run["hparams"]["lr<script>"] == 0.1
    assert run["findings"][0]["code"] == "loss_divergence"  # the NaN at step 40


def test_tags_output_shows_control_characters_escaped(hostile_logdir: Path) -> None:
    result = CliRunner().invoke(cli, ["tags", str(hostile_logdir)])
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout
    assert "\\x1b[31mred" in result.stdout


@pytest.mark.parametrize(
    "series",
    [
        [float("nan")] * 30,
        [float("inf"), float("-inf")] * 15,
        [1.0] * 50,
        [2.5],
        [],
    ],
    ids=["all-nan", "all-inf", "constant", "one-point", "empty"],
)
def test_degenerate_series_never_make_a_diagnostic_raise(tmp_path: Path, series: list) -> None:
    events = [header_event()]
    events += [
        scalar_event(s, 100.0 + s, {"train/loss": v, "train/grad_norm": v, "eval/loss": v})
        for s, v in enumerate(series)
    ]
    events.append(scalar_event(0, 1.0, {"other": 1.0}))
    write_event_file(tmp_path / "run" / "events.out.tfevents.1.x", events)
    (report,) = build_report(str(tmp_path), strict=True).runs
    assert report.errors == ()


def test_huge_steps_backward_wall_times_and_disorder(tmp_path: Path) -> None:
    big = 2**63 - 100
    steps = [big - 50 + i for i in range(50)]
    rng = np.random.default_rng(0)
    events = [header_event()]
    for i, s in enumerate(steps):
        events.append(scalar_event(s, 1000.0 - i, {"train/loss": float(np.exp(-i / 10))}))
    events += [scalar_event(int(s), 5.0, {"eval/loss": 1.0}) for s in rng.permutation(steps)[:20]]
    write_event_file(tmp_path / "run" / "events.out.tfevents.1.x", events)
    (run,) = read_logdir(str(tmp_path)).runs
    loss = run.scalars[run.scalars["tag"] == "train/loss"]
    assert loss["step"].tolist() == steps  # int64 kept exactly, near its maximum
    (report,) = build_report(str(tmp_path), strict=True).runs
    assert report.errors == ()
    for f in report.findings:
        if f.steps is not None:
            assert big - 50 <= f.steps[0] <= f.steps[1] <= big - 1
