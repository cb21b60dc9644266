"""make-mask --like and mask given a metadata file, or a stack whose header pixel size is RELION's placeholder 1 Å."""

from __future__ import annotations

from pathlib import Path

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


def test_angstroms_at_a_stacks_1_angstrom_header_are_refused_as_maskrun_mask_refuses_them(tmp_path, stack, capsys):
    """make-mask --like a stack only warned, and wrote a 20 px disc for 20 Å of particles at 2.8 Å/px, where
    maskrun mask refuses the radius on the same stack: the same refusal, by the same code."""
    argv = ("--shape", "circular", "--radius", "20 A")
    made = refused(capsys, tmp_path, "make-mask", tmp_path / "disc.mrc", *argv, "--like", stack)
    masked = refused(capsys, tmp_path, "mask", stack, tmp_path / "o.mrcs", *argv)
    assert made.removeprefix("maskrun make-mask: error: ") == masked.removeprefix("maskrun mask: error: ")
    assert masked == (
        f"maskrun mask: error: --radius: is given in Å, but the only pixel size of {stack} is its header's 1 Å/px, "
        "the placeholder RELION writes in particle stacks: pass --pixel-size (Å per pixel), or give it in pixels"
    )


def test_angstroms_at_a_maps_1_angstrom_header_are_a_warning_naming_pixel_size(tmp_path, capsys):
    """A map's 1 Å/px is warned of, as maskrun mask warns of it."""
    like = write_mrc(tmp_path / "map.mrc", np.zeros((48, 48, 48)), voxel_size=1.0)
    out = tmp_path / "ball.mrc"
    status, _, err = run(capsys, "make-mask", out, "--shape", "sphere", "--radius", "20 A", "--like", like)
    assert status == 0 and out.exists()
    assert err == [  # one line: the note of the 1 Å/px the mask records is in it
        f"maskrun: warning: {like}: lengths in Å were converted at its header's 1 Å/px, the placeholder RELION "
        "writes in particle stacks (and many programs when they do not know it), and the mask records it; if that "
        "is not the pixel size, give --like the particle set (.star/.cs: it carries the optics' pixel size) or "
        "--pixel-size (Å per pixel), or give the lengths in pixels"
    ]
    status, _, err = run(capsys, "mask", like, tmp_path / "o.mrc", "--shape", "sphere", "--radius", "20 A")
    assert status == 0 and len(err) == 1 and err[0].startswith(f"maskrun: warning: {like}: lengths in Å were")


def test_no_warning_with_pixel_size(tmp_path, stack, capsys):
    out = tmp_path / "disc.mrc"
    options = ["--radius", "20 A", "--pixel-size", "2"]
    status, _, err = run(capsys, "make-mask", out, "--shape", "circular", *options, "--like", stack)
    assert status == 0 and err == [] and disc_radius_px(out) == pytest.approx(10, abs=0.2)
    with mrcfile.open(out) as mrc:
        assert mrc.voxel_size.x == pytest.approx(2.0)


@pytest.mark.parametrize("name,shape", [("stack.mrcs", "circular"), ("map.mrc", "sphere")])
def test_lengths_in_pixels_like_a_1_angstrom_header_are_a_note_that_the_mask_records_it(tmp_path, capsys, name, shape):
    """RELION's placeholder went silently into the mask, which a job of the particles (2.806 Å/px) then refused."""
    like = write_mrc(tmp_path / name, np.zeros((2 if shape == "circular" else 32, 32, 32)), voxel_size=1.0)
    out = tmp_path / "disc.mrc"
    status, _, err = run(capsys, "make-mask", out, "--shape", shape, "--radius", "10", "--like", like)
    assert status == 0 and err == [
        f"maskrun: note: {like}: its header gives 1 Å/px, the placeholder RELION writes in particle stacks (and many "
        "programs when they do not know it), and the mask records it; if that is not the pixel size, give --like the "
        "particle set (.star/.cs: it carries the optics' pixel size) or --pixel-size (Å per pixel)"
    ]
    with mrcfile.open(out) as mrc:
        assert mrc.voxel_size.x == 1.0


def test_no_note_like_a_header_of_another_pixel_size(tmp_path, capsys):
    like = write_mrc(tmp_path / "stack.mrcs", np.zeros((2, 32, 32)), voxel_size=1.01)
    status, _, err = run(
        capsys, "make-mask", tmp_path / "d.mrc", "--shape", "circular", "--radius", "10", "--like", like
    )
    assert status == 0 and err == []


def test_angstroms_at_a_0_angstrom_header_are_refused(tmp_path, capsys):
    like = write_mrc(tmp_path / "zero.mrcs", np.zeros((2, 32, 32)), voxel_size=0.0)
    line = refused(
        capsys, tmp_path, "make-mask", tmp_path / "m.mrc", "--shape", "circular", "--radius", "5 A", "--like", like
    )
    assert line == (  # maskrun mask's words
        f"maskrun make-mask: error: --radius: is given in Å, but the pixel size is unknown (0 in the header of "
        f"{like}): pass --pixel-size (Å per pixel), or give it in pixels"
    )


def optics_star(folder, sizes, boxes=None) -> Path:
    """A RELION 3.1 STAR of two particles per optics group, of ``sizes`` Å/px; stacks of ``boxes`` px (64)."""
    boxes = boxes or [64] * len(sizes)
    optics = "".join(f"{g + 1} og{g + 1} {size} {box} 2\n" for g, (size, box) in enumerate(zip(sizes, boxes)))
    rows = ""
    for g, box in enumerate(boxes):
        write_mrc(folder / f"g{g + 1}.mrcs", np.zeros((2, box, box)), voxel_size=1.0)
        rows += "".join(f"{i:06d}@g{g + 1}.mrcs {g + 1}\n" for i in (1, 2))
    star = folder / "particles.star"
    star.write_text(
        "data_optics\nloop_\n_rlnOpticsGroup\n_rlnOpticsGroupName\n_rlnImagePixelSize\n_rlnImageSize\n"
        f"_rlnImageDimensionality\n{optics}\ndata_particles\nloop_\n_rlnImageName\n_rlnOpticsGroup\n{rows}"
    )
    return star


def test_make_mask_like_a_star_takes_its_images_box_and_its_optics_pixel_size(tmp_path, capsys):
    star = optics_star(tmp_path, [2.5])
    out = tmp_path / "disc.mrc"
    status, _, err = run(capsys, "make-mask", out, "--shape", "circular", "--radius", "50 A", "--like", star)
    assert status == 0 and err == []  # the stacks' 1 Å/px header is not the pixel size: the optics' is
    assert disc_radius_px(out) == pytest.approx(20, abs=0.2)
    with mrcfile.open(out) as mask:
        assert mask.data.shape == (64, 64) and mask.voxel_size.x == pytest.approx(2.5)


@pytest.mark.parametrize("suffix", [".xmd", ".sqlite", ".cs"])
def test_make_mask_like_any_particle_set_maskrun_reads(tmp_path, capsys, suffix):
    """Xmipp, Scipion and cryoSPARC sets, written by ``maskrun example particles --format``."""
    fmt = suffix.lstrip(".")
    assert main(["example", "particles", "--write", str(tmp_path / "ex"), "--format", fmt]) == 0
    capsys.readouterr()
    (listing,) = (tmp_path / "ex").glob(f"*{suffix}")
    out = tmp_path / "disc.mrc"
    status, _, err = run(capsys, "make-mask", out, "--shape", "circular", "--radius", "10", "--like", listing)
    assert status == 0, err
    with mrcfile.open(out) as mask, mrcfile.open(next((tmp_path / "ex").rglob("*.mrcs"))) as stack:
        assert mask.data.shape == stack.data.shape[1:] and mask.voxel_size.x > 0


def test_make_mask_like_a_star_of_several_pixel_sizes_is_refused_naming_them(tmp_path, capsys):
    star = optics_star(tmp_path, [2.806, 1.403])
    argv = ("make-mask", tmp_path / "m.mrc", "--shape", "circular", "--radius", "10", "--like", star)
    assert refused(capsys, tmp_path, *argv) == (
        f"maskrun make-mask: error: {star}: --like: its optics groups have different pixel sizes (2.806 Å in optics "
        "group 1 'og1', 1.403 Å in optics group 2 'og2'), and a mask has one; give a set of one pixel size, or the "
        "one to record with --pixel-size"
    )
    status, _, err = run(capsys, *argv, "--pixel-size", "1.403")
    assert status == 0 and err == []
    with mrcfile.open(tmp_path / "m.mrc") as mask:
        assert mask.voxel_size.x == pytest.approx(1.403)


@pytest.mark.parametrize("like", ["map", "star"])
def test_make_mask_like_a_file_of_another_pixel_size_warns_naming_both_and_the_one_used(tmp_path, capsys, like):
    """--pixel-size replaced the map's header voxel size, or the set's optics pixel size, without a word."""
    if like == "map":
        source = write_mrc(tmp_path / "map.mrc", np.zeros((16, 16, 16)), voxel_size=2.0)
        its = "its header gives 2 Å/px"
    else:
        source, its = optics_star(tmp_path, [2.5]), "its particles' pixel size is 2.5 Å/px"
    shape = "sphere" if like == "map" else "circular"  # a 2D shape --like a map is refused
    argv = ("make-mask", tmp_path / "m.mrc", "--shape", shape, "--radius", "4", "--like", source)
    status, _, err = run(capsys, *argv, "--pixel-size", "1.5")
    assert status == 0 and err == [
        f"maskrun: warning: {source}: {its}, but --pixel-size 1.5; 1.5 Å/px is used, and written to the output"
    ]
    with mrcfile.open(tmp_path / "m.mrc") as mask:
        assert mask.voxel_size.x == pytest.approx(1.5)
    status, _, err = run(capsys, *argv, "--pixel-size", "2.51" if like == "star" else "2.01", "--overwrite")
    assert status == 0 and err == []  # within 1 %: the same pixel size


def test_make_mask_like_a_star_of_several_boxes_is_refused_naming_them(tmp_path, capsys):
    """By their optics groups, which the boxes follow here (the stacks are named when they do not)."""
    star = optics_star(tmp_path, [2.0, 2.0], boxes=[64, 96])
    line = refused(capsys, tmp_path, "make-mask", tmp_path / "m.mrc", "--shape", "circular", "--like", star)
    assert line == (
        f"maskrun make-mask: error: {star}: optics groups have different box sizes (optics group 1 'og1' is 64 x 64 "
        "px, optics group 2 'og2' 96 x 96); give a set of one box size, splitting the set by optics group: "
        "relion_star_handler --i particles.star --o particles_og2.star --select rlnOpticsGroup --minval 2 --maxval 2"
    )


def test_the_relion_users_mask_like_the_star_fits_the_job_of_that_star(tmp_path, capsys):
    """06_pixmismatch: a disc made --like the stack (1 Å/px header) did not fit a job of its STAR (2.806 Å/px)."""
    for name in ("relion31.star", "relion31.mrcs"):
        (tmp_path / name).write_bytes(shared_path("data", "public", name).read_bytes())
    disc = tmp_path / "disc.mrc"
    status, _, err = run(capsys, "make-mask", disc, "--shape", "circular", "--radius", "100 A", "--soft-edge", "6",
                         "--like", tmp_path / "relion31.star")  # fmt: skip
    assert status == 0 and not [line for line in err if "warning" in line]
    assert disc_radius_px(disc) == pytest.approx(100 / 2.806 + 3, abs=0.5)  # a soft edge counts half its width
    job = tmp_path / "job.yaml"
    job.write_text(
        "version: 1\nname: filemask\ninputs: {particles: relion31.star}\nmask: {source: file, file: disc.mrc}\n"
    )
    assert main(["validate", str(job)]) == 0


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
    suffixes = {s for f in PARTICLE_FORMATS for s in f.SUFFIXES} - {".mrcs", ".stk"}  # a bare stack is an image
    assert suffixes == set(METADATA_SUFFIXES)


def test_a_missing_metadata_file_is_missing(tmp_path):
    with pytest.raises(ValueError, match="file not found"):
        inspect_image(tmp_path / "gone.star")


def test_relion31_stack_header_and_star(tmp_path, capsys):
    stack = shared_path("data", "public", "relion31.mrcs")
    star = shared_path("data", "public", "relion31.star")
    out = tmp_path / "disc.mrc"
    argv = ("make-mask", out, "--shape", "circular", "--radius", "100 A", "--like", stack)
    line = refused(capsys, tmp_path, *argv)
    assert "--pixel-size" in line and "1 Å/px" in line
    status, _, err = run(capsys, *argv, "--pixel-size", "2.806")
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


def test_mask_of_relion31_particles_refuses_lengths_in_angstrom_at_the_1_angstrom_header(tmp_path, capsys):
    """The RELION user's case: 100 Å at the stack header's 1 Å/px was 100 px with a note only; then with a warning
    and exit 0, where a job refused it (a new user's look): refused, as a job does."""
    stack = shared_path("data", "public", "relion31.mrcs")
    out = tmp_path / "out.mrcs"
    argv = ("mask", stack, out, "--shape", "circular", "--radius", "100 A", "--soft-edge", "6", "--fill", "avg")
    status, _, err = run(capsys, *argv)
    assert status == 2 and not out.exists()
    assert f"is given in Å, but the only pixel size of {stack} is its header's 1 Å/px" in "\n".join(err)
    assert "pass --pixel-size (Å per pixel)" in "\n".join(err)
    status, _, err = run(capsys, *argv, "--pixel-size", "2.806")
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
    from maskrun import mask_file

    ones = write_mrc(tmp_path / "ones.mrcs", np.ones((2, 64, 64)), voxel_size=1.0)
    with pytest.raises(ValueError, match=r"its header's 1 Å/px, the placeholder .*pass pixel_size \(Å per pixel\)"):
        mask_file(ones, tmp_path / "a.mrcs", mask={"shape": "circular", "radius": "20 A"})
    mask_file(ones, tmp_path / "b.mrcs", mask={"shape": "circular", "radius": "40 A"}, pixel_size=4.0)
    assert disc_radius_in_stack(tmp_path / "b.mrcs") == pytest.approx(10, abs=0.2)
    with pytest.raises(ValueError, match="pixel_size: must be a positive number"):
        mask_file(ones, tmp_path / "c.mrcs", mask={"shape": "circular"}, pixel_size=-1.0)


def test_a_mask_file_over_a_1_angstrom_header_proposes_the_masks_pixel_size_first(tmp_path, stack, capsys):
    """A RELION user's look: a disc made --like the STAR (2.806 Å/px from its optics) was refused for the stack's
    1 Å/px header with "make it again at 1 Å/px or set 1 Å in its header", which breaks a correct mask."""
    disc = write_mrc(tmp_path / "disc.mrc", np.ones((1, 128, 128)), voxel_size=2.806, stack=False)
    out = tmp_path / "o.mrcs"
    line = refused(capsys, tmp_path, "mask", stack, out, "--mask-file", disc)
    assert line == (
        f"maskrun mask: error: {disc}: --mask-file: mask voxel size 2.806 Å differs from the images' 1 Å, which "
        "their header gives: the value RELION writes in particle stacks whatever the pixel size; if 2.806 Å is the "
        "images' pixel size, pass --pixel-size 2.806, else resample the mask to the images' pixel size"
    )
    status, _, err = run(capsys, "mask", stack, out, "--mask-file", disc, "--pixel-size", "2.806")
    assert status == 0 and out.exists() and not any("warning" in line for line in err)
    with pytest.raises(ValueError, match=r"pass pixel_size=2\.806, else resample the mask"):
        from maskrun import mask_file

        mask_file(stack, tmp_path / "api.mrcs", mask=disc)
    assert not (tmp_path / "api.mrcs").exists()


def test_a_mask_file_over_a_real_header_size_or_a_given_one_keeps_the_header_fixes(tmp_path, stack, capsys):
    """Only a header's 1 Å/px is taken for the placeholder: --pixel-size 1.5 given, or a header's 1.5, is the size."""
    disc = write_mrc(tmp_path / "disc.mrc", np.ones((1, 128, 128)), voxel_size=2.806, stack=False)
    real = write_mrc(tmp_path / "real.mrcs", np.zeros((2, 128, 128)), voxel_size=1.5)
    for argv in ((stack, "--pixel-size", "1.5"), (real,)):
        line = refused(capsys, tmp_path, "mask", argv[0], tmp_path / "o.mrcs", "--mask-file", disc, *argv[1:])
        assert line.endswith("make it again at 1.5 Å/px (maskrun make-mask's pixel size) or set 1.5 Å in its header")


def test_make_mask_like_a_set_whose_stacks_are_missing_proposes_what_make_mask_takes(tmp_path, capsys):
    """A look at the new features: the fix offered was a job's inputs.project_dir, which make-mask has no option for."""
    listing = shared_path("data", "public", "cryosparc_P12_J24_001_particles.cs")  # its stacks are not shipped
    out = tmp_path / "disc.mrc"
    status, _, (err,) = run(capsys, "make-mask", out, "--shape", "circular", "--radius", "10", "--like", listing)
    assert status == 2 and "not found" in err and not out.exists()
    assert err.endswith(
        "; finding it needs the cryoSPARC project folder (the one holding J19/), and make-mask takes none: give "
        "--like one of its stacks, or a map of the particles' box"
    )


def test_make_mask_like_a_passthrough_proposes_its_particles_as_like(tmp_path, capsys):
    """Its fix was a job's "as the particles, and this one as inputs.passthrough", rewritten by make-mask."""
    from pose_sets import random_poses, write_cs

    records = np.load(write_cs(tmp_path, random_poses(2), 16))
    with open(tmp_path / "J7_particles.cs", "wb") as file:
        np.save(file, records[["uid", "blob/path", "blob/idx"]])
    with open(tmp_path / "J7_passthrough_particles.cs", "wb") as file:
        np.save(file, records[["uid", "alignments3D/pose"]])
    like = tmp_path / "J7_passthrough_particles.cs"
    line = refused(capsys, tmp_path, "make-mask", tmp_path / "m.mrc", "--shape", "circular", "--like", like)
    assert line.endswith("it is a passthrough: give J7_particles.cs (with the blob slot) as --like")


def test_make_mask_like_an_xmd_naming_itself_proposes_what_make_mask_takes(tmp_path, capsys):
    """The column to mask is a job's inputs.image_column, which make-mask has no option for."""
    write_mrc(tmp_path / "projections.mrcs", np.zeros((2, 16, 16)))
    rows = "".join(f"{i:06d}@output.xmd {i:06d}@projections.mrcs\n" for i in (1, 2))
    xmd = tmp_path / "output.xmd"
    xmd.write_text(f"# XMIPP_STAR_1 *\n#\ndata_noname\nloop_\n _image\n _imageRef\n{rows}")
    line = refused(capsys, tmp_path, "make-mask", tmp_path / "m.mrc", "--shape", "circular", "--like", xmd)
    assert line == (
        f"maskrun make-mask: error: {xmd}: _image: names output.xmd itself, an Xmipp .xmd metadata file, not an "
        "image stack; the images to mask are in another column (image columns here: _imageRef), and make-mask takes "
        "none: give --like one of its stacks, or a map of the particles' box"
    )


def test_an_expressions_length_in_angstrom_at_a_stacks_1_angstrom_is_refused_too(tmp_path):
    """The review: the refusal looked at mask.geometry only; an expression's term of 20 Å on a 1 Å/px stack made a
    20 px disc, without a word."""
    from maskrun import mask_file
    from maskrun.config.mask_spec import MaskSpec

    ones = write_mrc(tmp_path / "ones.mrcs", np.ones((2, 64, 64)), voxel_size=1.0)
    spec = MaskSpec(source="expression", expression={"all_of": [{"geometry": {"shape": "circular", "radius": "20 A"}}]})
    with pytest.raises(
        ValueError, match=r"expression\.all_of\.0\.geometry\.radius.*its header's 1 Å/px, the placeholder"
    ):
        mask_file(ones, tmp_path / "a.mrcs", mask=spec)
    assert not (tmp_path / "a.mrcs").exists()


def test_make_mask_like_a_set_of_no_pixel_size_but_its_stacks_1_angstrom_refuses_angstrom(tmp_path, capsys, stack):
    """A fixer's leftover: make-mask --like a RELION 3.0 STAR without a pixel size, over stacks whose headers say 1
    Å/px, only warned and wrote a disc of 20 px for 20 Å; a job on the same set refuses the length. So does
    make-mask now, in one line; in pixels, or with --pixel-size, the mask is made."""
    star = tmp_path / "particles.star"
    star.write_text(STAR)
    disc = tmp_path / "disc.mrc"
    line = refused(capsys, tmp_path, "make-mask", disc, "--shape", "circular", "--radius", "20 A", "--like", star)
    assert line.startswith(f"maskrun make-mask: error: {star}: --radius: is given in Å, but the particles' RELION STAR")
    assert "stack header's 1 Å/px" in line and line.endswith("pass --pixel-size (Å per pixel), or give it in pixels")
    status, _, _ = run(
        capsys, "make-mask", disc, "--shape", "circular", "--radius", "20 A", "--like", star, "--pixel-size", "2"
    )
    assert status == 0 and disc_radius_px(disc) == pytest.approx(10, abs=0.2)
    status, _, err = run(
        capsys, "make-mask", disc, "--shape", "circular", "--radius", "20", "--like", star, "--overwrite"
    )
    assert status == 0 and err == [] and disc_radius_px(disc) == pytest.approx(20, abs=0.2)
