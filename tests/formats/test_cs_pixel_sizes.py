"""A cryoSPARC set whose rows differ in pixel size is masked as the same particles in a STAR of two optics groups.

The cryoSPARC look: such a ``.cs`` was masked at its first row's pixel size (a note in
``validate`` only, none in ``maskrun run`` or the run record, and that size in every output
header), where the STAR route refuses lengths in Å and writes no pixel size.
"""

from __future__ import annotations

import json
import shutil

import mrcfile
import numpy as np
import pytest
import starfile

from maskrun.cli.main import main
from maskrun.formats.cryosparc import set_pixel_size
from maskrun.formats.registry import load_particle_set
from maskrun.jobs.runner import run_job

from conftest import shared_path
from job_files import validate_refuses, write_job

SECOND = 1.5  # rows 4-6 (0-based 3:6); the others keep the data's 1.31 Å
ROWS = "1.31 Å in 4 rows, 1.5 Å in 3 rows"
NOTE = (
    f"the particles' blob/psize_A holds different pixel sizes ({ROWS}): lengths in px apply to every image, a length "
    "in Å has no one meaning and is refused"
)


def two_sizes(folder):
    """The public 7-particle ``.cs`` with rows 4-6 at 1.5 Å, and the same particles as a RELION 3.1 STAR of two
    optics groups (in ``folder``)."""
    for name in ("empiar_10076_7.cs", "empiar_10076_7.mrc"):
        shutil.copy(shared_path("data", "public", name), folder / name)
    records = np.load(folder / "empiar_10076_7.cs")
    records["blob/psize_A"][3:6] = SECOND
    with open(folder / "mixed.cs", "wb") as file:
        np.save(file, records)
    groups = [2 if 3 <= row < 6 else 1 for row in range(7)]
    lines = [
        "# version 30001",
        "data_optics",
        "loop_",
        *(f"_{label}" for label in ("rlnOpticsGroup", "rlnOpticsGroupName", "rlnImagePixelSize", "rlnImageSize")),
        "_rlnImageDimensionality",
        "1 og1 1.31 320 2",
        f"2 og2 {SECOND} 320 2",
        "data_particles",
        "loop_",
        "_rlnImageName",
        "_rlnOpticsGroup",
        *(f"{row + 1}@empiar_10076_7.mrc {group}" for row, group in enumerate(groups)),
    ]
    (folder / "mixed.star").write_text("\n".join(lines) + "\n")
    return folder / "mixed.cs", folder / "mixed.star"


def job(particles, radius=110, soft_edge=8) -> dict:
    return {
        "version": 1,
        "name": particles.replace(".", "-"),
        "inputs": {"particles": particles},
        "mask": {"source": "geometry", "geometry": {"shape": "circular", "radius": radius, "soft_edge": soft_edge}},
        "fill": {"with": "value", "value": 0},
        "batch_size": 4,
    }


def test_rows_of_two_pixel_sizes_have_none_named_by_size_and_row_count(tmp_path):
    cs, _ = two_sizes(tmp_path)
    particles = load_particle_set(cs)
    assert particles.pixel_size_angstrom == 0
    assert particles.pixel_sizes_angstrom == pytest.approx((1.31, SECOND), abs=1e-5)
    assert particles.pixel_sizes_differ == f"blob/psize_A holds different pixel sizes ({ROWS})"
    assert particles.notes == [NOTE]


def test_a_length_in_angstrom_is_refused_as_for_the_star_of_two_optics_groups(tmp_path, capsys):
    two_sizes(tmp_path)
    line = validate_refuses(write_job(tmp_path, job("mixed.cs", "150 A", "10 A")), capsys)
    assert line.endswith(
        f"is given in Å, but the particles' blob/psize_A holds different pixel sizes ({ROWS}); give it in px, or "
        "mask the particles of each pixel size in a job of its own"
    )
    star_line = validate_refuses(write_job(tmp_path, job("mixed.star", "150 A", "10 A"), "star.yaml"), capsys)
    assert "is given in Å, but the particles' optics groups have different pixel sizes (1.31 Å in optics group 1" in (
        star_line
    )


def test_lengths_in_px_mask_as_the_star_route_and_write_no_pixel_size_in_the_headers(tmp_path, capsys):
    two_sizes(tmp_path)
    assert main(["validate", str(write_job(tmp_path, job("mixed.cs"), "cs.yaml"))]) == 0
    said = capsys.readouterr().out
    assert "box 320 x 320 px, pixel sizes 1.31 and 1.5 Å" in said and f"note: {NOTE}" in said
    from_cs = run_job(tmp_path / "cs.yaml").output_dir
    from_star = run_job(write_job(tmp_path, job("mixed.star"), "star.yaml")).output_dir
    for batch in ("batch_00001", "batch_00002"):
        with (
            mrcfile.open(from_cs / "stacks" / f"{batch}.mrcs") as a,
            mrcfile.open(from_star / "stacks" / f"{batch}.mrcs") as b,
        ):
            np.testing.assert_array_equal(a.data, b.data)
            assert a.voxel_size.x == b.voxel_size.x == 0  # no one pixel size: each row's is in the metadata
    assert json.loads((from_cs / "provenance" / "run.json").read_text())["notes"] == [NOTE]
    assert (
        np.load(from_cs / "particles.cs")["blob/psize_A"].tobytes()
        == np.load(tmp_path / "mixed.cs")["blob/psize_A"].tobytes()
    )  # each row keeps its own
    optics = starfile.read(from_cs / "particles.star")["optics"]
    assert optics["rlnImagePixelSize"].tolist() == pytest.approx([1.31, SECOND], abs=1e-5)


def test_maskrun_run_says_the_particles_notes_as_validate_does(tmp_path, capsys):
    """They were shown by validate only: a run of several pixel sizes said nothing of them."""
    two_sizes(tmp_path)
    assert main(["run", str(write_job(tmp_path, job("mixed.cs"))), "--cores", "1"]) == 0
    assert f"maskrun: note: {NOTE}" in capsys.readouterr().err


def test_rows_under_1_percent_apart_or_unusable_leave_one_pixel_size():
    records = np.zeros(4, dtype=[("blob/psize_A", "<f4")])
    records["blob/psize_A"] = [1.5, 1.505, 1.5, np.nan]
    pixel, notes, several, rows = set_pixel_size(records, 0.0)
    assert pixel == 1.5 and several == () and rows == ()
    assert notes == [  # the NaN is no third pixel size
        "1 row holds no usable blob/psize_A (nan): the others' pixel size is used for them",
        "2 pixel sizes in blob/psize_A; the first, 1.5 Å, is used",
    ]


def test_rows_of_which_none_is_usable_are_not_told_as_several_with_the_first_used():
    """A re-read: blob/psize_A of 0 and NaN was told '2 pixel sizes in blob/psize_A; the first, 0 Å, is used', and
    then that the header's pixel size is used."""
    records = np.zeros(3, dtype=[("blob/psize_A", "<f4")])
    records["blob/psize_A"] = [0.0, np.nan, 0.0]
    pixel, notes, several, rows = set_pixel_size(records, 1.31)
    assert pixel == pytest.approx(1.31) and several == () and rows == ()
    assert len(notes) == 1 and notes[0].startswith("blob/psize_A") and "1.31" in notes[0], notes


def test_project_mask_without_the_stacks_reads_each_rows_pixel_size(tmp_path, capsys):
    """Read from its table alone (`_without_stacks`), the set of two pixel sizes is told so, and projected as with
    its stacks: each row's shift rescaled to its own blob/psize_A."""
    from conftest import write_mrc
    from pose_sets import PIXEL, random_poses, soft_ellipsoid, write_cs

    write_mrc(tmp_path / "mask.mrc", soft_ellipsoid(48), voxel_size=PIXEL)
    cs = write_cs(tmp_path, random_poses(6, seed=5), 48)
    records = np.load(cs)
    records["blob/psize_A"][3:] = 2 * PIXEL
    with open(cs, "wb") as file:
        np.save(file, records)
    argv = ["project-mask", str(tmp_path / "mask.mrc"), str(cs)]
    assert main([*argv, str(tmp_path / "with.mrcs")]) == 0
    (tmp_path / "particles.mrcs").rename(tmp_path / "elsewhere.mrcs")
    capsys.readouterr()
    assert main([*argv, str(tmp_path / "without.mrcs")]) == 0
    assert (tmp_path / "without.mrcs").read_bytes() == (tmp_path / "with.mrcs").read_bytes()
    assert "the box (48 x 48) from blob/shape, each row's pixel size from blob/psize_A" in capsys.readouterr().err


def test_a_row_without_a_usable_pixel_size_is_no_second_pixel_size(tmp_path):
    """The second look: a row's blob/psize_A of 0 was told as '2 pixel sizes in blob/psize_A; the first is used'."""
    for name in ("empiar_10076_7.cs", "empiar_10076_7.mrc"):
        shutil.copy(shared_path("data", "public", name), tmp_path / name)
    records = np.load(tmp_path / "empiar_10076_7.cs")
    records["blob/psize_A"][2] = 0.0
    with open(tmp_path / "zero.cs", "wb") as file:
        np.save(file, records)
    particles = load_particle_set(tmp_path / "zero.cs")
    assert particles.pixel_size_angstrom == pytest.approx(float(records["blob/psize_A"][0]))
    assert not particles.pixel_sizes_angstrom
    assert "1 row holds no usable blob/psize_A (0): the others' pixel size is used for them" in particles.notes
    assert not any("pixel sizes in blob/psize_A" in note for note in particles.notes)
