"""A set whose metadata gives no pixel size, over stacks whose headers say 1 Å/px or none (docs/spec.md, "Inputs").

A RELION 3.1 STAR whose optics lack ``rlnImagePixelSize`` over ``relion31.mrcs`` (2.806 Å/px,
1 Å/px in its header, as RELION writes .mrcs) took ``radius: 100 A`` as 100 px in validate and
run, without a word: the true radius is 35.6 px. So did a 3.0 STAR without
``rlnDetectorPixelSize``/``rlnMagnification``, an Xmipp ``.xmd``, a ``.cs`` without
``blob/psize_A`` and a Scipion set without ``_samplingRate``; ``inputs.pixel_size_angstrom``,
which gives the size, was refused for all of them. Such a set now refuses lengths in Å, as a bare
stack does, unless the key gives the pixel size, which then sizes the mask and is written to the
masked stacks' headers, the written metadata (where its format has a place) and the run record.
"""

from __future__ import annotations

import json
import shutil
import sqlite3

import mrcfile
import numpy as np
import pytest
import starfile

from maskrun.api import run_job
from maskrun.jobs.plan import plan_job

from conftest import shared_path, write_mrc
from job_files import validate_refuses, write_job

FIX = "set inputs.pixel_size_angstrom to the images' pixel size (Å per pixel), or give the length in px"
PLACEHOLDER = "their stack header's 1 Å/px is the value RELION writes in particle stacks whatever the pixel size"
SCIPION_PARTICLES = "Runs/000002_ProtImportParticles/particles.sqlite"


def particle_job(particles: str, radius: str = "100 A", **inputs: object) -> dict:
    return {
        "version": 1,
        "name": "p",
        "inputs": {"particles": particles, **inputs},
        "mask": {"source": "geometry", "geometry": {"shape": "circular", "radius": radius}},
        "report": False,
    }


def refused(folder, job, capsys) -> str:
    """The error of ``maskrun validate`` (exit 2, one line), after the job file's name."""
    job_file = write_job(folder, job)
    line = validate_refuses(job_file, capsys)
    assert line.startswith(f"maskrun validate: error: {job_file}: ")
    return line.removeprefix(f"maskrun validate: error: {job_file}: ")


@pytest.fixture
def relion31_without_pixel_size(tmp_path):
    """``relion31.star`` whose optics block lacks rlnImagePixelSize (2.806), beside its stack (1 Å/px header)."""
    shutil.copy(shared_path("data", "public", "relion31.mrcs"), tmp_path / "relion31.mrcs")
    blocks = starfile.read(shared_path("data", "public", "relion31.star"), always_dict=True)
    blocks["optics"] = blocks["optics"].drop(columns="rlnImagePixelSize")
    starfile.write(blocks, tmp_path / "particles.star")
    return tmp_path


def test_a_relion31_star_without_rlnimagepixelsize_refuses_angstrom_then_takes_the_key(
    relion31_without_pixel_size, capsys
):
    folder = relion31_without_pixel_size
    assert refused(folder, particle_job("particles.star"), capsys) == (
        "mask.geometry.radius: is given in Å, but the particles' RELION STAR gives no pixel size (no "
        f"rlnImagePixelSize in data_optics), and {PLACEHOLDER}; {FIX}"
    )
    job = write_job(folder, particle_job("particles.star", pixel_size_angstrom=2.806))
    plan = plan_job(job)
    assert plan.particle_set.pixel_size_angstrom == 2.806
    assert (
        "the stack header gives 1 Å/px, but inputs.pixel_size_angstrom 2.806; 2.806 Å/px is used, and written to the "
        "output" in plan.notes
    )
    out = run_job(job).output_dir
    record = json.loads((out / "provenance" / "run.json").read_text())["job_resolved"]
    assert record["pixel_size_angstrom"] == 2.806
    assert record["mask"]["geometry"]["radius"] == pytest.approx(100 / 2.806)  # 35.64 px, not 100
    with mrcfile.open(out / "stacks" / "batch_00001.mrcs", permissive=True) as masked:
        assert masked.voxel_size.x == pytest.approx(2.806)
    written = starfile.read(out / "particles.star", always_dict=True)
    assert written["optics"]["rlnImagePixelSize"].tolist() == [2.806]
    assert "rlnImagePixelSize" not in starfile.read(folder / "particles.star", always_dict=True)["optics"]


def test_a_relion30_star_without_pixel_size_columns_gets_them_written(tmp_path, capsys, rng):
    """RELION reads a 3.0 STAR's pixel size from rlnDetectorPixelSize / rlnMagnification: relion_reconstruct stops
    on one without ('cannot find pixel size in input STAR file'), and takes 2.806 from the written one."""
    write_mrc(tmp_path / "parts.mrcs", rng.normal(0, 1, (3, 32, 32)), voxel_size=1.0)
    (tmp_path / "particles.star").write_text(
        "data_\nloop_\n_rlnImageName\n_rlnDefocusU\n" + "".join(f"{i}@parts.mrcs 10000\n" for i in (1, 2, 3))
    )
    assert refused(tmp_path, particle_job("particles.star", "10 A"), capsys) == (
        "mask.geometry.radius: is given in Å, but the particles' RELION STAR gives no pixel size (no "
        f"rlnDetectorPixelSize and rlnMagnification), and {PLACEHOLDER}; {FIX}"
    )
    out = run_job(write_job(tmp_path, particle_job("particles.star", "10 A", pixel_size_angstrom=2.806))).output_dir
    rows = starfile.read(out / "particles.star")
    assert rows["rlnDetectorPixelSize"].tolist() == [2.806] * 3 and rows["rlnMagnification"].tolist() == [10000] * 3
    assert (rows["rlnDetectorPixelSize"] / rows["rlnMagnification"] * 1e4).tolist() == pytest.approx([2.806] * 3)
    with mrcfile.open(out / "stacks" / "batch_00001.mrcs") as masked:
        assert masked.voxel_size.x == pytest.approx(2.806)
        kept = np.flatnonzero(masked.data[0][16] != 0)  # the central row: 10 Å is 3.56 px at 2.806 Å/px
    assert (kept.min(), kept.max()) == (16 - 3, 16 + 3)


def test_an_xmd_over_stacks_without_a_pixel_size_refuses_angstrom_then_takes_the_key(tmp_path, capsys, rng):
    """Xmipp writes no pixel size in its stacks (PIXSIZ 0): the refusal said 'give it in pixels' only."""
    write_mrc(tmp_path / "parts.mrcs", rng.normal(0, 1, (3, 32, 32)), voxel_size=0.0)
    xmd = "# XMIPP_STAR_1 *\n#\ndata_noname\nloop_\n _image\n _enabled\n"
    (tmp_path / "particles.xmd").write_text(xmd + "".join(f" {i:06d}@parts.mrcs 1\n" for i in (1, 2, 3)))
    assert refused(tmp_path, particle_job("particles.xmd", "10 A"), capsys) == (
        "mask.geometry.radius: is given in Å, but the particles' Xmipp XMD gives no pixel size (no _samplingRate), "
        f"nor does their stack header; {FIX}"
    )
    out = run_job(write_job(tmp_path, particle_job("particles.xmd", "10 A", pixel_size_angstrom=2.5))).output_dir
    record = json.loads((out / "provenance" / "run.json").read_text())["job_resolved"]
    assert record["pixel_size_angstrom"] == 2.5 and record["mask"]["geometry"]["radius"] == pytest.approx(4.0)
    with mrcfile.open(out / "stacks" / "batch_00001.mrcs") as masked:
        assert masked.voxel_size.x == pytest.approx(2.5)
    assert "samplingRate" not in (out / "particles.xmd").read_text()  # written as read: the stacks' headers carry it


def test_an_unusable_metadata_pixel_size_is_none_and_the_key_replaces_it(tmp_path, capsys, rng):
    write_mrc(tmp_path / "parts.mrcs", rng.normal(0, 1, (3, 32, 32)), voxel_size=1.0)
    (tmp_path / "particles.star").write_text(
        "data_optics\nloop_\n_rlnOpticsGroup\n_rlnImagePixelSize\n_rlnImageSize\n1 0 32\n\n"
        "data_particles\nloop_\n_rlnImageName\n_rlnOpticsGroup\n" + "".join(f"{i}@parts.mrcs 1\n" for i in (1, 2, 3))
    )
    assert refused(tmp_path, particle_job("particles.star", "10 A"), capsys) == (
        "mask.geometry.radius: is given in Å, but the particles' RELION STAR gives no pixel size (its "
        f"rlnImagePixelSize is 0), and {PLACEHOLDER}; {FIX}"
    )
    plan = plan_job(write_job(tmp_path, particle_job("particles.star", "10 A", pixel_size_angstrom=2.5)))
    assert plan.particle_set.pixel_size_angstrom == 2.5
    assert plan.particle_set.notes[0] == (
        "the metadata's pixel size is 0, not a pixel size from 0.01 to 100 Å/px; inputs.pixel_size_angstrom 2.5 Å/px "
        "is used"
    )


NO_CTF = pytest.mark.filterwarnings("ignore::maskrun.errors.CompanionStarWarning")  # these .cs hold blob fields only


@NO_CTF
def test_a_cs_without_psize_refuses_angstrom_then_writes_the_key_to_both_outputs(tmp_path, capsys, rng):
    write_mrc(tmp_path / "parts.mrc", rng.normal(0, 1, (3, 32, 32)), voxel_size=1.0, stack=True)
    records = np.zeros(3, dtype=[("uid", "<u8"), ("blob/path", "S10"), ("blob/idx", "<u4")])
    records["uid"], records["blob/path"], records["blob/idx"] = [11, 12, 13], b">parts.mrc", [0, 1, 2]
    with open(tmp_path / "particles.cs", "wb") as file:
        np.save(file, records)
    assert refused(tmp_path, particle_job("particles.cs", "10 A"), capsys) == (
        "mask.geometry.radius: is given in Å, but the particles' cryoSPARC .cs gives no pixel size (no blob/psize_A), "
        f"and {PLACEHOLDER}; {FIX}"
    )
    out = run_job(write_job(tmp_path, particle_job("particles.cs", "10 A", pixel_size_angstrom=2.806))).output_dir
    written = np.load(out / "particles.cs")
    assert written["blob/psize_A"].tolist() == pytest.approx([2.806] * 3) and written["uid"].tolist() == [11, 12, 13]
    assert starfile.read(out / "particles.star")["optics"]["rlnImagePixelSize"].tolist() == [2.806]
    with mrcfile.open(out / "stacks" / "batch_00001.mrcs") as masked:
        assert masked.voxel_size.x == pytest.approx(2.806)


@NO_CTF
def test_a_cs_whose_stacks_give_none_either_proposes_the_key(tmp_path, capsys, rng):
    write_mrc(tmp_path / "parts.mrc", rng.normal(0, 1, (3, 32, 32)), voxel_size=0.0, stack=True)
    records = np.zeros(3, dtype=[("blob/path", "S10"), ("blob/idx", "<u4")])
    records["blob/path"], records["blob/idx"] = b">parts.mrc", [0, 1, 2]
    with open(tmp_path / "particles.cs", "wb") as file:
        np.save(file, records)
    assert validate_refuses(write_job(tmp_path, particle_job("particles.cs", "10")), capsys).endswith(
        "add blob/psize_A (float32, one per row) with the images' pixel size in Å, set inputs.pixel_size_angstrom to "
        "it, or import the particles into cryoSPARC again with their pixel size"
    )
    assert plan_job(write_job(tmp_path, particle_job("particles.cs", "10 A", pixel_size_angstrom=2.0))).particle_set


def test_a_scipion_set_without_sampling_rate_refuses_angstrom_then_writes_the_key(tmp_path, capsys):
    project = tmp_path / "project"
    shutil.copytree(shared_path("data", "formats", "scipion", "project"), project)
    with sqlite3.connect(project / SCIPION_PARTICLES) as connection:
        connection.execute("DELETE FROM Properties WHERE key = '_samplingRate'")
    with mrcfile.open(project / "Runs/000002_ProtImportParticles/extra/particles.mrcs", "r+") as stack:
        stack.voxel_size = 1.0
    assert refused(project, particle_job(SCIPION_PARTICLES, "20 A"), capsys) == (
        "mask.geometry.radius: is given in Å, but the particles' Scipion set gives no pixel size (no _samplingRate), "
        f"and {PLACEHOLDER}; {FIX}"
    )
    out = run_job(write_job(project, particle_job(SCIPION_PARTICLES, "20 A", pixel_size_angstrom=2.5))).output_dir
    with sqlite3.connect(out / "particles.sqlite") as connection:
        written = connection.execute("SELECT value FROM Properties WHERE key = '_samplingRate'").fetchall()
    assert written == [("2.5",)]
    record = json.loads((out / "provenance" / "run.json").read_text())["job_resolved"]
    assert record["pixel_size_angstrom"] == 2.5 and record["mask"]["geometry"]["radius"] == pytest.approx(8.0)


@pytest.mark.parametrize(
    ("name", "own"),
    [
        ("relion31.star", "this RELION STAR gives its own, 2.806 Å/px (rlnImagePixelSize)"),
        ("empiar_10076_7.star", "this RELION STAR gives its own, 1.31 Å/px (rlnDetectorPixelSize/rlnMagnification)"),
        ("empiar_10076_7.cs", "this cryoSPARC .cs gives its own, 1.31 Å/px (blob/psize_A)"),
    ],
)
def test_the_key_is_still_refused_for_a_set_whose_metadata_gives_a_pixel_size(tmp_path, capsys, name, own):
    for file in (name, "relion31.mrcs", "empiar_10076_7.mrc"):
        shutil.copy(shared_path("data", "public", file), tmp_path / file)
    line = validate_refuses(write_job(tmp_path, particle_job(name, pixel_size_angstrom=2.0)), capsys)
    assert line == (
        f"maskrun validate: error: {tmp_path / name}: inputs.pixel_size_angstrom: is for particles whose metadata "
        f"gives no pixel size (a bare stack, or a set without one); {own}: remove it"
    )


def relion31_with_optics_pixel_size(folder, value: str | None) -> str:
    """``relion31.star`` (its origins in Å, over 2.806 Å/px) whose optics give ``value`` as rlnImagePixelSize (None:
    the column dropped), beside its stack (1 Å/px header); the STAR's name."""
    shutil.copy(shared_path("data", "public", "relion31.mrcs"), folder / "relion31.mrcs")
    blocks = starfile.read(shared_path("data", "public", "relion31.star"), always_dict=True)
    if value is None:
        blocks["optics"] = blocks["optics"].drop(columns="rlnImagePixelSize")
    else:
        blocks["optics"]["rlnImagePixelSize"] = value
    blocks["particles"]["rlnOriginXAngst"] = [28.06, -14.03, 5.612, 0.0, 2.806]
    starfile.write(blocks, folder / "particles.star")
    return "particles.star"


def following(particles: str, follow: str = "offsets", **inputs: object) -> dict:
    job = particle_job(particles, radius="60", **inputs)
    job["mask"]["follow"] = follow
    return job


@pytest.mark.parametrize(
    ("value", "lacks"), [("nan", "its rlnImagePixelSize is nan"), (None, "no rlnImagePixelSize in data_optics")]
)
@pytest.mark.parametrize("follow", ["offsets", "pose"])
def test_origins_in_angstrom_are_refused_over_the_header_placeholder_then_take_the_key(
    tmp_path, capsys, value, lacks, follow
):
    """They were divided by the header's 1 Å/px (rlnImagePixelSize nan: 'the image header's 1 Å/px is used'; no
    column: without a word), each mask placed 2.8 times its offset away, exit 0."""
    star = relion31_with_optics_pixel_size(tmp_path, value)
    line = validate_refuses(write_job(tmp_path, following(star, follow)), capsys)
    assert line == (
        f"maskrun validate: error: {tmp_path / star}: mask.follow: origins are in Å (rlnOriginXAngst/rlnOriginYAngst), "
        "but the particles' RELION STAR gives no "
        f"pixel size ({lacks}), and {PLACEHOLDER}; set inputs.pixel_size_angstrom to the images' pixel size "
        "(Å per pixel); or remove mask.follow to mask every particle alike"
    )
    plan = plan_job(write_job(tmp_path, following(star, follow, pixel_size_angstrom=2.806)))
    np.testing.assert_allclose(plan.placements[3], [10, -5, 2, 0, 1], atol=1e-9)


def test_poses_in_angstrom_over_the_header_placeholder_are_refused(tmp_path):
    """Projected masks read them through the same conversion (`poses_of`)."""
    from maskrun.errors import UserError
    from maskrun.formats.poses import poses_of
    from maskrun.formats.registry import load_particle_set

    star = tmp_path / relion31_with_optics_pixel_size(tmp_path, "nan")
    with pytest.raises(UserError, match=r"origins are in Å .*; set the optics groups' rlnImagePixelSize$"):
        poses_of(load_particle_set(star))
    given = load_particle_set(star, pixel_size_angstrom=2.806)
    np.testing.assert_allclose(poses_of(given).origin_x_px, [10, -5, 2, 0, 1], atol=1e-9)
