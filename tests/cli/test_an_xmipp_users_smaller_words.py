"""What an Xmipp user met at maskrun mask and make-mask, said as it is.

``--fill rand_avg`` was refused without a word of ``noise``; ``--mask-file``'s help said MRC
where Xmipp's SPIDER masks work; a SPIDER mask with ``--pixel-size 2`` warned "the mask's voxel
size is unknown, … cannot be checked against the images", as if the size given were lost;
``make-mask xm/m.xmp`` proposed ``m.mrcs`` for one 2D mask; ``make-mask --shape gaussian
--compat xmipp`` said "0.0% of the box kept" of Xmipp's normalised gaussian (its values sum to 1).
"""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest

from maskrun.cli.main import main

from conftest import shared_path


def refused(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    return lines[0]


@pytest.mark.parametrize("fill", ["rand_avg", "rand"])
def test_a_random_fill_is_pointed_to_noise(small_stack, tmp_path, capsys, fill):
    line = refused(["mask", str(small_stack), str(tmp_path / "o.mrcs"), "--shape", "circular", "--fill", fill], capsys)
    assert line == (
        f"maskrun mask: error: --fill: '{fill}' is not one of value, min, max, avg, noise, background; a random fill "
        "is 'noise' here: Gaussian noise with the mean and standard deviation of each image outside the mask"
    )


def test_mask_files_help_names_spider(capsys):
    with pytest.raises(SystemExit):
        main(["mask", "--help"])
    assert "SPIDER (.spi, .xmp, .vol: Xmipp's masks)" in " ".join(capsys.readouterr().out.split())


def test_a_spider_mask_under_a_given_pixel_size_is_told_with_the_images_size_and_why_it_has_none(tmp_path, capsys):
    stack = shared_path("golden", "xmipp", "stack64.mrcs")
    mask = shared_path("data", "formats", "spider", "mask.xmp")
    out = tmp_path / "o.mrcs"
    assert main(["mask", str(stack), str(out), "--mask-file", str(mask), "--pixel-size", "2"]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if line.startswith(f"maskrun: warning: {mask}")]
    assert warned == [
        f"maskrun: warning: {mask}: the mask's voxel size is unknown (a SPIDER file records none), so it cannot be "
        "checked against the images' 2 Å/px; it is applied pixel for pixel: check that it was made for these images"
    ]
    assert mrcfile.open(out).voxel_size.x == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("name", "box", "proposed"), [("m.xmp", ["64", "64"], "m.mrc"), ("m.vol", ["64", "64", "64"], "m.mrc")]
)
def test_make_mask_proposes_the_mrc_name_that_fits_one_mask(tmp_path, capsys, name, box, proposed):
    shape = ["--shape", "circular" if len(box) == 2 else "sphere", "--radius", "10"]
    line = refused(["make-mask", str(tmp_path / name), "--box", *box, *shape], capsys)
    assert f"use an MRC name such as {proposed} (" in line
    assert not list(tmp_path.iterdir())


def test_a_stack_still_gets_an_mrcs_name(small_stack, tmp_path, capsys):
    line = refused(["mask", str(small_stack), str(tmp_path / "o.stk"), "--shape", "circular"], capsys)
    assert "use an MRC name such as o.mrcs (" in line


def test_xmipps_normalised_gaussian_is_said_by_its_peak_and_the_share_above_half_of_it(tmp_path, capsys):
    out = tmp_path / "g.mrc"
    assert main(["make-mask", str(out), "--box", "64", "64", "--shape", "gaussian", "--sigma", "8"]
                + ["--compat", "xmipp"]) == 0  # fmt: skip
    values = mrcfile.read(out)
    peak = float(values.max())
    assert peak == pytest.approx(1 / (2 * np.pi * 64), rel=1e-4)  # (√(2π)σ)² at σ = 8
    share = np.count_nonzero(values >= peak / 2) / values.size  # π·2ln2·σ² of 64²: 6.8 %
    printed = capsys.readouterr().out.strip()
    assert printed == f"wrote {out}: 64 x 64 mask, its peak {peak:.3g} (not 1), {share:.1%} of the box above half of it"
    assert f"{share:.1%}" == "6.8%"
