"""The run lock when its file is not a live run's: empty (killed as it took it) or not a lock at all."""

from __future__ import annotations

import os
import time

import pytest

from maskrun.errors import UserError
from maskrun.jobs.run_lock import RunLock


def _aged(path, seconds=60):
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_an_empty_lock_left_by_a_kill_is_taken_over_and_said_so(tmp_path):
    lock = tmp_path / ".maskrun.lock"
    lock.write_bytes(b"")
    _aged(lock)
    with RunLock(lock, "job.yaml") as held:
        assert held.took_over is not None
        assert held.took_over.describe() == "its lock is empty: it was killed as it took it"
        assert f'"pid": {os.getpid()}' in lock.read_text()
    assert not lock.exists()


def test_a_file_that_is_no_lock_is_refused_and_kept(tmp_path):
    """The safety look: a user's .maskrun.lock was deleted and the run said a killed run (PID 0) had left it."""
    lock = tmp_path / ".maskrun.lock"
    lock.write_text("my notes on this folder\n")
    _aged(lock)
    with pytest.raises(UserError) as refused, RunLock(lock, "job.yaml"):
        pass
    assert str(refused.value).startswith(f"job.yaml: output.dir: {lock} is not a maskrun run lock")
    assert "move that file away and run again" in str(refused.value)
    assert refused.value.field == "output.dir"
    assert lock.read_text() == "my notes on this folder\n"


def test_a_young_unreadable_lock_is_not_said_to_be_deleted(tmp_path):
    """A run may have made it an instant ago and not written its PID yet: the advice is to wait, not to delete it."""
    lock = tmp_path / ".maskrun.lock"
    lock.write_text("not yet written\n")
    with pytest.raises(UserError) as refused, RunLock(lock, "job.yaml"):
        pass
    said = str(refused.value)
    assert said.startswith(f"job.yaml: output.dir: {lock}: the run lock is unreadable or keeps being taken")
    assert "another run may be starting in this folder this instant; wait a few seconds and run again" in said
    assert "delete" not in said
    assert lock.read_text() == "not yet written\n"
    _aged(lock)  # a few seconds on, the file is named for what it is
    with pytest.raises(UserError) as refused, RunLock(lock, "job.yaml"):
        pass
    assert "is not a maskrun run lock" in str(refused.value)
