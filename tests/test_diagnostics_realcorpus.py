"""Diagnoses on runs written by real writers (tensorboardX, torch's SummaryWriter, Lightning,
Hugging Face Trainer, Keras) in the realcorpus *dev* split, copied under
``tests/fixtures/realcorpus`` (``config.json`` says each run's cause). Each healthy run here
tripped a detector before the rules were calibrated on dev; each sick one is the symptom the
rule must keep finding.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.pipeline import build_report

ROOT = Path(__file__).parent / "fixtures" / "realcorpus"


def _report(name: str) -> tuple[set[str], tuple[str, ...], dict[str, dict[str, object]]]:
    (run,) = build_report(str(ROOT / name), strict=True).runs
    alarms = {f.code for f in run.findings if f.severity in ("warning", "error")}
    evidence = {f.code: dict(f.evidence) for f in run.findings}
    return alarms, tuple(run.notes), evidence


@pytest.mark.parametrize(
    "name",
    [
        # label smoothing 0.2: the training loss sits at its floor while validation improves
        "tbx-mlp-label_smoothing-0-ab1adbbc",
        # a byte LM at the entropy of its Markov text: flat, smooth, nothing left to gain
        "hf-tlm-tiny_batch-0-dbd2df1f",
        # batch 4: per-step noise, but the validation loss falls smoothly (not oscillation)
        "lightning-mlp-tiny_batch-0-e48ff693",
        # warm-up then decay: a lucky low validation evaluation is no best (not overfitting)
        "lightning-lstm-warmup-0-b555b410",
        # input noise on regression: noisy near its floor, not slow convergence
        "lightning-mlp_reg-augment-0-d47a3741",
    ],
)
def test_healthy_real_runs_raise_no_alarm(name: str) -> None:
    alarms, _, _ = _report(name)
    assert alarms == set()


def test_sgd_at_a_constant_high_rate_is_a_plateau() -> None:
    alarms, _, evidence = _report("torch-mlp-plateau_const-0-702be10d")
    assert alarms == {"plateau"}
    # The optimizer bounces around the plateau, and the validation loss does not fall there.
    assert float(evidence["plateau"]["noise_share_of_level"]) > 0.1  # type: ignore[arg-type]
    assert float(evidence["plateau"]["val_trend_z"]) > -2.0  # type: ignore[arg-type]


def test_a_tiny_learning_rate_is_slow_convergence_beyond_the_noise() -> None:
    alarms, _, evidence = _report("torch-mlp-lr_tiny-0-07b8da64")
    assert alarms == {"slow_convergence"}
    assert float(evidence["slow_convergence"]["projected_gain_over_noise"]) > 2.0  # type: ignore[arg-type]


def test_oscillation_confirmed_by_the_validation_loss() -> None:
    alarms, _, evidence = _report("torch-mlp-unstable_val-0-9f3c9851")
    assert {"loss_oscillation", "unstable_metric"} <= alarms
    assert evidence["loss_oscillation"]["judged_against"] == "validation loss"


def test_a_three_epoch_keras_fit_is_ok_with_a_note() -> None:
    alarms, notes, evidence = _report("keras-mlp-tiny_batch-0-3139f219")
    assert alarms == set()
    assert "no_signal" not in evidence
    assert any("only 3 training-loss points" in n for n in notes)


def test_nan_that_the_writer_filters_from_the_loss_is_found_in_the_gradient_norm() -> None:
    # log(0) in the loss: the HF Trainer drops the NaN losses from train/loss, so only
    # train/grad_norm shows that the weights went NaN.
    alarms, _, evidence = _report("hf-tlm-nan_log0-0-24f4d705")
    assert "loss_divergence" in alarms
    assert int(evidence["loss_divergence"]["nonfinite_points"]) >= 2  # type: ignore[arg-type]


def test_a_loss_that_blows_up_at_once_and_never_comes_back_diverges() -> None:
    # SGD-momentum at 30x a good rate on a Keras GRU: the first epoch's mean is 1.36, every
    # later one >= 2.14 (swinging 2-8), so the median of the first three already sits high.
    alarms, _, evidence = _report("keras-gru-lr_x30-0-a5d94175")
    assert "loss_divergence" in alarms
    assert float(evidence["loss_divergence"]["start_loss"]) < 1.4  # type: ignore[arg-type]
