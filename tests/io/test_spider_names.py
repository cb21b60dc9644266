"""SPIDER files under any name, as a Scipion/Xmipp user holds them: read by their header wherever the name is not
MRC's, a stack or a volume as the header says (ISTACK), whatever the name (docs/spec.md, "Inputs")."""

from __future__ import annotations

import shutil

import mrcfile
import numpy as np
import pandas as pd
import pytest
import starfile

from maskrun.cli.main import main
from maskrun.engine.half_map_files import fitting_half_maps
from maskrun.engine.projected_masks import projection_header
from maskrun.errors import UserError
from maskrun.io.image_info import read_rows
from maskrun.io.images import inspect_image
from maskrun.jobs.runner import run_job

from conftest import SPIDER_WORDS, shared_path, write_mrc, write_spider
from job_files import validate_refuses, write_job

GOLD = ("xmipp_gold", "gold", "xmipp_continuous_create_residuals_01")
STACK = (*GOLD, "projections.stk")  # Xmipp's: 10 images of 64 x 64, ISTACK 2, MAXIM 10
CIRCLE = ["--shape", "circular", "--radius", "10"]
SPHERE = ["--shape", "sphere", "--radius", "10"]


def spider(*parts: str):
    return shared_path("data", "formats", "spider", *parts)


def copied(tmp_path, parts: tuple[str, ...], name: str):
    return shutil.copyfile(spider(*parts), tmp_path / name)


def expected(parts: tuple[str, ...]) -> np.ndarray:
    path = spider(*parts)
    return mrcfile.read(next(path.parent.glob(path.name + ".expected.mrc*")))


def mask(capsys, *argv) -> tuple[int, str, str]:
    status = main(["mask", *map(str, argv)])
    captured = capsys.readouterr()
    return status, captured.out.strip(), captured.err


def write_spider_volume(path, volume: np.ndarray):
    """``volume`` (nz, ny, nx) as a little-endian simple SPIDER file: IFORM 3, ISTACK 0."""
    nz, ny, nx = volume.shape
    labrec = -(-1024 // (4 * nx))
    header = np.zeros(labrec * nx, "<f4")
    fields = {"NZ": nz, "NY": ny, "IFORM": 3, "NX": nx, "LABREC": labrec, "LABBYT": 4 * labrec * nx}
    for name, value in fields.items():
        header[SPIDER_WORDS[name]] = value
    header[SPIDER_WORDS["LENBYT"]] = 4 * nx
    path.write_bytes(header.tobytes() + volume.astype("<f4").tobytes())
    return path


@pytest.mark.parametrize(
    "source,name,said",
    [
        (("mask.xmp",), "maskimg", "masked 1 image of 64 x 64"),  # Scipion's 2D mask, renamed
        (("AK.vol",), "AK", "masked a 64 x 64 x 64 volume"),
        (STACK, "proj.dat", "masked 10 images of 64 x 64"),  # SPIDER's own habit: a project extension
        (STACK, "proj.img", "masked 10 images of 64 x 64"),
    ],
)
def test_a_spider_file_without_a_spider_name_reads_by_its_header(tmp_path, capsys, source, name, said):
    """The look: these were read as MRC and refused with "ispg 1132462080 marks a stack of volumes"."""
    path = copied(tmp_path, source, name)
    info = inspect_image(path)
    assert info.format == "spider"
    truth = expected(source)
    assert read_rows(info, 0, info.shape_zyx[0]).reshape(truth.shape).tobytes() == truth.astype("<f4").tobytes()
    out, shape = (tmp_path / "o.mrc", SPHERE) if name == "AK" else (tmp_path / "o.mrcs", CIRCLE)
    assert mask(capsys, path, out, *shape) == (0, f"{said} -> {out}", "")


def test_an_mrc_file_under_another_name_still_reads_as_mrc(tmp_path):
    path = write_mrc(tmp_path / "map.dat", np.ones((8, 8, 8)))
    assert inspect_image(path).format == "mrc"


@pytest.mark.parametrize(
    "source,name,renamed",
    [(STACK, "proj.mrcs", "proj.stk"), (("AK.vol",), "AK.map", "AK.spi"), (("mask.xmp",), "mask.MRC", "mask.spi")],
)
def test_a_spider_file_under_an_mrc_name_is_refused_as_spider(tmp_path, capsys, source, name, renamed):
    path = copied(tmp_path, source, name)
    out = tmp_path / "o.mrc"
    status, printed, err = mask(capsys, path, out, *CIRCLE)
    assert status == 2 and printed == "" and not out.exists()
    assert err.splitlines() == [
        f"maskrun mask: error: {path}: is named as MRC, but its header is SPIDER's, not MRC's: a SPIDER file? "
        f"rename it {renamed}"
    ]


def test_a_spider_stack_named_spi_is_a_stack_as_its_header_says(tmp_path, capsys):
    """The look: a .spi of ISTACK 2, MAXIM 10 was masked as a 64 x 64 x 10 volume, with a note of MRC's ispg."""
    path = copied(tmp_path, STACK, "proj.spi")
    status, printed, err = mask(capsys, path, tmp_path / "s.mrcs", *SPHERE)
    assert status == 2 and printed == "" and "'sphere' is not a shape for particle images (2D); use 'circular'" in err
    assert mask(capsys, path, tmp_path / "o.mrcs", *CIRCLE) == (
        0,
        f"masked 10 images of 64 x 64 -> {tmp_path}/o.mrcs",
        "",
    )
    as_stk = copied(tmp_path, STACK, "proj.stk")
    assert mask(capsys, as_stk, tmp_path / "ref.mrcs", *CIRCLE)[0] == 0
    np.testing.assert_array_equal(mrcfile.read(tmp_path / "o.mrcs"), mrcfile.read(tmp_path / "ref.mrcs"))


def test_a_spider_volume_named_stk_is_a_volume_as_its_header_says(tmp_path, capsys):
    path = copied(tmp_path, ("AK.vol",), "AK.stk")
    out = tmp_path / "o.mrc"
    assert mask(capsys, path, out, *SPHERE) == (0, f"masked a 64 x 64 x 64 volume -> {out}", "")


def test_a_thin_spider_volume_is_noted_in_spider_terms(tmp_path, capsys):
    path = write_spider_volume(tmp_path / "thin.spi", np.ones((4, 16, 16)))
    status, printed, err = mask(capsys, path, tmp_path / "o.mrc", "--shape", "sphere", "--radius", "2")
    assert status == 0 and printed == f"masked a 16 x 16 x 4 volume -> {tmp_path}/o.mrc"
    assert err.splitlines() == [
        f"maskrun: note: {path}: read as a 16 x 16 x 4 volume, as its SPIDER header says (ISTACK 0, NZ 4); pass "
        "--input-kind stack if it is a stack of particle images"
    ]


@pytest.mark.parametrize("name", ["proj.stk", "proj.spi"])
def test_a_spider_stack_is_not_a_3d_map(tmp_path, name):
    """A .stk of 10 images was taken for a 64 x 64 x 10 map to project (only .mrcs was a stack there)."""
    path = copied(tmp_path, STACK, name)
    with pytest.raises(UserError, match="is not a 3D map; give the 3D mask to project"):
        projection_header(path)
    other = copied(tmp_path, STACK, "other.stk")
    with pytest.raises(UserError, match="is not a 3D map; give a half-map"):
        fitting_half_maps(path, other)


def test_a_spider_stack_written_as_mrc_keeps_its_pixel_size_in_z_as_an_mrc_stack_does(tmp_path, capsys):
    """The look: an MRC stack written from a SPIDER stack had cell z 0 (voxel size z 0), from an MRC stack 1.5."""
    images = np.random.default_rng(3).normal(size=(3, 16, 16))
    from_spider, from_mrc = tmp_path / "s.mrcs", tmp_path / "m.mrcs"
    assert mask(capsys, write_spider(tmp_path / "in.stk", images, pixel_size=1.5), from_spider, *CIRCLE)[0] == 0
    assert mask(capsys, write_mrc(tmp_path / "in.mrcs", images, voxel_size=1.5), from_mrc, *CIRCLE)[0] == 0
    with mrcfile.open(from_spider) as s, mrcfile.open(from_mrc) as m:
        assert s.voxel_size.tolist() == m.voxel_size.tolist() == (1.5, 1.5, 1.5)
        assert s.header.cella.tolist() == m.header.cella.tolist()


def test_a_bare_spider_stack_is_a_job_s_particles_as_a_bare_mrcs_is(tmp_path, capsys):
    """The look: inputs.particles: projections.stk was refused ("not '.stk'") though Xmipp programs take it."""
    copied(tmp_path, STACK, "projections.stk")
    job = {
        "version": 1,
        "name": "x",
        "inputs": {"particles": "projections.stk"},
        "mask": {"source": "geometry", "geometry": {"shape": "circular", "radius": 20}},
        "fill": {"with": "avg"},
        "batch_size": 10,
    }
    summary = run_job(write_job(tmp_path, job))
    star = starfile.read(summary.output_dir / "particles.star", always_dict=True)
    assert star["optics"]["rlnImageSize"].tolist() == [64]
    assert star["particles"]["rlnImageName"].tolist() == [f"{i:06d}@stacks/batch_00001.mrcs" for i in range(1, 11)]
    direct = tmp_path / "direct.mrcs"
    reference = spider(*GOLD, "projections.stk.expected.mrcs")
    assert mask(capsys, reference, direct, *CIRCLE[:2], "--radius", "20", "--fill", "avg")[0] == 0
    np.testing.assert_array_equal(
        mrcfile.read(summary.output_dir / "stacks" / "batch_00001.mrcs"), mrcfile.read(direct)
    )


@pytest.mark.parametrize(
    "source,name,said",
    [
        (
            ("AK.vol",),
            "AK.stk",
            "inputs.particles: is a SPIDER volume of 64 x 64 x 64 (its header: ISTACK 0), not a stack of particle "
            "images; give it as inputs.volumes",
        ),
        (
            STACK,
            "proj.spi",
            "particles must be a .star, .xmd, .cs, .sqlite, .mrcs or .stk file, not '.spi' (a SPIDER stack: rename it "
            "proj.stk)",
        ),
    ],
)
def test_a_spider_file_a_job_cannot_take_as_particles_says_what_to_do(tmp_path, capsys, source, name, said):
    path = copied(tmp_path, source, name)
    job = {
        "version": 1,
        "name": "x",
        "inputs": {"particles": name},
        "mask": {"source": "geometry", "geometry": {"shape": "circular", "radius": 20}},
    }
    assert validate_refuses(write_job(tmp_path, job), capsys) == f"maskrun validate: error: {path}: {said}"


def test_stacks_a_star_lists_under_a_project_extension_read_as_spider(tmp_path):
    copied(tmp_path, STACK, "proj.dat")
    names = [f"{i:06d}@proj.dat" for i in range(1, 11)]
    starfile.write({"particles": pd.DataFrame({"rlnImageName": names})}, tmp_path / "particles.star")
    job = {
        "version": 1,
        "name": "x",
        "inputs": {"particles": "particles.star"},
        "mask": {"source": "geometry", "geometry": {"shape": "circular", "radius": 20}},
        "batch_size": 10,
    }
    assert run_job(write_job(tmp_path, job)).items == 10
