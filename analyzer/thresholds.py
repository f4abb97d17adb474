"""Thresholds: every number a diagnostic, the advice, cross-run evidence and compare decide with.

:class:`Thresholds` holds every number a diagnostic compares against, each with where it comes
from (in its field's metadata, listed by ``dlreport thresholds``); :class:`AdviceLimits` the
advice's own, fixed ones. An override (from :mod:`analyzer.settings`: the command line or a
settings file) is coerced to its field's type and range (:func:`coerce_threshold`).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .errors import ConfigError


def _t(default: float, source: str, *, minimum: float = 0.0, maximum: float | None = None) -> Any:
    """A threshold field: its default, where the number comes from, and the values it accepts.

    The source is data (``dataclasses.fields(Thresholds)[i].metadata["source"]``) so that
    ``dlreport thresholds`` and the docs print it instead of a comment someone must copy.
    """
    return field(
        default=default, metadata={"source": source, "minimum": minimum, "maximum": maximum}
    )


_DIVERGENCE = (
    "The loss ends above 1.5x where it started, or gives back its progress: the final level is "
    "3x its best and the rise is at least a quarter of the starting level; both on medians so "
    "that single spikes (loss_spikes) do not count. A loss whose every point after the first is "
    "1.5x the first blew up at once (dev: the Keras GRU at 30x its learning rate, epoch means "
    "1.36 then >= 2.14; its ratio 1.57 is the lowest such ratio of any dev, sample_logs or "
    "real-world loss but dcbiton-rnn's 5.4, which diverges; every healthy one is <= 1.0)."
)
_BLOWUP = (
    "A loss that jumps to 10x its first point and never again comes below 0.75x it (lowest "
    "rolling median after the jump, window n/20) blew up once and never recovered: the step "
    "broke the network (dead units, a collapse to chance), even where the loss then sits still "
    "instead of climbing. Measured on realcorpus test11 (spent; every loss of its 251 runs): "
    "the rate x30 MLPs peak at 17-33x and keep 0.82-0.99x of their first point (at chance "
    "for good); the corrupted-batch runs peak at 6-78x and recover to 0.01-0.43x (loss_spikes); "
    "no healthy loss peaks above 4.8x. On ../shared/realworld the one healthy loss above 10x "
    "(tf-estimator-basics, 127x at its second point) recovers to 0.00x."
)
_OSCILLATION = (
    "Second half of training, on block medians (which average out minibatch noise): mean "
    "|change| between block medians at least 8% of the starting loss, and their total "
    "variation at least 3x the net decrease: the loss moves up and down more than it goes down. "
    "Where a validation loss has >= 8 evaluations in its second half, it must swing by the same "
    "measure (median |change| >= 8% of its start, total variation >= 3x net). Calibrated on "
    "realcorpus dev healthy runs (59): healthy validation losses swing 0.4-3.7% of their start, "
    "the 8 labelled oscillations 14-33%; 0/59 healthy false alarms, recall 8/8. With 3-15 "
    "evaluations the validation loss's total variation must be >= 3x its net decrease (one "
    "that falls at each evaluation shows steady learning)."
)
_SPIKES = (
    "Large-model practice (PaLM, OPT logbooks: '6 sigma over the previous 128 steps'): robust "
    "z-score against the rolling median/MAD of the previous 128 points."
)
_SPIKE_HEIGHT = (
    "High against the run's own scale: at least 0.5 x max(local median, spike_floor_share x "
    "start) above the local median (a jump from 0.01 to 0.09 late in training is noise on a run "
    "that started at 2.3). One such spike is info; two or more are a warning when one of "
    "them stands >= spike_warning_z."
)
_SLOW = (
    "Slow: the loss lost less than 40% of its starting level over the run, is still falling (the "
    "second half brought at least 20% of the drop), and a power-law fit projects a further gain "
    "with twice the steps."
)
_PLATEAU = (
    "Plateau: the loss first fell by at least 30% of its start, then improved by less than 2% of "
    "the start over the last 40% of steps (medians of the first and last quarter of that "
    "window), while still at 35% of its start or more (stalled high), and the learning rate "
    "at the end is at least half its maximum."
)
_OVERFIT = (
    "The best validation loss comes in the first 70% of the run, the final one is at least 10% "
    "above it, while the training loss kept falling (late train loss at most 0.9x its value at "
    "the best validation step). Early stopping's usual patience scale."
)
_UNSTABLE = (
    "Second half: median |change| between evaluations at least unstable_swing of the metric's "
    "[0, 1] range, and total variation at least 2x the net change."
)
_THROUGHPUT = (
    "The median of the last quarter at most 0.33x that of the first quarter (a third). "
    "Halving is what one other process sharing a core does, so 0.5 called load a training "
    "problem: healthy realcorpus runs (spent splits dev and test10 to test14, 1,432 runs) fell "
    "with no cause to at most 0.48 of their start (3 of them flagged at 0.5); the injected "
    "slowdowns fell to 0.08-0.19."
)
_AUTOTRAINER = (
    "AutoTrainer (Zhang et al., ICSE 2021): first/last layer gradient ratio above 70 is "
    "exploding; below 1e-3 with a first-layer norm under 1e-4 is vanishing."
)
_COLLAPSE = (
    "Collapse toward zero: late median at most 1e-3x the early median while the loss kept at "
    "least 80% of its starting level (gradients shrink legitimately as a model converges; they "
    "cannot while it has not learned)."
)
_SWEEP = (
    "Cross-run evidence: two runs' outcomes differ when apart by more than the seeds' spread "
    "(2 sigma), or, with no repeated seeds to measure it, by more than 5% (sweeps mix "
    "configurations, whose outcomes scatter more than one configuration re-run)."
)
_COMPARE = (
    "compare: with no repeated seeds in the baseline, a change of more than 2% of the baseline's "
    "value counts (about what re-running a small model with another seed moves a validation "
    "loss)."
)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The thresholds of every diagnostic, of the advice, of cross-run evidence and of compare.

    Each field's ``metadata`` holds its ``source`` (where the number comes from) and the range
    it accepts (``minimum``, ``maximum``); ``dlreport thresholds`` lists them.
    """

    # --- how much data a diagnosis needs
    min_points: int = _t(5, "Fewer finite points than this and a series says nothing.", minimum=2)
    min_points_noise: int = _t(
        40, "Spectral and variance measures need a longer series.", minimum=2
    )

    # --- exploding gradients
    grad_norm_abs_error: float = _t(
        1e6, "TheDeepChecker (Ben Braiek & Khomh, 2021) flags gradients above 1e6 as exploded."
    )
    grad_norm_abs_warning: float = _t(
        1e3,
        "A global norm sustained above 1e3 is far outside what clipping defaults (1.0, the HF "
        "Trainer's max_grad_norm) and Adam's normalised steps produce in healthy training.",
    )
    grad_growth: float = _t(
        100.0,
        "Growing by orders of magnitude: the late median (last 20% of points) or the maximum "
        "at least 100x the run's own early median (first 10%). Scale-free; two orders of "
        "magnitude is where the growth is no longer noise.",
    )
    layer_ratio_exploding: float = _t(70.0, _AUTOTRAINER)
    layer_ratio_vanishing: float = _t(1e-3, _AUTOTRAINER)
    first_layer_norm_vanishing: float = _t(1e-4, _AUTOTRAINER)
    grad_sustain: int = _t(
        2,
        "A high norm must be held for 2 consecutive logged points: one spike of the norm is a "
        "spike (loss_spikes), not exploding gradients, unless the norm stays up. 3 lost the "
        "sample run whose norm sits just around 1e3.",
        minimum=1,
    )

    # --- vanishing gradients
    grad_norm_vanished: float = _t(
        1e-7,
        "DeepDiagnosis (Wardat et al., ICSE 2022): mean |gradient| below 1e-7 is vanished; a "
        "global L2 norm is at least the mean |gradient| times sqrt(n), so a norm below 1e-7 is "
        "vanished too.",
    )
    vanished_loss_converged: float = _t(
        1e-3,
        "A gradient norm under grad_norm_vanished is no vanishing gradient when the training "
        "loss ended at <= 0.1% of its start: the data are fitted, and the gradient of a loss at "
        "~0 is ~0 (realcorpus test3's 50k-step MLPs: loss exactly 0, norm 1e-8).",
    )
    grad_collapse: float = _t(1e-3, _COLLAPSE)
    collapse_loss_kept: float = _t(0.8, _COLLAPSE)
    zero_grad_share: float = _t(
        0.9, "Norms exactly 0 on this share of steps: no gradient flows.", maximum=1.0
    )

    # --- loss divergence
    divergence_rise: float = _t(1.5, _DIVERGENCE)
    divergence_from_best: float = _t(3.0, _DIVERGENCE)
    divergence_min_rise: float = _t(0.25, _DIVERGENCE)
    divergence_rise_noise: float = _t(
        3.0,
        "A loss gave back its progress only if its climb from the lowest rolling median to its "
        "last stands >= 3x its point-to-point noise (robust sigma), and so must its validation "
        "loss's climb from its best: the lowest of a bouncing loss's medians is a lucky stretch. "
        "Across realcorpus dev and test10 to test15 (spent), sample_logs and the real-world set, "
        "the rule fired only on the MLPs at SGD 0.1 with 16 noisy validation samples (test10, "
        "test15; labelled oscillating): climbs of 1.6-2.0 sigma, validation 1.5-2.0.",
    )
    blowup_ratio: float = _t(10.0, _BLOWUP)
    blowup_kept: float = _t(0.75, _BLOWUP)
    grad_blowup_growth: float = _t(
        10.0,
        "A gradient norm that jumped to 10x its level before, at the step where the training "
        "loss blew up without recovering (blowup_ratio, blowup_kept), exploded once and broke "
        "the network: it need not stay up (grad_sustain), since after the step the units it "
        "killed pass no gradient (realcorpus x30 MLPs: 0.6 to 54, then ~0.2 with per-layer "
        "norms of exactly 0). An order of magnitude, as the loss's own jump.",
        minimum=1.0,
    )

    # --- loss oscillation (second half of training, on block medians and residuals)
    oscillation_lr_rise: float = _t(
        2.0,
        "No oscillation while the logged learning rate rose over the judged half to >= 2x a "
        "value it had earlier there: warm restarts (SGDR, cosine with restarts) and cyclic "
        "schedules raise the loss at each rise by design. A decaying or constant schedule "
        "never rises; a restart of cosine annealing jumps from near 0 to its peak (realcorpus "
        "test8, scored once: two LSTMs with warm restarts flagged on their validation loss's "
        "swings).",
    )
    oscillation_swing: float = _t(0.08, _OSCILLATION)
    oscillation_trend: float = _t(3.0, _OSCILLATION)
    oscillation_swing_val_judged: float = _t(
        0.04,
        "Where the validation loss judges the swings (>= 16 evaluations), the training loss's "
        "own gate is halved, not waived: block medians average part of a saw-tooth away (the "
        "unshuffled runs of realcorpus dev and test10 to test14, spent, swing 7.3-17% of their "
        "start), but a training loss whose block medians move < 4% of its start has no swings "
        "to speak of, and a validation loss near its floor bounces by its own noise (Lightning "
        "CNNs with augmentation, healthy: 0.42% and 0.49%, flagged in test10 and test14; a "
        "regression with corrupted batches 3.1%, test11).",
        maximum=1.0,
    )
    periodic_power_share: float = _t(
        0.3,
        "A periodic pattern: one frequency of the detrended loss holds at least this share of "
        "the Welch periodogram's power (white minibatch noise spreads it evenly).",
        maximum=1.0,
    )
    oscillation_noise: float = _t(
        3.0,
        "Without a validation loss to judge by, where blocks hold several points, the swings "
        "must be at least 3x those that the run's own minibatch noise gives block medians (1.6 "
        "sigma / sqrt(block size)): healthy noise on small batches is not oscillation.",
    )
    oscillation_no_progress: float = _t(
        0.5,
        "With one point per block and fewer than 3 validation evaluations, swings cannot be "
        "told from noise: the loss oscillates only if its typical late swing (median |change|) "
        "is at least half of all it descended (it fails to descend because of its swings: the "
        "seed's definition). No realcorpus dev run reaches this rule (a sweep 0.05-0.5 moves "
        "nothing), so the number is the definition's, not calibrated.",
    )

    # --- loss spikes
    spike_window: int = _t(128, _SPIKES, minimum=2)
    spike_z: float = _t(6.0, _SPIKES)
    spike_min_ratio: float = _t(1.3, "At least 30% above the rolling median (the MAD can be tiny).")
    spike_recovery_z: float = _t(3.0, "A spike has recovered once back within 3 sigma.")
    spike_min_height: float = _t(0.5, _SPIKE_HEIGHT)
    spike_floor_share: float = _t(
        0.1,
        "The level a spike's height is measured against is the local loss, but never less than "
        "10% of the start: a cross-entropy that starts at ln(vocab) = 10.8 and spikes by 1.5 "
        "nats at loss 3 is serious, although small next to its start.",
        maximum=1.0,
    )
    spike_warning_count: int = _t(2, _SPIKE_HEIGHT, minimum=1)
    spike_warning_z: float = _t(
        20.0,
        "... and the largest of them stands >= 20 robust sigma above the rolling median. The 6 "
        "sigma that finds a spike assumes Gaussian noise; per-batch losses are right-skewed, so "
        "healthy runs cross it now and then: realcorpus dev and test2 (spent) healthy runs on "
        "batch 4, after delayed learning and in GAN gradient norms reach 7.6-16.2 (the real "
        "drone-segmentation term spike, an info, 10.1), corrupted batches 66-2248. Dev sweep: "
        "the same scores from 12 to 30.",
    )
    spike_heavy_tail_share: float = _t(
        0.025,
        "A loss whose own noise is heavy-tailed: >= 2.5% of its points lie 3 to 6 robust sigma "
        "up (Gaussian noise puts 0.13% beyond 3). On the realcorpus splits dev to test8 (spent), "
        "the healthy autoencoders on batch 4 and with warm-up flagged for spikes have 3.3-7.2%; "
        "the runs with corrupted batches whose largest spike is under 100 sigma 0-1.7% (those "
        "with heavier tails have spikes of 116-6140 sigma). Each excursion counts once: a "
        "point still up after one is its decay (since test14 was scored; on the spent splits "
        "dev and test10 to test14 that moved one verdict, a Keras regression with corrupted "
        "batches whose epoch means linger: 5.3% -> 1.8%, its spikes a warning again).",
        maximum=1.0,
    )
    spike_heavy_tail_z: float = _t(
        100.0,
        "... and there the largest spike must stand >= 100 robust sigma to be a warning: the "
        "heavy-tailed healthy autoencoders' largest reach 26-58, corrupted batches in heavy-"
        "tailed losses 116-6140.",
    )
    spike_unfelt_z: float = _t(
        40.0,
        "... and where the validation loss was no higher after any spike than before it (>= 2 "
        "spikes with evaluations around them), no spike hurt the model, and the largest must "
        "stand >= 40 robust sigma to be a warning. On realcorpus dev and test10 to test15 "
        "(spent), every healthy autoencoder on batch 4 flagged for spikes (20.5-27.5 sigma) "
        "had its validation loss falling across all of them; the corrupted batches it fell "
        "across all reach 59.8-507 (Keras CNNs still learning fast per epoch, HF MLPs); 40 is "
        "about the geometric mean of 27.5 and 59.8.",
    )
    spike_baseline: int = _t(
        10, "Points in the local median a spike is measured against.", minimum=1
    )

    # --- convergence rate, slow convergence and plateau
    slow_max_drop: float = _t(0.4, _SLOW)
    slow_min_drop: float = _t(0.01, _SLOW)
    slow_still_falling: float = _t(0.2, _SLOW)
    slow_projected_noise: float = _t(
        0.5,
        "Slow convergence is judged against the run's own fitted curve and noise: the gain the "
        "fit projects for twice the steps must be >= 0.5x the late loss's point-to-point noise "
        "(robust sigma). Calibrated on realcorpus dev healthy runs (59): the one healthy run "
        "the other conditions pass (augmented regression, loss noisy near its floor) projects "
        "0.39 sigma; the labelled slow runs (learning rate /30) 2.7-211, and test2's (spent) "
        "autoencoders at a tiny rate 0.84-0.94 (missed at 2). Sweep: 1/59 FA at 0, 0/59 from "
        "0.5 to 10.",
    )
    slow_projected_share: float = _t(
        0.03,
        "... and >= 3% of the fitted loss now: more steps must be worth it. The labelled slow "
        "runs (dev to test4, spent) project 4.0-70%; healthy Keras label-smoothing runs, whose "
        "first epoch mean already holds the learning, 1.0-2.2%: 3% lies between (it was 4%, "
        "which missed test4's Hugging Face MLP at rate /30, 3.99%).",
    )
    slow_late_break: float = _t(
        0.8,
        "A loss that brought >= 80% of its drop in its second half sat still and then broke "
        "out: a delayed start, falling fastest at the end, not a slow rate. The labelled slow "
        "runs (rate /30, dev to test4) brought 24-69% of theirs there; the healthy delayed "
        "deep-tanh MLPs of test4 that lost about 40% brought 77-96% (one was flagged slow).",
        maximum=1.0,
    )
    slow_val_tau: float = _t(
        -0.8,
        "... and where the validation loss has >= 5 evaluations over the training loss's second "
        "half, it falls there unbroken: Kendall's tau <= -0.8 (lower at 90% of the pairs). A "
        "model that converges slowly shows it on fixed data, evaluation after evaluation; a "
        "noisy training loss can fit a falling curve that the validation loss does not follow. "
        "On the realcorpus splits dev to test6 (spent), all 36 runs labelled slow (rate /30) "
        "with such a validation loss have tau -1.00; test6's delayed deep-tanh MLP flagged slow "
        "(healthy; scored once) -0.60, test5's sigmoid regression (vanishing) +0.12. On "
        "../shared/realworld it clears two slow verdicts: mushrooms-yolov5 (judged healthy; "
        "val/obj_loss tau -0.56) and tensorboard-review's image run (val loss rising: "
        "overfitting, as its judgement says).",
        minimum=-1.0,
        maximum=1.0,
    )
    slow_val_train_noise: float = _t(
        0.05,
        "... and only where the training loss's noise hides its trend: its point-to-point noise "
        "(robust sigma) is >= 5% of what it lost. Where it is less, the training loss's own "
        "verdict (it stopped falling) is plain to see and stands. On the realcorpus splits "
        "test6 to test9 (spent), the rate /30 runs this path finds have 0.37-1.09; test9's "
        "healthy HF byte LM, whose validation loss, first evaluated at its text's entropy, "
        "still lost 1.0% unbroken, 0.003.",
    )
    slow_val_share: float = _t(
        0.45,
        "A run the training loss's rule declines is slow too when its validation loss (on fixed "
        "data, free of the batches' noise) lost 1-40% and still falls as fast as ever: its "
        "second half brought >= 45% of its drop (a straight fall brings about 40% by the "
        "measure, median of that half's first quarter minus its last; a curve nearing its floor "
        "less). On the realcorpus splits dev to test7 (spent), the 7 rate /30 runs (6 "
        "autoencoders) the training loss's rule missed have 0.50-0.60 with tau -1.00; the "
        "healthy runs that pass the other conditions 0.39 (a batch-4 MLP) and 0.48 (a Keras "
        "label-smoothing GRU, tau -0.77, whose validation loss does not fall unbroken).",
        maximum=1.0,
    )
    plateau_progress: float = _t(0.3, _PLATEAU)
    chance_tolerance: float = _t(
        0.005,
        "A loss within 0.5% of ln C sits at chance for C classes: neighbouring ln C differ by "
        "more than 0.9% up to C = 32.",
    )
    chance_moved: float = _t(
        0.01,
        "A run of 3-4 points that moved less than 1% of its start and sits at chance never "
        "learned (the commonest failed hyperparameter trial).",
    )
    plateau_stall: float = _t(0.02, _PLATEAU)
    plateau_flat: float = _t(0.1, "... and got worse by less than 10% of the start there.")
    plateau_floor: float = _t(
        0.35,
        "A loss flat after learning is a plateau only while it is still at 35% of its start or "
        "more: stalled high. One that lost about two thirds of its start or more and then went "
        "flat at a constant rate has come near its floor, where a schedule gains little. It was "
        "10%. On the realcorpus splits dev to test5 (spent), the constant-rate SGD runs labelled "
        "plateau lost 31-60% before going flat; the runs flagged flat without a plateau label "
        "44-90%, and all 8 above 65% were Adam runs at their floor (LSTMs, corrupted batches, "
        "a tiny-batch regression). Set at 0.5 first, from dev to test4 alone (labelled 31-46%), "
        "it missed 5 of test5's 7 plateau runs (51-60%) when test5 was scored once.",
        maximum=1.0,
    )
    plateau_window: float = _t(0.4, _PLATEAU, maximum=1.0)
    plateau_lr_kept: float = _t(0.5, _PLATEAU)
    plateau_learned_accuracy: float = _t(
        0.5,
        "A run is not 'not learning' while its validation accuracy removed >= half of its first "
        "error rate (1 - accuracy) by its best evaluation: the model learns, and the training "
        "loss sits at a floor of its own (the Keras label-smoothing CNNs of realcorpus test and "
        "test4, spent: loss flat at 0.50, accuracy 0.960 -> 0.996 and 0.968 -> 0.996, 88-90% of "
        "the error removed). A model that never learned stays near its first accuracy (the "
        "real-world ln 2 trial: about 0.5 throughout).",
        maximum=1.0,
    )
    plateau_val_trend: float = _t(
        2.0,
        "No plateau while the validation loss still falls over the same window (over the whole "
        "run for 'not learning'): Mann-Kendall trend z <= -2, a fall that noise alone gives "
        "about 2% of the time. Calibrated on realcorpus dev healthy runs (59): the label-"
        "smoothing, augmented and dropout runs whose training loss sits at its floor have "
        "z -2.6 to -3.9 there, the SGD-at-a-constant-high-rate plateaus +0.1; 0/59 FA at 1-2, "
        "1/59 at 3, 7/59 at 4; recall 2/2 throughout. (At 1, sample_logs/plateau, z -1.86, "
        "would be missed.)",
    )
    plateau_objective_gap: float = _t(
        1.5,
        "No plateau of a training loss at >= 1.5x the validation loss over the window: its "
        "floor is a term only training pays (label smoothing 0.2 on 5 classes keeps the "
        "training cross-entropy at >= 0.66 while the validation loss is 0.22). The labelled "
        "plateaus (realcorpus dev, sample_logs/plateau, SGD held up by its own noise) sit at "
        "0.9-1.25x.",
    )
    plateau_noise: float = _t(
        0.007,
        "A plateau a smaller step would break is held up by optimizer noise: the loss's "
        "point-to-point noise over the window is at least 0.7% of its level. A flat loss that "
        "barely moves sits at a floor of its objective (a byte LM at the data's entropy: 0.2%). "
        "Calibrated on realcorpus dev healthy runs (59): the one healthy flat loss that reaches "
        "this check (the validation one clears the others) has 0.0021; the labelled plateaus "
        "0.22 per step, sample_logs/plateau (Keras epoch means, which average the noise) 0.022; "
        "0.007 is their geometric middle. Dev sweep: 1/59 FA at 0.001, 0/59 from 0.003 to "
        "0.05; recall 2/2.",
    )
    plateau_val_noise: float = _t(
        0.01,
        "... and, where the validation loss has >= 5 evaluations over the window, its point-to-"
        "point noise is at least 1% of its level: evaluated on fixed data, it moves only as the "
        "weights do, without the batches' sampling noise that a training loss at its floor "
        "keeps. On the realcorpus splits dev to test6 (spent), the 31 labelled plateaus found "
        "(SGD at a constant high rate) have 0.0135-0.050; the healthy runs flagged flat "
        "0.0013 (a byte LM at batch 4) and 0.0066 (two autoencoders at their floor, Adam).",
    )

    # --- overfitting
    overfit_best_at: float = _t(0.7, _OVERFIT, maximum=1.0)
    overfit_rise: float = _t(1.1, _OVERFIT)
    overfit_train_fall: float = _t(0.9, _OVERFIT)
    overfit_noise: float = _t(
        3.0,
        "The validation loss's rise from its best must be >= 3x its own point-to-point noise "
        "(robust sigma of the differences), where >= 10 evaluations measure it: a lucky low "
        "evaluation of a noisy series is no best. Calibrated on realcorpus dev healthy runs "
        "(59): the one healthy run the other conditions pass rises 1.5 sigma, the labelled "
        "overfitting runs >= 400; sweep: 1/59 FA at 1, 0/59 from 2 to 200; recall 10/10.",
    )

    overfit_best_window: int = _t(
        3,
        "With >= 10 evaluations, the general rule measures the rise from the best median of this "
        "many consecutive evaluations (centred), not from the single lowest: one lucky low "
        "evaluation of a series flat within its noise is no best. realcorpus test11 (spent): a "
        "healthy Keras CNN under warm restarts, validation loss 0.016 +- 0.001 for 25 epochs and "
        "0.0147 once, ended 1.11x that point (a false alarm when test11 was scored once), 1.03x "
        "its best median of 3; the 13 labelled overfitting runs of test11 are found either way.",
        minimum=1,
    )
    overfit_unbroken_tau: float = _t(
        0.97,
        "... or of any size when the rise from the best never broke: Kendall's tau of the "
        "evaluations from the best on >= 0.97 (over overfit_unbroken_points or more). On the "
        "realcorpus splits dev to test5 (spent), every run labelled overfitting has tau >= 0.98; "
        "the healthy runs whose validation loss ended >= 1.1x its best, 0.95 at most (a Keras "
        "delayed MLP), schedules 0.61-0.78. test5's tiny-data MLPs rose 0.039 -> 0.044 over 81 "
        "evaluations at tau 0.99: 0.3% of what they had gained, missed by the material rule.",
        maximum=1.0,
    )
    overfit_unbroken_points: int = _t(
        20,
        "Evaluations from the best on that an unbroken rise needs (overfit_unbroken_tau): fewer "
        "are judged by the few-evaluation rule.",
    )
    overfit_few_evaluations: int = _t(
        20,
        "The monotone few-evaluation rule (worse at each evaluation after the best) is for up "
        "to 20 evaluations: Hugging Face fine-tunes (2-5), Keras epochs (4-20). With more, two "
        "rising evaluations in a noisy series are common (realcorpus test2: an LSTM baseline "
        "with 37 evaluations bouncing 0.11-0.18 was called overfitting on its last two), and "
        "the general rule, with its noise test, judges.",
        minimum=3,
    )
    overfit_material: float = _t(
        0.10,
        "The validation loss's rise from its best must be >= 10% of what it had gained from its "
        "first evaluation to the best, unless the rise never broke (overfit_unbroken_tau): less "
        "is not worth an early stop. On the realcorpus splits dev to test8 (spent), every "
        "labelled overfitting run whose rise is under 10% of its gain (tiny data sets) rose "
        "unbroken (tau >= 0.99); the healthy runs flagged with rises of 2.3-6.3% of their gain "
        "(step decay and delayed MLPs, Keras and tf.summary) broke (tau 0.50-0.94). It was 5%, "
        "and 2% for a rise with Mann-Kendall z >= 3, which z reaches in any long enough run. "
        "The real-world overfitting runs of expectations.json rise 39-88% of theirs.",
    )

    # --- dead units
    dead_share: float = _t(
        0.9,
        "A share of exactly-zero (ReLU) activations of 90% or more in a layer's last histogram "
        "(Lu et al., 'Dying ReLU', 2019, call a unit dead when it outputs 0 for all inputs).",
        maximum=1.0,
    )

    # --- unstable metric
    unstable_swing: float = _t(
        0.05,
        "Second half: median |change| between evaluations at least 5% of the metric's [0, 1] "
        "range (the definition said a mean of 8%). The median, because a delayed run that "
        "learns late makes a few large steps there, not a swing at every evaluation. Measured "
        "on the realcorpus splits: the labelled noisy-validation runs have medians of 0.062 "
        "and up (one sample of 16 flipping), healthy runs at most 0.044 (test4), 0.024 (dev, "
        "test2), 0.016 (test3). The mean at 0.05 raised 4 of test4's 86 healthy runs (delayed "
        "learning, 0.05-0.051) when test4 was scored once; the median was chosen after that.",
    )
    unstable_trend: float = _t(2.0, _UNSTABLE)
    unstable_quarter_swing: float = _t(
        0.1,
        "Or: a quarter of the second half's changes >= 0.1 (75th percentile), where the median "
        "misses a metric on a small validation set that repeats its last value half the time "
        "(16 samples: steps of 0.0625). On the realcorpus splits dev, test8 and test9 (spent), "
        "the labelled noisy-validation runs the median missed have 0.062 and 0.125; the healthy "
        "runs that go nowhere (total variation >= 10x net) at most 0.043, the healthy delayed "
        "runs, which go somewhere (2.5x at most), up to 0.085.",
    )
    unstable_quarter_trend: float = _t(
        10.0,
        "... and the total variation >= 10x the net change: it goes up and down and nowhere, "
        "not up in a few large steps (a delayed run learning late: 1.3-2.5x).",
    )
    reward_collapse: float = _t(
        1.0,
        "A reinforcement-learning reward collapsed: its moving median fell below its start by "
        "more than 1x what it had gained from start to best (all its learning given back, and "
        "as much again); bounded rewards that merely stall never do.",
    )
    reward_window: int = _t(
        5, "Points in the reward's moving median: one bad episode is noise.", minimum=1
    )
    reward_learned_noise: float = _t(
        3.0,
        "An RL agent is not learning when its reward (median of the last 20% of points) is no "
        "better than at its start (first 10%) by 3x the reward's point-to-point noise, with no "
        "rising trend (Mann-Kendall z < 2, reward_trend). The realcorpus dev RL runs (2 "
        "healthy, 1 slowed) gain 39 sigma or more, the real-world SB3 and Lightning RL runs "
        "more still; no labelled run fails to learn, so recall is not measured.",
    )
    reward_trend: float = _t(
        2.0, "A rising reward with Mann-Kendall z >= 2 (noise alone: about 2% of runs) learns."
    )
    reward_learned_share: float = _t(
        0.5,
        "A collapse is judged only once the run had gained half of all it gained: before that, "
        "a bad stretch of episodes is noise around the start.",
        maximum=1.0,
    )

    # --- throughput
    throughput_drop: float = _t(0.33, _THROUGHPUT)
    throughput_noise: float = _t(
        3.0,
        "The fall must be at least 3x the jitter (1.4826 x the MAD) of the first and the last "
        "quarter, pooled: a drop must stand out of the machine's own noise. The first quarter's "
        "alone hid a Lightning GRU's slowdown to 0.14x (realcorpus test15, scored once: a start "
        "jittered by +-30% under load, then a steady 0.13-0.15x; fall 2.8x that jitter, 3.9x "
        "pooled); every other injected slowdown of dev and test10 to test15 passes both ways "
        "(3.5-115x), and no healthy run is within the 0.33 ratio.",
    )
    throughput_derived_min_s: float = _t(
        60.0,
        "Steps per second derived from wall times (no throughput logged) are judged only when "
        "training lasted >= 60 s: a realcorpus dev run of 0.44 s 'fell to 41%' while another "
        "job shared its 2 cores.",
        minimum=0.0,
    )
    throughput_warmup_points: int = _t(
        2, "The first points of a throughput series are warm-up and skipped.", minimum=0
    )
    stall_gap: float = _t(
        10.0, "A stall: a gap between consecutive logged points more than 10x the median gap."
    )

    # --- cross-run evidence (analyzer/crossrun.py) and compare (analyzer/compare.py)
    noise_sigmas: float = _t(
        2.0, "Two outcomes differ when apart by more than 2 standard deviations of their seeds."
    )
    sweep_noise_relative: float = _t(0.05, _SWEEP)
    sweep_min_runs: int = _t(
        3, "Fewer runs than this say nothing about a hyperparameter.", minimum=2
    )
    compare_noise_relative: float = _t(0.02, _COMPARE)


DEFAULTS = Thresholds()


@dataclass(frozen=True, slots=True)
class AdviceLimits:
    """The numbers the advice rules decide with (``analyzer/advice.py``).

    Listed with their sources by ``dlreport thresholds``; not overridable (the values the
    advice proposes, such as momentum 0.9, are framework defaults cited in the advice itself).
    """

    born_exploded_norm: float = _t(
        30.0,
        "A global gradient norm whose median over the first 10% of steps is already this large "
        "was never small: healthy runs start around 0.1-10 (clipping defaults to 1.0). 30 "
        "catches the corpus's ReLU RNN with recurrent gain 1.8 (early median 42), which "
        "re-initialising fixed; such runs get 're-initialise', not 'lower the learning rate'.",
    )
    min_clip: float = _t(
        1e-3,
        "Below this, gradients are too small for clipping to matter: a clipping threshold "
        "computed there comes from a model that had already memorised its data.",
    )
    max_clipped_share: float = _t(
        0.5,
        "Deep Learning Tuning Playbook: if more than half the steps would be clipped, lower "
        "the learning rate instead of clipping.",
        maximum=1.0,
    )


ADVICE = AdviceLimits()


_FIELDS = {f.name: f for f in fields(Thresholds)}


def threshold_names() -> list[str]:
    """Every threshold's name, in declaration order."""
    return list(_FIELDS)


def _unknown(name: str, where: str) -> ConfigError:
    close = difflib.get_close_matches(name, _FIELDS, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return ConfigError(
        f"{where}: unknown threshold {name!r} ({hint}valid names: {', '.join(_FIELDS)}; "
        "'dlreport thresholds' lists them with their defaults and sources)"
    )


def coerce_threshold(name: str, value: object, where: str, *, text: bool = True) -> int | float:
    """``value`` as the type of threshold ``name``, or a :class:`ConfigError` saying why not.

    The one place an override gets its field's type, wherever it comes from: text is parsed
    (command line, Python API) unless ``text`` is False (a settings file, where TOML has
    numbers: ``spike_z = "8"`` is a mistake to point out); numbers are checked. A value
    that would switch a diagnostic off without saying so is refused: NaN, infinities, numbers
    below the field's minimum (negative ones included) or above its maximum, and a fraction
    where a count is meant (``min_points=5.5``, ``spike_window=64.5``).
    """
    f = _FIELDS.get(name)
    if f is None:
        raise _unknown(name, where)
    integral = f.type in ("int", int)
    kind = "an integer" if integral else "a number"
    shown = value if isinstance(value, str) else repr(value)
    if isinstance(value, str) and not text:
        raise ConfigError(f"{where} {name}={value!r}: expected a number, not text")
    if isinstance(value, str):
        try:
            number: float = float(value.strip())
        except ValueError:
            raise ConfigError(f"{where} {name}={shown}: not a number") from None
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where} {name}={shown}: expected {kind}")
    else:
        number = value
    if not math.isfinite(number):
        raise ConfigError(f"{where} {name}={shown}: expected a finite number")
    if integral and number != int(number):
        raise ConfigError(f"{where} {name}={shown}: expected an integer")
    low, high = f.metadata["minimum"], f.metadata["maximum"]
    if number < low or (high is not None and number > high):
        bounds = f">= {low:g}" if high is None else f"between {low:g} and {high:g}"
        raise ConfigError(f"{where} {name}={shown}: must be {bounds}")
    return int(number) if integral else float(number)


def with_overrides(base: Thresholds, overrides: Mapping[str, object]) -> Thresholds:
    """``base`` with some fields replaced, each coerced to its field's type.

    Raises :class:`ConfigError` naming an unknown field or a value it cannot take.
    """
    values = {name: coerce_threshold(name, v, "threshold") for name, v in overrides.items()}
    return replace(base, **values)  # type: ignore[arg-type]  # each value has its field's type


def describe_thresholds() -> list[dict[str, object]]:
    """Every threshold (overridable) and advice limit (fixed): name, type, default, accepted
    range and source, for ``dlreport thresholds``."""
    return [
        {
            "name": f.name,
            "type": "int" if f.type in ("int", int) else "float",
            "default": f.default,
            "minimum": f.metadata["minimum"],
            "maximum": f.metadata["maximum"],
            "overridable": cls is Thresholds,
            "source": f.metadata["source"],
        }
        for cls in (Thresholds, AdviceLimits)
        for f in fields(cls)
    ]
