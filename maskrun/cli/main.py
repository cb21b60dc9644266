"""The ``maskrun`` command: a thin shell over the package (docs/spec.md, "Commands and exit status").

Each command is a module of its own in this folder with ``add_parser(commands)`` and
``run(args)``; this module builds the parser from them and turns errors into exit statuses:
0 success, 1 a runtime failure, 2 an invalid request or input, 130 an interrupt (Ctrl-C),
143 a SIGTERM. A user mistake is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TextIO

from maskrun._version import __version__
from maskrun.cli import check_mask, example, make_mask, mask, project_mask, report, run_job, schema, validate
from maskrun.cli.options import option_setting
from maskrun.errors import Interrupted, MaskrunWarning, RunFailure, SettingError, Terminated, UserError

COMMANDS = (mask, make_mask, project_mask, check_mask, report, validate, run_job, example, schema)  # --help's order


def build_parser() -> argparse.ArgumentParser:
    """The ``maskrun`` parser, one subcommand per module of `COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="maskrun",
        description="Apply geometrical or created masks to cryo-EM particle stacks and maps.",
        epilog="Exit status: 0 done, 1 runtime failure, 2 a mistake in the request or input (nothing "
        "written), 130 interrupted. Shapes, fills, job files and outputs: docs/spec.md in the "
        "maskrun source.",
    )
    parser.add_argument("--version", action="version", version=f"maskrun {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    prefix = "warning" if issubclass(category, MaskrunWarning) else category.__name__
    print(f"maskrun: {prefix}: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Everything after a lone ``--`` is passed through to Snakemake (``maskrun run`` only).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    args = build_parser().parse_args(argv)
    if passthrough and args.command != "run":
        build_parser().error("options after -- are passed to snakemake, so only maskrun run takes them")
    args.passthrough = passthrough
    handler: Callable[[argparse.Namespace], int] = args.handler
    previous = signal.signal(signal.SIGTERM, _raise_terminated)  # SLURM's time limit: clean up as for Ctrl-C
    try:
        return _handle(args, handler)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def _handle(args: argparse.Namespace, handler: Callable[[argparse.Namespace], int]) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("always", MaskrunWarning)
        warnings.showwarning = _show_warning
        try:
            return handler(args)
        except UserError as exc:
            if isinstance(exc, SettingError):
                exc = exc.phrased(option_setting)
            for line in str(exc).splitlines():
                print(f"maskrun {args.command}: error: {line}", file=sys.stderr)
            return exc.exit_status
        except (RunFailure, OSError) as exc:
            print(f"maskrun {args.command}: failed: {exc}", file=sys.stderr)
            return 1
        except Interrupted as exc:
            print(f"maskrun {args.command}: {exc}", file=sys.stderr)
            return exc.exit_status
        except KeyboardInterrupt:  # the writer has removed its unfinished file by now
            print(f"maskrun {args.command}: interrupted", file=sys.stderr)
            return 130
        except Terminated:
            print(f"maskrun {args.command}: terminated", file=sys.stderr)
            return 143
