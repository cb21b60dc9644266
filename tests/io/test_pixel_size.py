"""Pixel sizes from metadata that no detector gives (NaN, ≤ 0, absurd) are treated as unknown."""

from __future__ import annotations

import json
import shutil
import sqlite3

import mrcfile
import numpy as np
import pytest

from maskrun.cli.main import main
from maskrun.formats.cryosparc import cs_pixel_size
from maskrun.formats.registry import load_particle_set
from maskrun.formats.scipion import read_set
from maskrun.io.pixel_size import unusable_note, usable_pixel_size, usable_pixel_sizes
from maskrun.jobs.runner import run_job

from conftest import shared_path
from job_files import write_job

PARTICLES = "Runs/000002_ProtImportParticles/particles.sqlite"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1.31, 1.31), (0.01, 0.01), (100.0, 100.0), (np.float32(2.5), 2.5), ("1.5", 1.5)]
    + [(v, None) for v in (None, float("nan"), float("inf"), -1.0, 0.0, 0.0099, 100.01, 1.31e4, "None", "x")],
)
def test_usable_pixel_size(value, expected):
    assert usable_pixel_size(value) == expected


EDGES = [0.0, -0.0, -1.31, float("nan"), float("inf"), -float("inf"), 0.0099, 0.01, 1.31, 100.0, 100.01, 1.31e4]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_column_of_pixel_sizes_is_judged_by_the_single_values_rule(dtype):
    """cryoSPARC's blob/psize_A column had a vectorised copy of the rule; one rule now serves both."""
    column = np.array(EDGES, dtype=dtype)
    expected = [usable_pixel_size(value) is not None for value in column]
    assert usable_pixel_sizes(column).tolist() == expected
    assert sum(expected) == (3 if dtype == np.float64 else 2)  # float32's 0.01 is 0.0099999998: below the range


def test_the_note_says_what_is_used_instead():
    assert unusable_note("blob/psize_A", "nan", 1.5).endswith("; the image header's 1.5 Å/px is used")
    assert unusable_note("_samplingRate", "0", 0.0).endswith("; the pixel size is unknown")
    assert "not a pixel size from 0.01 to 100 Å/px" in unusable_note("x", "1e+04")


def records(*sizes: float) -> np.ndarray:
    array = np.zeros(len(sizes), dtype=[("blob/psize_A", "<f4")])
    array["blob/psize_A"] = sizes
    return array


def test_a_cs_pixel_size_falls_back_to_the_header_with_a_note():
    assert cs_pixel_size(records(1.31, 1.31), 1.31) == (pytest.approx(1.31), [])
    assert cs_pixel_size(records(1.31, 1.31), 0.0) == (pytest.approx(1.31), [])  # a header without one: no note
    pixel, notes = cs_pixel_size(records(np.nan, np.nan), 2.0)
    assert pixel == 2.0 and notes == [
        "blob/psize_A is nan, not a pixel size from 0.01 to 100 Å/px; the image header's 2 Å/px is used"
    ]
    assert cs_pixel_size(records(-1.0), 0.0)[0] == 0.0
    assert cs_pixel_size(records(1e4), float("nan"))[0] == 0.0
    assert cs_pixel_size(np.zeros(2, dtype=[("uid", "<u8")]), 3.0) == (3.0, [])


@pytest.mark.parametrize("writer", ["write_star31", "write_cs", "write_scipion"])
def test_a_header_that_disagrees_with_the_metadata_is_noted_for_star_cs_and_scipion_alike(tmp_path, capsys, writer):
    """The stacks' header says 1.5 Å/px, the metadata 2 Å/px: the metadata's is used, and the note says so."""
    import pose_sets

    source = getattr(pose_sets, writer)(tmp_path, pose_sets.random_poses(4), 32)
    if source.suffix == ".cs":
        table = np.load(source)
        table["blob/psize_A"] = 2.0
        with open(source, "wb") as file:
            np.save(file, table)
    elif source.suffix == ".sqlite":
        db = sqlite3.connect(source)
        with db:
            db.execute("UPDATE Properties SET value = '2.0' WHERE key = '_samplingRate'")
        db.close()
    else:
        source.write_text(source.read_text().replace(f"1 {pose_sets.PIXEL} 32 2", "1 2.0 32 2"))
    job = {"version": 1, "name": "p", "inputs": {"particles": source.name}, "mask": {"source": "geometry"}}
    job["mask"]["geometry"] = {"shape": "circular", "radius": "20 A"}
    assert main(["validate", str(write_job(tmp_path, job))]) == 0
    printed = capsys.readouterr().out
    what = {".cs": "the metadata (blob/psize_A)", ".sqlite": "the metadata (_samplingRate)"}.get(
        source.suffix, "the metadata"
    )
    assert f"note: stack headers give 1.5 Å/px but {what} 2 Å/px; the masked stacks use the metadata's" in printed
    assert "radius 10 px (20 Å)" in printed  # converted at the metadata's


@pytest.mark.parametrize("bad", [np.nan, 0.0, -1.31, 1.31e4])
def test_a_cs_whose_pixel_size_is_unusable_never_reaches_the_star(tmp_path, capsys, bad):
    """The example stack's header has no voxel size (cell 0): with no usable size, exit 2 and nothing written."""
    for name in ("empiar_10076_7.cs", "empiar_10076_7.mrc"):
        shutil.copy(shared_path("data", "public", name), tmp_path / name)
    cs = np.load(tmp_path / "empiar_10076_7.cs")
    cs["blob/psize_A"] = bad
    with open(tmp_path / "bad.cs", "wb") as file:
        np.save(file, cs)
    job = {
        "version": 1,
        "name": "cs",
        "inputs": {"particles": "bad.cs"},
        "mask": {"source": "geometry", "geometry": {"shape": "circular", "radius": 100}},
    }
    job_file = write_job(tmp_path, job)
    before = sorted(tmp_path.rglob("*"))
    assert main(["run", str(job_file)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert sorted(tmp_path.rglob("*")) == before
    assert len(err) == 1 and "blob/psize_A: gives no usable pixel size: it is" in err[0]
    assert "(the RELION particles.star written beside particles.cs needs one)" in err[0]  # run writes one
    assert "set blob/psize_A in the .cs to the images' pixel size in Å" in err[0]


@pytest.mark.parametrize("bad", ["nan", "0", "-2", "12000", "None?"])
def test_a_scipion_sampling_that_is_unusable_gives_way_to_the_header(tmp_path, bad):
    project = tmp_path / "project"
    shutil.copytree(shared_path("data", "formats", "scipion", "project"), project)
    with sqlite3.connect(project / PARTICLES) as connection:
        connection.execute("UPDATE Properties SET value = ? WHERE key = '_samplingRate'", (bad,))
    assert read_set(project / PARTICLES).sampling_angstrom == 0.0
    assert load_particle_set(project / PARTICLES).notes == [unusable_note("_samplingRate", bad)]
    stack = project / "Runs/000002_ProtImportParticles/extra/particles.mrcs"
    header = float(mrcfile.open(stack, header_only=True).voxel_size.x)
    job = {
        "version": 1,
        "name": "s",
        "inputs": {"particles": PARTICLES},
        "mask": {"source": "geometry", "geometry": {"shape": "circular", "radius": 20}},
        "report": False,
    }
    out = run_job(write_job(project, job)).output_dir
    assert json.loads((out / "provenance/run.json").read_text())["job_resolved"]["pixel_size_angstrom"] == header
    with mrcfile.open(out / "stacks/batch_00001.mrcs", header_only=True) as masked:
        assert float(masked.voxel_size.x) == pytest.approx(header) and header > 0
