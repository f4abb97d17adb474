"""Numeric helpers the diagnostics and charts share: levels, spikes, spectra, fits, percentiles.

Each helper measures; none judges (thresholds are applied in the diagnostics). All take plain
numpy arrays of finite values in step order unless they say otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .model import Run
from .spectral import welch


def finite(s: pd.Series) -> pd.Series:
    """The finite points of a series."""
    return s[np.isfinite(s.to_numpy(dtype=float))]


def start_level(values: np.ndarray) -> float:
    """Where a curve starts: the median of its first 3 points."""
    return float(np.median(values[:3]))


def end_level(values: np.ndarray) -> float:
    """Where a curve ends: the median of its last max(3, n/20) points."""
    k = max(3, len(values) // 20)
    return float(np.median(values[-k:]))


def head_median(values: np.ndarray, share: float = 0.1) -> float:
    """Median of the first ``share`` of the points (at least 3)."""
    return float(np.median(values[: max(3, int(len(values) * share))]))


def tail_median(values: np.ndarray, share: float = 0.2) -> float:
    """Median of the last ``share`` of the points (at least 3)."""
    return float(np.median(values[-max(3, int(len(values) * share)) :]))


def rolling_median(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing rolling median (the first points use what came before them)."""
    return pd.Series(values).rolling(window, min_periods=1).median().to_numpy()


def block_medians(values: np.ndarray, n_blocks: int = 40) -> np.ndarray:
    """About ``n_blocks`` medians of consecutive blocks: ignores isolated spikes and noise."""
    size = max(1, len(values) // n_blocks)
    usable = len(values) // size * size
    return np.median(values[:usable].reshape(-1, size), axis=1)


def swing_and_trend(values: np.ndarray, n_blocks: int = 40) -> tuple[float, float, float, int]:
    """(mean |change|, total variation, net decrease) between block medians, and the blocks.

    The total variation of a curve that only goes down equals its net decrease; a curve that
    goes up and down has a total variation several times its net decrease.
    """
    m = block_medians(values, n_blocks)
    if m.size < 2:
        return 0.0, 0.0, 0.0, int(m.size)
    diffs = np.abs(np.diff(m))
    return float(diffs.mean()), float(diffs.sum()), float(m[0] - m[-1]), int(m.size)


def typical_swing(values: np.ndarray, n_blocks: int = 40) -> tuple[float, float, float, int]:
    """(median |change|, total variation, net decrease) between block medians, and the blocks.

    Like :func:`swing_and_trend`, but the *median* change: a curve that swings at every step
    has a large one, a curve that is steady but for a few isolated jumps (spikes) a small one.
    """
    m = block_medians(values, n_blocks)
    if m.size < 2:
        return 0.0, 0.0, 0.0, int(m.size)
    diffs = np.abs(np.diff(m))
    return float(np.median(diffs)), float(diffs.sum()), float(m[0] - m[-1]), int(m.size)


def trend_z(values: np.ndarray) -> float:
    """Mann-Kendall trend statistic as a z-score: negative for a falling series.

    S counts, over all pairs i < j, +1 when the later value is higher and -1 when lower;
    without a trend S has mean 0 and variance n(n-1)(2n+5)/18 (ties ignored), so z = (S -+ 1)
    / sd is about standard normal. Rank-based: the size of the steps and isolated outliers do
    not matter, only how consistently the series moves one way. O(n^2); at most 400 points
    are used (evenly spaced) for long series.
    """
    s, n = _kendall_s(values)
    if n < 3:
        return 0.0
    sd = float(np.sqrt(n * (n - 1) * (2 * n + 5) / 18.0))
    return (s - np.sign(s)) / sd


def as_fraction(values: np.ndarray) -> np.ndarray | None:
    """A quality metric (accuracy, F1, ...) on [0, 1]: percentages (max in (1, 100]) scaled
    down; None when the values fit neither scale."""
    v = np.asarray(values, dtype=float)
    if v.size and 1.0 < v.max() <= 100.0:
        v = v / 100.0
    if not v.size or v.min() < 0 or v.max() > 1.0:
        return None
    return v


def kendall_tau(values: np.ndarray) -> float:
    """Kendall's tau of a series against time: S / (n(n-1)/2), from -1 (falls at every pair of
    points) to +1 (rises at every pair). Unlike :func:`trend_z` it does not grow with the
    number of points: it says how unbroken a trend is, not how sure it is."""
    s, n = _kendall_s(values)
    return s / (n * (n - 1) / 2) if n >= 2 else 0.0


def _kendall_s(values: np.ndarray) -> tuple[float, int]:
    """Mann-Kendall S (rising pairs minus falling pairs) and the points it used: at most 400,
    evenly spaced, for long series (S is O(n^2))."""
    v = np.asarray(values, dtype=float)
    if v.size > 400:
        v = v[np.linspace(0, v.size - 1, 400).astype(int)]
    n = v.size
    if n < 2:
        return 0.0, n
    return float(np.sign(v[None, :] - v[:, None])[np.triu_indices(n, 1)].sum()), n


@dataclass(frozen=True, slots=True)
class Spike:
    """A sudden jump: ``onset`` to ``end`` (indices), peak size against the rolling median."""

    onset: int
    peak: int
    end: int  # first index back within recovery range (or the last index)
    z: float
    ratio: float  # peak / rolling median before the onset
    recovered: bool


@dataclass(frozen=True, slots=True)
class BlowUp:
    """A curve's highest point against its first, and where the curve went after it.

    ``after_low`` is the lowest trailing rolling median (window max(3, n/20), as
    :func:`end_level`) of the points after the peak: one lucky batch does not count as a
    recovery, a level held for a window does.
    """

    index: int  # position of the highest point
    first: float  # the first point
    peak: float
    best_before: float  # the lowest point before the peak: what training had reached
    after_low: float
    after_points: int

    @property
    def peak_ratio(self) -> float:
        return self.peak / self.first

    @property
    def kept_ratio(self) -> float:
        """The lowest level after the peak, as a share of the first point (1: back at the
        start at best; under 1: recovered below it)."""
        return self.after_low / self.first

    def unrecovered(self, ratio: float, kept: float, min_after: int) -> bool:
        """Whether the curve jumped to ``ratio`` x its first point and, over at least
        ``min_after`` points after, never came back below ``kept`` x its first point."""
        return (
            self.peak_ratio >= ratio and self.kept_ratio >= kept and self.after_points >= min_after
        )


def blow_up(values: np.ndarray) -> BlowUp | None:
    """The :class:`BlowUp` of a positive curve (a loss); None when its first point is its
    highest, it is not positive at the start, or fewer than a window of points follow the peak."""
    if len(values) < 2 or not values[0] > 0:
        return None
    i = int(np.argmax(values))
    after = values[i + 1 :]
    window = max(3, len(values) // 20)
    if i == 0 or len(after) < window:
        return None
    return BlowUp(
        index=i,
        first=float(values[0]),
        peak=float(values[i]),
        best_before=float(values[:i].min()),
        after_low=float(rolling_median(after, window)[window - 1 :].min()),
        after_points=len(after),
    )


def robust_z(values: np.ndarray, *, window: int, baseline: int) -> tuple[np.ndarray, ...]:
    """Each point's robust z-score against what came before it, with the level and scale:
    (x - median of the ``baseline`` points before) / noise scale, the scale 1.4826 x the MAD of
    the first differences over the ``window`` points before, over sqrt(2) (see
    :func:`robust_spikes`). NaN or inf where there is too little before a point."""
    s = pd.Series(values)
    prev = s.shift(1)
    level = prev.rolling(baseline, min_periods=3).median().to_numpy()
    diffs = prev.diff()
    mad = (diffs - diffs.rolling(window, min_periods=8).median()).abs()
    sigma = 1.4826 * mad.rolling(window, min_periods=8).median().to_numpy() / np.sqrt(2)
    floor = 1e-12 + 1e-6 * np.abs(level)  # a perfectly flat baseline has MAD 0
    sigma = np.maximum(np.nan_to_num(sigma, nan=np.inf), floor)
    return (values - level) / sigma, level, sigma


def tail_share(values: np.ndarray, *, window: int, baseline: int, low: float, high: float) -> float:
    """The share of a series' points whose robust z (:func:`robust_z`) lies in [low, high)
    and whose point before lies below ``low``: how often its own noise makes excursions that
    Gaussian noise makes rarely (0.13% of points beyond 3 sigma). A right-skewed per-batch
    loss makes them often. A point still up after an excursion is that excursion's decay (an
    epoch mean after a bad batch stays high for an epoch or two), not another one."""
    z, _, _ = robust_z(values, window=window, baseline=baseline)
    finite = np.isfinite(z)
    if not finite.any():
        return 0.0
    up = finite & (z >= low)
    fresh = np.ones(len(z), dtype=bool)
    fresh[1:] = ~up[:-1]
    band = up & (z < high) & fresh
    return float(band.sum() / finite.sum())


def robust_spikes(
    values: np.ndarray,
    *,
    window: int,
    baseline: int,
    z_min: float,
    ratio_min: float,
    min_height: float,
    recovery_z: float,
    height_of_level: float = 0.0,
) -> list[Spike]:
    """Isolated upward jumps, by a robust z-score: (x - local median) / noise scale.

    The local level is the median of the ``baseline`` points before x (it follows the trend of
    a falling loss). The noise scale is robust and trend-free: 1.4826 x the MAD of the first
    differences over the ``window`` points before x, divided by sqrt(2) (differences of white
    noise have twice its variance; 1.4826 makes a MAD a standard deviation). A spike starts
    where z >= ``z_min``, x >= ``ratio_min`` x the local level and x - level >= ``min_height``,
    from an ordinary point (z < ``recovery_z``), and x - level >= ``height_of_level`` x level
    (a spike is judged against where the loss is then, not where it started); it has
    recovered once the value is back below level + max(``recovery_z`` sigma, 30% of the jump).
    """
    n = len(values)
    if n < 16:
        return []
    z, level, sigma = robust_z(values, window=window, baseline=baseline)
    finite = np.isfinite(z)
    ordinary_before = np.ones(n, dtype=bool)
    ordinary_before[1:] = ~(finite[:-1] & (z[:-1] >= recovery_z))
    with np.errstate(invalid="ignore"):
        onset = (
            finite
            & (z >= z_min)
            & (level > 0)
            & (values >= ratio_min * level)
            & (values - level >= np.maximum(min_height, height_of_level * level))
            & ordinary_before
        )
    onset[0] = False
    # Only the onsets are walked in Python (a 50,000-point loss has a handful); an onset inside
    # the previous spike, before its recovery, belongs to that spike.
    spikes: list[Spike] = []
    resume = 1
    for i in np.flatnonzero(onset).tolist():
        if i < resume:
            continue
        base, scale = level[i], sigma[i]
        limit = base + max(recovery_z * scale, 0.3 * (values[i] - base))
        above = np.flatnonzero(~(values[i:] > limit))
        j = i + int(above[0]) if above.size else n
        peak = i + int(np.argmax(values[i:j])) if j > i else i
        spikes.append(
            Spike(
                onset=i,
                peak=peak,
                end=min(j, n - 1),
                z=float(z[i]),
                ratio=float(values[peak] / base),
                recovered=j < n,
            )
        )
        resume = j + 1
    return spikes


@dataclass(frozen=True, slots=True)
class Spectrum:
    """Where the detrended series keeps its power (Welch periodogram)."""

    peak_share: float  # share of the power in the strongest frequency
    peak_period: float  # in points
    high_share: float  # share of the power above a quarter of the sampling rate
    lag1_diff_autocorr: float  # lag-1 autocorrelation of the first differences


def spectrum(values: np.ndarray, trend_window: int) -> Spectrum:
    """Welch's periodogram of the series minus its rolling-median trend.

    White minibatch noise spreads its power evenly (each of k bins holds ~1/k, half of it above
    a quarter of the sampling rate) and its differences have lag-1 autocorrelation -0.5. A
    periodic pattern (epoch boundaries, unshuffled data) puts a large share into one peak.
    """
    trend = pd.Series(values).rolling(trend_window, center=True, min_periods=1).median()
    resid = values - trend.to_numpy()
    nper = min(256, len(resid))
    freqs, power = welch(resid, nperseg=nper)
    power, freqs = power[1:], freqs[1:]  # drop the DC bin
    total = float(power.sum())
    d = np.diff(values)
    ac = float(np.corrcoef(d[:-1], d[1:])[0, 1]) if d.size > 3 and d.std() > 0 else 0.0
    if total <= 0 or not np.isfinite(total):
        return Spectrum(0.0, float("nan"), 0.0, ac)
    k = int(np.argmax(power))
    return Spectrum(
        peak_share=float(power[k] / total),
        peak_period=float(1.0 / freqs[k]),
        high_share=float(power[freqs > 0.25].sum() / total),
        lag1_diff_autocorr=ac,
    )


@dataclass(frozen=True, slots=True)
class CurveFit:
    """A loss curve model fitted to t = step - first step + 1.

    ``power``: L(t) = a + b t^-c (the usual shape of loss curves; Kaplan et al., 2020), with c
    the convergence rate. ``exponential``: L(t) = a + b exp(-c t), with c the rate per step.
    """

    model: str
    a: float
    b: float
    c: float
    r2: float  # share of the variance of the (block-median) curve the fit explains

    def at(self, t: float) -> float:
        """The fitted loss at ``t``."""
        if self.model == "power":
            return float(self.a + self.b * t ** (-self.c))
        return float(self.a + self.b * np.exp(-self.c * t))


_GRID = 240  # rates tried per model (log-spaced): neighbouring rates differ by ~4%


def fit_curve(steps: np.ndarray, values: np.ndarray) -> CurveFit | None:
    """The better (least squares) of a power-law and an exponential fit, or None.

    Fitted to at most 400 block medians, so noise and spikes weigh little. For a fixed rate c
    both models are linear in (a, b), which least squares solve exactly; so each model is fitted
    by solving that for a log-spaced grid of rates at once and keeping the best (variable
    projection). Only decreasing fits (b >= 0) count.
    """
    if len(values) < 8:
        return None
    blocks = max(1, len(values) // 400)
    usable = len(values) // blocks * blocks
    t = steps[:usable].reshape(-1, blocks).mean(axis=1) - steps[0] + 1.0
    y = np.median(values[:usable].reshape(-1, blocks), axis=1)
    total = float(((y - y.mean()) ** 2).sum())
    if total <= 0 or not np.isfinite(total):
        return None
    grids = {
        "power": np.logspace(-3, np.log10(5.0), _GRID),
        "exponential": np.logspace(-2, np.log10(50.0), _GRID) / t[-1],
    }
    best: CurveFit | None = None
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        for model, cs in grids.items():
            x = t[None, :] ** (-cs[:, None]) if model == "power" else np.exp(-cs[:, None] * t)
            xm = x.mean(axis=1, keepdims=True)
            dx = x - xm
            var = (dx**2).sum(axis=1)
            b = (dx * (y - y.mean())).sum(axis=1) / np.where(var > 0, var, np.nan)
            a = y.mean() - b * xm[:, 0]
            sse = ((a[:, None] + b[:, None] * x - y) ** 2).sum(axis=1)
            sse = np.where(np.isfinite(sse) & (b >= 0), sse, np.inf)
            i = int(np.argmin(sse))
            if not np.isfinite(sse[i]):
                continue
            fit = CurveFit(
                model, float(a[i]), float(b[i]), float(cs[i]), 1.0 - float(sse[i]) / total
            )
            if best is None or fit.r2 > best.r2:
                best = fit
    return best


def robust_sd(values: np.ndarray) -> float:
    """A standard deviation that outliers do not move: 1.4826 x the median absolute deviation
    (the factor makes it the standard deviation of Gaussian data)."""
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def noise_floor(values: np.ndarray) -> float:
    """The point-to-point noise of a series, robust and free of its trend.

    The robust standard deviation of the first differences, over sqrt(2): the standard
    deviation of white noise added to a smooth curve (differences of white noise have twice
    its variance).
    """
    if values.size < 4:
        return 0.0
    return robust_sd(np.diff(values)) / float(np.sqrt(2))


def within_block_noise(values: np.ndarray, size: int) -> float:
    """The noise of a series: 1.4826 x the MAD of its points around their block's median
    (blocks of ``size`` consecutive points, as :func:`block_medians` makes them). Swings
    slower than a block do not count as noise."""
    usable = len(values) // size * size
    if usable < 2 * size or size < 2:
        return 0.0
    blocks = values[:usable].reshape(-1, size)
    dev = np.abs(blocks - np.median(blocks, axis=1, keepdims=True))
    return float(1.4826 * np.median(dev))


def clean(run: Run, tag: str | None) -> pd.Series | None:
    """The finite points of ``tag`` (one per step, in step order), memoised on the run."""
    if tag is None:
        return None
    return run.measure(("finite", tag), lambda: finite(run.tag_series(tag)))


def role_series(run: Run, role: str) -> pd.Series | None:
    """The finite points of the tag playing ``role``, or ``None`` when no tag plays it."""
    return clean(run, run.roles.get(role))


def loss_blow_up(run: Run, tag: str) -> BlowUp | None:
    """:func:`blow_up` of the finite points of ``tag``, measured once per run (loss_divergence
    judges it, and exploding_gradients looks for the norm's jump at its step)."""

    def compute() -> BlowUp | None:
        s = clean(run, tag)
        return None if s is None else blow_up(s.to_numpy(dtype=float))

    return run.measure(("blow_up", tag), compute)


def loss_fit(run: Run, tag: str | None = None) -> CurveFit | None:
    """:func:`fit_curve` of the training loss (or of ``tag``), fitted once per run."""
    tag = tag or run.roles.get("train_loss")

    def compute() -> CurveFit | None:
        s = clean(run, tag)
        if s is None or len(s) < 8:
            return None
        return fit_curve(s.index.to_numpy(dtype=float), s.to_numpy(dtype=float))

    return run.measure(("fit", tag), compute)


def rate_of_the_moment(average: pd.Series) -> pd.Series | None:
    """The rate between consecutive points of a rate logged as a running average since step 0
    (steps per second so far): elapsed_i = step_i / average_i, rate = d step / d elapsed.

    None when the elapsed times it implies do not grow (a run continued under a new start, the
    average then counting from elsewhere), or with fewer than 3 rates.
    """
    steps = average.index.to_numpy().astype(float)
    values = average.to_numpy(dtype=float)
    ok = np.isfinite(values) & (values > 0) & (steps > 0)
    steps, values = steps[ok], values[ok]
    elapsed = steps / values
    dt, ds = np.diff(elapsed), np.diff(steps)
    if len(dt) < 3 or np.any(dt < 0):
        return None
    keep = (dt > 0) & (ds > 0)
    if keep.sum() < 3:
        return None
    return pd.Series(ds[keep] / dt[keep], index=average.index.to_numpy()[ok][1:][keep])


def step_rate(run: Run) -> pd.Series | None:
    """Steps per second between consecutive training-loss points, indexed by step (memoised)."""
    return run.measure("step_rate", lambda: _step_rate(run))


def _step_rate(run: Run) -> pd.Series | None:
    wall = run.wall_times("train_loss")
    if wall is None or len(wall) < 3:
        return None
    w = wall.to_numpy(dtype=float)
    steps = wall.index.to_numpy()  # int64; a float copy for the differences only (2^63 - 1
    st = steps.astype(float)  # does not survive a round trip through float)
    # Rates over spans of at least MIN_RATE_SPAN_S: between points logged milliseconds apart
    # the rate is mostly wall-clock jitter.
    gaps = np.diff(w)
    gaps = gaps[gaps > 0]
    if gaps.size:
        every = max(1, int(np.ceil(MIN_RATE_SPAN_S / float(np.median(gaps)))))
        if len(w) // every >= 4:
            w, st, steps = w[::every], st[::every], steps[::every]
    dt = np.diff(w)
    ds = np.diff(st)
    ok = (dt > 0) & (ds > 0)
    if ok.sum() < 3:
        return None
    return pd.Series(ds[ok] / dt[ok], index=steps[1:][ok])


MIN_RATE_SPAN_S = 1.0


# ---------------------------------------------------------------------------------------------
# Histograms: a tag's distribution over steps as percentiles (TensorBoard's "distributions"
# view). Its percentiles, in basis points.

DISTRIBUTION_BPS = (0, 668, 1587, 3085, 5000, 6915, 8413, 9332, 10000)


def histogram_quantiles(edges: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The values at :data:`DISTRIBUTION_BPS` of one histogram (linear within a bucket)."""
    edges = np.asarray(edges, dtype=float)
    counts = np.clip(np.nan_to_num(np.asarray(counts, dtype=float)), 0, None)
    total = counts.sum()
    if total <= 0 or edges.size != counts.size + 1:
        return np.full(len(DISTRIBUTION_BPS), np.nan)
    cum = np.concatenate([[0.0], np.cumsum(counts)]) / total
    cum, first = np.unique(cum, return_index=True)  # interp needs increasing x: empty buckets
    return np.interp(np.array(DISTRIBUTION_BPS) / 1e4, cum, edges[first])


@dataclass(frozen=True, slots=True)
class HistogramBands:
    """A histogram tag's percentiles by step: one row of :data:`DISTRIBUTION_BPS` per step.

    Only the steps whose histogram has a finite value at every percentile (an empty or
    malformed histogram has none) are kept.
    """

    steps: np.ndarray  # in step order
    quantiles: np.ndarray  # shape (steps, len(DISTRIBUTION_BPS))


def histogram_tags(run: Run) -> tuple[str, ...]:
    """The run's histogram tags, sorted by name."""
    return tuple(sorted(_histogram_rows(run), key=str))


def histogram_bands(run: Run, tag: str) -> HistogramBands:
    """The percentiles of ``tag``'s histogram at each step it was logged (memoised)."""

    def compute() -> HistogramBands:
        rows = _histogram_rows(run).get(tag)
        if rows is None or rows.empty:
            return HistogramBands(np.zeros(0, dtype=np.int64), np.zeros((0, len(DISTRIBUTION_BPS))))
        pairs = zip(rows["edges"], rows["counts"], strict=True)
        q = np.array([histogram_quantiles(e, c) for e, c in pairs])
        steps = rows["step"].to_numpy()
        ok = np.isfinite(q).all(axis=1)
        return HistogramBands(steps[ok], q[ok])

    return run.measure(("histogram_bands", tag), compute)


def _histogram_rows(run: Run) -> dict[str, pd.DataFrame]:
    """tag -> the tag's histogram rows in step order (grouped once per run)."""

    def compute() -> dict[str, pd.DataFrame]:
        h = run.histograms
        if h.empty:
            return {}
        # observed=True: the tag column may be categorical, with categories this run lacks.
        return {
            str(tag): rows.sort_values("step", kind="stable")
            for tag, rows in h.groupby("tag", sort=False, observed=True)
        }

    return run.measure("histogram_rows", compute)
