"""Coverage-guided fuzzing of the reader (atheris, libFuzzer's engine for Python).

The first byte of an input chooses the target (:mod:`targets`), the rest is its input: an
event file's bytes, an ``hparams.yaml``, or a directory tree (names, links, FIFOs, devices).
The property: the reader either reads it (reporting what it skipped) or rejects it with a
one-line problem; it never raises, hangs or allocates what the input cannot contain. Run it

    python fuzz/fuzz_reader.py fuzz/corpus -runs=2000                   # as CI does (short)
    python fuzz/fuzz_reader.py fuzz/corpus -max_total_time=3600 -rss_limit_mb=2048   # long

libFuzzer writes a crashing input to ``crash-<hash>``; add it to ``fuzz/corpus`` once fixed.
The seed corpus holds small real event files (tensorboardX, TF1, TF2, Keras); an input whose
first byte is not a target's number is read as an event file whole, so they seed it as is.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["analyzer"]):
    import targets

_TARGETS = {0xF1: targets.hparams_yaml, 0xF2: targets.directory_tree}
_CORPUS = Path(__file__).resolve().parent / "corpus"


def test_one_input(data: bytes) -> None:
    target = _TARGETS.get(data[0]) if data else None
    if target is None:
        targets.event_file(data)
    else:
        target(data[1:])


def main() -> None:
    seeds = sorted(p for p in _CORPUS.glob("*tfevents*")) if _CORPUS.is_dir() else []
    targets._SEED_EVENTS = seeds[0].read_bytes() if seeds else b""
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
