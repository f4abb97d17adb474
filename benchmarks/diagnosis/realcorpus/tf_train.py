"""Train the TensorFlow-side runs: Keras 3 ``model.fit`` with ``keras.callbacks.TensorBoard``,
and a TF2 custom loop with ``tf.summary`` writers in ``train/`` and ``test/``.

    .venv-tf/bin/python tf_train.py CONFIGS.json   # a list of (config, run_dir)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
import tensorflow as tf

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
import keras  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import data as D  # noqa: E402


class Feed:
    """Training batches of a config, one per optimizer step, with the pathology mechanics."""

    def __init__(self, cfg: dict[str, Any], d: dict[str, Any]):
        self.cfg, self.d = cfg, d
        self.order = D.batches(cfg, len(d["xtr"]), d["ytr"])
        self.rng = np.random.default_rng(cfg["seed"] + 3)

    def batch(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        cfg, idx = self.cfg, next(self.order)
        x, y = self.d["xtr"][idx], self.d["ytr"][idx]
        if cfg["augment"]:
            x = x + self.rng.normal(0, cfg["augment"], x.shape).astype(np.float32)
        k = cfg["corrupt_every"]
        if k and step > 0 and step % k == 0:
            perm = self.rng.permutation(len(y))
            x, y = 8 * x, (y[perm] if self.d["task"] != "reg" else -3 * y[perm])
        if cfg["nan_at"] > 0 and step == int(cfg["nan_at"] * cfg["steps"]):
            x = x * 1e4  # overflowing inputs: the hand-written cross-entropy takes log(0)
            if self.d["task"] != "reg":
                y = (y + 1) % self.d["n_out"]  # ... on a mislabelled batch
        return x.astype(np.float32), y


def build(cfg: dict[str, Any], n_in: int, n_out: int) -> keras.Model:
    m = cfg["model"]
    init = keras.initializers.VarianceScaling(
        scale=m.get("init_gain", 1.0) ** 2, mode="fan_avg", distribution="uniform", seed=cfg["seed"]
    )
    bias = (
        keras.initializers.Constant(m["bias_init"]) if m.get("bias_init") is not None else "zeros"
    )
    inp = keras.Input((n_in,))
    if m["kind"] == "cnn":
        x = keras.layers.Reshape((8, 8, 1))(inp)
        x = keras.layers.Conv2D(m.get("channels", 8), 3, padding="same", activation="relu")(x)
        x = keras.layers.Conv2D(2 * m.get("channels", 8), 3, padding="same", activation="relu")(x)
        x = keras.layers.Flatten()(keras.layers.MaxPooling2D()(x))
        x = keras.layers.Dropout(m.get("dropout", 0.0))(x)
    elif m["kind"] == "rnn":
        x = keras.layers.Reshape((n_in, 1))(inp)
        x = keras.layers.GRU(m.get("width", 24))(x)
    else:
        x = inp
        for _ in range(m.get("depth", 2)):
            x = keras.layers.Dense(
                m.get("width", 64),
                activation=m.get("act", "relu"),
                kernel_initializer=init,
                bias_initializer=bias,
            )(x)
            x = keras.layers.Dropout(m.get("dropout", 0.0))(x)
    out = keras.layers.Dense(n_out, kernel_initializer=init)(x)
    return keras.Model(inp, out)


class Schedule(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, cfg: dict[str, Any]):
        self.cfg = cfg
        self.table = np.array(
            [cfg["opt"]["lr"] * D.lr_factor(cfg, s) for s in range(cfg["steps"] + 1)], np.float32
        )

    def __call__(self, step):
        i = tf.minimum(tf.cast(step, tf.int32), len(self.table) - 1)
        return tf.gather(tf.constant(self.table), i)

    def get_config(self):
        return {}


def optimizer(cfg: dict[str, Any]) -> keras.optimizers.Optimizer:
    o, lr = cfg["opt"], Schedule(cfg) if cfg["sched"] != "none" else cfg["opt"]["lr"]
    extra = {"clipnorm": cfg["clip"]} if cfg.get("clip") else {}  # advice only
    if "weight_decay" in o:
        extra["weight_decay"] = o["weight_decay"]
    if o["name"] in ("sgd", "sgd_momentum"):
        m = o.get("momentum", 0.9) if o["name"] == "sgd_momentum" else 0.0
        return keras.optimizers.SGD(lr, momentum=m, **extra)
    if o["name"] == "adamw":
        return keras.optimizers.AdamW(lr, **extra)
    return keras.optimizers.Adam(lr, beta_1=o.get("betas", [0.9])[0], **extra)


def loss_fn(cfg: dict[str, Any], task: str):
    if task == "reg":
        return keras.losses.MeanSquaredError()
    if cfg["nan_at"] > 0:

        def hand_written_ce(y, logits):  # log(softmax): no log-sum-exp guard
            p = tf.gather(
                tf.nn.softmax(logits), tf.cast(tf.reshape(y, [-1]), tf.int32), batch_dims=1
            )
            return -tf.math.log(p)

        return hand_written_ce
    smooth = cfg["label_smoothing"]
    if smooth:

        def smoothed(y, logits):
            k = tf.shape(logits)[-1]
            onehot = tf.one_hot(tf.cast(tf.reshape(y, [-1]), tf.int32), k)
            return keras.losses.categorical_crossentropy(
                onehot, logits, from_logits=True, label_smoothing=smooth
            )

        return smoothed
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def train_keras(cfg: dict[str, Any], run_dir: Path) -> None:
    keras.utils.set_random_seed(cfg["seed"])
    d = D.load(cfg)
    spe = max(len(d["xtr"]) // cfg["batch"], 1)
    if cfg["epochs3"]:
        cfg["steps"] = 3 * spe
    feed = Feed(cfg, d)

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.step = 0

        def __len__(self):
            return spe

        def __getitem__(self, i):
            self.step += 1
            return feed.batch(self.step - 1)

    model = build(cfg, d["xtr"].shape[1], d["n_out"])
    metrics = [] if d["task"] == "reg" else ["accuracy"]
    model.compile(optimizer(cfg), loss_fn(cfg, d["task"]), metrics=metrics)
    if cfg["epochs3"]:
        model.fit(d["xtr"], d["ytr"], batch_size=cfg["batch"], epochs=10, verbose=0)
    cb = keras.callbacks.TensorBoard(str(run_dir), histogram_freq=5, update_freq="epoch")
    model.fit(
        Batches(),
        epochs=max(cfg["steps"] // spe, 3),
        validation_data=(d["xva"], d["yva"]),
        callbacks=[cb],
        verbose=0,
        shuffle=False,
    )


def train_tfsummary(cfg: dict[str, Any], run_dir: Path) -> None:
    keras.utils.set_random_seed(cfg["seed"])
    d = D.load(cfg)
    if cfg["epochs3"]:
        cfg["steps"] = 3 * (len(d["xtr"]) // cfg["batch"])
    feed, model = Feed(cfg, d), build(cfg, d["xtr"].shape[1], d["n_out"])
    opt, lossf = optimizer(cfg), loss_fn(cfg, d["task"])
    if cfg["sched"] == "none":
        opt.learning_rate = cfg["opt"]["lr"]

    @tf.function
    def step_fn(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = tf.reduce_mean(lossf(y, logits))
        grads = tape.gradient(loss, model.trainable_variables)
        norm = tf.linalg.global_norm(grads)
        if cfg.get("clip"):
            grads, _ = tf.clip_by_global_norm(grads, cfg["clip"], use_norm=norm)
        opt.apply_gradients(zip(grads, model.trainable_variables, strict=False))
        return loss, norm

    train_w = tf.summary.create_file_writer(str(run_dir / "train"))
    test_w = tf.summary.create_file_writer(str(run_dir / "test"))
    times: list[float] = []
    for step in range(cfg["steps"]):
        t0 = time.thread_time()
        x, y = feed.batch(step)
        loss, gnorm = step_fn(tf.constant(x), tf.constant(y))
        spent = time.thread_time() - t0
        pause = D.injected_pause(cfg, step, times, spent)
        if step % cfg["log_every"] == 0:
            with train_w.as_default():
                tf.summary.scalar("loss", loss, step=step)
                tf.summary.scalar("grad_norm", gnorm, step=step)
                lr = opt.learning_rate
                tf.summary.scalar("learning_rate", float(lr), step=step)
                tf.summary.scalar("examples_per_sec", len(y) / max(spent + pause, 1e-6), step=step)
        if step % cfg["eval_every"] == 0 or step == cfg["steps"] - 1:
            logits = model(d["xva"], training=False)
            with test_w.as_default():
                if d["task"] == "reg":
                    tf.summary.scalar(
                        "loss", float(np.mean((logits.numpy() - d["yva"]) ** 2)), step=step
                    )
                else:
                    ce = keras.losses.sparse_categorical_crossentropy(
                        d["yva"], logits, from_logits=True
                    )
                    tf.summary.scalar("loss", float(tf.reduce_mean(ce)), step=step)
                    acc = float(np.mean(np.argmax(logits, -1) == d["yva"]))
                    tf.summary.scalar("accuracy", acc, step=step)
    train_w.close()
    test_w.close()


TRAINERS = {"keras": train_keras, "tfsummary": train_tfsummary}


def main(argv: list[str]) -> int:
    return D.run_jobs(TRAINERS, argv[0])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
