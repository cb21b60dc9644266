"""The progress line of a long ``maskrun mask`` on a terminal: percent done, elapsed, ETA.

Shown only when stderr is a terminal and the run has taken `DELAY_S` already: a short run
prints nothing but its summary, and a log file or pipe gets no carriage returns.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

DELAY_S = 2.0


class MaskProgress:
    """A callable for `maskrun.engine.stream.write_masked`'s ``progress``, safe from several threads."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream if stream is not None else sys.stderr  # at call time: tests swap sys.stderr
        self.active = self.stream.isatty()
        self.start = time.monotonic()
        self.shown = False
        self._lock = threading.Lock()

    def __call__(self, fraction: float) -> None:
        elapsed = time.monotonic() - self.start
        if not self.active or elapsed < DELAY_S:
            return
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else 0.0
        line = f"maskrun mask: {fraction:4.0%} done, {elapsed:.0f} s elapsed, ETA {eta:.0f} s"
        with self._lock:
            self.stream.write("\r" + line)
            self.stream.flush()
            self.shown = True

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 79 + "\r")
            self.stream.flush()
