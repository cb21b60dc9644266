"""Masks from two maps (and, or, and_not, or_not) and the helical crop, as relion_mask_create makes them.

RELION 3.1.3 is run on fresh phantoms in each test (CI installs it; elsewhere the tests skip
without it) and maskrun's make-mask and jobs must give its masks to 1e-5 in every voxel.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import mrcfile
import numpy as np
import pytest

from maskrun.cli.main import main
from maskrun.geometry.map_mask import MapMaskSteps, helix_crop, mask_from_map
from maskrun.jobs.runner import run_job

from conftest import write_mrc
from job_files import write_job
from test_map_mask import RELION, relion_required  # noqa: F401 (a fixture)

THRESHOLD, EXTEND, SOFT_EDGE = 0.3, 2, 4
SHAPES = {"cube": (48, 48, 48), "box": (56, 48, 40)}  # z, y, x: 40 × 48 × 56 (x × y × z)
COMBINATIONS = {"and": "--and", "or": "--or", "and_not": "--and-not", "or_not": "--or-not"}


def ball(shape: tuple[int, int, int], centre_shift_zyx: tuple[int, int, int], radius: float, seed: int) -> np.ndarray:
    """A blurred ball with noise, centred ``centre_shift_zyx`` away from the box centre."""
    from scipy import ndimage

    grid = np.indices(shape)
    distance = np.sqrt(sum((g - n // 2 - s) ** 2 for g, n, s in zip(grid, shape, centre_shift_zyx)))
    noise = np.random.default_rng(seed).normal(0, 0.08, shape)
    return ndimage.gaussian_filter((distance <= radius) + noise, 1.2).astype(np.float32)


def two_maps(folder, shape) -> tuple[str, str]:
    """Two overlapping balls (A left of the centre, B right and up in z), written as A.mrc and B.mrc."""
    write_mrc(folder / "A.mrc", ball(shape, (0, 0, -4), 9, 1), voxel_size=1.5)
    write_mrc(folder / "B.mrc", ball(shape, (3, 0, 5), 8, 2), voxel_size=1.5)
    return "A.mrc", "B.mrc"


def relion_mask(folder, *options: str) -> np.ndarray:
    command = [RELION, "--i", "A.mrc", "--o", "relion.mrc", "--ini_threshold", str(THRESHOLD)]
    command += ["--extend_inimask", str(EXTEND), "--width_soft_edge", str(SOFT_EDGE), "--j", "1", *options]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return mrcfile.read(folder / "relion.mrc")


def make_mask(folder, *options: str) -> np.ndarray:
    common = ["--threshold", str(THRESHOLD), "--extend", str(EXTEND), "--soft-edge", str(SOFT_EDGE)]
    out = folder / "ours.mrc"
    assert main(["make-mask", str(out), "--overwrite", "--from-map", str(folder / "A.mrc"), *common, *options]) == 0
    return mrcfile.read(out)


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("combination", COMBINATIONS)
def test_combinations_equal_relion_mask_create(tmp_path, relion_required, shape, combination):  # noqa: F811
    two_maps(tmp_path, shape)
    theirs = relion_mask(tmp_path, f"--{combination}", "B.mrc")
    ours = make_mask(tmp_path, COMBINATIONS[combination], str(tmp_path / "B.mrc"))
    alone = make_mask(tmp_path)
    assert ours.shape == theirs.shape == shape and 0 < ours.sum() < ours.size
    assert not np.array_equal(ours, alone)  # the second map changed the mask
    assert np.abs(ours - theirs).max() <= 1e-5


def test_the_low_pass_applies_to_the_first_map_only_as_in_relion(tmp_path, relion_required):  # noqa: F811
    two_maps(tmp_path, SHAPES["cube"])  # RELION low-passes only maps with x = y
    theirs = relion_mask(tmp_path, "--and", "B.mrc", "--lowpass", "12")
    ours = make_mask(tmp_path, "--and", str(tmp_path / "B.mrc"), "--lowpass", "12")
    assert not np.array_equal(ours, make_mask(tmp_path, "--and", str(tmp_path / "B.mrc")))
    assert np.abs(ours - theirs).max() <= 1e-5


HELIX_CASES = {
    "default": [],
    "half": ["z_percentage=0.5"],
    "and-invert": ["and", "invert"],
    "or_not-0.2": ["or_not", "z_percentage=0.2"],
}


def helix_options(words: list[str], relion: bool) -> list[str]:
    options = ["--helix"]
    for word in words:
        if word.startswith("z_percentage="):
            options += ["--z_percentage" if relion else "--z-percentage", word.split("=")[1]]
        elif word == "invert":
            options.append("--invert")
        else:
            options += [f"--{word}" if relion else COMBINATIONS[word], "B.mrc"]
    return options


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("case", HELIX_CASES.values(), ids=HELIX_CASES.keys())
def test_helix_equals_relion_mask_create(tmp_path, monkeypatch, relion_required, shape, case):  # noqa: F811
    two_maps(tmp_path, shape)
    monkeypatch.chdir(tmp_path)  # B.mrc relative to the working folder
    theirs = relion_mask(tmp_path, *helix_options(case, relion=True))
    ours = make_mask(tmp_path, *helix_options(case, relion=False))
    assert 0 < ours.sum() < ours.size and np.abs(ours - theirs).max() <= 1e-5


def test_helix_crop_keeps_the_centre_and_falls_as_a_raised_cosine():
    nz = 20
    cropped = helix_crop(np.ones((nz, 3, 3), np.float32), 0.3, 2.0)[:, 0, 0]
    k = np.arange(nz) - nz // 2  # e = 3: |k| ≤ 3 kept, 3 < |k| < 5 falling, 0 beyond
    expected = np.where(np.abs(k) <= 3, 1, np.where(np.abs(k) >= 5, 0, 0.5 + 0.5 * np.cos(np.pi * (np.abs(k) - 3) / 2)))
    np.testing.assert_allclose(cropped, expected, atol=1e-7)


def test_combined_seeds_compare_each_map_strictly_with_the_threshold():
    a = np.array([[1.0, 0.5, 1.0, 0.0]], np.float32)
    b = np.array([[1.0, 0.5, 0.0, 0.2]], np.float32)  # the second voxel, at the threshold, is in no seed
    seed = lambda combine: mask_from_map(a, MapMaskSteps(threshold=0.5, combine=combine), second=b)[0]  # noqa: E731
    np.testing.assert_array_equal(seed("and"), [1, 0, 0, 0])
    np.testing.assert_array_equal(seed("or"), [1, 0, 1, 0])
    np.testing.assert_array_equal(seed("and_not"), [0, 0, 1, 0])
    np.testing.assert_array_equal(seed("or_not"), [1, 0, 1, 1])


def test_a_job_combines_two_maps_and_records_them(tmp_path, relion_required):  # noqa: F811
    shape = SHAPES["box"]
    two_maps(tmp_path, shape)
    (tmp_path / "maps").mkdir()
    (tmp_path / "B.mrc").rename(tmp_path / "maps" / "B.mrc")
    params = {"file": "A.mrc", "threshold": THRESHOLD, "extend_px": EXTEND, "soft_edge_px": SOFT_EDGE}
    job = {
        "version": 1,
        "name": "m",
        "inputs": {"volumes": "A.mrc"},
        "mask": {"source": "map", "map": {**params, "and_not": "maps/B.mrc", "helix": True, "z_percentage": 0.5}},
        "fill": {"with": "value", "value": 0},
    }
    summary = run_job(write_job(tmp_path, job))
    (tmp_path / "maps" / "B.mrc").rename(tmp_path / "B.mrc")
    theirs = relion_mask(tmp_path, "--and_not", "B.mrc", "--helix", "--z_percentage", "0.5")
    saved = mrcfile.read(summary.output_dir / "mask.mrc")
    assert np.abs(saved - theirs).max() <= 1e-5
    masked = mrcfile.read(summary.output_dir / "volumes" / "A.mrc")
    np.testing.assert_allclose(masked, mrcfile.read(tmp_path / "A.mrc") * theirs, rtol=1e-5, atol=1e-12)
    record = json.loads((summary.output_dir / "provenance" / "run.json").read_text())
    second = str(tmp_path / "maps" / "B.mrc")
    resolved = record["job_resolved"]["mask"]["map"]
    assert resolved["and_not"] == second and resolved["helix"] is True and resolved["z_percentage"] == 0.5
    entry = next(e for e in record["inputs"] if e["path"] == second)  # hashed as an input of the job
    import blake3

    assert entry["blake3"] == blake3.blake3((tmp_path / "B.mrc").read_bytes()).hexdigest()


def write_pair(folder, second_shape=(20, 20, 20), second_voxel=1.5, first_shape=(20, 20, 20)) -> None:
    rng = np.random.default_rng(3)
    write_mrc(folder / "A.mrc", rng.random(first_shape, np.float32), voxel_size=1.5)
    write_mrc(folder / "B.mrc", rng.random(second_shape, np.float32), voxel_size=second_voxel)


@pytest.mark.parametrize(
    "problem,options,words",
    [
        ("other box", ["--and", "B.mrc"], "--and: second map is 24 × 20 × 20 but A.mrc is 20 × 20 × 20"),
        ("other voxel size", ["--or", "B.mrc"], "--or: second map's voxel size 1.6 Å differs from A.mrc's 1.5 Å"),
        (
            "missing",
            ["--and-not", "nowhere.mrc"],
            "nowhere.mrc: --and-not: file not found; give an existing map of the same box as A.mrc",
        ),
        ("two at once", ["--and", "B.mrc", "--or-not", "B.mrc"], "give at most one of and, or, and_not, or_not"),
        ("helix without soft edge", ["--helix"], "--soft-edge: the helical crop needs a soft edge of at least 0.001"),
        ("helix on 2D", ["--helix", "--soft-edge", "2", "2D"], "--helix: the helical crop needs a 3D map"),
        ("helix on 4 slices", ["--helix", "--soft-edge", "2", "flat"], "--helix: the helical crop needs a 3D map"),
        ("z share", ["--helix", "--soft-edge", "2", "--z-percentage", "0.05"], "--z-percentage: input should be"),
        ("z share alone", ["--soft-edge", "2", "--z-percentage", "0.5"], "--z-percentage: is used only with"),
    ],
)
def test_bad_combinations_and_helices_are_refused_with_one_line(tmp_path, monkeypatch, capsys, problem, options, words):
    monkeypatch.chdir(tmp_path)
    first = {"2D": (1, 20, 20), "flat": (4, 20, 20)}.get(options[-1], (20, 20, 20))
    options = [o for o in options if o not in ("2D", "flat")]
    write_pair(tmp_path, (20, 20, 24) if problem == "other box" else first, 1.6 if "voxel" in problem else 1.5, first)
    assert main(["make-mask", "out.mrc", "--from-map", "A.mrc", "--threshold", "0.5", *options]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err
    assert not (tmp_path / "out.mrc").exists()


@pytest.mark.parametrize(
    "extra,words",
    [
        ({"and": "B.mrc", "or": "B.mrc"}, "mask.map.or: give at most one of and, or, and_not, or_not"),
        (
            {"or_not": "gone.mrc"},
            "gone.mrc: mask.map.or_not: file not found; give an existing map of the same box as A.mrc",
        ),
        ({"helix": True}, "mask.map.soft_edge_px: the helical crop needs a soft edge"),
        ({"and": "B.mrc", "other": 1}, "unknown field 'other'"),
    ],
)
def test_bad_job_combinations_are_refused_by_validate(tmp_path, capsys, extra, words):
    write_pair(tmp_path)
    job = write_job(
        tmp_path,
        {
            "version": 1,
            "name": "m",
            "inputs": {"volumes": "A.mrc"},
            "mask": {"source": "map", "map": {"file": "A.mrc", "threshold": 0.5, **extra}},
        },
    )
    assert main(["validate", str(job)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err
    assert not (tmp_path / "results").exists()


GOLDENS = Path(__file__).resolve().parents[1] / "data" / "relion_combination_goldens.npz"
# maskrun's options for each stored relion_mask_create mask (made by tests/data/make_relion_combination_goldens.py)
GOLDEN_OPTIONS = {
    "and": ["--and", "B.mrc"],
    "or": ["--or", "B.mrc"],
    "and_not": ["--and-not", "B.mrc"],
    "or_not": ["--or-not", "B.mrc"],
    "helix": ["--helix"],
    "helix_and_invert": ["--helix", "--and", "B.mrc", "--invert"],
}


@pytest.mark.parametrize("case", GOLDEN_OPTIONS)
def test_combinations_equal_the_stored_relion_masks(tmp_path, monkeypatch, case):
    """Without RELION too: its masks for the same phantoms, made once and kept in tests/data."""
    two_maps(tmp_path, SHAPES["box"])
    monkeypatch.chdir(tmp_path)
    theirs = np.load(GOLDENS)[case]
    ours = make_mask(tmp_path, *GOLDEN_OPTIONS[case])
    assert ours.shape == theirs.shape == SHAPES["box"] and 0 < ours.sum() < ours.size
    assert np.abs(ours - theirs).max() <= 1e-5


def test_map_mask_extend_and_soft_edge_in_angstrom_are_the_voxels_they_make(tmp_path):
    two_maps(tmp_path, SHAPES["cube"])  # 1.5 Å voxels
    in_voxels = make_mask(tmp_path)  # extend 2, soft edge 4 (voxels)
    out = tmp_path / "angstrom.mrc"
    common = ["--threshold", str(THRESHOLD), "--extend", "3 A", "--soft-edge", "6 Å"]
    assert main(["make-mask", str(out), "--from-map", str(tmp_path / "A.mrc"), *common]) == 0
    assert np.array_equal(mrcfile.read(out), in_voxels)
