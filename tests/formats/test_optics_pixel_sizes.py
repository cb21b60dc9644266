"""Particles whose optics groups differ in pixel size: a length in Å has no one meaning there."""

from __future__ import annotations

import pandas as pd
import pytest
import starfile

from maskrun.cli.main import main
from maskrun.formats.particle_set import sizes_by_group
from maskrun.formats.registry import load_particle_set
from maskrun.jobs.examples import PIXEL_SIZE_ANGSTROM, write_example_particles
from maskrun.jobs.runner import run_job

from job_files import job_with, validate_refuses, write_job


def two_groups(folder, second_size: float, used: bool = True):
    """The example set with an optics group 2 of ``second_size`` Å/px, for the second stack's particles if ``used``."""
    star = write_example_particles(folder)
    blocks = starfile.read(star, always_dict=True)
    optics, particles = blocks["optics"], blocks["particles"]
    second = optics.iloc[[0]].assign(rlnOpticsGroup=2, rlnOpticsGroupName="opticsGroup2", rlnImagePixelSize=second_size)
    blocks["optics"] = pd.concat([optics, second], ignore_index=True)
    if used:
        particles.loc[particles["rlnImageName"].str.contains("mic_002"), "rlnOpticsGroup"] = 2
    starfile.write(blocks, star, overwrite=True)
    return star


BY_GROUP = f"{PIXEL_SIZE_ANGSTROM:g} Å in optics group 1 'opticsGroup1', 1.5 Å in optics group 2 'opticsGroup2'"


def test_a_length_in_angstrom_is_refused_naming_the_sizes_and_the_fix(tmp_path, capsys):
    two_groups(tmp_path, 1.5)
    job = write_job(tmp_path, job_with(mask__geometry__inner_radius="20 A", mask__geometry__outer_radius="28 A"))
    line = validate_refuses(job, capsys)
    assert line == (
        f"maskrun validate: error: {job}: mask.geometry.inner_radius: is given in Å, but the particles' optics groups "
        f"have different pixel sizes ({BY_GROUP}); give it in px, or mask each optics group in a job of its own"
    )


def test_lengths_in_px_run_with_a_note_and_no_pixel_size_in_the_headers(tmp_path, capsys):
    star = two_groups(tmp_path, 1.5)
    particles = load_particle_set(star)
    assert particles.pixel_size_angstrom == 0 and particles.pixel_sizes_angstrom == (PIXEL_SIZE_ANGSTROM, 1.5)
    job = write_job(tmp_path, job_with())
    assert main(["validate", str(job)]) == 0
    assert f"optics groups have different pixel sizes ({BY_GROUP}): lengths in px apply" in capsys.readouterr().out
    run_job(job)


@pytest.mark.parametrize(("size", "used"), [(1.5, False), (PIXEL_SIZE_ANGSTROM * 1.005, True)])
def test_a_group_no_particle_uses_or_under_1_percent_apart_leaves_one_pixel_size(tmp_path, size, used):
    particles = load_particle_set(two_groups(tmp_path, size, used))
    assert particles.pixel_size_angstrom == PIXEL_SIZE_ANGSTROM and particles.pixel_sizes_angstrom == ()


def test_a_projected_mask_on_several_pixel_sizes_is_refused(tmp_path, capsys):
    two_groups(tmp_path, 1.5)
    (tmp_path / "m.mrc").write_bytes(b"")
    job = write_job(tmp_path, job_with(mask={"source": "projection", "projection": {"file": "m.mrc"}}))
    line = validate_refuses(job, capsys)
    assert (
        f"particles.star: mask.projection.file: the particles' optics groups have different pixel sizes ({BY_GROUP})"
        in line
    )
    assert line.endswith("a projected 3D mask fits one; mask each optics group in a job of its own")


def test_the_groups_of_each_pixel_size_are_named_those_no_particle_uses_left_out(tmp_path):
    """They were named by size alone: which groups to split into jobs was left to find in the optics table."""
    star = write_example_particles(tmp_path)
    blocks = starfile.read(star, always_dict=True)
    optics, particles = blocks["optics"], blocks["particles"]
    more = [optics.iloc[[0]].assign(rlnOpticsGroup=g, rlnOpticsGroupName=f"og{g}") for g in range(2, 8)]
    blocks["optics"] = pd.concat([optics, *more], ignore_index=True)
    blocks["optics"]["rlnImagePixelSize"] = [2.0, 1.5, 2.0, 1.5, 1.5, 1.5, 1.5]  # group 7 unused
    particles["rlnOpticsGroup"] = [1, 2, 3, 4, 5, 6] * (len(particles) // 6)
    starfile.write(blocks, star, overwrite=True)
    read = load_particle_set(star)
    assert read.pixel_sizes_angstrom == (2.0, 1.5)
    assert read.pixel_sizes_text == (
        "2 Å in optics groups 1 'opticsGroup1', 3 'og3', 1.5 Å in optics groups 2 'og2', 4 'og4', 5 'og5' and 1 more"
    )


def test_optics_groups_without_names_are_named_by_number(tmp_path):
    star = two_groups(tmp_path, 1.5)
    blocks = starfile.read(star, always_dict=True)
    blocks["optics"] = blocks["optics"].drop(columns="rlnOpticsGroupName")
    starfile.write(blocks, star, overwrite=True)
    assert (
        load_particle_set(star).pixel_sizes_text
        == f"{PIXEL_SIZE_ANGSTROM:g} Å in optics group 1, 1.5 Å in optics group 2"
    )


def test_sizes_without_optics_groups_are_named_by_value():
    assert sizes_by_group((2.806, 1.403), ()) == "2.806 and 1.403 Å"


@pytest.mark.parametrize(
    ("mask_size", "fits"),
    [
        (PIXEL_SIZE_ANGSTROM, f"fits only optics group 1 'opticsGroup1' ({PIXEL_SIZE_ANGSTROM:g} Å)"),
        (3.0, "fits none of the particles"),
    ],
)
def test_a_mask_file_on_several_pixel_sizes_says_which_optics_groups_it_fits(tmp_path, capsys, mask_size, fits):
    """A RELION 5 user's look: a mask file made at 1.06 Å for particles of 1.06 and 0.83 Å was warned of as if the
    images' voxel size were unknown, 'so the mask's pixel size cannot be checked', though validate names both."""
    import numpy as np

    from conftest import write_mrc

    star = two_groups(tmp_path, 1.5)
    ny, nx = load_particle_set(star).box_yx
    mask = write_mrc(tmp_path / "disc.mrc", np.ones((1, ny, nx), np.float32), voxel_size=mask_size)
    job = write_job(tmp_path, job_with(mask={"source": "file", "file": "disc.mrc"}))
    assert main(["validate", str(job)]) == 0
    err = capsys.readouterr().err
    assert (
        f"maskrun: warning: {mask}: the mask's {mask_size:g} Å/px {fits}: the particles' optics groups have "
        f"different pixel sizes ({BY_GROUP}), and the mask applies pixel for pixel to every image; to mask each "
        "pixel size with a mask made for it, mask each optics group in a job of its own\n"
    ) in err
    assert "cannot be checked" not in err


def test_the_report_names_the_pixel_sizes_as_validate_does(tmp_path, capsys):
    """The report of a job on particles of two pixel sizes said 'pixel size unknown'."""
    two_groups(tmp_path, 1.5)
    job = write_job(tmp_path, {**job_with(), "report": True})
    assert main(["validate", str(job)]) == 0
    sizes = f"pixel sizes {PIXEL_SIZE_ANGSTROM:g} and 1.5 Å"
    assert f"box 64 x 64 px, {sizes}\n" in capsys.readouterr().out
    from maskrun.api import run_job as run_as_users_do  # Snakemake: the report reads the saved plan

    out = run_as_users_do(job).output_dir
    html = (out / "report" / "report.html").read_text()
    assert f"Masked: 60 particles of 64 x 64 px in 3 stacks, {sizes}<" in html
