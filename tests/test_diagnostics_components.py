"""Runs with several losses (issue #10 item 6): every loss is diagnosed, each named with its
total, and the checks each kind of loss takes are the meaningful ones.

The runs are real training logs: small numpy models written by tensorboardX
(``tests/fixtures/multiloss/make_multiloss.py`` says how), and the public runs of
``../shared/realworld`` (skipped when it is absent).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analyzer.diagnostics.components import components
from analyzer.model import Finding, Run
from analyzer.pipeline import build_analysis

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "multiloss"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "realworld"


def _run(path: Path) -> tuple[Run, tuple[Finding, ...]]:
    analysis = build_analysis(str(path), generated_at="t", strict=True)
    (report,) = analysis.report.runs
    return analysis.runs[report.run], report.findings


def _alarms(findings: tuple[Finding, ...]) -> list[Finding]:
    return [f for f in findings if f.severity in ("warning", "error")]


def test_a_gan_whose_discriminator_loss_climbs_back_to_ln4_is_not_diverging() -> None:
    run, findings = _run(FIXTURES / "gan_1d")
    d = run.tag_series("loss/discriminator").to_numpy(float)
    # The shape the divergence rule would call "gave back its progress": down to < 1/3 of
    # where it ends, then back up to ln 4 (the discriminator's loss at equilibrium).
    assert np.median(d[-40:]) >= 3 * np.median(d[50:90])
    assert abs(np.median(d[-40:]) - np.log(4)) < 0.05
    assert {c.kind for c in components(run)} == {"adversarial"}
    assert _alarms(findings) == []


def test_a_head_at_chance_is_named_while_the_total_learns() -> None:
    run, findings = _run(FIXTURES / "multitask_chance_head")
    total = run.tag_series("train/loss").to_numpy(float)
    assert total[-20:].mean() < 0.6 * total[:3].mean()  # the total learns
    (f,) = _alarms(findings)
    assert (f.code, f.series) == ("plateau", "train/loss_head_b")
    assert f.evidence["chance_classes"] == 2
    assert f.evidence["total"] == "train/loss"
    assert "'train/loss_head_b' (a part of 'train/loss')" in f.title


def test_bad_batches_in_one_head_are_spikes_of_the_total_naming_the_head() -> None:
    _, findings = _run(FIXTURES / "multitask_bad_batches")
    (f,) = _alarms(findings)
    assert (f.code, f.series, f.evidence["spikes"]) == ("loss_spikes", "train/loss", 3)
    assert f.evidence["also_in"] == "train/loss_head_a"
    assert [int(s.split(":")[0].split()[1]) for s in str(f.evidence["catalogue"]).split(";")] == [
        200,
        300,
        400,
    ]


def test_a_nan_in_any_loss_is_an_error_naming_it_and_its_total() -> None:
    _, findings = _run(FIXTURES / "multitask_nan_head")
    nan = {f.series: f for f in findings if "first_nonfinite_step" in f.evidence}
    assert set(nan) == {"train/loss", "train/loss_head_a", "train/loss_head_b"}
    assert all(f.severity == "error" for f in nan.values())
    assert nan["train/loss_head_b"].evidence["total"] == "train/loss"
    assert nan["train/loss_head_b"].evidence["component"] == "part"


def _shared(path: str) -> Path:
    if not (SHARED / path).exists():
        pytest.skip(f"{SHARED / path} is absent")
    return SHARED / path


@pytest.mark.parametrize(
    ("path", "kinds"),
    [
        # detectron2: total_loss and its loss_* parts
        (
            "d2-balloon/output",
            {"total_loss": "total", "loss_cls": "part", "loss_mask": "part"},
        ),
        # Lightning's epoch mean of the step loss is the same loss, aggregated otherwise
        ("da6401-assignment3/lightning_logs/version_15", {"train_loss_epoch": "same"}),
        # the Hugging Face Trainer's final train/train_loss
        ("phase5-hf-trainer/logs", {"train/train_loss": "same"}),
        # YOLOv5 writes no total: its parts are judged each
        ("lego-yolov5/runs/train/exp", {"train/box_loss": "part", "train/cls_loss": "part"}),
    ],
)
def test_kinds_of_the_losses_of_real_writers(path: str, kinds: dict[str, str]) -> None:
    run, _ = _run(_shared(path))
    got = {c.tag: c.kind for c in components(run)}
    assert {tag: got.get(tag) for tag in kinds} == kinds


@pytest.mark.parametrize(
    "path",
    [
        "d2-balloon/output",
        "lego-yolov5/runs/train/exp",
        "ecg-autoencoder/logs/logs",
    ],
)
def test_real_runs_judged_healthy_with_several_losses_raise_nothing(path: str) -> None:
    _, findings = _run(_shared(path))
    assert _alarms(findings) == []


def test_a_spike_in_one_term_that_the_total_hides_is_named() -> None:
    # detectron2-style semantic segmentation: loss_ce jumps 0.03 -> 0.10 for one point at
    # step 36239, while total_loss (0.92 -> 1.00) stays within its own noise.
    _, findings = _run(_shared("drone-segmentation/output_new_finetuning"))
    spikes = [f for f in findings if f.code == "loss_spikes"]
    assert [(f.series, f.severity) for f in spikes] == [("loss_ce", "info")]
    (f,) = spikes
    assert f.evidence["largest_step"] == 36239
    assert f.evidence["total"] == "total_loss"
    assert f.evidence["also_in"] is None
