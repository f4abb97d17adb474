"""The 13 classes of mistake of issue #10, each on event files written by a real writer
(tensorboardX) in the shapes public projects log, so that each fails if its class breaks again.
The same classes are checked on the real public runs by test_realworld_expectations.py."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
from tensorboardX import SummaryWriter

from analyzer.model import Finding, Run, RunReport
from analyzer.pipeline import build_report
from analyzer.settings import Thresholds

rng = np.random.default_rng(7)


def _write(root: Path, tags: dict[str, list[float] | np.ndarray], steps: list[int] | None = None,
           wall: list[float] | None = None,
           tag_steps: dict[str, list[int]] | None = None) -> None:  # fmt: skip
    with SummaryWriter(str(root)) as w:
        for tag, values in tags.items():
            at = (tag_steps or {}).get(tag, steps)
            for i, v in enumerate(values):
                step = at[i] if at is not None else i
                w.add_scalar(tag, float(v), step, walltime=wall[i] if wall else 1e9 + i)


def _one(root: Path) -> RunReport:
    (run,) = build_report(str(root), strict=True).runs
    return run


def _alarms(run: RunReport) -> dict[str, Finding]:
    return {f.code: f for f in run.findings if f.severity in ("warning", "error")}


def _decay(n: int, start: float = 1.2, floor: float = 0.1, rate: float = 5.0) -> np.ndarray:
    return floor + (start - floor) * np.exp(-rate * np.arange(n) / n)


# 1. Validation in a sibling folder not called "validation", with v_ tag names.
def test_test_folder_beside_train_is_the_validation_side(tmp_path: Path) -> None:
    run_dir = tmp_path / "logs" / "20221210"
    val = [1.19, 0.83, 0.70, 0.66, 0.64, 0.63, 0.63, 0.629, 0.65, 0.70, 0.75, 0.80, 0.85, 0.889]
    _write(run_dir / "train", {"loss": _decay(14, 1.2, 0.1)})
    _write(run_dir / "test", {"v_loss": val})
    run = _one(tmp_path)
    assert run.run == "logs/20221210"
    assert run.roles["val_loss"] == "test/v_loss"
    assert _alarms(run)["overfitting"].series == "test/v_loss"


# 2. Runs that never learn: a loss at ln 2 for all of 4 epochs, and an MSE stuck from epoch 3.
def test_loss_at_chance_for_four_epochs_is_not_learning(tmp_path: Path) -> None:
    _write(tmp_path / "run-2", {"epoch_loss": [0.69316, 0.69313, 0.69310, 0.69308]})
    f = _alarms(_one(tmp_path))["plateau"]
    assert f.evidence["chance_classes"] == 2
    assert "ln 2" in f.title
    assert f.evidence["points"] == 4


def test_mse_stuck_after_three_epochs_is_not_learning(tmp_path: Path) -> None:
    loss = [34.8, 33.9, 30.8, 29.5, *(29.5 + rng.normal(0, 0.04, 11))]
    _write(tmp_path / "r", {"epoch_loss": loss})
    f = _alarms(_one(tmp_path))["plateau"]
    assert f.evidence["never_learned"] == 1
    assert f.evidence["chance_classes"] is None


# 3. NaN from the first step is divergence however few points; NaN only in validation is not.
def test_nan_from_the_first_step_is_divergence(tmp_path: Path) -> None:
    _write(tmp_path / "r", {"train_loss": [math.nan] * 3, "val_loss": [math.nan] * 3})
    f = _alarms(_one(tmp_path))["loss_divergence"]
    assert f.severity == "error"
    assert "first point" in f.title


def test_nan_only_in_validation_is_not_divergence(tmp_path: Path) -> None:
    _write(tmp_path / "r", {"train_loss": _decay(20), "val_loss": [math.nan] * 20,
                            "val_iou_class7": [math.nan] * 20})  # fmt: skip
    alarms = _alarms(_one(tmp_path))
    assert "loss_divergence" not in alarms
    assert "validation" in alarms["no_signal"].title.lower()


# 4. Overfitting from few evaluations when the pattern is monotone.
def test_overfitting_from_three_evaluations(tmp_path: Path) -> None:
    val = [1.14, 1.07, 1.01, 1.01, 0.91, 0.91, 0.885, 0.861, 0.874, 0.969]
    _write(tmp_path / "r" / "train", {"epoch_loss": _decay(10, 1.2, 0.5, 2.0)})
    _write(tmp_path / "r" / "validation", {"epoch_loss": val})
    f = _alarms(_one(tmp_path))["overfitting"]
    assert f.evidence["points"] == 3
    assert f.evidence["best_step"] == 7
    assert f.evidence["margin"] > 1


# 5. Overfitting seen in a validation metric (mIoU) while the training loss keeps falling.
def test_overfitting_in_a_metric(tmp_path: Path) -> None:
    miou = np.concatenate([[35.3, 35.2], 31 + rng.normal(0, 1, 40)])
    steps = list(range(499, 499 + 500 * len(miou), 500))
    _write(tmp_path / "r", {"sem_seg/mIoU": miou, "total_loss": _decay(420, 6.3, 0.8)},
           tag_steps={"sem_seg/mIoU": steps, "total_loss": list(range(0, 21000, 50))})  # fmt: skip
    run = _one(tmp_path)
    assert run.roles["val_metric"] == "sem_seg/mIoU"
    assert _alarms(run)["overfitting"].series == "sem_seg/mIoU"


# 6. Several losses: a NaN in any component is never missed, and it is named.
def test_nan_in_one_loss_component_is_found(tmp_path: Path) -> None:
    box = _decay(30, 0.09, 0.04)
    cls = np.where(np.arange(30) >= 20, np.nan, 0.02)
    _write(tmp_path / "exp", {"train/box_loss": box, "train/obj_loss": box, "train/cls_loss": cls})
    f = _alarms(_one(tmp_path))["loss_divergence"]
    assert f.series == "train/cls_loss"
    assert "train/cls_loss" in f.title


# 7. Reinforcement learning: a growing value loss is not divergence; a reward crash is found.
def test_rl_is_judged_by_its_reward(tmp_path: Path) -> None:
    n = 120
    reward = np.linspace(-970, -376, n) + rng.normal(0, 10, n)
    _write(tmp_path / "ppo", {"rollout/ep_rew_mean": reward, "train/loss": np.linspace(10, 21, n),
                              "train/value_loss": np.linspace(20, 45, n)})  # fmt: skip
    run = _one(tmp_path)
    assert run.roles["reward"] == "rollout/ep_rew_mean"
    assert _alarms(run) == {}


def test_rl_agent_whose_reward_never_improves_is_not_learning(tmp_path: Path) -> None:
    n = 120  # CartPole's random policy: about 22 steps per episode, for the whole run
    reward = 22.0 + rng.normal(0, 3, n)
    _write(tmp_path / "dqn", {"rollout/ep_rew_mean": reward, "train/loss": np.linspace(0.5, 3, n)})
    f = _alarms(_one(tmp_path))["plateau"]
    assert f.series == "rollout/ep_rew_mean"
    assert f.evidence["never_learned"] == 1
    assert "not learning" in f.title


def test_rl_reward_collapse_is_found(tmp_path: Path) -> None:
    reward = np.concatenate([np.linspace(1000, 5500, 100), [-5000, -20000, -1.3e6, -9000, -4000],
                             np.full(60, 5600.0)])  # fmt: skip
    _write(tmp_path / "ppo", {"rollout/ep_rew_mean": reward, "train/loss": np.full(165, 1e6)})
    f = _alarms(_one(tmp_path))["unstable_metric"]
    assert f.series == "rollout/ep_rew_mean"
    assert f.evidence["recovered"] == 1


# 8. Gradient tags by other names, in a run without a loss.
def test_zero_gradient_norm_by_another_name(tmp_path: Path) -> None:
    _write(tmp_path / "bottom", {
        "3. GAN/3. Gradient norm - generator": np.linspace(0.33, 0.05, 20),
        "3. GAN/3. Gradient norm - discriminator": np.zeros(20),
    })  # fmt: skip
    f = _alarms(_one(tmp_path))["vanishing_gradients"]
    assert f.series is not None
    assert f.series.endswith("discriminator")  # tensorboardX writes spaces as "_"


# 9. Healthy minibatch noise is not oscillation: a per-step cross-entropy on tiny batches
# scatters like an exponential around its mean (values 0.02-0.9 on a loss of 0.5).
def test_noisy_healthy_loss_is_not_oscillation(tmp_path: Path) -> None:
    n = 2000
    noise = np.random.default_rng(0).exponential(1.0, n)
    _write(tmp_path / "r", {"train_loss": _decay(n, 1.0, 0.5, 4.0) * noise})
    assert "loss_oscillation" not in _alarms(_one(tmp_path))


# 10. Throughput: evaluation speed is not training speed; wall-clock jitter is not a drop.
def test_eval_speed_and_jitter_are_not_a_throughput_drop(tmp_path: Path) -> None:
    n = 400
    wall = list(1e9 + np.cumsum(rng.exponential(0.002, n)))  # tiny CPU steps
    _write(tmp_path / "r", {"train/loss": _decay(n),
                            "eval/samples_per_second": [900.0, 300.0, 250.0, 240.0, 200.0, 210]},
           wall=wall)  # fmt: skip
    run = _one(tmp_path)
    assert "throughput" not in run.roles
    assert "throughput_drop" not in _alarms(run)


# 11. LLM-shaped cross-entropy: a 2-nat spike at loss 3 is a spike; one grad spike is not
# exploding gradients.
def test_llm_spike_at_low_loss_and_single_grad_spike(tmp_path: Path) -> None:
    n = 1500
    loss = _decay(n, math.log(50257), 3.0, 8.0) + rng.normal(0, 0.02, n)
    for at in (900, 1200):
        loss[at : at + 3] += 2.0
    grad = 1.0 + rng.normal(0, 0.05, n)
    grad[700] = 500.0
    _write(tmp_path / "r", {"train/loss": loss, "train/grad_norm": grad})
    alarms = _alarms(_one(tmp_path))
    assert alarms["loss_spikes"].evidence["spikes"] == 2
    assert "exploding_gradients" not in alarms


# 12. An ok run looks ok: "not logged, so not checked" is a note.
def test_healthy_run_is_ok_with_a_note(tmp_path: Path) -> None:
    _write(tmp_path / "r", {"train_loss": _decay(200), "val_loss": _decay(200, 1.3, 0.2)})
    run = _one(tmp_path)
    assert run.status == "ok"
    assert run.findings == ()
    assert any(n.startswith("not logged, so not checked") for n in run.notes)


# 13. Advice follows the strongest evidence, and never without a reason.
def test_stuck_under_constant_lr_gets_a_lower_rate_first(tmp_path: Path) -> None:
    loss = 0.6931 + rng.normal(0, 1e-4, 30)
    _write(tmp_path / "r", {"train_loss": loss, "lr": np.full(30, 0.1)})
    run = _one(tmp_path)
    first = run.advice[0]
    assert (first.parameter, first.action) == ("learning_rate", "decrease")
    assert all(a.because for a in run.advice)
    assert "lr_schedule" not in [a.parameter for a in run.advice]


# Measure once: a run made with dataclasses.replace has its own cache.
def test_replaced_run_does_not_share_its_cache() -> None:
    def frame(values: list[float]) -> pd.DataFrame:
        return pd.DataFrame({"tag": "loss", "step": range(len(values)), "value": values,
                             "wall_time": 0.0})  # fmt: skip

    old = Run(name="a", scalars=frame([1.0, 2.0]), histograms=pd.DataFrame(),
              roles={"train_loss": "loss"})  # fmt: skip
    assert old.series("train_loss").tolist() == [1.0, 2.0]
    new = dataclasses.replace(old, scalars=frame([5.0, 6.0, 7.0]))
    assert new.series("train_loss").tolist() == [5.0, 6.0, 7.0]
    assert old.series("train_loss").tolist() == [1.0, 2.0]
    assert old.measure("k", lambda: 1) == 1
    assert old.measure("k", lambda: 2) == 1
    assert new.measure("k", lambda: 3) == 3
    assert Thresholds().min_points  # thresholds importable beside the model
