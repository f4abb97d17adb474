"""The diagnostics: plain functions registered in one table, :data:`REGISTRY`.

A diagnostic is ``(run, thresholds) -> Iterable[Finding]``; its code is its function name,
its docstring says what it checks and how (the first line appears in the report), and it
declares the roles it needs. When none of its alternatives of roles is present it is skipped,
and the run gets a single ``no_signal`` finding listing what was missing and what was skipped.
A diagnostic that raises does not lose the report: the error is recorded on the run
(``strict=True`` re-raises, for tests).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np

from ..model import Finding, Run, evidence
from ..settings import Thresholds

Diagnostic = Callable[[Run, Thresholds], Iterable[Finding]]
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Spec:
    """A registered diagnostic: its code, the role sets it can work from, the function."""

    code: str
    requires: tuple[tuple[str, ...], ...]  # alternatives: any one complete set suffices
    func: Diagnostic

    def runnable(self, available: set[str]) -> bool:
        """Whether one of the required role sets is available."""
        return any(set(option) <= available for option in self.requires)

    @property
    def doc(self) -> str:
        """The first line of the docstring: what this checks, for people."""
        return (self.func.__doc__ or "").strip().splitlines()[0]


REGISTRY: dict[str, Spec] = {}


def diagnostic(*requires: tuple[str, ...]) -> Callable[[Diagnostic], Diagnostic]:
    """Register a diagnostic under its function name (== its finding code).

    ``requires`` lists alternative role sets, e.g. ``("grad_norm",), ("grad_norm_layers",)``.
    """

    def register(func: Diagnostic) -> Diagnostic:
        code = func.__name__
        if code in REGISTRY:
            raise ValueError(f"duplicate diagnostic {code!r}")
        REGISTRY[code] = Spec(code, tuple(requires), func)
        return func

    return register


@dataclass(frozen=True, slots=True)
class Outcome:
    """The findings of one run, the diagnostics that crashed, and what was not checked."""

    findings: tuple[Finding, ...]
    errors: tuple[str, ...]
    notes: tuple[str, ...] = ()  # "not logged, so not checked": a note, not a finding


def available_roles(run: Run) -> set[str]:
    """The roles (and layer families) a run has at least one point of."""
    return set(run.roles) | {k for k, v in run.layer_tags.items() if v}


def run_diagnostics(run: Run, t: Thresholds, *, strict: bool = False) -> Outcome:
    """Run every registered diagnostic that the run's roles allow.

    A training loss with only a few points still reaches the diagnostics: a NaN is a
    divergence however few finite points there are, and a loss sitting at chance for all of
    four epochs has not learned. Each diagnostic asks for the points its measure needs.
    """
    available = available_roles(run)
    findings: list[Finding] = []
    errors: list[str] = []
    skipped: list[Spec] = []
    for spec in REGISTRY.values():
        if not spec.runnable(available):
            skipped.append(spec)
            continue
        try:
            findings.extend(spec.func(run, t))
        except Exception as exc:
            if strict:
                raise
            log.warning("diagnostic %s failed on run %s: %s", spec.code, run.name, exc)
            errors.append(f"{spec.code}: {type(exc).__name__}: {exc}")
    findings = _without_explained(findings)
    findings.extend(_no_signal(run, t, findings, available))
    notes: tuple[str, ...] = _few_points_note(run, t, findings)
    if skipped and "train_loss" in available:
        missing = sorted(
            {role for spec in skipped for option in spec.requires for role in option} - available
        )
        notes += (
            f"not logged, so not checked: {', '.join(s.code for s in skipped)} "
            f"(no {', '.join(missing)})",
        )
    return Outcome(tuple(findings), tuple(errors), notes)


def _no_signal(
    run: Run, t: Thresholds, findings: list[Finding], available: set[str]
) -> list[Finding]:
    """What makes the run impossible to diagnose, as warnings (never an optimizer verdict)."""
    out = []
    tags = int(run.scalars["tag"].nunique()) if not run.scalars.empty else 0
    loss_tag = run.roles.get("train_loss")
    if loss_tag is None and "reward" not in available:
        out.append(
            Finding(
                code="no_signal",
                severity="warning",
                title="No training loss found: the run cannot be diagnosed"
                + (" (only gradient norms were checked)" if findings else ""),
                evidence=evidence(missing_roles="train_loss", scalar_tags=tags, points=0),
            )
        )
    elif loss_tag is not None:
        points = int(np.isfinite(run.tag_series(loss_tag).to_numpy(float)).sum())
        judged = any(f.series == loss_tag or f.code in _LOSS_CODES for f in findings)
        if points < t.min_points and not judged and not _evaluated(run, t):
            out.append(
                Finding(
                    code="no_signal",
                    severity="warning",
                    title=f"Too few training-loss points in {loss_tag!r} to diagnose the run "
                    f"({points})",
                    series=loss_tag,
                    evidence=evidence(points=points, threshold_points=t.min_points),
                )
            )
    val = run.series("val_loss")
    train_finite = loss_tag is not None and bool(
        np.isfinite(run.tag_series(loss_tag).to_numpy(float)).any()
    )
    val_all_bad = val is not None and len(val) and not np.isfinite(val.to_numpy(float)).any()
    if train_finite and val is not None and val_all_bad:
        # Bad validation data (NaN targets, an empty split), not an unstable optimizer.
        out.append(
            Finding(
                code="no_signal",
                severity="warning",
                title="Validation loss is NaN/Inf at every evaluation: check the validation "
                "data and targets (the training itself is judged on its own loss)",
                steps=(int(val.index[0]), int(val.index[-1])),
                series=run.roles["val_loss"],
                chart=(run.roles["val_loss"], *([loss_tag] if loss_tag else [])),
                evidence=evidence(nonfinite_val_points=len(val), points=len(val)),
            )
        )
    return out


def _evaluated(run: Run, t: Thresholds) -> bool:
    """Whether a short run was evaluated as it trained: a finite validation loss at each of
    at least as many evaluations as it has training-loss points (>= 2). Such a run ran its
    (short) schedule, a three-epoch Keras fit or fine-tune: that its loss has too few points to
    judge is a limit of the evidence, not a problem of the run (one with a handful of training
    points and no evaluation more likely stopped early)."""
    loss_tag = run.roles.get("train_loss")
    val = run.series("val_loss")
    if loss_tag is None or val is None:
        return False
    points = int(np.isfinite(run.tag_series(loss_tag).to_numpy(float)).sum())
    evaluations = int(np.isfinite(val.to_numpy(float)).sum())
    return 2 <= points < t.min_points and evaluations >= points


def _few_points_note(run: Run, t: Thresholds, findings: list[Finding]) -> tuple[str, ...]:
    loss_tag = run.roles.get("train_loss")
    if loss_tag is None or not _evaluated(run, t):
        return ()
    if any(f.series == loss_tag or f.code in _LOSS_CODES for f in findings):
        return ()
    points = int(np.isfinite(run.tag_series(loss_tag).to_numpy(float)).sum())
    return (
        f"only {points} training-loss points in {loss_tag!r}: the loss's shape (plateau, "
        f"oscillation, spikes, convergence) was not judged (at least {t.min_points} needed)",
    )


# A loss that never learned is the symptom of these causes: when one is found, the cause is
# what the reader should act on, and the symptom is not reported again. Gradients that
# exploded, or a loss that diverged, threw the weights off (a blow-up in the first steps that
# left the model at chance).
_CAUSES_OF_NOT_LEARNING = (
    "vanishing_gradients",
    "dead_units",
    "exploding_gradients",
    "loss_divergence",
)
# A step too large shows as these: a loss that diverges or swings, gradients that explode.
_STEP_TOO_LARGE = ("loss_divergence", "loss_oscillation", "exploding_gradients")


def _explained(f: Finding, findings: list[Finding]) -> bool:
    """Whether ``f`` is a symptom of another finding of the same run, reported instead.

    - A loss that never learned, when gradients vanish or explode, units are dead or the loss
      diverged (the cause).
    - A loss that went flat after learning while it swings or spikes: the swings of a step
      too large, or the kicks of bad batches the weights recover from, are what keep it from
      settling (the oscillation's advice, a smaller rate, is the plateau's too; once the bad
      batches are gone, what is left of the plateau shows). A flat loss that diverged: the
      divergence is what to act on (a blow-up in the first steps leaves the loss flat where
      the broken network puts it, and its peak in the "start" reads as learning).
    - A loss that converges slowly while it diverges or swings: its swings, not the number of
      steps or a small rate, hold it up (slow convergence's advice, a larger rate, would make
      them worse).
    - Swings of a loss that diverges: the divergence is the problem, the swings its path.
    - Jumps of a loss that oscillates together with its validation loss: they are the peaks
      of a swing the whole model makes (unshuffled data), not isolated bad batches.
    """
    alarms = [g for g in findings if g is not f and g.severity != "info"]
    if f.code == "plateau" and f.evidence.get("never_learned"):
        return any(g.code in _CAUSES_OF_NOT_LEARNING for g in alarms)
    if f.code == "plateau":
        return any(
            g.code in ("loss_divergence", "loss_oscillation", "loss_spikes")
            and g.series == f.series
            for g in alarms
        )
    if f.code == "slow_convergence":
        return any(
            g.code in ("loss_divergence", "loss_oscillation") and g.series == f.series
            for g in alarms
        )
    if f.code == "loss_oscillation":
        return any(g.code == "loss_divergence" and g.series == f.series for g in alarms)
    if f.code == "loss_spikes":
        return any(
            g.code == "loss_oscillation"
            and g.series == f.series
            and g.evidence.get("judged_against") == "validation loss"
            for g in alarms
        )
    return False


def _died_of_the_step(f: Finding, findings: list[Finding]) -> bool:
    """Dead units that were alive at the first histogram, in a run whose step is too large
    (the loss diverges or swings, or its gradients explode): the classic dying ReLU of a high
    learning rate. The step size is what to act on; the dead units stay in the report as
    ``info`` (a change of init or activation would not help while the step is too large)."""
    if f.code != "dead_units" or f.severity == "info":
        return False
    at_first = f.evidence.get("worst_first_zero_share")
    threshold = f.evidence.get("threshold_share", 1.0)
    dead_from_start = not isinstance(at_first, float) or at_first >= float(threshold or 1.0)
    return not dead_from_start and any(
        g.code in _STEP_TOO_LARGE and g.severity != "info" for g in findings if g is not f
    )


def _without_explained(findings: list[Finding]) -> list[Finding]:
    """The findings without the symptoms of others (:func:`_explained`), dead units that died
    of the step size lowered to info first (:func:`_died_of_the_step`)."""
    findings = [
        replace(
            f,
            severity="info",
            title=f"{f.title}, dying as training went while the step was too large "
            "(see the loss and gradient findings)",
        )
        if _died_of_the_step(f, findings)
        else f
        for f in findings
    ]
    return [f for f in findings if not _explained(f, findings)]


_LOSS_CODES = ("loss_divergence", "plateau", "slow_convergence")


# Importing the modules registers their diagnostics, in this order (convergence's after the
# other loss diagnostics, as they were when one module held them).
from . import activations, generalization, gradients, loss  # noqa: E402, F401

# isort: split
from . import convergence, plateau, throughput  # noqa: E402, F401
