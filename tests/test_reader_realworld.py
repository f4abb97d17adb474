"""Event files written by real runs: exact expectations for the bundled fixtures, and on every
file of the shared real-world set (beside the checkout, when present) the same scalars as
tbparse and the same points as the reference reader."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from event_builders import REALWORLD_FIXTURES, read_bytes

from analyzer.reader import RunData, TagInfo, read_logdir
from analyzer.reader.events import raw_scalars, read_event_bytes
from analyzer.reader.reference import read_bytes_reference
from analyzer.reader.tags import TagTable

SHARED = Path(__file__).parents[2] / "shared" / "realworld"
_NO_SHARED = f"{SHARED} is absent (the shared real-world set lives beside the checkout)"


def _event_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and "tfevents" in p.name)


def _params(root: Path, reason: str | None = None) -> list[object]:
    if not root.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason or f"{root} absent"))]
    return [pytest.param(p, id=str(p.relative_to(root))) for p in _event_files(root)]


ALL_FILES = _params(REALWORLD_FIXTURES) + _params(SHARED, _NO_SHARED)


@pytest.fixture(scope="module")
def runs() -> dict[str, RunData]:
    return {run.name: run for run in read_logdir(str(REALWORLD_FIXTURES)).runs}


def _points(run: RunData, tag: str) -> list[tuple[int, float]]:
    frame = run.scalars[run.scalars["tag"] == tag]
    return list(zip(frame["step"].tolist(), frame["value"].tolist(), strict=True))


def _fixture(rel: str) -> Path:
    return REALWORLD_FIXTURES / rel


# ---------------------------------------------------------------------------------------------
# The bundled fixtures


def test_provenance_lists_exactly_the_bundled_files() -> None:
    text = (REALWORLD_FIXTURES / "PROVENANCE.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([^`]+)` \| (\d+) \|", text, flags=re.MULTILINE))
    present = {
        (str(p.relative_to(REALWORLD_FIXTURES)), str(p.stat().st_size))
        for p in REALWORLD_FIXTURES.rglob("*")
        if p.is_file() and p.name != "PROVENANCE.md"
    }
    assert listed == present
    assert sum(int(size) for _, size in present) < 400_000


def test_the_fixture_runs_and_their_names(runs: dict[str, RunData]) -> None:
    assert sorted(runs) == [
        "awd-lstm-base/runs/Aug23_14-44-19_ju-cvlab",
        "awd-lstm-base/runs/Aug23_18-09-41_cvlab",
        "da6401-assignment3/lightning_logs/version_15",
        "mushrooms-yolov5/runs/train/exp",
        "phase5-hf-trainer/logs",
        "phase5-hf-trainer/logs/1731490564.5118823",
        "phase5-hf-trainer/logs/1731495014.7024913",
        "stockdata/logs/fit/20220213-124139/validation",
        "tensorboard-reducer/tests/runs/duplicate_steps/run_1",
        "tensorboard-review/log/text_hp/hparam_tuning/run-2",
        "tensorboard-review/log/text_hp/hparam_tuning/run-2/train",
        "tensorboard-review/log/text_hp/hparam_tuning/run-2/validation",
        "tf-estimator-basics/model",
        "whisper-tiny-nbailab/runs/Dec15_07-29-26_ficino",
    ]


def test_25_byte_tensorboardx_file_without_header(runs: dict[str, RunData]) -> None:
    run = runs["awd-lstm-base/runs/Aug23_14-44-19_ju-cvlab"]
    assert run.records == 1
    assert run.readable
    assert run.tags == ()
    assert [(p.kind, p.fatal) for p in run.problems] == [("no_header", False)]
    assert str(run.problems[0]) == (
        f"{run.files[0]}: no file_version record: an old writer, or a file that starts mid-log"
    )


def test_130_byte_tensorboardx_file(runs: dict[str, RunData]) -> None:
    run = runs["awd-lstm-base/runs/Aug23_18-09-41_cvlab"]
    assert run.records == 3
    assert run.scalars.astype({"tag": str}).values.tolist() == [
        ["data/test_loss", 500, 1535020576.3337312, 4.424952983856201],
        ["data/test_ppl", 500, 1535020576.3337827, 83.50888061523438],
    ]
    assert [p.kind for p in run.problems] == ["no_header"]


def test_git_lfs_pointer(runs: dict[str, RunData]) -> None:
    run = runs["whisper-tiny-nbailab/runs/Dec15_07-29-26_ficino"]
    assert not run.readable
    (problem,) = run.problems
    assert (problem.kind, problem.fatal) == ("lfs_pointer", True)
    assert str(problem) == (
        f"{run.files[0]}: a Git LFS pointer, not an event file "
        "(fetch the real file with `git lfs pull`)"
    )


def test_duplicate_steps_file_is_a_restart(runs: dict[str, RunData]) -> None:
    """Steps 0..99 then 90..199 per tag: the step goes back from 99 to 90; the rewrite wins."""
    run = runs["tensorboard-reducer/tests/runs/duplicate_steps/run_1"]
    assert run.records == 421
    assert run.tags == (
        TagInfo("dup_steps/bar", "scalar", 200, 0, 199),
        TagInfo("dup_steps/foo", "scalar", 200, 0, 199),
    )
    (restart,) = run.restarts
    assert (restart.from_step, restart.to_step, restart.tags, restart.replaced) == (99, 90, 2, 20)
    assert restart.file == run.files[0]
    assert run.duplicates == ()
    assert run.scalars["value"].between(1.0, 2.0).all()
    # every write is still there before restarts are resolved
    _, raw = read_bytes(Path(run.files[0]).read_bytes())
    assert len(raw) == 420
    foo = raw[raw["tag"] == "dup_steps/foo"]["step"].tolist()
    assert foo == list(range(100)) + list(range(90, 200))
    kept = run.scalars[run.scalars["tag"] == "dup_steps/foo"]
    rewritten = raw[(raw["tag"] == "dup_steps/foo")].iloc[100:110]
    assert kept.iloc[90:100]["value"].tolist() == rewritten["value"].tolist()


def test_keras_hparams_sweep_trial(runs: dict[str, RunData]) -> None:
    base = "tensorboard-review/log/text_hp/hparam_tuning/run-2"
    assert dict(runs[base].hparams) == {"optimizers": "sgd", "num_units": 16.0}
    assert runs[base].tags == ()
    train, validation = runs[f"{base}/train"], runs[f"{base}/validation"]
    # the profile-empty marker is a second file of train/ and is not a problem
    assert [Path(f).name.rsplit(".", 1)[-1] for f in train.files] == ["v2", "profile-empty"]
    assert train.problems == ()
    assert train.records == 33
    assert train.tags == (
        TagInfo("batch_3", "graph_run_metadata", 1, None, None),
        TagInfo("embed_2/embeddings_0", "histogram", 4, 0, 3),
        TagInfo("epoch_accuracy", "scalar", 4, 0, 3),
        TagInfo("epoch_loss", "scalar", 4, 0, 3),
        TagInfo("keras", "graph_keras_model", 1, None, None),
        TagInfo("output_layer_2/bias_0", "histogram", 4, 0, 3),
        TagInfo("output_layer_2/kernel_0", "histogram", 4, 0, 3),
        TagInfo("relu_layer_2/bias_0", "histogram", 4, 0, 3),
        TagInfo("relu_layer_2/kernel_0", "histogram", 4, 0, 3),
    )
    assert _points(validation, "epoch_loss") == [
        (0, 0.6932151913642883), (1, 0.6931877732276917),
        (2, 0.6931547522544861), (3, 0.6931414008140564),
    ]  # fmt: skip
    assert _points(validation, "epoch_accuracy") == [
        (0, 0.4952000081539154), (1, 0.4959999918937683),
        (2, 0.49790000915527344), (3, 0.4975999891757965),
    ]  # fmt: skip
    hist = train.histograms
    assert len(hist) == 20
    for edges, counts, num in zip(hist["edges"], hist["counts"], hist["num"], strict=True):
        assert np.all(np.diff(edges) >= 0)  # no backwards bucket
        assert counts.size == edges.size - 1
        assert counts.sum() == num


def test_tf2_validation_scalars_all_nan(runs: dict[str, RunData]) -> None:
    run = runs["stockdata/logs/fit/20220213-124139/validation"]
    assert run.records == 81
    assert run.tags == (
        TagInfo("epoch_loss", "scalar", 20, 0, 19),
        TagInfo("epoch_mae", "scalar", 20, 0, 19),
        TagInfo("evaluation_loss_vs_iterations", "scalar", 20, 1, 20),
        TagInfo("evaluation_mae_vs_iterations", "scalar", 20, 1, 20),
    )
    assert len(run.scalars) == 80
    assert run.scalars["value"].isna().all()
    assert run.scalars["wall_time"].iloc[0] == 1644728641.783399
    assert run.problems == ()


def test_hugging_face_trainer_logs(runs: dict[str, RunData]) -> None:
    logs = runs["phase5-hf-trainer/logs"]
    assert len(logs.files) == 3
    assert logs.records == 34
    assert _points(logs, "eval/loss") == [(405, 0.36882245540618896), (810, 0.3683687448501587)]
    assert _points(logs, "eval/accuracy") == [(405, 0.8401876091957092), (810, 0.8611111044883728)]
    assert _points(logs, "train/loss") == [(500, 0.4975999891757965)]
    # the final evaluate() wrote step 810 again, from a third file: the last write is kept
    last = logs.scalars[(logs.scalars["tag"] == "eval/loss") & (logs.scalars["step"] == 810)]
    assert last["wall_time"].tolist() == [1731499484.0103478]
    dups = {d.tag: (d.first_step, d.last_step, d.count) for d in logs.duplicates}
    assert dups == {
        "eval/accuracy": (810, 810, 1),
        "eval/loss": (810, 810, 1),
        "eval/runtime": (810, 810, 1),
        "eval/samples_per_second": (810, 810, 1),
        "eval/steps_per_second": (810, 810, 1),
        "train/epoch": (810, 810, 2),
    }
    assert logs.restarts == ()
    assert logs.texts[["tag", "step"]].values.tolist() == [
        ["args/text_summary", 0], ["model_config/text_summary", 0],
        ["args/text_summary", 0], ["model_config/text_summary", 0],
    ]  # fmt: skip
    assert logs.texts["text"].str.len().tolist() == [2825, 790, 2827, 678]
    assert logs.texts["text"].iloc[0].startswith('{\n  "output_dir": "./results",')
    # the Trainer's arguments, one child run per train() call (3 epochs, then 2)
    for child, epochs in (("1731490564.5118823", 3.0), ("1731495014.7024913", 2.0)):
        hp = runs[f"phase5-hf-trainer/logs/{child}"].hparams
        assert len(hp) == 104
        assert (hp["learning_rate"], hp["num_train_epochs"], hp["output_dir"]) == (
            5e-05, epochs, "./results",
        )  # fmt: skip
        assert runs[f"phase5-hf-trainer/logs/{child}"].tags == ()


def test_lightning_run_with_two_files_and_hparams(runs: dict[str, RunData]) -> None:
    run = runs["da6401-assignment3/lightning_logs/version_15"]
    assert len(run.files) == 2
    assert run.records == 835
    assert len(run.scalars) == 809
    # what Lightning saved beside the event files (hparams.yaml), numbers as floats
    yaml = (Path(run.path) / "hparams.yaml").read_text()
    from_yaml: dict[str, float | str] = {}
    for line in yaml.splitlines():
        key, value = (s.strip() for s in line.split(":", 1))
        from_yaml[key] = value if value.isalpha() else float(value)
    assert dict(run.hparams) == from_yaml
    assert from_yaml["cell_type"] == "gru"
    assert from_yaml["learning_rate"] == 0.001
    assert [TagInfo(t.tag, t.kind, t.points, t.first_step, t.last_step) for t in run.tags[:2]] == [
        TagInfo("epoch", "scalar", 252, 49, 11747),
        TagInfo("hp_metric", "scalar", 1, 0, 0),
    ]
    dups = {d.tag: (d.first_step, d.last_step, d.count) for d in run.duplicates}
    assert dups == {"epoch": (690, 11746, 17), "hp_metric": (0, 0, 1)}
    assert _points(run, "test_loss")[0][0] == 11747
    assert run.restarts == ()


def test_yolov5_run(runs: dict[str, RunData]) -> None:
    run = runs["mushrooms-yolov5/runs/train/exp"]
    assert run.records == 392
    scalar_tags = [t for t in run.tags if t.kind == "scalar"]
    assert len(scalar_tags) == 13
    assert all((t.points, t.first_step, t.last_step) == (30, 0, 29) for t in scalar_tags)
    m = _points(run, "metrics/mAP_0.5")
    assert (m[0][1], m[-1][1]) == (0.004895041696727276, 0.514468789100647)
    assert set(run.scalars[run.scalars["tag"] == "train/cls_loss"]["value"]) == {0.0}
    (hist,) = run.histograms.to_dict("records")
    assert (hist["tag"], hist["step"], hist["num"], hist["min"], hist["max"]) == (
        "classes", 0, 4497.0, 0.0, 0.0,
    )  # fmt: skip
    # limits [0, 0] with counts [0, 4497]: the empty first bucket is dropped
    assert hist["edges"].tolist() == [0.0, 0.0]
    assert hist["counts"].tolist() == [4497.0]


def test_tf1_estimator_with_graphs_and_session_logs(runs: dict[str, RunData]) -> None:
    run = runs["tf-estimator-basics/model"]
    assert run.records == 27
    assert run.tags == (
        TagInfo("global_step/sec", "scalar", 9, 101, 901),
        TagInfo("loss", "scalar", 10, 1, 901),
    )
    assert _points(run, "loss") == [
        (1, 11702.1484375), (101, 19.716768264770508), (201, 1.9883475303649902),
        (301, 1.1419557332992554), (401, 0.8600234985351562), (501, 0.18825575709342957),
        (601, 0.011629507876932621), (701, 0.0023516174405813217),
        (801, 0.00029132261988706887), (901, 121.89045715332031),
    ]  # fmt: skip
    assert run.restarts == ()
    assert run.problems == ()


@pytest.mark.skipif(not SHARED.is_dir(), reason=_NO_SHARED)
def test_tf_estimator_restart_across_three_files() -> None:
    """A second run written into the same model_dir from step 1, then a resume at 1001."""
    (run,) = read_logdir(str(SHARED / "tf-estimator-basics" / "model")).runs
    assert [Path(f).name for f in run.files] == [
        "events.out.tfevents.1567037302.leimao-Z840",
        "events.out.tfevents.1567052931.leimao-evolvx",
        "events.out.tfevents.1567057356.leimao-evolvx",
    ]
    (restart,) = run.restarts
    assert (restart.file, restart.from_step, restart.to_step) == (run.files[1], 901, 1)
    assert (restart.tags, restart.replaced) == (2, 19)
    loss = _points(run, "loss")
    assert [s for s, _ in loss] == [*range(1, 902, 100), *range(1001, 1902, 100)]
    assert loss[-1] == (1901, pytest.approx(8.3e-8, rel=0.05))


# ---------------------------------------------------------------------------------------------
# Every file: against tbparse and against the reference reader


def _tbparse_scalars(path: Path) -> pd.DataFrame:
    tbparse = pytest.importorskip("tbparse")
    logging.getLogger("tensorboard").setLevel(logging.ERROR)
    reader = tbparse.SummaryReader(str(path), pivot=False, extra_columns={"wall_time"})
    parts = []
    if not reader.scalars.empty:
        parts.append(reader.scalars[["tag", "step", "wall_time", "value"]])
    tensors = reader.tensors
    if not tensors.empty:

        def scalar_like(v: object) -> bool:
            a = np.asarray(v)
            return a.ndim == 0 and (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_)

        numeric = tensors[tensors["value"].map(scalar_like)]
        numeric = numeric.assign(value=numeric["value"].map(float))
        parts.append(numeric[["tag", "step", "wall_time", "value"]])
    if not parts:
        return pd.DataFrame({"tag": [], "step": [], "wall_time": [], "value": []})
    return pd.concat(parts, ignore_index=True)


def _per_tag(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each tag's (step, wall_time, value) rows, stably sorted by step: tbparse's order."""
    out = {}
    for tag in sorted(set(frame["tag"].astype(str))):
        rows = frame[frame["tag"].astype(str) == tag][["step", "wall_time", "value"]]
        rows = rows.to_numpy(dtype=np.float64)
        out[tag] = rows[np.argsort(rows[:, 0], kind="stable")]
    return out


@pytest.mark.filterwarnings("ignore:The inplace keyword")  # inside tbparse
@pytest.mark.parametrize("path", ALL_FILES)
def test_same_scalars_as_tbparse(path: Path) -> None:
    tags = TagTable()
    ours = _per_tag(raw_scalars(read_event_bytes(str(path), path.read_bytes(), tags), tags))
    theirs = _per_tag(_tbparse_scalars(path))
    assert sorted(ours) == sorted(theirs)
    for tag, rows in theirs.items():
        assert ours[tag].shape == rows.shape, tag
        assert np.array_equal(ours[tag], rows, equal_nan=True), tag


@pytest.mark.parametrize("path", ALL_FILES)
def test_fast_path_equals_reference_reader(path: Path) -> None:
    data = path.read_bytes()
    tags = TagTable()
    read = read_event_bytes(str(path), data, tags)
    ref = read_bytes_reference(data)
    ours = raw_scalars(read, tags)
    assert ours["tag"].tolist() == ref.scalars["tag"].tolist()
    assert np.array_equal(
        ours[["step", "wall_time", "value"]].to_numpy(np.float64),
        ref.scalars[["step", "wall_time", "value"]].to_numpy(np.float64),
        equal_nan=True,
    )
    assert ours["step"].tolist() == ref.scalars["step"].tolist()  # exact int64 steps
    hists = [
        (tags.names[t], s, w, h)
        for c in read.chunks
        for t, s, w, h in zip(
            c.hist_tag.tolist(),
            c.hist_step.tolist(),
            c.hist_wall_time.tolist(),
            c.histograms,
            strict=True,
        )
    ]
    assert len(hists) == len(ref.histograms)
    for (tag, step, wall, h), (rtag, rstep, rwall, redges, rcounts) in zip(
        hists, ref.histograms, strict=True
    ):
        assert (tag, step, wall) == (rtag, rstep, rwall)
        assert np.array_equal(h.edges, redges, equal_nan=True)
        assert np.array_equal(h.counts, rcounts, equal_nan=True)
    texts = [(tags.names[t], s, w, x) for c in read.chunks for t, s, w, x in c.texts]
    assert texts == ref.texts
    assert ref.bad_records == 0
    assert not any(p.kind in ("crc_mismatch", "malformed") for p in read.problems)


@pytest.mark.skipif(not SHARED.is_dir(), reason=_NO_SHARED)
def test_whole_shared_set_reads_without_surprises() -> None:
    """Every run of the shared set reads; the only problems are the known one-liners."""
    logdir = read_logdir(str(SHARED))
    kinds = {(run.name.split("/")[0], p.kind) for run in logdir.runs for p in run.problems}
    assert kinds == {
        ("awd-lstm-base", "no_header"),
        ("drone-segmentation", "no_header"),
        ("whisper-tiny-nbailab", "lfs_pointer"),
        ("yhwani-lfs", "lfs_pointer"),  # PROVENANCE.md case 17: Git LFS pointers only
    }
    # 51 runs since the shared set grew by 13 runs from 11 more repositories (issue #10).
    assert len(logdir.runs) == 51
    assert sum(len(run.scalars) for run in logdir.runs) == 204_568
