"""The progress line of ``maskrun run``: units done, running (their log begun in this run) and waiting or queued."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import struct
import termios
import time

from maskrun.jobs.plan import plan_job
from maskrun.workflow.progress import ProgressLine

from job_files import example_folder, job_with, write_job


@contextlib.contextmanager
def terminal(columns: int):
    """A pseudo-terminal ``columns`` wide to write to, and a function that reads what it shows."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    with open(follower, "w") as stream:
        yield stream, lambda: os.read(leader, 65536).decode()
    os.close(leader)


def test_units_are_done_running_or_waiting_by_their_record_and_this_runs_log(tmp_path):
    example_folder(tmp_path, particles=40, maps=0)
    plan = plan_job(write_job(tmp_path, job_with(batch_size=10)))
    plan.launcher_pid = os.getpid()  # units run here: they wait for a core
    logs = [plan.log_path(unit.id) for unit in plan.units]
    logs[0].parent.mkdir(parents=True)
    logs[1].write_text("start batch_00002\n")
    os.utime(logs[1], (time.time() - 3600,) * 2)  # an earlier run's: not running now
    with terminal(200) as (stream, shown):
        progress = ProgressLine(plan, stream)
        logs[0].write_text("start batch_00001\n")
        logs[2].write_text("start batch_00003\n")
        plan.record_path(plan.units[2]).parent.mkdir(parents=True)
        plan.record_path(plan.units[2]).write_text("{}")
        progress.update()
        assert "maskrun run: 1/4 units (1 running, 2 waiting), ETA " in shown()


def test_a_cluster_runs_units_are_queued_and_a_narrow_terminal_gets_one_line(tmp_path):
    example_folder(tmp_path, particles=40, maps=0)
    plan = plan_job(write_job(tmp_path, job_with(batch_size=10)))
    assert plan.launcher_pid is None  # a cluster run: SLURM runs the units
    with terminal(60) as (stream, shown):
        ProgressLine(plan, stream).update()
        line = shown().strip("\r")
    assert line.startswith("maskrun run: 0/4 units (0 running, 4 queued), ETA --:--")
    assert len(line) == 59  # cut to the width, so that it is rewritten in place, not wrapped
