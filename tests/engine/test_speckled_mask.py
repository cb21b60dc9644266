"""A speckled mask is told to be made again from the map low-passed, the specks dropped, not grown into blobs.

The verdict look (AK half-maps): `make-mask m.mrc --from-map avg.mrc --threshold auto` on the
unfiltered average kept 47 pieces, one of 1442 voxels and 46 noise peaks of 1 to 3; the check
grew it (`extend 2 px, soft edge 6 px`), each speck a blob, and its conflict blamed the density's
blur. Here: the check-mask tests' phantom (64³ at 2 Å), its halves' average thresholded at 2.5 σ
unfiltered (54 specks beside two blobs).
"""

from __future__ import annotations

import re
import shlex

import mrcfile
import numpy as np
import pytest
from fsc_phantoms import phantom_halves

from maskrun.engine.mask_check import check_mask_values
from maskrun.geometry.mask_pieces import specks

from conftest import write_mrc

VOXEL = 2.0


@pytest.fixture(scope="module")
def phantom(tmp_path_factory):
    folder = tmp_path_factory.mktemp("speckled")
    half1, half2, signal = phantom_halves(64, noise=1.5, blob_sigma_px=3.0)
    paths = [write_mrc(folder / name, h, voxel_size=VOXEL) for name, h in (("h1.mrc", half1), ("h2.mrc", half2))]
    average = write_mrc(folder / "avg.mrc", (half1 + half2) / 2, voxel_size=VOXEL)
    return paths, average, signal


def test_a_speckled_mask_is_told_to_be_made_again_low_passed_and_the_command_makes_one_that_is_not(
    phantom, tmp_path, capsys, monkeypatch
):
    from maskrun.cli.main import main

    (h1, h2), average, _ = phantom
    monkeypatch.chdir(tmp_path)
    assert main(["make-mask", "m.mrc", "--from-map", str(average), "--threshold", "2.5 sigma"]) == 0
    assert specks(mrcfile.read("m.mrc"), VOXEL, 8.0) is not None  # the start is speckled
    capsys.readouterr()
    assert main(["check-mask", "--half1", str(h1), "--half2", str(h2), "--mask", "m.mrc"]) == 0
    printed = capsys.readouterr().out
    reason = re.search(
        r"^verdict: (.*)\n  \1: (speckled: \d+ of its \d+ pieces are specks[^\n]*)\n    → ([^\n]*)\n", printed, re.M
    )
    assert reason, printed
    assert "rather than grow it" in reason[3] and "low-passed to" in reason[3]
    assert "extend" not in reason[3]  # no size advice: the specks are not grown
    made = re.search(r"^    make it: maskrun (make-mask OUT\.mrc [^\n]*)$", printed, re.M)
    assert made, printed
    words = shlex.split(made[1])
    assert words[words.index("--threshold") + 1] == "2.5 sigma"  # the user's rule kept
    lowpass = float(words[words.index("--lowpass") + 1])
    advised = re.search(r"low-passed to (\d+(?:\.\d+)?) Å, about the half-maps' resolution", reason[3])
    assert advised and lowpass == float(advised[1]) > 0
    least = int(words[words.index("--min-component-voxels") + 1])
    assert least == int(np.ceil(np.pi / 6 * (lowpass / VOXEL) ** 3))  # a resolution element
    assert main(shlex.split(made[1].replace("OUT.mrc", "remade.mrc"))) == 0
    remade = mrcfile.read("remade.mrc")
    assert specks(remade, VOXEL, lowpass) is None
    again = check_mask_values(h1, h2, remade, "remade.mrc", VOXEL)
    assert not any(r.measured.startswith("speckled") for r in again.reasons), again.reasons


@pytest.mark.parametrize("domains", [2, 3])
def test_a_mask_of_a_few_domains_is_not_speckled(phantom, domains):
    """Two or three large pieces (and a few specks beside them, fewer than five) are domains, not noise."""
    (h1, h2), _, _ = phantom
    grid = np.indices((64,) * 3) - 32
    mask = np.zeros((64,) * 3, np.float32)
    for index in range(domains):  # balls of radius 8, 6 and 5 px, apart
        centre = (0, -18 + 18 * index, 0)
        radius = (8, 6, 5)[index]
        mask[sum((grid[i] - centre[i]) ** 2 for i in range(3)) <= radius**2] = 1
    for speck in range(4):
        mask[5 + 3 * speck, 5, 5] = 1
    assert specks(mask, VOXEL, 8.0) is None
    check = check_mask_values(h1, h2, mask, "domains.mrc", VOXEL)
    assert not any(r.measured.startswith("speckled") for r in check.reasons), check.reasons
