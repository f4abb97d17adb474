"""Build the labelled corpus of real training runs and its labels.

Every scenario is a named train.py config plus the finding codes it is built to show. Each run
is trained for real, then re-read and checked by the oracle in verify.py; a run is labelled
only when the codes the oracle finds are exactly the codes the scenario declares. The labels
therefore come from the logged numbers, and every code carries its evidence string.

    .venv-torch/bin/python benchmarks/diagnosis/make_corpus.py            # build what is missing
    .venv-torch/bin/python benchmarks/diagnosis/make_corpus.py --force    # retrain everything
    .venv-torch/bin/python benchmarks/diagnosis/make_corpus.py --only 'overfit_*' --jobs 2
    .venv-torch/bin/python benchmarks/diagnosis/make_corpus.py --heldout  # the held-out corpus

Writes ``corpus/<run>/`` (git-ignored) and ``labels.json``; ``--fixtures`` also refreshes
``fixtures/`` from the corpus. Exits non-zero when a run's findings differ from its scenario.

``--heldout`` builds ``corpus_heldout/`` (git-ignored) and ``labels_heldout.json`` instead: the
jittered variants of ``heldout.py`` (other seeds, writer styles, learning rates, datasets).
Their labels are whatever the oracle finds; a run whose findings differ from its scenario's
intent is kept, flagged and counted, and does not make the script fail.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import shutil
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from heldout import VARIANTS, variant_config  # noqa: E402
from train import full_config, merge, train  # noqa: E402
from verify import CODES, roles_present, verify_run  # noqa: E402

CORPUS = HERE / "corpus"
LABELS = HERE / "labels.json"
CORPUS_HELDOUT = HERE / "corpus_heldout"
LABELS_HELDOUT = HERE / "labels_heldout.json"
FIXTURES = HERE / "fixtures"
FIXTURE_RUNS = (  # small runs copied to fixtures/ (each <= 200 KB)
    "healthy_hf_breast_cancer",
    "exploding_hf_deep_init",
    "overfitting_tbx_digits_small",
    "overfitting_keras_breast_cancer_small",
    "dead_tbx_negative_bias_wide",
)
FIXTURE_MAX_BYTES = 200_000


@dataclass(frozen=True)
class Scenario:
    """A run to train: its config, the codes it must show, and why."""

    name: str
    config: dict[str, Any]
    expected: tuple[str, ...]  # exactly the codes the oracle must find
    primary: tuple[str, ...]  # the codes the construction aims at (subset of expected)
    description: str
    tags: tuple[str, ...] = field(default_factory=tuple)


def cfg(style: str, seed: int, **parts: Any) -> dict[str, Any]:
    """A config for ``style`` with nested overrides (``dataset={...}``, ``model={...}``...)."""
    base: dict[str, Any] = {"seed": seed, "writer": {"style": style}}
    if style == "hf":
        base["log_every"] = 5
    return merge(base, parts)


def S(  # reads like a table row
    name: str,
    config: dict[str, Any],
    expected: tuple[str, ...] | list[str] = (),
    description: str = "",
    primary: tuple[str, ...] | list[str] | None = None,
) -> Scenario:
    exp = tuple(sorted(expected))
    prim = tuple(sorted(primary)) if primary is not None else exp
    return Scenario(name, config, exp, prim, description)


MOONS = {"name": "moons", "n_samples": 2000, "noise": 0.3}
SEQ = {"name": "sequence", "n_samples": 2000, "seq_len": 20}
LOG_OFF = {
    "train_loss": False,
    "val_loss": False,
    "metrics": False,
    "lr": False,
    "grad_norm": False,
    "layer_grad_norms": False,
    "histograms": False,
    "weight_histograms": False,
    "throughput": False,
}


def scenarios() -> list[Scenario]:
    """The corpus, by construction. Each description says what was done to cause the codes.

    ``expected`` is every code the oracle must find, ``primary`` (default: all of them) the
    codes the construction aims at; the others are real side effects the oracle also sees
    (too high a learning rate rarely causes only one symptom).
    """
    digits_small = {"train_size": 100}
    spikes = {"prob": 0.02, "start_fraction": 0.3, "kind": "labels"}
    slow = {"after_fraction": 0.5, "sleep_s": 0.01}
    rnn_relu = {"kind": "rnn", "cell": "rnn_relu", "width": 32, "depth": 1, "init": "orthogonal"}
    # fmt: off
    return [
        # ----------------------------------------------------------------------- healthy
        S("healthy_torch_digits_adam",
          cfg("torch", 0, epochs=20, eval_every=20),
          description="Digits, 2x64 ReLU MLP, Adam 1e-3, 20 epochs: converges, no problem."),
        S("healthy_torch_sequence_gru",
          cfg("torch", 1, dataset=SEQ, model={"kind": "rnn", "cell": "gru", "width": 32,
                                               "depth": 1},
              optimizer={"lr": 0.005}, grad_clip=1.0, epochs=8, eval_every=25),
          description="GRU on 20-step sequences, Adam 5e-3, clipping at 1.0: converges."),
        S("healthy_hf_breast_cancer",
          cfg("hf", 2, dataset={"name": "breast_cancer"},
              model={"width": 32, "activation": "gelu"},
              optimizer={"name": "adamw", "lr": 1e-3, "weight_decay": 0.01},
              schedule={"name": "cosine", "warmup_steps": 30}, batch_size=16, epochs=12,
              eval_every=25),
          description="Breast cancer, GELU MLP, AdamW + warm-up + cosine (HF Trainer names)."),
        S("healthy_hf_digits_layernorm_residual",
          cfg("hf", 3, model={"depth": 3, "normalization": "layernorm", "residual": True},
              optimizer={"name": "adamw", "lr": 2e-3, "weight_decay": 0.05},
              schedule={"name": "cosine", "warmup_steps": 40}, epochs=12, eval_every=20),
          description="Digits, 3-layer residual LayerNorm MLP, AdamW + warm-up + cosine."),
        S("healthy_lightning_moons_cosine",
          cfg("lightning", 4, dataset={"name": "moons", "n_samples": 2000, "noise": 0.2},
              model={"depth": 3}, optimizer={"name": "sgd_momentum", "lr": 0.1},
              schedule={"name": "cosine"}, epochs=15, eval_every=24, hist_every=120),
          description="Moons, 3x64 ReLU MLP, SGD momentum 0.1 with cosine decay."),
        S("healthy_lightning_wine_rmsprop",
          cfg("lightning", 5, dataset={"name": "wine"}, model={"width": 32},
              optimizer={"name": "rmsprop", "lr": 1e-3, "weight_decay": 1e-3},
              batch_size=16, epochs=40, eval_every=18, hist_every=120),
          description="Wine, 2x32 ReLU MLP, RMSprop 1e-3, 40 epochs."),
        S("healthy_keras_digits_batchnorm",
          cfg("keras", 6, model={"normalization": "batchnorm"},
              optimizer={"lr": 1e-3, "weight_decay": 1e-4}, epochs=25),
          description="Digits, BatchNorm MLP, Adam 1e-3 with weight decay, 25 epochs (Keras)."),
        S("healthy_keras_classification_warmup",
          cfg("keras", 7, dataset={"name": "classification", "n_samples": 3000,
                                   "n_classes": 4, "class_sep": 1.5},
              optimizer={"lr": 2e-3}, schedule={"name": "cosine", "warmup_steps": 100},
              epochs=30),
          description="4-class synthetic data, Adam 2e-3 with warm-up + cosine, 30 epochs."),
        S("healthy_tbx_wine_step_lr",
          cfg("tbx", 8, dataset={"name": "wine"}, model={"width": 32, "activation": "tanh"},
              optimizer={"name": "sgd_momentum", "lr": 0.02},
              schedule={"name": "step", "step_size": 150, "gamma": 0.5},
              batch_size=16, epochs=50, eval_every=18, hist_every=150),
          description="Wine, tanh MLP, SGD momentum 0.02 with step decay."),
        S("healthy_tbx_digits_reduce_on_plateau",
          cfg("tbx", 9, optimizer={"lr": 2e-3, "weight_decay": 1e-4},
              schedule={"name": "reduce_on_plateau", "patience": 2, "factor": 0.3},
              epochs=15, eval_every=22, hist_every=110),
          description="Digits, Adam 2e-3 with ReduceLROnPlateau on the validation loss."),

        # --------------------------------------------------------------- loss divergence
        S("divergence_torch_sgd_nan",
          cfg("torch", 10, model={"depth": 3}, optimizer={"name": "sgd", "lr": 5.0},
              epochs=10, eval_every=20, hist_every=0),
          ("loss_divergence", "exploding_gradients"),
          "Digits, plain SGD at lr 5.0 (~50x too high): loss and gradients are NaN by step 11."),
        S("divergence_hf_warmup_too_high",
          cfg("hf", 11, model={"activation": "tanh"},
              optimizer={"name": "sgd_momentum", "lr": 3.0},
              schedule={"name": "warmup", "warmup_steps": 300}, epochs=20, eval_every=20),
          ("loss_divergence", "loss_oscillation"),
          "Digits, tanh MLP, SGD momentum warmed up to lr 3.0: fine early, then the loss climbs "
          "and swings as the lr grows.",
          primary=("loss_divergence",)),
        S("divergence_keras_warmup_nan",
          cfg("keras", 12, dataset={"name": "breast_cancer"}, model={"depth": 3},
              optimizer={"name": "sgd_momentum", "lr": 0.5},
              schedule={"name": "warmup", "warmup_steps": 300}, batch_size=16, epochs=20,
              stop_on_nan=False),
          ("loss_divergence",),
          "Breast cancer, SGD momentum warmed up towards lr 0.5: epoch loss turns NaN at epoch "
          "8 and stays NaN (Keras layout, no TerminateOnNaN)."),
        S("divergence_tbx_lr_growing",
          cfg("tbx", 13, optimizer={"lr": 1e-4},
              schedule={"name": "exponential", "gamma": 1.01}, epochs=30, eval_every=25,
              hist_every=0),
          ("loss_divergence", "loss_spikes"),
          "Digits, Adam whose lr grows 1% per step (a range test left running): the loss falls, "
          "then rises for good with jumps once the lr passes ~0.05.",
          primary=("loss_divergence",)),

        # ------------------------------------------------------------ exploding gradients
        S("exploding_torch_rnn_relu_gain",
          cfg("torch", 14, dataset={"name": "sequence", "n_samples": 2000, "seq_len": 60},
              model={**rnn_relu, "init_gain": 1.8}, optimizer={"lr": 0.002}, epochs=6,
              eval_every=25, hist_every=0),
          ("exploding_gradients",),
          "ReLU RNN on 60-step sequences, recurrent weights orthogonal x1.8, no clipping: "
          "gradient norms of 1e3-1e4."),
        S("exploding_lightning_rnn_relu_gain",
          cfg("lightning", 15, dataset={"name": "sequence", "n_samples": 2000, "seq_len": 60},
              model={**rnn_relu, "init_gain": 1.8}, optimizer={"lr": 0.002}, epochs=6,
              eval_every=25, hist_every=0),
          ("exploding_gradients",),
          "The same ReLU RNN with another seed, logged with Lightning names."),
        S("exploding_hf_deep_init",
          cfg("hf", 16, model={"depth": 6, "init": "kaiming", "init_gain": 2.5},
              optimizer={"lr": 1e-3}, epochs=8, eval_every=20,
              writer={"style": "hf", "log": {"throughput": False}}),
          ("exploding_gradients",),
          "Digits, 6-layer ReLU MLP with weights 2.5x Kaiming: activations and gradients "
          "explode (norms > 1e3); Adam keeps the steps bounded so the loss still falls."),
        S("exploding_tbx_momentum_too_high",
          cfg("tbx", 17, optimizer={"name": "sgd_momentum", "lr": 0.05, "momentum": 0.99},
              epochs=15, eval_every=20, hist_every=110),
          ("exploding_gradients", "loss_divergence", "loss_spikes", "dead_units",
           "vanishing_gradients"),
          "Digits, SGD lr 0.05 with momentum 0.99: the gradient norm grows ~170x, the loss "
          "jumps and climbs back to chance, most ReLUs die so the first layer gets ~no "
          "gradient. A run where everything goes wrong.",
          primary=("exploding_gradients",)),
        S("exploding_torch_deep_init",
          cfg("torch", 59, model={"depth": 6, "init": "kaiming", "init_gain": 2.5},
              optimizer={"lr": 1e-3}, epochs=8, eval_every=20, hist_every=0),
          ("exploding_gradients",),
          "Digits, 6-layer ReLU MLP with weights 2.5x Kaiming, Adam 1e-3: gradient norms "
          "above 1e3 while the loss comes down from ~1e2."),

        # ------------------------------------------------------------ vanishing gradients
        S("vanishing_torch_deep_sigmoid",
          cfg("torch", 18, model={"depth": 8, "activation": "sigmoid"},
              optimizer={"name": "sgd", "lr": 0.1}, epochs=10, eval_every=20, hist_every=110),
          ("vanishing_gradients",),
          "Digits, 8-layer sigmoid MLP, default init, plain SGD: first-layer gradients ~1e-7 "
          "of the head's."),
        S("vanishing_lightning_deep_tanh_small_init",
          cfg("lightning", 19, model={"depth": 6, "activation": "tanh", "init": "normal",
                                      "init_std": 0.02},
              optimizer={"name": "sgd_momentum", "lr": 0.05}, epochs=6, eval_every=22,
              hist_every=0),
          ("vanishing_gradients",),
          "Digits, 6-layer tanh MLP initialised N(0, 0.02): gradients shrink layer by layer."),
        S("vanishing_tbx_deep_sigmoid_xavier",
          cfg("tbx", 20, model={"depth": 10, "width": 32, "activation": "sigmoid",
                                "init": "xavier"},
              optimizer={"lr": 1e-3}, epochs=5, eval_every=22, hist_every=0),
          ("vanishing_gradients",),
          "Digits, 10-layer sigmoid MLP (Xavier), Adam 1e-3: the first layer gets ~1e-6 of "
          "the head's gradient and the loss barely moves."),
        S("vanishing_torch_deep_tanh_breast_cancer",
          cfg("torch", 21, dataset={"name": "breast_cancer"},
              model={"depth": 10, "width": 32, "activation": "tanh", "init": "normal",
                     "init_std": 0.03},
              optimizer={"name": "sgd", "lr": 0.05}, batch_size=32, epochs=12, eval_every=20,
              hist_every=0),
          ("vanishing_gradients",),
          "Breast cancer, 10-layer tanh MLP with N(0, 0.03) weights, plain SGD."),

        # -------------------------------------------------------------- loss oscillation
        S("oscillation_torch_moons_adam_high",
          cfg("torch", 0, dataset=MOONS, model={"activation": "tanh"},
              optimizer={"lr": 0.2}, epochs=20, eval_every=25, hist_every=0),
          ("loss_oscillation",),
          "Moons, tanh MLP, Adam at lr 0.2 (200x the default): the loss bounces for good."),
        S("oscillation_keras_moons_adam_high",
          cfg("keras", 23, dataset=MOONS, model={"activation": "tanh"},
              optimizer={"lr": 0.3}, batch_size=32, epochs=60),
          ("loss_oscillation", "unstable_metric"),
          "Moons, tanh MLP, Adam at lr 0.3, 60 epochs: epoch loss and validation accuracy "
          "swing (Keras layout).",
          primary=("loss_oscillation",)),
        S("oscillation_hf_momentum_high",
          cfg("hf", 24, dataset=MOONS, model={"activation": "tanh"},
              optimizer={"name": "sgd_momentum", "lr": 0.3, "momentum": 0.9},
              epochs=20, eval_every=25, log_every=2),
          ("loss_oscillation", "plateau"),
          "Moons, tanh MLP, SGD at a constant lr 0.3 with momentum 0.9: after a quick drop the "
          "loss only bounces.",
          primary=("loss_oscillation",)),
        S("oscillation_tbx_sequence_lstm_high",
          cfg("tbx", 25, dataset={"name": "sequence", "n_samples": 2000, "seq_len": 50},
              model={"kind": "rnn", "cell": "lstm", "width": 32, "depth": 1},
              optimizer={"name": "sgd_momentum", "lr": 1.0, "momentum": 0.9},
              epochs=5, eval_every=25, hist_every=0),
          ("loss_oscillation",),
          "LSTM on 50-step sequences, SGD lr 1.0 momentum 0.9, no clipping."),

        # -------------------------------------------------------------------- loss spikes
        S("spikes_torch_corrupted_batches",
          cfg("torch", 26, corrupt=spikes, epochs=20, eval_every=20, hist_every=0),
          ("loss_spikes",),
          "Digits, healthy Adam run, but ~2% of batches after 30% of training have every "
          "label wrong: isolated loss jumps that training recovers from."),
        S("spikes_hf_corrupted_batches",
          cfg("hf", 27, dataset={"name": "breast_cancer"}, corrupt=spikes, log_every=1,
              batch_size=16, epochs=20, eval_every=25),
          ("loss_spikes",),
          "Breast cancer, Adam run with ~2% corrupted-label batches (HF names, logging every "
          "step)."),
        S("spikes_lightning_corrupted_batches",
          cfg("lightning", 28, dataset={"name": "classification", "n_samples": 3000,
                                        "n_classes": 4, "class_sep": 1.5},
              corrupt={**spikes, "prob": 0.03}, optimizer={"lr": 2e-3},
              schedule={"name": "cosine"}, epochs=12, eval_every=36, hist_every=0),
          ("loss_spikes",),
          "4-class synthetic data, Adam + cosine, ~3% corrupted-label batches."),
        S("spikes_tbx_corrupted_batches_wine",
          cfg("tbx", 29, dataset={"name": "wine"}, corrupt={**spikes, "prob": 0.03},
              optimizer={"lr": 3e-3}, batch_size=16, epochs=60, eval_every=18, hist_every=0),
          ("loss_spikes",),
          "Wine, Adam 3e-3, ~3% of batches with every label wrong (tensorboardX)."),

        # --------------------------------------------------------------- slow convergence
        S("slow_torch_sgd_tiny_lr",
          cfg("torch", 30, optimizer={"name": "sgd", "lr": 0.003}, epochs=15, eval_every=20,
              hist_every=110),
          ("slow_convergence",),
          "Digits, plain SGD at lr 0.003: the loss falls a few percent in 330 steps."),
        S("slow_keras_sgd_small_lr",
          cfg("keras", 31, optimizer={"name": "sgd", "lr": 0.005}, epochs=25),
          ("slow_convergence",),
          "Digits, plain SGD at lr 0.005, 25 epochs (Keras layout)."),
        S("slow_hf_adam_tiny_lr",
          cfg("hf", 32, dataset={"name": "breast_cancer"}, optimizer={"lr": 2e-5},
              batch_size=16, epochs=15, eval_every=25),
          ("slow_convergence",),
          "Breast cancer, Adam at lr 2e-5 (50x too low)."),
        S("slow_lightning_rmsprop_tiny_lr",
          cfg("lightning", 33, dataset={"name": "wine"},
              optimizer={"name": "rmsprop", "lr": 1e-5}, batch_size=16, epochs=40,
              eval_every=18, hist_every=0),
          ("slow_convergence",),
          "Wine, RMSprop at lr 1e-5."),

        # ------------------------------------------------------------------------ plateau
        S("plateau_torch_moons_sgd_constant_lr",
          cfg("torch", 34, dataset=MOONS, optimizer={"name": "sgd", "lr": 1.0}, epochs=20,
              eval_every=25, hist_every=0),
          ("plateau",),
          "Moons (noise 0.3), SGD at a constant lr 1.0: quick drop, then flat while lr stays."),
        S("plateau_keras_moons_constant_lr",
          cfg("keras", 35, dataset=MOONS, optimizer={"name": "sgd", "lr": 1.0},
              batch_size=256, epochs=60),
          ("plateau",),
          "Moons, SGD at constant lr 1.0, batch 256, 60 epochs (Keras layout)."),
        S("plateau_hf_classification_constant_lr",
          cfg("hf", 36, dataset={"name": "classification", "n_samples": 3000, "n_classes": 4,
                                 "class_sep": 0.8},
              model={"width": 32}, optimizer={"name": "sgd", "lr": 1.0}, epochs=25,
              eval_every=25),
          ("plateau",),
          "4-class hard synthetic data, SGD at constant lr 1.0, 25 epochs."),
        S("plateau_lightning_noisy_labels_constant_lr",
          cfg("lightning", 37, dataset={"label_noise": 0.1},
              optimizer={"name": "sgd_momentum", "lr": 0.2, "momentum": 0.9},
              model={"activation": "tanh"}, epochs=15, eval_every=22, hist_every=0),
          ("plateau", "loss_spikes"),
          "Digits with 10% wrong labels, SGD momentum at constant lr 0.2.",
          primary=("plateau",)),

        # -------------------------------------------------------------------- overfitting
        S("overfitting_torch_digits_small",
          cfg("torch", 38, dataset=digits_small, model={"width": 256}, batch_size=32,
              epochs=150, eval_every=20, hist_every=200),
          ("overfitting",),
          "Digits, only 100 training images, 256-wide MLP, 150 epochs, no regularisation."),
        S("overfitting_tbx_digits_small",
          cfg("tbx", 39, dataset={"train_size": 120}, model={"width": 256}, batch_size=32,
              epochs=150, eval_every=25, log_every=2, hist_every=0,
              writer={"style": "tbx", "log": {"layer_grad_norms": False,
                                              "throughput": False}}),
          ("overfitting",),
          "Digits, 120 training images, 150 epochs, no regularisation (a small tbx run)."),
        S("overfitting_keras_breast_cancer_small",
          cfg("keras", 40, dataset={"name": "breast_cancer", "train_size": 60},
              model={"width": 256, "depth": 3}, batch_size=16, epochs=120),
          ("overfitting",),
          "Breast cancer, 60 training samples, 3x256 MLP, 120 epochs (Keras layout)."),
        S("overfitting_hf_breast_cancer_small",
          cfg("hf", 41, dataset={"name": "breast_cancer", "train_size": 60},
              model={"width": 256, "depth": 3}, batch_size=16, epochs=150, eval_every=20),
          ("overfitting",),
          "Breast cancer, 60 training samples, 3x256 MLP, 150 epochs."),
        S("overfitting_lightning_noisy_labels",
          cfg("lightning", 42, dataset={"train_size": 300, "label_noise": 0.2},
              model={"width": 256}, batch_size=32, epochs=80, eval_every=20, hist_every=0),
          ("overfitting",),
          "Digits, 300 training images with 20% wrong labels, memorised over 80 epochs."),

        # --------------------------------------------------------------------- dead units
        S("dead_torch_negative_bias",
          cfg("torch", 43, model={"depth": 3, "bias_init": -3.0}, epochs=10, eval_every=20,
              hist_every=50),
          ("dead_units", "vanishing_gradients"),
          "Digits, ReLU MLP with hidden biases initialised to -3: every unit is dead from the "
          "start, no gradient reaches the first layer and the loss stays at chance.",
          primary=("dead_units",)),
        S("dead_tbx_negative_bias_wide",
          cfg("tbx", 44, model={"depth": 2, "width": 128, "bias_init": -2.0},
              optimizer={"name": "sgd_momentum", "lr": 0.05}, epochs=10, eval_every=20,
              log_every=2, hist_every=55,
              writer={"style": "tbx", "log": {"weight_histograms": False}}),
          ("dead_units", "vanishing_gradients"),
          "Digits, 2x128 ReLU MLP, biases -2, SGD momentum: the ReLUs never switch on.",
          primary=("dead_units",)),
        S("dead_lightning_adam_high_lr",
          cfg("lightning", 45, optimizer={"lr": 0.05}, epochs=10, eval_every=22,
              hist_every=55),
          ("dead_units", "loss_spikes"),
          "Digits, ReLU MLP, Adam at lr 0.05: big early updates kill most second-layer units.",
          primary=("dead_units",)),
        S("dead_torch_negative_bias_partial",
          cfg("torch", 46, model={"depth": 1, "width": 256, "bias_init": -1.5},
              optimizer={"name": "sgd_momentum", "lr": 0.05}, epochs=15, eval_every=22,
              hist_every=55),
          ("dead_units",),
          "Digits, one 256-unit ReLU layer with biases -1.5: ~97% of activations stay at zero, "
          "yet the few live units still learn the task."),

        # ---------------------------------------------------------------- unstable metric
        S("unstable_torch_moons_tiny_val",
          cfg("torch", 47, dataset={"name": "moons", "n_samples": 2000, "noise": 0.5,
                                    "val_size": 10},
              model={"activation": "tanh"}, optimizer={"lr": 0.05}, batch_size=32,
              epochs=40, eval_every=40, hist_every=0),
          ("unstable_metric", "loss_oscillation"),
          "Very noisy moons, Adam 0.05, validation on only 10 points: accuracy jumps between "
          "0.5 and 1.0 from one evaluation to the next.",
          primary=("unstable_metric",)),
        S("unstable_torch_noisy_labels_tiny_val",
          cfg("torch", 60, dataset={"val_size": 20, "label_noise": 0.5},
              optimizer={"name": "sgd_momentum", "lr": 0.5}, batch_size=256, epochs=40,
              eval_every=6, hist_every=0),
          ("unstable_metric", "plateau", "overfitting"),
          "Digits with half the training labels wrong, 20 validation images, SGD momentum at "
          "a constant lr 0.5: the model wanders, its accuracy swings.",
          primary=("unstable_metric",)),
        S("unstable_hf_noisy_labels_tiny_val",
          cfg("hf", 48, dataset={"val_size": 20, "label_noise": 0.5},
              optimizer={"name": "sgd_momentum", "lr": 0.6},
              schedule={"name": "exponential", "gamma": 0.9965}, batch_size=256, epochs=40,
              eval_every=6, log_every=2),
          ("unstable_metric", "overfitting"),
          "Digits, half the labels wrong, 20 validation images, decaying SGD momentum: the "
          "model memorises the noise and eval/f1 swings.",
          primary=("unstable_metric",)),
        S("unstable_keras_moons_tiny_val",
          cfg("keras", 49, dataset={"name": "moons", "n_samples": 2000, "noise": 0.35,
                                    "val_size": 12},
              model={"activation": "tanh"}, optimizer={"lr": 0.1}, batch_size=32, epochs=40),
          ("unstable_metric", "loss_oscillation"),
          "Moons, Adam 0.1, validation on 12 points (Keras layout).",
          primary=("unstable_metric",)),
        S("unstable_tbx_noisy_labels_tiny_val",
          cfg("tbx", 50, dataset={"val_size": 20, "label_noise": 0.5},
              optimizer={"name": "sgd_momentum", "lr": 0.5}, batch_size=256, epochs=40,
              eval_every=6, hist_every=0),
          ("unstable_metric", "plateau", "overfitting"),
          "Digits, half the labels wrong, 20 validation images, constant lr 0.5: precision "
          "and recall swing (tensorboardX).",
          primary=("unstable_metric",)),

        # ---------------------------------------------------------------- throughput drop
        S("throughput_torch_sleep",
          cfg("torch", 51, slowdown=slow, epochs=10, eval_every=20, hist_every=110),
          ("throughput_drop",),
          "Digits, healthy Adam run with a 10 ms sleep per step after half of training."),
        S("throughput_hf_sleep",
          cfg("hf", 52, dataset={"name": "breast_cancer"}, slowdown=slow,
              optimizer={"name": "adamw", "weight_decay": 0.01}, batch_size=16, epochs=10,
              eval_every=25),
          ("throughput_drop",),
          "Breast cancer, healthy AdamW run that sleeps 10 ms per step after half of "
          "training."),
        S("throughput_keras_sleep",
          cfg("keras", 53, slowdown={"after_fraction": 0.5, "sleep_s": 0.005},
              model={"normalization": "batchnorm"}, optimizer={"weight_decay": 1e-4},
              epochs=16),
          ("throughput_drop",),
          "Digits, healthy run whose steps slow down by 5 ms from the middle (Keras layout)."),
        S("throughput_lightning_sleep",
          cfg("lightning", 54, dataset={"name": "moons", "n_samples": 2000, "noise": 0.2},
              slowdown=slow, optimizer={"lr": 3e-3}, schedule={"name": "cosine"},
              epochs=10, eval_every=24, hist_every=0),
          ("throughput_drop",),
          "Moons, healthy Adam + cosine run with a 10 ms sleep per step from the middle."),

        # ---------------------------------------------------------------------- no signal
        S("nosignal_torch_no_loss_logged",
          cfg("torch", 55, epochs=5, eval_every=20, hist_every=0,
              writer={"style": "torch", "log": {**LOG_OFF, "metrics": True, "lr": True,
                                                "throughput": True}}),
          ("no_signal",),
          "A healthy run that logged only accuracy, lr and throughput: no loss at all."),
        S("nosignal_hf_crashed_early",
          cfg("hf", 56, early_stopping={"stop_at_step": 15}, eval_every=50),
          ("no_signal",),
          "An HF-style run that stopped after 15 steps: three train/loss points, no eval."),
        S("nosignal_tbx_metrics_only",
          cfg("tbx", 57, epochs=5, eval_every=20, hist_every=0,
              writer={"style": "tbx", "log": {**LOG_OFF, "metrics": True}}),
          ("no_signal",),
          "A tensorboardX run that logged precision/recall/accuracy only."),
        S("nosignal_keras_two_epochs",
          cfg("keras", 58, epochs=2),
          ("no_signal",),
          "A Keras-layout run stopped after 2 epochs: two points per series."),
    ]
    # fmt: on


def heldout_scenarios() -> list[Scenario]:
    """The held-out runs (``heldout.py``): each scenario's intent with a jittered config.

    ``expected`` / ``primary`` are the base scenario's codes, i.e. the *intent*; the held-out
    labels themselves are whatever the oracle finds.
    """
    base = {s.name: s for s in scenarios()}
    out = []
    for v in VARIANTS:
        b = base[v.base]
        out.append(
            Scenario(
                v.name,
                variant_config(b.config, v),
                b.expected,
                b.primary,
                f"Held-out variant of `{v.base}` (seed +1000; {v.note}).",
                tags=(v.base,),
            )
        )
    return out


# ------------------------------------------------------------------------------- building


def _build_one(scenario: Scenario, force: bool, root: Path = CORPUS) -> dict[str, Any]:
    run_dir = root / scenario.name
    full = full_config(scenario.config)
    existing = run_dir / "config.json"
    trained = False
    seconds = None
    if (
        force
        or not existing.exists()
        or json.loads(existing.read_text()) != full
        or not (run_dir / "metrics.json").exists()
    ):
        if run_dir.exists():
            shutil.rmtree(run_dir)
        start = time.perf_counter()
        train(full, run_dir)
        seconds = time.perf_counter() - start
        trained = True
    found = verify_run(run_dir)
    return {
        "name": scenario.name,
        "trained": trained,
        "seconds": seconds,
        "found": found,
        "roles": roles_present(run_dir),
        "config": full,
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


README = HERE / "README.md"
TABLE_START, TABLE_END = "<!-- runs:start -->", "<!-- runs:end -->"
HELDOUT_START, HELDOUT_END = "<!-- heldout:start -->", "<!-- heldout:end -->"


def runs_table(labels: Mapping[str, Any]) -> str:
    """The README's run table: one row per labelled run (primary codes in bold)."""
    rows = ["| run | writer | expected codes | what was done |", "| --- | --- | --- | --- |"]
    for name, entry in labels.items():
        codes = [f"**{c}**" if c in entry["primary"] else c for c in entry["expected"]]
        desc = entry["description"].replace("|", "\\|")
        rows.append(f"| `{name}` | {entry['style']} | {', '.join(codes) or '-'} | {desc} |")
    return "\n".join(rows)


def heldout_table(labels: Mapping[str, Any]) -> str:
    """The README's held-out table: oracle codes, and the intent where they differ."""
    rows = [
        "| run | writer | oracle's codes | intended (if different) | what changed |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, entry in labels.items():
        codes = [f"**{c}**" if c in entry["primary"] else c for c in entry["expected"]]
        differs = "" if entry["matches_intent"] else ", ".join(entry["intended"]) or "(healthy)"
        desc = entry["description"].replace("|", "\\|")
        rows.append(
            f"| `{name}` | {entry['style']} | {', '.join(codes) or '-'} | {differs} | {desc} |"
        )
    return "\n".join(rows)


def update_readme(
    labels: Mapping[str, Any], start: str = TABLE_START, end: str = TABLE_END, table: Any = None
) -> None:
    """Rewrite the run table between the README's markers (if the README has them)."""
    if not README.exists():
        return
    text = README.read_text()
    if start not in text or end not in text:
        return
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    body = (table or runs_table)(labels)
    README.write_text(f"{head}{start}\n{body}\n{end}{tail}")


def copy_fixtures() -> None:
    """Copy the small runs named in FIXTURE_RUNS into fixtures/ (each <= 200 KB)."""
    if FIXTURES.exists():
        shutil.rmtree(FIXTURES)
    for name in FIXTURE_RUNS:
        src = CORPUS / name
        size = sum(p.stat().st_size for p in src.rglob("*") if p.is_file())
        if size > FIXTURE_MAX_BYTES:
            raise SystemExit(f"fixture {name} is {size} bytes > {FIXTURE_MAX_BYTES}")
        shutil.copytree(src, FIXTURES / name)
        print(f"fixture {name}: {size / 1000:.0f} KB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="retrain runs already present")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained in parallel")
    parser.add_argument("--only", default="*", help="fnmatch pattern of run names")
    parser.add_argument("--fixtures", action="store_true", help="refresh fixtures/ afterwards")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument(
        "--heldout",
        action="store_true",
        help="build the held-out corpus (corpus_heldout/, labels_heldout.json) instead",
    )
    args = parser.parse_args(argv)

    every = heldout_scenarios() if args.heldout else scenarios()
    chosen = [s for s in every if fnmatch.fnmatch(s.name, args.only)]
    names = [s.name for s in every]
    if len(set(names)) != len(names):
        raise SystemExit("duplicate scenario names")
    if args.list:
        for s in chosen:
            print(f"{s.name:48s} {s.config['writer']['style']:9s} {','.join(s.expected) or '-'}")
        return 0
    if args.heldout and args.fixtures:
        raise SystemExit("--fixtures come from the main corpus, not the held-out one")
    corpus = CORPUS_HELDOUT if args.heldout else CORPUS

    corpus.mkdir(exist_ok=True)
    if args.only == "*":  # a full build drops run folders of scenarios that no longer exist
        for stale in sorted(p for p in corpus.iterdir() if p.is_dir() and p.name not in names):
            print(f"removing stale run {stale.name}")
            shutil.rmtree(stale)
    start = time.perf_counter()
    n = len(chosen)
    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(_build_one, chosen, [args.force] * n, [corpus] * n))
    else:
        results = [_build_one(s, args.force, corpus) for s in chosen]
    wall = time.perf_counter() - start
    if args.heldout:
        return _finish_heldout(chosen, results, names, wall)

    labels: dict[str, Any] = json.loads(LABELS.read_text()) if LABELS.exists() else {}
    labels = {k: v for k, v in labels.items() if k in names}  # drop removed scenarios
    failures = 0
    for scenario, result in zip(chosen, results, strict=True):
        found = result["found"]
        ok = tuple(sorted(found)) == scenario.expected
        took = f"{result['seconds']:.1f}s" if result["trained"] else "kept"
        mark = "ok  " if ok else "FAIL"
        print(f"{mark} {scenario.name:48s} {took:>6s} found={sorted(found)}")
        if not ok:
            failures += 1
            print(f"     expected={list(scenario.expected)}")
            for code, evidence in found.items():
                print(f"     {code}: {evidence}")
            labels.pop(scenario.name, None)
            continue
        labels[scenario.name] = {
            "expected": list(scenario.expected),
            "primary": list(scenario.primary),
            "style": scenario.config["writer"]["style"],
            "description": scenario.description,
            "roles": result["roles"],
            "verified": {code: found[code] for code in scenario.expected},
            "config": _jsonable(result["config"]),
        }
    ordered = {name: labels[name] for name in names if name in labels}
    LABELS.write_text(json.dumps(ordered, indent=2) + "\n")
    trained = [r["seconds"] for r in results if r["trained"]]
    print(
        f"{len(chosen)} runs ({len(trained)} trained, {sum(trained):.0f}s of training), "
        f"{wall:.0f}s wall; {failures} mismatched; labels for {len(ordered)} runs in "
        f"{LABELS.relative_to(HERE.parent.parent)}"
    )
    counts = {code: sum(code in v["expected"] for v in ordered.values()) for code in CODES}
    print("runs per code:", json.dumps(counts))
    styles: dict[str, int] = {}
    for entry in ordered.values():
        styles[entry["style"]] = styles.get(entry["style"], 0) + 1
    print("runs per writer style:", json.dumps(styles))
    update_readme(ordered)
    if args.fixtures:
        copy_fixtures()
    return 1 if failures else 0


def _finish_heldout(
    chosen: list[Scenario], results: list[dict[str, Any]], names: list[str], wall: float
) -> int:
    """Label held-out runs with what the oracle found; count those that differ from intent."""
    labels: dict[str, Any] = (
        json.loads(LABELS_HELDOUT.read_text()) if LABELS_HELDOUT.exists() else {}
    )
    labels = {k: v for k, v in labels.items() if k in names}
    for scenario, result in zip(chosen, results, strict=True):
        found = result["found"]
        codes = sorted(found)
        ok = tuple(codes) == scenario.expected
        took = f"{result['seconds']:.1f}s" if result["trained"] else "kept"
        print(f"{'ok  ' if ok else 'DIFF'} {scenario.name:52s} {took:>6s} found={codes}")
        if not ok:
            print(f"     intended={list(scenario.expected)}")
            for code in sorted(set(codes) ^ set(scenario.expected)):
                print(f"     {code}: {found.get(code, '(not found)')}")
        labels[scenario.name] = {
            "expected": codes,
            "primary": [c for c in scenario.primary if c in found],
            "intended": list(scenario.expected),
            "matches_intent": ok,
            "base": scenario.tags[0],
            "style": scenario.config["writer"]["style"],
            "description": scenario.description,
            "roles": result["roles"],
            "verified": {code: found[code] for code in codes},
            "config": _jsonable(result["config"]),
        }
    ordered = {name: labels[name] for name in names if name in labels}
    LABELS_HELDOUT.write_text(json.dumps(ordered, indent=2) + "\n")
    trained = [r["seconds"] for r in results if r["trained"]]
    differ = [n for n, e in ordered.items() if not e["matches_intent"]]
    lost = [n for n, e in ordered.items() if e["intended"] and not e["primary"]]
    print(
        f"{len(chosen)} held-out runs ({len(trained)} trained, {sum(trained):.0f}s of "
        f"training), {wall:.0f}s wall; labels for {len(ordered)} runs in "
        f"{LABELS_HELDOUT.relative_to(HERE.parent.parent)}"
    )
    print(
        f"{len(differ)} differ from their scenario's intent; in {len(lost)} of them no "
        f"intended primary code materialised: {', '.join(lost) or '-'}"
    )
    counts = {code: sum(code in v["expected"] for v in ordered.values()) for code in CODES}
    print("runs per code:", json.dumps(counts))
    print("healthy runs:", sum(not v["expected"] for v in ordered.values()))
    update_readme(ordered, HELDOUT_START, HELDOUT_END, heldout_table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
