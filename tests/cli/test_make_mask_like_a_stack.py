"""make-mask --like FILE.mrc warns when FILE looks like a stack of images, not a map (cryoSPARC writes its particle
stacks as ``…_particles.mrc``): the 3D mask of its box is made as asked, but the user is told (docs/spec.md,
"Commands")."""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest

from maskrun.cli.main import main

from conftest import write_mrc

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


@pytest.mark.parametrize("size_zyx", [(8, 40, 40), (12, 40, 40), (40, 40, 40)])
def test_a_map_is_not_warned_of(tmp_path, capsys, size_zyx):
    """A volume by its header (ispg 1), however thin, and an ispg 0 map not much thinner than wide."""
    like = write_mrc(tmp_path / "map.mrc", np.zeros(size_zyx))
    if size_zyx[0] == 12:
        with mrcfile.open(like, "r+") as mrc:
            mrc.header.ispg = 0
    shape, warned = made(tmp_path / "m.mrc", like, SPHERE, capsys)
    assert shape == size_zyx and warned == []
