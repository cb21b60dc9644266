"""Rows named in messages are numbered as the file numbers them: disabled rows (``_enabled`` ≤ 0), which a set
drops, still count (an Xmipp user disabling rows 2 and 3 was told "row 8" of a problem in the file's 10th row)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from maskrun.errors import UserError
from maskrun.formats.poses import poses_of
from maskrun.formats.registry import convert_example, load_particle_set
from maskrun.io.star import Loop, read_metadata, write_metadata

from job_files import example_folder, job_with, validate_refuses, write_job

DISABLED = (2, 3)  # the file's rows disabled, from 1
ROW = 10  # the file's row given a mistake


def particle_file(folder: Path, suffix: str, disabled: tuple[int, ...] = DISABLED, **row_values: str) -> Path:
    """The example's particles as ``suffix`` (an Xmipp .xmd, or a RELION STAR with an ``_enabled`` column) with rows
    ``disabled`` disabled and row `ROW`'s ``row_values`` (by column) replaced."""
    example_folder(folder, particles=20, maps=0)
    path = convert_example(folder / "particles.star", "xmd") if suffix == ".xmd" else folder / "particles.star"
    blocks, comments = read_metadata(path)
    name = "noname" if suffix == ".xmd" else "particles"
    table = blocks[name]
    assert isinstance(table, Loop)
    columns = {c: table.column(c) for c in table.columns}
    columns.setdefault("enabled", ["1"] * len(table))
    for row in disabled:
        columns["enabled"][row - 1] = "0"
    for column, value in row_values.items():
        columns[column][ROW - 1] = value
    blocks[name] = Loop.from_columns(columns)
    write_metadata(blocks, path, comments)
    return path


IMAGE = {".xmd": "image", ".star": "rlnImageName"}


@pytest.mark.parametrize("suffix", [".xmd", ".star"])
def test_an_image_beyond_its_stack_is_named_by_the_files_row(tmp_path, capsys, suffix):
    path = particle_file(tmp_path, suffix, **{IMAGE[suffix]: "000099@Extract/mic_001.mrcs"})
    line = validate_refuses(write_job(tmp_path, job_with(inputs__particles=path.name)), capsys)
    assert f"{IMAGE[suffix]}: row {ROW}: '000099@Extract/mic_001.mrcs' is beyond the end of mic_001.mrcs" in line


@pytest.mark.parametrize("suffix", [".xmd", ".star"])
def test_a_missing_stack_is_named_by_the_files_row(tmp_path, capsys, suffix):
    path = particle_file(tmp_path, suffix, **{IMAGE[suffix]: "000001@Extract/gone.mrcs"})
    line = validate_refuses(write_job(tmp_path, job_with(inputs__particles=path.name)), capsys)
    assert f"{IMAGE[suffix]}: row {ROW}: stack 'Extract/gone.mrcs' not found" in line


def test_a_broken_link_is_named_by_the_files_row(tmp_path, capsys):
    path = particle_file(tmp_path, ".xmd", image="000001@Extract/link.mrcs")
    (tmp_path / "Extract" / "link.mrcs").symlink_to(tmp_path / "nowhere.mrcs")
    line = validate_refuses(write_job(tmp_path, job_with(inputs__particles=path.name)), capsys)
    assert f"image: row {ROW}: stack {tmp_path / 'Extract' / 'link.mrcs'} is a broken link" in line


def test_a_bad_image_number_is_named_by_the_files_row(tmp_path, capsys):
    path = particle_file(tmp_path, ".xmd", image="x@Extract/mic_001.mrcs")
    line = validate_refuses(write_job(tmp_path, job_with(inputs__particles=path.name)), capsys)
    assert f"image: row {ROW}: 'x@Extract/mic_001.mrcs': the image number before '@'" in line


def test_a_row_without_a_pose_is_named_by_the_files_row(tmp_path):
    path = particle_file(tmp_path, ".xmd")
    blocks, comments = read_metadata(path)
    table = blocks["noname"]
    assert isinstance(table, Loop)
    angles = {name: ["10"] * len(table) for name in ("angleRot", "angleTilt", "anglePsi")}
    angles["angleTilt"][ROW - 1] = "nan"
    blocks["noname"] = table.with_columns(angles)
    write_metadata(blocks, path, comments)
    particles = load_particle_set(path)
    assert len(particles) == 20 - len(DISABLED)
    with pytest.raises(UserError, match=rf"row {ROW} has no usable pose: its tilt angle \(angleTilt\) is missing"):
        poses_of(particles)


def test_rows_are_numbered_as_kept_when_none_is_disabled(tmp_path, capsys):
    path = particle_file(tmp_path, ".xmd", disabled=(), image="000001@Extract/gone.mrcs")
    line = validate_refuses(write_job(tmp_path, job_with(inputs__particles=path.name)), capsys)
    assert f"image: row {ROW}: stack 'Extract/gone.mrcs' not found" in line
    assert load_particle_set(path, need_stacks=False).row_numbers is None
    assert np.array_equal(
        load_particle_set(particle_file(tmp_path / "d", ".xmd")).row_numbers,
        [n for n in range(1, 21) if n not in DISABLED],
    )


def test_a_set_whose_rows_are_all_disabled_says_so(tmp_path, capsys):
    """Was told "lists no (enabled) particles": the user had to guess that every row was disabled."""
    path = particle_file(tmp_path, ".xmd", disabled=tuple(range(1, 21)))
    line = validate_refuses(write_job(tmp_path, job_with(inputs__particles=path.name)), capsys)
    assert line.endswith(
        "particles.xmd: block data_noname lists no enabled particles: all 20 rows have _enabled <= 0; enable those "
        "to mask (_enabled 1)"
    )


@pytest.mark.parametrize(
    ("column", "fix"),
    [
        ("imageRef", "to mask the images of _imageRef, name the column with inputs.image_column"),
        ("weight", "is this a particle file? (inputs.image_column names an image column of another name)"),
    ],
)
def test_an_xmd_without_the_image_column_names_inputs_image_column(tmp_path, capsys, column, fix):
    """Was told "is this a particle file?" alone: an Xmipp set naming its images _imageRef is one."""
    (tmp_path / "a.xmd").write_text(f"# XMIPP_STAR_1 *\n#\ndata_noname\nloop_\n _{column}\n _enabled\n1@s.mrcs 1\n")
    line = validate_refuses(write_job(tmp_path, job_with(inputs__particles="a.xmd")), capsys)
    assert line.endswith(
        f"a.xmd: no block has an image column (_rlnImageName in RELION STAR, _image in Xmipp .xmd); {fix}"
    )
