"""The one atomic write: a temporary name the resume code removes, a rename when complete, nothing left on failure."""

from __future__ import annotations

import os

import pytest

from maskrun.io.atomic import AtomicFile, part_path, write_atomic
from maskrun.jobs.output_state import PARTIAL_PATTERN


def test_the_temporary_name_is_one_the_next_run_removes(tmp_path):
    tmp = part_path(tmp_path / "particles.star")
    assert tmp == tmp_path / f".particles.star.part-{os.getpid()}"
    assert list(tmp_path.glob(PARTIAL_PATTERN)) == [] and tmp.match(PARTIAL_PATTERN)


def test_a_complete_write_replaces_the_target_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "run.json"
    target.write_text("old")
    assert write_atomic(target, "new é") == target
    assert target.read_text(encoding="utf-8") == "new é"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "rows.npy"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), AtomicFile(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed half-way")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.npy"]


def test_a_failed_rename_removes_the_temporary(tmp_path):
    target = tmp_path / "folder"
    (target / "inside").mkdir(parents=True)  # a non-empty folder cannot be replaced by a file
    with pytest.raises(OSError), AtomicFile(target) as tmp:
        tmp.write_bytes(b"data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


def test_a_killed_single_file_commands_temporary_is_removed_by_the_next_one(tmp_path):
    """The safety look: a SIGKILLed maskrun mask left a hidden temporary as large as its output, forever."""
    import subprocess
    import sys

    import numpy as np

    from maskrun.cli.main import main

    from conftest import write_mrc

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    write_mrc(tmp_path / "in.mrcs", np.ones((3, 16, 16)))
    dead = tmp_path / f".out.mrcs.part-{gone.pid}"
    writing = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # another command, writing now
    live = tmp_path / f".out.mrcs.part-{writing.pid}"
    others = [tmp_path / f".other.mrcs.part-{gone.pid}", tmp_path / ".out.mrcs.part-final"]  # not this output's
    for path in (dead, live, *others):
        path.write_bytes(b"half written")
    try:
        assert main(["mask", str(tmp_path / "in.mrcs"), str(tmp_path / "out.mrcs"), "--shape", "circular"]) == 0
    finally:
        writing.kill()
        writing.wait()
    assert not dead.exists() and live.exists() and all(path.exists() for path in others)
