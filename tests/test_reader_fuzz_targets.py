"""The fuzz targets (fuzz/targets.py) run here too, on inputs hypothesis makes: event files,
``hparams.yaml`` files, directory trees (names that are not UTF-8, links, FIFOs, devices) and
settings files. The coverage-guided fuzzers (tests/test_fuzz.py) need atheris; these need
nothing more."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from event_builders import event_file_bytes, header_event, scalar_event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))
import targets

_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def _seed_events(monkeypatch: pytest.MonkeyPatch) -> None:
    data = event_file_bytes(
        [header_event(), *(scalar_event(s, 1.0 + s, {"loss": 1.0}) for s in range(5))]
    )
    monkeypatch.setattr(targets, "_SEED_EVENTS", data)


@_SETTINGS
@given(st.binary(max_size=300))
def test_event_file_target(data: bytes) -> None:
    targets.event_file(data)


_YAML_PIECES = st.sampled_from(
    ["a: 1\n", "b: &x {c: 2}\n", "d: *x\n", "e: [1, *x]\n", "{", "[", "- ", "&y ", "*y",
     "f: !!python/tuple [1]\n", "\xff", "k: 'v'\n", "  g: 3\n"]
)  # fmt: skip


@_SETTINGS
@given(st.one_of(st.binary(max_size=200), st.lists(_YAML_PIECES, max_size=30).map(
    lambda parts: "".join(parts).encode("utf-8", "surrogateescape")
)))  # fmt: skip
def test_hparams_yaml_target(data: bytes) -> None:
    targets.hparams_yaml(data)


@_SETTINGS
@given(st.binary(min_size=2, max_size=80))
def test_directory_tree_target(data: bytes) -> None:
    targets.directory_tree(data)


def test_directory_tree_target_builds_what_it_says() -> None:
    """A tree with a run named by invalid bytes, a FIFO, a loop and /dev/zero: read, and the
    property holds (so the target exercises these, not an empty folder)."""
    ops = bytes([0, 2]) + b"r\xff" + bytes([1, 1]) + b"e" + bytes([7, 1]) + b"f"
    ops += bytes([6, 1]) + b"z" + bytes([5, 1]) + b"l" + bytes([4, 1]) + b"u"
    targets.directory_tree(ops)


def test_directory_tree_target_never_waits_on_a_fifo_it_made() -> None:
    """A FIFO, then an event file and garbage of the same name: the builder takes the name as
    taken. Opening the FIFO to write the file waited for a reader for ever, and the default
    suite hung whenever hypothesis drew such a pair."""
    ops = bytes([7, 1]) + b"f" + bytes([1, 1]) + b"f" + bytes([2, 1]) + b"f"
    outcome: list[BaseException | None] = []

    def build() -> None:
        try:
            targets.directory_tree(ops)
            outcome.append(None)
        except BaseException as exc:  # handed to the test's thread
            outcome.append(exc)

    thread = threading.Thread(target=build, daemon=True)
    thread.start()
    thread.join(30)
    assert outcome, "still building after 30 s: it waits on its own FIFO"
    if outcome[0] is not None:
        raise outcome[0]


_TOML_PIECES = st.sampled_from(
    ["[thresholds]\n", "[roles]\n", "[tool.dlreport]\n", "[tool.dlreport.thresholds]\n",
     "tool = 3\n", "[tool]\ndlreport = 3\n", "spike_z = nan\n", "spike_z = -inf\n",
     "min_points = 5.5\n", "min_points = 1e300\n", "min_points = -1\n", "spike_z = \"x\"\n",
     "plateau_window = [1]\n", "train_loss = 3\n", "train_loss = \"loss\"\n", "thresholds = 1\n",
     "roles = \"x\"\n", "no_such = 1\n", "= \n", "\xff", "[[thresholds]]\n", "a.b.c = 1\n"]
)  # fmt: skip


@_SETTINGS
@given(st.one_of(st.binary(max_size=200), st.lists(_TOML_PIECES, max_size=12).map(
    lambda parts: "".join(parts).encode("utf-8", "surrogateescape")
)))  # fmt: skip
def test_settings_file_target(data: bytes) -> None:
    targets.settings_file(data)


@pytest.mark.parametrize("name", ["bad_types", "dlreport_tables", "pyproject_other",
                                  "pyproject_tool"])  # fmt: skip
def test_settings_file_target_on_its_seeds(name: str) -> None:
    seed = Path(__file__).resolve().parents[1] / "fuzz" / "corpus_settings" / name
    targets.settings_file(seed.read_bytes())
