"""Data sets of the corpus, as numpy arrays: scikit-learn's bundled data or generated (no download).

Shared by both environments (torch and tf). Every set is standardised; its split, label noise
and batch order come from generators seeded by the run's seed, apart from the weights' seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SEQ_LEN = 20


def _std(x: np.ndarray) -> np.ndarray:
    return ((x - x.mean(0)) / (x.std(0) + 1e-8)).astype(np.float32)


def _classification(name: str, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    seed = int(rng.integers(1 << 30))
    if name in ("digits", "digits_img"):
        x, y = datasets.load_digits(return_X_y=True)
    elif name == "wine":
        x, y = datasets.load_wine(return_X_y=True)
        x, y = np.tile(x, (5, 1)), np.tile(y, 5)
        x = x + rng.normal(0, 0.3 * x.std(0), x.shape)
    elif name == "moons":
        x, y = datasets.make_moons(n, noise=0.3, random_state=seed)
    elif name == "blobs5":
        x, y = datasets.make_blobs(n, n_features=10, centers=5, cluster_std=4.0, random_state=seed)
    elif name == "classif3":
        x, y = datasets.make_classification(
            n, n_features=20, n_informative=8, n_classes=3, random_state=seed
        )
    elif name == "stripes_img":
        y = rng.integers(0, 3, n)
        grid = np.arange(8)
        base = np.stack(
            [
                np.sin(grid[:, None] * 1.5 + 0 * grid[None]),
                np.sin(grid[None, :] * 1.5 + 0 * grid[:, None]),
                np.sin((grid[:, None] + grid[None, :]) * 1.1),
            ]
        )
        x = (base[y] + rng.normal(0, 1.2, (n, 8, 8))).reshape(n, 64)
    elif name in ("seq_sum", "seq_sign"):
        x = rng.normal(0, 1, (n, SEQ_LEN))
        if name == "seq_sum":
            y = (x[:, -6:].sum(1) > 0).astype(int)
        else:
            s = x[:, -4:].sum(1)
            y = np.digitize(s, np.quantile(s, [1 / 3, 2 / 3]))
    else:
        raise KeyError(name)
    return _std(np.asarray(x, float)), np.asarray(y, np.int64)


def _regression(name: str, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    seed = int(rng.integers(1 << 30))
    if name == "diabetes":
        x, y = datasets.load_diabetes(return_X_y=True)
        x, y = np.tile(x, (2, 1)), np.tile(y, 2)
    elif name == "friedman":
        x, y = datasets.make_friedman1(n, noise=0.5, random_state=seed)
    else:
        x, y = datasets.make_regression(
            n, n_features=12, n_informative=6, noise=20.0, random_state=seed
        )
    y = (y - y.mean()) / y.std()
    return _std(np.asarray(x, float)), y.astype(np.float32)[:, None]


def _text(name: str, rng: np.random.Generator, n_chars: int) -> np.ndarray:
    """A byte stream: an order-2 Markov chain over 24 symbols, or sentences of a toy grammar."""
    if name == "bytes_markov":
        k = 24
        table = rng.dirichlet(np.full(k, 0.15), (k, k))
        out = np.zeros(n_chars, np.int64)
        out[:2] = rng.integers(0, k, 2)
        u = rng.random(n_chars)
        for i in range(2, n_chars):
            out[i] = min(np.searchsorted(np.cumsum(table[out[i - 2], out[i - 1]]), u[i]), k - 1)
        return out + 97
    words = {
        "N": ["cat", "dog", "bird", "tree", "model", "loss"],
        "V": ["sees", "likes", "eats", "trains", "finds"],
        "A": ["small", "red", "deep", "noisy", "old"],
    }
    parts = []
    while sum(map(len, parts)) < n_chars:
        s = [
            "the",
            rng.choice(words["A"]),
            rng.choice(words["N"]),
            rng.choice(words["V"]),
            "the",
            rng.choice(words["N"]),
        ]
        parts.append(" ".join(s) + ". ")
    return np.frombuffer("".join(parts).encode(), np.uint8)[:n_chars].astype(np.int64)


def load(cfg: dict[str, Any]) -> dict[str, Any]:
    """Train / validation arrays for a config: {"xtr","ytr","xva","yva","n_out","task"}."""
    rng = np.random.default_rng(cfg["seed"] + 7919)
    name, loss = cfg["data"], cfg["loss"]
    n_tr, n_va = cfg["train_size"], cfg["val_size"]
    if loss == "lm":
        ctx = cfg["model"]["ctx"]
        stream = _text(name, rng, 24000)
        starts = rng.permutation(len(stream) - ctx - 1)
        windows = np.stack([stream[s : s + ctx + 1] for s in starts[: n_tr + n_va]])
        x, y = windows[:, :-1], windows[:, 1:]
        return {
            "xtr": x[:n_tr],
            "ytr": y[:n_tr],
            "xva": x[n_tr:],
            "yva": y[n_tr:],
            "n_out": 256,
            "task": "lm",
        }
    if loss == "mse":
        x, y = _regression(name, rng, n_tr + n_va)
        n_out, task = 1, "reg"
    elif loss == "ae":  # reconstruction: the target is the input
        x, _ = _classification(name, rng, max(n_tr + n_va, 800))
        y, n_out, task = x, x.shape[1], "reg"
    else:
        x, y = _classification(name, rng, max(n_tr + n_va, 800))
        n_out, task = int(y.max()) + 1, "clf"
    order = rng.permutation(len(x))
    x, y = x[order], y[order]
    n_va = min(n_va, len(x) // 4)
    xva, yva, xtr, ytr = x[:n_va], y[:n_va], x[n_va : n_va + n_tr], y[n_va : n_va + n_tr]
    if cfg["label_noise"] and task == "clf":
        flip = rng.random(len(ytr)) < cfg["label_noise"]
        ytr = ytr.copy()
        ytr[flip] = rng.integers(0, n_out, int(flip.sum()))
    return {"xtr": xtr, "ytr": ytr, "xva": xva, "yva": yva, "n_out": n_out, "task": task}


def batches(cfg: dict[str, Any], n: int, ytr: np.ndarray):
    """Index arrays, one per step: shuffled each epoch, or in label order when sort_by_label."""
    rng = np.random.default_rng(cfg["seed"] + 104729)
    bs = cfg["batch"]
    order = np.argsort(ytr[:, 0] if ytr.ndim > 1 else ytr, kind="stable")
    while True:
        if not cfg["sort_by_label"]:
            order = rng.permutation(n)
        for i in range(0, n - bs + 1, bs):
            yield order[i : i + bs]


def lr_factor(cfg: dict[str, Any], step: int) -> float:
    """The schedule's multiplier of the base rate at an optimizer step."""
    total, kind = max(cfg["steps"], 1), cfg["sched"]
    t = step / total
    if kind == "warmup":
        w = 0.2
        return (step + 1) / (w * total) if t < w else max(0.0, (1 - t) / (1 - w))
    if kind == "cosine":
        return 0.5 * (1 + np.cos(np.pi * t))
    if kind == "cosine_restarts":
        period = total / 4
        return 0.5 * (1 + np.cos(np.pi * ((step % period) / period)))
    if kind == "step":
        return 0.3 ** int(3 * t)
    if kind == "linear":
        return max(0.0, 1 - t)
    return 1.0


def run_jobs(trainers: dict, jobs_file: str) -> int:
    """Train each (config, run_dir) of a jobs file with the writer's trainer; one failure is
    reported and skipped. ``config.json`` is written last: it marks a finished run."""
    import copy
    import json
    import time
    from pathlib import Path

    for cfg, run_dir in json.loads(Path(jobs_file).read_text()):
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        t0 = time.process_time()
        try:
            trainers[cfg["writer"]](copy.deepcopy(cfg), run_dir)
        except Exception as exc:  # one broken run must not stop the others
            print(f"{cfg['name']}: FAILED {type(exc).__name__}: {exc}", flush=True)
            continue
        (run_dir / "config.json").write_text(json.dumps(cfg, indent=1, sort_keys=True))
        print(f"{cfg['name']}: {time.process_time() - t0:.1f} s CPU", flush=True)
    return 0


def injected_pause(cfg: dict[str, Any], step: int, times: list[float], spent: float) -> float:
    """The slowdown pathology: from ``slowdown_at`` on, sleep 6x the median CPU time of the
    steps so far (a wait that no CPU load can imitate, as throughput is CPU time + sleep)."""
    import time

    times.append(spent)
    if cfg["slowdown_at"] and step >= cfg["slowdown_at"] * cfg["steps"]:
        pause = 6 * float(np.median(times[: max(5, step // 2)]))
        time.sleep(pause)
        return pause
    return 0.0
