"""Coverage-guided fuzzing of the reader (atheris, libFuzzer's engine for Python).

Every input is an event file's bytes. The property: the reader either reads it (reporting
what it skipped) or rejects it with a one-line problem; it never raises, hangs or allocates
what the file cannot contain. Run it

    python fuzz/fuzz_reader.py fuzz/corpus -runs=2000                   # as CI does (short)
    python fuzz/fuzz_reader.py fuzz/corpus -max_total_time=3600 -rss_limit_mb=2048   # long

libFuzzer writes a crashing input to ``crash-<hash>``; add it to ``fuzz/corpus`` once fixed.
The seed corpus holds small real event files (tensorboardX, TF1, TF2, Keras).
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["analyzer"]):
    import fsspec

    from analyzer.reader.discover import RunSource
    from analyzer.reader.events import read_event_bytes
    from analyzer.reader.runs import read_run
    from analyzer.reader.tags import TagTable

_FS = fsspec.filesystem("memory")
_PATH = "memory://fuzz/run/events.out.tfevents.0"


def test_one_input(data: bytes) -> None:
    """Read ``data`` as one event file, then as a run (restarts, frames); nothing may raise."""
    read = read_event_bytes("fuzz", data, TagTable())
    for problem in read.problems:
        assert "\n" not in problem.message, problem.message  # one line, always
    with _FS.open(_PATH, "wb") as f:
        f.write(data)
    run = read_run(RunSource(name=".", path="memory://fuzz/run", files=(_PATH,)))
    assert run.records == read.records
    assert len(run.scalars) <= sum(c.scalar_tag.size for c in read.chunks)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
