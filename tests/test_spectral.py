"""The numpy Welch periodogram is scipy's, number for number (scipy is a test dependency only)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from analyzer.measures import spectrum
from analyzer.spectral import hann, welch

signal = pytest.importorskip("scipy.signal")


def _scipy(x: np.ndarray, nperseg: int) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns when nperseg exceeds a short input
        return signal.welch(x, nperseg=nperseg, detrend="linear")


@pytest.mark.parametrize(
    "n", [1, 2, 3, 4, 5, 8, 31, 100, 255, 256, 257, 300, 511, 512, 513, 1000, 4097]
)
@pytest.mark.parametrize("kind", ["walk", "periodic", "trend", "constant"])
def test_welch_matches_scipy(n: int, kind: str) -> None:
    rng = np.random.default_rng(n)
    t = np.arange(n, dtype=float)
    x = {
        "walk": rng.normal(size=n).cumsum(),
        "periodic": np.sin(2 * np.pi * t / 7.3) + 0.1 * rng.normal(size=n),
        "trend": 5.0 - 0.01 * t + 0.2 * rng.normal(size=n),
        "constant": np.full(n, 2.5),
    }[kind]
    nperseg = min(256, n)
    f_ref, p_ref = _scipy(x, nperseg)
    f, p = welch(x, nperseg)
    np.testing.assert_array_equal(f, f_ref)
    scale = max(float(np.abs(p_ref).max()), 1e-12)
    np.testing.assert_allclose(p, p_ref, rtol=1e-9, atol=1e-12 * scale)


def test_welch_other_segment_lengths() -> None:
    x = np.random.default_rng(3).normal(size=2000)
    for nperseg in (16, 17, 64, 99, 128, 2000):
        f_ref, p_ref = _scipy(x, nperseg)
        f, p = welch(x, nperseg)
        np.testing.assert_array_equal(f, f_ref)
        np.testing.assert_allclose(p, p_ref, rtol=1e-9)


def test_hann_is_scipys_periodic_window() -> None:
    for n in (1, 2, 7, 256):
        np.testing.assert_allclose(hann(n), signal.get_window("hann", n), rtol=0, atol=1e-15)


def test_welch_rejects_empty() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        welch(np.zeros(0), 8)


def test_spectrum_finds_the_period() -> None:
    # A loss with a bump every 50 points: the periodogram's peak is there.
    t = np.arange(3000, dtype=float)
    values = 2.0 * np.exp(-t / 800) + 0.3 * (t % 50 < 5) + 0.01
    spec = spectrum(values, trend_window=150)
    assert spec.peak_period == pytest.approx(50, rel=0.03)
    assert spec.peak_share > 0.1


def test_spectrum_does_not_import_scipy() -> None:
    # scipy.signal costs 0.6-1.8 s of import in every process and pool worker.
    import subprocess
    import sys

    code = (
        "import sys, numpy as np; from analyzer.measures import spectrum; "
        "spectrum(np.sin(np.arange(500.0)), 25); print('scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
