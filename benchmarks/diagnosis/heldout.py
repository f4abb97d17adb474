"""The held-out corpus: the same scenario families as ``make_corpus.scenarios()``, jittered.

dlreport's diagnostics were tuned while looking at ``corpus/``, so its score there is optimistic.
Each held-out run takes one corpus scenario and changes what a real second run would change:

- the seed, always (``seed + 1000``: another data split, batch order, initialisation and, for
  generated datasets, other data);
- usually the writer style (the same run logged with another framework's tag names and layout),
  where the family's symptom can show in that style (no Keras for gradient or histogram codes,
  no Keras for spikes, which per-epoch means smooth away);
- often the learning rate (x1.5 or /1.5) and sometimes the dataset (another scikit-learn set,
  moons with other noise, another synthetic problem) or the size of the pathology (bias, init
  std, train size, label noise, sleep).

The held-out labels are **whatever the oracle finds** in the logged numbers. A run whose
pathology did not materialise (or that picked up an extra symptom) is kept; its label records
both the oracle's codes (``expected``) and the scenario's intent (``intended``).

    .venv-torch/bin/python benchmarks/diagnosis/make_corpus.py --heldout

writes ``corpus_heldout/`` (git-ignored) and ``labels_heldout.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SEED_OFFSET = 1000


@dataclass(frozen=True)
class Variant:
    """How one held-out run differs from its corpus scenario ``base``."""

    base: str
    name: str
    note: str  # what changed besides the seed (goes into the description)
    style: str | None = None  # another writer style (None: keep)
    lr: float = 1.0  # multiply the base learning rate
    change: dict[str, Any] = field(default_factory=dict)  # nested config overrides


V = Variant
MOONS_NOISY = {"name": "moons", "n_samples": 2000, "noise": 0.35}

# fmt: off
VARIANTS: list[Variant] = [
    # ----------------------------------------------------------------------- healthy
    V("healthy_torch_digits_adam", "healthy_tbx_digits_adam_ho",
      "tensorboardX, Adam lr x1.5", style="tbx", lr=1.5),
    V("healthy_torch_sequence_gru", "healthy_lightning_sequence_gru_ho",
      "Lightning names, lr /1.5", style="lightning", lr=1 / 1.5),
    V("healthy_hf_breast_cancer", "healthy_torch_wine_adamw_ho",
      "wine instead of breast cancer, torch names", style="torch",
      change={"dataset": {"name": "wine"}, "log_every": 1}),
    V("healthy_hf_digits_layernorm_residual", "healthy_lightning_digits_layernorm_residual_ho",
      "Lightning names, lr x1.5", style="lightning", lr=1.5, change={"log_every": 1}),
    V("healthy_lightning_moons_cosine", "healthy_hf_moons_cosine_ho",
      "HF names, moons noise 0.25, lr /1.5", style="hf", lr=1 / 1.5,
      change={"dataset": {"noise": 0.25}, "log_every": 5}),
    V("healthy_lightning_wine_rmsprop", "healthy_keras_iris_rmsprop_ho",
      "iris instead of wine, Keras layout", style="keras",
      change={"dataset": {"name": "iris"}}),
    V("healthy_keras_digits_batchnorm", "healthy_torch_digits_batchnorm_ho",
      "torch names, lr x1.5", style="torch", lr=1.5,
      change={"eval_every": 20, "hist_every": 100}),
    V("healthy_keras_classification_warmup", "healthy_keras_classification3_warmup_ho",
      "3 classes instead of 4 (other synthetic data)",
      change={"dataset": {"n_classes": 3}}),
    V("healthy_tbx_wine_step_lr", "healthy_hf_breast_cancer_step_lr_ho",
      "breast cancer instead of wine, HF names", style="hf",
      change={"dataset": {"name": "breast_cancer"}, "epochs": 20, "eval_every": 25,
              "log_every": 5}),
    V("healthy_tbx_digits_reduce_on_plateau", "healthy_torch_digits_reduce_on_plateau_ho",
      "torch names, lr /1.5", style="torch", lr=1 / 1.5),

    # --------------------------------------------------------------- loss divergence
    V("divergence_torch_sgd_nan", "divergence_lightning_sgd_nan_ho",
      "Lightning names, lr 5.0 /1.5", style="lightning", lr=1 / 1.5),
    V("divergence_hf_warmup_too_high", "divergence_torch_warmup_too_high_ho",
      "torch names, peak lr x1.5", style="torch", lr=1.5, change={"hist_every": 0}),
    V("divergence_keras_warmup_nan", "divergence_keras_warmup_nan_ho",
      "peak lr x1.5", lr=1.5),
    V("divergence_tbx_lr_growing", "divergence_hf_lr_growing_ho",
      "HF names, start lr x1.5, growth 1.2% per step", style="hf", lr=1.5,
      change={"schedule": {"gamma": 1.012}, "log_every": 5}),

    # ------------------------------------------------------------ exploding gradients
    V("exploding_torch_rnn_relu_gain", "exploding_tbx_rnn_relu_gain_ho",
      "tensorboardX names, recurrent gain 1.9", style="tbx",
      change={"model": {"init_gain": 1.9}}),
    V("exploding_lightning_rnn_relu_gain", "exploding_hf_rnn_relu_gain_ho",
      "HF names, lr /1.5, 50-step sequences", style="hf", lr=1 / 1.5,
      change={"dataset": {"seq_len": 50}, "log_every": 5}),
    V("exploding_hf_deep_init", "exploding_lightning_deep_init_ho",
      "Lightning names, lr x1.5", style="lightning", lr=1.5, change={"log_every": 1}),
    V("exploding_tbx_momentum_too_high", "exploding_torch_momentum_too_high_ho",
      "torch names, lr /1.5", style="torch", lr=1 / 1.5),
    V("exploding_torch_deep_init", "exploding_tbx_deep_init_breast_cancer_ho",
      "breast cancer instead of digits, tensorboardX names", style="tbx",
      change={"dataset": {"name": "breast_cancer"}, "batch_size": 32}),

    # ------------------------------------------------------------ vanishing gradients
    V("vanishing_torch_deep_sigmoid", "vanishing_lightning_deep_sigmoid_ho",
      "Lightning names, lr x1.5", style="lightning", lr=1.5),
    V("vanishing_lightning_deep_tanh_small_init", "vanishing_tbx_deep_tanh_small_init_ho",
      "tensorboardX names, init N(0, 0.015), lr /1.5", style="tbx", lr=1 / 1.5,
      change={"model": {"init_std": 0.015}}),
    V("vanishing_tbx_deep_sigmoid_xavier", "vanishing_torch_deep_sigmoid_xavier_wine_ho",
      "wine instead of digits, torch names", style="torch",
      change={"dataset": {"name": "wine"}, "batch_size": 16, "epochs": 10}),
    V("vanishing_torch_deep_tanh_breast_cancer", "vanishing_lightning_deep_tanh_breast_cancer_ho",
      "Lightning names, lr x1.5", style="lightning", lr=1.5),

    # -------------------------------------------------------------- loss oscillation
    V("oscillation_torch_moons_adam_high", "oscillation_tbx_moons_adam_high_ho",
      "tensorboardX names, Adam lr 0.2 x1.5", style="tbx", lr=1.5),
    V("oscillation_keras_moons_adam_high", "oscillation_keras_moons_adam_high_ho",
      "moons noise 0.35, lr 0.3 x1.5", lr=1.5, change={"dataset": MOONS_NOISY}),
    V("oscillation_hf_momentum_high", "oscillation_lightning_momentum_high_ho",
      "Lightning names, lr 0.3 x1.5", style="lightning", lr=1.5, change={"hist_every": 0}),
    V("oscillation_tbx_sequence_lstm_high", "oscillation_torch_sequence_lstm_high_ho",
      "torch names, 40-step sequences", style="torch", change={"dataset": {"seq_len": 40}}),

    # -------------------------------------------------------------------- loss spikes
    V("spikes_torch_corrupted_batches", "spikes_lightning_corrupted_batches_digits_ho",
      "Lightning names, lr x1.5", style="lightning", lr=1.5),
    V("spikes_hf_corrupted_batches", "spikes_tbx_corrupted_batches_breast_cancer_ho",
      "tensorboardX names", style="tbx", change={"hist_every": 0}),
    V("spikes_lightning_corrupted_batches", "spikes_hf_corrupted_batches_classification_ho",
      "HF names (logging every step), 3 classes", style="hf",
      change={"dataset": {"n_classes": 3}, "log_every": 1}),
    V("spikes_tbx_corrupted_batches_wine", "spikes_torch_corrupted_batches_iris_ho",
      "iris instead of wine, torch names", style="torch",
      change={"dataset": {"name": "iris"}}),

    # --------------------------------------------------------------- slow convergence
    V("slow_torch_sgd_tiny_lr", "slow_hf_sgd_tiny_lr_ho",
      "HF names, lr 0.003 x1.5", style="hf", lr=1.5, change={"log_every": 5}),
    V("slow_keras_sgd_small_lr", "slow_keras_sgd_small_lr_ho",
      "lr 0.005 /1.5", lr=1 / 1.5),
    V("slow_hf_adam_tiny_lr", "slow_torch_adam_tiny_lr_ho",
      "torch names, lr 2e-5 x1.5", style="torch", lr=1.5,
      change={"log_every": 1, "hist_every": 0}),
    V("slow_lightning_rmsprop_tiny_lr", "slow_tbx_rmsprop_tiny_lr_iris_ho",
      "iris instead of wine, tensorboardX names", style="tbx",
      change={"dataset": {"name": "iris"}}),

    # ------------------------------------------------------------------------ plateau
    V("plateau_torch_moons_sgd_constant_lr", "plateau_tbx_moons_sgd_constant_lr_ho",
      "tensorboardX names, lr 1.0 /1.5", style="tbx", lr=1 / 1.5),
    V("plateau_keras_moons_constant_lr", "plateau_keras_moons_constant_lr_ho",
      "moons noise 0.35", change={"dataset": MOONS_NOISY}),
    V("plateau_hf_classification_constant_lr", "plateau_torch_classification_constant_lr_ho",
      "torch names, class separation 0.7", style="torch",
      change={"dataset": {"class_sep": 0.7}, "log_every": 1, "hist_every": 0}),
    V("plateau_lightning_noisy_labels_constant_lr", "plateau_hf_noisy_labels_constant_lr_ho",
      "HF names, 15% wrong labels", style="hf",
      change={"dataset": {"label_noise": 0.15}, "log_every": 5}),

    # -------------------------------------------------------------------- overfitting
    V("overfitting_torch_digits_small", "overfitting_lightning_digits_small_ho",
      "Lightning names, 80 training images", style="lightning",
      change={"dataset": {"train_size": 80}}),
    V("overfitting_tbx_digits_small", "overfitting_keras_digits_small_ho",
      "Keras layout, 150 training images", style="keras",
      change={"dataset": {"train_size": 150}}),
    V("overfitting_keras_breast_cancer_small", "overfitting_torch_breast_cancer_small_ho",
      "torch names, 50 training samples", style="torch",
      change={"dataset": {"train_size": 50}, "eval_every": 20, "hist_every": 0}),
    V("overfitting_hf_breast_cancer_small", "overfitting_tbx_breast_cancer_small_ho",
      "tensorboardX names, lr x1.5", style="tbx", lr=1.5,
      change={"log_every": 2, "hist_every": 0}),
    V("overfitting_lightning_noisy_labels", "overfitting_hf_noisy_labels_ho",
      "HF names, 25% wrong labels", style="hf",
      change={"dataset": {"label_noise": 0.25}, "log_every": 5}),

    # --------------------------------------------------------------------- dead units
    V("dead_torch_negative_bias", "dead_lightning_negative_bias_ho",
      "Lightning names, biases -2.5", style="lightning",
      change={"model": {"bias_init": -2.5}}),
    V("dead_tbx_negative_bias_wide", "dead_torch_negative_bias_wide_ho",
      "torch names, lr /1.5", style="torch", lr=1 / 1.5),
    V("dead_lightning_adam_high_lr", "dead_tbx_adam_high_lr_ho",
      "tensorboardX names, lr 0.05 x1.5", style="tbx", lr=1.5),
    V("dead_torch_negative_bias_partial", "dead_tbx_negative_bias_partial_ho",
      "tensorboardX names, biases -1.6", style="tbx",
      change={"model": {"bias_init": -1.6}}),

    # ---------------------------------------------------------------- unstable metric
    V("unstable_torch_moons_tiny_val", "unstable_hf_moons_tiny_val_ho",
      "HF names, 12 validation points", style="hf",
      change={"dataset": {"val_size": 12}, "log_every": 5}),
    V("unstable_torch_noisy_labels_tiny_val", "unstable_lightning_noisy_labels_tiny_val_ho",
      "Lightning names, lr 0.5 /1.5", style="lightning", lr=1 / 1.5),
    V("unstable_hf_noisy_labels_tiny_val", "unstable_torch_noisy_labels_tiny_val_decay_ho",
      "torch names", style="torch", change={"log_every": 1, "hist_every": 0}),
    V("unstable_keras_moons_tiny_val", "unstable_keras_moons_tiny_val_ho",
      "10 validation points", change={"dataset": {"val_size": 10}}),
    V("unstable_tbx_noisy_labels_tiny_val", "unstable_hf_noisy_labels_tiny_val_const_ho",
      "HF names, lr 0.5 x1.5", style="hf", lr=1.5, change={"log_every": 2}),

    # ---------------------------------------------------------------- throughput drop
    V("throughput_torch_sleep", "throughput_tbx_sleep_ho",
      "tensorboardX names, 8 ms sleep", style="tbx",
      change={"slowdown": {"sleep_s": 0.008}}),
    V("throughput_hf_sleep", "throughput_lightning_sleep_wine_ho",
      "wine instead of breast cancer, Lightning names", style="lightning",
      change={"dataset": {"name": "wine"}, "log_every": 1, "epochs": 20, "hist_every": 0}),
    V("throughput_keras_sleep", "throughput_keras_sleep_classification_ho",
      "synthetic 4-class data instead of digits, 6 ms sleep",
      change={"dataset": {"name": "classification", "n_samples": 3000, "n_classes": 4,
                          "class_sep": 1.5},
              "slowdown": {"sleep_s": 0.006}}),
    V("throughput_lightning_sleep", "throughput_torch_sleep_moons_ho",
      "torch names, lr /1.5", style="torch", lr=1 / 1.5),

    # ---------------------------------------------------------------------- no signal
    V("nosignal_torch_no_loss_logged", "nosignal_lightning_no_loss_logged_ho",
      "Lightning names", style="lightning"),
    V("nosignal_hf_crashed_early", "nosignal_hf_crashed_early_ho",
      "stopped after 20 steps (4 train/loss points)",
      change={"early_stopping": {"stop_at_step": 20}}),
    V("nosignal_tbx_metrics_only", "nosignal_hf_metrics_only_ho",
      "HF names", style="hf"),
    V("nosignal_keras_two_epochs", "nosignal_keras_three_epochs_ho",
      "stopped after 3 epochs", change={"epochs": 3}),
]
# fmt: on


def variant_config(base: Mapping[str, Any], v: Variant) -> dict[str, Any]:
    """The held-out config: base config, seed + 1000, lr jitter, style and overrides."""
    from train import full_config, merge

    out = merge(base, v.change)
    out["seed"] = int(base.get("seed", 0)) + SEED_OFFSET
    if v.lr != 1.0:
        lr = float(full_config(base)["optimizer"]["lr"]) * v.lr
        out = merge(out, {"optimizer": {"lr": float(f"{lr:.6g}")}})
    if v.style is not None:
        out = merge(out, {"writer": {"style": v.style}})
    return out
