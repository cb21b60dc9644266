"""The installed ``maskrun`` command (and ``python -m maskrun``): `maskrun.cli.main` behind a fast start.

Importing the command line (NumPy, pydantic and the models it builds) makes some 27 000
objects that live as long as the process. Python's cyclic garbage collector walks them
again and again while they are made, and at exit it collects the cycles among them
(classes, functions, schemas) one by one. Both are wasted on a process that is about to
end: measured, a 1-image ``maskrun mask`` took 180 ms before and 152 ms after. So the
imports run with the collector paused, and what they made is then frozen out of its reach
(`gc.freeze`), to be reclaimed with the process. Objects made afterwards, while masking,
are collected as usual.

This module imports nothing heavy itself (`maskrun.io.standard_streams` needs only os and
sys), and ``maskrun/__init__`` imports nothing, so the whole import happens inside
`frozen_imports`.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

from maskrun.io.standard_streams import open_standard_streams


@contextmanager
def frozen_imports() -> Iterator[None]:
    """Pause the cyclic collector for the block, then freeze every object alive at its end."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


def main() -> int:
    """Run the ``maskrun`` command line (`maskrun.cli.main`) with its imports frozen.

    Ctrl-C is handled from the first moment, also when a shell started maskrun in the
    background with SIGINT ignored (so that ``kill -INT PID`` stops it): until the command
    starts its work (`maskrun.cli.main` then raises KeyboardInterrupt, and cleans up), it
    ends the process at once with one line and exit status 130 (`_stopped_at_start`).
    SIGTERM and SIGHUP do the same (143, 129), SIGHUP unless it is ignored: ``nohup``
    started maskrun to outlive its login session.

    First of all, the standard streams are made usable (`open_standard_streams`): a closed one
    opened on /dev/null, and no character their encoding lacks fails a command.
    """
    open_standard_streams()
    for signum in STOPPED_AT_START:
        if signum == signal.SIGINT or signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _stopped_at_start)
    with frozen_imports():
        from maskrun.cli.main import main as run_command_line
    return run_command_line()


STOPPED_AT_START = {signal.SIGINT: b"interrupted", signal.SIGTERM: b"terminated", signal.SIGHUP: b"hung up"}


def _stopped_at_start(signum: int, frame: object) -> None:
    """Ctrl-C (or SIGTERM, SIGHUP) while the command's modules import and its options parse: nothing is written yet.

    So end now, with one line and 128 + the signal's number. Not a KeyboardInterrupt: raised
    there, it surfaced as a traceback from inside pydantic, or, raised in a finalizer, was
    printed as "Exception ignored" and the command went on. SIGTERM ended the process
    without a word.
    """
    with contextlib.suppress(OSError):  # a pipe's reader stopped by the same Ctrl-C
        os.write(2, b"maskrun: " + STOPPED_AT_START[signal.Signals(signum)] + b"\n")
    os._exit(128 + signum)
