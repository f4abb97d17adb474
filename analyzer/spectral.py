"""Welch's periodogram in numpy: the one piece of scipy.signal dlreport used.

``from scipy import signal`` costs 0.6-1.8 s of import in every process and every pool worker,
more than reading a million events; this is the same computation as
``scipy.signal.welch(x, nperseg=n, detrend="linear")`` with its other defaults (a periodic
Hann window, half-overlapping segments, one-sided density scaling, ``fs=1``, mean over
segments), in a few lines. ``tests/test_spectral.py`` holds it to scipy's result.
"""

from __future__ import annotations

import numpy as np


def hann(n: int) -> np.ndarray:
    """The periodic ("DFT-even") Hann window of ``n`` points, as ``get_window("hann", n)``."""
    if n == 1:
        return np.ones(1)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def welch(x: np.ndarray, nperseg: int) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies, power spectral density) of ``x`` in cycles per point.

    ``x`` is cut into segments of ``nperseg`` points overlapping by half (a tail that fills no
    whole segment is left out, as scipy does); each segment loses its least-squares line, is
    windowed and transformed, and the periodograms are averaged.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError("welch needs a non-empty 1-D series")
    nperseg = min(int(nperseg), x.size)
    if nperseg < 1:
        raise ValueError("nperseg must be at least 1")
    noverlap = nperseg // 2
    step = nperseg - noverlap
    count = (x.size - noverlap) // step
    starts = np.arange(count) * step
    segments = x[starts[:, None] + np.arange(nperseg)[None, :]]
    segments = segments - _lines(segments)
    window = hann(nperseg)
    spectra = np.fft.rfft(segments * window, n=nperseg, axis=-1)
    power = (spectra.real**2 + spectra.imag**2) / float((window**2).sum())
    # One-sided: every bin but DC (and Nyquist, for an even length) stands for two.
    if nperseg % 2:
        power[:, 1:] *= 2.0
    else:
        power[:, 1:-1] *= 2.0
    return np.fft.rfftfreq(nperseg), power.mean(axis=0)


def _lines(segments: np.ndarray) -> np.ndarray:
    """The least-squares line through each row (what ``detrend="linear"`` subtracts)."""
    n = segments.shape[1]
    if n < 2:
        return segments.copy()
    t = np.arange(n, dtype=np.float64) - (n - 1) / 2.0  # centred: slope and mean decouple
    mean = segments.mean(axis=1, keepdims=True)
    slope = (segments @ t)[:, None] / float(t @ t)
    return mean + slope * t[None, :]
