"""Refusals of particles without usable poses name the setting that gave the set and the field a pose came from.

A RELION user's look: a NaN in one row's rlnAngleTilt was refused as "row 6 has no usable pose:
its tilt angle is missing or not a number", naming neither ``inputs.particles`` nor the column;
a STAR without angles named its data block (``particles:``) where the job's field goes. A job's
refusal names ``inputs.particles``, ``project-mask``'s ``PARTICLES``, as ``follow`` names
``mask.follow``; the column (or the ``.cs``/``.xmd``/Scipion field) is said in the message.
"""

from __future__ import annotations

import numpy as np
import pytest

from maskrun.cli.main import main

from conftest import write_mrc
from job_files import validate_refuses, write_job
from pose_sets import PIXEL, WRITERS, random_poses, write_soft_ellipsoid

BOX = 32
COUNT = 5
# each format's field of the pose, and the parts a NaN tilt leaves without a number there
READ_FROM = {
    "star31": "its tilt angle (rlnAngleTilt) is missing or not a number",
    "star30": "its tilt angle (rlnAngleTilt) is missing or not a number",
    "xmd": "its tilt angle (angleTilt) is missing or not a number",
    "cs": "its rot, tilt and psi angles (alignments3D/pose) are missing or not numbers",
    "sqlite": "its rot, tilt and psi angles and x and y origins (_transform._matrix) are missing or not numbers",
}


def particles_with_a_nan_tilt(folder, name: str):
    poses = random_poses(COUNT, seed=6)
    poses["tilt"][2] = np.nan
    return WRITERS[name](folder, poses, BOX)


@pytest.fixture
def folder(tmp_path):
    write_soft_ellipsoid(tmp_path / "mask3d.mrc", BOX)
    return tmp_path


def projection_job(particles: str) -> dict:
    return {
        "version": 1,
        "name": "p",
        "inputs": {"particles": particles},
        "mask": {"source": "projection", "projection": {"file": "mask3d.mrc"}},
        "fill": {"with": "value", "value": 0},
    }


@pytest.mark.parametrize("name", sorted(READ_FROM))
def test_a_pose_that_is_not_a_number_names_the_job_field_and_the_format_field(folder, capsys, name):
    particles = particles_with_a_nan_tilt(folder, name)
    line = validate_refuses(write_job(folder, projection_job(particles.name)), capsys)  # its one line
    row = "item 3" if name == "sqlite" else "row 3"
    last = "that item" if name == "sqlite" else "that row"
    assert line == (
        f"maskrun validate: error: {particles}: inputs.particles: {row} has no usable pose: {READ_FROM[name]}; "
        f"fix or drop {last}"
    )


def test_project_mask_names_its_particles_argument(folder, capsys):
    star = particles_with_a_nan_tilt(folder, "star31")
    assert main(["project-mask", str(folder / "mask3d.mrc"), str(star), str(folder / "out.mrcs")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"maskrun project-mask: error: {star}: PARTICLES: row 3 has no usable pose: its tilt angle (rlnAngleTilt) is "
        "missing or not a number; fix or drop that row"
    )
    assert not (folder / "out.mrcs").exists()


def test_a_star_without_angles_names_the_job_field_not_its_data_block(folder, capsys):
    """An extraction's STAR: its block is data_particles, which named the field ("particles: has no ...")."""
    write_mrc(folder / "particles.mrcs", np.zeros((COUNT, BOX, BOX), np.float32), voxel_size=PIXEL)
    rows = "".join(f"{i}@particles.mrcs {PIXEL}\n" for i in range(1, COUNT + 1))
    (folder / "extract.star").write_text(
        f"data_optics\nloop_\n_rlnOpticsGroup\n_rlnImagePixelSize\n1 {PIXEL}\n\n"
        f"data_particles\nloop_\n_rlnImageName\n_rlnOpticsGroup\n" + rows.replace(f" {PIXEL}", " 1")
    )
    line = validate_refuses(write_job(folder, projection_job("extract.star")), capsys)
    assert line == (
        f"maskrun validate: error: {folder / 'extract.star'}: inputs.particles: has no "
        "rlnAngleRot/rlnAngleTilt/rlnAnglePsi column: these particles have no 3D poses (take the set from a 3D "
        "refinement, Refine3D or Class3D)"
    )
    assert main(["project-mask", str(folder / "mask3d.mrc"), str(folder / "extract.star"), str(folder / "o.mrcs")]) == 2
    assert ": PARTICLES: has no rlnAngleRot/rlnAngleTilt/rlnAnglePsi column" in capsys.readouterr().err
