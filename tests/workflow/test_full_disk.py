"""A full disk (or disk quota) during a run or a command: one line naming the file, exit 1, no traceback."""

from __future__ import annotations

import shutil

import pytest

from maskrun.jobs.examples import write_example_maps
from maskrun.jobs.runner import run_job

from job_files import example_folder, job_with, write_job


@pytest.mark.parametrize("kind", ["particles", "maps"])
def test_no_space_check_refuses_a_run_once_its_units_write(tmp_path, monkeypatch, kind):
    """The run checked its whole output's room before it started; a unit's or the gather's check after other units
    wrote (a map's, the saved mask's) would call the disk filled since a mistake in the request, exit 2."""
    if kind == "particles":
        example_folder(tmp_path, particles=20, maps=0)
        job = write_job(tmp_path, job_with(batch_size=10, report=False))
    else:
        write_example_maps(tmp_path, n_maps=2)
        job = write_job(
            tmp_path,
            job_with(inputs__particles=None, inputs__volumes="maps/*.mrc", mask__geometry={"shape": "sphere"}),
        )
    monkeypatch.setattr("maskrun.jobs.runner.check_room", lambda plan: None)  # passed; the disk filled since
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(
        "maskrun.io.output_space.shutil.disk_usage", lambda path: usage._replace(free=1_000_000)
    )  # room for what is left, not for the margin a run needs to start
    summary = run_job(job)
    assert (summary.output_dir / "provenance" / "run.json").exists()
