"""Lengths with a unit (issue 22): whole pixels in Å act as whole pixels; negative lengths are refused.

Through the real ``maskrun make-mask``: exit 2, one stderr line naming the option, no
traceback, nothing written.
"""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest

import maskrun

from commands import digest, refused_line
from commands import maskrun as run

PIXEL_SIZES = sorted({round(float(p), 3) for p in np.linspace(0.5, 5.0, 157)})
RADII = range(1, 48)


def test_whole_pixels_written_in_angstrom_give_the_pixel_mask():
    lost = []
    for pixel in PIXEL_SIZES:
        for radius in RADII:
            written = f"{round(radius * pixel, 3)!r} A"  # as a user writes it: 33.0 A at 1.1 Å/px
            angstrom = maskrun.make_mask({"shape": "circular", "radius": written}, (96, 96), pixel_size=pixel)
            pixels = maskrun.make_mask({"shape": "circular", "radius": radius}, (96, 96))
            if not np.array_equal(angstrom, pixels):
                lost.append((pixel, radius))
    assert not lost, f"{len(lost)} of {len(PIXEL_SIZES) * len(RADII)} radii lose pixels, e.g. {lost[:3]}"


def test_33_angstrom_at_1_1_keeps_the_ring_at_30_through_the_command(tmp_path):
    assert (
        run(
            "make-mask",
            tmp_path / "a.mrc",
            "--shape",
            "sphere",
            "--box",
            "64",
            "--radius",
            "33A",
            "--pixel-size",
            "1.1",
        ).returncode
        == 0
    )
    assert (
        run(
            "make-mask", tmp_path / "p.mrc", "--shape", "sphere", "--box", "64", "--radius", "30", "--pixel-size", "1.1"
        ).returncode
        == 0
    )
    np.testing.assert_array_equal(mrcfile.read(tmp_path / "a.mrc"), mrcfile.read(tmp_path / "p.mrc"))


@pytest.mark.parametrize(
    "options,words",
    [
        (["--radius=-2 A", "--pixel-size", "1"], "--radius: '-2 A' is negative; a length must be > 0"),
        (["--radius=-1A", "--pixel-size", "1"], "--radius: '-1A' is negative"),
        (["--radius=-2px"], "--radius: '-2px' is negative"),
        (["--radius=-1px"], "--radius: '-1px' is negative"),
        (["--pixel-size", "0"], "--pixel-size: must be a positive number of Å per pixel; got 0"),
        (["--pixel-size", "nan"], "--pixel-size: must be a positive number of Å per pixel; got nan"),
        (["--pixel-size", "-1.5"], "--pixel-size: must be a positive number of Å per pixel; got -1.5"),
        (["--radius", "10A"], "--radius: is given in Å, but the pixel size is unknown: pass --pixel-size"),
        (["--center=-2A"], "--center: has 1 value; give x y (images) or x y z (maps)"),
        (["--center", "1", "2", "3", "4"], "--center: has 4 values; give x y (images) or x y z (maps)"),
    ],
)
def test_bad_lengths_and_pixel_sizes_are_refused(tmp_path, options, words):
    before = digest(tmp_path)
    proc = run("make-mask", tmp_path / "m.mrc", "--shape", "sphere", "--box", "16", *options)
    line = refused_line(proc)
    assert words in line
    assert digest(tmp_path) == before


def test_a_negative_length_with_a_unit_in_a_job_file_is_refused():
    with pytest.raises(maskrun.UserError, match=r"shape.radius: '-1 A' is negative"):
        maskrun.make_mask({"shape": "circular", "radius": "-1 A"}, (16, 16), pixel_size=1.0)
    centred = maskrun.make_mask({"shape": "circular", "radius": 3, "center": ["-2 A", "1 A"]}, (16, 16), pixel_size=1.0)
    assert centred[8, 6] == 1 and centred[8, 10] == 0  # a centre shift may be negative
