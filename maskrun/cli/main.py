"""The ``maskrun`` command: a thin shell over the package (docs/spec.md, "Commands and exit status").

Each command is a module of its own in this folder with ``add_parser(commands)`` and
``run(args)``; this module builds the parser from them and turns errors into exit statuses:
0 success, 1 a runtime failure, 2 an invalid request or input, 130 an interrupt (Ctrl-C),
143 a SIGTERM, 129 a SIGHUP (the login session ended; ignored under ``nohup``). A user mistake
is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import select
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TextIO

from maskrun._version import __version__
from maskrun.cli.parser_errors import OneLineParser, refuse_unknown
from maskrun.errors import Interrupted, MaskrunWarning, RunFailure, SettingError, Terminated, UserError
from maskrun.io.output_space import AGAIN, RESUMES, no_space_failure, out_of_space

# each command and its module in this folder, in --help's order; a module is imported only when its
# command runs (or --help lists them all), so that a command does not pay for the others' imports
COMMANDS = {
    "mask": "mask",
    "make-mask": "make_mask",
    "project-mask": "project_mask",
    "check-mask": "check_mask",
    "report": "report",
    "validate": "validate",
    "run": "run_job",
    "example": "example",
    "schema": "schema",
}


def command_module(command: str) -> ModuleType:
    """The module of a command of `COMMANDS` (``check-mask`` → `maskrun.cli.check_mask`)."""
    return importlib.import_module(f"maskrun.cli.{COMMANDS[command]}")


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The ``maskrun`` parser, one subcommand per module of `COMMANDS`.

    When ``argv``'s first word is a command, only that command's parser is built: the
    parse is the same, and the other commands' modules are not imported.
    """
    parser = OneLineParser(
        prog="maskrun",
        description="Apply geometrical or created masks to cryo-EM particle stacks and maps.",
        epilog="Exit status: 0 done, 1 runtime failure, 2 a mistake in the request or input (nothing "
        "written), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM), 129 hung up (SIGHUP), 141 its output "
        "piped to a reader that closed (| head). "
        "Shapes, fills, job files and outputs: docs/spec.md in the maskrun source.",
    )
    parser.add_argument("--version", action="version", version=f"maskrun {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    words = [word for word in argv if not word.startswith("-")]
    for command in [words[0]] if words and words[0] in COMMANDS else COMMANDS:
        command_module(command).add_parser(commands)
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

    Everything after a lone ``--`` is passed through to Snakemake (``maskrun run``; ``maskrun
    validate`` checks the resource settings among it, as the run would).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = build_parser(argv)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        _refuse_unknown(parser, args, unknown)
    if passthrough and args.command not in ("run", "validate"):
        build_parser().error(
            "options after -- are passed to snakemake, so only maskrun run takes them (and validate checks them)"
        )
    args.passthrough = passthrough
    args.argv = argv  # as typed, for a command that records how it was run (make-mask in its mask's labels)
    handler: Callable[[argparse.Namespace], int] = args.handler
    previous = signal.signal(signal.SIGTERM, _raise_terminated)  # SLURM's time limit: clean up as for Ctrl-C
    previous_hup = signal.getsignal(signal.SIGHUP)
    if previous_hup is not signal.SIG_IGN:  # ignored: nohup started maskrun to outlive its session
        signal.signal(signal.SIGHUP, _raise_terminated)  # the ssh session it was started in ended
    # Ctrl-C, and `kill -INT PID` even when a shell started maskrun in the background with SIGINT ignored
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return _handle(args, handler)
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGHUP, previous_hup)
        signal.signal(signal.SIGINT, previous_int)


def _refuse_unknown(parser: argparse.ArgumentParser, args: argparse.Namespace, unknown: list[str]) -> None:
    """Exit 2 naming the words the command does not take, with the option a mistyped one was likely meant as."""
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    refuse_unknown(subparsers.choices[args.command], unknown, args)


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(signum)


def _handle(args: argparse.Namespace, handler: Callable[[argparse.Namespace], int]) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("always", MaskrunWarning)
        warnings.showwarning = _show_warning
        try:
            status = handler(args)
            sys.stdout.flush()  # a reader gone since the last line shows here, not at exit as "Exception ignored"
            return status
        except UserError as exc:
            if isinstance(exc, SettingError):
                from maskrun.cli.options import option_setting

                exc = exc.phrased(option_setting)
            exc = _with_the_command(exc)
            for line in str(exc).splitlines():
                print(f"maskrun {args.command}: error: {line}", file=sys.stderr)
            return _answered(args, str(exc), exc.exit_status)
        except (RunFailure, OSError) as exc:
            if isinstance(exc, BrokenPipeError) and _reader_gone():  # `maskrun validate JOB | head -1`
                return 128 + signal.SIGPIPE
            if isinstance(exc, OSError) and out_of_space(exc):  # one line, as for any failure the user can fix
                exc = no_space_failure(exc, RESUMES if args.command == "run" else AGAIN)
            print(f"maskrun {args.command}: failed: {exc}", file=sys.stderr)
            return _answered(args, str(exc), 1)
        except Interrupted as exc:
            _last_words(f"maskrun {args.command}: {exc}")
            return _answered(args, str(exc), exc.exit_status)
        except KeyboardInterrupt:  # the writer has removed its unfinished file by now
            _last_words(f"maskrun {args.command}: interrupted")
            return _answered(args, "interrupted", 130)
        except Terminated as stopped:
            _last_words(f"maskrun {args.command}: {stopped.word}")
            return _answered(args, stopped.word, stopped.exit_status)


def _answered(args: argparse.Namespace, error: str, status: int) -> int:
    """Give a command asked for its answer as JSON on standard output (``--json -``) the error object of how it
    ended, ``error`` its line; returns ``status``."""
    answer = getattr(args, "json_answer", None)
    if answer is not None:
        answer.refused(error, status)
    return status


def _with_the_command(exc: UserError) -> UserError:
    """A map given as a mask (`MapAsMask`, from check-mask or a job's mask file) with the make-mask command that makes
    a mask from it; any other error as it is."""
    from maskrun.engine.map_as_mask import MapAsMask

    if not isinstance(exc, MapAsMask):
        return exc
    from maskrun.jobs.make_mask_commands import from_map_command

    return exc.made_with(from_map_command(exc.map_path))


def _reader_gone() -> bool:
    """Whether what read maskrun's output stopped reading; if so, the output goes to /dev/null from here.

    A command killed by SIGPIPE ends quietly; Python ignores SIGPIPE, so the write raised
    instead, reported as "failed: [Errno 32] Broken pipe" with exit status 1, in some runs of
    ``maskrun validate JOB | head -1`` and not in others (as the pipe's buffer had room). The
    write end of a pipe whose readers are gone polls as an error (Linux's ``pipe_poll``): that
    tells it from a broken pipe of maskrun's own. /dev/null then takes the output, so that
    Python's flush at exit does not fail again.
    """
    try:
        stdout = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a capture, or closed
        return False
    poller = select.poll()
    poller.register(stdout, select.POLLOUT)
    if not any(events & select.POLLERR for _, events in poller.poll(0)):
        return False
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, stdout)
    os.close(null)
    return True


def _last_words(line: str) -> None:
    """Say why the command stopped, on stderr, even if what read it is gone.

    ``maskrun run ... | tee log`` and Ctrl-C: the terminal stops tee too, and writing to its
    pipe fails. The exit status must still say "interrupted", not that failure: the message
    is dropped, and the standard streams go to /dev/null so that Python's flush at exit
    cannot fail either.
    """
    try:
        print(line, file=sys.stderr, flush=True)
    except OSError:
        null = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):
            os.dup2(null, fd)
        os.close(null)
