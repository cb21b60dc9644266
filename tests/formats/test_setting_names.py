"""A format's fixes name its caller's settings (maskrun.formats.setting_names): a job its keys, project-mask its
options, make-mask none (proposing what it takes instead), a caller that names none a fix without them.

The formats wrote a job's keys (``inputs.project_dir``) into their messages, and the commands
rewrote them by string replacement: a reworded message silently stopped being rewritten.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from maskrun.cli.make_mask import LIKE_NAMES
from maskrun.cli.project_mask import OPTION_NAMES
from maskrun.errors import UserError
from maskrun.formats.registry import load_particle_set
from maskrun.formats.setting_names import NO_NAMES
from maskrun.jobs.plan import JOB_NAMES

from conftest import shared_path, write_mrc
from job_files import validate_refuses, write_job
from pose_sets import random_poses, write_cs

MAKE_MASK_FIX = "make-mask takes none: give --like one of its stacks, or a map of the particles' box"


def refusal(path, names) -> str:
    with pytest.raises(UserError) as caught:
        load_particle_set(path, names=names)
    return caught.value.message


@pytest.mark.parametrize(
    ("names", "fix"),
    [
        (JOB_NAMES, "give the cryoSPARC project folder as inputs.project_dir (the one holding J5/)"),
        (OPTION_NAMES, "give the cryoSPARC project folder as --project-dir (the one holding J5/)"),
        (LIKE_NAMES, f"finding it needs the cryoSPARC project folder (the one holding J5/), and {MAKE_MASK_FIX}"),
        (NO_NAMES, "fix the path, or keep the .cs inside its cryoSPARC project folder (the one holding J5/)"),
    ],
)
def test_a_cs_stack_not_found_is_fixed_by_the_callers_project_folder_setting(tmp_path, names, fix):
    cs = write_cs(tmp_path, random_poses(2), 16)
    records = np.load(cs)
    records["blob/path"] = b"J5/imported/particles.mrcs"  # relative to a project folder that is not here
    with open(cs, "wb") as file:
        np.save(file, records)
    message = refusal(cs, names)
    assert message.startswith("stack 'J5/imported/particles.mrcs' not found (looked in ") and message.endswith(
        f"); {fix}"
    )


@pytest.mark.parametrize(
    ("names", "fix"),
    [
        (JOB_NAMES, "give the Scipion project folder as inputs.project_dir"),
        (LIKE_NAMES, f"finding it needs the Scipion project folder, and {MAKE_MASK_FIX}"),
        (NO_NAMES, "fix the path, or keep the set inside its Scipion project folder"),
    ],
)
def test_a_scipion_set_out_of_its_project_is_fixed_by_the_callers_project_folder_setting(tmp_path, names, fix):
    project = shared_path("data", "formats", "scipion", "project")
    moved = tmp_path / "particles.sqlite"
    shutil.copy(project / "Runs" / "000002_ProtImportParticles" / "particles.sqlite", moved)
    message = refusal(moved, names)
    assert "(the first item's _filename) is not found from the set's folder upwards; " in message
    assert message.endswith(f"; {fix}")


def two_boxes(folder):
    write_mrc(folder / "a.mrcs", np.zeros((1, 16, 16)))
    write_mrc(folder / "b.mrcs", np.zeros((1, 24, 24)))
    star = folder / "p.star"
    star.write_text("data_particles\nloop_\n_rlnImageName\n000001@a.mrcs\n000001@b.mrcs\n")
    return star


@pytest.mark.parametrize(
    ("names", "fix"),
    [(JOB_NAMES, "mask each box size in its own job"), (OPTION_NAMES, "give a set of one box size")],
)
def test_a_set_of_several_boxes_is_split_into_the_callers_runs_or_refused(tmp_path, names, fix):
    message = refusal(two_boxes(tmp_path), names)
    assert message == f"stacks have different box sizes (a.mrcs is 16 x 16, b.mrcs is 24 x 24); {fix}"


def test_a_job_of_a_set_of_several_boxes_is_told_to_mask_each_in_its_own_job(tmp_path, capsys):
    two_boxes(tmp_path)
    job = {"version": 1, "name": "t", "inputs": {"particles": "p.star"}, "mask": {"source": "geometry"}}
    job["mask"]["geometry"] = {"shape": "circular", "radius": 4}
    assert validate_refuses(write_job(tmp_path, job), capsys).endswith("; mask each box size in its own job")


def test_the_job_names_are_the_keys_of_a_jobs_inputs():
    """A key renamed in the job file's model would leave its fixes naming a key that no longer exists."""
    from maskrun.config.job_file import Inputs

    settings = {k: v for k, v in vars(JOB_NAMES).items() if k not in ("run", "lacking")}
    assert settings == {name: f"inputs.{name}" for name in settings}
    assert set(settings) <= set(Inputs.model_fields)
