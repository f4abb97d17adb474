"""dlreport: diagnose deep-learning training runs from TensorBoard event files."""

from __future__ import annotations

__version__ = "0.1.0"
