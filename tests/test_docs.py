"""The registry documents itself: docstrings, README sections, names that match codes."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from analyzer.diagnostics import REGISTRY
from analyzer.settings import AdviceLimits, Thresholds

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_each_diagnostic_is_documented(code: str) -> None:
    spec = REGISTRY[code]
    assert spec.func.__name__ == code
    assert len(spec.doc) > 20
    assert len((spec.func.__doc__ or "").strip().splitlines()) >= 3  # the math, not just a title
    assert f"### `{code}`" in README


def test_no_signal_is_documented() -> None:
    assert "### `no_signal`" in README


def test_every_threshold_says_where_it_comes_from_as_data() -> None:
    # The source is field metadata (printed by `dlreport thresholds`), not a comment: a field
    # added the old way, with only a comment, fails here.
    for cls in (Thresholds, AdviceLimits):
        for f in fields(cls):
            assert len(f.metadata.get("source", "")) > 20, f.name
            assert "minimum" in f.metadata, f.name
