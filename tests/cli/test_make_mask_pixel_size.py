"""make-mask --from-map --pixel-size: the map's voxel size given, as relion_mask_create's --angpix.

A RELION user's map without a voxel size in its header could not be low-passed: the error said
"set it in the header", and --pixel-size was refused as "an option of --shape".
"""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest

from maskrun.cli.main import main

from commands import digest
from conftest import write_mrc


@pytest.fixture
def cube(tmp_path):
    """A 24³ map with a cube of density in its middle, at ``voxel`` Å (a factory)."""

    def write(voxel: float):
        density = np.zeros((24, 24, 24), np.float32)
        density[8:16, 8:16, 8:16] = 1
        return write_mrc(tmp_path / f"map_{voxel:g}.mrc", density, voxel_size=voxel)

    return write


def make_mask(capsys, *argv):
    status = main(["make-mask", *map(str, argv)])
    return status, capsys.readouterr().err.strip().splitlines()


def test_a_map_without_voxel_size_is_low_passed_at_the_given_one(tmp_path, capsys, cube):
    out = tmp_path / "m.mrc"
    status, err = make_mask(
        capsys, out, "--from-map", cube(0), "--threshold", "0.5", "--lowpass", "10", "--pixel-size", 2
    )
    assert status == 0 and not [line for line in err if "warning" in line], err
    with mrcfile.open(out) as mask:
        assert tuple(mask.voxel_size.item()) == pytest.approx((2, 2, 2))
        kept = mask.data.sum()
    # the same map with 2 Å in its header gives the same mask
    status, _ = make_mask(capsys, tmp_path / "h.mrc", "--from-map", cube(2), "--threshold", "0.5", "--lowpass", "10")
    assert status == 0 and kept > 0 and np.array_equal(mrcfile.read(out), mrcfile.read(tmp_path / "h.mrc"))


def test_lengths_in_angstrom_and_a_volume_threshold_take_the_given_voxel_size(tmp_path, capsys, cube):
    out = tmp_path / "m.mrc"
    options = ["--threshold", "4096 A3", "--extend", "4 A", "--soft-edge", "6 A"]  # 4096 Å3: 512 voxels, the cube
    status, err = make_mask(capsys, out, "--from-map", cube(0), *options, "--pixel-size", 2)
    assert status == 0, err
    assert "maskrun: note: threshold '4096 A3' is 1: " in " ".join(err)
    in_pixels = tmp_path / "p.mrc"
    status, err = make_mask(
        capsys, in_pixels, "--from-map", cube(0), "--threshold", "1", "--extend", 2, "--soft-edge", 3
    )
    assert status == 0 and mrcfile.read(out).sum() > 8**3  # grown and softened
    assert np.array_equal(mrcfile.read(out), mrcfile.read(in_pixels))


@pytest.mark.parametrize(
    "options,line",
    [
        (
            ["--threshold", "0.5", "--lowpass", "10"],
            "{map}: --lowpass: a low-pass needs the map's voxel size, and its header gives none; pass --pixel-size "
            "(Å per voxel, as RELION's --angpix), or leave out the low-pass",
        ),
        (
            ["--threshold", "1e4 A3"],
            "{map}: --threshold: '1e4 A3' needs the map's voxel size, and its header gives none; pass --pixel-size "
            "(Å per voxel, as RELION's --angpix), or give a number",
        ),
        (
            ["--threshold", "0.5", "--soft-edge", "6 A"],
            "--soft-edge: is given in Å, but the map's voxel size is 0 in its header; pass --pixel-size (Å per "
            "voxel), or give it in pixels",
        ),
        (
            ["--threshold", "0.5", "--pixel-size", "0"],
            "--pixel-size: must be a positive number of Å per pixel; got 0",
        ),
    ],
)
def test_a_map_without_voxel_size_proposes_pixel_size(tmp_path, capsys, cube, options, line):
    map_path = cube(0)
    before = digest(tmp_path)
    status, err = make_mask(capsys, tmp_path / "m.mrc", "--from-map", map_path, *options)
    assert status == 2 and err == [f"maskrun make-mask: error: {line.format(map=map_path)}"]
    assert digest(tmp_path) == before


def test_a_given_voxel_size_that_differs_from_the_header_is_warned_of(tmp_path, capsys, cube):
    map_path = cube(2)
    status, err = make_mask(capsys, tmp_path / "m.mrc", "--from-map", map_path, "--threshold", "0.5", "--pixel-size", 3)
    assert status == 0
    assert err[0] == (
        f"maskrun: warning: {map_path}: its header gives 2 Å/px, but --pixel-size 3; 3 Å/px is used, and written to "
        "the output"
    )
    with mrcfile.open(tmp_path / "m.mrc") as mask:
        assert mask.voxel_size.x == pytest.approx(3)
    status, err = make_mask(
        capsys, tmp_path / "n.mrc", "--from-map", map_path, "--threshold", "0.5", "--pixel-size", 2.01
    )
    assert status == 0 and not [line for line in err if "warning" in line or "Å/px" in line]
