"""Coverage-guided fuzzing of the settings files (``dlreport.toml``, ``pyproject.toml``).

Every input is a settings file's bytes, read once as ``dlreport.toml`` and once as
``pyproject.toml``. The property: the file gives settings whose thresholds all have their
field's type and range, or a :class:`~analyzer.errors.ConfigError` whose message is one line
naming the file; nothing else is raised. Run it

    python fuzz/fuzz_settings.py fuzz/corpus_settings -runs=2000                    # short
    python fuzz/fuzz_settings.py fuzz/corpus_settings -max_total_time=600 -rss_limit_mb=1024
"""

from __future__ import annotations

import math
import sys
from dataclasses import fields

import atheris

with atheris.instrument_imports(include=["analyzer"]):
    import fsspec

    from analyzer.errors import ConfigError
    from analyzer.settings import Thresholds, load_settings, with_overrides

_FS = fsspec.filesystem("memory")
_FIELDS = {f.name: f for f in fields(Thresholds)}


def test_one_input(data: bytes) -> None:
    """Load ``data`` as each kind of settings file; only ConfigError (one line) may come out."""
    for name in ("dlreport.toml", "pyproject.toml"):
        path = f"memory://fuzz/{name}"
        with _FS.open(path, "wb") as f:
            f.write(data)
        try:
            settings = load_settings("memory://fuzz/logs", config=path)
        except ConfigError as exc:
            message = str(exc)
            assert "\n" not in message, message
            assert path in message, message
            continue
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in settings.roles.items())
        for key, value in settings.thresholds.items():
            assert math.isfinite(value), (key, value)
            assert isinstance(value, int if _FIELDS[key].type == "int" else float), (key, value)
        with_overrides(Thresholds(), settings.thresholds)  # accepted once, accepted again


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
