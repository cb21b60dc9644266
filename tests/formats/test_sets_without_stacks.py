"""Particle sets read without their stacks (``need_stacks=False``, for project-mask): the box and pixel size from
the metadata of each format, refusals of a metadata box that is not one, and the set read as before when the
stacks are there."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from maskrun.errors import MaskrunWarning, UserError
from maskrun.formats.registry import load_particle_set

from conftest import shared_path
from pose_sets import PIXEL, WRITERS, random_poses, write_star31, write_xmd

BOX = 48


def read(path, **options):
    return load_particle_set(path, written_back=False, need_stacks=False, **options)


def test_stacks_present_read_and_checked_as_a_job_reads_them(tmp_path):
    star = write_star31(tmp_path, random_poses(3), BOX)
    star.write_text(star.read_text().replace(f"1 {PIXEL} {BOX} 2", f"1 {PIXEL} 64 2"))  # rlnImageSize not the box
    with pytest.warns(MaskrunWarning, match=r"rlnImageSize: 64 px in optics group 1, but the stacks are 48 x 48 px"):
        particles = read(star)
    assert particles.without_stacks is None and particles.box_yx == (BOX, BOX)
    assert particles.stack_paths == [tmp_path / "particles.mrcs"]


def test_a_star_without_stacks_takes_the_image_size_of_the_groups_its_particles_use(tmp_path):
    star = write_star31(tmp_path, random_poses(3), BOX)
    (tmp_path / "particles.mrcs").unlink()
    text = star.read_text().replace(
        f"1 {PIXEL} {BOX} 2 300 2.7 0.1", f"1 {PIXEL} {BOX} 2 300 2.7 0.1\n2 2.0 64 2 300 2.7 0.1"
    )
    star.write_text(text)
    particles = read(star)
    assert particles.box_yx == (BOX, BOX) and particles.pixel_size_angstrom == PIXEL  # group 2 is used by none
    how = particles.without_stacks
    assert how is not None and how.missing == [tmp_path / "particles.mrcs"] and how.named == 1
    assert (how.box_field, how.pixel_field) == ("rlnImageSize", "rlnImagePixelSize")
    assert particles.stack_paths == [] and (particles.stack_of_row == -1).all() and len(particles) == 3
    np.testing.assert_array_equal(particles.image_index, [0, 1, 2])
    rows = star.read_text().splitlines()
    star.write_text("\n".join([*rows[:-1], rows[-1][:-1] + "2"]) + "\n")  # the last particle in group 2
    with pytest.raises(UserError) as refused:
        read(star)
    assert str(refused.value) == (
        f"{star}: rlnImageSize: the particles' optics groups have different box sizes ({BOX} and 64 px) and their "
        "stacks are not here; project each box size on its own"
    )


@pytest.mark.parametrize("value", ["0", "47.5", "nan"])
def test_an_image_size_that_is_no_box_is_refused(tmp_path, value):
    star = write_star31(tmp_path, random_poses(3), BOX)
    (tmp_path / "particles.mrcs").unlink()
    star.write_text(star.read_text().replace(f"1 {PIXEL} {BOX} 2", f"1 {PIXEL} {value} 2"))
    with pytest.raises(UserError, match=r"rlnImageSize: is .*, not a box size in pixels \(a whole number from 1\)"):
        read(star)


def test_an_xmd_gives_its_box_by_xsize_and_ysize(tmp_path):
    xmd = write_xmd(tmp_path, random_poses(2), BOX)
    (tmp_path / "particles.mrcs").unlink()
    assert read(xmd).box_yx == (0, 0) and read(xmd).without_stacks.box_field == ""  # Xmipp rarely writes them
    lines = xmd.read_text().splitlines()
    lines = [*lines[:11], " _xSize", " _ySize", *(f"{row} {BOX} 40" for row in lines[11:])]
    xmd.write_text("\n".join(lines) + "\n")
    particles = read(xmd)
    assert particles.box_yx == (40, BOX) and particles.without_stacks.box_field == "xSize/ySize"
    assert particles.pixel_size_angstrom == 0  # an .xmd has none: project-mask takes the 3D mask's


def test_a_cs_without_stacks_gives_blob_shape_and_refuses_several(tmp_path):
    cs = WRITERS["cs"](tmp_path, random_poses(3), BOX)
    (tmp_path / "particles.mrcs").unlink()
    particles = read(cs)
    assert particles.box_yx == (BOX, BOX) and particles.pixel_size_angstrom == pytest.approx(PIXEL)
    assert (particles.without_stacks.box_field, particles.without_stacks.pixel_field) == ("blob/shape", "blob/psize_A")
    records = np.load(cs)
    records["blob/shape"][1] = (BOX, 64)
    with open(cs, "wb") as file:
        np.save(file, records)
    with pytest.raises(
        UserError, match=rf"blob/shape: the rows give different shapes \(\[{BOX}, {BOX}\] and \[{BOX}, 64\]\)"
    ):
        read(cs)


def test_a_cs_without_stacks_or_pixel_size_leaves_it_to_the_caller(tmp_path):
    """With the stacks, a .cs whose pixel size nothing gives is refused; without, project-mask takes its mask's."""
    cs = WRITERS["cs"](tmp_path, random_poses(3), BOX)
    (tmp_path / "particles.mrcs").unlink()
    records = np.load(cs)
    records["blob/psize_A"] = 0
    with open(cs, "wb") as file:
        np.save(file, records)
    particles = read(cs)
    assert particles.pixel_size_angstrom == 0 and particles.without_stacks.pixel_field == ""


def test_a_scipion_set_without_stacks_gives_first_dim_and_sampling_rate(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(shared_path("data", "formats", "scipion", "project"), project)
    sqlite = project / "Runs/000002_ProtImportParticles/particles.sqlite"
    for stack in project.rglob("*.mrcs"):
        stack.unlink()
    particles = read(sqlite)
    assert particles.box_yx == (64, 64) and particles.pixel_size_angstrom == 2.0  # _firstDim 64,64,1
    how = particles.without_stacks
    assert (how.box_field, how.pixel_field) == ("_firstDim", "_samplingRate") and how.missing
    # looked for from the project folder, as Scipion lays it out (Runs/…): the second look saw Runs/… joined twice
    assert how.missing == [project / "Runs/000002_ProtImportParticles/extra/particles.mrcs"]
    with pytest.raises(UserError, match="not found"):
        load_particle_set(sqlite)  # a job's read still needs them
