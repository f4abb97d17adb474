"""Properties of the diagnostics over arbitrary series (hypothesis)."""

from __future__ import annotations

import numpy as np
from conftest import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from run_builders import make_run

from analyzer.diagnostics import run_diagnostics
from analyzer.settings import Thresholds

T = Thresholds()
values = st.floats(allow_nan=True, allow_infinity=True, width=32)
series = st.lists(values, min_size=0, max_size=300)


def _run(loss: list[float], grad: list[float], val: list[float], shift: int = 0):
    kwargs = {}
    steps = {}
    for role, v in (("train_loss", loss), ("grad_norm", grad), ("val_loss", val)):
        if v:
            kwargs[role] = np.array(v)
            steps[role] = np.arange(len(v)) * (3 if role == "val_loss" else 1) + shift
    return make_run(steps=steps, **kwargs)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loss=series, grad=series, val=series)
def test_no_diagnostic_raises_and_steps_lie_inside_the_data(loss, grad, val) -> None:
    run = _run(loss, grad, val)
    outcome = run_diagnostics(run, T, strict=True)
    all_steps = run.scalars["step"]
    for f in outcome.findings:
        if f.steps is not None:
            assert all_steps.min() <= f.steps[0] <= f.steps[1] <= all_steps.max()
        for v in f.evidence.values():
            assert v is None or isinstance(v, (int, float, str))
            assert not (isinstance(v, float) and not np.isfinite(v))


@settings(max_examples=examples(60), deadline=None)
@given(
    loss=st.lists(st.floats(0.015625, 10, width=32), min_size=20, max_size=200),
    shift=st.integers(1, 10**9),
)
def test_shifting_the_steps_does_not_change_the_codes(loss, shift) -> None:
    base = run_diagnostics(_run(loss, [], []), T, strict=True)
    moved = run_diagnostics(_run(loss, [], [], shift=shift), T, strict=True)
    assert sorted(f.code for f in base.findings) == sorted(f.code for f in moved.findings)
