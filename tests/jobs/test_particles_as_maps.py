"""Particle images given as a job's maps are refused (docs/spec.md, "Inputs": Maps).

A particle STAR under ``inputs.volumes`` was masked as "5 maps": each ``N@stack`` row read as
the whole stack, one 256 x 256 x 5 "map", and every row of ``volumes.star`` naming one masked
file. RELION reads ``N@file`` as one image of a stack (``N@x.mrc`` it refuses), and a ``.mrcs``
as a stack of 2D images. Image 1 of a file that holds one map is that map, as Xmipp reads it and
Scipion writes it (``_index`` 1); a stack of maps is refused as one maskrun does not read.
"""

from __future__ import annotations

import shutil
import sqlite3

import mrcfile
import numpy as np
import pytest

from conftest import shared_path, write_mrc, write_spider
from job_files import validate_refuses, write_job

STACK = np.zeros((5, 16, 16), np.float32)


def map_job(volumes: object) -> dict:
    return {
        "version": 1,
        "name": "v",
        "inputs": {"volumes": volumes},
        "mask": {"source": "geometry", "geometry": {"shape": "sphere", "radius": 2, "soft_edge": 1}},
    }


def test_a_particle_star_as_maps_is_refused_naming_a_row_and_the_key_for_particles(tmp_path, capsys):
    write_mrc(tmp_path / "particles.mrcs", STACK)
    rows = "\n".join(f"{i:06d}@particles.mrcs" for i in range(1, 6))
    (tmp_path / "particles.star").write_text(f"data_particles\nloop_\n_rlnImageName\n{rows}\n")
    line = validate_refuses(write_job(tmp_path, map_job("particles.star")), capsys)
    assert line == (
        f"maskrun validate: error: {tmp_path / 'particles.star'}: inputs.volumes: lists particle images (N@stack), "
        "not maps: row 1 is '000001@particles.mrcs', one image of the stack particles.mrcs; give it as "
        "inputs.particles"
    )


@pytest.mark.parametrize("block", ["data_noname", "data_"])  # Xmipp's name; a block without one
def test_a_listed_image_of_a_stack_is_refused_naming_the_stacks_first_row(tmp_path, capsys, block):
    """``2@parts.mrc`` takes a second image from parts.mrc: a stack of images, though its name does not say so (the
    header's ispg 0 is written for maps too); the stack's first row is named, ``1@`` and all."""
    write_mrc(tmp_path / "a.mrc", np.zeros((8, 8, 8)))
    write_mrc(tmp_path / "parts.mrc", STACK, stack=True)
    (tmp_path / "maps.xmd").write_text(f"{block}\nloop_\n_image\na.mrc\n1@parts.mrc\n2@parts.mrc\n")
    line = validate_refuses(write_job(tmp_path, map_job("maps.xmd")), capsys)
    assert line.endswith(
        "maps.xmd: inputs.volumes: lists particle images (N@stack), not maps: row 2 is '1@parts.mrc', one image of "
        "the stack parts.mrc; give it as inputs.particles"
    )


@pytest.mark.parametrize("listing", ["maps.star", "maps.xmd"])
def test_image_1_of_a_file_holding_one_map_is_that_map_star_and_xmd_alike(tmp_path, listing):
    """Scipion writes a SetOfVolumes to .xmd as ``000001@split_v1.vol`` (its Xmipp plugin's ``setLocation(1, …)``),
    Xmipp reads that as the volume: it was refused as "lists particle images (N@stack)", and so was ``1@b.mrc``."""
    from maskrun.jobs.plan import plan_job

    shutil.copy(shared_path("data", "formats", "spider", "AK.vol"), tmp_path / "split_v1.vol")
    write_mrc(tmp_path / "b.mrc", np.zeros((8, 8, 8)))
    column = "_rlnImageName" if listing.endswith(".star") else "_image"
    (tmp_path / listing).write_text(f"data_\nloop_\n{column}\n000001@split_v1.vol\n1@b.mrc\n")
    plan = plan_job(write_job(tmp_path, map_job(listing)))
    assert [(info.path.name, info.shape_zyx) for info in plan.volume_set.maps] == [
        ("split_v1.vol", (64, 64, 64)),
        ("b.mrc", (8, 8, 8)),
    ]


def test_a_listed_stack_of_maps_is_told_to_be_split_not_given_as_particles(tmp_path, capsys):
    """``1@classes.mrc``, ``2@classes.mrc`` of an ispg 401 file were refused as particle images, "give it as
    inputs.particles": it holds maps, which maskrun reads one file each."""
    with mrcfile.new(tmp_path / "classes.mrc") as mrc:
        mrc.set_data(np.zeros((2, 8, 8, 8), np.float32))  # 4D: ispg 401
    (tmp_path / "maps.star").write_text("data_\nloop_\n_rlnImageName\n1@classes.mrc\n2@classes.mrc\n")
    line = validate_refuses(write_job(tmp_path, map_job("maps.star")), capsys)
    assert line == (
        f"maskrun validate: error: {tmp_path / 'classes.mrc'}: ispg 401 marks a stack of volumes, which maskrun does "
        "not read; split it into single maps"
    )


def test_image_1_of_a_spider_stack_of_images_is_refused_by_its_header(tmp_path, capsys):
    """Its name does not say a stack (Xmipp writes particles to .stk), its header does."""
    write_spider(tmp_path / "proj.stk", STACK)
    (tmp_path / "maps.xmd").write_text("data_noname\nloop_\n_image\n000001@proj.stk\n")
    line = validate_refuses(write_job(tmp_path, map_job("maps.xmd")), capsys)
    assert line.endswith(
        "maps.xmd: inputs.volumes: lists particle images (N@stack), not maps: row 1 is '000001@proj.stk', one image "
        "of the stack proj.stk; give it as inputs.particles"
    )


def test_a_listed_image_is_named_by_its_stack_without_xmipps_format_suffix(tmp_path, capsys):
    """Scipion's plugins write ``000001@parts.mrcs:mrcs``: the stack is parts.mrcs, the suffix no part of its name."""
    write_mrc(tmp_path / "parts.mrcs", STACK)
    (tmp_path / "maps.xmd").write_text("data_noname\nloop_\n_image\n000001@parts.mrcs:mrcs\n")
    line = validate_refuses(write_job(tmp_path, map_job("maps.xmd")), capsys)
    assert line.endswith(
        "row 1 is '000001@parts.mrcs:mrcs', one image of the stack parts.mrcs; give it as inputs.particles"
    )


@pytest.mark.parametrize("given", ["particles.mrcs", ["a.mrc", "particles.mrcs"], "*.mrc*"])
def test_a_mrcs_stack_given_as_a_map_is_refused(tmp_path, capsys, given):
    write_mrc(tmp_path / "a.mrc", np.zeros((8, 8, 8)))
    write_mrc(tmp_path / "particles.mrcs", STACK)
    line = validate_refuses(write_job(tmp_path, map_job(given)), capsys)
    assert line == (
        f"maskrun validate: error: {tmp_path / 'particles.mrcs'}: inputs.volumes: is a stack of 5 particle images "
        "of 16 x 16 (a .mrcs, which RELION reads as images), not a map; give it as inputs.particles"
    )


@pytest.mark.parametrize("name,fix", [("proj.stk", ""), ("proj.spi", "rename it proj.stk and ")])
def test_a_spider_stack_given_as_a_map_is_refused_whatever_its_name(tmp_path, capsys, name, fix):
    """Its header says a stack (ISTACK), as Xmipp reads it under any name: it was masked as one 16 x 16 x 5 map."""
    write_spider(tmp_path / name, STACK)
    line = validate_refuses(write_job(tmp_path, map_job(name)), capsys)
    assert line == (
        f"maskrun validate: error: {tmp_path / name}: inputs.volumes: is a stack of 5 particle images of 16 x 16 "
        f"(its SPIDER header says so), not a map; {fix}give it as inputs.particles"
    )


def test_a_listing_naming_a_spider_stack_is_refused_naming_the_listing(tmp_path, capsys):
    write_spider(tmp_path / "proj.spi", STACK)
    (tmp_path / "maps.xmd").write_text("data_noname\nloop_\n_image\nproj.spi\n")
    line = validate_refuses(write_job(tmp_path, map_job("maps.xmd")), capsys)
    assert "maps.xmd: inputs.volumes: lists proj.spi, a stack of 5 particle images of 16 x 16 (its SPIDER" in line


def test_a_listing_naming_a_mrcs_whole_is_refused_naming_the_listing(tmp_path, capsys):
    write_mrc(tmp_path / "particles.mrcs", STACK)
    (tmp_path / "maps.star").write_text("data_\nloop_\n_rlnImageName\nparticles.mrcs\n")
    line = validate_refuses(write_job(tmp_path, map_job("maps.star")), capsys)
    assert line == (
        f"maskrun validate: error: {tmp_path / 'maps.star'}: inputs.volumes: lists particles.mrcs, a stack of 5 "
        "particle images of 16 x 16 (a .mrcs, which RELION reads as images), not a map; list maps only, and give "
        "particle stacks as inputs.particles"
    )


def test_a_listing_of_maps_still_reads(tmp_path):
    from maskrun.jobs.plan import plan_job

    write_mrc(tmp_path / "a.mrc", np.zeros((8, 8, 8)))
    write_mrc(tmp_path / "b.mrc", np.zeros((8, 8, 8)))
    (tmp_path / "maps.star").write_text("data_\nloop_\n_rlnImageName\na.mrc\nb.mrc\n")
    plan = plan_job(write_job(tmp_path, map_job("maps.star")))
    assert [info.path.name for info in plan.volume_set.maps] == ["a.mrc", "b.mrc"]


@pytest.fixture
def scipion(tmp_path):
    """A copy of the shared Scipion project: a SetOfParticles (10 images of extra/particles.mrcs) and a SetOfVolumes."""
    shutil.copytree(shared_path("data", "formats", "scipion", "project"), tmp_path / "project")
    return tmp_path / "project"


PARTICLE_SET = "Runs/000002_ProtImportParticles/particles.sqlite"


def test_a_scipion_particle_set_as_maps_is_refused_as_a_listing_of_images_is(scipion, capsys):
    """It was refused for its stack (``lists particles.mrcs, a stack of 10 particle images …``): right, but
    not the words a STAR or XMD listing of the same images gets."""
    job = write_job(scipion, map_job(PARTICLE_SET))
    line = validate_refuses(job, capsys)
    assert line == (
        f"maskrun validate: error: {scipion / PARTICLE_SET}: inputs.volumes: lists particle images (N@stack), not "
        "maps: item 1 is '1@Runs/000002_ProtImportParticles/extra/particles.mrcs', one image of the stack "
        "particles.mrcs; give it as inputs.particles"
    )
    (scipion / "Runs/000002_ProtImportParticles/extra/particles.mrcs").unlink()  # told before its stack is looked up
    assert validate_refuses(job, capsys) == line


@pytest.mark.parametrize("suffix", ["", ":mrcs"])
def test_a_scipion_volume_set_whose_items_point_into_a_stack_is_refused(scipion, capsys, suffix):
    """A SetOfVolumes whose items were 3@ and 4@ of a stack saved as .mrc was masked as two 64 x 64 x 10 maps, each
    the whole stack, both named parts.mrc; marked as a stack (``parts.mrc:mrcs``, as Scipion's Xmipp plugins write
    one), it was refused as "marked as a stack of images (:mrcs), not a map", not as a listing of images is."""
    folder = scipion / "Runs/000003_ProtImportVolumes"
    write_mrc(folder / "extra" / "parts.mrc", np.zeros((10, 64, 64), np.float32), stack=True)
    shutil.copy(folder / "volumes.sqlite", folder / "stacked.sqlite")
    parts = f"Runs/000003_ProtImportVolumes/extra/parts.mrc{suffix}"
    with sqlite3.connect(folder / "stacked.sqlite") as db:
        column = dict(db.execute("SELECT label_property, column_name FROM Classes").fetchall())
        db.execute(f"UPDATE Objects SET {column['_index']} = id + 2, {column['_filename']} = ?", (parts,))
    line = validate_refuses(write_job(scipion, map_job("Runs/000003_ProtImportVolumes/stacked.sqlite")), capsys)
    assert line == (
        f"maskrun validate: error: {folder / 'stacked.sqlite'}: inputs.volumes: lists particle images (N@stack), "
        f"not maps: item 1 is '3@{parts}', one image of the stack parts.mrc; give it as inputs.particles"
    )


def scipion_maps(folder, name: str, index: str, filename: str | None = None):
    """A copy of the shared SetOfVolumes (items 1 and 2: import_EMD-3197.map, import_phantom_20.mrc) as ``name``,
    its items' ``_index`` set to the SQL expression ``index`` (and ``_filename`` to ``filename``)."""
    runs = folder / "Runs/000003_ProtImportVolumes"
    shutil.copy(runs / "volumes.sqlite", runs / name)
    with sqlite3.connect(runs / name) as db:
        column = dict(db.execute("SELECT label_property, column_name FROM Classes").fetchall())
        db.execute(f"UPDATE Objects SET {column['_index']} = {index}")
        if filename is not None:
            db.execute(f"UPDATE Objects SET {column['_filename']} = ?", (filename,))
    return runs / name


def test_a_scipion_volume_set_of_single_maps_at_index_1_reads(scipion):
    """Scipion's Xmipp plugin writes ``vol.setLocation(1, "split_v1.vol")``: it was refused as "lists particle
    images (N@stack) … give it as inputs.particles". Each item is its file's map (written back as with ``_index``
    0: tests/formats/test_scipion.py)."""
    from maskrun.jobs.plan import plan_job

    listing = scipion_maps(scipion, "ones.sqlite", "1")
    plan = plan_job(write_job(scipion, map_job(str(listing.relative_to(scipion)))))
    assert [info.path.name for info in plan.volume_set.maps] == ["import_EMD-3197.map", "import_phantom_20.mrc"]
    assert plan.volume_set.set_ids == [1, 2]


def test_a_scipion_stack_of_maps_is_told_to_be_split_and_the_advice_does_not_loop(scipion, capsys):
    """Items 1@ and 2@ of an ispg 401 file marked :mrc were told "give it as inputs.particles", which then refused it
    as "marks classes.mrc as a map (:mrc) … mark it :mrcs": the stack of maps is told to be split, as before."""
    extra = "Runs/000003_ProtImportVolumes/extra"
    with mrcfile.new(scipion / extra / "classes.mrc") as mrc:
        mrc.set_data(np.zeros((2, 8, 8, 8), np.float32))  # 4D: ispg 401
    listing = scipion_maps(scipion, "classes.sqlite", "id", f"{extra}/classes.mrc:mrc")
    given = str(listing.relative_to(scipion))
    assert validate_refuses(write_job(scipion, map_job(given)), capsys) == (
        f"maskrun validate: error: {scipion / extra / 'classes.mrc'}: ispg 401 marks a stack of volumes, which "
        "maskrun does not read; split it into single maps"
    )
    as_particles = {**map_job(given), "inputs": {"particles": given}}
    as_particles["mask"] = {"source": "geometry", "geometry": {"shape": "circular", "radius": 2}}
    assert validate_refuses(write_job(scipion, as_particles), capsys) == (
        f"maskrun validate: error: {listing}: _filename: item 1: '1@{extra}/classes.mrc:mrc' marks classes.mrc as a "
        "map (:mrc), not a stack of particle images; if it holds the particles, mark it :mrcs (a stack) instead"
    )


@pytest.mark.parametrize(
    ("shape", "stack"),
    [((7, 40, 40), False), ((16, 16, 16), True), ((1, 16, 16), False)],
    ids=["ispg-1-volume-of-7-slices", "cube-marked-a-stack", "one-slice"],
)
def test_image_1_of_a_file_that_is_no_one_map_is_a_particle_image(tmp_path, capsys, shape, stack):
    """``1@empiar_10076_7.mrc`` (7 images of 320 x 320 saved as .mrc, ispg 1, as cryoDRGN's tests hold it) was masked
    as one 320 x 320 x 7 map, exit 0: image 1 is the map only of a file holding one, an MRC a cube unmarked as a
    stack (ispg 0, mz 1)."""
    write_mrc(tmp_path / "parts.mrc", np.zeros(shape, np.float32), stack=stack)
    (tmp_path / "maps.star").write_text("data_\nloop_\n_rlnImageName\n1@parts.mrc\n")
    line = validate_refuses(write_job(tmp_path, map_job("maps.star")), capsys)
    assert line.endswith(
        "maps.star: inputs.volumes: lists particle images (N@stack), not maps: row 1 is '1@parts.mrc', one image of "
        "the stack parts.mrc; give it as inputs.particles"
    )
