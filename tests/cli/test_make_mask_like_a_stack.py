"""make-mask --like FILE.mrc warns when FILE looks like a stack of images, not a map (cryoSPARC writes its particle
stacks as ``…_particles.mrc``): the 3D mask of its box is made as asked, but the user is told (docs/spec.md,
"Commands")."""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest

from maskrun.cli.main import main

from conftest import write_mrc, write_spider

SPHERE = ["--shape", "sphere", "--radius", "2"]


def made(out, like, shape, capsys) -> tuple[tuple[int, ...], list[str]]:
    """``make-mask OUT SHAPE --like LIKE``: exit 0; the mask's shape and the warnings printed."""
    assert main(["make-mask", str(out), *shape, "--like", str(like)]) == 0
    err = capsys.readouterr().err.splitlines()
    return mrcfile.read(out).shape, [line for line in err if line.startswith("maskrun: warning:")]


def test_a_cryosparc_particle_stack_stored_as_mrc_is_warned_of(tmp_path, capsys):
    like = write_mrc(tmp_path / "J19_particles.mrc", np.zeros((6, 40, 40)), stack=True)  # ispg 0, mz 1
    shape, warned = made(tmp_path / "m.mrc", like, SPHERE, capsys)
    assert shape == (6, 40, 40)  # made as asked: only a warning
    assert warned == [
        f"maskrun: warning: {like}: it looks like a stack of 6 images of 40 x 40 (its header marks one: ispg 0, mz 1; "
        "cryoSPARC writes particle stacks as .mrc), and the mask is 3D, 40 x 40 x 6: for a 2D mask give --like the "
        "set (.cs/.star) or --shape circular --box 40 40; for a 3D mask give --like a map"
    ]


def test_a_shape_of_2d_and_3d_takes_a_marked_stack_as_images(tmp_path, capsys):
    """A box, gaussian... `--like` a stack-marked .mrc made a 3D mask of 6 slices; maskrun mask reads it as images."""
    like = write_mrc(tmp_path / "J19_particles.mrc", np.zeros((6, 40, 40)), stack=True)
    assert main(["make-mask", str(tmp_path / "b.mrc"), "--shape", "box", "--box-size", "4", "--like", str(like)]) == 0
    assert mrcfile.read(tmp_path / "b.mrc").shape == (40, 40)
    assert capsys.readouterr().err.splitlines()[0] == (
        f"maskrun: note: {like}: read as a stack of 6 images of 40 x 40 (its header marks one: ispg 0, mz 1): the "
        "box mask is 2D, 40 x 40; for a 3D mask give --box 40 40 6"
    )
    named = write_mrc(tmp_path / "particles.mrcs", np.zeros((6, 40, 40)), stack=True)
    assert main(["make-mask", str(tmp_path / "c.mrc"), "--shape", "box", "--box-size", "4", "--like", str(named)]) == 0
    assert mrcfile.read(tmp_path / "c.mrc").shape == (40, 40)
    assert "read as a stack" not in capsys.readouterr().err  # a .mrcs is one by its name: nothing to note


def test_a_thin_map_of_ispg_1_is_warned_of(tmp_path, capsys):
    """A stack saved as .mrc with ispg 1 (cryoDRGN's empiar_10076_7.mrc: 7 images of 320²) made a 3D mask unsaid."""
    like = write_mrc(tmp_path / "stack.mrc", np.zeros((8, 40, 40)))  # ispg 1
    shape, warned = made(tmp_path / "m.mrc", like, SPHERE, capsys)
    assert shape == (8, 40, 40)
    assert len(warned) == 1 and "it looks like a stack of 8 images of 40 x 40 (8 slices against 40 x 40;" in warned[0]
    _, warned = made(tmp_path / "b.mrc", like, ["--shape", "box", "--box-size", "4"], capsys)
    assert warned[0].endswith(
        "for a 2D mask give --like the set (.cs/.star) or --box 40 40; for a 3D mask give --like a map"
    )


def test_a_thin_map_of_ispg_0_is_warned_of_too(tmp_path, capsys):
    like = write_mrc(tmp_path / "thin.mrc", np.zeros((8, 40, 40)))
    with mrcfile.open(like, "r+") as mrc:
        mrc.header.ispg = 0  # mz stays 8: no stack mark, but thin and ispg 0
    _, warned = made(tmp_path / "m.mrc", like, SPHERE, capsys)
    assert len(warned) == 1 and "(ispg 0, and 8 slices against 40 x 40; cryoSPARC writes" in warned[0]


@pytest.mark.parametrize("size_zyx", [(11, 40, 40), (12, 40, 40), (40, 40, 40)])
def test_a_map_is_not_warned_of(tmp_path, capsys, size_zyx):
    """A map (ispg 1 or 0) not much thinner than wide."""
    like = write_mrc(tmp_path / "map.mrc", np.zeros(size_zyx))
    if size_zyx[0] == 12:
        with mrcfile.open(like, "r+") as mrc:
            mrc.header.ispg = 0
    shape, warned = made(tmp_path / "m.mrc", like, SPHERE, capsys)
    assert shape == size_zyx and warned == []


def refused(args: list[str], capsys) -> str:
    """The one error line of a refused ``maskrun ARGS`` (exit 2)."""
    assert main(args) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_a_2d_shape_like_a_map_is_refused_as_maskrun_mask_refuses_it(tmp_path, capsys):
    """A 2D shape --like a 20 x 20 x 20 map made a 20 x 20 mask; ``maskrun mask`` refuses the shape on that map."""
    like = write_mrc(tmp_path / "in.map", np.zeros((20, 20, 20)))
    line = refused(
        ["make-mask", str(tmp_path / "m.mrc"), "--like", str(like), "--shape", "circular", "--radius", "5"], capsys
    )
    assert line == (
        f"maskrun make-mask: error: {like}: 'circular' is a 2D shape, but this .map file is read as one 20 x 20 x 20 "
        "volume: give --box 20 20 if it is a stack of particle images, or use 'sphere' for a map"
    )
    assert not (tmp_path / "m.mrc").exists()
    masked = refused(["mask", str(like), str(tmp_path / "o.mrc"), "--shape", "circular", "--radius", "5"], capsys)
    assert masked == line.replace("make-mask", "mask").replace("give --box 20 20", "pass --input-kind stack")


def test_a_shape_of_the_wrong_dimensions_like_a_stack_is_refused_as_maskrun_mask_refuses_it(tmp_path, capsys):
    like = write_mrc(tmp_path / "p.mrcs", np.zeros((3, 20, 20)), stack=True)
    line = refused(["make-mask", str(tmp_path / "m.mrc"), "--like", str(like), *SPHERE], capsys)
    assert line == "maskrun make-mask: error: --shape: 'sphere' is not a shape for particle images (2D); use 'circular'"
    assert refused(["mask", str(like), str(tmp_path / "o.mrcs"), *SPHERE], capsys) == line.replace("make-mask", "mask")
    assert not (tmp_path / "m.mrc").exists()


@pytest.mark.parametrize("name", ["p.mrcs", "J1_particles.mrc"])
def test_a_2d_shape_like_a_stack_is_one_image_s_mask(tmp_path, capsys, name):
    like = write_mrc(tmp_path / name, np.zeros((3, 20, 24)), stack=True)
    shape, warned = made(tmp_path / "m.mrc", like, ["--shape", "circular", "--radius", "5"], capsys)
    assert shape == (20, 24) and warned == []


def test_a_map_stored_in_another_axis_order_is_noted(tmp_path, capsys):
    """A shape `--like` a map of permuted axes lies along the stored axes, as a job's does; a job said so, not this."""
    like = tmp_path / "perm.mrc"
    with mrcfile.new(like, np.zeros((40, 48, 56), np.float32)) as mrc:
        mrc.header.mapc, mrc.header.mapr, mrc.header.maps = 3, 1, 2
    out = tmp_path / "m.mrc"
    assert main(["make-mask", str(out), "--shape", "box", "--box-size", "10", "20", "30", "--like", str(like)]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "axes" in line]
    assert notes == [
        f"maskrun: note: {like}: stores its axes as z, x, y (mapc, mapr, maps = 3, 1, 2): the shape is laid along the "
        "stored axes, as RELION reads the map, so its x, y, z are the map's z, x, y; the mask keeps that order"
    ]
    with mrcfile.open(out) as mrc:
        assert (int(mrc.header.mapc), int(mrc.header.mapr), int(mrc.header.maps)) == (3, 1, 2)
        kept = np.argwhere(mrc.data > 0)
    assert tuple(kept.max(axis=0) - kept.min(axis=0) + 1) == (30, 20, 10)  # z, y, x of the stored array


@pytest.mark.parametrize("name", ["projections.stk", "PARTICLES.MRCS"])
def test_a_stack_by_its_name_in_any_case_or_format_is_images_not_a_map(tmp_path, capsys, name):
    """The review: a SPIDER .stk and an upper-case .MRCS were taken for maps (a 3D mask of the images as slices),
    with a note of a header mark they do not have."""
    images = np.zeros((6, 40, 40), np.float32)
    like = write_spider(tmp_path / name, images) if name.endswith(".stk") else write_mrc(tmp_path / name, images)
    assert main(["make-mask", str(tmp_path / "b.mrc"), "--shape", "box", "--box-size", "4", "--like", str(like)]) == 0
    assert mrcfile.read(tmp_path / "b.mrc").shape == (40, 40)
    assert "maskrun: note" not in capsys.readouterr().err
    assert main(["make-mask", str(tmp_path / "s.mrc"), *SPHERE, "--like", str(like)]) == 2  # as maskrun mask refuses
    assert capsys.readouterr().err.strip().endswith("'sphere' is not a shape for particle images (2D); use 'circular'")


def test_a_permuted_map_with_a_pixel_size_keeps_its_axis_order_as_the_note_says(tmp_path, capsys):
    """The review: with --pixel-size the mask was written in x, y, z order while the note said it keeps the map's."""
    like = tmp_path / "perm.mrc"
    with mrcfile.new(like, np.zeros((40, 48, 56), np.float32)) as mrc:
        mrc.header.mapc, mrc.header.mapr, mrc.header.maps = 3, 1, 2
        mrc.voxel_size = 2.0
    out = tmp_path / "m.mrc"
    shape = ["--shape", "box", "--box-size", "10", "20", "30"]
    assert main(["make-mask", str(out), *shape, "--like", str(like), "--pixel-size", "1.5"]) == 0
    assert "the mask keeps that order" in capsys.readouterr().err
    with mrcfile.open(out) as mrc:
        assert (int(mrc.header.mapc), int(mrc.header.mapr), int(mrc.header.maps)) == (3, 1, 2)
        assert mrc.voxel_size.x == pytest.approx(1.5) and mrc.data.shape == (40, 48, 56)
