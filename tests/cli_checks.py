"""Running the CLI as a user's shell does, and checking a failure is one line with no traceback.

``run_cli`` starts ``python -m analyzer`` in a child process, under a wall-clock timeout and an
address-space cap (``resource.RLIMIT_AS``), so that a hang or a runaway allocation fails the
test instead of the machine. ``one_line_error`` checks what every refused input must give.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from click.testing import Result

# A CLI child never needs more than this: pandas, numpy and matplotlib loaded, one small run.
MEMORY_CAP = 2 * 1024**3


@dataclass(frozen=True)
class Completed:
    exit_code: int
    stdout: str
    stderr: str


def _cap_memory() -> None:  # pragma: no cover  (runs in the child)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_cli(
    args: Sequence[str],
    *,
    timeout: float = 60,
    cwd: Path | None = None,
    stdout: IO[Any] | int | None = subprocess.PIPE,
    env: dict[str, str] | None = None,
) -> Completed:
    """``dlreport ARGS`` in a child process with a timeout and a memory cap."""
    proc = subprocess.run(
        [sys.executable, "-m", "analyzer", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        preexec_fn=_cap_memory,
        check=False,
    )
    out = proc.stdout.decode("utf-8", "replace") if isinstance(proc.stdout, bytes) else ""
    return Completed(proc.returncode, out, proc.stderr.decode("utf-8", "replace"))


def one_line_error(result: Result | Completed, *words: str, code: int = 2) -> str:
    """Assert exit ``code``, a single line on stderr holding ``words``, and no traceback."""
    stderr = result.stderr
    assert result.exit_code == code, (result.exit_code, stderr)
    assert "Traceback" not in stderr, stderr
    assert "Traceback" not in result.stdout, result.stdout
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]
