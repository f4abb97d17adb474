"""The list of slow tests in conftest.py names tests that exist (a rename would unmark one)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import SLOW_TESTS

TESTS = Path(__file__).parent


@pytest.mark.parametrize("entry", SLOW_TESTS)
def test_each_slow_entry_names_an_existing_test(entry: str) -> None:
    file, _, name = entry.partition("::")
    name = name.partition("[")[0]  # one case of a parametrised test: the test exists
    source = (TESTS / file).read_text(encoding="utf-8")
    if name != "*":
        assert re.search(rf"^(async )?def {re.escape(name)}\(", source, re.M), entry
