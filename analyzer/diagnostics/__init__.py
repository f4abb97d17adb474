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
from dataclasses import dataclass

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
    """The findings of one run, and the diagnostics that crashed."""

    findings: tuple[Finding, ...]
    errors: tuple[str, ...]


def run_diagnostics(run: Run, t: Thresholds, *, strict: bool = False) -> Outcome:
    """Run every registered diagnostic that the run's roles allow."""
    available = set(run.roles) | {k for k, v in run.layer_tags.items() if v}
    train_loss = run.series("train_loss")
    if train_loss is not None and np.isfinite(train_loss.to_numpy(float)).sum() < t.min_points:
        available.discard("train_loss")  # a handful of points says nothing about training
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
    if skipped:
        findings.append(_no_signal(run, skipped, available))
    return Outcome(tuple(findings), tuple(errors))


def _no_signal(run: Run, skipped: list[Spec], available: set[str]) -> Finding:
    missing = sorted(
        {role for spec in skipped for option in spec.requires for role in option} - available
    )
    core_missing = "train_loss" not in available
    few = run.roles.get("train_loss")
    title = (
        (
            f"Too few training-loss points in {few!r} to diagnose the run"
            if few
            else "No training loss found: the run cannot be diagnosed"
        )
        if core_missing
        else f"Not logged, so not checked: {', '.join(s.code for s in skipped)}"
    )
    return Finding(
        code="no_signal",
        severity="warning" if core_missing else "info",
        title=title,
        steps=None,
        evidence=evidence(
            missing_roles=", ".join(missing),
            skipped=", ".join(s.code for s in skipped),
            scalar_tags=int(run.scalars["tag"].nunique()) if not run.scalars.empty else 0,
        ),
    )


# Importing the modules registers their diagnostics, in this order.
from . import activations, generalization, gradients, loss, throughput  # noqa: E402, F401
