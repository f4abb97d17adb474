"""Train one small, fully seeded model on the CPU and log it like a real framework would.

``train(config, logdir)`` is the only entry point that matters. The config is a plain,
JSON-serialisable dict; every knob that dlreport's advice can turn (learning rate, schedule,
optimizer, momentum, clipping, weight decay, early stopping, batch size, architecture) lives in
it, so an advised run is ``train(apply_advice(config, advice), other_logdir)`` with the same
seed. Same config -> same losses, accuracies and gradient norms (only wall-clock derived
values such as throughput differ between two runs).

Writer styles (``config["writer"]["style"]``) and where the event files go, relative to
``logdir``:

=========  ==========================================  =========================================
style      writer                                      layout / main tags
=========  ==========================================  =========================================
torch      torch.utils.tensorboard.SummaryWriter       ``./``: Loss/train, Loss/val, Accuracy/val,
                                                       lr, grad_norm, grad_norm/<layer>,
                                                       throughput/samples_per_sec, histograms
                                                       weights/<layer>, activations/<layer>
hf         torch SummaryWriter, HF Trainer names       ``./``: train/loss, train/grad_norm,
                                                       train/learning_rate, train/epoch,
                                                       train/samples_per_second, eval/loss,
                                                       eval/accuracy, eval/f1
lightning  torch SummaryWriter, Lightning names        ``lightning_logs/version_0/``: train_loss,
                                                       val_loss, val_acc, lr-<Optimizer>, epoch,
                                                       grad_2.0_norm_total, grad_2.0_norm/<param>
keras      two tensorboardX writers, TF2 tensor        ``train/``, ``validation/``: epoch_loss,
           scalars (plugin "scalars")                  epoch_accuracy, epoch_learning_rate,
                                                       epoch_steps_per_second,
                                                       evaluation_*_vs_iterations
tbx        tensorboardX.SummaryWriter                  ``./``: loss/train, loss/val,
                                                       metrics/precision, metrics/recall,
                                                       metrics/accuracy, learning_rate,
                                                       grad/norm, grad/<layer>,
                                                       perf/samples_per_sec, histograms
=========  ==========================================  =========================================

``config.json`` (the full config, defaults filled in) and ``metrics.json`` (final numbers)
are written into ``logdir`` itself.
"""

from __future__ import annotations

import copy
import json
import math
import os
import struct
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

# --------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------

DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "dataset": {
        "name": "digits",  # digits | breast_cancer | wine | iris | moons | classification
        #                    | sequence
        "n_samples": 1000,  # moons / classification / sequence only
        "noise": 0.2,  # moons only
        "n_features": 20,  # classification only
        "n_informative": 8,  # classification only
        "n_classes": 3,  # classification only
        "class_sep": 1.0,  # classification only
        "seq_len": 30,  # sequence only
        "seq_window": 3,  # sequence: the label is the sign of the sum of this many tokens
        "seq_position": "end",  # sequence: where those tokens are ("start" = long dependency)
        "val_fraction": 0.25,
        "train_size": None,  # keep only this many training examples (None: all)
        "val_size": None,  # keep only this many validation examples (None: all)
        "label_noise": 0.0,  # fraction of training labels replaced by a different random class
        "standardize": True,  # z-score features with training-set statistics
    },
    "model": {
        "kind": "mlp",  # mlp | rnn
        "depth": 2,  # mlp: hidden layers; rnn: stacked recurrent layers
        "width": 64,  # hidden units (mlp and rnn)
        "activation": "relu",  # relu | leaky_relu | gelu | tanh | sigmoid
        "normalization": "none",  # none | batchnorm | layernorm
        "residual": False,  # skip connections around hidden layers of equal width
        "dropout": 0.0,
        "cell": "rnn_tanh",  # rnn only: rnn_tanh | rnn_relu | lstm | gru
        "init": "default",  # default | xavier | kaiming | normal | orthogonal
        "init_std": 0.05,  # init == "normal" only
        "init_gain": 1.0,  # multiplies every weight matrix after init
        "bias_init": None,  # constant for hidden-layer biases (None: leave as initialised)
    },
    "optimizer": {
        "name": "adam",  # sgd | sgd_momentum | adam | adamw | rmsprop
        "lr": 1e-3,
        "momentum": 0.9,  # sgd_momentum and rmsprop
        "nesterov": False,
        "betas": [0.9, 0.999],  # adam / adamw
        "rho": 0.99,  # rmsprop smoothing constant (torch's alpha)
        "eps": 1e-8,
        "weight_decay": 0.0,
    },
    "schedule": {
        "name": "none",  # none | warmup | step | cosine | exponential | reduce_on_plateau
        "warmup_steps": 0,  # linear warm-up, combinable with every schedule
        "step_size": 200,  # step: multiply by gamma every step_size optimizer steps
        "gamma": 0.5,  # step: factor; exponential: factor per optimizer step
        "eta_min_factor": 0.0,  # cosine: final lr as a fraction of the initial lr
        "factor": 0.5,  # reduce_on_plateau (stepped at each evaluation on val loss)
        "patience": 3,
    },
    "grad_clip": None,  # max global grad norm (None: no clipping)
    "batch_size": 64,
    "epochs": 10,
    "max_steps": None,  # stop after this many optimizer steps (None: epochs decide)
    "eval_every": 50,  # optimizer steps between evaluations (keras: every epoch)
    "log_every": 1,  # optimizer steps between training-scalar logs
    "hist_every": 100,  # optimizer steps between histogram logs (0: never)
    "early_stopping": {
        "stop_at_step": None,  # stop after this optimizer step
        "patience": None,  # evaluations without val-loss improvement before stopping
        "min_delta": 0.0,
    },
    "stop_on_nan": True,  # stop (after logging it) at the first non-finite training loss
    "eval_train_mode": False,  # the classic bug: evaluate without model.eval() (dropout on)
    "corrupt": {  # occasional corrupted batches (loss spikes)
        "prob": 0.0,  # chance per step after start_fraction
        "start_fraction": 0.3,
        "kind": "labels",  # labels: shuffled labels; inputs: inputs times scale
        "scale": 10.0,
    },
    "slowdown": {  # throughput drop: sleep after each step once after_fraction is reached
        "after_fraction": None,
        "sleep_s": 0.0,
    },
    "writer": {
        "style": "torch",  # torch | hf | lightning | keras | tbx
        "log": {
            "train_loss": True,
            "val_loss": True,
            "metrics": True,
            "lr": True,
            "grad_norm": True,
            "layer_grad_norms": True,
            "histograms": True,  # activation histograms (and weights, see below)
            "weight_histograms": True,
            "throughput": True,
        },
    },
}

STYLES = ("torch", "hf", "lightning", "keras", "tbx")


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` into a copy of ``base`` (dicts merge, everything else replaces)."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def full_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config with every default filled in; unknown keys are an error (typos fail loudly)."""
    _check_keys(merge(DEFAULTS, OPTIONAL), config, "config")
    return merge(DEFAULTS, config)


def _check_keys(ref: Mapping[str, Any], cfg: Mapping[str, Any], where: str) -> None:
    for key, value in cfg.items():
        if key not in ref:
            raise KeyError(f"unknown config key {where}.{key}")
        if isinstance(ref[key], Mapping) and isinstance(value, Mapping):
            _check_keys(ref[key], value, f"{where}.{key}")


# Keys a config may set that ``full_config`` does not fill in (so that configs written before
# they existed stay byte-identical): ``schedule.start_step`` holds the lr constant until that
# optimizer step and starts the schedule (or the plateau scheduler) there.
OPTIONAL: dict[str, Any] = {"schedule": {"start_step": 0}}


def apply_advice(config: Mapping[str, Any], advice: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Return a copy of ``config`` with dlreport advice items (spec ``advice`` entries) applied.

    Items that cannot be applied to this config are skipped; :func:`apply_advice_items` says
    which ones and why.
    """
    return apply_advice_items(config, advice)[0]


def apply_advice_items(
    config: Mapping[str, Any], advice: list[Mapping[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Apply advice items in order; return the new config and one outcome per item.

    An outcome is ``{"item", "applied", "change", "reason"}``: ``change`` says what was set
    (``applied`` true), ``reason`` why the item is *not applicable* to this config (``applied``
    false, nothing changed). How the spec's items map onto the config:

    - ``learning_rate``: ``factor`` multiplies the configured (base, peak) lr; without a factor
      ``value`` is the new lr. (``value`` is computed by dlreport from the *logged* lr; the
      factor is applied to the config, which is what a person would edit.)
    - ``lr_schedule``: ``warmup`` adds ``warmup_steps`` to whatever schedule is there (it
      combines with every schedule); ``cosine`` / ``step`` / ``exponential`` /
      ``reduce_on_plateau`` replace the schedule, taking ``gamma``, ``step_size``,
      ``patience``, ``factor`` (``gamma`` is the plateau factor when there is no ``factor``)
      and ``start_step``; ``disable`` removes the schedule.
    - ``optimizer``: the name, plus ``momentum``, ``betas``, ``rho``.
    - ``momentum``: SGD momentum; Adam's beta1; plain SGD with a positive momentum becomes
      ``sgd_momentum``; RMSprop (run without momentum) is not applicable.
    - ``gradient_clipping``: ``value`` the max global norm (1.0 without one); ``disable``.
    - ``weight_decay``: ``value``, else the current value times ``factor`` (1e-4 from zero).
    - ``early_stopping``: ``value`` the step to stop at; without one, patience 5 evaluations.
    - ``batch_size``: ``factor`` or ``value``.
    - ``architecture``: ``normalization`` -> LayerNorm, ``residual`` -> skip connections
      (needs >= 2 hidden layers), ``activation`` -> ReLU becomes LeakyReLU, tanh / sigmoid
      become ReLU (MLPs only: not applicable to RNNs); ``initialization`` -> Kaiming (ReLU
      family) or Xavier (tanh / sigmoid) for MLPs, orthogonal for RNNs, at gain 1 with zero
      hidden biases (MLPs; the RNN biases keep torch's init). On a tanh / ReLU RNN,
      ``normalization`` -> a layer-normalised RNN (LayerNorm on the summed inputs before the
      nonlinearity, Ba et al. 2016); not applicable to LSTM / GRU cells.

    Steps in advice are logged steps. The Keras layout has two axes: the ``epoch_*`` series
    are logged per epoch (0-based), ``evaluation_*_vs_iterations`` per optimizer step, and
    dlreport's advice may use either. A Keras step value ``v`` is therefore read as an epoch
    when ``v <= epochs`` (position ``e`` -> optimizer step ``(e + 1) * steps_per_epoch``, a
    count ``n`` -> ``n * steps_per_epoch``), else as optimizer steps; ``change`` says which.
    """
    cfg = full_config(config)
    keras = cfg["writer"]["style"] == "keras"
    spe = _steps_per_epoch(cfg) if keras else 1
    epochs = int(cfg["epochs"]) if keras else 0
    outcomes = []
    for item in advice:
        before = copy.deepcopy(cfg)
        try:
            change = _apply_item(cfg, item, spe, epochs)
        except _NotApplicable as why:
            cfg = before
            outcomes.append(
                {"item": dict(item), "applied": False, "change": None, "reason": str(why)}
            )
            continue
        outcomes.append({"item": dict(item), "applied": True, "change": change, "reason": None})
    return cfg, outcomes


class _NotApplicable(Exception):
    """The advice item cannot be expressed in this config."""


def _steps_per_epoch(cfg: Mapping[str, Any]) -> int:
    data = load_data(cfg["dataset"], int(cfg["seed"]))
    return math.ceil(len(data.y_train) / int(cfg["batch_size"]))


def _num(item: Mapping[str, Any], key: str) -> float | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _NotApplicable(f"{key} {value!r} is not a number")
    if not math.isfinite(value):
        raise _NotApplicable(f"{key} {value!r} is not finite")
    return float(value)


def _apply_item(cfg: dict[str, Any], item: Mapping[str, Any], spe: int, epochs: int) -> str:
    """Apply one advice item to ``cfg`` in place; return what changed.

    ``spe`` / ``epochs``: steps per epoch and epochs of a Keras-layout run (1 / 0 otherwise).
    """
    param, action = item.get("parameter"), item.get("action")
    value, factor = item.get("value"), _num(item, "factor")

    units: list[str] = []  # how Keras step values were read

    def position(step: Any) -> int:  # a logged step -> the optimizer step to act at
        if isinstance(step, bool) or not isinstance(step, int | float):
            raise _NotApplicable(f"step {step!r} is not a number")
        if epochs and step <= epochs:
            units.append(f"{step:g} read as epoch")
            return int((int(step) + 1) * spe)
        if epochs:
            units.append(f"{step:g} > {epochs} epochs, read as optimizer step")
        return int(step)

    def duration(n: Any) -> int:  # a number of logged steps -> optimizer steps
        if isinstance(n, bool) or not isinstance(n, int | float):
            raise _NotApplicable(f"step count {n!r} is not a number")
        if epochs and n <= epochs:
            units.append(f"{n:g} read as epochs")
            return max(1, round(float(n) * spe))
        if epochs:
            units.append(f"{n:g} > {epochs} epochs, read as optimizer steps")
        return max(1, round(float(n)))

    change = _apply_param(cfg, item, param, action, value, factor, position, duration)
    return change + (f" ({'; '.join(units)})" if units else "")


def _apply_param(
    cfg: dict[str, Any],
    item: Mapping[str, Any],
    param: Any,
    action: Any,
    value: Any,
    factor: float | None,
    position: Callable[[Any], int],
    duration: Callable[[Any], int],
) -> str:
    opt, sched, model = cfg["optimizer"], cfg["schedule"], cfg["model"]

    if param == "learning_rate":
        old = float(opt["lr"])
        if action in ("decrease", "increase") and factor is not None:
            opt["lr"] = float(f"{old * factor:.6g}")
        elif _num(item, "value") is not None and action in ("decrease", "increase", "set"):
            opt["lr"] = float(value)
        else:
            raise _NotApplicable(f"learning_rate {action} without factor or value")
        return f"lr {old:g} -> {opt['lr']:g}"

    if param == "lr_schedule":
        if action == "disable":
            sched.update(name="none", warmup_steps=0)
            sched.pop("start_step", None)
            return "schedule none"
        if action != "set":
            raise _NotApplicable(f"lr_schedule action {action!r}")
        notes = []
        if "warmup_steps" in item and item["warmup_steps"] is not None:
            sched["warmup_steps"] = duration(item["warmup_steps"])
            notes.append(f"warmup {sched['warmup_steps']} steps")
        if value == "warmup":
            if "warmup_steps" not in item or item["warmup_steps"] is None:
                sched["warmup_steps"] = sched["warmup_steps"] or 100
                notes.append(f"warmup {sched['warmup_steps']} steps (default)")
            if sched["name"] == "none":
                sched["name"] = "warmup"
            return ", ".join(notes)
        if value not in ("cosine", "step", "exponential", "reduce_on_plateau"):
            raise _NotApplicable(f"lr_schedule value {value!r}")
        sched["name"] = value
        notes.insert(0, f"schedule {value}")
        if value == "reduce_on_plateau":
            plateau_factor = _num(item, "factor") or _num(item, "gamma")
            if plateau_factor is not None:
                sched["factor"] = plateau_factor
            if item.get("patience") is not None:
                sched["patience"] = int(item["patience"])
            notes.append(f"factor {sched['factor']:g}, patience {sched['patience']} evals")
        elif value == "exponential" and _num(item, "gamma") is not None:
            sched["gamma"] = float(item["gamma"])  # per logged (= optimizer) step
            notes.append(f"gamma {sched['gamma']:.6g}/step")
        elif value == "step":
            if _num(item, "gamma") is not None:
                sched["gamma"] = float(item["gamma"])
            if item.get("step_size") is not None:
                sched["step_size"] = duration(item["step_size"])
            notes.append(f"x{sched['gamma']:g} every {sched['step_size']} steps")
        if item.get("start_step") is not None:
            sched["start_step"] = position(item["start_step"])
            notes.append(f"from step {sched['start_step']}")
        return ", ".join(notes)

    if param == "optimizer":
        if action != "set" or value not in ("sgd", "sgd_momentum", "adam", "adamw", "rmsprop"):
            raise _NotApplicable(f"optimizer {action} {value!r}")
        old = opt["name"]
        opt["name"] = value
        notes = [f"optimizer {old} -> {value}"]
        for key in ("momentum", "betas", "rho"):
            if item.get(key) is not None:
                opt[key] = list(item[key]) if key == "betas" else float(item[key])
                notes.append(f"{key} {opt[key]}")
        return ", ".join(notes)

    if param == "momentum":
        name = opt["name"]
        if name == "rmsprop":
            raise _NotApplicable("RMSprop runs without momentum here")
        current = opt["betas"][0] if name in ("adam", "adamw") else opt["momentum"]
        if name == "sgd":
            current = 0.0
        if factor is not None and action in ("decrease", "increase"):
            new = current * factor
        elif _num(item, "value") is not None:
            new = float(value)
        else:
            raise _NotApplicable(f"momentum {action} without factor or value")
        new = min(new, 0.999)
        if name in ("adam", "adamw"):
            opt["betas"] = [new, opt["betas"][1]]
            return f"beta1 {current:g} -> {new:g}"
        if name == "sgd":
            if new <= 0:
                raise _NotApplicable("plain SGD has no momentum to lower")
            opt["name"] = "sgd_momentum"
        opt["momentum"] = new
        return f"momentum {current:g} -> {new:g}"

    if param == "gradient_clipping":
        if action == "disable":
            cfg["grad_clip"] = None
            return "no clipping"
        norm = _num(item, "value")
        if norm is not None and norm <= 0:
            raise _NotApplicable(f"clipping norm {norm}")
        cfg["grad_clip"] = norm if norm is not None else 1.0
        return f"clip at {cfg['grad_clip']:g}"

    if param == "weight_decay":
        old = float(opt["weight_decay"])
        if action == "disable":
            opt["weight_decay"] = 0.0
        elif _num(item, "value") is not None:
            opt["weight_decay"] = float(value)
        elif factor is not None:
            opt["weight_decay"] = old * factor if old > 0 else 1e-4
        else:
            raise _NotApplicable(f"weight_decay {action} without factor or value")
        return f"weight decay {old:g} -> {opt['weight_decay']:g}"

    if param == "early_stopping":
        es = cfg["early_stopping"]
        if action == "disable":
            es.update(stop_at_step=None, patience=None)
            return "no early stopping"
        if value is not None:
            es["stop_at_step"] = position(value)
            return f"stop at step {es['stop_at_step']}"
        es["patience"] = 5
        return "early stopping, patience 5 evals"

    if param == "batch_size":
        old = int(cfg["batch_size"])
        if factor is not None:
            cfg["batch_size"] = max(1, round(old * factor))
        elif _num(item, "value") is not None:
            cfg["batch_size"] = max(1, int(value))
        else:
            raise _NotApplicable(f"batch_size {action} without factor or value")
        return f"batch size {old} -> {cfg['batch_size']}"

    if param == "architecture":
        if model["kind"] == "rnn" and value == "initialization":
            model.update(init="orthogonal", init_gain=1.0, bias_init=0.0)
            return "init orthogonal, gain 1 (biases as initialised)"
        if model["kind"] == "rnn" and value == "normalization":
            if model["cell"] not in ("rnn_tanh", "rnn_relu"):
                raise _NotApplicable(f"normalization on a {model['cell']} (simple RNNs only)")
            if model["normalization"] != "none":
                raise _NotApplicable(f"already normalised ({model['normalization']})")
            model["normalization"] = "layernorm"
            return "layer-normalised RNN (LayerNorm on the summed inputs)"
        if model["kind"] != "mlp":
            raise _NotApplicable(f"architecture {value!r} on an RNN (MLPs only here)")
        if value == "normalization":
            if model["normalization"] != "none":
                raise _NotApplicable(f"already normalised ({model['normalization']})")
            model["normalization"] = "layernorm"
            return "LayerNorm"
        if value == "residual":
            if model["residual"]:
                raise _NotApplicable("already residual")
            if model["depth"] < 2:
                raise _NotApplicable("one hidden layer: nothing to skip")
            model["residual"] = True
            return "residual connections"
        if value == "activation":
            act = model["activation"]
            new = {"relu": "leaky_relu", "tanh": "relu", "sigmoid": "relu"}.get(act)
            if new is None:
                raise _NotApplicable(f"activation {act} has no standard replacement")
            model["activation"] = new
            return f"activation {act} -> {new}"
        if value == "initialization":
            relu_like = model["activation"] in ("relu", "leaky_relu", "gelu")
            model.update(init="kaiming" if relu_like else "xavier", init_gain=1.0, bias_init=0.0)
            return f"init {model['init']}, gain 1, zero biases"
        raise _NotApplicable(f"architecture value {value!r}")

    raise _NotApplicable(f"unknown parameter {param!r}")


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


class Data:
    """Train/validation arrays (already standardised) and what the model needs to know."""

    def __init__(
        self, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray
    ) -> None:
        self.x_train = torch.tensor(x_train, dtype=torch.float32)
        self.y_train = torch.tensor(y_train, dtype=torch.long)
        self.x_val = torch.tensor(x_val, dtype=torch.float32)
        self.y_val = torch.tensor(y_val, dtype=torch.long)
        self.n_classes = int(max(y_train.max(), y_val.max()) + 1)
        self.n_features = int(x_train.shape[-1])


def load_data(ds: Mapping[str, Any], seed: int) -> Data:
    """Build the dataset from what ships inside scikit-learn, or generate it; nothing downloads."""
    from sklearn import datasets

    rng = np.random.default_rng([seed, 0])
    name = ds["name"]
    if name == "digits":
        x, y = datasets.load_digits(return_X_y=True)
    elif name == "breast_cancer":
        x, y = datasets.load_breast_cancer(return_X_y=True)
    elif name == "wine":
        x, y = datasets.load_wine(return_X_y=True)
    elif name == "iris":
        x, y = datasets.load_iris(return_X_y=True)
    elif name == "moons":
        x, y = datasets.make_moons(ds["n_samples"], noise=ds["noise"], random_state=seed)
    elif name == "classification":
        x, y = datasets.make_classification(
            n_samples=ds["n_samples"],
            n_features=ds["n_features"],
            n_informative=ds["n_informative"],
            n_redundant=0,
            n_classes=ds["n_classes"],
            class_sep=ds["class_sep"],
            random_state=seed,
        )
    elif name == "sequence":
        x, y = _sequence_task(ds, rng)
    else:
        raise ValueError(f"unknown dataset {name!r}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    order = rng.permutation(len(y))
    n_val = round(len(y) * ds["val_fraction"])
    val_idx, train_idx = order[:n_val], order[n_val:]
    if ds["train_size"] is not None:
        train_idx = train_idx[: ds["train_size"]]
    if ds["val_size"] is not None:
        val_idx = val_idx[: ds["val_size"]]
    x_train, y_train = x[train_idx], y[train_idx].copy()
    x_val, y_val = x[val_idx], y[val_idx]
    if name != "sequence" and ds["standardize"]:
        mean, std = x_train.mean(axis=0), x_train.std(axis=0)
        std[std < 1e-6] = 1.0  # features constant in the training set stay as they are
        x_train, x_val = (x_train - mean) / std, (x_val - mean) / std
    n_classes = int(y.max() + 1)
    if ds["label_noise"] > 0:
        flip = rng.random(len(y_train)) < ds["label_noise"]
        shift = rng.integers(1, n_classes, size=len(y_train))
        y_train[flip] = (y_train[flip] + shift[flip]) % n_classes
    return Data(x_train, y_train, x_val, y_val)


def _sequence_task(ds: Mapping[str, Any], rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Binary task on Gaussian sequences: the sign of the sum of a few tokens at start or end."""
    n, length, window = ds["n_samples"], ds["seq_len"], ds["seq_window"]
    x = rng.standard_normal((n, length, 1))
    part = x[:, :window, 0] if ds["seq_position"] == "start" else x[:, -window:, 0]
    return x, (part.sum(axis=1) > 0).astype(np.int64)


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


class MLP(nn.Module):
    """Hidden blocks ``layers.i`` (Linear -> norm -> activation -> dropout), head ``head``."""

    def __init__(self, n_in: int, n_out: int, m: Mapping[str, Any]) -> None:
        super().__init__()
        width, depth = m["width"], m["depth"]
        self.residual = bool(m["residual"])
        self.layers = nn.ModuleList(
            nn.Linear(n_in if i == 0 else width, width) for i in range(depth)
        )
        norm = {"none": nn.Identity, "batchnorm": nn.BatchNorm1d, "layernorm": nn.LayerNorm}
        make_norm = norm[m["normalization"]]
        self.norms = nn.ModuleList(
            make_norm(width) if make_norm is not nn.Identity else nn.Identity()
            for _ in range(depth)
        )
        self.act = ACTIVATIONS[m["activation"]]()
        self.drop = nn.Dropout(m["dropout"])
        self.head = nn.Linear(width if depth else n_in, n_out)

    def forward(self, x: torch.Tensor, keep: list[torch.Tensor] | None = None) -> torch.Tensor:
        h = x
        for i, (layer, norm) in enumerate(zip(self.layers, self.norms, strict=True)):
            out = self.act(norm(layer(h)))
            if keep is not None:
                keep.append(out.detach())
            out = self.drop(out)
            h = h + out if self.residual and i > 0 else out
        return self.head(h)

    def layer_groups(self) -> dict[str, list[nn.Parameter]]:
        groups = {f"layers.{i}": list(layer.parameters()) for i, layer in enumerate(self.layers)}
        groups["head"] = list(self.head.parameters())
        return groups

    def hidden_names(self) -> list[str]:
        return [f"layers.{i}" for i in range(len(self.layers))]


class RNNClassifier(nn.Module):
    """A recurrent encoder ``rnn`` (last hidden state) and a linear head ``head``."""

    def __init__(self, n_in: int, n_out: int, m: Mapping[str, Any]) -> None:
        super().__init__()
        cell = m["cell"]
        kwargs = {"input_size": n_in, "hidden_size": m["width"], "num_layers": m["depth"]}
        if cell in ("rnn_tanh", "rnn_relu"):
            self.rnn: nn.Module = nn.RNN(
                **kwargs, nonlinearity=cell.removeprefix("rnn_"), batch_first=True
            )
        elif cell == "lstm":
            self.rnn = nn.LSTM(**kwargs, batch_first=True)
        elif cell == "gru":
            self.rnn = nn.GRU(**kwargs, batch_first=True)
        else:
            raise ValueError(f"unknown rnn cell {cell!r}")
        # normalization "layernorm" (rnn_tanh / rnn_relu only): a layer-normalised RNN (Ba et
        # al. 2016), LayerNorm over the summed inputs W_ih x_t + W_hh h_(t-1) + b before the
        # nonlinearity, unrolled in Python with the nn.RNN's own weights (same init and RNG
        # draws as without it; LayerNorm starts at weight 1, bias 0 and draws nothing).
        self.ln: nn.ModuleList | None = None
        if m["normalization"] == "layernorm":
            if cell not in ("rnn_tanh", "rnn_relu"):
                raise ValueError(f"layernorm is implemented for rnn_tanh / rnn_relu, not {cell}")
            self.ln = nn.ModuleList(nn.LayerNorm(m["width"]) for _ in range(m["depth"]))
            self.nonlin = torch.tanh if cell == "rnn_tanh" else torch.relu
        elif m["normalization"] != "none":
            raise ValueError(f"normalization {m['normalization']!r} on an RNN")
        self.head = nn.Linear(m["width"], n_out)
        self.depth = m["depth"]

    def _ln_rnn(self, x: torch.Tensor) -> torch.Tensor:
        assert self.ln is not None
        seq = x
        for layer, norm in enumerate(self.ln):
            w_ih = getattr(self.rnn, f"weight_ih_l{layer}")
            w_hh = getattr(self.rnn, f"weight_hh_l{layer}")
            bias = getattr(self.rnn, f"bias_ih_l{layer}") + getattr(self.rnn, f"bias_hh_l{layer}")
            inputs = seq @ w_ih.T + bias  # (batch, time, width)
            h = x.new_zeros(x.shape[0], w_hh.shape[0])
            outs = []
            for t in range(inputs.shape[1]):
                h = self.nonlin(norm(inputs[:, t] + h @ w_hh.T))
                outs.append(h)
            seq = torch.stack(outs, dim=1)
        return seq

    def forward(self, x: torch.Tensor, keep: list[torch.Tensor] | None = None) -> torch.Tensor:
        out = self._ln_rnn(x) if self.ln is not None else self.rnn(x)[0]
        last = out[:, -1]
        if keep is not None:
            keep.append(last.detach())
        return self.head(last)

    def layer_groups(self) -> dict[str, list[nn.Parameter]]:
        groups: dict[str, list[nn.Parameter]] = {}
        for name, param in self.rnn.named_parameters():
            _kind, which, layer = name.split("_")  # weight_ih_l0 -> weight, ih, l0
            groups.setdefault(f"rnn.{which}_{layer}", []).append(param)
        if self.ln is not None:
            for layer, norm in enumerate(self.ln):
                groups.setdefault(f"rnn.hh_l{layer}", []).extend(norm.parameters())
        groups["head"] = list(self.head.parameters())
        return groups

    def hidden_names(self) -> list[str]:
        return ["rnn"]


def build_model(data: Data, m: Mapping[str, Any]) -> MLP | RNNClassifier:
    model: MLP | RNNClassifier
    if m["kind"] == "mlp":
        model = MLP(data.n_features, data.n_classes, m)
    elif m["kind"] == "rnn":
        model = RNNClassifier(data.n_features, data.n_classes, m)
    else:
        raise ValueError(f"unknown model kind {m['kind']!r}")
    _initialise(model, m)
    return model


def _initialise(model: nn.Module, m: Mapping[str, Any]) -> None:
    init, gain = m["init"], float(m["init_gain"])
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.dim() >= 2:  # weight matrices
                if init == "xavier":
                    nn.init.xavier_uniform_(param)
                elif init == "kaiming":
                    nn.init.kaiming_normal_(param, nonlinearity="relu")
                elif init == "normal":
                    nn.init.normal_(param, std=float(m["init_std"]))
                elif init == "orthogonal":
                    nn.init.orthogonal_(param)
                elif init != "default":
                    raise ValueError(f"unknown init {init!r}")
                param.mul_(gain)
            elif (
                name.endswith("bias")
                and not name.startswith(("head", "norms"))
                and m["bias_init"] is not None
            ):
                param.fill_(float(m["bias_init"]))


def build_optimizer(params: list[nn.Parameter], o: Mapping[str, Any]) -> torch.optim.Optimizer:
    name, lr, wd = o["name"], float(o["lr"]), float(o["weight_decay"])
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=wd)
    if name == "sgd_momentum":
        return torch.optim.SGD(
            params, lr=lr, momentum=o["momentum"], nesterov=o["nesterov"], weight_decay=wd
        )
    if name in ("adam", "adamw"):
        cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        return cls(params, lr=lr, betas=tuple(o["betas"]), eps=o["eps"], weight_decay=wd)
    if name == "rmsprop":
        return torch.optim.RMSprop(
            params, lr=lr, alpha=o["rho"], eps=o["eps"], weight_decay=wd, momentum=0.0
        )
    raise ValueError(f"unknown optimizer {name!r}")


def lr_factor(step: int, total: int, s: Mapping[str, Any]) -> float:
    """Multiplier of the initial lr after ``step`` optimizer steps (not for reduce_on_plateau)."""
    warm = int(s["warmup_steps"])
    if warm and step < warm:
        return (step + 1) / warm
    begin = max(warm, int(s.get("start_step") or 0))  # the schedule starts here
    name, after = s["name"], step - begin
    if name in ("none", "warmup", "reduce_on_plateau") or after < 0:
        return 1.0
    if name == "step":
        return float(s["gamma"]) ** (after // int(s["step_size"]))
    if name == "exponential":
        return float(s["gamma"]) ** after
    if name == "cosine":
        span = max(1, total - begin)
        low = float(s["eta_min_factor"])
        return low + (1 - low) * 0.5 * (1 + math.cos(math.pi * min(after, span) / span))
    raise ValueError(f"unknown schedule {name!r}")


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepLog:
    """What the training loop knows after a logging window of optimizer steps."""

    step: int
    epoch: float
    loss: float  # the last step's loss
    mean_loss: float  # mean over the window (HF semantics)
    lr: float
    grad_norm: float  # global norm before clipping
    layer_norms: dict[str, float]
    param_norms: dict[str, float]
    samples_per_sec: float


class Writer:
    """Base: a style overrides the hooks it uses. ``flags`` are config.writer.log."""

    def __init__(self, logdir: Path, flags: Mapping[str, bool], opt_name: str) -> None:
        self.logdir, self.flags, self.opt_name = logdir, flags, opt_name

    def train_step(self, s: StepLog) -> None: ...

    def evaluation(self, step: int, epoch: float, m: Mapping[str, float]) -> None: ...

    def epoch_end(
        self,
        epoch: int,
        step: int,
        train: Mapping[str, float],
        val: Mapping[str, float],
        lr: float,
        steps_per_sec: float,
    ) -> None: ...

    def histograms(
        self, step: int, acts: Mapping[str, np.ndarray], weights: Mapping[str, np.ndarray]
    ) -> None: ...

    def finish(self, step: int, summary: Mapping[str, float]) -> None: ...

    def close(self) -> None: ...


class TorchWriter(Writer):
    """Plain PyTorch loop with torch.utils.tensorboard; a style is its table of tag names."""

    TAGS: Mapping[str, str] = {
        "train_loss": "Loss/train",
        "lr": "lr",
        "grad_norm": "grad_norm",
        "layer": "grad_norm/{}",
        "throughput": "throughput/samples_per_sec",
        "val_loss": "Loss/val",
    }
    METRICS: Mapping[str, str] = {"accuracy": "Accuracy/val"}  # metric -> tag, in this order

    def __init__(self, logdir: Path, flags: Mapping[str, bool], opt_name: str) -> None:
        super().__init__(logdir, flags, opt_name)
        self.w = self._summary_writer(logdir)

    @staticmethod
    def _summary_writer(logdir: Path) -> Any:
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter(log_dir=str(logdir))

    def train_step(self, s: StepLog) -> None:
        f, w, t = self.flags, self.w, self.TAGS
        if f["train_loss"]:
            w.add_scalar(t["train_loss"], s.loss, s.step)
        if f["lr"]:
            w.add_scalar(t["lr"], s.lr, s.step)
        if f["grad_norm"]:
            w.add_scalar(t["grad_norm"], s.grad_norm, s.step)
        if f["layer_grad_norms"]:
            for name, value in s.layer_norms.items():
                w.add_scalar(t["layer"].format(name), value, s.step)
        if f["throughput"]:
            w.add_scalar(t["throughput"], s.samples_per_sec, s.step)

    def evaluation(self, step: int, epoch: float, m: Mapping[str, float]) -> None:
        if self.flags["val_loss"]:
            self.w.add_scalar(self.TAGS["val_loss"], m["loss"], step)
        if self.flags["metrics"]:
            for metric, tag in self.METRICS.items():
                self.w.add_scalar(tag, m[metric], step)

    def histograms(
        self, step: int, acts: Mapping[str, np.ndarray], weights: Mapping[str, np.ndarray]
    ) -> None:
        for name, value in weights.items():
            self.w.add_histogram(f"weights/{name}", value, step)
        for name, value in acts.items():
            self.w.add_histogram(f"activations/{name}", value, step)

    def close(self) -> None:
        self.w.close()


class HFWriter(TorchWriter):
    """Hugging Face Trainer's TensorBoardCallback names (torch SummaryWriter underneath)."""

    def train_step(self, s: StepLog) -> None:
        f, w = self.flags, self.w
        if f["train_loss"]:
            w.add_scalar("train/loss", s.mean_loss, s.step)
        if f["grad_norm"]:
            w.add_scalar("train/grad_norm", s.grad_norm, s.step)
        if f["lr"]:
            w.add_scalar("train/learning_rate", s.lr, s.step)
        w.add_scalar("train/epoch", s.epoch, s.step)
        if f["throughput"]:
            w.add_scalar("train/samples_per_second", s.samples_per_sec, s.step)

    def evaluation(self, step: int, epoch: float, m: Mapping[str, float]) -> None:
        if self.flags["val_loss"]:
            self.w.add_scalar("eval/loss", m["loss"], step)
        if self.flags["metrics"]:
            self.w.add_scalar("eval/accuracy", m["accuracy"], step)
            self.w.add_scalar("eval/f1", m["f1"], step)
        self.w.add_scalar("eval/runtime", m["runtime"], step)
        self.w.add_scalar("eval/samples_per_second", m["eval_samples_per_sec"], step)
        self.w.add_scalar("train/epoch", epoch, step)

    def histograms(
        self, step: int, acts: Mapping[str, np.ndarray], weights: Mapping[str, np.ndarray]
    ) -> None:
        return  # the HF Trainer logs no histograms

    def finish(self, step: int, summary: Mapping[str, float]) -> None:
        self.w.add_scalar("train/train_runtime", summary["train_runtime"], step)
        self.w.add_scalar("train/train_samples_per_second", summary["samples_per_sec"], step)
        if self.flags["train_loss"]:
            self.w.add_scalar("train/train_loss", summary["mean_train_loss"], step)
        self.w.add_scalar("train/total_flos", 0.0, step)


class LightningWriter(TorchWriter):
    """PyTorch Lightning TensorBoardLogger + LearningRateMonitor + grad_norm() names."""

    def __init__(self, logdir: Path, flags: Mapping[str, bool], opt_name: str) -> None:
        super().__init__(logdir / "lightning_logs" / "version_0", flags, opt_name)
        lr_names = {
            "sgd": "SGD",
            "sgd_momentum": "SGD",
            "adam": "Adam",
            "adamw": "AdamW",
            "rmsprop": "RMSprop",
        }
        self.lr_tag = f"lr-{lr_names[opt_name]}"

    def log_hparams(self, hparams: Mapping[str, Any]) -> None:
        from torch.utils.tensorboard.summary import hparams as hp_summary

        flat = {k: v for k, v in hparams.items() if isinstance(v, (int, float, str, bool))}
        exp, ssi, sei = hp_summary(flat, {"hp_metric": -1})
        file_writer = self.w._get_file_writer()
        for summary in (exp, ssi, sei):
            file_writer.add_summary(summary)
        self.w.add_scalar("hp_metric", -1, 0)
        lines = [f"{k}: {json.dumps(v)}" for k, v in hparams.items()]
        (self.logdir / "hparams.yaml").write_text("\n".join(lines) + "\n")

    def train_step(self, s: StepLog) -> None:
        f, w = self.flags, self.w
        if f["lr"]:
            w.add_scalar(self.lr_tag, s.lr, s.step)
        if f["grad_norm"]:
            if f["layer_grad_norms"]:
                for name, value in s.param_norms.items():
                    w.add_scalar(f"grad_2.0_norm/{name}", value, s.step)
            w.add_scalar("grad_2.0_norm_total", s.grad_norm, s.step)
        if f["train_loss"]:
            w.add_scalar("train_loss", s.loss, s.step)
        w.add_scalar("epoch", math.floor(s.epoch), s.step)
        if f["throughput"]:
            w.add_scalar("train/samples_per_sec", s.samples_per_sec, s.step)

    def evaluation(self, step: int, epoch: float, m: Mapping[str, float]) -> None:
        if self.flags["val_loss"]:
            self.w.add_scalar("val_loss", m["loss"], step)
        if self.flags["metrics"]:
            self.w.add_scalar("val_acc", m["accuracy"], step)
        self.w.add_scalar("epoch", math.floor(epoch), step)

    def histograms(
        self, step: int, acts: Mapping[str, np.ndarray], weights: Mapping[str, np.ndarray]
    ) -> None:
        for name, value in acts.items():  # a user callback logging activations
            self.w.add_histogram(f"activations/{name}", value, step)


class TBXWriter(TorchWriter):
    """A hand-written loop with tensorboardX.SummaryWriter, under its own tag names."""

    TAGS: Mapping[str, str] = {
        "train_loss": "loss/train",
        "lr": "learning_rate",
        "grad_norm": "grad/norm",
        "layer": "grad/{}",
        "throughput": "perf/samples_per_sec",
        "val_loss": "loss/val",
    }
    METRICS: Mapping[str, str] = {
        "precision": "metrics/precision",
        "recall": "metrics/recall",
        "accuracy": "metrics/accuracy",
    }

    @staticmethod
    def _summary_writer(logdir: Path) -> Any:
        import tensorboardX

        return tensorboardX.SummaryWriter(logdir=str(logdir))


class KerasWriter(Writer):
    """tf.keras.callbacks.TensorBoard layout: train/ and validation/ writers, TF2 tensor scalars.

    Scalars are written the way TF2 writes them: ``Summary.Value.tensor`` (DT_FLOAT, shape [],
    4-byte ``tensor_content``) with plugin ``scalars`` metadata, through tensorboardX's event
    file writer, into files ending in ``.v2``.
    """

    def __init__(self, logdir: Path, flags: Mapping[str, bool], opt_name: str) -> None:
        import tensorboardX

        super().__init__(logdir, flags, opt_name)
        self.train_w = tensorboardX.SummaryWriter(
            logdir=str(logdir / "train"), filename_suffix=".v2"
        )
        self.val_w = tensorboardX.SummaryWriter(
            logdir=str(logdir / "validation"), filename_suffix=".v2"
        )

    @staticmethod
    def _scalar(writer: Any, tag: str, value: float, step: int) -> None:
        from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
        from tensorboardX.proto.tensor_pb2 import TensorProto
        from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto

        tensor = TensorProto(
            dtype="DT_FLOAT",
            tensor_shape=TensorShapeProto(),
            tensor_content=struct.pack("<f", float(value)),
        )
        meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))
        summary = Summary(value=[Summary.Value(tag=tag, tensor=tensor, metadata=meta)])
        writer._get_file_writer().add_summary(summary, step)

    def epoch_end(
        self,
        epoch: int,
        step: int,
        train: Mapping[str, float],
        val: Mapping[str, float],
        lr: float,
        steps_per_sec: float,
    ) -> None:
        f = self.flags
        if f["train_loss"]:
            self._scalar(self.train_w, "epoch_loss", train["loss"], epoch)
        if f["metrics"]:
            self._scalar(self.train_w, "epoch_accuracy", train["accuracy"], epoch)
        if f["lr"]:
            self._scalar(self.train_w, "epoch_learning_rate", lr, epoch)
        if f["throughput"]:
            self._scalar(self.train_w, "epoch_steps_per_second", steps_per_sec, epoch)
        if f["val_loss"]:
            self._scalar(self.val_w, "evaluation_loss_vs_iterations", val["loss"], step)
        if f["metrics"]:
            self._scalar(self.val_w, "evaluation_accuracy_vs_iterations", val["accuracy"], step)
        if f["val_loss"]:
            self._scalar(self.val_w, "epoch_loss", val["loss"], epoch)
        if f["metrics"]:
            self._scalar(self.val_w, "epoch_accuracy", val["accuracy"], epoch)

    def close(self) -> None:
        self.train_w.close()
        self.val_w.close()


WRITERS: dict[str, type[Writer]] = {
    "torch": TorchWriter,
    "hf": HFWriter,
    "lightning": LightningWriter,
    "keras": KerasWriter,
    "tbx": TBXWriter,
}


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


def _metrics(logits: torch.Tensor, y: torch.Tensor, n_classes: int) -> dict[str, float]:
    """Accuracy and macro precision / recall / F1 (classes absent from both count as 0)."""
    pred = logits.argmax(dim=1).numpy()
    true = y.numpy()
    cm = np.bincount(true * n_classes + pred, minlength=n_classes**2).reshape(n_classes, -1)
    tp = np.diag(cm).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.nan_to_num(tp / cm.sum(axis=0))
        recall = np.nan_to_num(tp / cm.sum(axis=1))
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    present = (cm.sum(axis=0) + cm.sum(axis=1)) > 0
    return {
        "accuracy": float(tp.sum() / max(1, cm.sum())),
        "precision": float(precision[present].mean()),
        "recall": float(recall[present].mean()),
        "f1": float(f1[present].mean()),
    }


def _evaluate(model: nn.Module, data: Data, train_mode: bool = False) -> dict[str, float]:
    start = time.perf_counter()
    model.train(train_mode)
    with torch.no_grad():
        logits = model(data.x_val)
        loss = float(nn.functional.cross_entropy(logits, data.y_val))
    model.train()
    out = _metrics(logits, data.y_val, data.n_classes)
    out["loss"] = loss
    runtime = time.perf_counter() - start
    out["runtime"] = runtime
    out["eval_samples_per_sec"] = len(data.y_val) / max(runtime, 1e-9)
    return out


def _probe(model: MLP | RNNClassifier, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Post-activation values of each hidden layer on a fixed batch (eval mode)."""
    keep: list[torch.Tensor] = []
    model.eval()
    with torch.no_grad():
        model(x, keep)
    model.train()
    return {name: t.numpy().ravel() for name, t in zip(model.hidden_names(), keep, strict=True)}


def _dead_fraction(acts: Mapping[str, np.ndarray], x: torch.Tensor) -> float:
    """Share of hidden units that output exactly 0 for every probe example (all layers)."""
    dead = total = 0
    for values in acts.values():
        per_unit = values.reshape(len(x), -1)
        dead += int((np.abs(per_unit) <= 0).all(axis=0).sum())
        total += per_unit.shape[1]
    return dead / max(1, total)


def _batches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def train(config: Mapping[str, Any], logdir: str | os.PathLike[str]) -> dict[str, Any]:
    """Train one model as ``config`` says, log it under ``logdir``; return the final metrics."""
    cfg = full_config(config)
    out_dir = Path(logdir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")

    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # saturated runs must not slow down through subnormals
    torch.use_deterministic_algorithms(True)
    seed = int(cfg["seed"])
    data = load_data(cfg["dataset"], seed)
    torch.manual_seed(seed)
    model = build_model(data, cfg["model"])
    optimizer = build_optimizer(list(model.parameters()), cfg["optimizer"])
    base_lr = float(cfg["optimizer"]["lr"])
    sched = cfg["schedule"]
    plateau = (
        torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=sched["factor"], patience=sched["patience"]
        )
        if sched["name"] == "reduce_on_plateau"
        else None
    )
    # the plateau scheduler waits for the warm-up (and start_step) before it may cut the lr
    plateau_from = max(int(sched["warmup_steps"]), int(sched.get("start_step") or 0))
    order_rng = np.random.default_rng([seed, 1])
    corrupt_rng = np.random.default_rng([seed, 2])

    style = cfg["writer"]["style"]
    writer = WRITERS[style](out_dir, cfg["writer"]["log"], cfg["optimizer"]["name"])
    if isinstance(writer, LightningWriter):
        writer.log_hparams(_flatten(cfg))
    if isinstance(writer, HFWriter):
        writer.w.add_text("args", json.dumps(cfg, sort_keys=True), 0)

    n_train, batch_size = len(data.y_train), int(cfg["batch_size"])
    steps_per_epoch = math.ceil(n_train / batch_size)
    total = steps_per_epoch * int(cfg["epochs"])
    if cfg["max_steps"] is not None:
        total = min(total, int(cfg["max_steps"])) if cfg["epochs"] else int(cfg["max_steps"])
    stop_at = cfg["early_stopping"]["stop_at_step"]
    patience = cfg["early_stopping"]["patience"]
    slow_after = cfg["slowdown"]["after_fraction"]
    slow_from = math.inf if slow_after is None else slow_after * total
    corrupt = cfg["corrupt"]
    corrupt_from = corrupt["start_fraction"] * total
    groups = model.layer_groups()
    probe_x = data.x_val[:256]
    flags = cfg["writer"]["log"]
    want_hist = bool(cfg["hist_every"]) and flags["histograms"] and style != "keras"
    log_every, eval_every = int(cfg["log_every"]), int(cfg["eval_every"])

    step, epoch, stop_reason = 0, 0, "completed"
    best_val, best_step, bad_evals = math.inf, 0, 0
    window_losses: list[float] = []
    window_time, window_samples = 0.0, 0
    all_losses: list[float] = []
    corrupted_steps: list[int] = []
    last_eval: dict[str, float] = {}
    train_start = time.perf_counter()
    hist_steps = 0

    def log_histograms(at: int) -> None:
        nonlocal hist_steps
        acts = _probe(model, probe_x)
        weights = (
            {n: ps[0].detach().numpy().ravel() for n, ps in groups.items()}
            if flags["weight_histograms"]
            else {}
        )
        # a histogram of non-finite values cannot be written: log the finite part only
        acts = {n: v[np.isfinite(v)] for n, v in acts.items() if np.isfinite(v).any()}
        weights = {n: v[np.isfinite(v)] for n, v in weights.items() if np.isfinite(v).any()}
        writer.histograms(at, acts, weights)
        hist_steps += 1

    def evaluate(at: int) -> bool:
        """Evaluate, log, step the plateau scheduler; True if early stopping says stop."""
        nonlocal best_val, best_step, bad_evals, last_eval
        last_eval = _evaluate(model, data, bool(cfg["eval_train_mode"]))
        if style != "keras":
            writer.evaluation(at, at / steps_per_epoch, last_eval)
        val = last_eval["loss"]
        if plateau is not None and math.isfinite(val) and at >= plateau_from:
            plateau.step(val)
        if val < best_val - float(cfg["early_stopping"]["min_delta"]):
            best_val, best_step, bad_evals = val, at, 0
        else:
            bad_evals += 1
        return patience is not None and bad_evals > int(patience)

    for group in optimizer.param_groups:  # (with a plateau scheduler lr_factor is the warm-up)
        group["lr"] = base_lr * lr_factor(0, total, sched)
    if want_hist:
        log_histograms(0)
    running = True
    while running and step < total:
        epoch_losses: list[float] = []
        epoch_correct, epoch_seen = 0, 0
        epoch_time = 0.0
        epoch_steps = 0
        for idx in _batches(n_train, batch_size, order_rng):
            if step >= total:
                break
            t0 = time.thread_time()
            xb, yb = data.x_train[idx], data.y_train[idx]
            if (
                step >= corrupt_from
                and corrupt["prob"] > 0
                and corrupt_rng.random() < corrupt["prob"]
            ):
                corrupted_steps.append(step + 1)
                if corrupt["kind"] == "labels":  # every label moved to a different class
                    shift = torch.tensor(corrupt_rng.integers(1, data.n_classes, len(yb)))
                    yb = (yb + shift) % data.n_classes
                else:
                    xb = xb * float(corrupt["scale"])
            logits = model(xb)
            loss = nn.functional.cross_entropy(logits, yb)
            loss_value = float(loss.detach())
            optimizer.zero_grad(set_to_none=True)
            finite = math.isfinite(loss_value)
            if finite:
                loss.backward()
            want_log = (step + 1) % log_every == 0
            layer_norms: dict[str, float] = {}
            param_norms: dict[str, float] = {}
            if want_log and finite:
                for name, params in groups.items():
                    sq = sum(float(p.grad.pow(2).sum()) for p in params if p.grad is not None)
                    layer_norms[name] = math.sqrt(sq)
                for name, p in model.named_parameters():
                    if p.grad is not None:
                        param_norms[name] = float(p.grad.norm())
            max_norm = cfg["grad_clip"] if cfg["grad_clip"] is not None else math.inf
            grad_norm = (
                float(nn.utils.clip_grad_norm_(model.parameters(), max_norm))
                if finite
                else math.nan
            )
            if finite:
                optimizer.step()
            step += 1
            epoch_steps += 1
            if plateau is None or step <= int(sched["warmup_steps"]):
                for group in optimizer.param_groups:
                    group["lr"] = base_lr * lr_factor(step, total, sched)
            # Step time = this thread's CPU time + the injected sleep: time the process spent
            # descheduled by other load on a shared machine must not look like a slowdown.
            elapsed = time.thread_time() - t0
            if step > slow_from:
                s0 = time.perf_counter()
                time.sleep(float(cfg["slowdown"]["sleep_s"]))
                elapsed += time.perf_counter() - s0
            window_time += elapsed
            epoch_time += elapsed
            window_samples += len(idx)
            window_losses.append(loss_value)
            all_losses.append(loss_value)
            epoch_losses.append(loss_value)
            epoch_correct += int((logits.argmax(dim=1) == yb).sum())
            epoch_seen += len(idx)

            if want_log or not finite:
                writer.train_step(
                    StepLog(
                        step=step,
                        epoch=step / steps_per_epoch,
                        loss=loss_value,
                        mean_loss=float(np.mean(window_losses)),
                        lr=float(optimizer.param_groups[0]["lr"]),
                        grad_norm=grad_norm,
                        layer_norms=layer_norms,
                        param_norms=param_norms,
                        samples_per_sec=window_samples / max(window_time, 1e-9),
                    )
                )
                window_losses, window_time, window_samples = [], 0.0, 0
            if not finite and cfg["stop_on_nan"]:
                stop_reason, running = f"non-finite loss at step {step}", False
                break
            if want_hist and step % int(cfg["hist_every"]) == 0:
                log_histograms(step)
            if style != "keras" and step % eval_every == 0 and evaluate(step):
                stop_reason, running = f"early stopping (patience) at step {step}", False
                break
            if stop_at is not None and step >= int(stop_at):
                stop_reason, running = f"stop_at_step {stop_at}", False
                break
        if style == "keras" and epoch_steps:
            stop = evaluate(step)
            writer.epoch_end(
                epoch,
                step,
                {"loss": float(np.mean(epoch_losses)), "accuracy": epoch_correct / epoch_seen},
                last_eval,
                float(optimizer.param_groups[0]["lr"]),
                epoch_steps / max(epoch_time, 1e-9),
            )
            if stop and running:
                stop_reason, running = f"early stopping (patience) at step {step}", False
        epoch += 1

    if style != "keras" and step % eval_every != 0 and stop_reason == "completed":
        evaluate(step)
    if want_hist and step % int(cfg["hist_every"]) != 0:
        log_histograms(step)
    if not last_eval:
        last_eval = _evaluate(model, data)
    runtime = time.perf_counter() - train_start
    finite_losses = [v for v in all_losses if math.isfinite(v)]
    acts = _probe(model, probe_x)
    summary: dict[str, Any] = {
        "steps": step,
        "epochs": round(step / steps_per_epoch, 3),
        "stop_reason": stop_reason,
        "final_train_loss": all_losses[-1] if all_losses else None,
        "mean_train_loss": float(np.mean(finite_losses)) if finite_losses else math.nan,
        "final_val_loss": last_eval["loss"],
        "best_val_loss": best_val,
        "best_val_step": best_step,
        "final_val_accuracy": last_eval["accuracy"],
        "final_val_f1": last_eval["f1"],
        "dead_unit_fraction": _dead_fraction(acts, probe_x),
        "corrupted_steps": corrupted_steps,
        "n_train": n_train,
        "n_val": len(data.y_val),
        "train_runtime": runtime,
        "samples_per_sec": step * batch_size / max(runtime, 1e-9),
    }
    writer.finish(step, summary)
    writer.close()
    (out_dir / "metrics.json").write_text(json.dumps(_jsonable(summary), indent=2) + "\n")
    return summary


def _flatten(cfg: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in cfg.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name + "."))
        elif isinstance(value, list):
            flat[name] = json.dumps(value)
        elif value is not None:
            flat[name] = value
    return flat


def _jsonable(value: Any) -> Any:
    """NaN/inf -> None so metrics.json stays strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Train one run from a JSON config.")
    parser.add_argument("config", help="path to a config.json (partial configs are fine)")
    parser.add_argument("logdir")
    args = parser.parse_args()
    result = train(json.loads(Path(args.config).read_text()), args.logdir)
    print(json.dumps(_jsonable(result), indent=2))
