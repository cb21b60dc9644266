"""The report of a job with projected masks: each sampled particle's own mask, and the share cut by the box."""

from __future__ import annotations

import numpy as np

from maskrun.config.shape_base import Shape
from maskrun.engine.following_masks import BLOCK, followed_masks
from maskrun.geometry.projected_cut import CUT_SHARE, OFF_CENTRE, checked_said, projected_cut_warning
from maskrun.geometry.projected_mask import CUT_FRACTION, cut_by_box
from maskrun.jobs.plan import JobPlan
from maskrun.jobs.projected_unit import unit_projector

CHECKED = 1000  # particles whose masks are checked against the box edge (evenly spread over the set)


def sampled_masks(plan: JobPlan, rows: np.ndarray, poses: tuple[np.ndarray, ...]) -> np.ndarray:
    """The masks of particles ``rows`` (set order), as the job applied them; ``poses``: ``plan.placed(slice(None))``."""
    return unit_projector(plan).masks(*(values[rows] for values in poses))


def resolved_shape(plan: JobPlan) -> Shape:
    """The job's shape (``mask.follow``) in px for the particles' box."""
    geometry = plan.job.mask.geometry
    assert geometry is not None
    box, voxel, _ = plan.unit_grid(plan.units[0])
    return geometry.resolve(n_x=box[-1], ndim=len(box), pixel_size_angstrom=voxel[0])


def followed_sample(plan: JobPlan, rows: np.ndarray) -> np.ndarray:
    """The masks of particles ``rows`` with the job's shape at each one's centre (``mask.follow``; turned by each
    one's psi for ``pose``)."""
    shape = resolved_shape(plan)
    _, _, psi, x, y = plan.placed(rows)
    turned = psi if plan.job.mask.follow == "pose" else None
    return followed_masks(shape, plan.particle_set.box_yx, x, y, plan.job.spec.compat, turned)


def box_cut_warning(plan: JobPlan, poses: tuple[np.ndarray, ...]) -> str | None:
    """A warning when the masks of more than `CUT_SHARE` of the particles (of up to `CHECKED`) reach the box edge
    (`projected_cut_warning`, project-mask's words). ``poses``: ``plan.placed(slice(None))``."""
    count = len(plan.particle_set)
    rows = np.unique(np.linspace(0, count - 1, min(CHECKED, count)).round().astype(int))
    cut = cut_by_box(sampled_masks(plan, rows, poses))
    *_, origin_x, origin_y = poses
    return projected_cut_warning(cut, origin_x[rows], origin_y[rows], plan.particle_set.box_yx[1], count)


def followed_cut_warning(plan: JobPlan) -> str | None:
    """`box_cut_warning` for a shape that follows (``mask.follow``): each particle's own shape, moved by its
    origin (and turned by its psi), judged against the box edge, of up to `CHECKED` particles.

    Planning judges the shape at the box centre, unturned; an offset or a turn puts a long shape's
    ends or corners past the box (a 118 x 30 box in a 128 px box reached the edge on 72 of 120
    helical segments, and nothing said so). The advice: a smaller shape; the particles re-centred
    when their recorded centres lie far off; a larger box only when the shape, turned and moved
    as far as these particles need, fits in one at most twice as large (a shape longer than
    that runs past any box, as a tube along a filament does on purpose).
    """
    count = len(plan.particle_set)
    rows = np.unique(np.linspace(0, count - 1, min(CHECKED, count)).round().astype(int))
    cut = np.concatenate(
        [cut_by_box(followed_sample(plan, block)) for block in np.array_split(rows, -(-len(rows) // BLOCK))]
    )
    share = float(cut.mean()) if len(cut) else 0.0
    if share <= CUT_SHARE:
        return None
    turned = plan.job.mask.follow == "pose"
    checked = checked_said(len(rows), count)
    moved = "its recorded offset" + (" and psi put" if turned else " puts")
    found = (
        f"{share:.0%} of the particles' masks reach the box edge ({checked}): the shape, placed at each particle's "
        f"centre{' and turned by its psi' if turned else ''}, is cut by the box where {moved} its "
        f"{'ends or corners' if turned else 'edge'} past it; "
    )
    _, _, _, origin_x, origin_y = plan.placed(rows)
    off = np.hypot(origin_x, origin_y)
    ny, nx = plan.particle_set.box_yx
    if float(np.median(off[cut])) >= OFF_CENTRE * nx:
        return found + (
            f"their recorded centres lie a median {np.median(off[cut]):.0f} px from the box centre: re-extract them "
            "re-centred on those centres (RELION: Extract, re-center refined coordinates), or make the shape smaller"
        )
    needed = _box_holding(resolved_shape(plan), float(off[cut].max()), turned)
    if needed is None or needed > 2 * max(ny, nx):
        return found + "make the shape smaller (it is longer than a box can hold)"
    return found + f"make the shape smaller, or re-extract the particles in a box of at least {needed} px"


def _box_holding(shape: Shape, offset_px: float, turned: bool) -> int | None:
    """The smallest even box whose edge the shape, moved by up to ``offset_px`` (and turned any way), does not
    reach (`cut_by_box`'s rule); None when that passes a canvas four times the shape's stated lengths."""
    size = 64
    while size <= 4096:
        canvas = np.asarray(followed_masks(shape, (size, size), np.zeros(1), np.zeros(1), "maskrun")[0])
        kept = canvas > CUT_FRACTION * canvas.max() if canvas.max() > 0 else canvas > 0
        if not (kept[0].any() or kept[-1].any() or kept[:, 0].any() or kept[:, -1].any()):
            y, x = np.nonzero(kept)
            if turned:
                reach = float(np.hypot(y - size // 2, x - size // 2).max())
            else:
                reach = float(max(np.abs(y - size // 2).max(), np.abs(x - size // 2).max()))
            half = int(np.ceil(reach + offset_px)) + 1
            return 2 * half + 2
        size *= 2
    return None
