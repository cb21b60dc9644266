"""A bare stack's pixel size in a job: its header's 1 Å/px is RELION's placeholder (docs/spec.md, "Inputs").

``radius: 100 A`` over ``relion31.mrcs`` (2.806 Å/px by its STAR, 1 Å/px by its header) was
100 px in validate, run and report, without a word: the true radius is 35.6 px. A length in
Å over such a stack is refused unless ``inputs.pixel_size_angstrom`` gives the pixel size,
which then sizes the mask, the masked stacks' headers and the written STAR's optics.
"""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest
import starfile

from maskrun.errors import MaskrunWarning

from conftest import write_mrc, write_spider
from job_files import validate_refuses, write_job

CIRCLE_IN_ANGSTROM = {"shape": "circular", "radius": "10 A", "soft_edge": 2}


def stack_job(geometry: dict | None = None, **inputs: object) -> dict:
    return {
        "version": 1,
        "name": "b",
        "inputs": {"particles": "particles.mrcs", **inputs},
        "mask": {"source": "geometry", "geometry": geometry or CIRCLE_IN_ANGSTROM},
        "report": False,
    }


@pytest.fixture
def stack(tmp_path, rng):
    return write_mrc(tmp_path / "particles.mrcs", rng.normal(0, 1, (3, 32, 32)), voxel_size=1.0)


def test_a_length_in_angstrom_over_the_header_placeholder_is_refused(tmp_path, capsys, stack):
    line = validate_refuses(write_job(tmp_path, stack_job()), capsys)
    assert line == (
        f"maskrun validate: error: {tmp_path / 'job.yaml'}: mask.geometry.radius: is given in Å, but the particles' "
        "only pixel size is their stack header's 1 Å/px, the value RELION writes in particle stacks whatever the "
        "pixel size; set inputs.pixel_size_angstrom to the images' pixel size (Å per pixel), or give the length in px"
    )


def test_a_length_in_angstrom_over_a_header_without_a_pixel_size_proposes_the_key_too(tmp_path, capsys, rng):
    """It was told 'the data's pixel size is unknown (0 in the header and the metadata); give it in pixels'."""
    write_mrc(tmp_path / "particles.mrcs", rng.normal(0, 1, (3, 32, 32)), voxel_size=0.0)
    line = validate_refuses(write_job(tmp_path, stack_job()), capsys)
    assert line.endswith(
        "mask.geometry.radius: is given in Å, but the particles' only pixel size would be their stack header's, which "
        "gives none; set inputs.pixel_size_angstrom to the images' pixel size (Å per pixel), or give the length in px"
    )


def test_a_bare_spider_stack_takes_the_pixel_size_as_a_mrcs_does(tmp_path, capsys, rng):
    """Xmipp writes PIXSIZ 0 (unknown) in its SPIDER stacks: a length in Å is refused, then sized by the key."""
    from maskrun.jobs.plan import plan_job

    write_spider(tmp_path / "particles.stk", rng.normal(0, 1, (3, 32, 32)), pixel_size=0.0)
    job = stack_job()
    job["inputs"]["particles"] = "particles.stk"
    line = validate_refuses(write_job(tmp_path, job), capsys)
    assert line.endswith(
        "mask.geometry.radius: is given in Å, but the particles' only pixel size would be their stack "
        "header's, which gives none; set inputs.pixel_size_angstrom to the images' pixel size (Å per "
        "pixel), or give the length in px"
    )
    job["inputs"]["pixel_size_angstrom"] = 2.5
    plan = plan_job(write_job(tmp_path, job))
    assert plan.particle_set.pixel_size_angstrom == 2.5
    assert float(plan.particle_set.blocks["optics"].column("rlnImagePixelSize")[0]) == 2.5


def test_an_expression_term_in_angstrom_is_refused_alike_naming_its_key(tmp_path, capsys, stack):
    job = stack_job()
    job["mask"] = {
        "source": "expression",
        "expression": {
            "all_of": [{"geometry": {"shape": "circular", "radius": 8}}],
            "none_of": [{"geometry": {"shape": "circular", "radius": "5 A"}}],
            "soft_edge_px": 2,
        },
    }
    line = validate_refuses(write_job(tmp_path, job), capsys)
    assert "mask.expression.none_of.0.geometry.radius: is given in Å, but the particles' only pixel size" in line


def test_the_pixel_size_given_sizes_the_mask_and_is_written_to_the_stacks_and_the_star(tmp_path, stack):
    from maskrun.api import run_job
    from maskrun.jobs.plan import plan_job

    job = write_job(tmp_path, stack_job(pixel_size_angstrom=2.806))
    plan = plan_job(job)
    assert plan.particle_set.pixel_size_angstrom == 2.806
    assert (
        "its header gives 1 Å/px, but inputs.pixel_size_angstrom 2.806; 2.806 Å/px is used, and written to the "
        "output" in plan.notes
    )
    run_job(job)
    out = tmp_path / "results" / "b"
    with mrcfile.open(out / "stacks" / "batch_00001.mrcs") as masked:
        assert masked.voxel_size.x == pytest.approx(2.806)
        kept = np.flatnonzero(masked.data[0][16] != 0)  # the central row: 10 Å is 3.56 px at 2.806 Å/px
    assert (kept.min(), kept.max()) == (16 - 5, 16 + 5)  # radius 3.56 px and its 2 px soft edge
    optics = starfile.read(out / "particles.star")["optics"]
    assert float(optics["rlnImagePixelSize"][0]) == pytest.approx(2.806)


def test_lengths_in_pixels_and_a_header_with_a_real_pixel_size_need_none(tmp_path, rng):
    from maskrun.jobs.plan import plan_job

    write_mrc(tmp_path / "particles.mrcs", rng.normal(0, 1, (3, 32, 32)), voxel_size=1.0)
    assert plan_job(write_job(tmp_path, stack_job({"shape": "circular", "radius": 10, "soft_edge": 2})))
    write_mrc(tmp_path / "particles.mrcs", rng.normal(0, 1, (3, 32, 32)), voxel_size=1.5)
    plan = plan_job(write_job(tmp_path, stack_job()))
    assert plan.particle_set.pixel_size_angstrom == 1.5


def test_a_header_of_another_real_pixel_size_set_aside_is_a_warning(tmp_path, rng):
    from maskrun.jobs.plan import plan_job

    write_mrc(tmp_path / "particles.mrcs", rng.normal(0, 1, (3, 32, 32)), voxel_size=2.0)
    with pytest.warns(MaskrunWarning, match=r"its header gives 2 Å/px, but inputs.pixel_size_angstrom 2.806; 2.806"):
        plan_job(write_job(tmp_path, stack_job(pixel_size_angstrom=2.806)))


def test_a_mask_file_made_for_the_particles_proposes_the_pixel_size_key(tmp_path, capsys, stack):
    write_mrc(tmp_path / "disc.mrc", np.ones((32, 32)), voxel_size=2.806)
    job = stack_job()
    job["mask"] = {"source": "file", "file": "disc.mrc"}
    line = validate_refuses(write_job(tmp_path, job), capsys)
    assert line.endswith(
        "mask.file: mask voxel size 2.806 Å differs from the images' 1 Å, which their header gives: the value RELION "
        "writes in particle stacks whatever the pixel size; if 2.806 Å is the images' pixel size, pass "
        "inputs.pixel_size_angstrom: 2.806, else resample the mask to the images' pixel size"
    )


def test_a_pixel_size_for_a_set_with_its_own_or_for_maps_is_refused(tmp_path, capsys, stack):
    (tmp_path / "particles.star").write_text(
        "data_optics\nloop_\n_rlnOpticsGroup\n_rlnImagePixelSize\n1 1.5\n\n"
        "data_particles\nloop_\n_rlnImageName\n_rlnOpticsGroup\n1@particles.mrcs 1\n"
    )
    job = stack_job(pixel_size_angstrom=2.806)
    job["inputs"]["particles"] = "particles.star"
    line = validate_refuses(write_job(tmp_path, job), capsys)
    assert line == (
        f"maskrun validate: error: {tmp_path / 'particles.star'}: inputs.pixel_size_angstrom: is for particles whose "
        "metadata gives no pixel size (a bare stack, or a set without one); this RELION STAR gives its own, 1.5 Å/px "
        "(rlnImagePixelSize): remove it"
    )
    write_mrc(tmp_path / "a.mrc", np.zeros((8, 8, 8)))
    maps = {**stack_job(), "inputs": {"volumes": "a.mrc", "pixel_size_angstrom": 2.806}}
    line = validate_refuses(write_job(tmp_path, maps), capsys)
    assert (
        "pixel_size_angstrom is the particles' pixel size (of a bare stack, or a set whose metadata gives none); a map "
        "job takes each map's voxel size from its header: remove it" in line
    )
