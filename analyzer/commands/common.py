"""What the commands share: their common options, writing to stdout or a file, checking a
LOGDIR's protocol, the progress bar, and the exit codes.

Only click is imported here at start-up; the rest is imported inside the helpers that need it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # pragma: no cover
    from ..selection import Selection

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT, EXIT_BUG = 0, 1, 2, 3
FORMATS = ("html", "json", "md", "markdown")  # "markdown" is another name for "md"


class InputFailure(click.ClickException):
    """Bad input: a one-line message and exit code 2."""

    exit_code = EXIT_INPUT


F = Callable[..., Any]


def _selection_options(func: F) -> F:
    """--include / --exclude: which runs, by name (the same in every command)."""
    func = click.option(
        "--exclude",
        multiple=True,
        metavar="GLOB",
        help="Leave out the runs whose name matches (repeatable).",
    )(func)
    return click.option(
        "--include",
        multiple=True,
        metavar="GLOB",
        help="Only the runs whose name matches, e.g. 'sweep/*' or 'lr*' (a pattern without '/' "
        "also matches the name's last part; repeatable).",
    )(func)


def _tags_option(func: F) -> F:
    return click.option(
        "--tags",
        "tag_pattern",
        default=None,
        metavar="REGEX",
        help="Only the tags this regular expression finds (re.search), e.g. 'loss|lr'.",
    )(func)


def _role_option(func: F) -> F:
    return click.option(
        "--role", "roles", multiple=True, metavar="ROLE=TAG", help="Pin a tag to a role."
    )(func)


def _overrides_options(func: F) -> F:
    """--role and --threshold: the settings of the command line (analyze, compare)."""
    func = click.option(
        "--threshold",
        "thresholds",
        multiple=True,
        metavar="NAME=VALUE",
        help="Override a threshold.",
    )(func)
    return _role_option(func)


def _open_option(func: F) -> F:
    return click.option(
        "--open", "open_", is_flag=True, help="Open the written report in the default browser."
    )(func)


def _select(
    include: tuple[str, ...], exclude: tuple[str, ...], tags: str | None = None
) -> Selection:
    from ..selection import Selection

    return Selection(include=include, exclude=exclude, tags=tags)


def _open(path: str | Path) -> None:
    """Show a written report in the default browser (``--open``)."""
    import webbrowser

    webbrowser.open(Path(path).resolve().as_uri())


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush of what is still
    buffered cannot fail again at exit (Python's recipe for SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests): nothing buffered
        pass


def _stdout(text: str) -> None:
    """Write ``text`` to stdout; a failure is one line (exit 2), a closed pipe a normal end."""
    from ..errors import OutputError
    from ..render.safetext import encodable

    try:
        click.echo(encodable(text), nl=False)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        _silence_stdout()
        raise OutputError(f"stdout: cannot write ({exc.strerror or exc})") from None


def _prepare(output: str) -> Path:
    """``output`` as a path whose parent folders exist (created if missing)."""
    from ..errors import OutputError
    from ..render.safetext import visible

    path = Path(output)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{visible(output)}: cannot create its folder ({exc.strerror or exc})"
        ) from None
    if path.is_dir():
        raise OutputError(f"{visible(output)}: is a folder; name a file to write")
    return path


def _write_file(output: str, text: str) -> int:
    """Write ``text`` (UTF-8, names made encodable) to ``output``; returns the bytes written."""
    from ..errors import OutputError
    from ..render.safetext import encodable, visible

    data = encodable(text).encode("utf-8")
    path = _prepare(output)
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as exc:
        raise OutputError(f"{visible(output)}: cannot write ({exc.strerror or exc})") from None
    return len(data)


def _emit(output: str, text: str) -> int | None:
    """``text`` to ``output`` ('-' for stdout); the bytes written to a file, else None."""
    if output == "-":
        _stdout(text)
        return None
    return _write_file(output, text)


def _check_logdir(logdir: str) -> None:
    """A URL whose filesystem needs a package that is not installed: one line, exit 2."""
    from ..errors import InputError
    from ..render.safetext import visible

    protocol, sep, _ = logdir.partition("://")
    if not sep:
        return
    import fsspec

    try:
        fsspec.get_filesystem_class(protocol)
    except ValueError:
        raise InputError(f"{visible(logdir)}: unknown protocol {visible(protocol)}://") from None
    except ImportError:
        extra = _EXTRAS.get(protocol)
        hint = (
            f"install dlreport[{extra}]: pip install 'dlreport[{extra}]'"
            if extra
            else "install the fsspec implementation of that protocol"
        )
        raise InputError(
            f"{visible(logdir)}: reading {protocol}:// needs an optional package ({hint})"
        ) from None


# The optional dependencies (pyproject.toml) that bring each fsspec protocol.
_EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "http": "http", "https": "http"}


def _config_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--config",
        "config",
        default=None,
        metavar="FILE",
        help="Settings file to use (dlreport.toml or pyproject.toml) instead of looking for "
        "one in LOGDIR and the working directory and their parents.",
    )(func)


def _short(text: str, limit: int = 200) -> str:
    """A name cut for a log line (tag and run names can be megabytes long)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback (runs done, runs in all) drawing a bar on stderr.

    Only on a terminal, and only once the work has taken a second (a few runs need none). The
    bar is ``click.progressbar`` used as a context manager, closed when the block ends.
    """
    if not sys.stderr.isatty():
        yield None
        return
    started = time.monotonic()
    with ExitStack() as stack:
        bars: list[Any] = []

        def update(done: int, total: int) -> None:
            if not bars:
                if time.monotonic() - started <= 1.0 or done >= total:
                    return
                bars.append(
                    stack.enter_context(
                        click.progressbar(length=total, label=label, file=sys.stderr)
                    )
                )
            bars[0].update(done - bars[0].pos)

        yield update


def _kilobytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{max(1, round(size / 1e3))} KB"
