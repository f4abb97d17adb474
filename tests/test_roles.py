"""Role inference from the conventions of real writers, and pinned roles."""

from __future__ import annotations

import pytest

from analyzer.errors import RoleError
from analyzer.roles import infer_roles


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (  # Hugging Face Trainer
            ["train/loss", "train/grad_norm", "train/learning_rate", "train/epoch", "eval/loss",
             "eval/accuracy", "eval/f1", "eval/runtime"],
            {"train_loss": "train/loss", "grad_norm": "train/grad_norm",
             "learning_rate": "train/learning_rate", "val_loss": "eval/loss",
             "val_accuracy": "eval/accuracy", "val_f1": "eval/f1", "epoch": "train/epoch"},
        ),
        (  # PyTorch Lightning
            ["train_loss", "val_loss", "lr-Adam", "grad_2.0_norm_total", "hp_metric", "epoch",
             "val_acc"],
            {"train_loss": "train_loss", "val_loss": "val_loss", "learning_rate": "lr-Adam",
             "grad_norm": "grad_2.0_norm_total", "val_accuracy": "val_acc", "epoch": "epoch"},
        ),
        (  # torch / tensorboardX habits
            ["Loss/train", "Loss/val", "lr", "grad_norm", "Accuracy/val"],
            {"train_loss": "Loss/train", "val_loss": "Loss/val", "learning_rate": "lr",
             "grad_norm": "grad_norm", "val_accuracy": "Accuracy/val"},
        ),
        (  # Keras, merged into one run with sides
            ["train/epoch_loss", "validation/epoch_loss", "train/epoch_accuracy",
             "validation/epoch_accuracy", "train/epoch_learning_rate"],
            {"train_loss": "train/epoch_loss", "val_loss": "validation/epoch_loss",
             "train_accuracy": "train/epoch_accuracy",
             "val_accuracy": "validation/epoch_accuracy",
             "learning_rate": "train/epoch_learning_rate"},
        ),
        (  # TF2 custom loop, tf.summary writers in train/ and test/ (one run with sides);
           # the evaluation pass's speed is not the training throughput
            ["train/loss", "train/learning_rate", "train/grad_norm", "train/examples_per_sec",
             "test/loss", "test/accuracy", "test/examples_per_sec"],
            {"train_loss": "train/loss", "val_loss": "test/loss",
             "learning_rate": "train/learning_rate", "grad_norm": "train/grad_norm",
             "val_accuracy": "test/accuracy", "throughput": "train/examples_per_sec"},
        ),
        (  # TF official models (TimeHistory callback): examples/sec beats global_step/sec
            ["loss", "examples/sec", "global_step/sec"],
            {"train_loss": "loss", "throughput": "examples/sec"},
        ),
        (  # TF1 Estimator
            ["loss", "global_step/sec"],
            {"train_loss": "loss", "throughput": "global_step/sec"},
        ),
        (  # Stable-Baselines3: value_loss is not a validation loss
            ["train/loss", "train/value_loss", "train/learning_rate", "time/fps"],
            {"train_loss": "train/loss", "learning_rate": "train/learning_rate",
             "throughput": "time/fps"},
        ),
        (  # YOLOv5
            ["train/box_loss", "val/box_loss", "metrics/precision", "metrics/recall", "x/lr0"],
            {"train_loss": "train/box_loss", "val_loss": "val/box_loss",
             "val_precision": "metrics/precision", "val_recall": "metrics/recall",
             "learning_rate": "x/lr0"},
        ),
        (  # detectron2
            ["total_loss", "loss_ce", "lr", "time"],
            {"train_loss": "total_loss", "learning_rate": "lr"},
        ),
    ],
)  # fmt: skip
def test_roles_follow_writer_conventions(tags: list[str], expected: dict[str, str]) -> None:
    assert infer_roles(dict.fromkeys(tags, 10)).tags == expected


def test_more_points_win_among_matches_of_one_pattern() -> None:
    roles = infer_roles({"lr-Adam": 5, "lr-Adam-momentum": 50})
    assert roles.tags["learning_rate"] == "lr-Adam-momentum"


def test_pinned_roles_beat_patterns_and_say_so() -> None:
    roles = infer_roles(
        {"train/loss": 10, "my/objective": 10}, overrides={"train_loss": "my/objective"}
    )
    assert roles.tags["train_loss"] == "my/objective"
    (choice,) = [c for c in roles.choices if c.role == "train_loss"]
    assert choice.reason == "pinned by the user"


def test_unknown_pinned_role_is_an_error() -> None:
    with pytest.raises(RoleError, match="unknown role"):
        infer_roles({"loss": 3}, overrides={"trian_loss": "loss"})


def test_layer_families_are_ordered_from_input_to_output() -> None:
    tags = ["grad_norm/layers.10", "grad_norm/layers.2", "grad_norm/head", "grad_norm"]
    roles = infer_roles(dict.fromkeys(tags, 5))
    assert roles.tags["grad_norm"] == "grad_norm"
    assert roles.layers["grad_norm_layers"] == (
        "grad_norm/layers.2", "grad_norm/layers.10", "grad_norm/head"
    )  # fmt: skip


def test_activation_histograms_form_a_family() -> None:
    roles = infer_roles({"loss": 5}, histogram_tags=("activations/fc2", "activations/fc1"))
    assert roles.layers["activations"] == ("activations/fc1", "activations/fc2")
