"""A job whose input paths name ``$VARIABLES`` (or ``~``) is another job when they resolve elsewhere.

A reviewer's finding: ``particles: $DATA/particles.star`` run with ``DATA=dA``, then with ``DATA=dB`` (another
dataset, 10 particles fewer), said "nothing to do" (exit 0): the run record's job text, read again in the
second run's environment, resolved to dB's paths as the job did, so the finished run of dA stood for dB's.
"""

from __future__ import annotations

import shutil

import pytest

from maskrun.api import run_job
from maskrun.errors import UserError
from maskrun.jobs.output_state import check_output_dir
from maskrun.jobs.plan import plan_job

from job_files import example_folder, write_job


def datasets(tmp_path):
    """``dA`` (30 particles) and ``dB`` (the same, its STAR less its last 10 rows), and one job naming ``$DATA``."""
    example_folder(tmp_path / "dA", particles=30, maps=0)
    shutil.copytree(tmp_path / "dA", tmp_path / "dB")
    star = tmp_path / "dB" / "particles.star"
    star.write_text("\n".join(star.read_text().rstrip().splitlines()[:-10]) + "\n")
    job = {
        "version": 1,
        "name": "t",
        "inputs": {"particles": "$DATA/particles.star"},
        "mask": {"source": "geometry", "geometry": {"shape": "raised_cosine", "inner_radius": 20, "outer_radius": 26}},
        "output": {"dir": str(tmp_path / "out")},
        "report": False,
    }
    return write_job(tmp_path, job, "job.yaml")


def test_a_finished_run_on_another_datasets_paths_is_not_this_jobs(tmp_path, monkeypatch):
    job = datasets(tmp_path)
    monkeypatch.setenv("DATA", str(tmp_path / "dA"))
    assert run_job(job).items == 30
    assert check_output_dir(plan_job(job)) is not None  # finished: nothing to do, in dA's environment
    monkeypatch.setenv("DATA", str(tmp_path / "dB"))
    plan = plan_job(job)
    assert len(plan.particles) == 20
    with pytest.raises(UserError) as refused:
        check_output_dir(plan)
    assert str(refused.value).endswith(
        f"output.dir: {tmp_path / 'out'} holds a finished run of {job} as its paths resolved then: $VARIABLES or ~ "
        "in them named other files when it ran; choose another output.dir, or set output.overwrite: true to replace it"
    )


def test_the_same_environment_still_finds_its_run_finished(tmp_path, monkeypatch):
    job = datasets(tmp_path)
    monkeypatch.setenv("DATA", str(tmp_path / "dB"))
    run_job(job)
    summary = run_job(job)
    assert (summary.units_run, summary.gathered) == (0, False)
