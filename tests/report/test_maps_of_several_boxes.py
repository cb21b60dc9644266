"""The report of maps of several boxes and voxel sizes says each one's numbers, as ``validate`` does.

A new user's look: EMD-3197 (20³, 11.4 Å/px) and ref_model.mrc (100³, 3.54 Å/px) masked with
``radius: -1`` were reported as "2 maps of 100 x 100 x 100, 20 x 20 x 20 px, 11.4 Å/px; sphere:
radius 10 px (114 Å)", ref_model.mrc masked at 50 px; the profile drew the first box's mask
only, and the box-edge warning did not say which maps it meant.
"""

from __future__ import annotations

import json
import warnings

import matplotlib.image
import numpy as np
import pytest

from maskrun.cli.main import main
from maskrun.errors import MaskrunWarning
from maskrun.jobs.plan import plan_job
from maskrun.jobs.runner import run_job
from maskrun.report.build import build_report

from conftest import write_mrc
from job_files import write_job


def maps_job(folder, radius):
    job = {"version": 1, "name": f"r{radius}".replace(" ", ""), "inputs": {"volumes": ["small.mrc", "big.mrc"]}}
    job |= {"mask": {"source": "geometry", "geometry": {"shape": "sphere", "radius": radius}}}
    return write_job(folder, job, f"{job['name']}.yaml")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("boxes")
    rng = np.random.default_rng(0)
    write_mrc(folder / "small.mrc", rng.normal(size=(20, 20, 20)), voxel_size=2.0)
    write_mrc(folder / "big.mrc", rng.normal(size=(80, 80, 80)), voxel_size=1.0)
    return folder


@pytest.fixture(scope="module")
def reported(folder):
    """24 Å: 12 px in the 20 px box, cut by it; 24 px in the 80 px box, well inside."""
    job = maps_job(folder, "24 A")
    with pytest.warns(MaskrunWarning, match=r"radius 12 px is larger than half the box \(10 px\)"):
        run_job(job)
        plan = plan_job(job)
    return job, build_report(plan)


def test_the_summary_gives_each_maps_box_voxel_size_and_mask_as_validate_does(reported, capsys):
    job, report = reported
    assert report.summary[:3] == [
        "Masked: 2 maps: small.mrc (20 x 20 x 20 px, 2 Å/px); big.mrc (80 x 80 x 80 px, 1 Å/px)",
        "Mask for the 20 x 20 x 20 maps: sphere: radius 12 px (24 Å)",
        "Mask for the 80 x 80 x 80 maps: sphere: radius 24 px (24 Å)",
    ]
    with warnings.catch_warnings():  # planning's warning, told above (shown once per process)
        warnings.simplefilter("ignore", MaskrunWarning)
        assert main(["validate", str(job)]) == 0
    said = [line.strip() for line in capsys.readouterr().out.splitlines() if line.startswith("  mask for")]
    assert [line[0].upper() + line[1:] for line in said] == report.summary[1:3]  # one wording for both


def test_a_warning_of_one_box_says_which_maps_it_means(reported):
    _, report = reported
    small = "for the 20 x 20 x 20 maps (small.mrc): "
    assert report.warnings == [  # once, in the shape's words: planning's cut edge is then not said again
        small + "radius 12 px is larger than half the box (10 px): the mask is cut by the box edge",
    ]
    record = json.loads((report.folder.parent / "provenance" / "run.json").read_text())
    assert record["warnings"] == report.warnings


def test_the_profile_has_a_panel_for_each_box_named_by_its_maps(reported):
    _, report = reported
    assert matplotlib.image.imread(report.figures["profile.png"]).shape[:2] == (2 * 340, 640)
    assert "one panel per box, named by its mask file and its maps" in report.captions["profile.png"]


def test_a_warning_of_every_box_is_said_once_without_naming_them(folder):
    job = maps_job(folder, -1)  # each box's N // 2: a sphere touching each box's faces
    with pytest.warns(MaskrunWarning, match="kept region touches the box edge") as said:  # planning says it
        run_job(job)
        plan = plan_job(job)
    assert {str(w.message) for w in said} == {plan.warnings[0]}  # the same for both boxes: their maps not named
    report = build_report(plan)
    assert report.warnings == [
        "the mask's kept region touches the box edge (up to 1 there): its edge is cut by the box; "
        "make it smaller or move its centre"
    ]
    assert report.summary[1:3] == [
        "Mask for the 20 x 20 x 20 maps: sphere: radius 10 px (20 Å)",
        "Mask for the 80 x 80 x 80 maps: sphere: radius 40 px (40 Å)",
    ]


def test_a_warning_of_one_box_says_on_the_terminal_which_maps_it_means(folder, capsys):
    """The look: the terminal said 'warning: the mask's kept region touches the box edge' with no map named, where
    run.json said 'for the 48 x 48 x 48 maps (small48.mrc)'."""
    job = maps_job(folder, "22 A")  # 11 px in the 20 px box, cut by it; 22 px in the 80 px box, well inside
    assert main(["validate", str(job)]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if line.startswith("maskrun: warning:")]
    assert warned == [
        "maskrun: warning: for the 20 x 20 x 20 maps (small.mrc): radius 11 px is larger than half the box (10 px): "
        "the mask is cut by the box edge"
    ]
