"""Advice: explicit rules from findings to changes, each citing the findings behind it.

A rule is a plain function ``(run, found) -> Iterable[Advice]``; ``found`` maps a finding code
to its (worst) finding, counting only warnings and errors, so a healthy run, whose findings
are at most ``info``, gets no advice. :data:`ADVICE_RULES` is the ordered table;
:func:`advise` runs it and resolves conflicts (never "raise and lower the learning rate").

Where the numbers come from:
- the Deep Learning Tuning Playbook (Godbole et al., 2023): learning rates searched on a log
  scale, so a correction is a factor of ~3 (half a decade) or 10; warmup against early
  instability; clipping at the 90th percentile of the gradient norms of healthy steps, and
  "if more than half the steps would be clipped, lower the learning rate instead";
- framework defaults: PyTorch ``ReduceLROnPlateau`` (factor 0.1, patience 10), SGD momentum
  0.9, AdamW weight decay 0.01, the Hugging Face Trainer's ``max_grad_norm`` 1.0;
- large-model practice (e.g. OPT, PaLM logbooks): Adam beta2 0.95 against loss spikes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from .measures import finite
from .model import Advice, Finding, Run
from .thresholds import ADVICE

AdviceRule = Callable[[Run, Mapping[str, Finding]], Iterable[Advice]]

INSTABILITY = ("loss_divergence", "exploding_gradients", "loss_oscillation", "loss_spikes")
_LR_HPARAMS = ("learning_rate", "lr", "optimizer.lr", "optim.lr", "base_lr", "max_lr")
_OPTIMIZER_HPARAMS = ("optimizer", "optim", "optimizer_name", "opt")


def current_lr(run: Run) -> float | None:
    """The peak learning rate of the run: from the logged LR tag, else from the hparams."""
    lr = run.series("learning_rate")
    if lr is not None and len(finite(lr)):
        peak = float(finite(lr).max())
        if peak > 0:
            return peak
    for key in _LR_HPARAMS:
        value = run.hparams.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return float(value)
    return None


def current_optimizer(run: Run) -> str | None:
    """The optimizer's name (lower case) from the hparams or a Lightning ``lr-<Name>`` tag."""
    for key in _OPTIMIZER_HPARAMS:
        value = run.hparams.get(key)
        if isinstance(value, str) and value:
            return value.lower()
    tag = run.roles.get("learning_rate", "")
    if tag.lower().startswith("lr-"):
        return tag[3:].split("-")[0].lower()
    return None


def _scaled(run: Run, factor: float) -> float | None:
    lr = current_lr(run)
    return None if lr is None else float(f"{lr * factor:.3g}")


def _span(run: Run) -> tuple[int, int] | None:
    """First and last step of the training loss (tags may count steps differently: Keras
    logs per epoch, other tags per iteration, so the loss's own axis is the one to use)."""
    loss = run.series("train_loss")
    steps = loss.index if loss is not None and len(loss) else run.scalars["step"]
    return (int(steps.min()), int(steps.max())) if len(steps) else None


def _early(finding: Finding, run: Run, share: float = 0.1) -> bool:
    """Whether a finding starts in the first ``share`` of the run's steps."""
    span = _span(run)
    if finding.steps is None or span is None:
        return False
    first, last = span
    return finding.steps[0] - first <= share * max(1, last - first)


# The numbers the rules decide with, and their sources: analyzer/thresholds.py (AdviceLimits).
_BORN_EXPLODED_NORM = ADVICE.born_exploded_norm
_MIN_CLIP = ADVICE.min_clip


def _born_exploded(run: Run, found: Mapping[str, Finding]) -> bool:
    """Exploding gradients that were huge from the first steps instead of growing: a bad
    initialisation or scale, which a lower learning rate or clipping does not fix (in the
    corpus retraining, lowering the rate made 8 of 12 such runs worse; re-initialising fixed
    all of them). Huge from the start: the early median is already large, and the norm either
    never grew much (< 10x) or peaked in the first 10% of the run."""
    f = found.get("exploding_gradients")
    if f is None or "loss_divergence" in found:
        return False
    early = f.evidence.get("early_median_grad_norm")
    growth = f.evidence.get("growth")
    if not isinstance(early, float) or early < _BORN_EXPLODED_NORM:
        return False
    # growth None: no point before the peak to grow from, huge from the first points.
    return (
        growth is None
        or (isinstance(growth, float) and growth < 10)
        or _early(
            Finding(
                code=f.code, severity=f.severity, title=f.title, steps=f.steps and (f.steps[1],) * 2
            ),
            run,
        )
    )


def lower_learning_rate(run: Run, found: Mapping[str, Finding]) -> Iterable[Advice]:
    """Divergence, exploding gradients or oscillation: lower the learning rate (x0.1 or x0.3).

    A NaN or a loss above its start means the rate is an order of magnitude off (x0.1); swings
    and growing gradients call for half a decade (x0.3) (Playbook: log-scale corrections).
    """
    codes = [
        c for c in ("loss_divergence", "exploding_gradients", "loss_oscillation") if c in found
    ]
    if _born_exploded(run, found):
        codes.remove("exploding_gradients")  # the architecture rule fixes the scale
    if not codes and _stuck_at_constant_lr(run, found):
        # A loss that never left its starting level under a constant rate: the commonest
        # cause is a rate too high to settle into any minimum (a loss pinned at chance), and
        # the strongest evidence points at the rate itself, not at a schedule or warm-up.
        yield Advice(
            parameter="learning_rate",
            action="decrease",
            factor=0.3,
            value=_scaled(run, 0.3),
            because=("plateau",),
            rationale="The loss never learned while the learning rate stayed constant; "
            "try 0.3x the rate first (then check the labels and the loss if it still sits "
            "at chance).",
        )
        return
    if not codes:
        return
    severe = any(found[c].severity == "error" for c in codes if c != "loss_oscillation")
    factor = 0.1 if severe else 0.3
    yield Advice(
        parameter="learning_rate",
        action="decrease",
        factor=factor,
        value=_scaled(run, factor),
        because=tuple(codes),
        rationale=(
            f"The loss or gradients are unstable; multiply the learning rate by {factor}"
            + (" (it was an order of magnitude too high)." if severe else ".")
        ),
    )


def _stuck_at_constant_lr(run: Run, found: Mapping[str, Finding]) -> bool:
    """A never-learned plateau under a logged learning rate that never changed."""
    f = found.get("plateau")
    if f is None or not f.evidence.get("never_learned"):
        return False
    lr = run.series("learning_rate")
    if lr is None or not len(finite(lr)):
        return False
    v = finite(lr).to_numpy(dtype=float)
    return bool(v.max() > 0 and v.min() >= 0.99 * v.max())


def raise_learning_rate(run: Run, found: Mapping[str, Finding]) -> Iterable[Advice]:
    """Slow convergence without any instability: raise the learning rate (x3, or x10)."""
    f = found.get("slow_convergence")
    if f is None or any(c in found for c in INSTABILITY) or _plain_sgd(run):
        return  # plain SGD: momentum 0.9 (tune_optimizer) already takes ~10x larger steps
    drop = f.evidence.get("relative_drop")
    factor = 10.0 if isinstance(drop, float) and drop < 0.1 else 3.0
    yield Advice(
        parameter="learning_rate",
        action="increase",
        factor=factor,
        value=_scaled(run, factor),
        because=("slow_convergence",),
        rationale=(
            f"The loss is still falling steadily but slowly and nothing is unstable: try "
            f"{factor:g}x the learning rate (or train longer)."
        ),
    )


def warmup(run: Run, found: Mapping[str, Finding]) -> Iterable[Advice]:
    """Instability in the first 10% of the run: add a learning-rate warmup over those steps."""
    early = [c for c in ("loss_divergence", "exploding_gradients", "loss_spikes") if c in found]
    if _born_exploded(run, found):
        early.remove("exploding_gradients")  # a scale problem: no schedule fixes it
    early = [c for c in early if _early(found[c], run)]
    if not early:
        return
    onset = min(int(found[c].steps[0]) for c in early if found[c].steps is not None)  # type: ignore[index]
    first, last = _span(run) or (onset, onset)
    steps = max(2 * (onset - first), int(0.05 * (last - first)), 10)
    yield Advice(
        parameter="lr_schedule",
        action="set",
        value="warmup",
        extra={"warmup_steps": steps},
        because=tuple(early),
        rationale=(
            f"Training became unstable early (step {onset}); ramp the learning rate up "
            f"linearly over the first {steps} steps."
        ),
    )


def decay_on_plateau(run: Run, found: Mapping[str, Finding]) -> Iterable[Advice]:
    """A plateau at a high learning rate: reduce the rate on plateau from where it began.

    Patience 2 evaluations, not PyTorch's default 10: in the corpus retraining, patience 10
    left 6 of 11 plateaued runs unchanged; patience 2 improved 8 of 11.
    """
    f = found.get("plateau")
    if f is None or f.evidence.get("never_learned"):
        return  # a run that never learned has nothing to decay from
    start = f.evidence.get("plateau_start_step")
    yield Advice(
        parameter="lr_schedule",
        action="set",
        value="reduce_on_plateau",
        extra={"gamma": 0.1, "patience": 2, "start_step": start},
        because=("plateau",),
        rationale=(
            f"The loss has been flat since step {start} with the learning rate unchanged; "
            "multiply it by gamma = 0.1 when the validation loss has not improved for 2 "
            "evaluations (PyTorch's ReduceLROnPlateau factor; its default patience of 10 "
            "never triggers in a run with few evaluations left), or decay it on a cosine "
            "schedule from there."
        ),
    )


def clip_gradients(run: Run, found: Mapping[str, Finding]) -> Iterable[Advice]:
    """Exploding gradients or spikes: clip at the 90th percentile of healthy grad norms.

    Healthy steps are those before the first gradient finding's span whose norm is within 10x
    the early median. If more than half of all steps would be clipped at that value, clipping
    would throttle normal training: the learning-rate rule is the remedy instead (the
    Playbook's advice).
    """
    codes = [c for c in ("exploding_gradients", "loss_spikes") if c in found]
    if _born_exploded(run, found):
        codes = [c for c in codes if c != "exploding_gradients"]
    if not codes:
        return
    g = run.series("grad_norm")
    if g is None or len(finite(g)) < 5:
        yield Advice(
            parameter="gradient_clipping",
            action="enable",
            value=1.0,
            because=tuple(codes),
            rationale="Clip the global gradient norm (1.0 is the Hugging Face Trainer's "
            "default); log the gradient norm to choose the threshold from data.",
        )
        return
    values = finite(g)
    spans = [found[c].steps for c in codes if found[c].steps is not None]
    onset = min(s[0] for s in spans) if spans else int(values.index[-1]) + 1  # type: ignore[index]
    # Healthy: before the trouble, and not already grown (> 10x the early median), since a
    # finding's span may start only where the norm became NaN.
    early = float(np.median(values.to_numpy(dtype=float)[: max(3, len(values) // 10)]))
    healthy = values[(values.index < onset) & (values <= 10 * early)]
    if len(healthy) < 5:
        healthy = values[values <= 10 * early]
    threshold = float(np.percentile(healthy.to_numpy(dtype=float), 90))
    clipped_share = float(np.mean(values.to_numpy(dtype=float) > threshold))
    if threshold < _MIN_CLIP or clipped_share > ADVICE.max_clipped_share:
        return
    yield Advice(
        parameter="gradient_clipping",
        action="enable",
        value=float(f"{threshold:.3g}"),
        extra={"clipped_share": float(f"{clipped_share:.3g}")},
        because=tuple(codes),
        rationale=(
            f"Clip the global gradient norm at {threshold:.3g}, the 90th percentile of the "
            f"norms before trouble started; {clipped_share:.0%} of this run's steps would "
            "have been clipped."
        ),
    )


def tune_optimizer(run: Run, found: Mapping[str, Finding]) -> Iterable[Advice]:
    """Plain SGD that oscillates or crawls: add momentum 0.9; Adam with spikes: beta2 0.95."""
    opt = current_optimizer(run)
    if opt is None:
        return
    stuck = [c for c in ("loss_oscillation", "slow_convergence") if c in found]
    if opt == "sgd" and stuck and not _has_momentum(run):
        yield Advice(
            parameter="optimizer",
            action="set",
            value="sgd_momentum",
            extra={"momentum": 0.9},
            because=tuple(stuck),
            rationale="Plain SGD oscillates or crawls; momentum 0.9 (the usual default) damps "
            "the swings and speeds progress along consistent directions.",
        )
    if opt.startswith("adam") and "loss_spikes" in found:
        # The run already uses Adam: the change is its beta2, not the optimizer, so no value
        # (which would read "set optimizer to adam" to a run that uses Adam).
        yield Advice(
            parameter="optimizer",
            action="set",
            extra={"betas": (0.9, 0.95)},
            because=("loss_spikes",),
            rationale="Loss spikes with Adam: beta2 = 0.95 (instead of 0.999) lets the second "
            "moment follow sudden gradient growth, as large-model training does.",
        )


def _has_momentum(run: Run) -> bool:
    """Whether the hparams show a non-zero momentum (``momentum``, ``optimizer.momentum``...)."""
    return any(
        "momentum" in k.lower()
        and isinstance(v, (int, float))
        and not isinstance(v, bool)
        and v > 0
        for k, v in run.hparams.items()
    )


def _plain_sgd(run: Run) -> bool:
    return current_optimizer(run) == "sgd" and not _has_momentum(run)


def regularize(run: Run, found: Mapping[str, Finding]) -> Iterable[Advice]:
    """Overfitting: stop early at the best validation step, and raise weight decay."""
    f = found.get("overfitting")
    if f is None:
        return
    best = f.evidence.get("best_step")
    after = f.evidence.get("share_of_steps_after_best")
    yield Advice(
        parameter="early_stopping",
        action="enable",
        value=best,
        because=("overfitting",),
        rationale=f"The best validation score came at step {best}"
        + (
            f"; {after:.0%} of the steps after it only overfit."
            if isinstance(after, float)
            else "."
        ),
    )
    wd = run.hparams.get("weight_decay")
    known = isinstance(wd, (int, float)) and not isinstance(wd, bool) and wd > 0
    yield Advice(
        parameter="weight_decay",
        action="increase" if known else "set",
        factor=10.0 if known else None,
        value=float(wd) * 10 if known else 0.01,  # type: ignore[arg-type]
        because=("overfitting",),
        rationale="Regularise: "
        + ("ten times the weight decay." if known else "weight decay 0.01 (AdamW's default)."),
    )


def architecture(run: Run, found: Mapping[str, Finding]) -> Iterable[Advice]:
    """Vanishing, dead or born-exploded: hints on normalization, residuals, initialization."""
    hints: list[tuple[str, str, tuple[tuple[str, str], ...]]] = []
    if "vanishing_gradients" in found:
        hints.append(("vanishing_gradients", "Gradients vanish toward the input", (
            ("normalization", "normalisation layers (BatchNorm/LayerNorm) keep activations in "
             "the range where gradients flow"),
            ("residual", "residual connections give gradients a short path to early layers"),
        )))  # fmt: skip
    if "dead_units" in found:
        # Re-initialising helped 8 of 10 dead-unit runs in the corpus retraining; switching
        # to LeakyReLU only 3 of 10, so that is not advised.
        hints.append(("dead_units", "Many ReLU units output zero for every input", (
            ("initialization", "He (Kaiming) initialisation with zero biases starts units in "
             "their active range"),
        )))  # fmt: skip
    if _born_exploded(run, found):
        hints.append(("exploding_gradients", "The gradient norm was huge from the first steps", (
            ("initialization", "a variance-preserving initialisation (Kaiming/Xavier, gain 1) "
             "starts the gradients at a sane scale"),
            ("normalization", "normalisation layers keep activations, and so gradients, "
             "bounded"),
        )))  # fmt: skip
    for code, lead, pairs in hints:
        for hint, why in pairs:
            yield Advice(
                parameter="architecture",
                action="set",
                value=hint,
                because=(code,),
                rationale=f"{lead}: {why}.",
            )


ADVICE_RULES: tuple[AdviceRule, ...] = (
    lower_learning_rate,
    raise_learning_rate,
    warmup,
    decay_on_plateau,
    clip_gradients,
    tune_optimizer,
    regularize,
    architecture,
)

_ALARMS = ("warning", "error")


def advise(run: Run, findings: Sequence[Finding]) -> tuple[Advice, ...]:
    """Run every rule on the run's warnings and errors; merge and resolve conflicts."""
    found: dict[str, Finding] = {}
    for f in findings:
        if f.severity in _ALARMS and (f.code not in found or f.severity == "error"):
            found[f.code] = f
    if not found:
        return ()
    advice = [a for rule in ADVICE_RULES for a in rule(run, found)]
    return merge_advice(advice)


def merge_advice(advice: Sequence[Advice]) -> tuple[Advice, ...]:
    """One item per (parameter, action, value); never both raise and lower one parameter.

    Items on the same parameter and action unite their ``because``; the more cautious factor
    wins (the smaller one for a decrease). When a parameter is both increased and decreased,
    the decrease wins: stability comes before speed.
    The cautious factor is kept: the smaller one, for a decrease as for an increase. Early
    stopping at the old best step is dropped when the training itself is to change.
    """
    merged: dict[tuple[str, str, object], Advice] = {}
    for a in advice:
        key = (a.parameter, a.action, a.value if a.action == "set" else None)
        old = merged.get(key)
        if old is None:
            merged[key] = a
            continue
        because = tuple(dict.fromkeys(old.because + a.because))
        # The cautious factor is the smaller one: a bigger cut, or a smaller raise.
        keep = (
            a if a.factor is not None and old.factor is not None and a.factor < old.factor else old
        )
        merged[key] = Advice(
            parameter=keep.parameter,
            action=keep.action,
            factor=keep.factor,
            value=keep.value,
            extra=keep.extra,
            because=because,
            rationale=keep.rationale,
        )
    decreased = {p for p, action, _ in merged if action == "decrease"}
    kept = [
        a for (p, action, _), a in merged.items() if not (action == "increase" and p in decreased)
    ]
    # The best step belongs to the old training: once the rate, schedule, optimizer or model
    # change, stopping at it stops the new run too early (seen in the corpus retraining).
    retrained = {"learning_rate", "lr_schedule", "optimizer", "architecture"}
    if any(a.parameter in retrained for a in kept):
        kept = [a for a in kept if a.parameter != "early_stopping"]
    return tuple(kept)
