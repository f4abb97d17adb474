"""What the logs say about a run: Hugging Face's training arguments, Lightning's hparams.yaml."""

from __future__ import annotations

import json
from pathlib import Path

from bs4 import BeautifulSoup
from tensorboardX import SummaryWriter

import dlreport


def test_hf_args_text_and_lightning_hparams_are_shown(tmp_path: Path) -> None:
    args = {"learning_rate": 5e-5, "output_dir": "<script>x</script>", "num_train_epochs": 3}
    run = tmp_path / "hf"
    with SummaryWriter(str(run)) as w:
        w.add_text("args", json.dumps(args, indent=2), 0)  # as the HF Trainer's callback does
        for step in range(20):
            w.add_scalar("train/loss", 1.0 / (step + 1), step)
    (run / "hparams.yaml").write_text("lr: 0.003\nbatch_size: 64\n", encoding="utf-8")
    page = BeautifulSoup(dlreport.analyze(tmp_path).to_html(), "html.parser")
    (block,) = page.select("details.logged-text")
    assert "training arguments (Hugging Face)" in block.summary.get_text()
    assert json.loads(block.pre.get_text()) == args  # the whole text, as text
    assert page.find("script") is None
    hparams = {tr.th.get_text(): tr.td.get_text() for tr in page.select("table.hparams tr")}
    assert hparams["lr"] == "0.003"  # from Lightning's hparams.yaml
    assert hparams["batch_size"] == "64"
