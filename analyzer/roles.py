"""Which tag plays which role: inferred from the conventions of real writers, or pinned.

For each role, :data:`ROLE_PATTERNS` lists regular expressions in order; the first pattern that
matches a scalar tag of the run (the whole tag, case-insensitively) wins, and among several tags
matching one pattern the one with the most points wins (then the shortest name). Each pattern
names the writer convention it comes from, which ``dlreport tags`` shows as the reason.
Pinned roles (``--role train_loss=my/tag`` or ``[tool.dlreport.roles]``) beat patterns.

Per-layer families (gradient norms per layer, activation histograms) are lists of tags, ordered
from the input to the output by the layer number in their names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import RoleError

_VAL = r"(?:val|valid|validation|eval|evaluation|dev)"
_TRAIN = r"(?:train|training)"
# _VAL as a whole word ("train/value_loss" is no validation loss)
_VAL_WORD = rf"(?:^|.*[/_ .-]){_VAL}(?:$|[/_ .-].*)"
# Held-out data by any name: validation words, a test/ folder, or a v_/test_ tag prefix
# (TF2 custom loops write train/loss beside test/v_loss).
_HELDOUT = r"(?:val|valid|validation|eval|evaluation|dev|test|v)"
_HELDOUT_WORD = rf"(?:^|.*[/_ .-]){_HELDOUT}(?:$|[/_ .-].*)"

# role -> [(pattern, convention)], tried in order.
ROLE_PATTERNS: dict[str, tuple[tuple[str, str], ...]] = {
    "train_loss": (
        (r"train/loss", "Hugging Face Trainer / Stable-Baselines3 (train/loss)"),
        (r"train_loss", "PyTorch Lightning (train_loss)"),
        (r"train_loss_step", "PyTorch Lightning on_step (train_loss_step)"),
        (r"train_loss_epoch", "PyTorch Lightning on_epoch (train_loss_epoch)"),
        (r"loss/train(?:ing)?", "torch/tensorboardX habit (Loss/train)"),
        (r"train(?:ing)?/epoch_loss", "Keras train/ folder (epoch_loss)"),
        (r"epoch_loss", "Keras (epoch_loss)"),
        (r"loss", "TF1 Estimator / plain (loss)"),
        (r"total_loss", "detectron2 (total_loss)"),
        (rf"{_TRAIN}[/_ .-]?(?:batch_)?loss", "train loss by name"),
        (rf"(?!{_HELDOUT_WORD}).*loss.*", "any loss not marked validation or test"),
    ),
    "val_loss": (
        (r"eval/loss", "Hugging Face Trainer (eval/loss)"),
        (r"val_loss", "PyTorch Lightning (val_loss)"),
        (r"val_loss_epoch", "PyTorch Lightning on_epoch (val_loss_epoch)"),
        (r"loss/(?:val|valid|validation|test_val)", "torch/tensorboardX habit (Loss/val)"),
        (r"validation/epoch_loss", "Keras validation/ folder (epoch_loss)"),
        (rf"{_VAL}[/_ .-]?loss", "validation loss by name"),
        (rf"(?={_VAL_WORD}).*loss.*", "any loss marked validation"),
        (r"(?:.*[/_ .-])?(?:v|test)[_ .-]loss", "held-out loss by prefix (v_loss, test_loss)"),
        (rf"(?={_HELDOUT_WORD}).*loss.*", "any loss in a test/ folder or marked held-out"),
    ),
    "learning_rate": (
        (r"train/learning_rate", "Hugging Face Trainer / Stable-Baselines3"),
        (r"lr-.*", "PyTorch Lightning LearningRateMonitor (lr-Adam, lr-SGD)"),
        (r"learning_rate|lr", "torch/tensorboardX habit"),
        (r"(?:train/)?epoch_learning_rate", "Keras (epoch_learning_rate)"),
        (r"x/lr0", "YOLOv5 (x/lr0)"),
        (r".*(?:^|[/_ .-])(?:lr|learning_rate)(?:$|[/_ .-]).*", "any learning rate by name"),
    ),
    "grad_norm": (
        (r"train/grad_norm", "Hugging Face Trainer (train/grad_norm)"),
        (r"grad_norm|gradient_norm|grad/norm", "torch/tensorboardX habit"),
        (r"grad_2\.0_norm_total|grad_norm_total", "PyTorch Lightning track_grad_norm"),
        (r".*(?:global_norm|global_grad_norm|grad_norm/total)", "global gradient norm by name"),
    ),
    "weight_norm": ((r".*(?:weight_norm|param_norm|weights/norm)", "weight norm by name"),),
    "update_norm": ((r".*(?:update_norm|update_ratio)", "update norm by name"),),
    "train_accuracy": (
        (r"train/acc(?:uracy)?|train_acc(?:uracy)?(?:_epoch|_step)?", "train accuracy"),
        (r"acc(?:uracy)?/train(?:ing)?|train(?:ing)?/epoch_accuracy", "train accuracy"),
    ),
    "val_accuracy": (
        (r"eval/accuracy", "Hugging Face Trainer (eval/accuracy)"),
        (r"val_acc(?:uracy)?(?:_epoch)?", "PyTorch Lightning (val_acc)"),
        (r"validation/epoch_accuracy", "Keras validation/ folder"),
        (rf"{_VAL}[/_ .-]?acc(?:uracy)?|acc(?:uracy)?/{_VAL}", "validation accuracy by name"),
        (r"metrics/accuracy|accuracy|epoch_accuracy", "an accuracy metric"),
        (rf"(?={_HELDOUT_WORD}).*acc(?:uracy)?", "held-out accuracy (test/, v_accuracy)"),
    ),
    # A validation quality metric that is not an accuracy (higher is better): segmentation
    # and detection scores, judged like an accuracy for overfitting.
    "val_metric": (
        (r"metrics/mAP_0\.5", "YOLOv5 (metrics/mAP_0.5)"),
        (r"(?:.*/)?m(?:ean_?)?iou", "segmentation mIoU (detectron2 sem_seg/mIoU)"),
        (r"(?:.*/)?(?:bbox|segm)/AP", "detectron2 COCO AP (bbox/AP)"),
        (r"(?:.*/)?(?:map|mean_ap)(?:[_@]?0?\.?50?)?", "detection mAP by name"),
    ),
    # The quality signal of reinforcement learning: value and TD losses grow as returns grow,
    # so an RL run is judged by its reward.
    "reward": (
        (r"rollout/ep_rew_mean", "Stable-Baselines3 (rollout/ep_rew_mean)"),
        (r"eval/mean_reward", "Stable-Baselines3 EvalCallback (eval/mean_reward)"),
        (r"episode/return|episode_return|episode_reward", "episode return by name"),
        (r".*(?:^|[/_ .-])(?:mean_)?(?:ep_)?(?:rew|reward|return)s?(?:_mean)?", "reward by name"),
    ),
    "train_precision": ((rf"{_TRAIN}[/_ .-]?precision|precision/{_TRAIN}", "train precision"),),
    "val_precision": (
        (rf"{_VAL}[/_ .-]?precision|precision/{_VAL}", "validation precision"),
        (r"metrics/precision|precision", "YOLOv5-style metrics/precision"),
    ),
    "train_recall": ((rf"{_TRAIN}[/_ .-]?recall|recall/{_TRAIN}", "train recall"),),
    "val_recall": (
        (rf"{_VAL}[/_ .-]?recall|recall/{_VAL}", "validation recall"),
        (r"metrics/recall|recall", "YOLOv5-style metrics/recall"),
    ),
    "train_f1": ((rf"{_TRAIN}[/_ .-]?f1|f1/{_TRAIN}", "train F1"),),
    "val_f1": (
        (rf"{_VAL}[/_ .-]?f1(?:_score)?|f1/{_VAL}", "validation F1"),
        (r"(?:metrics/)?f1(?:_score)?", "an F1 metric"),
    ),
    "throughput": (
        # Not eval/... nor a held-out side (test/): the speed of evaluation passes is not the
        # speed of training. TensorFlow says "examples" where torch says "samples" (tf.summary
        # custom loops' examples_per_sec, TF official models' examples/sec).
        (
            rf"(?!eval)(?!{_HELDOUT_WORD})"
            r"(?:throughput/.*|.*(?:samples|examples)(?:_per_|/)sec(?:ond)?)",
            "samples (examples) per second",
        ),
        (
            r"(?!eval).*(?:tokens_per_sec(?:ond)?|steps_per_sec(?:ond)?|it/s|it_per_sec)",
            "rate by name",
        ),
        (r"time/fps", "Stable-Baselines3 (time/fps)"),
        (r"global_step/sec", "TF1 Estimator (global_step/sec)"),
    ),
    "memory": ((r".*(?:memory|mem_|gpu_mem|max_mem).*", "memory by name"),),
    "epoch": ((r"epoch|train/epoch", "epoch counter"),),
}

# Per-layer families: role -> pattern whose group "layer" names the layer.
LAYER_PATTERNS: dict[str, tuple[str, ...]] = {
    "grad_norm_layers": (
        r"(?:grad_norm|grad_2\.0_norm|gradients?|grads?)/(?P<layer>.+?)(?:/norm)?",
        r"(?P<layer>.+)/grad(?:ient)?_norm",
    ),
    # Gradient norms of parts of a model by any name (a GAN's generator and discriminator,
    # "3. Gradient norm - discriminator"): each is checked for NaN and for no gradient at all.
    "grad_norm_parts": (r"(?P<layer>.*grad(?:ient)?[ _.-]?norm.*)",),
    # Every other training loss of the run (YOLO box/obj/cls, detectron2's parts of
    # total_loss, a GAN's generator and discriminator): each is checked for NaN and for
    # divergence, with its name.
    "loss_parts": (rf"(?!{_HELDOUT_WORD})(?P<layer>.*loss.*)",),
}
HISTOGRAM_PATTERNS: dict[str, tuple[str, ...]] = {
    "activations": (r"(?:activations?|relu|acts?)/(?P<layer>.+)", r"(?P<layer>.+)/activations?"),
}
# Tags of a layer family that are really aggregates, not layers.
_NOT_LAYERS = re.compile(r"^(?:norm|total|global|global_norm|all)$")
# Keras writes one folder per side; dlreport reads them as one run with prefixed tags.
SIDE_FOLDERS = {
    "train": "train",
    "validation": "validation",
    "val": "validation",
    "eval": "validation",
}
# Held-out folders that are sides only beside a train/ folder (TF2 custom loops write train/
# and test/); alone, such a folder is a run of its own.
HELDOUT_FOLDERS = {"test": "test", "valid": "validation", "dev": "validation"}
# Rates logged as a running average since training began, not as the rate of the moment:
# Stable-Baselines3's time/fps is (timesteps so far) / (seconds since learn() began), so a
# slowdown half-way through bends it slowly down instead of halving it.
CUMULATIVE_RATES = re.compile(r"(?:^|.*/)time/fps$")

ROLES = tuple(ROLE_PATTERNS)


@dataclass(frozen=True, slots=True)
class RoleChoice:
    """A role's tag and why it was chosen."""

    role: str
    tag: str
    reason: str


@dataclass(frozen=True, slots=True)
class Roles:
    """The resolved roles of one run."""

    choices: tuple[RoleChoice, ...]
    layers: Mapping[str, tuple[str, ...]]

    @property
    def tags(self) -> dict[str, str]:
        """role -> tag."""
        return {c.role: c.tag for c in self.choices}


def infer_roles(
    scalar_points: Mapping[str, int],
    histogram_tags: tuple[str, ...] = (),
    overrides: Mapping[str, str] | None = None,
) -> Roles:
    """Resolve every role from the scalar tags (tag -> points) and histogram tags."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(ROLES) - set(LAYER_PATTERNS) - set(HISTOGRAM_PATTERNS))
    if unknown:
        raise RoleError(f"unknown role(s): {', '.join(unknown)} (known: {', '.join(ROLES)})")
    choices: list[RoleChoice] = []
    taken: set[str] = set()
    for role, patterns in ROLE_PATTERNS.items():
        if role in overrides and overrides[role] in scalar_points:
            tag = overrides[role]
            choices.append(RoleChoice(role, tag, "pinned by the user"))
            taken.add(tag)
            continue
        if role in overrides:
            continue  # pinned to a tag this run lacks: the role stays empty here
        choice = _first_match(role, patterns, scalar_points, taken)
        if choice is not None:
            choices.append(choice)
            taken.add(choice.tag)
    layers: dict[str, tuple[str, ...]] = {}
    for role, layer_patterns in LAYER_PATTERNS.items():
        # Per-layer norms need two layers to compare; a part of a model is checked alone.
        layers[role] = _layer_family(
            layer_patterns, scalar_points, taken, min_members=2 if role == "grad_norm_layers" else 1
        )
        taken.update(layers[role])  # a tag belongs to one family
    layers.update(
        {
            role: _layer_family(patterns, dict.fromkeys(histogram_tags, 1), set(), min_members=1)
            for role, patterns in HISTOGRAM_PATTERNS.items()
        }
    )
    return Roles(choices=tuple(choices), layers={k: v for k, v in layers.items() if v})


def _first_match(
    role: str,
    patterns: tuple[tuple[str, str], ...],
    points: Mapping[str, int],
    taken: set[str],
) -> RoleChoice | None:
    for pattern, convention in patterns:
        rx = re.compile(pattern, re.IGNORECASE)
        hits = [t for t in points if t not in taken and rx.fullmatch(t)]
        if hits:
            best = max(hits, key=lambda t: (points[t], -len(t), t))
            return RoleChoice(role, best, convention)
    return None


def _layer_family(
    patterns: tuple[str, ...], points: Mapping[str, int], taken: set[str], min_members: int
) -> tuple[str, ...]:
    # Scalar families need two members (a lone "grad_norm/x" may be a global norm); a single
    # activation histogram is still a layer to check.
    for pattern in patterns:
        rx = re.compile(pattern, re.IGNORECASE)
        found = []
        for tag in points:
            m = rx.fullmatch(tag)
            if m and tag not in taken and not _NOT_LAYERS.match(m.group("layer")):
                found.append((_layer_order(m.group("layer")), tag))
        if len(found) >= min_members:
            return tuple(tag for _, tag in sorted(found))
    return ()


def _layer_order(layer: str) -> tuple[int, tuple[tuple[int, int, str], ...]]:
    """Input side first: layers by the numbers in their names; an output head last."""
    is_head = bool(re.search(r"(?:^|[._/])(?:head|classifier|output|out|fc_out|logits)", layer))
    parts = tuple(
        (0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", layer) if p
    )
    return (1 if is_head else 0, parts)
