"""Shared fixtures: logdirs written at test time by real writers (tensorboardX, TensorBoard).

No torch: tensorboardX and TensorBoard's own torch-free writer produce the same records torch's
``SummaryWriter`` does (``simple_value`` scalars, ``HistogramProto`` histograms, text and
hparams plugin summaries; TF2-style tensors are written with TensorBoard's protos).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

# The shared builders live in tests/helpers/; tests import them by module name
# (``from event_builders import ...``), so the folder goes on the path before any test module
# (and the imports below) load.
sys.path.insert(0, str(Path(__file__).parent / "helpers"))

import fsspec
import fsspec.config
import numpy as np
import pytest
from cli_checks import CliServer
from event_builders import (
    TBX_ACC,
    TBX_HIST_VALUES,
    TBX_HPARAMS,
    TBX_LOSS,
    TBX_TEXT,
    TBX_WALL,
    TbxLogdir,
)
from tensorboardX import SummaryWriter

if TYPE_CHECKING:
    from analyzer.pipeline import Analysis
    from analyzer.render.site import Site


@pytest.fixture
def tbx_logdir(tmp_path: Path) -> TbxLogdir:
    """A tensorboardX run: scalars, a histogram, a text summary and hparams.

    ``add_hparams`` writes to a child directory (``run/hp``), which is a run of its own.
    """
    root = tmp_path / "logs"
    run = root / "run"
    with SummaryWriter(str(run)) as w:
        for step, loss in enumerate(TBX_LOSS):
            w.add_scalar("train/loss", loss, step * 10, walltime=TBX_WALL + step)
        for step, acc in enumerate(TBX_ACC):
            w.add_scalar("val/acc", acc, step * 20, walltime=TBX_WALL + 100 + step)
        w.add_histogram(
            "weights", TBX_HIST_VALUES, 5, bins=np.array([0.0, 1.5, 2.5, 5.0]), walltime=TBX_WALL
        )
        w.add_text("notes", TBX_TEXT, 3, walltime=TBX_WALL + 7)
        w.add_hparams(TBX_HPARAMS, {"hp/final_loss": 0.25}, name="hp", global_step=40)
    return TbxLogdir(root=root, run=run, hparams_run="run/hp")


@pytest.fixture
def keras_logdir(tmp_path: Path) -> Path:
    """Keras' layout: ``train/`` and ``validation/`` subfolders with the same tags."""
    root = tmp_path / "fit"
    for sub, offset in (("train", 0.0), ("validation", 0.5)):
        with SummaryWriter(str(root / sub)) as w:
            for epoch in range(3):
                w.add_scalar("epoch_loss", 1.0 / (epoch + 1) + offset, epoch, walltime=10.0 + epoch)
    return root


# --- logs and results shared by several test files ------------------------------------------
# Written and analysed once per session: each costs seconds of CPU when every file does it
# again (the HTML page alone draws a chart per finding and per run). Tests only read them.

GENERATED_AT = "2026-01-01T00:00:00Z"


@pytest.fixture(scope="session")
def report_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/helpers/report_logs.py's four runs (healthy, diverged, overfit, hostile)."""
    from report_logs import write_report_logs

    return write_report_logs(tmp_path_factory.mktemp("report") / "logs")


@pytest.fixture(scope="session")
def report_analysis(report_logs: Path) -> Analysis:
    """The analysis of :func:`report_logs` as the golden files and the HTML tests make it."""
    from analyzer.pipeline import build_analysis

    return build_analysis(str(report_logs), generated_at=GENERATED_AT, strict=True)


@pytest.fixture(scope="session")
def report_html(report_analysis: Analysis) -> str:
    """The single-page HTML report of :func:`report_analysis`, charts included."""
    from analyzer.render import html

    return html.render(report_analysis.report, report_analysis.runs)


@pytest.fixture(scope="session")
def sweep_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/helpers/sweep_logs.py's ten-run hyperparameter sweep."""
    from sweep_logs import write_sweep

    return write_sweep(tmp_path_factory.mktemp("sweep") / "logs")


@pytest.fixture(scope="session")
def sweep_site(
    sweep_logs: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Analysis, Site, Path]:
    """The sweep written as a folder (index and run pages), as one experiment: the analysis,
    the :class:`Site` and the folder."""
    from analyzer.api import build_site

    out = tmp_path_factory.mktemp("sweep-site") / "out"
    analysis, site = build_site(str(sweep_logs), out, generated_at=GENERATED_AT, group_by="none")
    return analysis, site, out


@pytest.fixture(scope="session")
def cli_server() -> Iterator[CliServer]:
    """One :class:`CliServer` for the session: a process per command, one start-up for all."""
    if not hasattr(os, "fork"):
        pytest.skip("needs fork")
    server = CliServer()
    yield server
    server.close()


# --- a real S3-compatible server (moto) on loopback, and fsspec configured to reach it ------
# (imports are lazy: the fixtures skip their tests where moto or s3fs are not installed)

BUCKET = "dlreport-test"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[fsspec.AbstractFileSystem]:
    """An s3fs filesystem on the moto server, and fsspec configured to reach it."""
    s3fs = pytest.importorskip("s3fs", reason="s3fs is not installed")

    for var, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setitem(fsspec.config.conf, "s3", {"client_kwargs": {"endpoint_url": endpoint}})
    s3fs.S3FileSystem.clear_instance_cache()
    fs = fsspec.filesystem("s3")
    if not fs.exists(BUCKET):
        fs.mkdir(BUCKET)
    yield fs
    fs.rm(BUCKET, recursive=True)
    s3fs.S3FileSystem.clear_instance_cache()


# --- slow tests -------------------------------------------------------------------------------
# The default ``python -m pytest`` runs in under a minute of CPU; the tests below take most of
# the rest (measured with --durations: real-world cross-checks over every shared event file,
# thousands of runs, clusters, the browser, fuzzing). They are marked ``slow`` here, in one
# list, rather than in each file, so that the files' owners can keep editing them. CI runs
# them too: ``.ci/run`` adds ``python -m pytest -q -m slow``. ``--runslow`` runs everything.
# tests/test_conftest_slow.py checks that every entry still names a test. An entry names a
# test (``file::name``, every case of it), one case of a parametrised test (``file::name[id]``:
# the default run keeps the other cases) or a whole file (``file::*``).
SLOW_TESTS = (
    "test_reader_layouts.py::test_real_world_files_read_the_same_both_ways",
    "test_reader_layouts.py::test_every_single_bit_flip_of_a_record_reads_the_same_both_ways",
    "test_reader_realworld.py::test_same_scalars_as_tbparse",
    "test_reader_realworld.py::test_fast_path_equals_reference_reader",
    "test_scale.py::test_thousands_of_runs",
    "test_pipeline_s3.py::test_analyze_many_runs_on_s3",
    "test_render_site.py::test_cli_suggests_a_folder_for_many_runs",
    "test_engine.py::test_dask_cluster_on_loopback_gives_the_same_report",
    "test_engine.py::test_unreachable_scheduler_is_a_clear_error",
    "test_fuzz.py::test_fuzz_short_run",
    # the 16 MiB first-record scan on zeros (3 CPU-s): test_reader_events.py checks the same
    # bound in-process, scaled down to 256 KiB; the site of undecodable names:
    # test_cli_output.py checks it too
    "test_reader_hostile.py::test_a_regular_file_of_zeros_is_refused_after_the_first_bytes",
    "test_reader_hostile.py::test_analyze_site_with_undecodable_names",
    "test_browser.py::*",
    "test_readme.py::test_every_sh_and_python_block_runs",  # a git clone, the quick start
    "test_action.py::test_summary_html_and_gate",
    "test_action.py::test_no_gate_passes",
    # 620,000 doubles against repr(); the default run checks 155,000 of them (the same kinds)
    "test_render_export.py::test_float_text_is_python_repr_for_any_double[all]",
)

# --- property tests: fewer examples in the default run, all of them in the slow run ----------
# A @given test asks for ``examples(n)``: a third of n (at least 10) in the default run, n
# where the slow tests run (``-m slow``, ``--runslow``): there every @given test is marked slow
# and runs again with all its examples. A failure found there is kept in Hypothesis' example
# database (.hypothesis/) and replayed first by later runs.
_thorough = False


def examples(n: int) -> int:
    """How many examples a property test that wants ``n`` runs in this session."""
    return n if _thorough else max(10, n // 3)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--runslow", action="store_true", default=False, help="also run the tests marked slow"
    )


def pytest_configure(config: pytest.Config) -> None:
    global _thorough
    config.addinivalue_line(
        "markers", "slow: takes seconds; left out unless --runslow or -m selects it (CI runs it)"
    )
    # Before the test modules are imported: their settings call examples() as they load.
    markexpr = " ".join(str(config.getoption("markexpr") or "").split())
    _thorough = bool(config.getoption("--runslow")) or markexpr == "slow"


def _is_slow(item: pytest.Item) -> bool:
    name = getattr(item, "originalname", item.name)
    names = {f"{item.path.name}::{name}", f"{item.path.name}::{item.name}", f"{item.path.name}::*"}
    if any(entry in names for entry in SLOW_TESTS):
        return True
    # a property test runs again, with all its examples, with the slow tests
    return _thorough and getattr(getattr(item, "obj", None), "is_hypothesis_test", False)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _is_slow(item):
            item.add_marker(pytest.mark.slow)
    if config.getoption("--runslow") or config.getoption("markexpr"):
        return  # everything, or what -m asked for
    slow = [item for item in items if "slow" in item.keywords]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if "slow" not in item.keywords]
