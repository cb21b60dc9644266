"""One progress line for ``maskrun run`` on a terminal: units done, items per second, elapsed, ETA.

A unit is done when its provenance record is written (the last thing it writes), so the line
is read from the output folder, whoever runs the units (threads here, or SLURM nodes).
Nothing is printed when the stream is not a terminal.
"""

from __future__ import annotations

import time
from typing import TextIO

from maskrun.jobs.plan import JobPlan


class ProgressLine:
    """Rewrites one line of ``stream`` (when it is a terminal) with the run's progress."""

    def __init__(self, plan: JobPlan, stream: TextIO):
        self.plan = plan
        self.stream = stream
        self.active = stream.isatty()
        self.start = time.monotonic()
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
        elapsed = time.monotonic() - self.start
        items = sum(self.items_in(u) for u in self.done)
        total = sum(self.items_in(u) for u in self.units)
        what = "particles" if self.plan.particles is not None else "maps"
        rate = items / elapsed if elapsed > 0 else 0.0
        eta = f"ETA {_clock((total - items) / rate)}" if rate > 0 and items < total else "ETA --:--"
        line = (
            f"maskrun run: {len(self.done)}/{len(self.units)} units, {items}/{total} {what}, "
            f"{rate:.0f} {what}/s, {_clock(elapsed)} elapsed, {eta}"
        )
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = len(line)

    def finish(self) -> None:
        """Clear the line, so that the summary takes its place."""
        if self.active and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
