"""One ``dlreport`` command measured as a user runs it: a whole process, its CPU and wall time.

A small launcher process runs the command and reports ``resource.getrusage(RUSAGE_CHILDREN)``
of that one command: user+sys CPU of it and of any pool workers it started (they are its
children, waited for), the largest peak RSS among them, and the wall time from start to exit.
The launcher's own start-up is outside the figures. Shared by bench_batch.py and bench_cli.py.
"""

from __future__ import annotations

import json
import os
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


def user_environment() -> dict[str, str]:
    """This process's environment with Python's bytecode cache on, as on a user's machine.

    A sandbox or CI image may set ``PYTHONDONTWRITEBYTECODE=1``; then every command compiles
    dlreport's modules again at start-up (50-65 ms a command here), which no installed copy
    does (pip compiles them at install, an editable checkout caches them at first import).
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def launch(argv: list[str]) -> dict[str, Any]:
    """Run ``argv`` under the launcher: ``rc``, ``wall_s``, ``cpu_s``, ``rss_mb``, ``stderr``
    (its last 400 characters). Exit 1 is findings at ``--fail-on``, not a failure; any other
    non-zero exit raises. The command runs with the bytecode cache on (:func:`user_environment`)."""
    out = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *argv],
        check=True,
        capture_output=True,
        text=True,
        env=user_environment(),
    )
    result: dict[str, Any] = json.loads(out.stdout)
    if result["rc"] not in (0, 1):
        raise RuntimeError(f"{' '.join(argv)} exited {result['rc']}: {result['stderr']}")
    return result
