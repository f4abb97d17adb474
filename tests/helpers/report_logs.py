"""A small, seeded logdir for the report tests (HTML, Markdown, golden files, browser).

Written at test time with tensorboardX (explicit wall times, so every byte that matters is
fixed): a healthy run, a run that diverges to NaN with exploding gradients, an overfitting run,
and a run whose name and one tag are ``<script>alert(1)</script>`` (the directory
``<script>alert(1)<`` holding ``script>`` gives that run name).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tensorboardX import FileWriter
from tensorboardX.proto.summary_pb2 import Summary

HOSTILE = "<script>alert(1)</script>"
WALL = 1_700_000_000.0
STEPS = 300


def _write(path: Path, series: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    # FileWriter with raw Summary protos: SummaryWriter.add_scalar would rewrite a tag like
    # "<script>" to "_script_" (and print a line for every NaN).
    writer = FileWriter(str(path))
    for tag, (steps, values) in series.items():
        for step, value in zip(steps, values, strict=True):
            summary = Summary(value=[Summary.Value(tag=tag, simple_value=float(value))])
            writer.add_summary(summary, int(step), walltime=WALL + float(step))
    writer.close()


def write_report_logs(root: Path) -> Path:
    """Write the four runs under ``root`` and return it."""
    rng = np.random.default_rng(7)
    steps = np.arange(STEPS)
    evals = np.arange(0, STEPS, 15)
    decay = 0.1 + 2.2 * np.exp(-steps / 60)
    noise = 1 + 0.03 * rng.standard_normal(STEPS)
    _write(
        root / "healthy",
        {
            "train/loss": (steps, decay * noise),
            "eval/loss": (evals, 0.15 + 2.2 * np.exp(-evals / 60)),
            "train/learning_rate": (steps, 1e-3 * (1 - steps / STEPS)),
            "train/grad_norm": (steps, 1.5 + 0.2 * rng.standard_normal(STEPS)),
        },
    )
    loss = decay * noise
    loss[280:] = np.nan
    grad = 1.0 + 0.1 * rng.standard_normal(STEPS)
    grad[200:280] = 10.0 ** np.linspace(0.5, 6.5, 80)
    grad[280:] = np.inf
    _write(
        root / "diverged",
        {
            "train/loss": (steps, loss),
            "train/grad_norm": (steps, grad),
            "train/learning_rate": (steps, np.full(STEPS, 0.5)),
        },
    )
    _write(
        root / "overfit",
        {
            "Loss/train": (steps, 0.02 + 2.0 * np.exp(-steps / 40) * noise),
            "Loss/val": (evals, 0.6 + 1.5 * np.exp(-evals / 30) + 0.004 * evals),
            "Accuracy/val": (evals, 0.9 - 0.5 * np.exp(-evals / 30) - 0.0005 * evals),
        },
    )
    _write(
        root / "<script>alert(1)<" / "script>",
        {
            "loss": (steps, decay * noise),
            HOSTILE: (evals, np.linspace(0.0, 1.0, evals.size)),
        },
    )
    return root
