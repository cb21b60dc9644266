"""A resumed run says so: which units an earlier run masked, in the run record and in the run's last line."""

from __future__ import annotations

import json
import subprocess
import sys

from maskrun.api import run_job
from maskrun.jobs.plan import plan_job
from maskrun.jobs.runner import run_unit

from job_files import example_folder, job_with, write_job


def test_the_record_of_a_resumed_run_names_the_units_an_earlier_run_masked(tmp_path):
    example_folder(tmp_path, particles=30, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10, report=False))
    plan = plan_job(job)
    run_unit(plan, "batch_00002")  # an earlier run, stopped after one unit
    summary = run_job(job)
    assert (summary.units_run, summary.units_skipped) == (2, 1)
    record = json.loads((summary.output_dir / "provenance" / "run.json").read_text())
    unit = json.loads((summary.output_dir / "provenance" / "batch_00002.json").read_text())
    assert record["resumed"]["units_from_earlier_runs"] == ["batch_00002"]
    assert unit["start"] < record["resumed"]["this_run_start"] == record["start"]


def test_a_run_in_one_go_has_no_resumed_entry_and_its_last_line_says_nothing_of_one(tmp_path):
    example_folder(tmp_path, particles=30, maps=0)
    job = write_job(tmp_path, job_with(batch_size=10, report=False))
    proc = subprocess.run([sys.executable, "-m", "maskrun", "run", str(job)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "earlier run" not in proc.stdout
    output = tmp_path / "results" / job_with()["name"]
    assert "resumed" not in json.loads((output / "provenance" / "run.json").read_text())
    (output / "provenance" / "run.json").unlink()  # as a run stopped before its gather leaves it
    (output / "stacks" / "batch_00003.mrcs").unlink()  # and one unit not done
    again = subprocess.run([sys.executable, "-m", "maskrun", "run", str(job)], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert " in 3 batches (2 of the batches masked by an earlier run) -> " in again.stdout
    record = json.loads((output / "provenance" / "run.json").read_text())
    assert record["resumed"]["units_from_earlier_runs"] == ["batch_00001", "batch_00002"]


def test_a_unit_records_the_slurm_job_and_node_it_ran_in(tmp_path):
    """A facility's provenance: which SLURM job ran which unit, on which node; nothing of SLURM outside one."""
    import os

    example_folder(tmp_path, particles=12, maps=0)
    job = write_job(tmp_path, job_with(batch_size=6))
    env = os.environ | {"SLURM_JOB_ID": "4242", "SLURMD_NODENAME": "node07"}
    proc = subprocess.run([sys.executable, "-m", "maskrun", "run", str(job)], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    unit = json.loads((tmp_path / "results" / "t" / "provenance" / "batch_00001.json").read_text())
    assert unit["slurm"] == {"job_id": "4242", "node": "node07"}
    bare = {key: value for key, value in os.environ.items() if not key.startswith("SLURM")}
    other = write_job(tmp_path, job_with(batch_size=6, name="u"), "u.yaml")
    assert subprocess.run([sys.executable, "-m", "maskrun", "run", str(other)], env=bare).returncode == 0
    assert "slurm" not in json.loads((tmp_path / "results/u/provenance/batch_00001.json").read_text())
    assert "slurm_run_id" not in json.loads((tmp_path / "results/u/provenance/run.json").read_text())
