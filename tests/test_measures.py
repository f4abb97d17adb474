"""The numeric measures the diagnostics share, tested directly on curves with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from run_builders import make_run

from analyzer.measures import (
    DISTRIBUTION_BPS,
    as_fraction,
    blow_up,
    fit_curve,
    histogram_bands,
    histogram_tags,
    kendall_tau,
    rate_of_the_moment,
    robust_spikes,
    spectrum,
    tail_share,
    trend_z,
)
from analyzer.settings import Thresholds

T = Thresholds()
SPIKE_KW = {
    "window": T.spike_window,
    "baseline": T.spike_baseline,
    "z_min": T.spike_z,
    "ratio_min": T.spike_min_ratio,
    "min_height": T.spike_min_height,
    "recovery_z": T.spike_recovery_z,
}


# --- fit_curve ------------------------------------------------------------------------------


def test_fit_curve_recovers_a_power_law() -> None:
    steps = np.arange(1, 3001, dtype=float)
    a, b, c = 0.4, 2.0, 0.7
    values = a + b * steps**-c
    fit = fit_curve(steps, values)
    assert fit is not None
    assert fit.model == "power"
    assert fit.c == pytest.approx(c, rel=0.05)  # the rate grid is ~4% apart
    assert fit.a == pytest.approx(a, abs=0.03)
    assert fit.r2 > 0.999
    # The projection to twice the steps is what the summary reports.
    assert fit.at(6000) == pytest.approx(a + b * 6000.0**-c, rel=0.02)


def test_fit_curve_recovers_an_exponential_with_steps_not_starting_at_one() -> None:
    steps = np.arange(500, 2500, 2, dtype=float)
    t = steps - steps[0] + 1
    a, b, c = 0.3, 1.5, 0.004
    values = a + b * np.exp(-c * t)
    fit = fit_curve(steps, values)
    assert fit is not None
    assert fit.model == "exponential"
    assert fit.c == pytest.approx(c, rel=0.05)
    assert fit.a == pytest.approx(a, abs=0.02)
    assert fit.b == pytest.approx(b, rel=0.05)


def test_fit_curve_survives_noise_and_spikes() -> None:
    rng = np.random.default_rng(3)
    steps = np.arange(1, 4001, dtype=float)
    clean = 0.5 + 3.0 * steps**-0.5
    values = clean * (1 + 0.05 * rng.standard_normal(steps.size))
    values[::250] *= 5  # isolated spikes: the block medians ignore them
    fit = fit_curve(steps, values)
    assert fit is not None
    assert fit.model == "power"
    assert fit.c == pytest.approx(0.5, rel=0.15)


@pytest.mark.parametrize(
    "values",
    [
        np.full(100, 1.5),  # flat: nothing to fit
        np.linspace(0.1, 2.0, 100),  # rising: only decreasing fits count
        np.array([3.0, 2.0, 1.5, 1.2, 1.1, 1.05, 1.02]),  # fewer than 8 points
    ],
    ids=["flat", "rising", "too-short"],
)
def test_fit_curve_declines_what_is_not_a_falling_curve(values: np.ndarray) -> None:
    assert fit_curve(np.arange(values.size, dtype=float), values) is None


# --- robust_spikes --------------------------------------------------------------------------


def _falling_noisy_loss(n: int = 1200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n)
    return (0.2 + 2.0 * np.exp(-4 * t)) * (1 + 0.03 * rng.standard_normal(n))


def test_robust_spikes_finds_an_injected_spike_and_its_recovery() -> None:
    values = _falling_noisy_loss()
    values[700:704] += 2.5  # four points high, then back
    spikes = robust_spikes(values, **SPIKE_KW)
    assert len(spikes) == 1
    spike = spikes[0]
    assert spike.onset == 700
    assert 700 <= spike.peak <= 703
    assert spike.recovered
    assert spike.end == 704
    assert spike.z >= T.spike_z
    assert spike.ratio > 2


def test_robust_spikes_ignores_noise_and_the_trend() -> None:
    for seed in range(5):
        assert robust_spikes(_falling_noisy_loss(seed=seed), **SPIKE_KW) == []


def test_robust_spikes_reports_a_jump_that_never_comes_back_as_unrecovered() -> None:
    values = _falling_noisy_loss()
    values[1000:] += 3.0
    spikes = robust_spikes(values, **SPIKE_KW)
    assert [s.onset for s in spikes] == [1000]
    assert not spikes[0].recovered


def test_robust_spikes_needs_a_minimum_height() -> None:
    """A jump far above the noise but small against the loss's scale is not a spike."""
    values = _falling_noisy_loss()
    values[700] += 0.3  # ~20 sigma of the noise there, but below min_height
    assert robust_spikes(values, **SPIKE_KW) == []
    assert [s.onset for s in robust_spikes(values, **{**SPIKE_KW, "min_height": 0.1})] == [700]


# --- spectrum -------------------------------------------------------------------------------


def _spikes_by_walking_every_point(values: np.ndarray, **kw: float) -> list[tuple[int, ...]]:
    """The definition in robust_spikes' docstring, walked point by point (the loop the
    vectorised onsets replaced), on the same level and noise scale."""
    n, window, baseline = len(values), int(kw["window"]), int(kw["baseline"])
    if n < 16:
        return []
    prev = pd.Series(values).shift(1)
    level = prev.rolling(baseline, min_periods=3).median().to_numpy()
    diffs = prev.diff()
    mad = (diffs - diffs.rolling(window, min_periods=8).median()).abs()
    sigma = 1.4826 * mad.rolling(window, min_periods=8).median().to_numpy() / np.sqrt(2)
    sigma = np.maximum(np.nan_to_num(sigma, nan=np.inf), 1e-12 + 1e-6 * np.abs(level))
    with np.errstate(invalid="ignore"):
        z = (values - level) / sigma
    found, i = [], 1
    while i < n:
        ordinary = not (np.isfinite(z[i - 1]) and z[i - 1] >= kw["recovery_z"])
        height = max(kw["min_height"], kw["height_of_level"] * level[i])
        if (
            np.isfinite(z[i])
            and z[i] >= kw["z_min"]
            and level[i] > 0
            and values[i] >= kw["ratio_min"] * level[i]
            and values[i] - level[i] >= height
            and ordinary
        ):
            limit = level[i] + max(kw["recovery_z"] * sigma[i], 0.3 * (values[i] - level[i]))
            j = i
            while j < n and values[j] > limit:
                j += 1
            peak = i + int(np.argmax(values[i:j])) if j > i else i
            found.append((i, peak, min(j, n - 1), int(j < n)))
            i = j + 1
        else:
            i += 1
    return found


@pytest.mark.parametrize("seed", range(40))
def test_robust_spikes_matches_the_point_by_point_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(10, 2000))
    values = np.abs(rng.normal(1, 0.1, n)) * np.exp(-np.arange(n) / rng.uniform(100, 2000))
    for _ in range(int(rng.integers(0, 8))):
        at = int(rng.integers(0, n))
        values[at : at + int(rng.integers(1, 20))] *= rng.uniform(1, 10)
    if seed % 5 == 0:
        values[int(rng.integers(0, n))] = np.nan
    if seed % 7 == 0:
        values[int(rng.integers(0, n)) :] = np.inf
    kw = {
        "window": 16.0,
        "baseline": 8.0,
        "z_min": 3.0,
        "ratio_min": 1.1,
        "min_height": 0.01,
        "recovery_z": 1.0,
        "height_of_level": 0.2,
    }
    got = robust_spikes(
        values,
        window=16,
        baseline=8,
        z_min=3.0,
        ratio_min=1.1,
        min_height=0.01,
        recovery_z=1.0,
        height_of_level=0.2,
    )
    assert [(s.onset, s.peak, s.end, int(s.recovered)) for s in got] == (
        _spikes_by_walking_every_point(values, **kw)
    )


def test_tail_share_tells_gaussian_noise_from_a_right_skewed_loss() -> None:
    rng = np.random.default_rng(3)
    kw = {"window": T.spike_window, "baseline": T.spike_baseline, "low": 3.0, "high": 6.0}
    gaussian = 1.0 + 0.01 * rng.standard_normal(4000)
    # A per-batch cross-entropy on tiny batches: mostly near its level, now and then far above.
    skewed = 0.2 * rng.lognormal(0.0, 0.8, 4000)
    assert tail_share(gaussian, **kw) < 0.01
    assert tail_share(skewed, **kw) > T.spike_heavy_tail_share
    assert tail_share(np.ones(5), **kw) == 0.0


def test_tail_share_counts_an_excursion_once_not_its_decay() -> None:
    # An epoch-mean loss: after each bad batch it stays 3-6 sigma up for two more points.
    rng = np.random.default_rng(5)
    kw = {"window": T.spike_window, "baseline": T.spike_baseline, "low": 3.0, "high": 6.0}
    values = 1.0 + 0.01 * rng.standard_normal(600)
    for at in range(100, 600, 50):
        values[at] += 2.0  # the spike, far beyond 6 sigma
        values[at + 1] += 0.045  # its decay, about 4.5 sigma up
        values[at + 2] += 0.045
    assert tail_share(values, **kw) < 0.005
    alone = values.copy()
    alone[[at for at in range(100, 600, 50)]] = 1.0  # the same decays with no spike before
    assert tail_share(alone, **kw) > 0.01


def test_spectrum_finds_an_injected_period() -> None:
    rng = np.random.default_rng(1)
    n, period = 2000, 25
    i = np.arange(n)
    values = 1.0 + 0.1 * np.sin(2 * np.pi * i / period) + 0.02 * rng.standard_normal(n)
    s = spectrum(values, trend_window=101)
    assert s.peak_period == pytest.approx(period, rel=0.05)
    assert s.peak_share >= T.periodic_power_share


def test_spectrum_of_white_noise_has_no_peak() -> None:
    rng = np.random.default_rng(2)
    values = 1.0 + 0.05 * rng.standard_normal(4000)
    s = spectrum(values, trend_window=101)
    assert s.peak_share < T.periodic_power_share
    assert s.high_share == pytest.approx(0.5, abs=0.1)  # white: half the power above fs/4
    assert s.lag1_diff_autocorr == pytest.approx(-0.5, abs=0.05)


def test_spectrum_of_a_constant_is_empty_not_nan() -> None:
    s = spectrum(np.full(500, 2.0), trend_window=51)
    assert s.peak_share == 0.0
    assert s.high_share == 0.0


# --- histogram_bands ------------------------------------------------------------------------


def test_histogram_bands_are_the_percentiles_of_each_step_in_step_order() -> None:
    edges = np.linspace(0.0, 10.0, 11)
    histograms = pd.DataFrame(
        {
            "tag": ["w/fc", "w/fc", "w/fc", "b/fc"],
            "step": np.array([20, 0, 10, 0], dtype=np.int64),
            "wall_time": [3.0, 1.0, 2.0, 1.0],
            "edges": [edges, edges, edges, edges],
            # step 10 is empty: no percentile, so no band there
            "counts": [np.ones(10), 2 * np.ones(10), np.zeros(10), np.ones(10)],
        }
    )
    run = make_run(histograms=histograms, train_loss=np.ones(3))
    assert histogram_tags(run) == ("b/fc", "w/fc")
    bands = histogram_bands(run, "w/fc")
    assert bands.steps.tolist() == [0, 20]
    # uniform on [0, 10]: the value at b basis points is b / 1000
    expected = [b / 1000 for b in DISTRIBUTION_BPS]
    assert bands.quantiles[0] == pytest.approx(expected)
    assert bands.quantiles[1] == pytest.approx(expected)
    assert histogram_bands(run, "w/fc") is bands  # measured once per run
    assert histogram_bands(run, "absent").steps.size == 0


def test_kendall_tau_says_how_unbroken_a_trend_is_whatever_its_length() -> None:
    rising = np.arange(10.0)
    assert kendall_tau(rising) == 1.0
    assert kendall_tau(-rising) == -1.0
    assert kendall_tau(np.arange(400.0)) == 1.0  # z grows with n; tau does not
    assert trend_z(np.arange(400.0)) > trend_z(rising)
    # One step back among 10 rising points breaks 1 of 45 pairs.
    assert kendall_tau(np.array([0, 1, 2, 3, 5, 4, 6, 7, 8, 9.0])) == pytest.approx(43 / 45)
    rng = np.random.default_rng(0)
    assert abs(kendall_tau(rng.normal(size=300))) < 0.1


def test_as_fraction_scales_percentages_and_refuses_other_scales() -> None:
    assert as_fraction(np.array([0.5, 0.9])) == pytest.approx([0.5, 0.9])
    assert as_fraction(np.array([50.0, 90.0])) == pytest.approx([0.5, 0.9])
    assert as_fraction(np.array([-0.1, 0.5])) is None
    assert as_fraction(np.array([120.0, 3.0])) is None
    assert as_fraction(np.array([])) is None


def test_rate_of_the_moment_undoes_a_running_average() -> None:
    # 1,000 steps/s for 10 s, then 100 steps/s for 10 s, logged as Stable-Baselines3 logs fps:
    # steps so far over seconds so far. The running average only bends (to 182 at the end);
    # the rate between points is the true one on each side.
    seconds = np.arange(1.0, 21.0)
    steps = np.where(seconds <= 10, 1000 * seconds, 10_000 + 100 * (seconds - 10))
    average = pd.Series(steps / seconds, index=steps.astype(int))
    moment = rate_of_the_moment(average)
    assert moment is not None
    assert np.allclose(moment.to_numpy()[:9], 1000.0)
    assert np.allclose(moment.to_numpy()[-9:], 100.0)
    assert float(average.iloc[-1]) > 150  # what the average alone shows


def test_rate_of_the_moment_refuses_an_average_restarted_elsewhere() -> None:
    # A second learn() call: the average counts from its own start, so step / average no
    # longer gives growing elapsed times.
    average = pd.Series(
        [1000.0, 1000.0, 1000.0, 50.0, 1000.0], index=[1000, 2000, 3000, 4000, 5000]
    )
    assert rate_of_the_moment(average) is None


def test_blow_up_measures_the_peak_against_the_first_point_and_the_level_after() -> None:
    values = np.array([2.0, 1.5, 40.0, 2.1, 2.0, 1.9, 2.2, 2.0, 1.95, 2.05])
    jump = blow_up(values)
    assert jump is not None
    assert (jump.index, jump.peak_ratio, jump.best_before) == (2, 20.0, 1.5)
    assert jump.kept_ratio == pytest.approx(1.0)  # lowest rolling median (window 3) after: 2.0
    assert jump.unrecovered(10.0, 0.75, 5)
    assert not jump.unrecovered(10.0, 0.75, 8)  # only 7 points after the peak


def test_blow_up_is_none_when_the_first_point_is_highest_or_too_little_follows() -> None:
    assert blow_up(np.array([5.0, 4.0, 3.0, 2.0, 1.0])) is None
    assert blow_up(np.array([1.0, 2.0, 3.0, 9.0, 1.0])) is None  # 1 point after, window 3
    assert blow_up(np.array([0.0, 2.0, 1.0, 1.0, 1.0])) is None  # no positive start
