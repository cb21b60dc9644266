"""``maskrun project-mask`` without the particles' stacks: relion_project --ang needs only the STAR and the map, so
the box and pixel size come from the metadata (else the 3D mask), the masks the same bytes as with the stacks."""

from __future__ import annotations

import subprocess

import mrcfile
import numpy as np
import pytest

from maskrun.cli.main import main

from conftest import write_mrc
from pose_sets import PIXEL, RELION_PROJECT, WRITERS, float32_poses, random_poses, soft_ellipsoid, write_star31

BOX = 48


@pytest.fixture
def folder(tmp_path):
    write_mrc(tmp_path / "mask.mrc", soft_ellipsoid(BOX), voxel_size=PIXEL)
    return tmp_path


def project(folder, particles, out: str, *options: str) -> bytes:
    """The bytes of the masks ``project-mask`` writes to ``folder/out``."""
    assert main(["project-mask", str(folder / "mask.mrc"), str(particles), str(folder / out), *options]) == 0
    return (folder / out).read_bytes()


def without_stacks(folder) -> None:
    (folder / "particles.mrcs").rename(folder / "elsewhere.mrcs")  # the writers' one stack, named so in the sets


def said_besides_the_cut(capsys) -> list[str]:
    """stderr's lines but the warning that the box cuts the masks (the test's ellipsoid, off-centre, reaches the box
    edge at many poses)."""
    return [line for line in capsys.readouterr().err.splitlines() if "reach the box edge" not in line]


def note_of(capsys) -> str:
    err = said_besides_the_cut(capsys)
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("name", ["star31", "cs", "sqlite", "xmd", "star30"])
@pytest.mark.parametrize("raw", [False, True])
def test_masks_without_the_stacks_are_the_bytes_made_with_them(folder, capsys, name, raw):
    particles = WRITERS[name](folder, float32_poses(random_poses(12, seed=3)), BOX)
    options = ["--raw"] if raw else ["--soft-edge", "3"]
    present = project(folder, particles, "with.mrcs", *options)
    assert said_besides_the_cut(capsys) == []  # every stack found: as before, nothing to say
    without_stacks(folder)
    assert project(folder, particles, "without.mrcs", *options) == present
    note = note_of(capsys)
    box_from = {"star31": "rlnImageSize", "cs": "blob/shape"}.get(name, "the 3D mask")
    assert note.startswith(f"maskrun: note: {particles}: its stack {folder / 'particles.mrcs'} is not found ")
    assert "(--project-dir finds it elsewhere): " in note
    assert f"projected without it, the box ({BOX} x {BOX}) from {box_from}, the pixel size (1.5 Å) from " in note


def test_without_image_size_or_stacks_the_mask_gives_the_box_and_the_pixel_size(folder, capsys):
    """A STAR whose optics block has neither rlnImageSize nor rlnImagePixelSize: N³ gives N x N, as relion_project
    takes it, and the mask's voxel size reads the origins in Å (with the stacks, their header did)."""
    star = write_star31(folder, random_poses(5, seed=4), BOX)
    text = star.read_text().replace("_rlnImagePixelSize #2\n_rlnImageSize #3\n", "")
    star.write_text(text.replace(f"1 {PIXEL} {BOX} 2 300", "1 2 300"))
    present = project(folder, star, "with.mrcs", "--raw")
    without_stacks(folder)
    assert project(folder, star, "without.mrcs", "--raw") == present
    with mrcfile.open(folder / "without.mrcs") as mrc:
        assert mrc.data.shape == (5, BOX, BOX) and mrc.voxel_size.x == pytest.approx(PIXEL)
    note = note_of(capsys)
    assert f"the box ({BOX} x {BOX}) from the 3D mask, the pixel size (1.5 Å) from the 3D mask's header" in note


def test_a_cs_without_blob_shape_or_stacks_takes_the_mask_box(folder, capsys):
    from numpy.lib.recfunctions import drop_fields

    cs = WRITERS["cs"](folder, float32_poses(random_poses(4, seed=8)), BOX)
    present = project(folder, cs, "with.mrcs")
    records = drop_fields(np.load(cs), "blob/shape", usemask=False)
    with open(cs, "wb") as file:
        np.save(file, records)
    without_stacks(folder)
    assert project(folder, cs, "without.mrcs") == present
    assert f"the box ({BOX} x {BOX}) from the 3D mask, the pixel size (1.5 Å) from blob/psize_A" in note_of(capsys)


def refused(folder, capsys, mask, particles) -> str:
    before = sorted(p.name for p in folder.iterdir())
    assert main(["project-mask", str(mask), str(particles), str(folder / "new.mrcs")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written
    return lines[0]


def test_a_mask_of_another_box_than_rlnimagesize_is_refused_naming_both(folder, capsys):
    star = write_star31(folder, random_poses(3), BOX)
    without_stacks(folder)
    write_mrc(folder / "small.mrc", np.zeros((32, 32, 32), np.float32), voxel_size=PIXEL)
    line = refused(folder, capsys, folder / "small.mrc", star)
    assert line == (
        f"maskrun project-mask: error: {folder / 'small.mrc'}: MASK3D: is 32 x 32 x 32 but the particles are "
        f"{BOX} x {BOX} (rlnImageSize in p31.star): give a 3D mask of the particles' box ({BOX} x {BOX} x {BOX}; "
        "resample or re-box it, with relion_image_handler say)"
    )


def test_a_mask_that_is_no_cube_is_refused_when_it_gives_the_box(folder, capsys):
    star = write_star31(folder, random_poses(3), BOX)
    star.write_text(star.read_text().replace("_rlnImageSize", "_rlnImageSizeOfAnother"))
    without_stacks(folder)
    write_mrc(folder / "slab.mrc", np.zeros((40, BOX, BOX), np.float32), voxel_size=PIXEL)
    line = refused(folder, capsys, folder / "slab.mrc", star)
    assert line.endswith(
        f"slab.mrc: MASK3D: is {BOX} x {BOX} x 40, not a cube; give a 3D mask of the particles' box (N x N x N)"
    )


def test_with_the_stacks_their_box_is_used_and_checked_as_before(folder, capsys):
    """Stacks present: their box, not rlnImageSize's, is the particles' (a mask of rlnImageSize's box is refused)."""
    star = write_star31(folder, random_poses(3), BOX)
    star.write_text(star.read_text().replace(f"1 {PIXEL} {BOX} 2", f"1 {PIXEL} 32 2"))
    write_mrc(folder / "small.mrc", np.zeros((32, 32, 32), np.float32), voxel_size=PIXEL)
    line = refused(folder, capsys, folder / "small.mrc", star)
    assert f"is 32 x 32 x 32 but the particles are {BOX} x {BOX}: give" in line  # the stacks' box, no rlnImageSize
    assert len(np.frombuffer(project(folder, star, "out.mrcs"), np.uint8)) == 1024 + 3 * BOX * BOX * 4


def test_some_stacks_absent_reads_the_set_without_any(folder, capsys):
    """One stack of two absent: none is read (the box is the metadata's), and the note counts them."""
    star = write_star31(folder, random_poses(4, seed=2), BOX)
    present = project(folder, star, "with.mrcs", "--raw")
    write_mrc(folder / "second.mrcs", np.zeros((4, BOX, BOX), np.float32), voxel_size=PIXEL)
    lines = star.read_text().splitlines()
    lines[-2:] = [line.replace("@particles.mrcs", "@second.mrcs") for line in lines[-2:]]
    star.write_text("\n".join(lines) + "\n")
    assert project(folder, star, "both.mrcs", "--raw") == present  # both found: read as before
    capsys.readouterr()
    (folder / "second.mrcs").unlink()
    assert project(folder, star, "one.mrcs", "--raw") == present
    note = note_of(capsys)
    first = folder / "second.mrcs"
    assert f"1 of its 2 stacks are not found ({first} first; --project-dir finds them elsewhere): projected " in note


@pytest.mark.parametrize("several", [False, True])
def test_stacks_that_are_broken_links_are_named_as_such_not_as_not_found(folder, capsys, several):
    """--project-dir finds nothing elsewhere for a stack whose link is here: the note says what is wrong with it."""
    star = write_star31(folder, random_poses(4, seed=2), BOX)
    if several:
        write_mrc(folder / "second.mrcs", np.zeros((4, BOX, BOX), np.float32), voxel_size=PIXEL)
        lines = star.read_text().splitlines()
        lines[-2:] = [line.replace("@particles.mrcs", "@second.mrcs") for line in lines[-2:]]
        star.write_text("\n".join(lines) + "\n")
    present = project(folder, star, "with.mrcs", "--raw")
    (folder / "particles.mrcs").unlink()
    (folder / "particles.mrcs").symlink_to("/gone/particles.mrcs")
    assert project(folder, star, "without.mrcs", "--raw") == present
    note = note_of(capsys)
    broken = f"{folder / 'particles.mrcs'} is a broken link to /gone/particles.mrcs (its target is not there)"
    if several:
        assert f"1 of its 2 stacks are not found ({folder / 'particles.mrcs'} first, which is a broken link" in note
    else:
        assert f": its stack {broken}: projected without it, the box ({BOX} x {BOX}) from rlnImageSize" in note
    assert "--project-dir" not in note


def test_a_job_still_refuses_a_stack_not_found(folder):
    from maskrun.errors import UserError
    from maskrun.formats.registry import load_particle_set

    star = write_star31(folder, random_poses(3), BOX)
    without_stacks(folder)
    with pytest.raises(UserError, match=r"stack 'particles\.mrcs' not found"):
        load_particle_set(star)


@pytest.mark.skipif(RELION_PROJECT is None, reason="relion_project (RELION 3.1) is not installed")
def test_raw_without_stacks_equals_relion_project(folder, capsys):
    star = write_star31(folder, random_poses(40, seed=5), BOX)
    without_stacks(folder)
    subprocess.run(
        [str(RELION_PROJECT), "--i", "mask.mrc", "--ang", star.name, "--o", "rp"],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    reference = mrcfile.read(folder / "rp.mrcs")
    project(folder, star, "ours.mrcs", "--raw")
    ours = mrcfile.read(folder / "ours.mrcs")
    assert "not found" in note_of(capsys)
    error = np.sqrt(((ours - reference) ** 2).mean(axis=(1, 2)) / (reference**2).mean(axis=(1, 2)))
    assert error.max() <= 1e-3


def test_with_stacks_of_no_pixel_size_the_mask_gives_it_as_without_them(folder, capsys):
    """The second look: an .xmd's masks had voxel size 0 with its stacks (their header gave none) and the 3D mask's
    without them; both now take the 3D mask's, and say so."""
    particles = WRITERS["xmd"](folder, float32_poses(random_poses(6, seed=5)), BOX)
    with mrcfile.open(folder / "particles.mrcs", "r+") as mrc:
        mrc.voxel_size = 0.0
    present = project(folder, particles, "with.mrcs")
    assert note_of(capsys) == (
        f"maskrun: note: {particles}: the pixel size ({PIXEL:g} Å) from the 3D mask's header: neither the metadata "
        "nor the stacks give it"
    )
    with mrcfile.open(folder / "with.mrcs", header_only=True) as mrc:
        assert float(mrc.voxel_size.x) == pytest.approx(PIXEL)
    without_stacks(folder)
    assert project(folder, particles, "without.mrcs") == present


@pytest.mark.parametrize("case", ["no stacks nor image size", "stacks without a pixel size"])
def test_the_3d_masks_header_is_read_once(folder, capsys, monkeypatch, case):
    """It was read up to twice: for the box or pixel size it gives, then again with the values it projects."""
    import maskrun.io.images

    if case == "no stacks nor image size":
        particles = write_star31(folder, random_poses(5, seed=4), BOX)
        text = particles.read_text().replace("_rlnImagePixelSize #2\n_rlnImageSize #3\n", "")
        particles.write_text(text.replace(f"1 {PIXEL} {BOX} 2 300", "1 2 300"))
        without_stacks(folder)
    else:
        particles = WRITERS["xmd"](folder, float32_poses(random_poses(6, seed=5)), BOX)
        with mrcfile.open(folder / "particles.mrcs", "r+") as mrc:
            mrc.voxel_size = 0.0
    read = []

    def counted(inspect):
        def inspect_counted(path):
            read.append(path)
            return inspect(path)

        return inspect_counted

    formats = tuple((name, claims, counted(inspect)) for name, claims, inspect in maskrun.io.images.IMAGE_FORMATS)
    monkeypatch.setattr(maskrun.io.images, "IMAGE_FORMATS", formats)
    project(folder, particles, "out.mrcs", "--raw")
    assert "from the 3D mask's header" in note_of(capsys)  # the header gave what the particles lack
    assert [path for path in read if path.name == "mask.mrc"] == [folder / "mask.mrc"]
