"""A step's log (a unit's, the gather's, the report's): written line by line as the step runs, ending on how it
ended, and read back to tell a run's failure.

Its lines: ``<time> start <step>``, what it did, then ``<time> done <step>``; or, as it ended
otherwise, ``<time> refused: …`` (the user's mistake), ``<time> failed: …`` (maskrun's
account of a failure), ``<time> interrupted <step>: …`` (stopped by a signal), or a traceback.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from maskrun.errors import RunFailure, Terminated, UserError
from maskrun.io.atomic import unlinked
from maskrun.io.output_space import RESUMES, no_space_failure, out_of_space
from maskrun.jobs.provenance import now
from maskrun.timeline import mark

REFUSED = " refused:"  # a step's log ends "<time> refused: <the user's mistake>" when it raised a UserError
FAILED = " failed:"  # "<time> failed: <what went wrong>" when it raised a RunFailure (its message says it all)


def logged_refusal(log_path: Path) -> str | None:
    """The user's mistake a logged step ended on (`REFUSED`), in one line; None when it ended otherwise."""
    return _last_line(log_path).partition(REFUSED)[2].strip() or None


def logged_failure(log_path: Path) -> str | None:
    """The failure a logged step ended on (`FAILED`), in one line; None when it ended otherwise."""
    return _last_line(log_path).partition(FAILED)[2].strip() or None


def written_since(path: Path, since: float) -> bool:
    """Whether a file (a step's log) was last written at or after ``since`` (wall clock); False when it is not there."""
    try:
        return path.stat().st_mtime >= since
    except OSError:
        return False


def logged_done(log_path: Path) -> bool:
    """Whether a logged step's log ends saying it was done (``<time> done <title>``)."""
    return _last_line(log_path).split(" ")[1:2] == ["done"]


def _last_line(log_path: Path) -> str:
    try:
        lines = log_path.read_text(errors="replace").rstrip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


def interrupted_line(title: str) -> str:
    """The last line of a step's log when Ctrl-C (SIGINT) stopped it: not a failure, nothing to debug."""
    return f"{now()} interrupted {title}: not done; the next run does it\n"


def log_interrupted_if_empty(log_path: Path, title: str) -> None:
    """Write `interrupted_line` into a step's log that holds nothing (stopped before it wrote a line; Snakemake
    creates a job's log before the job runs), or that is not there."""
    with contextlib.suppress(OSError):
        if not log_path.exists() or log_path.stat().st_size == 0:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            Path(unlinked(log_path)).write_text(interrupted_line(title))


def log_stopped(log_path: Path, title: str) -> None:
    """Say in a stopped step's log that it was stopped (`interrupted_line`), once the process that ran it is gone.

    Into a log that holds nothing or is not there (`log_interrupted_if_empty`), and after the
    lines of one that stops short of saying how the step ended: a step in Snakemake's own
    process (the gather, the report) or a unit killed with it (SIGTERM, then SIGKILL) wrote
    ``start`` and what it did, and nothing more, as if it were still running. A log that says
    how the step ended (done, refused, failed, interrupted, a traceback) is left as it is.
    """
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        text = ""
    if not text:
        log_interrupted_if_empty(log_path, title)
        return
    last = _last_line(log_path).split(" ")[1:2]
    if (last and last[0] in ("done", "interrupted", REFUSED.strip(), FAILED.strip())) or TRACEBACK in text:
        return
    with contextlib.suppress(OSError):  # written as a new file, as every log is (`unlinked`)
        Path(unlinked(log_path)).write_text(text + ("" if text.endswith("\n") else "\n") + interrupted_line(title))


TRACEBACK = "Traceback (most recent call last):"


def logged_step(
    log_path: str, title: str, step: Callable[[], str], note: str | None = None, smaller: str | None = None
) -> None:
    """Run a step, its log telling how it ended; a full disk, the step's or its log's, is a `RunFailure` (one line).

    ``smaller``: how the job makes the step's file smaller, offered when it grew past a
    file-size limit (`no_space_failure`).

    Raises
    ------
    RunFailure
        The step's, or a full device, disk quota or file-size limit (`no_space_failure`), which
        the log's last line says too when it can still be written.
    """
    mark(f"{title} start")
    try:
        with _log_file(log_path) as log:
            log.write(f"{now()} start {title}\n")
            if note:
                log.write(f"{note}\n")
            try:
                with _interrupt_logged(log, title):
                    summary = step()
            except KeyboardInterrupt:  # logged already; not a failure: no traceback
                raise
            except Terminated:  # SIGTERM in maskrun's own process (drawing a finished run's missing report)
                log.write(interrupted_line(title))
                raise
            except UserError as exc:  # the user's mistake, found only now: one line, which maskrun run shows as such
                log.write(f"{now()}{REFUSED} {' '.join(str(exc).splitlines())}\n")
                raise
            except RunFailure as exc:  # maskrun's own account of what went wrong (an input changed, say): no traceback
                log.write(f"{now()}{FAILED} {' '.join(str(exc).splitlines())}\n")
                raise
            except OSError as exc:
                if not out_of_space(exc):
                    log.write(traceback.format_exc())
                    raise
                failure = no_space_failure(exc, RESUMES, smaller=smaller)
                with contextlib.suppress(OSError):  # on the same full disk, maybe
                    log.write(f"{now()}{FAILED} {failure}\n")
                raise failure from None
            except BaseException:
                log.write(traceback.format_exc())
                raise
            log.write(f"{summary}\n{now()} done {title}\n")
    except OSError as exc:  # the log itself could not be written
        if not out_of_space(exc):
            raise
        raise no_space_failure(exc, RESUMES, log_path) from None
    mark(f"{title} end")


@contextlib.contextmanager
def _log_file(log_path: str) -> Iterator[TextIO]:
    """A step's log, written line by line (a step killed next has its lines on disk), as a new file (`unlinked`).

    When the step raises, the step's error is the news: the log's own failure to close (its
    last lines not written, the disk full) is not raised in its place.
    """
    log = open(unlinked(log_path), "w", buffering=1)  # noqa: SIM115  # closed below, as the step ended
    try:
        yield log
    except BaseException:
        with contextlib.suppress(OSError):
            log.close()
        raise
    log.close()


@contextlib.contextmanager
def _interrupt_logged(log: TextIO, title: str) -> Iterator[None]:
    """In the main thread (a unit's process), write the interrupted line as SIGINT arrives, then raise.

    Ctrl-C reaches Snakemake and the units at once; Snakemake may end, and the units' server
    with it (which kills the units: they die with it), before a unit has unwound to its log:
    written from the signal handler, the line is there first. Elsewhere (the gather and report,
    in a Snakemake thread) it is written as KeyboardInterrupt passes.
    """
    if threading.current_thread() is not threading.main_thread():
        try:
            yield
        except KeyboardInterrupt:
            log.write(interrupted_line(title))
            raise
        return

    def on_sigint(signum: int, frame: object) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # once: the unwinding that follows is not cut short again
        log.write(interrupted_line(title))
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
