"""What SLURM says of a run's jobs, unit by unit, for the progress line: running or pending.

A unit's log begins only once its job has started Snakemake twice on its node (seconds in),
so the log alone called a job SLURM was running "queued". ``squeue`` says which jobs run and
which wait. The run's jobs are this user's whose working folder is the output folder (``%Z``:
Snakemake runs there, and so does every job it submits); the SLURM executor names a job's
rule and wildcards in its comment (``rule_mask_batch_wildcards_batch_00001``), which gives
the unit. One ``squeue`` call every `POLL_S` seconds at most, from the progress line only:
never when the run is not on SLURM, nor when no terminal shows the line. `slurm_jobs_in`
lists a run's jobs by the same folder, for a run stopped or taken over.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

POLL_S = 5.0  # SLURM's scheduler starts jobs every few seconds; a site's controller is shared
RUNNING = frozenset({"RUNNING", "COMPLETING", "CONFIGURING"})  # allocated: squeue's R, CG, CF
PENDING = frozenset({"PENDING", "REQUEUED", "REQUEUE_HOLD", "RESV_DEL_HOLD"})


class SlurmQueue:
    """The states SLURM gives a run's jobs, by unit, as ``squeue`` last said them."""

    def __init__(self, output_dir: Path, unit_ids: Iterable[str], poll_s: float = POLL_S) -> None:
        self.folder = os.path.realpath(output_dir)
        self.unit_ids = set(unit_ids)
        self.poll_s = poll_s
        self.squeue = shutil.which("squeue")
        self.calls = 0
        self._last = -float("inf")
        self._states: dict[str, str] | None = None

    def states(self) -> dict[str, str] | None:
        """Unit → SLURM state (``RUNNING``, ``PENDING``, ...) of its job; None when ``squeue`` did not answer.

        Asks ``squeue`` again only once `POLL_S` seconds have passed since it last did.
        """
        if self.squeue is None:
            return None
        if time.monotonic() - self._last >= self.poll_s:
            self._last = time.monotonic()
            self._states = self._ask(self.squeue)
        return self._states

    def _ask(self, squeue: str) -> dict[str, str] | None:
        self.calls += 1
        rows = _jobs_in_folder(squeue, self.folder, "%T|%k", timeout_s=3)
        if rows is None:
            return None
        states = {}
        for state, comment in rows:
            unit = self._unit(comment)
            if unit is not None:
                states[unit] = state
        return states

    def _unit(self, comment: str) -> str | None:
        """A job's unit from its comment (``rule_mask_batch_wildcards_batch_00001``, ``rule_mask_map_wildcards_S``)."""
        _, found, wildcards = comment.partition("_wildcards_")
        if not found:
            return None
        return next((unit for unit in (wildcards, f"map_{wildcards}") if unit in self.unit_ids), None)


def running(state: str) -> bool:
    """Whether SLURM has started the job (its node allocated)."""
    return state in RUNNING


def pending(state: str) -> bool:
    """Whether the job waits in SLURM's queue."""
    return state in PENDING


def slurm_jobs_in(output_dir: Path, ending: bool = True) -> list[str] | None:
    """The IDs of this user's SLURM jobs whose working folder is ``output_dir`` (``squeue``'s ``%Z``), in its order.

    ``ending`` False leaves out the jobs SLURM is ending (cancelled: CA, completing: CG). None
    where ``squeue`` is not installed or does not answer.
    """
    squeue = shutil.which("squeue")
    rows = _jobs_in_folder(squeue, os.path.realpath(output_dir), "%i|%t", timeout_s=10) if squeue else None
    if rows is None:
        return None
    return [job for job, state in rows if ending or state not in ("CG", "CA")]


def _jobs_in_folder(squeue: str, folder: str, fields: str, timeout_s: float) -> list[list[str]] | None:
    """``fields`` (squeue's ``-o`` codes, ``|``-separated) of this user's jobs whose working folder (``%Z``) is
    ``folder`` (a real path), in squeue's order; None when it does not answer."""
    query = [squeue, "-h", "-u", str(os.getuid()), "-o", f"{fields}|%Z"]
    try:
        listed = subprocess.run(query, capture_output=True, text=True, timeout=timeout_s, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    count = fields.count("|") + 1
    rows = ([part.strip() for part in line.split("|", count)] for line in listed.splitlines())
    return [row[:count] for row in rows if len(row) == count + 1 and os.path.realpath(row[count]) == folder]
