"""Whether a process lives, from its PID (and, on Linux, its start time): the writers of locks and temporary files.

A PID names a process only while it runs: an ended one's may be reused, so a lock keeps the
holder's kernel start time too, and a zombie (ended, not yet reaped) counts as gone.
"""

from __future__ import annotations

import os
from pathlib import Path


def proc_stat(pid: int) -> list[str] | None:
    """Fields 3 onwards of /proc/PID/stat (Linux), or None where it cannot be read."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_start(pid: int) -> str | None:
    """The kernel's start time of a process (field 22), or None where it cannot be read."""
    stat = proc_stat(pid)
    return stat[19] if stat else None


def process_alive(pid: int | None, process_start: str | None = None) -> bool:
    """Whether process ``pid`` runs (not a zombie; with ``process_start``, not a reused PID)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, someone else's
    stat = proc_stat(pid)
    if stat and stat[0] in ("Z", "X"):
        return False  # ended, waiting to be reaped (an orphan whose new parent does not reap)
    reused = process_start is not None and stat is not None and stat[19] != process_start
    return not reused  # a reused PID is another process: the holder is gone
