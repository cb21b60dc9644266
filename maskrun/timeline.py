"""Where a run's time goes: timestamped marks, written only when the benchmark asks for them.

With ``MASKRUN_TIMELINE=FILE`` (an absolute path) in the environment, every process of a
run (``maskrun run``, Snakemake's plan of the job, each unit, the gather and the report)
appends lines ``<unix time> <pid> <label>`` to FILE; `bench/workflow.py` turns them into
the breakdown it prints. Without it, `mark` costs one dictionary lookup.
"""

from __future__ import annotations

import os
import time

ENV = "MASKRUN_TIMELINE"


def mark(label: str, at: float | None = None) -> None:
    """Append ``label`` at time ``at`` (default: now) to the timeline file, if one is set."""
    path = os.environ.get(ENV)
    if not path:
        return
    line = f"{time.time() if at is None else at:.4f} {os.getpid()} {label}\n"
    try:  # a timeline is never worth a failed run (a relative path breaks where Snakemake changes folder)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError:
        return
    try:
        os.write(fd, line.encode())  # one short append: lines from processes never interleave
    finally:
        os.close(fd)


def process_started() -> float | None:
    """When this process started (unix time, 10 ms resolution), on Linux; else ``None``.

    Interpreter start-up and imports happen before any code can mark them, so this reads
    the kernel's start time of the process.
    """
    try:
        with open("/proc/self/stat") as stat:
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as uptime:
            since_boot = float(uptime.read().split()[0])
    except (OSError, IndexError, ValueError):
        return None
    return time.time() - (since_boot - ticks / os.sysconf("SC_CLK_TCK"))
