"""Hostile names and numbers: nothing written by someone else's logs is ever obeyed.

Tags, run folders, hparams and text summaries carrying HTML, JavaScript, Markdown table
breakers, control characters, very long strings and bytes that are not UTF-8; and numbers
that are NaN, infinite, constant, single, out of order, near 2^63, or with wall times going
backwards. The reports stay valid and inert; no diagnostic raises.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from bs4 import BeautifulSoup
from cli_checks import CliServer
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


# --- issue #14: numbers and names that broke the CLI ---------------------------------------


def _int64_logdir(root: Path, steps: list[int]) -> Path:
    events = [header_event()] + [
        scalar_event(s, 100.0 + i, {"train/loss": 1.0 / (i + 1), "eval/loss": 1.2 / (i + 1)})
        for i, s in enumerate(steps)
    ]
    write_event_file(root / "run" / "events.out.tfevents.1.x", events)
    return root


@pytest.mark.parametrize(
    "steps",
    [[*range(99), 2**63 - 1], [-(2**63), *range(100)]],
    ids=["up-to-max", "from-min"],
)
def test_steps_at_the_int64_limits_in_every_format(tmp_path: Path, steps: list[int]) -> None:
    # A step span overflowed int64: a `TypeError ... complex` traceback in summary.py, and
    # numpy's RuntimeWarning lines on stderr. A warning is an error here, so a line on stderr
    # (it would reach the user's terminal) fails the test too.
    logdir = _int64_logdir(tmp_path / "logs", steps)
    for fmt in ("json", "md", "html"):
        out = tmp_path / f"r.{fmt}"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = CliRunner().invoke(
                cli, ["analyze", str(logdir), "-f", fmt, "-o", str(out), "-j", "1"]
            )
        assert result.exit_code == 0, result.output
        assert result.stderr.splitlines() == [result.stderr.splitlines()[0]]
        assert result.stderr.startswith(f"wrote {out}")
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["runs"][0]["summary"]["steps"] == max(steps)


def test_nan_and_inf_hyperparameters_are_null_with_the_original_as_text(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path / "run")) as w:
        for step in range(30):
            w.add_scalar("train/loss", 1.0 / (step + 1), step)
        w.add_hparams(
            {"lr": float("nan"), "wd": float("inf"), "m": -float("inf"), "bs": 32},
            {"hp/x": 1.0},
            name="1700000000.1",
        )
    result = CliRunner().invoke(cli, ["analyze", str(tmp_path), "-f", "json"])
    assert result.exit_code == 0, result.output
    hparams = json.loads(result.stdout)["runs"][0]["hparams"]
    assert hparams == {
        "lr": None,
        "lr_text": "nan",
        "wd": None,
        "wd_text": "inf",
        "m": None,
        "m_text": "-inf",
        "bs": 32.0,
    }
    tags = CliRunner().invoke(cli, ["tags", str(tmp_path), "--json"])
    assert "NaN" not in tags.stdout
    assert any(r["hparams"].get("lr_text") == "nan" for r in json.loads(tags.stdout)["runs"])


def test_a_training_loss_nan_at_every_step_fails_the_error_gate(tmp_path: Path) -> None:
    events = [header_event()] + [
        scalar_event(s, 100.0 + s, {"train/loss": float("nan")}) for s in range(100)
    ]
    write_event_file(tmp_path / "run" / "events.out.tfevents.1.x", events)
    result = CliRunner().invoke(cli, ["analyze", str(tmp_path), "-f", "json", "--fail-on", "error"])
    assert result.exit_code == 1, result.output
    (run,) = json.loads(result.stdout)["runs"]
    assert run["status"] == "error"
    assert run["findings"][0]["code"] == "loss_divergence"
    # The gate says why: the run and the finding that reached the level.
    assert result.stderr.splitlines() == [
        "--fail-on error: 1 run reached error:",
        "  run: error loss_divergence: Training loss 'train/loss' is NaN/Inf from its first point",
    ]


def test_fail_on_lists_every_run_and_finding_at_the_level(tmp_path: Path) -> None:
    for name, bad in (("good", False), ("bad1", True), ("bad2", True)):
        events = [header_event()] + [
            scalar_event(s, 100.0 + s, {"train/loss": float("nan") if bad and s > 50 else 1.0})
            for s in range(100)
        ]
        write_event_file(tmp_path / name / "events.out.tfevents.1.x", events)
    result = CliRunner().invoke(cli, ["analyze", str(tmp_path), "-f", "md", "--fail-on", "error"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "--fail-on error: 2 runs reached error:"
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["bad1", "bad2"]
    passing = CliRunner().invoke(cli, ["analyze", str(tmp_path / "good"), "--fail-on", "error",
                                       "-f", "md"])  # fmt: skip
    assert passing.exit_code == 0
    assert passing.stderr == ""


def test_long_tag_names_are_cut_for_display_and_kept_whole_in_json(
    tmp_path: Path, cli_server: CliServer
) -> None:
    # 400 distinct 1 MiB tag names made an 839 MB page (and 6 GB of memory): every table and
    # caption repeated each name in full. Scaled down here: 20 names of 30 KB (600 KB of
    # names; every bound below is smaller than one copy of them all).
    names = [f"{i:02d}" + "n" * 30_000 for i in range(20)]
    events = [header_event()] + [
        scalar_event(s, 100.0 + s, {**{n: float(s) for n in names}, "train/loss": 1 / (s + 1)})
        for s in range(3)
    ]
    write_event_file(tmp_path / "logs" / "run" / "events.out.tfevents.1.x", events)
    logdir = str(tmp_path / "logs")
    html = tmp_path / "r.html"
    result = cli_server.cli(["analyze", logdir, "-o", str(html), "-j", "1"], timeout=120)
    assert result.exit_code == 0, result.stderr
    assert html.stat().st_size < 400_000  # 1.2 MB of names before (each name twice or more)
    text = html.read_text(encoding="utf-8")
    assert "(+29002 characters)" in text  # cut, and saying so
    site = CliRunner().invoke(cli, ["analyze", logdir, "-o", f"{tmp_path}/site/", "-j", "1"])
    assert site.exit_code == 0, site.output
    assert sum(p.stat().st_size for p in (tmp_path / "site").rglob("*.html")) < 500_000
    tags_text = CliRunner().invoke(cli, ["tags", logdir])
    assert len(tags_text.stdout) < 20_000  # every line was padded to the longest name
    tags_json = json.loads(CliRunner().invoke(cli, ["tags", logdir, "--json"]).stdout)
    assert {t["tag"] for t in tags_json["runs"][0]["tags"]} >= set(names)  # whole in JSON
    export = CliRunner().invoke(cli, ["export", logdir, "-o", "-"])
    assert names[0] in export.stdout  # and in the export
