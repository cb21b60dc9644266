"""A folder another run holds is `OutputFolderBusy`, not a plain `UserError`: a scheduler retries it, and fixes the
job only for a mistake. A thread of the same process is not told to kill its own process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading

import pytest

import maskrun
from maskrun.errors import OutputFolderBusy, UserError
from maskrun.io.processes import process_start
from maskrun.jobs.plan import plan_job
from maskrun.jobs.run_lock import RunLock

from job_files import example_folder, job_with, write_job


def _lock_of(path, pid, host=None):
    path.write_text(
        json.dumps(
            {
                "pid": pid,
                "host": host or socket.gethostname(),
                "started": "2026-01-01 00:00:00",
                "process_start": process_start(pid),
                "job": "/data/other.yaml",
            }
        )
    )


def test_a_live_run_of_another_process_is_a_busy_folder_naming_its_pid_and_host(tmp_path):
    lock = tmp_path / ".maskrun.lock"
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _lock_of(lock, other.pid)
        with pytest.raises(OutputFolderBusy) as busy, RunLock(lock, "job.yaml"):
            pass
    finally:
        other.kill()
        other.wait()
    error = busy.value
    assert isinstance(error, UserError) and error.exit_status == 2
    assert (error.pid, error.host, error.job, error.this_process) == (
        other.pid,
        socket.gethostname(),
        "/data/other.yaml",
        False,
    )
    assert error.lock == str(lock) and error.started == "2026-01-01 00:00:00"
    assert str(error) == (  # the line the command prints, as before
        f"{lock}: another maskrun run is working in this output folder (PID {other.pid} on {socket.gethostname()}, "
        f"started 2026-01-01 00:00:00, job /data/other.yaml); wait for it to finish, or stop it (kill {other.pid}) "
        "and run again"
    )


def test_a_run_on_another_host_is_a_busy_folder_too(tmp_path):
    lock = tmp_path / ".maskrun.lock"
    _lock_of(lock, 4242, host="node-17")
    with pytest.raises(OutputFolderBusy) as busy, RunLock(lock, "job.yaml"):
        pass
    assert (busy.value.pid, busy.value.host) == (4242, "node-17")
    assert "this host cannot tell whether it is still running" in str(busy.value)


def test_a_lock_that_is_no_lock_is_a_mistake_not_a_busy_folder(tmp_path):
    lock = tmp_path / ".maskrun.lock"
    lock.write_text("my notes\n")
    os.utime(lock, (0, 0))
    with pytest.raises(UserError) as refused, RunLock(lock, "job.yaml"):
        pass
    assert not isinstance(refused.value, OutputFolderBusy)


def test_a_thread_of_this_process_is_told_to_wait_for_the_other_call_not_to_kill_its_own_process(tmp_path):
    lock = tmp_path / ".maskrun.lock"
    caught: list[BaseException] = []

    def second_run():
        try:
            with RunLock(lock, "job.yaml"):
                pass
        except BaseException as exc:  # handed to the test's thread
            caught.append(exc)

    with RunLock(lock, "job.yaml"):
        thread = threading.Thread(target=second_run)
        thread.start()
        thread.join()
    (error,) = caught
    assert isinstance(error, OutputFolderBusy) and error.this_process and error.pid == os.getpid()
    said = str(error)
    assert "kill" not in said
    assert f"of this very process is working in this output folder (another thread of PID {os.getpid()} on" in said
    assert said.endswith("wait for that call to return, and run again")


def test_run_job_raises_the_busy_folder_a_script_can_catch_by_its_class(tmp_path):
    example_folder(tmp_path, particles=12, maps=0)
    job = write_job(tmp_path, job_with(batch_size=6, report=False))
    plan = plan_job(job)
    with RunLock(plan.lock_path, str(job)), pytest.raises(maskrun.OutputFolderBusy) as busy:
        maskrun.run_job(job)  # the lock held by this very process, as by another thread running the job
    assert busy.value.this_process and "kill" not in str(busy.value)
    assert "OutputFolderBusy" in maskrun.__all__
    assert not (plan.output_dir / "stacks" / "batch_00001.mrcs").exists()  # nothing masked
