"""The losses of a run that logs several: the total, its parts, and what each can be judged on.

Writers log several losses: YOLO box/obj/cls, detectron2's ``total_loss`` and its
``loss_*`` parts, a GAN's generator and discriminator, RL policy/value/entropy losses, the
heads of a multi-task model. Which checks mean something depends on the kind of loss:

- ``total``: the run's training loss when its writer defines it as the total of the others
  (``total_loss``, ``loss``, ``train/loss`` beside ``loss_*`` parts). Every check.
- ``main``: the run's training loss when it is not such a total (one of YOLO's parts).
- ``part``: a term of the objective (detectron2's ``loss_mask``, a multi-task head): NaN,
  divergence, spikes, and "never learned" when it sits at chance while the total learns.
- ``same``: the training loss again, aggregated otherwise (Lightning ``train_loss_epoch``
  beside ``train_loss_step``, the Hugging Face Trainer's final ``train/train_loss``): NaN and
  divergence only, its shape is the training loss's.
- ``adversarial``: a GAN's generator or discriminator loss. Each rises when the other wins;
  a rise or a swing is the game, not divergence. NaN only.
- RL losses (value, policy, entropy) are judged by the run's reward; NaN only (see
  :func:`is_rl`).

Per code: ``loss_divergence`` (NaN) on every loss, (climb) on all but GAN and RL losses;
``loss_spikes`` on the training loss and every part (a bad batch may reach one term only);
``plateau`` on the training loss, and on a part only when it sits at chance (a flat term may
be a regularizer); ``loss_oscillation`` and ``slow_convergence`` on the training loss only:
whether the objective descends, and how fast, is the total's to say (the swings of terms
that cancel in the total do not keep it from descending).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ..model import Run

Kind = Literal["total", "main", "part", "same", "adversarial"]

# A GAN's two players by their usual names, as a word of the tag: generator/discriminator,
# gen/disc, critic (WGAN), adversarial, or a lone G/D (loss_G, D_loss, loss/D).
_ADVERSARIAL = re.compile(
    r"(?:^|[/_ .-])(?:gen|generator|disc|discriminator|critic|adv|adversarial|gan|g|d)"
    r"(?:$|[/_ .-])",
    re.IGNORECASE,
)
# What a writer calls the total: loss, total_loss, loss_total, total (after its folder).
_TOTAL = re.compile(r"(?:total[_ .-]?)?loss|loss[_ .-]?total|total", re.IGNORECASE)
# Prefixes and suffixes that name an aggregation or the split, not a different loss.
_AGGREGATION = re.compile(r"^(?:train(?:ing)?[_ .-])?(.*?)(?:[_ .-](?:step|epoch|avg|mean))?$")


@dataclass(frozen=True, slots=True)
class Component:
    """One training loss of a run and its kind (see the module docstring)."""

    tag: str
    kind: Kind


def is_rl(run: Run) -> bool:
    """A reinforcement-learning run: its quality signal is the reward, not a loss.

    Value and TD losses grow as returns grow, so the shape of such a loss (rising, swinging,
    spiking) says nothing about training; only a NaN in it does.
    """
    return "reward" in run.roles


def _leaf(tag: str) -> str:
    return tag.rsplit("/", 1)[-1].strip().lower()


def _base(tag: str) -> str:
    """The loss a tag names, without its folder, split prefix or aggregation suffix."""
    m = _AGGREGATION.match(_leaf(tag))
    return m.group(1) if m else _leaf(tag)


def is_adversarial(tag: str) -> bool:
    """Whether ``tag`` names a GAN player's loss (generator, discriminator, critic)."""
    return bool(_ADVERSARIAL.search(tag))


def components(run: Run) -> tuple[Component, ...]:
    """Every training loss of the run, the main one first, each with its kind."""
    main = run.roles.get("train_loss")
    parts = run.layer_tags.get("loss_parts", ())
    out: list[Component] = []
    kinds: list[Component] = []
    for tag in parts:
        if is_adversarial(tag):
            kinds.append(Component(tag, "adversarial"))
        elif main is not None and _base(tag) == _base(main):
            kinds.append(Component(tag, "same"))
        else:
            kinds.append(Component(tag, "part"))
    if main is not None:
        has_parts = any(c.kind == "part" for c in kinds)
        if is_adversarial(main):
            out.append(Component(main, "adversarial"))
        elif has_parts and _TOTAL.fullmatch(_base(main)):
            out.append(Component(main, "total"))
        else:
            out.append(Component(main, "main"))
    return (*out, *kinds)


def total_of(run: Run) -> str | None:
    """The tag of the run's total loss, when its writer defines one."""
    return next((c.tag for c in components(run) if c.kind == "total"), None)


def main_is_adversarial(run: Run) -> bool:
    """Whether the run's training loss is a GAN player's, whose shape says nothing."""
    main = run.roles.get("train_loss")
    return main is not None and is_adversarial(main)
