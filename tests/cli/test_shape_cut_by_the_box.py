"""A shape moved off-centre so that the box cuts it: `maskrun mask` and `make-mask` say so, as a job does.

Before, only a radius larger than half the box was warned of: a sphere of radius 20 moved 25 px
in a 64 px box (reaching 13 px past the box's face) gave no word in either command.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from maskrun.api import run_job
from maskrun.cli.main import main
from maskrun.errors import MaskrunWarning
from maskrun.jobs.plan import plan_job

from conftest import write_mrc
from job_files import write_job

CUT = "maskrun: warning: the mask's kept region touches the box edge (up to 1 there): its edge is cut by the box; "


@pytest.fixture
def volume(tmp_path, rng):
    return write_mrc(tmp_path / "v.mrc", rng.normal(size=(64, 64, 64)).astype(np.float32))


def warnings_of(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("maskrun: warning:")]


@pytest.mark.parametrize("centre", [["25", "0", "0"], ["0", "-25", "0"], ["0A", "0A", "14A"]])
def test_mask_warns_of_a_moved_sphere_the_box_cuts(tmp_path, volume, capsys, centre):
    """14 Å at 1.5 Å/px is 9.3 px: the sphere of 24 px reaches 1.3 px past z's face."""
    shape = ["--shape", "sphere", "--radius", "24" if centre[2] == "14A" else "20", "--center", *centre]
    assert main(["mask", str(volume), str(tmp_path / "o.mrc"), *shape]) == 0
    assert warnings_of(capsys) == [CUT + "make it smaller or move its centre"]


def test_make_mask_warns_of_a_moved_box_the_box_cuts(tmp_path, capsys):
    shape = ["--shape", "box", "--box-size", "20", "--center", "0", "25", "0"]
    assert main(["make-mask", str(tmp_path / "m.mrc"), "--box", "64", "64", "64", *shape]) == 0
    assert warnings_of(capsys) == [CUT + "make it smaller or move its centre"]


@pytest.mark.parametrize(
    "shape",
    [
        ["--shape", "sphere", "--radius", "20", "--center", "10", "0", "0"],  # moved, within the box
        ["--shape", "sphere", "--radius", "20", "--center", "25", "0", "0", "--invert"],  # keeps the box's edge
        ["--shape", "sphere", "--radius", "20"],  # centred
    ],
)
def test_a_moved_shape_within_the_box_or_an_inverted_one_is_not_warned_of(tmp_path, volume, capsys, shape):
    assert main(["mask", str(volume), str(tmp_path / "o.mrc"), *shape]) == 0
    assert warnings_of(capsys) == []


def test_a_moved_cylinder_reaching_only_the_z_faces_is_judged_as_a_centred_one(tmp_path, volume, capsys):
    """Its default height (the box) reaches the z faces, centred or moved in x: the move is not what cuts it."""
    shape = ["--shape", "cylinder", "--radius", "10", "--center", "5", "0", "0"]
    assert main(["mask", str(volume), str(tmp_path / "o.mrc"), *shape]) == 0
    assert warnings_of(capsys) == []


def volume_job(tmp_path, mask: dict) -> dict:
    return {"version": 1, "name": "j", "inputs": {"volumes": "v.mrc"}, "mask": mask, "report": False}


def test_a_job_says_a_moved_shape_is_cut_once_in_its_own_words(tmp_path, volume):
    """Once, and with nothing else: a 3D cylinder's centre also made pydantic warn as the job was planned."""
    geometry = {"shape": "cylinder", "radius": 10, "center": [5, 0, 0]}
    job = write_job(tmp_path, volume_job(tmp_path, {"source": "geometry", "geometry": geometry}))
    with warnings.catch_warnings(record=True) as given:
        warnings.simplefilter("always")
        plan_job(job)
    assert [str(w.message) for w in given] == [
        CUT.removeprefix("maskrun: warning: ") + "it reaches only the box's two z faces: make "
        "mask.geometry.height smaller (by default the box, 64 px)"
    ]


def test_an_expressions_moved_term_cut_by_the_box_is_not_warned_of_where_the_whole_mask_is_not(tmp_path, volume):
    """The term reaches past the face; what the expression keeps of it (inside a centred sphere) does not."""
    moved = {"geometry": {"shape": "sphere", "radius": 20, "center": [25, 0, 0]}}
    centred = {"geometry": {"shape": "sphere", "radius": 16}}
    mask = {"source": "expression", "expression": {"all_of": [moved, centred]}}
    job = write_job(tmp_path, volume_job(tmp_path, mask))
    with warnings.catch_warnings():
        warnings.simplefilter("error", MaskrunWarning)
        summary = run_job(job)
    assert summary.units_run == 1
