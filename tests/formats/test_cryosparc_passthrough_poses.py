"""Poses held in a cryoSPARC passthrough (after Restack, Downsample or Extract from a refinement) are read, joined
on uid as its other fields are; where neither file has them, the refusal names both."""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest
import starfile

from maskrun.api import run_job
from maskrun.cli.main import main
from maskrun.formats.poses import offsets_of, poses_of, psi_of
from maskrun.formats.registry import load_particle_set

from job_files import validate_refuses, write_job
from pose_sets import PIXEL, random_poses, write_cs, write_cs_2d, write_soft_ellipsoid

BOX = 32
COUNT = 9


def split(folder, full) -> tuple[str, str]:
    """``full`` as a Restack job writes it: its blob fields in ``restacked.cs``, the rest (poses, CTF) in a
    passthrough whose rows are in another order."""
    records = np.load(full)
    blob = [name for name in records.dtype.names if name == "uid" or name.startswith("blob/")]
    rest = [name for name in records.dtype.names if not name.startswith("blob/")]
    for name, fields, order in (("restacked.cs", blob, slice(None)), ("passthrough.cs", rest, slice(None, None, -1))):
        with open(folder / name, "wb") as file:
            np.save(file, np.ascontiguousarray(records[fields][order]))
    return "restacked.cs", "passthrough.cs"


def test_3d_poses_in_the_passthrough_are_those_of_the_whole_set(tmp_path):
    full = write_cs(tmp_path, random_poses(COUNT, seed=3), BOX, alignment_pixel=2 * PIXEL)
    main_cs, passthrough = split(tmp_path, full)
    whole = poses_of(load_particle_set(full))
    joined = poses_of(load_particle_set(tmp_path / main_cs, passthrough=tmp_path / passthrough))
    for field in ("rot_deg", "tilt_deg", "psi_deg", "origin_x_px", "origin_y_px"):
        np.testing.assert_array_equal(getattr(joined, field), getattr(whole, field), err_msg=field)
    assert np.abs(whole.origin_x_px).max() > 1  # origins there to compare, rescaled from the binned alignment


def test_2d_alignments_in_the_passthrough_are_followed(tmp_path):
    full = write_cs_2d(tmp_path, random_poses(COUNT, seed=4), BOX)
    main_cs, passthrough = split(tmp_path, full)
    whole, joined = load_particle_set(full), load_particle_set(tmp_path / main_cs, passthrough=tmp_path / passthrough)
    np.testing.assert_array_equal(psi_of(joined), psi_of(whole))
    np.testing.assert_array_equal(np.stack(offsets_of(joined)), np.stack(offsets_of(whole)))
    assert np.ptp(psi_of(whole)) > 90


def test_a_projection_job_masks_a_restacked_set_as_the_whole_set(tmp_path):
    write_soft_ellipsoid(tmp_path / "mask3d.mrc", BOX)
    full = write_cs(tmp_path, random_poses(COUNT, seed=5), BOX)
    main_cs, passthrough = split(tmp_path, full)
    expected = tmp_path / "expected.mrcs"
    assert main(["project-mask", str(tmp_path / "mask3d.mrc"), str(full), str(expected)]) == 0
    data = {
        "version": 1,
        "name": "pt",
        "inputs": {"particles": main_cs, "passthrough": passthrough},
        "mask": {"source": "projection", "projection": {"file": "mask3d.mrc"}},
        "output": {"save_masks": True},
        "report": False,
    }
    out = run_job(write_job(tmp_path, data)).output_dir
    masks = np.concatenate([mrcfile.read(p).reshape(-1, BOX, BOX) for p in sorted(out.glob("masks/*.mrcs"))])
    np.testing.assert_array_equal(masks, mrcfile.read(expected))
    star = starfile.read(out / "particles.star")["particles"]
    whole = poses_of(load_particle_set(full))
    np.testing.assert_allclose(star["rlnAngleTilt"], whole.tilt_deg, atol=1e-6)  # the companion STAR has them too


@pytest.mark.parametrize("follow", [False, True])
def test_poses_in_neither_file_are_refused_naming_both(tmp_path, capsys, follow):
    full = write_cs(tmp_path, random_poses(COUNT), BOX)
    records = np.load(full)
    kept = [name for name in records.dtype.names if not name.startswith("alignments")]
    with open(full, "wb") as file:
        np.save(file, np.ascontiguousarray(records[kept]))
    main_cs, passthrough = split(tmp_path, full)
    mask = {"source": "geometry", "geometry": {"shape": "circular", "radius": 10}, "follow": "pose"}
    if not follow:
        mask = {"source": "projection", "projection": {"file": "mask3d.mrc"}}
        write_soft_ellipsoid(tmp_path / "mask3d.mrc", BOX)
    data = {"version": 1, "name": "n", "inputs": {"particles": main_cs, "passthrough": passthrough}, "mask": mask}
    line = validate_refuses(write_job(tmp_path, data), capsys)
    field = "mask.follow: " if follow else "inputs.particles: "  # follow: the setting that needs them (removable)
    assert f"{tmp_path / main_cs}: {field}has no alignments3D/pose" in line
    assert line.endswith("; or remove mask.follow to mask every particle alike") == follow
    assert f"nor has its passthrough {tmp_path / passthrough}: these particles have no" in line
