"""A run still being written: another process appends records while dlreport reads the file.

Every read must succeed with the records written so far (a prefix of what the writer will
write, with the right values) and at most a "truncated" note for the record being written; no
error, no exception.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from analyzer.reader import read_logdir

WRITER = r"""
import sys, time
from tensorboard.compat.proto import event_pb2
from tensorboard.summary.writer.record_writer import RecordWriter
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "wb", buffering=0) as f:
    w = RecordWriter(f)
    w.write(event_pb2.Event(wall_time=1.0, file_version="brain.Event:2").SerializeToString())
    for step in range(n):
        e = event_pb2.Event(wall_time=2.0 + step, step=step)
        e.summary.value.add(tag="train/loss", simple_value=1.0 / (step + 1))
        data = e.SerializeToString()
        # write each record in two pieces, so that readers do see half-written records
        import struct, io
        buf = io.BytesIO(); RecordWriter(buf).write(data); raw = buf.getvalue()
        f.write(raw[: len(raw) // 2]); f.write(raw[len(raw) // 2 :])
        if step % 50 == 0:
            time.sleep(0.002)
"""

# Enough for many reads while it writes (it pauses 2 ms every 50 records: 0.2 s at least).
RECORDS = 5000


def test_reading_while_a_writer_appends(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    path = run / "events.out.tfevents.1.live"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(RECORDS)])
    try:
        seen = []
        deadline = time.time() + 60
        while writer.poll() is None and time.time() < deadline:
            if not path.exists() or path.stat().st_size == 0:
                time.sleep(0.005)  # the writer is still starting: no need to spin on a core
                continue
            (data,) = read_logdir(str(tmp_path)).runs
            assert {p.kind for p in data.problems} <= {"truncated"}, data.problems
            steps = data.scalars["step"].to_numpy()
            values = data.scalars["value"].to_numpy()
            assert (steps == range(len(steps))).all()  # a prefix, in order
            assert (values == (1.0 / (steps + 1)).astype("float32")).all()
            seen.append(len(steps))
        assert writer.wait(timeout=60) == 0
    finally:
        writer.kill()
    (final,) = read_logdir(str(tmp_path)).runs
    assert len(final.scalars) == RECORDS
    assert final.problems == ()
    assert len(seen) >= 2  # we did read while it was being written
    assert seen == sorted(seen)
