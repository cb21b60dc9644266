"""Issue 22's defect kinds through the real command, where the other files check less (see the audit).

Every refusal runs ``python -m maskrun`` in a child process: exit 2, exactly one stderr line
naming the file and the cause, no traceback, and the folder as it was — the same paths
(folders and links too) with the same sha256, so nothing is left behind. Successful cases
check that the inputs are byte for byte as they were and that only the outputs were added.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import mrcfile
import numpy as np
import pytest
import yaml

from commands import maskrun, refused_line
from conftest import shared_path, write_mrc, write_spider
from job_files import example_folder, job_with, write_job

SET = "Runs/000002_ProtImportParticles/particles.sqlite"


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under ``folder``: a file's sha256, ``dir`` or a link's target."""
    seen = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            seen[key] = f"link {path.readlink()}"
        elif path.is_dir():
            seen[key] = "dir"
        else:
            seen[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return seen


# --- cryoSPARC .cs ----------------------------------------------------------------------------


def _cs_job(folder: Path, change: Callable[[np.ndarray], np.ndarray] | bytes) -> list:
    for name in ("empiar_10076_7.cs", "empiar_10076_7.mrc"):
        shutil.copy(shared_path("data", "public", name), folder / name)
    path = folder / "bad.cs"
    if isinstance(change, bytes):
        path.write_bytes(change)
    else:
        with open(path, "wb") as file:
            np.save(file, change(np.load(folder / "empiar_10076_7.cs")))
    job = {
        "version": 1,
        "name": "cs",
        "inputs": {"particles": "bad.cs"},
        "mask": {"source": "geometry", "geometry": {"shape": "circular", "radius": 100}},
    }
    return ["validate", write_job(folder, job)]


def _retyped(name: str, dtype: str, value: object) -> Callable[[np.ndarray], np.ndarray]:
    def change(records: np.ndarray) -> np.ndarray:
        out = records.astype([(n, dtype if n == name else records.dtype[n]) for n in records.dtype.names])
        out[name][2] = value
        return out

    return change


def _set(name: str, value: object, rows: slice = slice(1, 2)) -> Callable[[np.ndarray], np.ndarray]:
    def change(records: np.ndarray) -> np.ndarray:
        records[name][rows] = value
        return records

    return change


def _damaged_header(raw_header: str) -> bytes:
    text = raw_header.encode()
    padded = text + b" " * ((64 - (10 + len(text) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(padded).to_bytes(2, "little") + padded


# --- Scipion .sqlite --------------------------------------------------------------------------


def _scipion(sql: str | None = None, raw: bytes | None = None, where: str = "project") -> Callable[[Path], list]:
    def make(folder: Path) -> list:
        project = folder / where
        shutil.copytree(shared_path("data", "formats", "scipion", "project"), project)
        path = project / SET
        if raw is not None:
            path.write_bytes(raw)
        if sql is not None:
            with sqlite3.connect(path) as connection:
                columns = dict(connection.execute("SELECT label_property, column_name FROM Classes"))
                connection.execute(sql.format(**{k.lstrip("_"): v for k, v in columns.items()}))
            connection.close()
        job = job_with(inputs__particles=SET, mask__geometry={"shape": "circular", "radius": 20})
        return ["validate", write_job(project, job)]

    return make


def _job(**changes) -> Callable[[Path], list]:
    def make(folder: Path) -> list:
        example_folder(folder, particles=12, maps=0)
        return ["validate", write_job(folder, yaml.safe_dump(job_with(**changes)))]

    return make


def _cleanup_removes_everything(folder: Path) -> list:
    density = np.zeros((16, 16, 16), np.float32)
    density[4:6, 4:6, 4:6] = 1
    write_mrc(folder / "blobs.mrc", density, voxel_size=1.0)
    write_mrc(folder / "v.mrc", np.ones((16, 16, 16)), voxel_size=1.0)
    mask = {"source": "map", "map": {"file": "blobs.mrc", "threshold": 0.5, "min_component_voxels": 30}}
    return [
        "run",
        write_job(folder, job_with(inputs__particles=None, inputs__volumes="v.mrc", mask=mask)),
        "--cores",
        "1",
    ]


def _spider_to_spider(folder: Path) -> list:
    source = write_spider(folder / "in.spi", np.ones((1, 16, 16)))
    return ["mask", source, folder / "out.spi", "--shape", "circular"]


def _star(change: Callable[[str], str]) -> Callable[[Path], list]:
    def make(folder: Path) -> list:
        example_folder(folder, particles=12, maps=0)
        star = folder / "particles.star"
        star.write_text(change(star.read_text()))
        return ["validate", write_job(folder, job_with())]

    return make


REFUSALS: list[tuple[str, Callable[[Path], list], str]] = [
    # (id, case, words on the one stderr line; {f} is the test's folder)
    ("cs-empty", lambda f: _cs_job(f, b""), "{f}/bad.cs: is empty (0 bytes)"),
    (
        "cs-negative-idx",
        lambda f: _cs_job(f, _retyped("blob/idx", "<i4", -4)),
        "blob/idx: row 3 (index 2): -4 is negative",
    ),
    (
        "cs-idx-beyond-2-63",
        lambda f: _cs_job(f, _retyped("blob/idx", "<u8", 2**64 - 1)),
        "blob/idx: row 3 (index 2): 18446744073709551615 is too large",
    ),
    (
        "cs-path-not-utf8",
        lambda f: _cs_job(f, _set("blob/path", b"caf\xe9.mrc")),
        "blob/path: row 2 (index 1): b'caf\\xe9.mrc' is not UTF-8 text",
    ),
    (
        "cs-psize-as-text",
        lambda f: _cs_job(f, _retyped("blob/psize_A", "S8", b"1.31 A")),
        "blob/psize_A: must be a number (one per row), not |S8",
    ),
    (
        "cs-header-unbalanced",
        lambda f: _cs_job(f, _damaged_header("{'descr': [('blob/idx', '<u4'), 'fortran_order': False, ")),
        "bad.cs: cannot be read as a cryoSPARC .cs (a NumPy file): its header is damaged",
    ),
    (
        "cs-pixel-size-nan-run",
        lambda f: ["run", _cs_job(f, _set("blob/psize_A", np.nan, slice(None)))[1], "--cores", "1"],
        "blob/psize_A: gives no usable pixel size",
    ),
    (
        "sqlite-negative-index",
        _scipion('UPDATE Objects SET "{index}" = -3 WHERE id = 4'),
        "_index: item 4: -3 is negative",
    ),
    (
        "sqlite-text-index",
        _scipion("UPDATE Objects SET \"{index}\" = 'two' WHERE id = 4"),
        "_index: item 4: 'two' is not a whole number",
    ),
    (
        "sqlite-text-enabled",
        _scipion("UPDATE Objects SET enabled = 'yes' WHERE id = 4"),
        "enabled: item 4: 'yes' is not a whole number",
    ),
    ("sqlite-huge-index", _scipion('UPDATE Objects SET "{index}" = 1e20 WHERE id = 4'), "_index: item 4: 1e+20"),
    (
        "sqlite-not-sqlite",
        _scipion(raw=b"# not a database\n" * 40),
        "particles.sqlite: is not a Scipion set file (file is not a database)",
    ),
    (
        "sqlite-in-a-folder-named-#?%",
        _scipion('UPDATE Objects SET "{index}" = -3 WHERE id = 4', where="a#b?c%20d/project"),
        "a#b?c%20d/project/Runs/000002_ProtImportParticles/particles.sqlite: _index: item 4: -3 is negative",
    ),
    (
        "job-radius-minus-2-A",
        _job(mask__geometry={"shape": "circular", "radius": "-2 A"}),
        "'-2 A' is negative; a length must be > 0",
    ),
    (
        "job-map-cleanup-removes-everything",
        _cleanup_removes_everything,
        "mask.map.min_component_voxels: the clean-up removes every component",
    ),
    ("mask-in-spi-out-spi", _spider_to_spider, "{f}/out.spi: maskrun writes MRC files only"),
    (
        "job-particles-missing",
        _job(inputs__particles="nosuch.star"),
        "{f}/nosuch.star: inputs.particles: file not found",
    ),
    (
        "job-mask-file-missing",
        _job(mask={"source": "file", "file": "nosuch.mrc"}),
        "{f}/nosuch.mrc: mask.file: file not found",
    ),
    (
        "job-projection-file-missing",
        _job(mask={"source": "projection", "projection": {"file": "nosuch.mrc"}}),
        "{f}/nosuch.mrc: mask.projection.file: file not found",
    ),
    (
        "make-mask-pixel-size-inf",
        lambda f: ["make-mask", f / "m.mrc", "--shape", "sphere", "--box", "16", "--pixel-size", "inf"],
        "--pixel-size: must be a positive number of Å per pixel; got inf",
    ),
]


@pytest.mark.parametrize("case,words", [row[1:] for row in REFUSALS], ids=[row[0] for row in REFUSALS])
def test_a_refusal_is_one_line_and_leaves_the_folder_as_it_was(tmp_path, case, words):
    args = case(tmp_path)
    before = snapshot(tmp_path)
    line = refused_line(maskrun(*args))
    assert line.startswith(f"maskrun {args[0]}: error: ")
    assert words.format(f=tmp_path) in line
    assert snapshot(tmp_path) == before


def test_a_locked_scipion_set_is_refused_and_left_as_it_was(tmp_path):
    args = _scipion()(tmp_path)
    before = snapshot(tmp_path)
    writer = sqlite3.connect(tmp_path / "project" / SET, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        line = refused_line(maskrun(*args))
    finally:
        writer.rollback()
        writer.close()
    assert line.endswith(
        "particles.sqlite: the set is locked by another program (Scipion still writing?); wait and retry"
    )
    assert snapshot(tmp_path) == before


# Defects the fuzz found in the STAR reader and the reference resolver.
STAR_DEFECTS = [
    pytest.param(
        _star(lambda text: text.replace("_rlnMicrographName #2", "_", 1)),
        "particles.star: line ",
        id="star-label-with-no-name",
    ),
    pytest.param(
        _star(lambda text: text.replace("000001@Extract/mic_001.mrcs", "99999999999999999999@Extract/mic_001.mrcs", 1)),
        "must be a whole number from 1",
        id="star-image-number-beyond-int64",
    ),
    pytest.param(
        _star(lambda text: text.replace("Extract/mic_001.mrcs", "Extract/" + "m" * 300 + ".mrcs", 1)),
        "not found",
        id="star-stack-name-too-long",
    ),
]


@pytest.mark.parametrize("case,words", STAR_DEFECTS)
def test_star_defects_found_by_the_fuzz(tmp_path, case, words):
    args = case(tmp_path)
    before = snapshot(tmp_path)
    line = refused_line(maskrun(*args))
    assert words in line
    assert snapshot(tmp_path) == before


# --- what runs: inputs unchanged, only outputs added -------------------------------------------


def added(before: dict[str, str], after: dict[str, str]) -> set[str]:
    """The paths added; every path of ``before`` still there with the same content."""
    assert {k: after.get(k) for k in before} == before
    return set(after) - set(before)


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_inf_outside_the_mask_is_counted_and_only_the_output_is_added(tmp_path, value):
    data = np.random.default_rng(5).normal(size=(3, 16, 16)).astype(np.float32)
    data[0, 0, 0] = data[2, 15, 15] = value  # outside a disc of radius 4
    source = write_mrc(tmp_path / "in.mrcs", data)
    before = snapshot(tmp_path)
    proc = maskrun("mask", source, tmp_path / "out.mrcs", "--shape", "circular", "--radius", "4")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    notes = [line for line in proc.stderr.splitlines() if line.startswith("maskrun: note: ")]
    assert any(
        "2 NaN or inf pixels in the input (in images 1, 3): 0 kept" in n and "2 given the fill" in n for n in notes
    )
    assert added(before, snapshot(tmp_path)) == {"out.mrcs"}
    assert np.isfinite(mrcfile.read(tmp_path / "out.mrcs")).all()


def test_a_set_in_a_folder_named_with_uri_characters_runs_and_only_adds_its_output(tmp_path):
    folder = "a#b?c%3Fd 100%"
    args = _scipion(where=f"{folder}/project")(tmp_path)
    before = snapshot(tmp_path)
    validated = maskrun(*args)
    assert validated.returncode == 0, validated.stderr
    assert snapshot(tmp_path) == before  # read-only: no journal, no file named after a URI
    ran = maskrun("run", args[1], "--cores", "1")
    assert ran.returncode == 0, ran.stderr
    new = added(before, snapshot(tmp_path))
    assert all(path.startswith(f"{folder}/project/results") for path in new)


STAR_PIXEL = "\t2.000000\t64\t2"  # the example optics row: pixel size, box, dimensionality


@pytest.mark.parametrize("bad", ["nan", "-2", "12000"])
def test_an_unusable_star_pixel_size_never_reaches_the_masked_stacks(tmp_path, bad):
    example_folder(tmp_path, particles=12, maps=0)
    star = tmp_path / "particles.star"
    text = star.read_text()
    assert STAR_PIXEL in text
    star.write_text(text.replace(STAR_PIXEL, f"\t{bad}\t64\t2"))
    job = write_job(tmp_path, job_with(report=False))
    before = snapshot(tmp_path)
    proc = maskrun("validate", job)
    assert proc.returncode == 0 and f"the metadata's pixel size is {bad}" in proc.stdout
    ran = maskrun("run", job, "--cores", "1")
    assert ran.returncode == 0 and "Traceback" not in ran.stderr, ran.stderr
    new = added(before, snapshot(tmp_path))
    assert all(path.startswith("results") for path in new)
    out = tmp_path / "results" / "t"
    for stack in sorted((out / "stacks").glob("*.mrcs")):
        with mrcfile.open(stack, header_only=True) as masked:
            assert tuple(masked.voxel_size.tolist()) == (2.0, 2.0, 2.0)  # the stack header's, not the STAR's
    record = yaml.safe_load((out / "provenance" / "run.json").read_text())
    assert record["job_resolved"]["pixel_size_angstrom"] == 2.0
