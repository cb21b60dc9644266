"""One run at a time per output folder, and a killed run's lock taken over without a manual step.

A run holds ``<output>/.maskrun.lock``: the PID, host and start time of the ``maskrun``
process (and of the workflow engine it started). Made with ``O_EXCL``, so two runs cannot
both take it. A lock left by a process that is gone, on this host, is stale: the next run
removes it, says so, and carries on where the killed run stopped. A live one, or one held
from another host (a shared filesystem, where this host cannot tell whether it is alive),
stops the new run with exit 2 and says how to proceed.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from maskrun.errors import OutputFolderBusy, UserError
from maskrun.io.atomic import write_atomic
from maskrun.io.processes import process_alive, process_start
from maskrun.jobs.same_job import same_job_file

WAIT_FOR_CHILD_SECONDS = 30.0


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as written in it."""

    pid: int
    host: str
    started: str
    process_start: str | None = None  # /proc/PID/stat's start time: tells a reused PID apart
    child_pid: int | None = None
    job: str = ""

    def describe(self) -> str:
        if self.pid == 0:  # `EMPTY`
            return "its lock is empty: it was killed as it took it"
        return f"PID {self.pid} on {self.host}, started {self.started}" + (f", job {self.job}" if self.job else "")


EMPTY = Holder(0, "?", "?")  # the holder of a lock left empty: killed between making it and writing it


class RunLock:
    """The run lock of one output folder; use as a context manager around the run.

    Parameters
    ----------
    path
        The lock file (``JobPlan.lock_path``).
    job
        The job file, named in messages to other runs.

    Attributes
    ----------
    took_over
        The holder of a stale lock that was removed, if any: the run before this one was
        killed, so its leftovers (temporary files, the workflow engine's own lock) may be
        cleaned up.

    Raises
    ------
    OutputFolderBusy
        When a live run holds the lock (another thread of this process too), a run on
        another host does, or another run is taking it this instant.
    UserError
        When ``.maskrun.lock`` is a folder, or a file that is no run lock.
    """

    def __init__(self, path: Path, job: str):
        self.path = path
        self.job = job
        self.took_over: Holder | None = None
        self._mine: Holder | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        pid = os.getpid()
        me = Holder(pid, socket.gethostname(), time.strftime("%Y-%m-%d %H:%M:%S"), process_start(pid), job=self.job)
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._take_over_or_refuse(me)
                continue
            with os.fdopen(fd, "w") as lock:
                json.dump(me.__dict__, lock)
            self._mine = me
            return self
        # no advice to delete it: it may be the lock of a run that took it an instant ago, and in a few
        # seconds maskrun tells that run's lock (PID written) from one a kill left or a file that is no lock
        raise OutputFolderBusy(
            f"{self.path}: the run lock is unreadable or keeps being taken: another run may be starting in this "
            "folder this instant; wait a few seconds and run again (maskrun will then say whose lock it is)",
            lock=str(self.path),
            source=self.job,
            field="output.dir",
        )

    def record_child(self, child_pid: int) -> None:
        """Note the workflow engine's PID, so that a later run can wait for it to end."""
        if self._mine is None:
            return
        self._mine = Holder(**{**self._mine.__dict__, "child_pid": child_pid})
        write_atomic(self.path, json.dumps(self._mine.__dict__))

    def _take_over_or_refuse(self, me: Holder) -> None:
        if self.path.is_dir():  # no run's lock: something in the way, which waiting does not move
            raise UserError(
                f"{self.path} is a folder where the run keeps its lock file; move it away or choose another output.dir",
                source=self.job,
                field="output.dir",
            )
        holder = read_holder(self.path)
        if holder is None:  # unreadable: a lock being written this instant, or one a kill left empty
            if time.time() - _mtime(self.path) < 5:
                time.sleep(0.2)
                return
            if _size(self.path):
                raise UserError(
                    f"{self.path} is not a maskrun run lock, and a run keeps its lock there; if no maskrun run "
                    "is starting in this folder, move that file away and run again",
                    source=self.job,
                    field="output.dir",
                )
        elif holder.host != me.host:
            raise self._busy(
                holder,
                f"a maskrun run holds this output folder ({holder.describe()}); this host cannot tell whether "
                f"it is still running. If it is not, delete {self.path} and run again",
            )
        elif holder.pid == me.pid and holder.process_start == me.process_start:  # a thread of this process
            raise self._busy(
                holder,
                f"another maskrun run of this very process is working in this output folder (another thread of "
                f"{holder.describe()}); wait for that call to return, and run again",
                this_process=True,
            )
        elif process_alive(holder.pid, holder.process_start):
            raise self._busy(
                holder,
                f"another maskrun run is working in this output folder ({holder.describe()}); wait for it to "
                f"finish, or stop it (kill {holder.pid}) and run again",
            )
        else:
            deadline = time.monotonic() + WAIT_FOR_CHILD_SECONDS
            while process_alive(holder.child_pid) and time.monotonic() < deadline:  # the engine is winding down
                time.sleep(0.1)
            if process_alive(holder.child_pid):
                raise OutputFolderBusy(
                    f"the workflow engine of a killed run (PID {holder.child_pid}) is still running in this "
                    "output folder; stop it and run again",
                    lock=str(self.path),
                    pid=holder.child_pid,
                    host=holder.host,
                    job=holder.job or None,
                )
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.took_over = holder or EMPTY

    def _busy(self, holder: Holder, message: str, this_process: bool = False) -> OutputFolderBusy:
        """The refusal of a folder ``holder`` holds: the lock named as its source, the holder as its data."""
        return OutputFolderBusy(
            message,
            lock=str(self.path),
            pid=holder.pid,
            host=holder.host,
            started=holder.started,
            job=holder.job or None,
            this_process=this_process,
        )

    def __exit__(self, *exc: object) -> None:
        holder = read_holder(self.path)
        if self._mine is not None and holder is not None and holder.pid == self._mine.pid:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def took_over_note(holder: Holder, job: Path) -> str:
    """What a run says on taking over a killed run's lock (`RunLock.took_over`): it resumes that run, or, when the
    lock names another job file, starts its own (which `maskrun.jobs.unit_owners` allowed: no units of that job
    there, or ``output.overwrite: true``)."""
    said = f"a killed run ({holder.describe()}) left this output folder locked"
    if holder.job and not same_job_file(holder.job, job):
        return f"{said}; that was a run of another job file, which this run of {job} does not resume: it starts its own"
    return f"{said}; resuming where it stopped"


def run_in_progress(path: Path) -> bool:
    """Whether a run holds the lock at ``path``: a live process on this host, or one on another host (alive or not)."""
    holder = read_holder(path)
    if holder is None:
        return False
    return holder.host != socket.gethostname() or process_alive(holder.pid, holder.process_start)


def read_holder(path: Path) -> Holder | None:
    """Who holds the lock at ``path``; None if there is none or it cannot be read."""
    try:
        data = json.loads(path.read_text())
        return Holder(**data)
    except (OSError, ValueError, TypeError):
        return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
