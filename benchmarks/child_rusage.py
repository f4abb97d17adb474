"""One ``dlreport`` command measured as a user runs it: a whole process, its CPU and wall time.

A small launcher process runs the command and reports ``resource.getrusage(RUSAGE_CHILDREN)``
of that one command: user+sys CPU of it and of any pool workers it started (they are its
children, waited for), the largest peak RSS among them, and the wall time from start to exit.
The launcher's own start-up is outside the figures. Shared by bench_batch.py and bench_cli.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

LAUNCHER = """
import json, resource, subprocess, sys, time
wall = time.perf_counter()
out = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - wall
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": out.returncode, "wall_s": wall, "cpu_s": kids.ru_utime + kids.ru_stime,
                  "rss_mb": kids.ru_maxrss / 1024, "stderr": out.stderr.decode()[-400:]}))
"""


def dlreport() -> list[str]:
    """The entry point a user runs (this venv's ``dlreport`` script)."""
    script = Path(sys.executable).parent / "dlreport"
    return [str(script)] if script.exists() else [sys.executable, "-m", "analyzer"]


def launch(argv: list[str]) -> dict[str, Any]:
    """Run ``argv`` under the launcher: ``rc``, ``wall_s``, ``cpu_s``, ``rss_mb``, ``stderr``
    (its last 400 characters). Exit 1 is findings at ``--fail-on``, not a failure; any other
    non-zero exit raises."""
    out = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *argv], check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(out.stdout)
    if result["rc"] not in (0, 1):
        raise RuntimeError(f"{' '.join(argv)} exited {result['rc']}: {result['stderr']}")
    return result
