"""Shared fixtures: logdirs written at test time by real writers (tensorboardX, TensorBoard).

No torch: tensorboardX and TensorBoard's own torch-free writer produce the same records torch's
``SummaryWriter`` does (``simple_value`` scalars, ``HistogramProto`` histograms, text and
hparams plugin summaries; TF2-style tensors are written with TensorBoard's protos).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from event_builders import (
    TBX_ACC,
    TBX_HIST_VALUES,
    TBX_HPARAMS,
    TBX_LOSS,
    TBX_TEXT,
    TBX_WALL,
    TbxLogdir,
)
from tensorboardX import SummaryWriter


@pytest.fixture
def tbx_logdir(tmp_path: Path) -> TbxLogdir:
    """A tensorboardX run: scalars, a histogram, a text summary and hparams.

    ``add_hparams`` writes to a child directory (``run/hp``), which is a run of its own.
    """
    root = tmp_path / "logs"
    run = root / "run"
    with SummaryWriter(str(run)) as w:
        for step, loss in enumerate(TBX_LOSS):
            w.add_scalar("train/loss", loss, step * 10, walltime=TBX_WALL + step)
        for step, acc in enumerate(TBX_ACC):
            w.add_scalar("val/acc", acc, step * 20, walltime=TBX_WALL + 100 + step)
        w.add_histogram(
            "weights", TBX_HIST_VALUES, 5, bins=np.array([0.0, 1.5, 2.5, 5.0]), walltime=TBX_WALL
        )
        w.add_text("notes", TBX_TEXT, 3, walltime=TBX_WALL + 7)
        w.add_hparams(TBX_HPARAMS, {"hp/final_loss": 0.25}, name="hp", global_step=40)
    return TbxLogdir(root=root, run=run, hparams_run="run/hp")


@pytest.fixture
def keras_logdir(tmp_path: Path) -> Path:
    """Keras' layout: ``train/`` and ``validation/`` subfolders with the same tags."""
    root = tmp_path / "fit"
    for sub, offset in (("train", 0.0), ("validation", 0.5)):
        with SummaryWriter(str(root / sub)) as w:
            for epoch in range(3):
                w.add_scalar("epoch_loss", 1.0 / (epoch + 1) + offset, epoch, walltime=10.0 + epoch)
    return root
