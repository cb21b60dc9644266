"""How finely a job projects its 3D mask (issue 25's throughput target): a smooth mask is projected at a coarser
sampling only when its masks stay within the stated tolerance of the full projector's, on poses other than the
check's own; a hard-edged mask keeps the full projector; ``project-mask`` always uses the full one."""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest

from maskrun.api import run_job
from maskrun.config.projection_params import ProjectionParams
from maskrun.engine.projection_sampling import MAX_SCALED_DIFFERENCE, MIN_SUPPORT_IOU, agreement, choose_coarsening
from maskrun.geometry.projection import SliceProjector, fourier_crop

from conftest import write_mrc
from job_files import write_job
from pose_sets import PIXEL, random_poses, soft_ellipsoid, write_star31

BOX = 128


def projections(volume, poses, coarsening=1):
    keys = ("rot", "tilt", "psi", "x", "y")
    return SliceProjector(volume, workers=1, coarsening=coarsening).project(*(poses[k] for k in keys))


@pytest.fixture(scope="module")
def smooth():
    return soft_ellipsoid(BOX, soft_px=8.0)


def test_fourier_crop_keeps_the_centre_and_the_values_of_a_smooth_map():
    z, y, x = (np.mgrid[:64, :64, :64] - 32).astype(np.float64)
    blob = np.exp(-((x - 5) ** 2 + (y + 3) ** 2 + z**2) / (2 * 6.0**2)).astype(np.float32)
    small = fourier_crop(blob, 32)
    z2, y2, x2 = (np.mgrid[:32, :32, :32] - 16).astype(np.float64) * 2  # the same physical places
    expected = np.exp(-((x2 - 5) ** 2 + (y2 + 3) ** 2 + z2**2) / (2 * 6.0**2))
    np.testing.assert_allclose(small, expected, atol=2e-3)
    assert np.unravel_index(small.argmax(), small.shape) == (16, 15, 18)  # (z, y, x) = centre + (0, −3, 5) / 2


def test_a_coarse_projection_is_the_full_one_low_passed(smooth):
    poses = random_poses(12, seed=30)
    full, coarse = projections(smooth, poses), projections(smooth, poses, coarsening=2)
    assert coarse.shape == full.shape
    spectrum = np.fft.fft2(full)
    k = np.fft.fftfreq(BOX) * BOX
    low = np.fft.ifft2(spectrum * (k[:, None] ** 2 + k[None, :] ** 2 <= (BOX // 4) ** 2)).real
    peak = full.max()
    assert np.abs(coarse - low).max() < 5e-3 * peak  # the same low band ...
    assert np.abs(coarse - full).max() < 2e-2 * peak  # ... and what a smooth mask has beyond it is little


def test_a_smooth_mask_is_projected_coarser_within_the_tolerance_on_other_poses(smooth):
    params = ProjectionParams(file="m.mrc")
    factor, projector, why = choose_coarsening(smooth, params)
    assert why is None
    assert factor > 1 and projector is not None and projector.coarsening == factor
    poses = random_poses(40, seed=31, max_origin_px=6)  # not the check's own poses
    iou, difference = agreement(projections(smooth, poses), projections(smooth, poses, factor), params.threshold)
    assert iou >= MIN_SUPPORT_IOU and difference <= MAX_SCALED_DIFFERENCE


def test_a_hard_mask_and_sampling_full_keep_the_full_projector(smooth):
    z, y, x = np.mgrid[:BOX, :BOX, :BOX] - BOX // 2
    hard = (np.sqrt(x * x + (y / 0.7) ** 2 + (z / 1.3) ** 2) <= 30).astype(np.float32)
    factor, _, why = choose_coarsening(hard, ProjectionParams(file="m.mrc"))
    assert factor == 1 and why is not None and why.startswith("at 1/2 the supports' IoU was 0.9")
    assert ", and the scaled masks differed by " in why and why.endswith(", above 0.01")  # low-passed, it rings
    assert choose_coarsening(smooth, ProjectionParams(file="m.mrc", sampling="full")) == (1, None, None)


def test_small_boxes_are_always_projected_in_full():
    chosen = choose_coarsening(soft_ellipsoid(40), ProjectionParams(file="m.mrc"))
    assert chosen == (1, None, "no coarser sampling of a 40 px box keeps 32 px or more")


@pytest.mark.parametrize("sampling", ["auto", "full"])
def test_a_jobs_masks_are_project_masks_within_the_tolerance(tmp_path, smooth, sampling, capsys):
    from maskrun.cli.main import main

    count = 12
    write_mrc(tmp_path / "mask3d.mrc", smooth, voxel_size=PIXEL, stack=False)
    write_star31(tmp_path, random_poses(count, seed=32, max_origin_px=5), BOX, name="particles.star")
    write_mrc(tmp_path / "particles.mrcs", np.ones((count, BOX, BOX), np.float32), voxel_size=PIXEL)
    data = {
        "version": 1,
        "name": "p",
        "inputs": {"particles": "particles.star"},
        "mask": {"source": "projection", "projection": {"file": "mask3d.mrc", "mode": "scaled", "sampling": sampling}},
        "fill": {"with": "value", "value": 0},
        "output": {"save_masks": True},
        "report": False,
    }
    job = write_job(tmp_path, data)
    assert main(["validate", str(job)]) == 0
    said = capsys.readouterr().out
    assert ("projected at 1/" in said) == (sampling == "auto")
    out = run_job(job).output_dir
    saved = np.concatenate([mrcfile.read(p) for p in sorted((out / "masks").glob("*.mrcs"))])
    assert main(["project-mask", str(tmp_path / "mask3d.mrc"), str(tmp_path / "particles.star"),
                 str(tmp_path / "full.mrcs"), "--mode", "scaled"]) == 0  # fmt: skip
    full = mrcfile.read(tmp_path / "full.mrcs")
    difference = np.abs(saved - full).max()
    if sampling == "full":
        assert difference == 0
    else:
        assert 0 < difference <= MAX_SCALED_DIFFERENCE
