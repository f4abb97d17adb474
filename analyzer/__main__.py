"""``python -m analyzer``: the same as the ``dlreport`` command."""

from __future__ import annotations

from .cli import main

main()
