"""Issue #14, the reader's cases, end to end through the command line.

Each test builds its input, runs ``dlreport`` in a process of its own under a timeout and a
memory cap (``RLIMIT_AS``), and checks the exit code, that every message is one line, and that
no traceback is printed. Without the fixes these inputs hung for ever, grew to gigabytes, or
ended in a traceback. The processes are forked from one that imported the CLI once
(``cli_checks.CliServer``): two dozen start-ups cost about 12 CPU-s, the forks a fraction.

Where each case of issue #14 is tested (here unless a file is named):

1. FIFOs: ``test_a_fifo_named_*``. 2. devices, the first-record scan, declared lengths:
``test_a_device_linked_*``, ``test_only_a_device_*``, ``test_a_regular_file_of_zeros_*`` (slow),
test_reader_events.py ``test_no_first_record_*``, ``test_huge_declared_length_*``.
3, 4. ``test_hparams_yaml_*``. 5. test_engine.py ``test_workers_are_capped_*``,
``test_cli_caps_jobs_*``; a pool that cannot go on: ``test_a_thread_the_pool_cannot_start_*``,
``test_a_worker_that_dies_*``, ``test_out_of_memory_in_the_cli_*``. 6. test_engine.py
``test_scheduler_*``, ``test_cli_scheduler_failures_*``. 7. ``test_a_huge_first_header_*``;
test_hostile.py ``test_long_tag_names_*``. 8, 9. ``test_*undecodable_names*``,
``test_names_that_show_the_same_*``; test_cli_output.py ``test_undecodable_names_*``.
10, 11, 15 (analyze). test_hostile.py ``test_steps_at_the_int64_limits_*``,
``test_nan_and_inf_hyperparameters_*``, ``test_a_training_loss_nan_*``. 12. test_cli_output.py
``test_output_into_a_missing_folder_*``, ``test_unwritable_output_*``,
``test_read_only_folder_*`` (as root too), ``test_stdout_to_dev_full_*``. 13. test_settings.py
``test_settings_file_errors_*``, ``test_cli_refuses_bad_threshold_*``,
``test_a_settings_file_over_1_mb_*``, ``test_settings_lookup_passes_over_fifos_*``.
14. test_cli_output.py ``test_a_url_without_its_optional_package_*``. 15, 16. test_compare.py
``test_a_loss_nan_at_every_step_is_a_regression``, ``test_no_run_in_common_*``.
17. test_pipeline.py ``test_a_side_whose_tags_would_mix_*``, ``test_tags_and_export_keep_*``;
``test_tags_counts_steps_written_three_times_right``. Fuzzing of hparams.yaml, settings files and
directory trees: test_reader_fuzz_targets.py (hypothesis), test_fuzz.py (atheris, slow).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_checks import CliServer, Ran
from event_builders import frame_records, header_event, scalar_event, write_event_file
from tensorboard.compat.proto import event_pb2

from analyzer.reader import events, framing, hparams

# Every case here passes under a 450 MiB address-space cap (250 MB resident: pandas,
# matplotlib); the bad inputs used to take gigabytes. The margin is for other builds of the
# libraries.
MEMORY_CAP = 768 << 20
TIMEOUT = 60  # seconds; the cases take well under one on an idle machine (CI's box is shared)
POSIX = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork, FIFOs and /dev/zero")

_server: CliServer | None = None


@pytest.fixture(scope="module", autouse=True)
def _cli_server(request: pytest.FixtureRequest) -> Iterator[None]:
    global _server
    if not hasattr(os, "fork"):
        yield
        return
    _server = request.getfixturevalue("cli_server")  # conftest.py's, one for the session
    try:
        yield
    finally:
        _server = None


def _cli(*args: str) -> Ran:
    if _server is None:
        pytest.skip("needs fork")
    return _server.run(args, timeout=TIMEOUT, memory_cap=MEMORY_CAP)


def _clean(result: Ran, code: int = 0) -> list[str]:
    """The stderr lines, checked: the exit code, no traceback, valid UTF-8."""
    stderr = result.stderr.decode("utf-8")  # strict: raw bytes or surrogates would fail here
    assert result.returncode == code, stderr
    assert "Traceback" not in stderr, stderr
    return stderr.splitlines()


def _good_run(path: Path, tag: str = "train/loss") -> None:
    events_ = [header_event()]
    events_ += [scalar_event(s, 100.0 + s, {tag: 1.0 / (s + 1)}) for s in range(30)]
    write_event_file(path / "events.out.tfevents.1.good", events_)


def _strict_json(data: bytes) -> object:
    """JSON as a strict parser reads it: UTF-8 only, no lone surrogates, no NaN."""
    text = data.decode("utf-8")
    text.encode("utf-8")  # lone surrogates (even as \\ud8xx escapes) do not survive this

    def no_constants(name: str) -> None:
        raise ValueError(name)

    value = json.loads(text, parse_constant=no_constants)
    json.dumps(value, ensure_ascii=False).encode("utf-8")
    return value


# ---------------------------------------------------------------------------------------------
# Case 1, 2: special files


@POSIX
@pytest.mark.parametrize("command", [["tags"], ["analyze", "-f", "json", "-j", "1"]])
def test_a_fifo_named_like_an_event_file_is_reported_not_read(
    tmp_path: Path, command: list[str]
) -> None:
    _good_run(tmp_path / "run")
    os.mkfifo(tmp_path / "run" / "events.out.tfevents.2.fifo")
    result = _cli(*command, str(tmp_path))
    lines = _clean(result)  # analyze warns on stderr; tags lists problems on stdout
    lines += result.stdout.decode().splitlines() if command == ["tags"] else []
    warnings = [line for line in lines if "fifo" in line]
    assert warnings
    for warning in warnings:
        assert warning.endswith("tfevents.2.fifo: a FIFO, not a regular file: not read")


@POSIX
def test_a_fifo_named_hparams_yaml_is_reported_not_read(tmp_path: Path) -> None:
    _good_run(tmp_path / "run")
    os.mkfifo(tmp_path / "run" / "hparams.yaml")
    result = _cli("tags", "--json", str(tmp_path))
    _clean(result)
    (run,) = _strict_json(result.stdout)["runs"]
    (problem,) = run["problems"]
    assert problem["kind"] == "special_file"
    assert problem["message"] == "hparams.yaml is a FIFO, not a regular file: not read"


@POSIX
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_linked_as_an_event_file_is_reported_not_read(tmp_path: Path, device: str) -> None:
    _good_run(tmp_path / "run")
    (tmp_path / "run" / "events.out.tfevents.2.dev").symlink_to(device)
    lines = _clean(_cli("export", str(tmp_path), "-o", str(tmp_path / "out.csv")))
    assert "events.out.tfevents.2.dev: a character device, not a regular file: not read" in (
        "\n".join(lines)
    )
    assert (tmp_path / "out.csv").read_text().count("\n") == 31  # header + 30 points


@POSIX
def test_only_a_device_is_an_input_error_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "events.out.tfevents.1.dev").symlink_to("/dev/zero")
    (line,) = _clean(_cli("tags", str(tmp_path)), code=2)
    assert line.endswith("a character device, not a regular file: not read)")


def test_a_regular_file_of_zeros_is_refused_after_the_first_bytes(tmp_path: Path) -> None:
    """Case 2 for a regular file: the search for a first record stops (it was endless on
    /dev/zero, and would scan the whole of a huge file)."""
    (tmp_path / "run").mkdir()
    with open(tmp_path / "run" / "events.out.tfevents.1.zeros", "wb") as f:
        f.truncate(events.FIRST_RECORD_SCAN * 8)  # sparse: 128 MiB of zeros
    (line,) = _clean(_cli("tags", str(tmp_path)), code=2)
    assert f"no valid record in its first {events.FIRST_RECORD_SCAN} bytes" in line


# ---------------------------------------------------------------------------------------------
# Case 3, 4: hparams.yaml


def _alias_bomb(levels: int) -> str:
    lines = ["a0: &a0 {k: 1}"]
    for i in range(1, levels + 1):
        keys = ", ".join(f"k{j}: *a{i - 1}" for j in range(10))
        lines.append(f"a{i}: &a{i} {{{keys}}}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [7, 8])
def test_hparams_yaml_of_nested_aliases_is_bounded(tmp_path: Path, levels: int) -> None:
    _good_run(tmp_path / "run")
    (tmp_path / "run" / "hparams.yaml").write_text(_alias_bomb(levels))
    result = _cli("tags", "--json", str(tmp_path))
    _clean(result)
    (run,) = _strict_json(result.stdout)["runs"]
    (problem,) = run["problems"]
    kept = len(run["hparams"])
    assert 0 < kept < 10_000
    assert problem["message"] == (
        f"hparams.yaml holds more than 10000 values (nested aliases?); the first {kept} were kept"
    )


def test_hparams_yaml_list_of_aliases_is_shown_cut(tmp_path: Path) -> None:
    """A list is kept as text: built piece by piece, not by ``str()`` of its expansion."""
    lines = ["l0: &l0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    _good_run(tmp_path / "run")
    (tmp_path / "run" / "hparams.yaml").write_text("\n".join(lines) + "\n")
    result = _cli("tags", "--json", str(tmp_path))
    _clean(result)
    (run,) = _strict_json(result.stdout)["runs"]
    assert run["problems"] == []
    assert run["hparams"]["l8"].startswith("[[[[[[[[[1, 2, 3")
    assert run["hparams"]["l8"].endswith("...")
    assert len(run["hparams"]["l8"]) <= 210


@pytest.mark.parametrize("command", [["tags"], ["analyze", "-f", "md", "-j", "1"]])
def test_hparams_yaml_nested_too_deep_is_one_line(tmp_path: Path, command: list[str]) -> None:
    _good_run(tmp_path / "run")
    (tmp_path / "run" / "hparams.yaml").write_text("a: " + "{a: " * 1000 + "1" + "}" * 1000)
    result = _cli(*command, str(tmp_path))
    lines = _clean(result) + result.stdout.decode().splitlines()  # tags lists problems
    (warning,) = [line for line in lines if "hparams.yaml" in line]
    assert warning.endswith("hparams.yaml not readable (nested deeper than 50 levels)")


def test_hparams_yaml_larger_than_the_limit_is_not_read(tmp_path: Path) -> None:
    """Its first MiB alone could parse, to a value cut short (``lr: 0.00`` of ``0.001``)."""
    _good_run(tmp_path / "run")
    filler = "# padding\n" * (hparams.YAML_MAX_BYTES // 10)
    (tmp_path / "run" / "hparams.yaml").write_text(filler + "lr: 0.001\n")
    result = _cli("tags", "--json", str(tmp_path))
    _clean(result)
    (run,) = _strict_json(result.stdout)["runs"]  # type: ignore[index]
    assert run["hparams"] == {}
    (problem,) = run["problems"]
    assert problem["message"] == "hparams.yaml not read (larger than 1048576 bytes)"
    (tmp_path / "run" / "hparams.yaml").write_text(filler[:-100] + "lr: 0.001\n")  # at the limit
    (run,) = _strict_json(_cli("tags", "--json", str(tmp_path)).stdout)["runs"]  # type: ignore[index]
    assert (run["hparams"], run["problems"]) == ({"lr": 0.001}, [])


def test_hparams_yaml_within_the_limits_is_read(tmp_path: Path) -> None:
    """The bounds do not touch a real Lightning file: aliases, lists and nesting included."""
    _good_run(tmp_path / "run")
    (tmp_path / "run" / "hparams.yaml").write_text(
        "model: {lr: 0.001, layers: &l [64, 64]}\ndecoder: {layers: *l}\n"
        + "deep: " + "{d: " * 40 + "7" + "}" * 40 + "\n"
    )  # fmt: skip
    result = _cli("tags", "--json", str(tmp_path))
    _clean(result)
    (run,) = _strict_json(result.stdout)["runs"]
    assert run["problems"] == []
    assert run["hparams"]["model.lr"] == 0.001
    assert run["hparams"]["decoder.layers"] == "[64, 64]"
    assert run["hparams"]["deep" + ".d" * 40] == 7.0


# ---------------------------------------------------------------------------------------------
# Case 7: a huge first header


def test_a_huge_first_header_does_not_hide_the_records_after_it(tmp_path: Path) -> None:
    length = (2**62).to_bytes(8, "little")
    header = length + framing.masked_crc(length).to_bytes(4, "little")
    good = tmp_path / "good"
    _good_run(good)
    data = header + (good / "events.out.tfevents.1.good").read_bytes()
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "events.out.tfevents.1.x").write_bytes(data)
    (good / "events.out.tfevents.1.good").unlink()
    good.rmdir()
    result = _cli("export", str(tmp_path), "-o", "-")
    lines = _clean(result)
    assert result.stdout.decode().count("\n") == 31
    (warning,) = lines
    assert "does not start with a record: skipped 12 bytes" in warning


# ---------------------------------------------------------------------------------------------
# Case 8, 9: names that are not UTF-8


def _raw_tag_event(tag: bytes, step: int, value: float) -> bytes:
    event = event_pb2.Event(wall_time=1.0 + step, step=step)
    placeholder = b"T" * len(tag)
    event.summary.value.add(tag=placeholder.decode(), simple_value=value)
    return event.SerializeToString().replace(placeholder, tag)  # same length


def _bytes_logdir(tmp_path: Path) -> Path:
    """A run folder named ``run\\xff\\xfe`` with tags ``acc\\xff`` and ``acc\\xfe`` (both
    were ``acc\ufffd``), beside a plain run."""
    root = tmp_path / "logs"
    _good_run(root / "plain")
    run = os.path.join(os.fsencode(root), b"run\xff\xfe")
    os.makedirs(run)
    records = [header_event().SerializeToString()]
    for s in range(30):
        records.append(_raw_tag_event(b"acc\xff", s, 0.5))
        records.append(_raw_tag_event(b"acc\xfe", s, 0.25))
        loss = scalar_event(s, 1.0 + s, {"train/loss": 1.0 / (s + 1)})
        records.append(loss.SerializeToString())
    with open(os.path.join(run, b"events.out.tfevents.1.x"), "wb") as f:
        f.write(frame_records(records))
    return root


_RUN = "run\\xff\\xfe"
_TAGS = {"acc\\xff", "acc\\xfe"}


@POSIX
def test_tags_json_of_undecodable_names(tmp_path: Path) -> None:
    root = _bytes_logdir(tmp_path)
    result = _cli("tags", "--json", str(root))
    _clean(result)
    runs = {r["run"]: r for r in _strict_json(result.stdout)["runs"]}
    assert set(runs) == {"plain", _RUN}
    assert {t["tag"] for t in runs[_RUN]["tags"]} == _TAGS | {"train/loss"}
    assert all(_RUN in f for f in runs[_RUN]["files"])


@POSIX
@pytest.mark.parametrize("fmt", ["json", "md", "html"])
def test_analyze_to_a_file_with_undecodable_names(tmp_path: Path, fmt: str) -> None:
    root = _bytes_logdir(tmp_path)
    out = tmp_path / f"report.{fmt}"
    _clean(_cli("analyze", "-f", fmt, "-j", "1", "-o", str(out), str(root)))
    text = out.read_bytes().decode("utf-8")  # strict
    # shown, in each format's own escaping
    assert "xff" in text
    assert "xfe" in text
    if fmt == "json":
        names = {r["run"] for r in _strict_json(out.read_bytes())["runs"]}
        assert names == {"plain", _RUN}


@POSIX
def test_analyze_json_to_stdout_is_strict_json(tmp_path: Path) -> None:
    root = _bytes_logdir(tmp_path)
    result = _cli("analyze", "-f", "json", "-j", "1", str(root))
    _clean(result)
    assert {r["run"] for r in _strict_json(result.stdout)["runs"]} == {"plain", _RUN}


@POSIX
def test_analyze_site_with_undecodable_names(tmp_path: Path) -> None:
    root = _bytes_logdir(tmp_path)
    site = tmp_path / "site"
    _clean(_cli("analyze", "-j", "1", "-o", f"{site}/", str(root)))
    index = (site / "index.html").read_bytes().decode("utf-8")
    assert _RUN in index


@POSIX
@pytest.mark.parametrize("target", ["file", "stdout"])
def test_export_with_undecodable_names(tmp_path: Path, target: str) -> None:
    root = _bytes_logdir(tmp_path)
    out = tmp_path / "points.csv"
    result = _cli("export", str(root), "-o", str(out) if target == "file" else "-")
    _clean(result)
    text = (out.read_bytes() if target == "file" else result.stdout).decode("utf-8")
    rows = [line.split(",") for line in text.splitlines()[1:]]
    assert {(r[0], r[1]) for r in rows if r[0] == _RUN} == {(_RUN, t) for t in _TAGS} | {
        (_RUN, "train/loss")
    }
    assert len(rows) == 30 + 3 * 30


def test_names_that_show_the_same_stay_apart(tmp_path: Path) -> None:
    """``\\xff`` the byte and ``\\xff`` the four characters show the same: they stay two
    tags (the second is numbered), never one merged tag."""
    records = [header_event().SerializeToString()]
    for s in range(5):
        records.append(_raw_tag_event(b"acc\xff", s, 1.0))
        records.append(_raw_tag_event(b"acc\\xff", s, 2.0))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "events.out.tfevents.1.x").write_bytes(frame_records(records))
    result = _cli("tags", "--json", str(tmp_path))
    _clean(result)
    (run,) = _strict_json(result.stdout)["runs"]
    assert [(t["tag"], t["points"]) for t in run["tags"]] == [
        ("acc\\xff", 5),
        ("acc\\xff (2)", 5),
    ]


# ---------------------------------------------------------------------------------------------
# Case 17: steps written three times


def test_tags_counts_steps_written_three_times_right(tmp_path: Path) -> None:
    """200 steps written 3 times each were told as "400 steps written twice"."""
    events_ = [header_event()]
    events_ += [scalar_event(s, 1.0 + s, {"x": 1.0}) for s in range(200) for _ in range(3)]
    events_ += [scalar_event(s, 1.0 + s, {"y": 1.0}) for s in range(5) for _ in range(1 + s % 3)]
    write_event_file(tmp_path / "events.out.tfevents.1.x", events_)
    result = _cli("tags", str(tmp_path))
    _clean(result)
    lines = result.stdout.decode().splitlines()
    assert "  x  scalar           200 points  steps 0..199" in lines
    assert (
        "  note: x: 200 steps written 3 times each (400 extra writes, steps 0..199); "
        "the latest write is kept"
    ) in lines
    assert (  # steps 1 and 4 twice, step 2 three times: not as often each
        "  note: y: 3 steps written more than once (4 extra writes, steps 1..4); "
        "the latest write is kept"
    ) in lines
    as_json = _strict_json(_cli("tags", "--json", str(tmp_path)).stdout)
    (run,) = as_json["runs"]  # type: ignore[index]
    assert {"tag": "x", "first_step": 0, "last_step": 199, "count": 400, "steps": 200} in run[
        "duplicate_steps"
    ]
