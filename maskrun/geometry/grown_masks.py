"""A mask's core grown or shrunk by whole voxels, with a soft edge: the masks a check tries to advise a size.

The core is where the mask is at least `CORE` of its maximum (as the verdict measures edges).
Grown by ``e`` voxels it takes every voxel closer than ``e`` to the core; shrunk (``e`` < 0) it
loses every voxel of the core closer than ``-e`` to the outside, as ``relion_mask_create``'s ``--extend_inimask`` (and
`maskrun.geometry.map_mask.mask_from_map`) grows and shrinks a mask. A raised-cosine soft edge
``0.5 + 0.5·cos(π·d / w)`` falls over the voxels at distance 0 < d < w outside it. One signed
distance map serves every size: the distance past the grown core is the distance past the core
less ``e`` (within a voxel of what a distance transform of the grown core gives), so a size
costs no distance transform of its own.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import ndimage

from maskrun.geometry.bounding_box import bounding_box
from maskrun.geometry.mask_verdict import CORE, Remake

EDGE_DECIMALS = 2  # a soft edge's decimals in px, as a size's make-mask command gives it and the size is tried


class GrownMasks:
    """The sizes of one mask's core, each with the soft edge ``soft_edge_px`` wide, scaled to the mask's maximum.

    Parameters
    ----------
    mask
        Values in [0, 1], not all 0; not modified.
    soft_edge_px
        The soft edge of every size, in voxels (> 0).
    binning
        The distances are measured on the core binned so (a divisor of every side; the share of
        each block in the core at least a half) and interpolated (linearly) back: good to a bin,
        at a fraction of the cost (a 256³ distance transform takes seconds).
    """

    def __init__(self, mask: np.ndarray, soft_edge_px: float, binning: int = 1):
        top = float(mask.max())
        if top <= 0 or soft_edge_px <= 0:
            raise ValueError("GrownMasks needs a mask that is not all 0 and a soft edge wider than 0")
        core = np.asarray(mask) >= CORE * top
        if binning > 1:
            core = _mostly_true(core, binning)
        signed: np.ndarray = ndimage.distance_transform_edt(~core).astype(np.float32)  # 0 in the core
        # the core's distances to the outside: within its bounding box and one more voxel (outside
        # but where the box ends) they are the whole grid's, at a fraction of the cost
        near = bounding_box(core, reach=1)
        assert near is not None  # the core holds the mask's maximum
        if core[near].all():  # a core that fills the box: no outside to shrink from
            signed[near] = -float(max(core.shape))
        else:
            signed[near] -= ndimage.distance_transform_edt(core[near]).astype(np.float32)
        if binning > 1:
            # bins: from a bin's centre to the nearest other side's is half a bin past the border between
            # them, and the voxels nearest that border are half a voxel from it: rescaled so, then interpolated
            shift = np.float32(0.5 * (binning - 1))
            signed = _upsampled(signed * np.float32(binning) - np.sign(signed) * shift, binning)
        self.signed = signed  # voxels: ≥ 1 outside the core, ≤ -1 in it
        # at the precision a make-mask command gives it (`remake`'s): the mask made as advised is the one tried
        self.soft_edge_px = max(10.0**-EDGE_DECIMALS, round(float(soft_edge_px), EDGE_DECIMALS))
        self.top = top
        self.exact = binning == 1
        self.filling_px = max(0, math.floor(float(signed.max())) + 1)  # grown so far, the core fills the box

    def remake(self, extend_px: int) -> Remake:
        """How ``make-mask --from-map`` makes the size `values` gives for ``extend_px`` from the mask itself."""
        return Remake(CORE * self.top, extend_px, self.soft_edge_px)

    def values(self, extend_px: int) -> np.ndarray:
        """The core grown by ``extend_px`` voxels (shrunk when negative), with the soft edge (float32).

        Growing or shrinking by 1 voxel changes nothing (``--extend_inimask`` takes the voxels
        closer than the growth, and a voxel's nearest neighbours are 1 away).
        """
        beyond: np.ndarray = self.signed - np.float32(extend_px)
        inside = beyond < 0 if extend_px >= 0 else beyond <= 0
        out = inside.astype(np.float32)
        if self.exact:  # the distance past the grown core, and the edge, as mask_from_map computes them: in float64,
            # where an edge of 6 px is 0.5 at 3 px (float32's π/2 put it at 0.49999998, below the 0.5 contour)
            near = bounding_box(inside, reach=math.ceil(self.soft_edge_px) + 1)
            if near is None:  # shrunk away
                return out
            distance = ndimage.distance_transform_edt(~inside[near])
            part = out[near]
            edge = (distance > 0) & (distance < self.soft_edge_px)
            part[edge] = 0.5 + 0.5 * np.cos(np.pi * distance[edge] / self.soft_edge_px)
        else:  # about the distance past the core less the growth, and half a voxel more (the grown core's
            beyond += np.float32(0.5)  # rim lies half a voxel inside the growth, on average)
            width = np.float32(self.soft_edge_px)
            edge = (beyond > 0) & (beyond < width) & (out == 0)
            out[edge] = 0.5 + 0.5 * np.cos(np.pi * beyond[edge] / width)
        if self.top != 1.0:
            out *= np.float32(self.top)
        return out


def _mostly_true(region: np.ndarray, factor: int) -> np.ndarray:
    """Whether at least half of each ``factor``-sided block of ``region`` is True (the shape a multiple of ``factor``).

    Counted in whole numbers, a strided slice at a time: a block's mean is at least 0.5 when
    its count is at least half its voxels, and summing the slices is faster than the mean of a
    reshaped copy.
    """
    voxels = factor**region.ndim
    counts = np.zeros([size // factor for size in region.shape], dtype=np.min_scalar_type(voxels))
    ones = region.view(np.uint8)
    for offsets in itertools.product(range(factor), repeat=region.ndim):
        counts += ones[tuple(slice(offset, None, factor) for offset in offsets)]
    mostly: np.ndarray = counts >= (voxels + 1) // 2
    return mostly


def _upsampled(values: np.ndarray, factor: int) -> np.ndarray:
    """``values`` on a grid ``factor`` times finer, linearly interpolated between the block centres (float32)."""
    out = values
    for axis in range(values.ndim):
        count = out.shape[axis]
        at = np.clip((np.arange(count * factor) - (factor - 1) / 2) / factor, 0, count - 1)
        below = np.floor(at).astype(np.intp)
        above = np.minimum(below + 1, count - 1)
        weight = (at - below).astype(np.float32).reshape([-1 if a == axis else 1 for a in range(values.ndim)])
        low = out.take(below, axis)
        high = out.take(above, axis)  # low + (high - low) * weight, in place: a third of the temporaries
        high -= low
        high *= weight
        high += low
        out = high
    return out
