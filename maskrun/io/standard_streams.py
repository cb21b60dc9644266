"""The process's standard streams: open whatever started the process, and never a traceback for their encoding.

A launcher that closes them (``maskrun run JOB >&-``, automation with no terminal) leaves
file descriptors 0, 1 or 2 free, and the next file the process opens takes the lowest one:
the run lock or ``plan.json`` became "standard error", a print could land in it, and
Snakemake's own dup2 onto its log closed a pipe of maskrun's, so that the run hung. As
daemons do, each closed one is opened on /dev/null before anything else is opened.

A terminal whose encoding cannot spell a character maskrun prints (``Å/px`` under
``PYTHONIOENCODING=ascii``) raised UnicodeEncodeError in the middle of a command: standard
output and error write such a character as a backslash escape instead.
"""

from __future__ import annotations

import os
import sys

STANDARD_FDS = ((0, "stdin", os.O_RDONLY, "r"), (1, "stdout", os.O_WRONLY, "w"), (2, "stderr", os.O_WRONLY, "w"))


def open_standard_streams() -> None:
    """Open each of file descriptors 0, 1, 2 that is closed on /dev/null, and make the ``sys`` streams writable.

    Python leaves ``sys.stdout`` (or ``stdin``, ``stderr``) None for a descriptor closed at
    its start; each such one gets a stream on its /dev/null. Standard output and error write
    what their encoding cannot spell as backslash escapes. Call it first thing in every
    process maskrun starts, before any file is opened.
    """
    for fd, name, flags, mode in STANDARD_FDS:
        if not _is_open(fd):
            null = os.open(os.devnull, flags)  # the lowest free descriptor: ``fd``, as those below it are open now
            if null == fd:
                os.set_inheritable(fd, True)  # os.open's are not; a standard stream is passed on to children
            else:
                os.dup2(null, fd)
                os.close(null)
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, mode, closefd=False))  # noqa: SIM115  # the process's stream, open while it runs
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)  # absent from a stream a test put in its place
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True
