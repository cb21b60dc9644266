"""A refused ``validate`` or ``run`` prints its one error line, without the warnings and notes of a job it will not run.

An outside look (a pipeline wrapping maskrun): ``validate`` of a job whose output folder it
refused printed the job's hard-edge warning first, and ``run`` refused for another run's lock
printed the job's notes first: a script reading standard error saw three lines for one refusal.
"""

from __future__ import annotations

import numpy as np

from maskrun.api import run_job
from maskrun.jobs.plan import plan_job
from maskrun.jobs.run_lock import RunLock

from commands import maskrun, refused_line
from conftest import write_mrc
from job_files import write_job

SOFT = {"shape": "raised_cosine", "inner_radius": 8, "outer_radius": 12}
HARD = {"shape": "circular", "radius": 10}  # planning warns of its hard edge


def bare_stack_job(folder, geometry: dict, name: str = "n"):
    """A job on a bare stack of a given pixel size: planning notes the header's 1 Å/px and the optics it lacks."""
    if not (folder / "parts.mrcs").exists():
        write_mrc(folder / "parts.mrcs", np.random.default_rng(1).normal(0, 1, (12, 32, 32)), voxel_size=1.0)
    return write_job(
        folder,
        {
            "version": 1,
            "name": name,
            "inputs": {"particles": "parts.mrcs", "pixel_size_angstrom": 2.5},
            "mask": {"source": "geometry", "geometry": geometry},
            "output": {"dir": "out"},
            "report": False,
        },
        f"{name}.yaml",
    )


def test_validate_refusing_the_output_folder_says_that_line_only(tmp_path):
    run_job(bare_stack_job(tmp_path, SOFT, "first"))
    other = bare_stack_job(tmp_path, HARD, "other")  # into the first one's folder, warned of its hard edge
    line = refused_line(maskrun("validate", other))
    assert "holds a finished run of" in line, line


def test_run_refused_for_another_runs_lock_says_that_line_only(tmp_path):
    job = bare_stack_job(tmp_path, SOFT)
    plan = plan_job(job)
    assert plan.notes  # which a run that goes ahead prints
    plan.output_dir.mkdir(parents=True)
    with RunLock(plan.lock_path, str(job)):
        line = refused_line(maskrun("run", job, "--cores", "1"))
    assert "another maskrun run is working in this output folder" in line, line
