"""Masks made from maps: RELION's own masks reproduced, clean-up steps, make-mask, the saved mask.mrc."""

from __future__ import annotations

import json
import shutil
import subprocess

import mrcfile
import numpy as np
import pytest
import starfile

from maskrun.cli.main import main
from maskrun.geometry.map_mask import MapMaskSteps, mask_from_map
from maskrun.jobs.runner import run_job

from conftest import SHARED, write_mrc
from job_files import write_job

GOLDEN = SHARED / "golden" / "relion_mask_create"
CASES = json.loads((GOLDEN / "cases.json").read_text())["cases"] if (GOLDEN / "cases.json").exists() else []
CASE_IDS = [c["output"].removesuffix(".mrc") for c in CASES]


def relion_options(params: dict) -> list[str]:
    options = [
        "--threshold",
        str(params["threshold"]),
        "--extend",
        str(params["extend_px"]),
        "--soft-edge",
        str(params["soft_edge_px"]),
    ]
    if params.get("lowpass_angstrom"):
        options += ["--lowpass", str(params["lowpass_angstrom"])]
    return options + (["--invert"] if params.get("invert") else [])


@pytest.mark.parametrize(
    "case",
    CASES or [pytest.param(None, marks=pytest.mark.skip(reason="../shared absent"))],
    ids=CASE_IDS or ["no-shared"],
)
def test_make_mask_reproduces_relion_mask_create(tmp_path, case):
    out = tmp_path / "mask.mrc"
    assert (
        main(["make-mask", str(out), "--from-map", str(GOLDEN / case["input"]), *relion_options(case["params"])]) == 0
    )
    with mrcfile.open(out) as ours, mrcfile.open(GOLDEN / case["output"], permissive=True) as relion:
        assert ours.data.dtype == np.float32 and ours.data.shape == relion.data.shape
        assert np.abs(ours.data - relion.data).max() <= 1e-5
        assert ours.voxel_size.x == pytest.approx(float(relion.voxel_size.x), rel=1e-6)


@pytest.mark.parametrize(
    "case",
    CASES[:7] or [pytest.param(None, marks=pytest.mark.skip(reason="../shared absent"))],
    ids=CASE_IDS[:7] or ["no-shared"],
)
def test_a_job_with_a_map_mask_saves_relions_mask(tmp_path, case):
    shutil.copy(GOLDEN / case["input"], tmp_path / "map.mrc")
    params = {"file": "map.mrc", **case["params"]}
    job = {
        "version": 1,
        "name": "m",
        "inputs": {"volumes": "map.mrc"},
        "mask": {"source": "map", "map": params},
        "fill": {"with": "value", "value": 0},
    }
    summary = run_job(write_job(tmp_path, job))
    saved = mrcfile.read(summary.output_dir / "mask.mrc")
    relion = mrcfile.read(GOLDEN / case["output"])
    assert np.abs(saved - relion).max() <= 1e-5
    masked = mrcfile.read(summary.output_dir / "volumes" / "map.mrc")
    np.testing.assert_allclose(masked, mrcfile.read(tmp_path / "map.mrc") * relion, rtol=1e-5, atol=1e-12)


def blobs_dust_and_a_hole() -> np.ndarray:
    """Two balls (radius 6 and 4), a one-voxel speck, and a cavity of radius 2 inside the big ball."""
    z, y, x = np.mgrid[:40, :40, :40]
    big = (z - 20) ** 2 + (y - 20) ** 2 + (x - 12) ** 2 <= 36
    small = (z - 20) ** 2 + (y - 20) ** 2 + (x - 30) ** 2 <= 16
    hole = (z - 20) ** 2 + (y - 20) ** 2 + (x - 12) ** 2 <= 4
    density = (big & ~hole) | small
    density[3, 3, 3] = True
    return density.astype(np.float32)


def test_clean_up_keeps_the_largest_drops_dust_and_fills_holes():
    density = blobs_dust_and_a_hole()
    count = lambda **steps: int(mask_from_map(density, MapMaskSteps(threshold=0.5, **steps)).sum())  # noqa: E731
    big, small, hole = 4 / 3 * np.pi * 216, 4 / 3 * np.pi * 64, 4 / 3 * np.pi * 8
    everything = count()
    assert everything == int(density.sum())
    assert count(min_component_voxels=2) == everything - 1  # the speck goes
    largest = count(keep_largest_component=True)
    assert largest == pytest.approx(big - hole, rel=0.15) and largest < everything - 200
    filled = count(keep_largest_component=True, fill_holes=True)
    assert filled - largest == 33  # the cavity's voxels: |r| ≤ 2 on the grid
    assert filled == pytest.approx(big, rel=0.1) and count(fill_holes=True) == everything + 33
    assert small > 200


def test_saved_mask_equals_make_mask_and_its_checksum_is_recorded(tmp_path):
    density = blobs_dust_and_a_hole()
    write_mrc(tmp_path / "map.mrc", density, voxel_size=1.7)
    job = {
        "version": 1,
        "name": "m",
        "inputs": {"volumes": "map.mrc"},
        "mask": {
            "source": "map",
            "map": {
                "file": "map.mrc",
                "threshold": 0.5,
                "extend_px": 2,
                "soft_edge_px": 3,
                "keep_largest_component": True,
            },
        },
    }
    summary = run_job(write_job(tmp_path, job))
    assert (
        main(
            [
                "make-mask",
                str(tmp_path / "made.mrc"),
                "--from-map",
                str(tmp_path / "map.mrc"),
                "--threshold",
                "0.5",
                "--extend",
                "2",
                "--soft-edge",
                "3",
                "--keep-largest-component",
            ]
        )
        == 0
    )
    saved = summary.output_dir / "mask.mrc"
    # each file's labels (and their count, nlabl at byte 220) say what made it ("the mask applied", "made by
    # make-mask", and make-mask's command)
    labels = slice(220, 1024)
    same, made = bytearray(saved.read_bytes()), bytearray((tmp_path / "made.mrc").read_bytes())
    assert same[labels] != made[labels]
    same[labels] = made[labels] = b""
    assert same == made
    record = json.loads((summary.output_dir / "provenance" / "run.json").read_text())
    entry = next(e for e in record["outputs"] if e["path"] == "mask.mrc")
    import blake3

    assert entry["blake3"] == blake3.blake3(saved.read_bytes()).hexdigest()
    assert mrcfile.open(saved).voxel_size.x == pytest.approx(1.7)


def test_geometric_masks_are_saved_too(tmp_path):
    from job_files import example_folder, job_with

    example_folder(tmp_path, particles=12, maps=0)
    summary = run_job(write_job(tmp_path, job_with()))
    saved = mrcfile.read(summary.output_dir / "mask.mrc")
    assert (
        main(
            [
                "make-mask",
                str(tmp_path / "made.mrc"),
                "--shape",
                "raised_cosine",
                "--inner-radius",
                "20",
                "--outer-radius",
                "28",
                "--box",
                "64",
                "64",
                "--pixel-size",
                "2",
            ]
        )
        == 0
    )
    np.testing.assert_array_equal(saved, mrcfile.read(tmp_path / "made.mrc"))


@pytest.mark.parametrize(
    "problem,args,words",
    [
        ("other box", ["--box-map"], "20 × 20 × 20 but the volume is 40 × 40 × 40"),
        (
            "other voxel size",
            ["--voxel", "3.0"],
            # it said "mask voxel size … differs from the images'" of a map job's input map, not named
            "mask.map.file: map voxel size 3 Å differs from the input map data.mrc's 1.7 Å by more than 1%; resample "
            "the map to 1.7 Å/px, or, if it is of data.mrc (its box is the same), only its header is wrong: set "
            "1.7 Å in its header",
        ),
        (
            "threshold above the maximum",
            ["--threshold", "5"],
            "threshold 5 is above every value of the map (its range is 0 to 1)",
        ),
        (
            "negative soft edge",
            ["--soft-edge", "-1"],
            "mask.map.soft_edge_px: input should be greater than or equal to 0",
        ),
    ],
)
def test_bad_map_masks_are_refused_with_one_line(tmp_path, capsys, problem, args, words):
    write_mrc(tmp_path / "data.mrc", blobs_dust_and_a_hole(), voxel_size=1.7)
    mask_map = blobs_dust_and_a_hole()[:20, :20, :20] if "--box-map" in args else blobs_dust_and_a_hole()
    voxel = float(args[args.index("--voxel") + 1]) if "--voxel" in args else 1.7
    write_mrc(tmp_path / "mask_map.mrc", mask_map, voxel_size=voxel)
    params = {"file": "mask_map.mrc", "threshold": 0.5}
    if "--threshold" in args:
        params["threshold"] = float(args[args.index("--threshold") + 1])
    if "--soft-edge" in args:
        params["soft_edge_px"] = float(args[args.index("--soft-edge") + 1])
    job = write_job(
        tmp_path,
        {"version": 1, "name": "m", "inputs": {"volumes": "data.mrc"}, "mask": {"source": "map", "map": params}},
    )
    assert main(["validate", str(job)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err
    assert not (tmp_path / "results").exists()


RELION = shutil.which("relion_mask_create")


@pytest.fixture
def relion_required():
    if RELION is None:
        if __import__("os").environ.get("CI"):
            pytest.fail("CI installs Debian's relion package (.ci/run); relion_mask_create is missing")
        pytest.skip("relion_mask_create is not installed (apt-get install relion)")


def test_relion_mask_create_on_a_fresh_map_agrees(tmp_path, relion_required):
    rng = np.random.default_rng(9)
    density = ndimage_blur(blobs_dust_and_a_hole() + rng.normal(0, 0.05, (40, 40, 40)).astype(np.float32))
    write_mrc(tmp_path / "map.mrc", density, voxel_size=2.0)
    relion = subprocess.run(
        [
            RELION,
            "--i",
            "map.mrc",
            "--o",
            "relion.mrc",
            "--ini_threshold",
            "0.3",
            "--extend_inimask",
            "2",
            "--width_soft_edge",
            "5",
            "--lowpass",
            "12",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert relion.returncode == 0, relion.stderr
    assert (
        main(
            [
                "make-mask",
                str(tmp_path / "ours.mrc"),
                "--from-map",
                str(tmp_path / "map.mrc"),
                "--threshold",
                "0.3",
                "--extend",
                "2",
                "--soft-edge",
                "5",
                "--lowpass",
                "12",
            ]
        )
        == 0
    )
    theirs, ours = mrcfile.read(tmp_path / "relion.mrc"), mrcfile.read(tmp_path / "ours.mrc")
    assert 0 < ours.sum() < ours.size and np.abs(ours - theirs).max() <= 1e-5


@pytest.mark.parametrize("header", [0.0, 2.0])
def test_make_mask_pixel_size_is_relion_mask_create_angpix(tmp_path, capsys, relion_required, header):
    """``--pixel-size`` gives the low-pass the voxel size a header lacks (or replaces its own), as ``--angpix``."""
    density = ndimage_blur(blobs_dust_and_a_hole())
    write_mrc(tmp_path / "map.mrc", density, voxel_size=header)
    steps = ["--extend_inimask", "2", "--width_soft_edge", "4", "--lowpass", "12", "--angpix", "2.5"]
    relion = subprocess.run(
        [RELION, "--i", "map.mrc", "--o", "relion.mrc", "--ini_threshold", "0.3", *steps],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert relion.returncode == 0, relion.stderr
    ours = tmp_path / "ours.mrc"
    options = ["--threshold", "0.3", "--extend", "2", "--soft-edge", "4", "--lowpass", "12", "--pixel-size", "2.5"]
    assert main(["make-mask", str(ours), "--from-map", str(tmp_path / "map.mrc"), *options]) == 0
    with mrcfile.open(ours) as mask:
        assert 0 < mask.data.sum() < mask.data.size
        assert np.abs(mask.data - mrcfile.read(tmp_path / "relion.mrc")).max() <= 1e-5
        assert tuple(mask.voxel_size.item()) == pytest.approx((2.5, 2.5, 2.5))
    warned = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warned == (
        [f"maskrun: warning: {tmp_path / 'map.mrc'}: its header gives 2 Å/px, but --pixel-size 2.5; 2.5 Å/px is used, "
         "and written to the output"] if header else []
    )  # fmt: skip


def test_relion_reads_a_maskrun_particle_star(tmp_path, relion_required):
    from job_files import example_folder, job_with

    example_folder(tmp_path, particles=12, maps=0)
    summary = run_job(write_job(tmp_path, job_with(batch_size=5)))
    star = summary.output_dir / "particles.star"
    stats = subprocess.run(  # from the project folder, where the input's paths were from
        ["relion_image_handler", "--i", str(star), "--stats"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert stats.returncode == 0, stats.stderr
    lines = [line for line in stats.stdout.splitlines() if "@results/t/stacks/batch_" in line]
    assert len(lines) == 12 == len(starfile.read(star)["particles"])


def ndimage_blur(values: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    return ndimage.gaussian_filter(values, 1.5).astype(np.float32)
