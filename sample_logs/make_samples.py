"""Regenerate the sample logs: small real training runs, one per finding they show.

Each sample is one scenario of the labelled corpus (benchmarks/diagnosis/make_corpus.py),
trained for real on the CPU with the writer and tag names of its style (Hugging Face Trainer,
Keras train/ + validation/, tensorboardX, torch SummaryWriter), seeded, so the numbers are the
same on every run (the wall times are not). Rerun only on purpose; it needs the torch venv:

    python3 -m venv .venv-torch
    .venv-torch/bin/pip install torch==2.13.0 scikit-learn tensorboardX
    .venv-torch/bin/python sample_logs/make_samples.py
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS_DIR = HERE.parent / "benchmarks" / "diagnosis"
sys.path.insert(0, str(CORPUS_DIR))

# sample folder -> corpus scenario (small ones: the whole folder stays under 1 MB)
SAMPLES = {
    "healthy": "healthy_hf_breast_cancer",
    "healthy_keras": "healthy_keras_digits_batchnorm",
    "exploding_gradients": "exploding_hf_deep_init",
    "loss_divergence": "divergence_torch_sgd_nan",
    "overfitting": "overfitting_tbx_digits_small",
    "plateau": "plateau_keras_moons_constant_lr",
    "slow_convergence": "slow_keras_sgd_small_lr",
    "loss_oscillation": "oscillation_tbx_sequence_lstm_high",
    "vanishing_gradients": "vanishing_tbx_deep_sigmoid_xavier",
    "dead_units": "dead_tbx_negative_bias_wide",
    "throughput_drop": "throughput_hf_sleep",
}


def main() -> int:
    from make_corpus import scenarios  # needs torch: imported late
    from train import train

    by_name = {s.name: s for s in scenarios()}
    for folder, scenario in SAMPLES.items():
        out = HERE / folder
        shutil.rmtree(out, ignore_errors=True)
        metrics = train(by_name[scenario].config, out)
        print(f"{folder:<22} <- {scenario}: {json.dumps(metrics)[:80]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
