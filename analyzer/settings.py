"""Settings: every threshold a diagnostic compares against, and the user's overrides.

:class:`Thresholds` holds every number a diagnostic compares against, each with where it comes
from. Users override any of them, and pin tag roles, on the command line or in a settings file
(:func:`load_settings`); :func:`with_overrides` checks the names.
"""

from __future__ import annotations

import posixpath
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

import fsspec

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The thresholds of every diagnostic (see each field's comment for its source)."""

    # --- how much data a diagnosis needs
    min_points: int = 5  # fewer finite points than this and a series says nothing
    min_points_noise: int = 40  # spectral/variance measures need a longer series

    # --- exploding gradients
    # TheDeepChecker (Ben Braiek & Khomh, 2021) flags gradients above 1e6 as exploded.
    grad_norm_abs_error: float = 1e6
    # A global norm sustained above 1e3 is far outside what clipping defaults (1.0, the HF
    # Trainer's max_grad_norm) and Adam's normalised steps produce in healthy training.
    grad_norm_abs_warning: float = 1e3
    # "Growing by orders of magnitude": the late median (last 20% of points) or the maximum
    # at least 100x the run's own early median (first 10%). Scale-free, so it holds for any
    # loss scale; two orders of magnitude is where the growth is no longer noise.
    grad_growth: float = 100.0
    # AutoTrainer (Zhang et al., ICSE 2021): first/last layer gradient ratio above 70 is
    # exploding; below 1e-3 with a first-layer norm under 1e-4 is vanishing.
    layer_ratio_exploding: float = 70.0
    layer_ratio_vanishing: float = 1e-3
    first_layer_norm_vanishing: float = 1e-4

    # --- vanishing gradients
    # DeepDiagnosis (Wardat et al., ICSE 2022): mean |gradient| below 1e-7 is vanished. A
    # global L2 norm is at least as large as the mean |gradient| times sqrt(n), so a norm
    # below 1e-7 is vanished too.
    grad_norm_vanished: float = 1e-7
    # Collapse toward zero: late median at most 1e-3 x the early median while the loss kept
    # at least 80% of its starting level (gradients can shrink legitimately as a model
    # converges; they cannot while it has not learned).
    grad_collapse: float = 1e-3
    collapse_loss_kept: float = 0.8
    zero_grad_share: float = 0.9  # norms exactly 0 on this share of steps: no gradient flows

    # --- loss divergence
    # The loss ends above 1.5x where it started, or gives back its progress: the final level
    # is 3x its best and the rise is at least a quarter of the starting level. Both are
    # measured on medians so that single spikes (loss_spikes) do not count.
    divergence_rise: float = 1.5
    divergence_from_best: float = 3.0
    divergence_min_rise: float = 0.25

    # --- loss oscillation (second half of training, on block medians and residuals)
    # Swings: mean |change| between block medians at least 8% of the starting loss, and
    # their total variation at least 3x the net decrease over the same span: the loss moves
    # up and down more than it goes down. Block medians average out minibatch noise.
    oscillation_swing: float = 0.08
    oscillation_trend: float = 3.0
    # A periodic pattern: one frequency of the detrended loss holds at least this share of
    # the Welch periodogram's power (white minibatch noise spreads it evenly).
    periodic_power_share: float = 0.3

    # --- loss spikes
    # Large-model practice (PaLM, OPT logbooks; "6 sigma over the previous 128 steps"):
    # robust z-score against the rolling median/MAD of the previous 128 points.
    spike_window: int = 128
    spike_z: float = 6.0
    spike_min_ratio: float = 1.3  # and at least 30% above that median (MAD can be tiny)
    spike_recovery_z: float = 3.0  # recovered once back within 3 sigma of the median
    # ... and high against the run's own scale: at least half the starting loss above the
    # local median (a jump from 0.01 to 0.09 late in training is noise on a run that started
    # at 2.3). One such spike is reported as info; two or more are a warning.
    spike_min_height: float = 0.5
    spike_warning_count: int = 2
    spike_baseline: int = 10  # points in the local median a spike is measured against

    # --- convergence rate, slow convergence and plateau
    # Slow: the loss lost less than 40% of its starting level over the run, is still falling
    # (the second half brought at least 20% of the drop), and a power-law fit projects a
    # further gain with twice the steps.
    slow_max_drop: float = 0.4
    slow_min_drop: float = 0.01
    slow_still_falling: float = 0.2
    # Plateau: the loss first fell by at least 30% of its start, then improved by less than
    # 2% of the start over the last 40% of steps (comparing the medians of the first and last
    # quarter of that window), while still at 10% of its start or more
    # (not converged to ~0), and the learning rate at the end is at least half its maximum.
    plateau_progress: float = 0.3
    plateau_stall: float = 0.02
    plateau_flat: float = 0.1  # ... and got worse by less than 10% of the start there
    plateau_floor: float = 0.1
    plateau_window: float = 0.4
    plateau_lr_kept: float = 0.5

    # --- overfitting
    # The best validation loss comes in the first 70% of the run, the final one is at least
    # 10% above it, while the training loss kept falling (late train loss at most 0.9x its
    # value at the best validation step). Early stopping's usual patience scale.
    overfit_best_at: float = 0.7
    overfit_rise: float = 1.1
    overfit_train_fall: float = 0.9

    # --- dead units
    # A share of exactly-zero (ReLU) activations of 90% or more in a layer's last histogram
    # (Lu et al., "Dying ReLU", 2019, call a unit dead when it outputs 0 for all inputs).
    dead_share: float = 0.9

    # --- unstable metric (second half): mean |change| between evaluations at least 8% of the
    # metric's [0, 1] range, and total variation at least 2x the net change.
    unstable_swing: float = 0.08
    unstable_trend: float = 2.0

    # --- throughput drop: the median of the last quarter at most 0.5x that of the first
    # quarter (halved: beyond the jitter evaluation, checkpointing or a shared machine cause;
    # CPU runs here vary by up to 40% with no cause). The first 2 points (warm-up) are skipped.
    throughput_drop: float = 0.5
    throughput_warmup_points: int = 2
    # A stall: a gap between consecutive logged points more than 10x the median gap.
    stall_gap: float = 10.0


def with_overrides(base: Thresholds, overrides: Mapping[str, float]) -> Thresholds:
    """``base`` with some fields replaced; raises :class:`ConfigError` naming an unknown field."""
    known = {f.name for f in fields(Thresholds)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"unknown threshold(s): {', '.join(unknown)}")
    return replace(base, **dict(overrides))

# ---------------------------------------------------------------------------------------------
# User settings: pinned roles and threshold overrides, from the command line or a file.
#
# A ``dlreport.toml`` in the analysed directory (tables ``[roles]`` and ``[thresholds]``, or
# the same under ``[tool.dlreport]``), or a ``pyproject.toml`` there with ``[tool.dlreport]``.
# Command-line options win over the file.


@dataclass(frozen=True, slots=True)
class Settings:
    """Pinned roles (role -> tag) and threshold overrides (name -> number)."""

    roles: Mapping[str, str] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=dict)
    source: str | None = None  # the file they came from, if any


def load_settings(logdir: str) -> Settings:
    """The settings file beside the logs, if there is one."""
    fs, base = fsspec.core.url_to_fs(logdir)
    if fs.isfile(base):
        base = posixpath.dirname(base)
    for name in ("dlreport.toml", "pyproject.toml"):
        path = posixpath.join(base, name)
        if not fs.isfile(path):
            continue
        try:
            with fs.open(path, "rb") as f:
                data = tomllib.load(f)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        table = data.get("tool", {}).get("dlreport")
        if table is None and name == "dlreport.toml":
            table = data  # dlreport.toml may hold the tables at its top level
        if table is not None:
            return _settings(table, path)
    return Settings()


def _settings(table: Mapping[str, object], path: str) -> Settings:
    roles = table.get("roles", {})
    thresholds = table.get("thresholds", {})
    if not isinstance(roles, dict) or not all(isinstance(v, str) for v in roles.values()):
        raise ConfigError(f"{path}: [roles] must map role names to tag names")
    if not isinstance(thresholds, dict) or not all(
        isinstance(v, (int, float)) for v in thresholds.values()
    ):
        raise ConfigError(f"{path}: [thresholds] must map threshold names to numbers")
    return Settings(roles=dict(roles), thresholds=dict(thresholds), source=path)


def parse_pairs(pairs: tuple[str, ...], what: str) -> dict[str, str]:
    """``("a=b", ...)`` from repeated options into a dict; a malformed pair is an error."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"--{what} {pair!r}: expected NAME=VALUE")
        out[key.strip()] = value.strip()
    return out


def merged(file: Settings, roles: Mapping[str, str], thresholds: Mapping[str, str]) -> Settings:
    """File settings overridden by command-line ones."""
    numbers = {}
    for name, text in thresholds.items():
        try:
            numbers[name] = float(text)
        except ValueError:
            raise ConfigError(f"--threshold {name}={text}: not a number") from None
    return Settings(
        roles={**file.roles, **roles},
        thresholds={**file.thresholds, **numbers},
        source=file.source,
    )
