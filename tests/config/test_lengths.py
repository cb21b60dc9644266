"""Lengths in Å: '40 A' at 2 Å/px is 20 px, in job files, maskrun mask and the API; without a pixel size, exit 2."""

from __future__ import annotations

import json

import mrcfile
import numpy as np
import pytest

import maskrun
from maskrun.cli.main import main
from maskrun.jobs.runner import run_job

from conftest import write_mrc
from job_files import example_folder, job_with, write_job


def test_the_same_mask_from_pixels_and_angstrom():
    pixels = maskrun.make_mask({"shape": "circular", "radius": 20}, (64, 64))
    for written in ("40 A", "40 Å", "40A", "40\u212b", "40 angstrom", "40 Ångströms", "40a"):  # as lowpass_angstrom
        np.testing.assert_array_equal(
            maskrun.make_mask({"shape": "circular", "radius": written}, (64, 64), pixel_size=2.0), pixels
        )
    for written in ("20 px", "20 pixels", "20pix"):
        np.testing.assert_array_equal(maskrun.make_mask({"shape": "circular", "radius": written}, (64, 64)), pixels)
    soft = {"shape": "raised_cosine", "inner_radius": "20 A", "outer_radius": "30 A", "center": ["4 A", "-2 A"]}
    np.testing.assert_array_equal(
        maskrun.make_mask(soft, (48, 48), pixel_size=2.0),
        maskrun.make_mask(
            {"shape": "raised_cosine", "inner_radius": 10, "outer_radius": 15, "center": [2, -1]}, (48, 48)
        ),
    )


def test_a_job_in_angstrom_records_both_and_matches_pixels(tmp_path):
    example_folder(tmp_path, particles=6, maps=0)  # 2 Å/px
    a = run_job(
        write_job(tmp_path, job_with(name="a", mask__geometry={"shape": "circular", "radius": "40 A"}), "a.yaml")
    ).output_dir
    p = run_job(
        write_job(tmp_path, job_with(name="p", mask__geometry={"shape": "circular", "radius": 20}), "p.yaml")
    ).output_dir
    np.testing.assert_array_equal(
        mrcfile.read(a / "stacks" / "batch_00001.mrcs"), mrcfile.read(p / "stacks" / "batch_00001.mrcs")
    )
    record = json.loads((a / "provenance" / "run.json").read_text())
    assert record["job_resolved"]["mask"]["geometry"]["radius"] == 20.0
    assert "radius: 40 A" in record["job_as_written"]


def test_maskrun_mask_takes_angstrom(tmp_path):
    path = write_mrc(tmp_path / "in.mrcs", np.random.default_rng(0).normal(size=(2, 32, 32)), voxel_size=1.5)
    assert main(["mask", str(path), str(tmp_path / "a.mrcs"), "--shape", "circular", "--radius", "15A"]) == 0
    assert main(["mask", str(path), str(tmp_path / "p.mrcs"), "--shape", "circular", "--radius", "10"]) == 0
    assert (tmp_path / "a.mrcs").read_bytes() == (tmp_path / "p.mrcs").read_bytes()


@pytest.mark.parametrize(
    "argv,words",
    [
        (["--radius", "15A"], "--radius: is given in Å, but the pixel size is unknown (0 in the header of "),
        (["--radius", "15A"], "): pass --pixel-size (Å per pixel), or give it in pixels"),
        (["--radius", "15 furlongs"], "'15 furlongs' is not a length: write a number of pixels, '12 px' or '42 A'"),
        (["--radius", "1.5 nm"], "--radius: '1.5 nm' is in nm; give it in Å, '15 A', or in pixels"),
    ],
)
def test_a_unit_without_a_pixel_size_or_an_unknown_unit_exits_2(tmp_path, capsys, argv, words):
    path = write_mrc(tmp_path / "in.mrcs", np.zeros((2, 32, 32)), voxel_size=0)
    assert main(["mask", str(path), str(tmp_path / "o.mrcs"), "--shape", "circular", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err
    assert not (tmp_path / "o.mrcs").exists()


def test_angstrom_at_a_maps_header_of_1_angstrom_per_pixel_comes_with_a_warning(tmp_path, capsys):
    path = write_mrc(tmp_path / "in.mrc", np.random.default_rng(0).normal(size=(32, 32, 32)), voxel_size=1.0)
    assert main(["mask", str(path), str(tmp_path / "a.mrc"), "--shape", "sphere", "--radius", "10 A"]) == 0
    assert (
        f"maskrun: warning: {path}: lengths in Å were converted at its header's 1 Å/px, the value many programs "
        "write when they do not know it (RELION in particle stacks); if that is not the pixel size, pass "
        "--pixel-size (Å per pixel) or give the lengths in pixels"
    ) in capsys.readouterr().err.splitlines()
    assert main(["mask", str(path), str(tmp_path / "p.mrc"), "--shape", "sphere", "--radius", "10"]) == 0
    assert "1 Å/px" not in capsys.readouterr().err  # pixels: nothing to doubt


def test_angstrom_at_a_stacks_header_of_1_angstrom_per_pixel_is_refused_as_a_job_refuses_it(tmp_path, capsys):
    """A new user's look: 150 Å on RELION particles (2.806 Å/px, the stack header 1 Å/px) made a 150 px disc with a
    warning and exit 0, where a job on the same stack refused the radius."""
    path = write_mrc(tmp_path / "in.mrcs", np.random.default_rng(0).normal(size=(2, 32, 32)), voxel_size=1.0)
    assert main(["mask", str(path), str(tmp_path / "a.mrcs"), "--shape", "circular", "--radius", "10 A"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"maskrun mask: error: --radius: is given in Å, but the only pixel size of {path} is its header's 1 Å/px, the "
        "placeholder RELION writes in particle stacks: pass --pixel-size (Å per pixel), or give it in pixels"
    ]
    assert not (tmp_path / "a.mrcs").exists()
    assert main(["mask", str(path), str(tmp_path / "p.mrcs"), "--shape", "circular", "--radius", "10"]) == 0
    assert "1 Å/px" not in capsys.readouterr().err  # pixels: nothing to doubt
