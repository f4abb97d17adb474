"""Advice rules: findings in, advice out; conflicts resolved; healthy runs get none."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from run_builders import decay, make_run

from analyzer.advice import ADVICE_RULES, advise, current_lr, current_optimizer, merge_advice
from analyzer.model import Advice, Finding


def _f(code: str, severity: str = "warning", steps=(10, 90), **evidence) -> Finding:
    return Finding(code=code, severity=severity, title=code, steps=steps, evidence=evidence)


def _by_param(advice) -> dict[str, Advice]:
    return {a.parameter: a for a in advice}


RUN = make_run(train_loss=decay(100), learning_rate=np.full(100, 0.01), grad_norm=np.ones(100))


def test_every_rule_says_what_it_does_in_one_line() -> None:
    for rule in ADVICE_RULES:
        assert rule.__doc__
        assert len(rule.__doc__.strip().splitlines()[0]) > 20


def test_divergence_lowers_the_learning_rate_tenfold_to_a_value() -> None:
    (a,) = advise(RUN, [_f("loss_divergence", "error", steps=(60, 99))])
    assert (a.parameter, a.action, a.factor, a.value) == ("learning_rate", "decrease", 0.1, 0.001)
    assert a.because == ("loss_divergence",)


def test_oscillation_lowers_by_half_a_decade() -> None:
    (a,) = advise(RUN, [_f("loss_oscillation")])
    assert (a.factor, a.value) == (0.3, 0.003)


def test_slow_convergence_raises_the_rate_unless_something_is_unstable() -> None:
    (a,) = advise(RUN, [_f("slow_convergence", relative_drop=0.2)])
    assert (a.action, a.factor, a.value) == ("increase", 3.0, 0.03)
    advice = advise(RUN, [_f("slow_convergence", relative_drop=0.2), _f("loss_oscillation")])
    lr = [a for a in advice if a.parameter == "learning_rate"]
    assert [a.action for a in lr] == ["decrease"]  # never raise and lower


def test_early_instability_gets_a_warmup() -> None:
    advice = _by_param(advise(RUN, [_f("loss_divergence", "error", steps=(5, 99))]))
    assert advice["lr_schedule"].value == "warmup"
    assert advice["lr_schedule"].extra["warmup_steps"] == 10


def test_plateau_gets_reduce_on_plateau_from_where_it_began() -> None:
    (a,) = advise(RUN, [_f("plateau", plateau_start_step=40)])
    assert a.value == "reduce_on_plateau"
    assert a.extra == {"gamma": 0.1, "patience": 2, "start_step": 40}


def test_clipping_threshold_comes_from_healthy_steps() -> None:
    g = np.concatenate([np.linspace(1.0, 2.0, 70), np.full(30, 500.0)])
    run = make_run(train_loss=decay(100), grad_norm=g)
    advice = _by_param(advise(run, [_f("exploding_gradients", "error", steps=(70, 99))]))
    clip = advice["gradient_clipping"]
    assert clip.value == pytest.approx(np.percentile(g[:70], 90), rel=1e-2)
    assert clip.extra["clipped_share"] == pytest.approx(0.37, abs=0.01)


def test_no_clipping_when_most_steps_would_be_clipped() -> None:
    g = np.concatenate([np.full(10, 1.0), np.full(90, 50.0)])
    run = make_run(train_loss=decay(100), grad_norm=g, learning_rate=np.full(100, 0.1))
    advice = _by_param(advise(run, [_f("exploding_gradients", "warning", steps=(10, 99))]))
    assert "gradient_clipping" not in advice
    assert advice["learning_rate"].action == "decrease"


def test_overfitting_stops_early_at_the_best_step_and_regularises() -> None:
    advice = _by_param(
        advise(RUN, [_f("overfitting", best_step=40, share_of_steps_after_best=0.6)])
    )
    assert (advice["early_stopping"].action, advice["early_stopping"].value) == ("enable", 40)
    assert (advice["weight_decay"].action, advice["weight_decay"].value) == ("set", 0.01)


def test_sgd_that_crawls_gets_momentum_and_adam_with_spikes_gets_beta2() -> None:
    sgd = make_run(train_loss=decay(100), **{"lr-SGD": np.full(100, 0.01)})
    sgd = dataclasses.replace(sgd, roles={"train_loss": "train_loss", "learning_rate": "lr-SGD"})
    assert current_optimizer(sgd) == "sgd"
    advice = _by_param(advise(sgd, [_f("slow_convergence", relative_drop=0.2)]))
    assert advice["optimizer"].extra == {"momentum": 0.9}
    adam = dataclasses.replace(sgd, roles={"train_loss": "train_loss"}, hparams={"optim": "Adam"})
    advice = _by_param(advise(adam, [_f("loss_spikes")]))
    # Never "set optimizer to adam" for a run that uses Adam: only its beta2 changes.
    assert advice["optimizer"].value is None
    assert advice["optimizer"].extra == {"betas": (0.9, 0.95)}
    assert all(a.because for a in advise(adam, [_f("loss_spikes")]))


def test_info_findings_and_healthy_runs_get_no_advice() -> None:
    assert advise(RUN, []) == ()
    assert advise(RUN, [_f("plateau", "info"), _f("no_signal", "info")]) == ()


def test_current_lr_from_the_logged_tag_or_the_hparams() -> None:
    assert current_lr(RUN) == 0.01
    run = make_run(train_loss=decay(10))
    assert current_lr(run) is None


def test_merge_unites_because_and_keeps_the_cautious_factor() -> None:
    a = Advice(
        parameter="learning_rate", action="decrease", factor=0.3, because=("x",), rationale=""
    )
    b = Advice(
        parameter="learning_rate", action="decrease", factor=0.1, because=("y",), rationale=""
    )
    (m,) = merge_advice([a, b])
    assert (m.factor, m.because) == (0.1, ("x", "y"))


def test_gradients_huge_from_the_start_get_initialisation_not_a_lower_rate() -> None:
    born = _f("exploding_gradients", early_median_grad_norm=1200.0, growth=1.4)
    advice = advise(RUN, [born])
    assert {(a.parameter, a.value) for a in advice} == {
        ("architecture", "initialization"),
        ("architecture", "normalization"),
    }


def test_plain_sgd_that_crawls_gets_momentum_not_also_a_higher_rate() -> None:
    sgd = make_run(train_loss=decay(100), **{"lr-SGD": np.full(100, 0.01)})
    sgd = dataclasses.replace(sgd, roles={"train_loss": "train_loss", "learning_rate": "lr-SGD"})
    params = [a.parameter for a in advise(sgd, [_f("slow_convergence", relative_drop=0.2)])]
    assert params == ["optimizer"]
    with_momentum = dataclasses.replace(sgd, hparams={"optimizer.momentum": 0.9})
    params = [
        a.parameter for a in advise(with_momentum, [_f("slow_convergence", relative_drop=0.2)])
    ]
    assert params == ["learning_rate"]


def test_early_stopping_is_dropped_when_the_training_itself_changes() -> None:
    found = [_f("overfitting", best_step=40), _f("loss_oscillation")]
    params = {a.parameter for a in advise(RUN, found)}
    assert "early_stopping" not in params
    assert {"learning_rate", "weight_decay"} <= params


def test_no_clipping_at_a_vanishingly_small_threshold() -> None:
    g = np.concatenate([np.full(70, 1e-5), np.full(30, 1.0)])
    run = make_run(train_loss=decay(100), grad_norm=g)
    advice = _by_param(advise(run, [_f("exploding_gradients", "warning", steps=(70, 99))]))
    assert "gradient_clipping" not in advice


def test_gradients_that_peak_in_the_first_steps_were_born_exploded() -> None:
    # early median 42, peak 1450 at step 1 of 100: a scale problem, not growth
    born = _f("exploding_gradients", steps=(0, 1), early_median_grad_norm=42.0, growth=34.7)
    params = {(a.parameter, a.value) for a in advise(RUN, [born])}
    assert ("architecture", "initialization") in params
    assert not {p for p, _ in params} & {"learning_rate", "gradient_clipping", "lr_schedule"}
