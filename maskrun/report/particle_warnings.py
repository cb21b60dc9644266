"""The report's warnings of a particle job's mask: a hard edge and a tight mask on its sample, centres near its contour.

Worded for fixed masks, projected ones (each particle's own) and shapes that follow each
particle. `sample_warnings` is what the report says of its sample, and what ``validate`` and
the start of ``run`` say of the same sample before the work (`maskrun.report.before_run`);
`centring_warning` judges every particle's recorded origin, a column of every row (about 2 s
a million rows), and stays the report's.
"""

from __future__ import annotations

import numpy as np

from maskrun.errors import UserError
from maskrun.jobs.mask_warnings import hard_edge_warning
from maskrun.jobs.plan import JobPlan
from maskrun.report import checks


def sample_warnings(
    plan: JobPlan, mask: np.ndarray, inputs: np.ndarray, rows: np.ndarray, projected_round: bool = False
) -> list[str]:
    """The hard-edge and tight-mask warnings (`particle_warnings`) of the sampled particles ``rows`` (set order;
    ``inputs``: their images), lined up with the shape for one that follows them (`centred_sample`;
    `turned_sample` for ``follow: pose``).

    ``mask``: the mask of the particles' box, as the run saves it (float32; for ``follow``:
    the shape at the box centre) or, for projected masks, the sampled particles' mean one.
    """
    follow = plan.job.mask.follow
    moved = centred_sample(plan, inputs, rows) if follow is not None else None
    turned_back = turned_sample(plan, inputs, rows) if follow == "pose" else None
    return particle_warnings(plan, mask, inputs, moved, turned_back, projected_round)


def judged(plan: JobPlan) -> bool:
    """Whether the job's mask is judged tight, or near the particles' centres, at all: an inverted mask keeps the
    outside, where tightness has no meaning."""
    geometry = plan.job.mask.geometry
    return geometry is None or not geometry.invert


TIGHT_PROJECTED = (
    "where the sampled particles' mean mask is below 0.5; widen the 3D mask (or lower projection.threshold, widen "
    "projection.soft_edge_px), unless it leaves out part of the particle on purpose"
)
TIGHT_SCALED = (  # threshold and soft_edge_px act only in mode support (and are refused with scaled)
    "where the sampled particles' mean mask is below 0.5; widen the 3D mask (or use projection.mode: support, whose "
    "threshold and soft edge widen it), unless it leaves out part of the particle on purpose"
)
TIGHT_FOLLOWING = (
    "where the shape, placed at each particle's recorded centre, is below 0.5; make the shape larger, unless it "
    "leaves out part of the particle on purpose"
)
NOT_ROUND = "judged pixel by pixel: it is not round, and a radius would mean nothing for it"
TIGHT_FIXED_2D = (
    f"where the mask is below 0.5 ({NOT_ROUND}); widen it where the particles' signal lies past it (the report's "
    "particles.png shows where), unless it leaves out part of the particle on purpose"
)


def tight_following_2d(turned: bool) -> str:
    """The tight warning's ending for a shape that follows and is not round: judged on the images lined up with it."""
    how = "moved to the box centre by its recorded origin" + (" and turned back by its psi" if turned else "")
    return (
        f"where the shape is below 0.5, each particle {how} ({NOT_ROUND.replace('it is', 'the shape is')}); make "
        "the shape larger where the signal lies past it, unless it leaves out part of the particle on purpose "
        "(a filament running on past a box's ends does)"
    )


def particle_warnings(
    plan: JobPlan,
    mask: np.ndarray,
    sample: np.ndarray,
    centred: np.ndarray | None = None,
    turned: np.ndarray | None = None,
    projected_round: bool = False,
) -> list[str]:
    """The hard-edge and tight-mask warnings, worded for fixed, projected or following masks.

    ``mask`` is the saved mask of the box (for ``follow``: the shape at the box centre) or,
    for projected masks, the sampled particles' mean one. ``sample``: the sampled particles
    (`checks.tight_on_sample`). ``centred``, for ``follow``: the sampled particles, each moved
    to the box centre by its recorded origin, which the shape at the centre is judged against
    (as sampled, each particle lies where its offset put it: a shape keeping all but 0.6 % of
    each particle was called tight at 6 %); ``turned``, for ``follow: pose``: each also turned
    back by its psi.

    The tight check's rings mean something only for a mask round about the box centre
    (`checks.is_round`): any other (a box, an ellipse, a shape off the centre) is judged pixel
    by pixel on the images lined up with it (`checks.tight_in_2d`), with no radius; projected
    masks, each particle's own, only when each is round about its particle's centre
    (``projected_round``: the sampled masks' mean is then judged by rings, as before), else not
    at all: the particles' images, each seen at another angle, do not line up with one mask.
    """
    spec = plan.job.mask
    geometry, projection = spec.geometry, spec.projection
    gaussian = geometry is not None and geometry.shape == "gaussian"  # told its sigma too
    hard_edge = hard_edge_warning(spec, mask)  # as planning said it: the same sentence, said once
    advice = None
    if projection is not None:
        advice = TIGHT_PROJECTED if projection.mode == "support" else TIGHT_SCALED
    elif spec.follow is not None:
        advice = TIGHT_FOLLOWING
    tight = None
    if not judged(plan) or (projection is not None and not projected_round):
        tight = None
    elif projection is not None or checks.is_round(mask):
        tight = checks.tight_on_sample(mask, sample if centred is None else centred, advice, gaussian)
    elif spec.follow is not None:
        aligned = turned if turned is not None else centred
        assert aligned is not None  # sample_warnings centres (and turns) the sample of a shape that follows
        tight = checks.tight_in_2d(mask, aligned, tight_following_2d(turned is not None))
    else:
        tight = checks.tight_in_2d(mask, sample, TIGHT_FIXED_2D)
    return [w for w in [hard_edge, tight] if w]


def centring_warning(plan: JobPlan, mask: np.ndarray) -> str | None:
    """`checks.centres_near_the_contour` of every particle's recorded origin and the mask of the box, for a fixed
    mask that is judged (a mask that follows each particle's origin is centred on it by design)."""
    spec = plan.job.mask
    if not judged(plan) or spec.projection is not None or spec.follow is not None:
        return None
    # the origins (2 s to read for a million rows) only where the check is made
    return checks.centres_near_the_contour(particle_offsets_px(plan), mask)


def centred_sample(plan: JobPlan, inputs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The sampled inputs, each moved by its recorded origin so that its particle sits at the box centre."""
    from scipy import ndimage

    *_, x, y = plan.placed(rows)  # the particle lies at the centre less its origin (planning read them)
    moved = [ndimage.shift(np.nan_to_num(image), (dy, dx), order=1) for image, dx, dy in zip(inputs, x, y)]
    return np.stack(moved)


def turned_sample(plan: JobPlan, inputs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The sampled inputs lined up with the unturned shape (``follow: pose``): each particle's pixel under its own
    shape's point (x', y') brought to where the shape at the box centre has that point; NaN where no pixel maps.

    The inverse of `maskrun.geometry.turned_shape.turned_mask` as the job placed it: the shape's centre
    (its ``center`` less the particle's origin) and its turn by −psi about it.
    """
    from scipy import ndimage

    from maskrun.report.projected import resolved_shape  # masks that follow only

    shape = resolved_shape(plan)
    cx, cy = (float(shape.center[0]), float(shape.center[1])) if shape.center is not None else (0.0, 0.0)
    _, _, psi, origin_x, origin_y = plan.placed(rows)
    ny, nx = inputs.shape[-2:]
    v, u = np.indices((ny, nx), dtype=np.float64)
    u, v = u - nx // 2 - cx, v - ny // 2 - cy  # the unturned shape's own frame
    aligned = []
    for image, angle, ox, oy in zip(inputs, -psi, origin_x, origin_y):
        c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
        x, y = u * c - v * s, u * s + v * c  # the frame turned back: x' = x c + y s, y' = -x s + y c inverted
        rows_at, cols_at = y + ny // 2 + cy - oy, x + nx // 2 + cx - ox
        aligned.append(
            ndimage.map_coordinates(np.nan_to_num(image), [rows_at, cols_at], order=1, cval=np.nan, mode="constant")
        )
    return np.stack(aligned)


def particle_offsets_px(plan: JobPlan) -> np.ndarray | None:
    """Each particle's recorded origin (x, y) in px, as masks that follow read it (`formats.poses.offsets_of`).

    None for a set that records none (a bare stack) or holds an origin that is not a number.
    """
    from maskrun.formats.poses import offsets_of
    from maskrun.formats.registry import particle_format

    particles = plan.particle_set
    if getattr(particle_format(particles.format), "read_offsets", None) is None:
        return None
    try:
        x, y = offsets_of(particles)
    except UserError:
        return None
    return np.stack([x, y], axis=1)
