"""Running the CLI as a user's shell does, and checking a failure is one line with no traceback.

``run_cli`` starts ``python -m analyzer`` in a child process, under a wall-clock timeout and an
address-space cap (``resource.RLIMIT_AS``), so that a hang or a runaway allocation fails the
test instead of the machine. ``one_line_error`` checks what every refused input must give.

``CliServer`` does the same for many commands at a fraction of the cost: one child process
imports the CLI once, then forks a fresh process per command (about 10 ms instead of 0.5 CPU-s
of start-up). Each forked process is a real process: its own stdout and stderr file
descriptors (UTF-8, strict on stdout as ``PYTHONIOENCODING=utf-8`` makes them), its own
memory cap, killed at its timeout.
"""

from __future__ import annotations

import io
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
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


# --- many commands, one start-up --------------------------------------------------------------


@dataclass(frozen=True)
class Ran:
    """What one command gave, as bytes (a test decodes them strictly)."""

    returncode: int
    stdout: bytes
    stderr: bytes


class CliServer:
    """A child process that has imported the CLI and forks one process per :meth:`run`."""

    def __init__(self, memory_cap: int = MEMORY_CAP) -> None:
        self.memory_cap = memory_cap
        self.folder = Path(tempfile.mkdtemp(prefix="dlreport-cli-"))
        self.proc = subprocess.Popen(
            [sys.executable, __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # One BLAS thread: each reserves address space, so that the cap would otherwise
            # depend on the machine's number of cores (dlreport does no heavy linear algebra).
            env={**os.environ, "PYTHONIOENCODING": "utf-8", "OPENBLAS_NUM_THREADS": "1"},
            text=True,
        )
        self.count = 0

    def run(
        self,
        args: Sequence[str],
        *,
        timeout: float = 60,
        cwd: Path | None = None,
        stdout_to: str | None = None,
        memory_cap: int | None = None,
    ) -> Ran:
        """``dlreport ARGS`` in a fresh process; :class:`subprocess.TimeoutExpired` on a hang.

        ``stdout_to`` names a file for its stdout instead (``/dev/full``); ``stdout`` is then
        empty. ``memory_cap`` replaces the server's cap for this command."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.count += 1
        out, err = self.folder / f"{self.count}.out", self.folder / f"{self.count}.err"
        request = {
            "args": list(args),
            "cwd": str(cwd) if cwd else None,
            "timeout": timeout,
            "memory_cap": memory_cap or self.memory_cap,
            "stdout": stdout_to or str(out),
            "stderr": str(err),
        }
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline())
        stdout = b"" if stdout_to else out.read_bytes()
        stderr = err.read_bytes()
        out.unlink(missing_ok=True)
        err.unlink()
        if reply["timed_out"]:
            raise subprocess.TimeoutExpired(["dlreport", *args], timeout, stdout, stderr)
        return Ran(reply["code"], stdout, stderr)

    def cli(
        self, args: Sequence[str], *, timeout: float = 60, memory_cap: int | None = None
    ) -> Completed:
        """:meth:`run` with what it gave decoded as :func:`run_cli` does (for
        :func:`one_line_error`)."""
        ran = self.run(args, timeout=timeout, memory_cap=memory_cap)
        return Completed(
            ran.returncode,
            ran.stdout.decode("utf-8", "replace"),
            ran.stderr.decode("utf-8", "replace"),
        )

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        for leftover in self.folder.iterdir():
            leftover.unlink()
        self.folder.rmdir()


def _serve() -> None:  # pragma: no cover  (runs in the server child)
    """Read requests (JSON lines) on stdin; fork, run, and answer each on stdout."""
    import importlib

    for module in ("analyzer.cli", "analyzer.pipeline", "analyzer.render.export",
                   "analyzer.render.tags"):  # fmt: skip
        importlib.import_module(module)  # what the forked processes share

    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _run_forked(request)
        deadline = time.monotonic() + request["timeout"]
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                reply = {"code": os.waitstatus_to_exitcode(status), "timed_out": False}
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                reply = {"code": -signal.SIGKILL, "timed_out": True}
                break
            time.sleep(0.005)
        print(json.dumps(reply), flush=True)


def _run_forked(request: dict[str, Any]) -> None:  # pragma: no cover  (a forked process)
    """Become ``python -m analyzer ARGS`` as far as the CLI can tell, then exit."""
    code = 1
    try:
        resource.setrlimit(resource.RLIMIT_AS, (request["memory_cap"], request["memory_cap"]))
        if request["cwd"]:
            os.chdir(request["cwd"])
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(os.open(request["stdout"], flags), 1)
        os.dup2(os.open(request["stderr"], flags), 2)
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stdout = io.TextIOWrapper(open(1, "wb", closefd=False), encoding="utf-8")  # noqa: SIM115
        sys.stderr = io.TextIOWrapper(
            open(2, "wb", buffering=0, closefd=False),  # noqa: SIM115
            encoding="utf-8",
            errors="backslashreplace",
            line_buffering=True,
        )
        sys.argv = ["dlreport", *request["args"]]
        try:
            from analyzer.cli import main

            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
        try:
            sys.stdout.flush()
        except BaseException:
            traceback.print_exc()
            code = 120  # what Python's own exit does when stdout cannot be flushed
        sys.stderr.flush()
    finally:
        os._exit(code)


if __name__ == "__main__":
    _serve()
