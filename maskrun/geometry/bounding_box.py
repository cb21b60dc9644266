"""The bounding box of a region of voxels: the block of an array that work on the region can be cut down to."""

from __future__ import annotations

import numpy as np


def bounding_box(region: np.ndarray, reach: int = 0) -> tuple[slice, ...] | None:
    """The smallest block holding every True voxel of ``region``, grown by ``reach`` on every side within it.

    None when ``region`` has no True voxel.
    """
    box = []
    for axis in range(region.ndim):
        others = tuple(a for a in range(region.ndim) if a != axis)
        occupied = np.flatnonzero(region.any(axis=others))
        if occupied.size == 0:
            return None
        box.append(slice(max(0, int(occupied[0]) - reach), min(region.shape[axis], int(occupied[-1]) + 1 + reach)))
    return tuple(box)
