"""How finely a job projects its 3D mask: the coarsest sampling whose masks stay within a stated tolerance.

A job's masks need not be ``relion_project``'s projections to the last digit (that is
``project-mask --raw``'s task): a smooth 3D mask projects to a smooth image, which a
projection low-passed at a quarter, 3/8 or half of the box's Nyquist (`SliceProjector`'s
``coarsening``, 4 to 16 times fewer points to interpolate) draws almost unchanged. Whether a given mask allows it
is measured, not assumed: the full projector and each candidate project the mask at
`SAMPLE_POSES` poses spread over the sphere (with sub-pixel origins), and the coarsest
candidate is kept whose masks, at every sample pose, meet both bounds:

* the supports above the job's threshold overlap with an IoU ≥ `MIN_SUPPORT_IOU`;
* the ``scaled`` masks (projection ÷ its peak) differ by at most `MAX_SCALED_DIFFERENCE`.

A hard-edged 3D mask (a binary one) fails them and keeps the full projector.
"""

from __future__ import annotations

import numpy as np

from maskrun.config.projection_params import ProjectionParams, sampled_share
from maskrun.geometry.projected_mask import masks_from_projections
from maskrun.geometry.projection import SliceProjector, map_spectrum, sampled_size, streamed_projections

# coarsenings tried, coarsest first: 3/8 of the frequencies as well as 1/4 and 1/2 (a smooth mask that 1/4 cuts
# too much often keeps to 3/8: 44 % fewer points than 1/2, 0.55 against 0.81 ms a projection at 256²)
CANDIDATES = (4, 8 / 3, 2)
SAMPLE_POSES = 32
MIN_SUPPORT_IOU = 0.99
MAX_SCALED_DIFFERENCE = 0.01
SEED = 25  # the sample poses are the same for every run: a job's plan does not change between runs


def sample_poses(count: int = SAMPLE_POSES) -> tuple[np.ndarray, ...]:
    """rot, tilt, psi (degrees; tilt uniform on the sphere) and origins (px, within ±4) of the check."""
    rng = np.random.default_rng(SEED)
    rot, psi = rng.uniform(-180, 180, (2, count))
    tilt = np.degrees(np.arccos(rng.uniform(-1, 1, count)))
    origin_x, origin_y = rng.uniform(-4, 4, (2, count))
    return rot, tilt, psi, origin_x, origin_y


def agreement(full: np.ndarray, coarse: np.ndarray, threshold: float) -> tuple[float, float]:
    """The lowest support IoU and the largest ``scaled`` mask difference between two sets of projections."""
    supports = [masks_from_projections(p, "support", threshold) > 0 for p in (full, coarse)]
    union = (supports[0] | supports[1]).sum(axis=(1, 2))
    common = (supports[0] & supports[1]).sum(axis=(1, 2))
    iou = np.where(union > 0, common / np.maximum(union, 1), 1.0)
    scaled = [masks_from_projections(p, "scaled") for p in (full, coarse)]
    return float(iou.min()), float(np.abs(scaled[0] - scaled[1]).max())


def choose_coarsening(
    volume_zyx: np.ndarray, params: ProjectionParams
) -> tuple[float, SliceProjector | None, str | None]:
    """The coarsening a job projects ``volume_zyx`` with: 1 (the full projector) unless the mask allows more.

    ``params.sampling: full`` always gives 1. Also returns the chosen coarser projector (one
    thread) when the check built it, so that a run in the same process need not build it
    again, and, when ``sampling: auto`` kept the full projector, why (the bound the finest
    candidate missed, in words: "at 1/2 the scaled masks differed by 0.0125, above 0.01").
    """
    if params.sampling == "full":
        return 1, None, None
    box = volume_zyx.shape[0]
    candidates = [f for f in CANDIDATES if (sampled_size(box, f) or 0) >= 32]
    if not candidates:
        return 1, None, f"no coarser sampling of a {box} px box keeps 32 px or more"
    poses = sample_poses()
    full = streamed_projections(volume_zyx, *poses)  # the full projector's, without its table (0.55 GB at 256³)
    spectrum = map_spectrum(volume_zyx)  # each candidate crops it
    for factor in candidates:
        projector = SliceProjector(volume_zyx, workers=1, coarsening=factor, spectrum=spectrum)
        iou, difference = agreement(full, projector.project(*poses), params.threshold)
        if iou >= MIN_SUPPORT_IOU and difference <= MAX_SCALED_DIFFERENCE:
            return factor, projector, None
    missed = []  # by the finest candidate, the last tried
    if iou < MIN_SUPPORT_IOU:
        missed.append(f"the supports' IoU was {iou:.4f}, below {MIN_SUPPORT_IOU:g}")
    if difference > MAX_SCALED_DIFFERENCE:
        missed.append(f"the scaled masks differed by {difference:.4f}, above {MAX_SCALED_DIFFERENCE:g}")
    return 1, None, f"at {sampled_share(candidates[-1])} " + ", and ".join(missed)
