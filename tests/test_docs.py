"""The registry documents itself: docstrings, README sections, names that match codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analyzer.diagnostics import REGISTRY
from analyzer.settings import Thresholds

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
THRESHOLDS_SRC = (Path(__file__).resolve().parents[1] / "analyzer" / "settings.py").read_text()


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_each_diagnostic_is_documented(code: str) -> None:
    spec = REGISTRY[code]
    assert spec.func.__name__ == code
    assert len(spec.doc) > 20
    assert len((spec.func.__doc__ or "").strip().splitlines()) >= 3  # the math, not just a title
    assert f"### `{code}`" in README


def test_no_signal_is_documented() -> None:
    assert "### `no_signal`" in README


def test_every_threshold_has_a_comment_saying_where_it_comes_from() -> None:
    for name in Thresholds.__dataclass_fields__:
        line = next(line for line in THRESHOLDS_SRC.splitlines() if re.match(rf"\s+{name}:", line))
        idx = THRESHOLDS_SRC.splitlines().index(line)
        context = "\n".join(THRESHOLDS_SRC.splitlines()[max(0, idx - 6) : idx + 1])
        assert "#" in context, name
