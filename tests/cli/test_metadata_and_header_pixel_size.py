"""make-mask --like and mask given a metadata file, or a stack whose header pixel size is RELION's placeholder 1 Å."""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest

from maskrun.cli.main import main
from maskrun.formats.registry import PARTICLE_FORMATS
from maskrun.io.images import METADATA_SUFFIXES, inspect_image

from commands import digest
from conftest import shared_path, write_mrc

STAR = """
# version 30001

data_particles

loop_
_rlnImageName #1
_rlnCoordinateX #2
000001@stack.mrcs 100.0
000002@stack.mrcs 200.0
"""


def run(capsys, *argv):
    status = main([*map(str, argv)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err.strip().splitlines()


def refused(capsys, folder, *argv) -> str:
    """Exit 2, one stderr line (returned), nothing written."""
    before = digest(folder)
    status, _, err = run(capsys, *argv)
    assert status == 2 and len(err) == 1 and "Traceback" not in err[0], err
    assert digest(folder) == before
    return err[0]


def disc_radius_px(path) -> float:
    """The radius of a binary disc mask, from its area."""
    with mrcfile.open(path) as mrc:
        return float(np.sqrt(np.asarray(mrc.data).sum() / np.pi))


@pytest.fixture
def stack(tmp_path):
    return write_mrc(tmp_path / "stack.mrcs", np.zeros((2, 128, 128)), voxel_size=1.0)


def test_angstroms_at_a_1_angstrom_header_are_a_warning_naming_pixel_size(tmp_path, stack, capsys):
    out = tmp_path / "disc.mrc"
    status, _, err = run(capsys, "make-mask", out, "--shape", "circular", "--radius", "20 A", "--like", stack)
    assert status == 0 and disc_radius_px(out) == pytest.approx(20, abs=0.2)
    assert err == [
        f"maskrun: warning: {stack}: lengths in Å were converted at its header's 1 Å/px, the value many programs "
        "write when they do not know it (RELION in particle stacks); if that is not the pixel size, pass "
        "--pixel-size (Å per pixel) or give the lengths in pixels"
    ]


@pytest.mark.parametrize("options", [["--radius", "20 A", "--pixel-size", "2"], ["--radius", "10"]])
def test_no_warning_with_pixel_size_or_lengths_in_pixels(tmp_path, stack, capsys, options):
    out = tmp_path / "disc.mrc"
    status, _, err = run(capsys, "make-mask", out, "--shape", "circular", *options, "--like", stack, "--overwrite")
    assert status == 0 and err == [] and disc_radius_px(out) == pytest.approx(10, abs=0.2)


def test_angstroms_at_a_0_angstrom_header_are_refused(tmp_path, capsys):
    like = write_mrc(tmp_path / "zero.mrcs", np.zeros((2, 32, 32)), voxel_size=0.0)
    line = refused(
        capsys, tmp_path, "make-mask", tmp_path / "m.mrc", "--shape", "circular", "--radius", "5 A", "--like", like
    )
    assert "--radius: is given in Å, but the pixel size is unknown: pass --pixel-size" in line


def test_a_star_file_is_not_an_image_for_make_mask(tmp_path, capsys):
    star = tmp_path / "particles.star"
    star.write_text(STAR)
    argv = ("make-mask", tmp_path / "m.mrc", "--shape", "circular", "--radius", "5", "--like", star)
    line = refused(capsys, tmp_path, *argv)
    assert line == (
        f"maskrun make-mask: error: {star}: is a STAR metadata file, not an image; give the image or stack it lists"
    )


@pytest.mark.parametrize("suffix,kind", [(".star", "a STAR"), (".cs", "a cryoSPARC .cs"), (".xmd", "an Xmipp .xmd")])
def test_a_metadata_file_to_mask_points_to_its_stack_or_a_job(tmp_path, capsys, suffix, kind):
    metadata = tmp_path / f"particles{suffix}"
    metadata.write_bytes(STAR.encode() if suffix != ".cs" else b"\x93NUMPY\x01\x00" + bytes(200))
    line = refused(capsys, tmp_path, "mask", metadata, tmp_path / "o.mrcs", "--shape", "circular", "--radius", "5")
    assert line.startswith(f"maskrun mask: error: {metadata}: is {kind} metadata file, not an image; give the stack")
    assert f"run a job with inputs.particles: {metadata}" in line and "maskrun run JOB" in line


def test_metadata_misnamed_as_mrc_is_called_text(tmp_path, capsys):
    misnamed = tmp_path / "particles.mrc"
    misnamed.write_text(STAR * 40)  # longer than an MRC header
    line = refused(capsys, tmp_path, "mask", misnamed, tmp_path / "o.mrc", "--shape", "sphere", "--radius", "5")
    assert line == (
        f"maskrun mask: error: {misnamed}: is a text file, not an MRC image (metadata such as a STAR file?); "
        "give the image or stack itself"
    )


def test_every_particle_metadata_suffix_is_known_as_not_an_image():
    suffixes = {s for f in PARTICLE_FORMATS for s in f.SUFFIXES} - {".mrcs"}  # a bare stack is an image
    assert suffixes == set(METADATA_SUFFIXES)


def test_a_missing_metadata_file_is_missing(tmp_path):
    with pytest.raises(ValueError, match="file not found"):
        inspect_image(tmp_path / "gone.star")


def test_relion31_stack_header_and_star(tmp_path, capsys):
    stack = shared_path("data", "public", "relion31.mrcs")
    star = shared_path("data", "public", "relion31.star")
    out = tmp_path / "disc.mrc"
    argv = ("make-mask", out, "--shape", "circular", "--radius", "100 A", "--like", stack)
    status, _, err = run(capsys, *argv)
    assert status == 0 and any("--pixel-size" in line and "1 Å/px" in line for line in err)
    assert disc_radius_px(out) == pytest.approx(100, abs=0.3)
    status, _, err = run(capsys, *argv, "--pixel-size", "2.806", "--overwrite")
    assert status == 0 and not any("1 Å/px" in line for line in err)
    assert disc_radius_px(out) == pytest.approx(100 / 2.806, abs=0.3)
    line = refused(capsys, tmp_path, "mask", star, tmp_path / "o.mrcs", "--shape", "circular", "--radius", "50")
    assert f"{star}: is a STAR metadata file, not an image" in line


def disc_radius_in_stack(path) -> float:
    """The radius of the disc a stack of ones keeps, from its first image's area."""
    with mrcfile.open(path) as mrc:
        return float(np.sqrt((np.asarray(mrc.data[0]) > 0.5).sum() / np.pi))


def test_mask_converts_angstroms_at_its_pixel_size_and_writes_it(tmp_path, capsys):
    ones = write_mrc(tmp_path / "ones.mrcs", np.ones((2, 128, 128)), voxel_size=2.49)
    out = tmp_path / "out.mrcs"
    status, _, err = run(capsys, "mask", ones, out, "--shape", "circular", "--radius", "50 A", "--pixel-size", "2.5")
    assert status == 0 and err == [] and disc_radius_in_stack(out) == pytest.approx(20, abs=0.2)
    with mrcfile.open(out) as mrc:
        assert tuple(mrc.voxel_size.item()) == pytest.approx((2.5, 2.5, 2.5))
    zero = write_mrc(tmp_path / "zero.mrcs", np.ones((2, 128, 128)), voxel_size=0.0)  # no voxel size: it gives one
    status, _, err = run(
        capsys, "mask", zero, out, "--shape", "circular", "--radius", "50 A", "--pixel-size", "5", "--overwrite"
    )
    assert status == 0 and err == [] and disc_radius_in_stack(out) == pytest.approx(10, abs=0.2)


def test_mask_at_a_header_without_a_voxel_size_proposes_pixel_size(tmp_path, capsys):
    zero = write_mrc(tmp_path / "zero.mrcs", np.ones((2, 32, 32)), voxel_size=0.0)
    line = refused(capsys, tmp_path, "mask", zero, tmp_path / "o.mrcs", "--shape", "circular", "--radius", "5 A")
    assert line == (
        f"maskrun mask: error: --radius: is given in Å, but the pixel size is unknown (0 in the header of {zero}): "
        "pass --pixel-size (Å per pixel), or give it in pixels"
    )


@pytest.mark.parametrize("bad", ["0", "-2", "nan", "inf"])
def test_mask_refuses_a_pixel_size_that_is_no_size(tmp_path, stack, capsys, bad):
    line = refused(capsys, tmp_path, "mask", stack, tmp_path / "o.mrcs", "--shape", "circular", "--pixel-size", bad)
    assert line.startswith("maskrun mask: error: --pixel-size: must be a positive number of Å per pixel; got ")


def test_mask_of_relion31_particles_warns_of_the_1_angstrom_header(tmp_path, capsys):
    """The RELION user's case: 100 Å at the stack header's 1 Å/px was 100 px with a note only."""
    stack = shared_path("data", "public", "relion31.mrcs")
    out = tmp_path / "out.mrcs"
    argv = ("mask", stack, out, "--shape", "circular", "--radius", "100 A", "--soft-edge", "6", "--fill", "avg")
    status, _, err = run(capsys, *argv)
    assert status == 0
    assert f"maskrun: warning: {stack}: lengths in Å were converted at its header's 1 Å/px" in "\n".join(err)
    assert "pass --pixel-size (Å per pixel)" in "\n".join(err)
    status, _, err = run(capsys, *argv, "--pixel-size", "2.806", "--overwrite")
    assert status == 0 and not any("warning" in line for line in err)
    assert f"maskrun: note: {stack}: its header gives 1 Å/px, but --pixel-size 2.806; 2.806 Å/px is used" in "\n".join(
        err
    )
    with mrcfile.open(out) as mrc:
        assert mrc.voxel_size.x == pytest.approx(2.806)


def test_mask_warns_of_a_pixel_size_that_replaces_a_real_header_one(tmp_path, capsys):
    """A header's 2 Å/px replaced by 2.5 is a warning naming both; its 1 Å/px placeholder a note; 1 % apart nothing."""
    two = write_mrc(tmp_path / "two.mrcs", np.ones((2, 32, 32)), voxel_size=2.0)
    out = tmp_path / "out.mrcs"
    status, _, err = run(capsys, "mask", two, out, "--shape", "circular", "--pixel-size", "2.5")
    assert status == 0 and err == [
        f"maskrun: warning: {two}: its header gives 2 Å/px, but --pixel-size 2.5; 2.5 Å/px is used, and written to "
        "the output"
    ]
    status, _, err = run(capsys, "mask", two, out, "--shape", "circular", "--pixel-size", "2.01", "--overwrite")
    assert status == 0 and err == []
    one = write_mrc(tmp_path / "one.mrcs", np.ones((2, 32, 32)), voxel_size=1.0)
    status, _, err = run(capsys, "mask", one, out, "--shape", "circular", "--pixel-size", "2.5", "--overwrite")
    assert status == 0 and err == [
        f"maskrun: note: {one}: its header gives 1 Å/px, but --pixel-size 2.5; 2.5 Å/px is used, and written to "
        "the output"
    ]


def test_the_api_takes_the_pixel_size_too(tmp_path):
    from maskrun import MaskrunWarning, mask_file

    ones = write_mrc(tmp_path / "ones.mrcs", np.ones((2, 64, 64)), voxel_size=1.0)
    with pytest.warns(MaskrunWarning, match=r"converted at its header's 1 Å/px.*pass pixel_size \(Å per pixel\)"):
        mask_file(ones, tmp_path / "a.mrcs", mask={"shape": "circular", "radius": "20 A"})
    mask_file(ones, tmp_path / "b.mrcs", mask={"shape": "circular", "radius": "40 A"}, pixel_size=4.0)
    assert disc_radius_in_stack(tmp_path / "b.mrcs") == pytest.approx(10, abs=0.2)
    with pytest.raises(ValueError, match="pixel_size: must be a positive number"):
        mask_file(ones, tmp_path / "c.mrcs", mask={"shape": "circular"}, pixel_size=-1.0)
