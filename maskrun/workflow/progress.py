"""One progress line for ``maskrun run`` on a terminal: units done, running and waiting, items per second, ETA.

A unit is done when its provenance record is written (the last thing it writes), and
running once its log has begun in this run (a unit's first act), so the line is read from
the output folder, whoever runs the units (processes here, or SLURM nodes). The rest are
``waiting`` for a core here, ``queued`` on a cluster (where a run can wait minutes in SLURM's
queue with nothing done, and the line says so). On SLURM, ``squeue`` says more
(`maskrun.workflow.slurm_queue`): a job SLURM runs is running before its unit's log begins,
``queued`` counts the jobs pending in SLURM's queue, and ``to submit`` the units Snakemake
has not submitted yet (it keeps ``--jobs`` in flight). The line is cut to the terminal's
width (a wrapped line would not be rewritten in place). Nothing is printed, and ``squeue``
not asked, when the stream is not a terminal.
"""

from __future__ import annotations

import os
import time
from typing import TextIO

from maskrun.jobs.plan import JobPlan
from maskrun.jobs.step_logs import written_since
from maskrun.workflow.slurm_queue import SlurmQueue, pending, running


class ProgressLine:
    """Rewrites one line of ``stream`` (when it is a terminal) with the run's progress."""

    def __init__(self, plan: JobPlan, stream: TextIO, queue: SlurmQueue | None = None):
        self.plan = plan
        self.stream = stream
        self.queue = queue  # a SLURM run's: its jobs' states
        self.active = stream.isatty()
        self.start = time.monotonic()
        self.started_wall = time.time()  # a unit's log begun since is this run's
        self.units = {unit.id: unit for unit in plan.units}
        self.done: set[str] = set()
        self._width = 0

    def items_in(self, unit_id: str) -> int:
        unit = self.units[unit_id]
        return unit.stop_row - unit.first_row if unit.is_batch else 1

    def update(self) -> None:
        if not self.active:
            return
        for unit_id in self.units.keys() - self.done:
            if self.plan.record_path(self.units[unit_id]).exists():
                self.done.add(unit_id)
        left = self.units.keys() - self.done
        states = self.queue.states() if self.queue is not None else None
        if states is None:
            running_now = sum(self._running(unit_id) for unit_id in left)
            waiting = len(left) - running_now
            # units of a cluster run wait in SLURM's queue (as far as the logs can tell)
            waiting_as = "waiting" if self.plan.launcher_pid else "queued"
            counts = f"{running_now} running, {waiting} {waiting_as}"
        else:
            started = {u for u in left if self._running(u) or running(states.get(u, ""))}
            queued = sum(pending(states.get(u, "")) for u in left - started)
            unsubmitted = len(left) - len(started) - queued
            counts = f"{len(started)} running, {queued} queued" + (f", {unsubmitted} to submit" if unsubmitted else "")
        elapsed = time.monotonic() - self.start
        items = sum(self.items_in(u) for u in self.done)
        total = sum(self.items_in(u) for u in self.units)
        what = "particles" if self.plan.particles is not None else "maps"
        rate = items / elapsed if elapsed > 0 else 0.0
        eta = f"ETA {_clock((total - items) / rate)}" if rate > 0 and items < total else "ETA --:--"
        line = (
            f"maskrun run: {len(self.done)}/{len(self.units)} units ({counts}), "
            f"{eta}, {_clock(elapsed)} elapsed, {items}/{total} {what}, {rate:.0f} {what}/s"
        )[
            # the most telling first: a narrow terminal cuts the rest
            : _columns(self.stream) - 1
        ]
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = len(line)

    def _running(self, unit_id: str) -> bool:
        """Whether the unit's log was begun in this run (and its record is not written yet)."""
        return written_since(self.plan.log_path(unit_id), self.started_wall - 1)  # coarse mtimes: 1 s

    def finish(self) -> None:
        """Clear the line, so that the summary takes its place."""
        if self.active and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()


def _columns(stream: TextIO) -> int:
    """The terminal's width (80 where it does not say)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (OSError, ValueError):
        return 80


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
