"""The command line: parse options, call the library, write, exit.

Exit codes: 0 success, 1 findings at or above ``--fail-on`` (analyze), 2 unusable input or a
usage error (any :class:`~analyzer.errors.DlreportError`, told in one line), 3 a bug in dlreport
(with the traceback under ``--debug``). Data goes to stdout, messages to stderr.

Every output path is checked the same way: missing parent folders are created, and any other
failure to write (a read-only folder, a full disk, a folder where a file is asked) is one line
naming the path, exit 2. A closed stdout (``dlreport export -o - | head -1``) is a normal end:
exit 0, no message.

Only click is imported here at start-up: each command (``analyzer/commands/``: analyze.py,
compare.py, tables.py for tags, export and thresholds, common.py for what they share) imports
what it needs when it runs, so ``dlreport --help`` does not pay for pandas, matplotlib or the
reader.
"""

from __future__ import annotations

from typing import Any

import click

from . import __version__
from .commands.analyze import analyze
from .commands.common import EXIT_BUG, EXIT_OK, InputFailure, _silence_stdout
from .commands.compare import compare
from .commands.tables import export, tags, thresholds_command
from .errors import DlreportError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


class _Group(click.Group):
    """Turns a :class:`DlreportError` into one line and exit 2, anything else into exit 3."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DlreportError as exc:
            from .render.safetext import visible

            raise InputFailure(visible(exc)) from None  # one line, whatever a name holds
        except BrokenPipeError:  # the reader of stdout is gone (| head): a normal end
            _silence_stdout()
            ctx.exit(EXIT_OK)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as exc:
            if _out_of_memory(exc):  # the environment's limit (ulimit -v, a container's)
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise InputFailure(
                    f"out of memory ({reason}); fewer runs or --jobs may fit"
                ) from None
            if _from_storage(exc):
                from .render.safetext import visible

                # No credentials, no network, a bucket that is not there: the user's
                # environment, not a bug in dlreport.
                if ctx.obj and ctx.obj.get("debug"):
                    import traceback

                    traceback.print_exc()
                reason = str(exc).splitlines()[0] if str(exc) else ""
                raise InputFailure(
                    visible(f"cannot read from storage: {type(exc).__name__}: {reason}")
                ) from None
            # a bug: say so, and keep the traceback for --debug
            if ctx.obj and ctx.obj.get("debug"):
                import traceback  # only here: it costs 25 ms of every start-up

                traceback.print_exc()
            else:
                click.echo(
                    f"internal error: {type(exc).__name__}: {exc}. This is a bug in dlreport; "
                    "please report it with the output of --debug.",
                    err=True,
                )
            ctx.exit(EXIT_BUG)


# Packages that reach remote storage for fsspec: their errors (credentials, network, missing
# buckets) come from the user's environment, not from dlreport.
_STORAGE_MODULES = ("botocore", "aiobotocore", "s3fs", "gcsfs", "google", "aiohttp", "requests")


def _out_of_memory(exc: BaseException) -> bool:
    """A MemoryError, or a library that could not be mapped into memory (under ``ulimit -v``,
    loading a shared library fails with "failed to map segment")."""
    return isinstance(exc, MemoryError) or (
        isinstance(exc, ImportError) and "failed to map segment" in str(exc)
    )


def _from_storage(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return module.split(".")[0] in _STORAGE_MODULES


@click.group(cls=_Group, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, package_name="dlreport")
@click.option("--debug", is_flag=True, envvar="DLREPORT_DEBUG", help="Show tracebacks of bugs.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Diagnose deep-learning training runs from TensorBoard event files."""
    from .arrowless import install

    install()  # pandas without pyarrow: 0.2 CPU-s less for commands that never use it
    ctx.obj = {"debug": debug}


for command in (tags, export, analyze, compare, thresholds_command):
    cli.add_command(command)


def main() -> None:
    """Entry point for ``python -m analyzer``."""
    cli(prog_name="dlreport")


if __name__ == "__main__":  # pragma: no cover
    main()
