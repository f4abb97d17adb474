"""Train the torch-side runs: hand-written loops (torch SummaryWriter, tensorboardX),
Lightning, the Hugging Face Trainer and stable-baselines3. One process trains many runs.

    .venv-torch/bin/python torch_train.py CONFIGS.json   # a list of (config, run_dir)

All writers share one Job: the data, the model, the loss and the pathology mechanics
(corrupted batches, log(0), injected sleep) of a config; each writer only drives it and logs
with its own library, under its own tag names (``table.WRITERS``).
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import data as D
from table import WRITERS

torch.set_num_threads(1)
ACTS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


# ----------------------------------------------------------------------------------- models
class MLP(nn.Module):
    def __init__(self, n_in: int, n_out: int, m: dict[str, Any]):
        super().__init__()
        # "widths" gives each hidden layer its own width (the autoencoder's 32-8-32)
        widths = m.get("widths") or [m.get("width", 64)] * m.get("depth", 2)
        sizes = [n_in, *widths]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, widths, strict=False))
        self.acts = nn.ModuleList(ACTS[m.get("act", "relu")]() for _ in widths)
        self.drop = nn.Dropout(m.get("dropout", 0.0))
        self.head = nn.Linear(widths[-1], n_out)

    def forward(self, x):
        for lin, act in zip(self.layers, self.acts, strict=False):
            x = self.drop(act(lin(x)))
        return self.head(x)


class CNN(nn.Module):
    def __init__(self, n_in: int, n_out: int, m: dict[str, Any]):
        super().__init__()
        c = m.get("channels", 8)
        self.conv1, self.conv2 = nn.Conv2d(1, c, 3, padding=1), nn.Conv2d(c, 2 * c, 3, padding=1)
        self.acts = nn.ModuleList([nn.ReLU(), nn.ReLU()])
        self.drop = nn.Dropout(m.get("dropout", 0.0))
        self.head = nn.Linear(2 * c * 16, n_out)

    def forward(self, x):
        x = self.acts[0](self.conv1(x.view(-1, 1, 8, 8)))
        x = nn.functional.max_pool2d(self.acts[1](self.conv2(x)), 2)
        return self.head(self.drop(x.flatten(1)))


class RNN(nn.Module):
    def __init__(self, n_in: int, n_out: int, m: dict[str, Any]):
        super().__init__()
        cell = nn.LSTM if m["cell"] == "lstm" else nn.GRU
        self.rnn = cell(1, m.get("width", 24), batch_first=True)
        self.head = nn.Linear(m.get("width", 24), n_out)

    def forward(self, x):
        out, _ = self.rnn(x.unsqueeze(-1))
        return self.head(out[:, -1])


class TinyLM(nn.Module):
    def __init__(self, n_in: int, n_out: int, m: dict[str, Any]):
        super().__init__()
        dim, ctx = m["dim"], m["ctx"]
        self.embed, self.pos = nn.Embedding(256, dim), nn.Parameter(torch.zeros(ctx, dim))
        # post-LN (the original Transformer's order) only where the config asks for it
        layer = nn.TransformerEncoderLayer(
            dim, m["heads"], 2 * dim, dropout=0.0, batch_first=True, norm_first=not m.get("post_ln")
        )
        self.blocks = nn.TransformerEncoder(layer, m["layers"], enable_nested_tensor=False)
        self.head = nn.Linear(dim, 256)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(ctx))

    def forward(self, x):
        h = self.embed(x) + self.pos[: x.shape[1]]
        return self.head(self.blocks(h, mask=self.mask[: x.shape[1], : x.shape[1]], is_causal=True))


def build_model(cfg: dict[str, Any], n_in: int, n_out: int) -> nn.Module:
    m = cfg["model"]
    net = {"mlp": MLP, "cnn": CNN, "rnn": RNN, "tlm": TinyLM}[m["kind"]](n_in, n_out, m)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("weight") and p.dim() > 1:
                p.mul_(m.get("init_gain", 1.0))
            if (
                m.get("bias_init") is not None
                and name.startswith("layers")
                and name.endswith("bias")
            ):
                p.fill_(m["bias_init"])
    return net


def make_optimizer(cfg: dict[str, Any], params) -> torch.optim.Optimizer:
    o = cfg["opt"]
    wd = {"weight_decay": o["weight_decay"]} if "weight_decay" in o else {}  # advice only
    if o["name"] == "sgd":
        return torch.optim.SGD(params, lr=o["lr"], **wd)
    if o["name"] == "sgd_momentum":
        return torch.optim.SGD(params, lr=o["lr"], momentum=o.get("momentum", 0.9), **wd)
    cls = torch.optim.AdamW if o["name"] == "adamw" else torch.optim.Adam
    return cls(params, lr=o["lr"], betas=tuple(o.get("betas", (0.9, 0.999))), **wd)


# ------------------------------------------------------------------------------------- job
class Job:
    """Data, model, loss and the pathology mechanics of one config (no logging)."""

    def __init__(self, cfg: dict[str, Any]):
        self.cfg = cfg
        torch.manual_seed(cfg["seed"])
        d = D.load(cfg)
        self.task, self.n_out = d["task"], d["n_out"]
        self.xtr, self.ytr = torch.as_tensor(d["xtr"]), torch.as_tensor(d["ytr"])
        self.xva, self.yva = torch.as_tensor(d["xva"]), torch.as_tensor(d["yva"])
        if cfg["epochs3"]:
            cfg["steps"] = 3 * (len(self.xtr) // cfg["batch"])
        self.model = build_model(cfg, self.xtr.shape[1], self.n_out)
        self.order = D.batches(cfg, len(self.xtr), d["ytr"])
        self.noise = torch.Generator().manual_seed(cfg["seed"] + 3)
        self.step_times: list[float] = []

    def pretrain(self, forward=None) -> None:
        """The "pretrained start" of a fine-tune: 300 unlogged steps on noisy labels."""
        opt = make_optimizer(self.cfg, self.model.parameters())
        y = self.ytr.clone()
        if self.task == "clf":
            flip = torch.rand(len(y), generator=self.noise) < 0.3
            y[flip] = torch.randint(0, self.n_out, (int(flip.sum()),), generator=self.noise)
        for _ in range(300):
            idx = torch.as_tensor(next(self.order))
            opt.zero_grad()
            self.loss((forward or self.model)(self.xtr[idx]), y[idx], -1).backward()
            opt.step()

    def is_corrupt(self, step: int) -> bool:
        k = self.cfg["corrupt_every"]
        return bool(k) and step > 0 and step % k == 0

    def is_nan_step(self, step: int) -> bool:
        return self.cfg["nan_at"] > 0 and step == int(self.cfg["nan_at"] * self.cfg["steps"])

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.as_tensor(next(self.order))
        x, y = self.xtr[idx], self.ytr[idx]
        return self.perturb(x, y, step)

    def perturb(self, x, y, step: int):
        """Augmentation and corruption of a training batch at an optimizer step."""
        if self.cfg["augment"] and x.is_floating_point():
            x = x + self.cfg["augment"] * torch.randn(x.shape, generator=self.noise)
        if self.is_corrupt(step):
            perm = torch.randperm(len(y), generator=self.noise)
            y = y[perm] if self.task != "reg" else -3 * y[perm]
            if x.is_floating_point():
                x = 8 * x
        return x, y

    def loss(self, logits, y, step: int) -> torch.Tensor:
        cfg = self.cfg
        if self.task == "reg":
            return nn.functional.mse_loss(logits, y)
        logits2, y2 = logits.reshape(-1, logits.shape[-1]), y.reshape(-1)
        if cfg["nan_at"] > 0:  # a hand-written cross-entropy: log(softmax), no log-sum-exp
            scale = 1e4 if self.is_nan_step(step) else 1.0
            if self.is_nan_step(step):  # a mislabelled batch whose logits overflow
                y2 = (y2 + 1) % logits2.shape[-1]
            p = torch.softmax(logits2 * scale, -1).gather(1, y2[:, None])
            return -torch.log(p).mean()
        return nn.functional.cross_entropy(logits2, y2, label_smoothing=cfg["label_smoothing"])

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float | None]:
        self.model.eval()
        out = self.model(self.xva)
        self.model.train()
        if self.task == "reg":
            return float(nn.functional.mse_loss(out, self.yva)), None
        o2 = out.reshape(-1, out.shape[-1])
        loss = float(nn.functional.cross_entropy(o2, self.yva.reshape(-1)))
        acc = float((o2.argmax(-1) == self.yva.reshape(-1)).float().mean())
        return loss, acc

    def maybe_sleep(self, step: int, cpu_time: float) -> float:
        """The injected slowdown (``data.injected_pause``)."""
        return D.injected_pause(self.cfg, step, self.step_times, cpu_time)

    def layer_params(self) -> list[tuple[str, torch.Tensor]]:
        return [
            (n[: -len(".weight")], p)
            for n, p in self.model.named_parameters()
            if n.endswith("weight") and p.dim() > 1
        ]

    def hidden_acts(self, x) -> dict[str, torch.Tensor]:
        """Post-activation outputs of each hidden layer on a batch (for histograms)."""
        got: dict[str, torch.Tensor] = {}
        acts = getattr(self.model, "acts", None)
        if acts is None:
            return got
        hooks = [
            a.register_forward_hook(lambda _m, _i, o, k=k: got.__setitem__(f"layers.{k}", o))
            for k, a in enumerate(acts)
        ]
        with torch.no_grad():
            self.model(x)
        for h in hooks:
            h.remove()
        finite = {k: v[torch.isfinite(v)] for k, v in got.items()}
        return {k: v for k, v in finite.items() if v.numel()}  # NaN weights: nothing to draw

    def grad_norms(self) -> tuple[float, dict[str, float]]:
        per = {n: float(p.grad.norm()) for n, p in self.layer_params() if p.grad is not None}
        total = math.sqrt(
            sum(float(p.grad.norm()) ** 2 for p in self.model.parameters() if p.grad is not None)
        )
        return total, per


# -------------------------------------------------------------------- hand-written loops
def train_custom(cfg: dict[str, Any], run_dir: Path) -> None:
    """A plain loop, logged by torch's SummaryWriter or tensorboardX's, with the writer's tags."""
    w = WRITERS[cfg["writer"]]
    if cfg["writer"] == "tbx":
        from tensorboardX import SummaryWriter
    else:
        from torch.utils.tensorboard import SummaryWriter
    if cfg["family"] == "gan":
        return train_gan(cfg, run_dir, SummaryWriter)
    job = Job(cfg)
    if cfg["epochs3"]:
        job.pretrain()
    tags, steps = w["tags"], cfg["steps"]
    opt = make_optimizer(cfg, job.model.parameters())
    base = [g["lr"] for g in opt.param_groups]
    if cfg["writer"] == "accelerate":
        tb: Any = AccelerateWriter(cfg, run_dir)
    else:
        tb = SummaryWriter(str(run_dir))
    hist_every = max(steps // 8, 1)
    for step in range(steps):
        t0 = time.thread_time()
        for g, lr in zip(opt.param_groups, base, strict=False):
            g["lr"] = lr * D.lr_factor(cfg, step)
        x, y = job.batch(step)
        opt.zero_grad()
        loss = job.loss(job.model(x), y, step)
        loss.backward()
        logging = step % cfg["log_every"] == 0
        total, per = job.grad_norms() if logging else (0.0, {})
        if cfg.get("clip"):  # set only by advice; norms above are logged before clipping
            nn.utils.clip_grad_norm_(job.model.parameters(), cfg["clip"])
        opt.step()
        pause = job.maybe_sleep(step, time.thread_time() - t0)
        if logging:
            tb.add_scalar(tags["train_loss"], float(loss), step)
            tb.add_scalar(tags["learning_rate"], opt.param_groups[0]["lr"], step)
            tb.add_scalar(tags["grad_norm"], total, step)
            for layer, v in per.items() if "layer_grad" in w else ():
                tb.add_scalar(w["layer_grad"].format(layer=layer), v, step)
            spent = time.thread_time() - t0 + pause
            if "throughput" in tags:
                tb.add_scalar(tags["throughput"], len(y) / max(spent, 1e-6), step)
        if "activation" in w and (step % hist_every == 0 or step == steps - 1):
            for layer, a in job.hidden_acts(job.xva[:128]).items():
                tb.add_histogram(w["activation"].format(layer=layer), a.numpy(), step)
        if step % cfg["eval_every"] == 0 or step == steps - 1:
            vl, acc = job.evaluate()
            tb.add_scalar(tags["val_loss"], vl, step)
            if acc is not None:
                tb.add_scalar(tags["val_accuracy"], acc, step)
    tb.close()


class AccelerateWriter:
    """accelerate's TensorBoard tracker behind the two SummaryWriter calls the loop makes: the
    tracker writes into ``<run>/accel/`` (its run name) and stores the config as hparams."""

    def __init__(self, cfg: dict[str, Any], run_dir: Path):
        from accelerate import Accelerator

        self.acc = Accelerator(cpu=True, log_with="tensorboard", project_dir=str(run_dir))
        hp = {"lr": cfg["opt"]["lr"], "batch_size": cfg["batch"], "max_train_steps": cfg["steps"]}
        self.acc.init_trackers("accel", config=hp)

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        self.acc.log({tag.removeprefix("accel/"): value}, step=step)

    def close(self) -> None:
        self.acc.end_training()


def train_gan(cfg: dict[str, Any], run_dir: Path, SummaryWriter) -> None:
    """A GAN on a 2-D Gaussian mixture; D and G losses, lr, gradient norms, throughput."""
    torch.manual_seed(cfg["seed"])
    rng = np.random.default_rng(cfg["seed"])
    k = 8 if cfg["data"] == "ring8" else 9
    if k == 8:
        centers = (
            np.stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)], 1) * 2
        )
    else:
        centers = np.stack(np.meshgrid([-2, 0, 2], [-2, 0, 2]), -1).reshape(-1, 2).astype(float)
    width, zdim = cfg["model"]["width"], cfg["model"]["zdim"]
    G = nn.Sequential(
        nn.Linear(zdim, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 2)
    )
    Dn = nn.Sequential(
        nn.Linear(2, width),
        nn.LeakyReLU(0.2),
        nn.Linear(width, width),
        nn.LeakyReLU(0.2),
        nn.Linear(width, 1),
    )
    og, od = make_optimizer(cfg, G.parameters()), make_optimizer(cfg, Dn.parameters())
    bce = nn.BCEWithLogitsLoss()
    tb = SummaryWriter(str(run_dir))
    bs, times = cfg["batch"], []
    for step in range(cfg["steps"]):
        t0 = time.thread_time()
        real = torch.as_tensor(
            centers[rng.integers(0, k, bs)] + rng.normal(0, 0.1, (bs, 2)), dtype=torch.float32
        )
        fake = G(torch.randn(bs, zdim))
        od.zero_grad()
        ld = bce(Dn(real), torch.ones(bs, 1)) + bce(Dn(fake.detach()), torch.zeros(bs, 1))
        ld.backward()
        gd = math.sqrt(sum(float(p.grad.norm()) ** 2 for p in Dn.parameters()))
        od.step()
        og.zero_grad()
        lg = bce(Dn(fake), torch.ones(bs, 1))
        lg.backward()
        og.step()
        spent = time.thread_time() - t0
        pause = D.injected_pause(cfg, step, times, spent)
        if step % cfg["log_every"] == 0:
            tb.add_scalar("Loss/discriminator", float(ld), step)
            tb.add_scalar("Loss/generator", float(lg), step)
            tb.add_scalar("lr", cfg["opt"]["lr"], step)
            tb.add_scalar("grad_norm", gd, step)
            tb.add_scalar("throughput/samples_per_sec", bs / (spent + pause), step)
    tb.close()


# ---------------------------------------------------------------------------------- lightning
def train_lightning(cfg: dict[str, Any], run_dir: Path) -> None:
    import lightning as L
    from lightning.pytorch.callbacks import LearningRateMonitor
    from lightning.pytorch.loggers import TensorBoardLogger
    from lightning.pytorch.utilities import grad_norm

    job = Job(cfg)
    if cfg["epochs3"]:
        job.pretrain()

    class Steps(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(10**9))

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = job.model
            self.t0 = 0.0

        def training_step(self, step_idx, _i):
            self.t0 = time.thread_time()
            step = self.global_step
            x, y = job.batch(step)
            loss = job.loss(self.net(x), y, step)
            self.log("train_loss", loss, batch_size=1)
            if step % max(cfg["steps"] // 8, 1) == 0:
                for layer, a in job.hidden_acts(job.xva[:128]).items():
                    self.logger.experiment.add_histogram(f"activations/{layer}", a.numpy(), step)
            return loss

        def on_before_optimizer_step(self, optimizer):
            self.log_dict(grad_norm(self, norm_type=2), batch_size=1)

        def on_train_batch_end(self, *_a):
            step = self.global_step - 1
            pause = job.maybe_sleep(step, time.thread_time() - self.t0)
            self.log(
                "train/samples_per_sec",
                cfg["batch"] / max(time.thread_time() - self.t0 + pause, 1e-6),
                batch_size=1,
            )

        def validation_step(self, *_a):
            vl, acc = job.evaluate()
            self.log("val_loss", vl, batch_size=1)
            if acc is not None:
                self.log("val_acc", acc, batch_size=1)

        def train_dataloader(self):
            return torch.utils.data.DataLoader(Steps(), batch_size=None)

        def val_dataloader(self):
            return torch.utils.data.DataLoader([0], batch_size=None)

        def configure_optimizers(self):
            opt = make_optimizer(cfg, self.parameters())
            sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: D.lr_factor(cfg, s))
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    trainer = L.Trainer(
        max_steps=cfg["steps"],
        val_check_interval=cfg["eval_every"],
        check_val_every_n_epoch=None,
        limit_val_batches=1,
        num_sanity_val_steps=0,
        log_every_n_steps=cfg["log_every"],
        accelerator="cpu",
        devices=1,
        logger=TensorBoardLogger(str(run_dir), name="lightning_logs", version=0),
        callbacks=[LearningRateMonitor(logging_interval="step")],
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        deterministic=True,
        gradient_clip_val=cfg.get("clip"),
    )
    trainer.fit(Module())


# -------------------------------------------------------------------------------- hf Trainer
def train_hf(cfg: dict[str, Any], run_dir: Path) -> None:
    import transformers as T

    job = Job(cfg)
    if cfg["family"] == "tlm":
        m = cfg["model"]
        gpt = T.GPT2LMHeadModel(
            T.GPT2Config(
                vocab_size=256,
                n_positions=m["ctx"],
                n_embd=m["dim"],
                n_layer=m["layers"],
                n_head=m["heads"],
                resid_pdrop=0.0,
                embd_pdrop=0.0,
                attn_pdrop=0.0,
            )
        )
        job.model = gpt
        forward_net = lambda x: gpt(input_ids=x).logits  # noqa: E731
    else:
        forward_net = job.model
    if cfg["epochs3"]:
        job.pretrain(forward_net)

    class Wrap(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = job.model
            self.step = 0

        def forward(self, x, labels):
            if self.training:
                x, labels = job.perturb(x, labels, self.step)
                return {"loss": job.loss(forward_net(x), labels, self.step)}
            logits = forward_net(x)
            if job.task == "reg":
                return {"loss": nn.functional.mse_loss(logits, labels), "logits": logits}
            loss = nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), labels.reshape(-1)
            )
            return {"loss": loss, "logits": logits}

    model = Wrap()

    class StepHook(T.TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            model.step = state.global_step
            self.t0 = time.thread_time()

        def on_step_end(self, args, state, control, **kw):
            job.maybe_sleep(state.global_step - 1, time.thread_time() - self.t0)

    def rows(x, y):
        return [{"x": x[i], "labels": y[i]} for i in range(len(x))]

    def metrics(p):
        logits, labels = p.predictions, p.label_ids
        return {"accuracy": float((logits.argmax(-1) == labels).mean())}

    class Trainer(T.Trainer):
        def _get_train_sampler(self, *a, **k):
            if cfg["sort_by_label"]:
                return torch.utils.data.SequentialSampler(self.train_dataset)
            return super()._get_train_sampler(*a, **k)

    train_rows = rows(job.xtr, job.ytr)
    if cfg["sort_by_label"]:
        train_rows.sort(key=lambda r: int(r["labels"]))
    opt = make_optimizer(cfg, model.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: D.lr_factor(cfg, s))
    os.environ["TENSORBOARD_LOGGING_DIR"] = str(run_dir)  # transformers 5: no logging_dir
    args = T.TrainingArguments(
        output_dir=str(run_dir / "_hf"),
        report_to=["tensorboard"],
        logging_steps=cfg["log_every"],
        eval_strategy="steps",
        eval_steps=cfg["eval_every"],
        max_steps=cfg["steps"],
        per_device_train_batch_size=cfg["batch"],
        per_device_eval_batch_size=256,
        save_strategy="no",
        seed=cfg["seed"],
        use_cpu=True,
        dataloader_num_workers=0,
        max_grad_norm=cfg.get("clip", 1.0),
        disable_tqdm=True,
        learning_rate=cfg["opt"]["lr"],
        label_names=["labels"],
        remove_unused_columns=False,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train_rows,
        eval_dataset=rows(job.xva, job.yva),
        optimizers=(opt, sched),
        callbacks=[StepHook()],
        compute_metrics=metrics if job.task != "reg" else None,
    )
    trainer.train()
    import shutil

    shutil.rmtree(run_dir / "_hf", ignore_errors=True)


# ------------------------------------------------------------------------ stable-baselines3
def train_sb3(cfg: dict[str, Any], run_dir: Path) -> None:
    import gymnasium as gym
    from stable_baselines3 import DQN, PPO
    from stable_baselines3.common.callbacks import BaseCallback

    algo = cfg["model"]["algo"]
    env = gym.make(cfg["data"])

    class Slow(BaseCallback):
        def _on_step(self) -> bool:
            if cfg["slowdown_at"] and self.num_timesteps >= cfg["slowdown_at"] * cfg["steps"]:
                time.sleep(0.004)
            return True

    if algo == "PPO":
        model = PPO(
            "MlpPolicy",
            env,
            n_steps=256,
            batch_size=cfg["batch"],
            n_epochs=4,
            learning_rate=cfg["opt"]["lr"],
            seed=cfg["seed"],
            verbose=0,
            tensorboard_log=str(run_dir),
            device="cpu",
        )
    else:
        model = DQN(
            "MlpPolicy",
            env,
            learning_starts=500,
            train_freq=4,
            buffer_size=10000,
            target_update_interval=250,
            learning_rate=cfg["opt"]["lr"],
            batch_size=cfg["batch"],
            seed=cfg["seed"],
            verbose=0,
            exploration_fraction=0.3,
            tensorboard_log=str(run_dir),
            device="cpu",
        )
    model.learn(
        cfg["steps"], tb_log_name=algo, log_interval=1 if algo == "PPO" else 4, callback=Slow()
    )


TRAINERS = {
    "torch": train_custom,
    "tbx": train_custom,
    "lightning": train_lightning,
    "hf": train_hf,
    "sb3": train_sb3,
    "accelerate": train_custom,
}


def main(argv: list[str]) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return D.run_jobs(TRAINERS, argv[0])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
