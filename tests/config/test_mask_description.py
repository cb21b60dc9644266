"""A mask section in words (`describe_mask`), as ``validate`` and the report print it; and ``mode: scaled`` refusing
the settings of ``support``."""

from __future__ import annotations

import numpy as np
import pytest

from maskrun.cli.main import main
from maskrun.config.mask_description import describe_mask

from conftest import write_mrc
from job_files import validate_refuses, write_job
from pose_sets import PIXEL, random_poses, write_star31

PROJECTION = {"file": "/data/region3d.mrc", "mode": "support", "threshold": 0.1, "soft_edge_px": 5.0}


@pytest.mark.parametrize(
    "projection, words",
    [
        (
            {**PROJECTION, "sampling": "auto", "coarsening": 2.0},
            "region3d.mrc projected at each particle's pose: support above 0.1 of each projection's peak, soft edge "
            "5 px (10 Å); sampling auto: projected at 1/2 of the box's frequencies (the masks checked within "
            "tolerance)",
        ),
        (
            {**PROJECTION, "mode": "scaled", "sampling": "full", "coarsening": 1},
            "region3d.mrc projected at each particle's pose: scaled (each projection divided by its peak); "
            "sampling full: projected in full, as relion_project does",
        ),
        (
            {**PROJECTION, "sampling": "auto", "coarsening": 8 / 3},
            "region3d.mrc projected at each particle's pose: support above 0.1 of each projection's peak, soft edge "
            "5 px (10 Å); sampling auto: projected at 3/8 of the box's frequencies (the masks checked within "
            "tolerance)",
        ),
        (  # a record written before the sampling chosen was kept
            {**PROJECTION, "soft_edge_px": 0.0, "sampling": "auto"},
            "region3d.mrc projected at each particle's pose: support above 0.1 of each projection's peak, hard edge; "
            "sampling auto",
        ),
    ],
)
def test_a_projected_mask_says_its_file_mode_threshold_edge_and_sampling(projection, words):
    mask = {"source": "projection", "geometry": None, "file": None, "projection": projection}
    assert describe_mask(mask, 2.0) == words


@pytest.mark.parametrize(
    "follow, tail",
    [
        (None, ""),
        ("offsets", "; placed at each particle's offset"),
        ("pose", "; placed at each particle's offset and turned by its psi"),
    ],
)
def test_a_shape_says_whether_it_follows_each_particle(follow, tail):
    geometry = {"shape": "box", "box_size": [60.0, 20.0], "center": [0.0, 0.0], "invert": False}
    mask = {"source": "geometry", "geometry": geometry, "follow": follow}
    assert describe_mask(mask, 0) == f"box: box size 60 px x 20 px{tail}"


def test_a_map_threshold_rule_is_said_as_written_before_the_run():
    mask = {"map": {"file": "/m/class_1.mrc", "threshold": "3 sigma", "soft_edge_px": 4.0}}
    assert describe_mask(mask, 1.0) == "made from class_1.mrc: threshold 3 sigma, soft edge 4 px (4 Å)"


def test_a_map_mask_names_its_second_map_and_every_step_it_takes():
    params = {"file": "/m/class_1.mrc", "threshold": 0.02, "lowpass_angstrom": 15, "extend_px": 3, "soft_edge_px": 6}
    params |= {"and_not": "/m/class_2.mrc", "keep_largest_component": True, "min_component_voxels": 50}
    params |= {"fill_holes": True, "helix": True, "z_percentage": 0.3, "invert": False}
    assert describe_mask({"map": params}, 2.0) == (
        "made from class_1.mrc: low-pass 15 Å, and not class_2.mrc, threshold 0.02, extend 3 px (6 Å), soft edge "
        "6 px (12 Å), largest piece only, pieces of at least 50 voxels, holes filled, helical crop to the central "
        "30% in z"
    )


def test_a_shape_on_maps_of_two_boxes_is_said_for_each_box(tmp_path, capsys):
    write_mrc(tmp_path / "small.mrc", np.ones((20, 20, 20), np.float32), voxel_size=2.0)
    write_mrc(tmp_path / "big.mrc", np.ones((40, 40, 40), np.float32), voxel_size=2.0)
    job = {"version": 1, "name": "two", "inputs": {"volumes": "*.mrc"}, "mask": {"geometry": {"shape": "sphere"}}}
    assert main(["validate", str(write_job(tmp_path, job))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "  mask for the 40 x 40 x 40 maps: sphere: radius 20 px (40 Å)" in lines
    assert "  mask for the 20 x 20 x 20 maps: sphere: radius 10 px (20 Å)" in lines


@pytest.fixture
def projected(tmp_path):
    write_mrc(tmp_path / "mask3d.mrc", np.ones((16, 16, 16), np.float32), voxel_size=PIXEL)
    write_star31(tmp_path, random_poses(3, seed=1), 16, name="particles.star")
    write_mrc(tmp_path / "particles.mrcs", np.ones((3, 16, 16), np.float32), voxel_size=PIXEL)
    return tmp_path


@pytest.mark.parametrize("setting", [{"threshold": 0.1}, {"soft_edge_px": 3}])
def test_scaled_with_a_support_setting_is_refused(projected, capsys, setting):
    data = {
        "version": 1,
        "name": "p",
        "inputs": {"particles": "particles.star"},
        "mask": {"source": "projection", "projection": {"file": "mask3d.mrc", "mode": "scaled", **setting}},
    }
    line = validate_refuses(write_job(projected, data), capsys)
    field = next(iter(setting))
    assert f"mask.projection.{field}: applies only to mode: support" in line


def test_project_mask_scaled_refuses_a_soft_edge_and_takes_the_defaults(projected, capsys):
    args = ["project-mask", str(projected / "mask3d.mrc"), str(projected / "particles.star")]
    assert main([*args, str(projected / "a.mrcs"), "--mode", "scaled", "--soft-edge", "3"]) == 2
    assert "--soft-edge: applies only to mode: support" in capsys.readouterr().err
    assert not (projected / "a.mrcs").exists()
    assert main([*args, str(projected / "b.mrcs"), "--mode", "scaled"]) == 0
