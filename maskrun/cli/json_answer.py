"""``--json OUT|-`` of ``maskrun validate`` and ``maskrun run``: the command's answer, one JSON object, for scripts.

As ``check-mask --json``: OUT is a file, written atomically once the command has its answer
(where it may be: `maskrun.jobs.answer_file`), or ``-``, standard output. With ``-``, what
the command prints on standard output goes to standard error instead (Snakemake's own lines of
a ``--verbose`` run too: the file descriptor is moved, not only Python's stream), so that
standard output holds exactly one JSON document: the answer, or, when the command ends
otherwise (a mistake, exit 2; a failure, 1; an interruption), the error object
`maskrun.cli.main` gives `JsonAnswer.refused`. A file is written only with an answer: a
refused command writes nothing.

The answer's warnings and notes are the lines the command said on standard error, ``maskrun:
warning: …`` and ``maskrun: note: …``, without that prefix: standard error is read as it is
written (`SaidLines`), so that the answer holds every one, whichever part of maskrun said it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

WARNING, NOTE = "maskrun: warning: ", "maskrun: note: "
HELP = (
    "also write the {what} as one JSON object to OUT (replacing only an earlier such answer; a refused or failed "
    "command writes none), or with - to standard output: the lines it prints there then go to standard error, and "
    "a refusal or failure is an object too"
)

Refusal = Callable[[str, int, list[str], list[str]], dict[str, Any]]  # error, exit status, warnings, notes


def add_json_option(parser: argparse.ArgumentParser, what: str) -> None:
    """Add ``--json OUT`` to a command's parser; ``what``: what the answer holds, for its help."""
    parser.add_argument("--json", metavar="OUT", help=HELP.format(what=what))


class SaidLines(io.TextIOBase):
    """A text stream that writes through to ``stream`` and keeps the warnings and notes among its lines."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.warnings: list[str] = []
        self.notes: list[str] = []
        self._line = ""

    def write(self, text: str) -> int:
        self.stream.write(text)
        *ended, self._line = (self._line + text).split("\n")
        for line in ended:
            line = line.rsplit("\r", 1)[-1]  # after a progress line cleared on a terminal
            if line.startswith(WARNING):
                self.warnings.append(line.removeprefix(WARNING))
            elif line.startswith(NOTE):
                self.notes.append(line.removeprefix(NOTE))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return bool(self.stream.isatty())

    def fileno(self) -> int:
        return int(self.stream.fileno())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.stream, "encoding", "utf-8"))


class JsonAnswer:
    """Where a command's answer goes (``--json``'s OUT, or standard output for ``-``), and what it said meanwhile.

    ``refusal``: the error object of the command, given the error's line, the exit status,
    and the warnings and notes said.
    """

    def __init__(self, target: str, refusal: Refusal) -> None:
        self.to_stdout = target == "-"
        self.path = None if self.to_stdout else Path(target)
        self.refusal = refusal
        self.said = SaidLines(sys.stderr)

    @contextlib.contextmanager
    def kept(self) -> Iterator[None]:
        """While the command works: its warnings and notes kept; with ``-``, its standard output on standard error."""
        self.said = SaidLines(sys.stderr)
        with contextlib.ExitStack() as stack:
            stack.enter_context(contextlib.redirect_stderr(self.said))
            if self.to_stdout:
                stack.enter_context(_stdout_on_stderr())
            yield

    def give(self, answer: dict[str, Any]) -> None:
        """Write the command's answer: to the file, atomically (its folder made if missing), or to standard output."""
        text = _json_text(answer)
        if self.path is None:
            sys.stdout.write(text)
            return
        from maskrun.io.atomic import write_atomic

        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, text)

    def refused(self, error: str, exit_status: int) -> None:
        """With ``-``, the error object of a command that ended with ``error`` (its line, after ``maskrun COMMAND:
        error:``) and ``exit_status``; a file is left as it is."""
        if self.to_stdout:
            with contextlib.suppress(OSError):  # its reader gone: the status still says it
                sys.stdout.write(_json_text(self.refusal(error, exit_status, self.said.warnings, self.said.notes)))
                sys.stdout.flush()


def _json_text(answer: dict[str, Any]) -> str:
    return json.dumps(answer, indent=1) + "\n"  # as check-mask writes its JSON


def json_answer(args: argparse.Namespace, refusal: Refusal) -> JsonAnswer | None:
    """The command's `JsonAnswer` (None without ``--json``), kept in ``args.json_answer`` for `maskrun.cli.main`;
    a file refused at once where it may not be written (`maskrun.jobs.answer_file.check_answer_file`), and an
    earlier answer there removed."""
    if args.json is None:
        return None
    answer = JsonAnswer(args.json, refusal)
    args.json_answer = answer
    if answer.path is not None:
        from maskrun.jobs.answer_file import check_answer_file

        check_answer_file(answer.path)
        # an earlier answer (the only file it may be) goes now: a command refused or failed after this leaves none,
        # not the last run's success for a pipeline that reads the file without the exit status
        answer.path.unlink(missing_ok=True)
    return answer


def kept(answer: JsonAnswer | None) -> contextlib.AbstractContextManager[None]:
    """`JsonAnswer.kept`, or nothing without ``--json``."""
    return answer.kept() if answer is not None else contextlib.nullcontext()


@contextlib.contextmanager
def _stdout_on_stderr() -> Iterator[None]:
    """Send standard output to standard error for the block: Python's stream, and its file descriptor (what a child
    process writes there, Snakemake's ``--verbose`` log) when it has one."""
    stdout = sys.stdout
    stdout.flush()
    try:
        fd: int | None = stdout.fileno()
    except (AttributeError, OSError, ValueError):  # a capture's, with no file under it (pytest's)
        fd = None
    saved = os.dup(fd) if fd is not None else None
    if fd is not None:
        os.dup2(sys.__stderr__.fileno() if sys.__stderr__ is not None else 2, fd)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            stdout.flush()
            sys.stderr.flush()
        if fd is not None and saved is not None:
            os.dup2(saved, fd)
            os.close(saved)
