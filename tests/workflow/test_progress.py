"""The progress line of ``maskrun run``: units done, running (their log begun in this run, or their job running in
SLURM) and waiting or queued."""

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
from maskrun.workflow.resource_options import ProfileKeys, run_executor
from maskrun.workflow.slurm_queue import SlurmQueue

from conftest import REPO
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


def fake_squeue(folder, lines: list[str]):
    """A ``squeue`` on PATH that prints ``lines`` (``%T|%k|%Z``) and counts its calls; the count's file."""
    bin_folder = folder / "bin"
    bin_folder.mkdir()
    calls = folder / "squeue-calls"
    listing = "\n".join(lines)
    (bin_folder / "squeue").write_text(f"#!/bin/sh\necho call >> {calls}\ncat <<'END'\n{listing}\nEND\n")
    (bin_folder / "squeue").chmod(0o755)
    return bin_folder, calls


def test_on_slurm_a_job_slurm_runs_is_running_before_its_units_log_begins(tmp_path, monkeypatch):
    """The cluster look: a job SLURM had started (squeue: RUNNING) counted as queued until its unit's log began."""
    example_folder(tmp_path, particles=40, maps=0)
    plan = plan_job(write_job(tmp_path, job_with(batch_size=10)))
    out = plan.output_dir
    bin_folder, calls = fake_squeue(
        tmp_path,
        [
            f"RUNNING|rule_mask_batch_wildcards_batch_00001|{out}",
            f"PENDING|rule_mask_batch_wildcards_batch_00002|{out}",
            f"RUNNING|rule_mask_batch_wildcards_batch_00003|{tmp_path / 'elsewhere'}",  # another run's
            f"RUNNING|a job of the user's own|{out}",
        ],
    )
    monkeypatch.setenv("PATH", f"{bin_folder}{os.pathsep}{os.environ['PATH']}")
    queue = SlurmQueue(out, [unit.id for unit in plan.units], poll_s=60)
    with terminal(200) as (stream, shown):
        progress = ProgressLine(plan, stream, queue)
        for _ in range(20):  # the launcher's 0.25 s refreshes
            progress.update()
        assert "maskrun run: 0/4 units (1 running, 1 queued, 2 to submit), ETA " in shown()
    assert calls.read_text().split() == ["call"]  # one squeue call per poll interval, however often the line is drawn


def test_no_squeue_call_without_a_terminal_or_an_answer(tmp_path, monkeypatch):
    example_folder(tmp_path, particles=40, maps=0)
    plan = plan_job(write_job(tmp_path, job_with(batch_size=10)))
    bin_folder, calls = fake_squeue(tmp_path, [])
    monkeypatch.setenv("PATH", f"{bin_folder}{os.pathsep}{os.environ['PATH']}")
    queue = SlurmQueue(plan.output_dir, [unit.id for unit in plan.units], poll_s=0)
    with open(os.devnull, "w") as stream:  # not a terminal: nothing drawn, SLURM not asked
        ProgressLine(plan, stream, queue).update()
    assert not calls.exists()
    (bin_folder / "squeue").write_text("#!/bin/sh\necho 'slurm_load_jobs error: Unable to contact' >&2\nexit 1\n")
    with terminal(200) as (stream, shown):
        ProgressLine(plan, stream, queue).update()  # the controller down: the logs alone, as before
        assert "maskrun run: 0/4 units (0 running, 4 queued), ETA " in shown()


def test_only_a_slurm_run_asks_squeue(tmp_path):
    """launch makes a SlurmQueue only for the slurm executor: the bundled profile, --executor slurm."""
    assert run_executor([], ProfileKeys.of(None)) == "local"
    assert run_executor([], ProfileKeys.of(str(REPO / "workflow" / "profiles" / "slurm"))) == "slurm"
    assert run_executor(
        ["--executor", "cluster-generic"], ProfileKeys.of(str(REPO / "workflow" / "profiles" / "slurm"))
    ) == ("cluster-generic")
    assert run_executor(["-e", "slurm"], ProfileKeys.of(None)) == "slurm"
