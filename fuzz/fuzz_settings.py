"""Coverage-guided fuzzing of the settings files (``dlreport.toml``, ``pyproject.toml``).

Every input is a settings file's bytes, read once as ``dlreport.toml`` and once as
``pyproject.toml`` (:func:`targets.settings_file`, which the test suite also runs under
hypothesis). The property: the file gives settings whose thresholds all have their
field's type and range, or a :class:`~analyzer.errors.ConfigError` whose message is one line
naming the file; nothing else is raised. Run it

    python fuzz/fuzz_settings.py fuzz/corpus_settings -runs=2000                    # short
    python fuzz/fuzz_settings.py fuzz/corpus_settings -max_total_time=600 -rss_limit_mb=1024
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["analyzer"]):
    import targets


def main() -> None:
    atheris.Setup(sys.argv, targets.settings_file)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
