"""Warnings Snakemake (or its executor) writes only into its log, shown on the terminal once.

``maskrun run`` keeps Snakemake's output in ``logs/snakemake.log``; a warning a user needs
to see would stay there. The SLURM executor's, for a launcher run inside a SLURM job (an
sbatch script running ``maskrun run --profile slurm``: "You are running snakemake in a SLURM
job context. This is not recommended…"), comes as Snakemake starts: the log is read again
every `POLL_S` seconds while it is small, and once more when Snakemake has ended.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import TextIO

POLL_S = 1.0
HEAD_BYTES = 256 * 1024  # the executor warns as it starts: the log's beginning holds it
SHOWN = (re.compile(r"^You are running snakemake in a SLURM job context\..*$", re.M),)


class EngineWarnings:
    """Show, once each, the warnings of `SHOWN` that Snakemake's log at ``log`` holds (None: on the terminal), on
    ``stream`` (default: standard error as it is when made, so that ``run --json`` keeps them among its warnings)."""

    def __init__(self, log: Path | None, stream: TextIO | None = None, poll_s: float = POLL_S) -> None:
        self.log = log
        self.stream = sys.stderr if stream is None else stream
        self.poll_s = poll_s
        self._last = -float("inf")
        self._shown: set[str] = set()
        self._head_read = False  # the log's head whole: what it holds is known, and it is not read again

    def update(self) -> None:
        """Look in the log again, at most every `POLL_S` seconds."""
        if time.monotonic() - self._last >= self.poll_s:
            self._last = time.monotonic()
            self._show()

    def finish(self) -> None:
        """Look once more, Snakemake having ended."""
        self._show()

    def _show(self) -> None:
        if self.log is None or len(self._shown) == len(SHOWN) or self._head_read:
            return
        try:
            with self.log.open("rb") as log:
                head = log.read(HEAD_BYTES)
        except OSError:
            return
        self._head_read = len(head) == HEAD_BYTES
        text = head.decode(errors="replace")
        for pattern in SHOWN:
            found = pattern.search(text)
            if found is not None and pattern.pattern not in self._shown:
                self._shown.add(pattern.pattern)
                print(f"maskrun: warning: snakemake: {found.group(0).strip()}", file=self.stream)
