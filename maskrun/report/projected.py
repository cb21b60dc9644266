"""The report of a job with projected masks: each sampled particle's own mask, and the share cut by the box."""

from __future__ import annotations

import numpy as np

from maskrun.engine.following_masks import followed_masks
from maskrun.geometry.projected_mask import cut_by_box
from maskrun.jobs.plan import JobPlan
from maskrun.jobs.projected_unit import unit_projector

CHECKED = 1000  # particles whose masks are checked against the box edge (evenly spread over the set)
CUT_SHARE = 0.03  # warn when more than this share of the particles' masks reach the box edge
OFF_CENTRE = 0.1  # of the box: cut particles whose recorded centres lie this far off (median) want re-centring
# (less is the usual scatter of refined origins: 3 px at 64 px said "re-extract them re-centred")


def sampled_masks(plan: JobPlan, rows: np.ndarray, poses: tuple[np.ndarray, ...]) -> np.ndarray:
    """The masks of particles ``rows`` (set order), as the job applied them; ``poses``: ``plan.placed(slice(None))``."""
    return unit_projector(plan).masks(*(values[rows] for values in poses))


def followed_sample(plan: JobPlan, rows: np.ndarray) -> np.ndarray:
    """The masks of particles ``rows`` with the job's shape at each one's centre (``mask.follow: offsets``)."""
    geometry = plan.job.mask.geometry
    assert geometry is not None
    box, voxel, _ = plan.unit_grid(plan.units[0])
    shape = geometry.resolve(n_x=box[-1], ndim=len(box), pixel_size_angstrom=voxel[0])
    _, _, psi, x, y = plan.placed(rows)
    turned = psi if plan.job.mask.follow == "pose" else None
    return followed_masks(shape, plan.particle_set.box_yx, x, y, plan.job.spec.compat, turned)


def box_cut_warning(plan: JobPlan, poses: tuple[np.ndarray, ...]) -> str | None:
    """A warning when the masks of more than `CUT_SHARE` of the particles (of up to `CHECKED`) reach the box edge.

    ``poses``: ``plan.placed(slice(None))``.
    """
    count = len(plan.particle_set)
    rows = np.unique(np.linspace(0, count - 1, min(CHECKED, count)).round().astype(int))
    cut = cut_by_box(sampled_masks(plan, rows, poses))
    share = float(cut.mean()) if len(cut) else 0.0
    if share <= CUT_SHARE:
        return None
    checked = f"{len(rows)} particle{'s' * (len(rows) != 1)} checked" if len(rows) < count else "all particles"
    found = f"{share:.0%} of the particles' projected masks reach the box edge ({checked}): the box cuts them; "
    *_, origin_x, origin_y = poses
    off = float(np.median(np.hypot(origin_x[rows][cut], origin_y[rows][cut])))
    if off >= OFF_CENTRE * plan.particle_set.box_yx[1]:  # the particles sit off-centre: re-centring is the cure
        return found + (
            f"their recorded centres lie a median {off:.0f} px from the box centre: re-extract them re-centred "
            "on those centres (RELION: Extract, re-center refined coordinates), or use a tighter 3D mask"
        )
    return found + "use a tighter 3D mask, or re-extract the particles in a larger box"
