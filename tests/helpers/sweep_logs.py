"""A small hyperparameter sweep for the cross-run and report-folder tests, written at test time.

Ten runs written with tensorboardX's ``SummaryWriter`` (hparams by ``add_hparams``, as a sweep
script would): three learning rates with two seeds each, the optimizer and the weight decay
varied around the best learning rate. The optimizer's value and one run's name are hostile
(markup, a mathtext ``$``), to check they stay text everywhere.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tensorboardX import SummaryWriter

HOSTILE_OPTIMIZER = "SGD_$m$<i>"  # read back lowercased: "sgd_$m$<i>"
HOSTILE_RUN = "opt=<b>sgd</b>"
BEST_LR = 0.01


def _level(lr: float, optimizer: str, wd: float) -> float:
    """The best validation loss a configuration reaches (lr 1e-2 with adam is best)."""
    by_lr = {0.001: 0.6, 0.01: 0.3, 0.1: 0.9}[lr]
    return by_lr + (0.15 if optimizer != "adam" else 0.0) + (0.05 if wd != 1e-4 else 0.0)


def write_sweep(root: Path) -> Path:
    """Write the sweep under ``root`` and return it."""
    configs: list[tuple[str, float, str, float, int]] = []
    for lr in (0.001, 0.01, 0.1):
        for seed in (0, 1):
            configs.append((f"lr{lr}_seed{seed}", lr, "adam", 1e-4, seed))
    for seed in (0, 1):
        name = HOSTILE_RUN if seed == 0 else f"opt_sgd_seed{seed}"
        configs.append((name, BEST_LR, HOSTILE_OPTIMIZER, 1e-4, seed))
    for wd in (0.0, 0.01):
        configs.append((f"wd{wd}", BEST_LR, "adam", wd, 0))
    for name, lr, optimizer, wd, seed in configs:
        level = _level(lr, optimizer, wd)
        rng = np.random.default_rng(seed)
        with SummaryWriter(str(root / name)) as w:
            for step in range(60):
                w.add_scalar("train/loss", 2.0 * np.exp(-step / 10) + level, step)
                if step % 10 == 9:
                    w.add_scalar("eval/loss", level + 0.01 * rng.normal() + 0.05, step)
            hparams = {"lr": lr, "optimizer": optimizer, "weight_decay": wd, "seed": seed}
            w.add_hparams(hparams, {"hp/x": 0.0}, name="1700000000.5")
    return root
