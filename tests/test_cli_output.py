"""Where output goes: every path failure is one line (exit 2), a closed pipe is a normal end,
missing folders are created, and names with any bytes are written in every format.

Issue #14 items 8 and 12, issue #13 "CI must never pass silently or fail obscurely".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_checks import CliServer, Completed, one_line_error
from click.testing import CliRunner
from event_builders import header_event, scalar_event, write_event_file
from tensorboardX import SummaryWriter

from analyzer.cli import cli


@pytest.fixture(scope="module")
def logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("out") / "logs"
    for name in ("a", "b"):
        with SummaryWriter(str(root / name)) as w:
            for step in range(60):
                w.add_scalar("train/loss", 2.0 / (step + 1), step)
                w.add_scalar("eval/loss", 2.5 / (step + 1), step)
    return root


def _invoke(*args: str):
    return CliRunner().invoke(cli, [*args])


# --- missing folders are created ------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["analyze", "{logdir}", "-f", "json", "-o", "{out}/new/deeper/r.json"],
        ["analyze", "{logdir}", "-f", "md", "-o", "{out}/new/deeper/r.md"],
        ["analyze", "{logdir}", "-o", "{out}/new/deeper/r.html", "-j", "1"],
        ["compare", "{logdir}", "{logdir}", "-o", "{out}/new/deeper/c.md"],
        ["compare", "{logdir}", "{logdir}", "-f", "html", "-o", "{out}/new/deeper/c.html"],
        ["export", "{logdir}", "-o", "{out}/new/deeper/s.csv"],
    ],
    ids=["json", "md", "html", "compare-md", "compare-html", "export"],
)
def test_output_into_a_missing_folder_creates_it(
    logdir: Path, tmp_path: Path, args: list[str]
) -> None:
    argv = [a.format(logdir=logdir, out=tmp_path) for a in args]
    result = _invoke(*argv)
    assert result.exit_code == 0, result.output
    assert Path(argv[argv.index("-o") + 1]).stat().st_size > 100


# --- paths that cannot be written -----------------------------------------------------------


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "plain"
    path.write_text("x")
    return path


@pytest.mark.parametrize(
    ("args", "target", "message"),
    [
        (["analyze", "{logdir}", "-f", "json", "-o"], "{file}/r.json", "cannot create its folder"),
        (["analyze", "{logdir}", "-f", "md", "-o"], "{file}/sub/r.md", "cannot create its folder"),
        (["analyze", "{logdir}", "-o"], "{file}/r.html", "cannot create its folder"),
        (["analyze", "{logdir}", "-o"], "{file}/site/", "cannot create the report folder"),
        (["compare", "{logdir}", "{logdir}", "-o"], "{file}/c.md", "cannot create its folder"),
        (["export", "{logdir}", "-o"], "{file}/s.csv", "cannot create its folder"),
        (["analyze", "{logdir}", "-f", "json", "-o"], "/dev/full", "No space left on device"),
        (["analyze", "{logdir}", "-f", "md", "-o"], "/dev/full", "No space left on device"),
        (["compare", "{logdir}", "{logdir}", "-o"], "/dev/full", "No space left on device"),
        (["export", "{logdir}", "-o"], "/dev/full.csv", ""),
        (["compare", "{logdir}", "{logdir}", "-f", "html", "-o"], "{dir}", "is a folder"),
        (["analyze", "{logdir}", "-f", "json", "-o"], "{dir}", "a folder is written for -f html"),
        (["export", "{logdir}", "-o"], "{dir}/x.csv", "is a folder"),
    ],
    ids=[
        "json-under-file",
        "md-under-file",
        "html-under-file",
        "site-under-file",
        "compare-under-file",
        "export-under-file",
        "json-dev-full",
        "md-dev-full",
        "compare-dev-full",
        "export-dev",
        "compare-html-existing-dir",
        "json-existing-dir",
        "export-folder-named-csv",
    ],
)
def test_unwritable_output_is_one_line_naming_the_path(
    logdir: Path, tmp_path: Path, a_file: Path, args: list[str], target: str, message: str
) -> None:
    folder = tmp_path / "existing"
    (folder / "x.csv").mkdir(parents=True)
    path = target.format(file=a_file, dir=folder)
    if path == "/dev/full.csv":  # export picks its writer by the name: a csv that is a device
        if not os.access("/dev", os.W_OK) or sys.platform != "linux":
            pytest.skip("needs Linux")
        path = str(tmp_path / "full.csv")
        os.symlink("/dev/full", path)
        message = "No space left on device"
    result = (
        _invoke(*[a.format(logdir=logdir) for a in args], path, "-j", "1")
        if (args[0] == "analyze")
        else _invoke(*[a.format(logdir=logdir) for a in args], path)
    )
    one_line_error(result, path.rstrip("/"), message)


def _unwritable_folder(how: str, tmp_path: Path) -> tuple[Path, Callable[[], None]]:
    """A folder no file can be created in, and how to undo it; skips where it cannot be made.

    Root ignores file modes (CI runs as root), so the read-only folder is also made two ways
    that hold for root: an immutable folder (``chattr +i``, on ext4, xfs, btrfs), and ``/sys``,
    where the kernel creates no file for anyone (read-only in most containers).
    """
    folder = tmp_path / "ro"
    if how == "sysfs":
        if sys.platform != "linux" or not Path("/sys/kernel").is_dir():
            pytest.skip("needs Linux's /sys")
        return Path("/sys"), lambda: None
    folder.mkdir()
    if how == "mode":
        if os.geteuid() == 0:
            pytest.skip("root writes into folders whatever their mode (the other ways check it)")
        folder.chmod(0o500)
        return folder, lambda: folder.chmod(0o700)
    made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
    if made.returncode != 0:  # no chattr, no CAP_LINUX_IMMUTABLE, or tmpfs
        pytest.skip(f"chattr +i: {made.stderr.decode(errors='replace').strip()}")
    return folder, lambda: subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.mark.parametrize("how", ["mode", "immutable", "sysfs"])
def test_read_only_folder_is_one_line(logdir: Path, tmp_path: Path, how: str) -> None:
    folder, undo = _unwritable_folder(how, tmp_path)
    try:
        out = folder / "dlreport-test-r.json"
        result = _invoke("analyze", str(logdir), "-f", "json", "-o", str(out))
        created = out.exists()
    finally:
        undo()
    assert not created
    line = one_line_error(result, str(out))
    reasons = ("Permission denied", "Operation not permitted", "Read-only file system")
    assert any(reason in line for reason in reasons), line


@pytest.mark.parametrize(
    "args",
    [
        ["analyze", "{logdir}", "-f", "json"],
        ["export", "{logdir}", "-o", "-"],
        ["tags", "{logdir}"],
    ],
    ids=["analyze", "export", "tags"],
)
def test_stdout_to_dev_full_is_one_line(
    logdir: Path, args: list[str], cli_server: CliServer
) -> None:
    ran = cli_server.run([a.format(logdir=logdir) for a in args], stdout_to="/dev/full")
    result = Completed(ran.returncode, "", ran.stderr.decode("utf-8"))
    one_line_error(result, "stdout: cannot write", "No space left on device")


# --- a closed pipe is a normal end ----------------------------------------------------------


@pytest.fixture(scope="module")
def big_logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough points that the CSV (~500 KB) outgrows a pipe's buffer many times over."""
    root = tmp_path_factory.mktemp("big") / "logs"
    # TensorBoard's protos (a tenth of the CPU of 12,000 add_scalar calls; the same records)
    events = [header_event()] + [
        scalar_event(step, 1.0 + step, {"train/loss": 1.0 / (step + 1), "lr": 0.1})
        for step in range(6000)
    ]
    write_event_file(root / "run" / "events.out.tfevents.1.big", events)
    return root


def test_closed_pipe_is_a_normal_end(big_logdir: Path) -> None:
    # `export -o - | head` exited 1 with no message (issue #13): a closed pipe is a normal end.
    argv = f"export {big_logdir} -o -"
    proc = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {sys.executable} -m analyzer {argv} | head -c 10"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    assert len(proc.stdout) == 10


# --- names with bytes that are not UTF-8 ---------------------------------------------------


@pytest.fixture(scope="module")
def bytes_logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bytes") / "logs"
    root.mkdir()
    with SummaryWriter(os.fsdecode(bytes(root) + b"/run\xff\xfe")) as w:
        for step in range(60):
            w.add_scalar("train/loss", 2.0 / (step + 1), step)
    with SummaryWriter(str(root / "plain")) as w:
        for step in range(60):
            w.add_scalar("train/loss", 2.0 / (step + 1), step)
    return root


def _strict_utf8(data: bytes) -> str:
    text = data.decode("utf-8")  # strict: raises on anything that is not UTF-8
    assert "\\xff\\xfe" in text.replace("\\\\", "\\")
    return text


def _no_surrogates(value: object) -> None:
    """What a strict JSON parser (and any UTF-8 consumer) needs: no lone surrogate anywhere."""
    if isinstance(value, str):
        value.encode("utf-8")
    elif isinstance(value, dict):
        for k, v in value.items():
            _no_surrogates(k)
            _no_surrogates(v)
    elif isinstance(value, list):
        for v in value:
            _no_surrogates(v)


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["analyze", "{logdir}", "-f", "json", "-j", "1", "-o"], "r.json"),
        (["analyze", "{logdir}", "-f", "md", "-j", "1", "-o"], "r.md"),
        (["analyze", "{logdir}", "-j", "1", "-o"], "r.html"),
        (["export", "{logdir}", "-o"], "s.csv"),
        (["export", "{logdir}", "-o"], "s.parquet"),
        (["compare", "{logdir}", "{logdir}", "-f", "json", "-o"], "c.json"),
        (["compare", "{logdir}", "{logdir}", "-f", "html", "-o"], "c.html"),
    ],
)
def test_undecodable_names_are_written_in_every_format(
    bytes_logdir: Path, tmp_path: Path, args: list[str], name: str
) -> None:
    out = tmp_path / name
    result = _invoke(*[a.format(logdir=bytes_logdir) for a in args], str(out))
    assert result.exit_code == 0, result.output
    if name.endswith(".parquet"):
        import pandas as pd

        assert "run\\xff\\xfe" in set(pd.read_parquet(out)["run"])
        return
    text = _strict_utf8(out.read_bytes())
    if name.endswith(".json"):
        _no_surrogates(json.loads(text))


def test_undecodable_names_in_a_site_folder(bytes_logdir: Path, tmp_path: Path) -> None:
    result = _invoke("analyze", str(bytes_logdir), "-j", "1", "-o", f"{tmp_path}/site/")
    assert result.exit_code == 0, result.output
    pages = [p.read_bytes() for p in (tmp_path / "site").rglob("*.html")]
    assert len(pages) == 3
    _strict_utf8((tmp_path / "site" / "index.html").read_bytes())


@pytest.mark.parametrize(
    "args",
    [
        ["analyze", "{logdir}", "-f", "json", "-j", "1"],
        ["analyze", "{logdir}", "-f", "md", "-j", "1"],
        ["tags", "{logdir}", "--json"],
        ["tags", "{logdir}"],
        ["export", "{logdir}", "-o", "-"],
        ["compare", "{logdir}", "{logdir}", "-f", "json"],
    ],
    ids=["json", "md", "tags-json", "tags", "export", "compare-json"],
)
def test_undecodable_names_on_stdout(
    bytes_logdir: Path, args: list[str], cli_server: CliServer
) -> None:
    # A real process's stdout (not CliRunner's): forked from one that loaded the CLI once.
    proc = cli_server.run([a.format(logdir=bytes_logdir) for a in args], timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert b"Traceback" not in proc.stderr
    text = _strict_utf8(proc.stdout)
    if "--json" in args or "json" in args:
        _no_surrogates(json.loads(text))


# --- formats, bugs and optional packages ----------------------------------------------------


def test_markdown_is_another_name_for_md(logdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The stamp is fixed: two reports made across a second's turn differ in it otherwise.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    md = _invoke("analyze", str(logdir), "-f", "md")
    markdown = _invoke("analyze", str(logdir), "-f", "markdown")
    assert markdown.exit_code == 0
    assert markdown.stdout.startswith("## dlreport: 2 runs")
    assert markdown.stdout == md.stdout
    compare = _invoke("compare", str(logdir), str(logdir), "-f", "markdown")
    assert compare.exit_code == 0
    assert compare.stdout == _invoke("compare", str(logdir), str(logdir)).stdout


def test_a_bug_is_exit_3_with_please_report_and_the_traceback_only_under_debug(
    logdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import analyzer.pipeline

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(analyzer.pipeline, "build_analysis", broken)
    result = _invoke("analyze", str(logdir), "-f", "json")
    line = one_line_error(result, "internal error: KeyError", "please report", code=3)
    assert "--debug" in line
    debug = _invoke("--debug", "analyze", str(logdir), "-f", "json")
    assert debug.exit_code == 3
    assert "Traceback" in debug.stderr
    assert "KeyError: 'boom'" in debug.stderr


@pytest.mark.parametrize(
    ("url", "package", "extra"),
    [("gs://bucket/logs", "gcsfs", "gcs"), ("http://127.0.0.1:9/logs", "aiohttp", "http")],
)
@pytest.mark.parametrize("command", ["analyze", "tags", "export", "compare"])
def test_a_url_without_its_optional_package_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    url: str,
    package: str,
    extra: str,
    command: str,
) -> None:
    import fsspec.registry  # noqa: F401  (the module, shadowed by fsspec.registry the mapping)

    registry = sys.modules["fsspec.registry"]
    monkeypatch.setitem(sys.modules, package, None)  # as if not installed
    for protocol in ("gs", "gcs", "http", "https"):  # forget a class already imported
        monkeypatch.delitem(registry._registry, protocol, raising=False)
    args = {
        "analyze": [url, "-f", "json"],
        "tags": [url],
        "export": [url, "-o", str(tmp_path / "s.csv")],
        "compare": [url, url],
    }[command]
    result = _invoke(command, *args)
    one_line_error(result, url, f"install dlreport[{extra}]", f"pip install 'dlreport[{extra}]'")


def test_a_crashed_diagnostic_is_exit_3_not_a_silent_pass(
    logdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue #12: a diagnostic that raised (loss_spikes on a float window) still exited 0.
    from dataclasses import replace

    from analyzer.diagnostics import REGISTRY

    def boom(run: object, t: object) -> list:
        raise ValueError("window must be an integer")

    monkeypatch.setitem(REGISTRY, "loss_spikes", replace(REGISTRY["loss_spikes"], func=boom))
    out = tmp_path / "r.json"
    result = _invoke("analyze", str(logdir), "-f", "json", "-o", str(out), "-j", "1")
    assert result.exit_code == 3
    assert "internal error: 2 diagnostic(s) crashed (first: run a: loss_spikes: ValueError" in (
        result.stderr
    )
    assert "please report" in result.stderr
    assert json.loads(out.read_text())["runs"][0]["errors"]  # the report is still written


def test_a_storage_error_is_the_environment_not_a_bug(
    logdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # s3:// without credentials ended as "internal error: NoCredentialsError ... bug".
    botocore = pytest.importorskip("botocore.exceptions")
    import analyzer.pipeline

    def no_credentials(*args: object, **kwargs: object) -> None:
        raise botocore.NoCredentialsError()

    monkeypatch.setattr(analyzer.pipeline, "build_analysis", no_credentials)
    result = _invoke("analyze", "s3://bucket/logs", "-f", "json")
    one_line_error(result, "cannot read from storage: NoCredentialsError", "credentials")
