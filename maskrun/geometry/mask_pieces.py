"""Whether a mask is speckled: many small disconnected pieces, the noise peaks of a map thresholded unfiltered.

A mask made from a map's noisy average without a low-pass keeps, beside the particle, the
noise peaks above the threshold: specks of a few voxels each (the verdict look: 47 pieces, one
of 1442 voxels, 46 of 1 to 3). Grown as a too-tight mask's advice grows it, each speck becomes
a blob of noise. The rule (docs/spec.md, "Checking a mask"): the pieces are the mask's
face-connected components at or above 0.5; a piece is *small* when it holds fewer voxels than
the larger of `SPECK_SHARE` of the largest piece and one resolution element (a ball as wide as
the half-maps' resolution: no density at that resolution is finer); a mask with at least
`SPECKS_MIN` small pieces is speckled. A mask of a few real domains (two or three large
pieces) is not.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import ndimage

SPECK_SHARE = 0.1  # of the largest piece's voxels
SPECKS_MIN = 5  # small pieces: fewer are a few domains (or a ligand), not noise


class Specks(NamedTuple):
    """A speckled mask's pieces: how many, how many small, the largest's voxels, the small ones' bound, and the
    voxels of one resolution element (`resolution_element_voxels`)."""

    pieces: int
    small: int
    largest_voxels: int
    small_below_voxels: int
    element_voxels: int


def resolution_element_voxels(voxel_size_angstrom: float, resolution_angstrom: float) -> int:
    """The voxels of a ball as wide as the resolution, rounded up: no density at that resolution is finer."""
    return math.ceil(math.pi / 6 * (resolution_angstrom / voxel_size_angstrom) ** 3)


def specks(mask: np.ndarray, voxel_size_angstrom: float, resolution_angstrom: float) -> Specks | None:
    """The pieces of a speckled ``mask`` (module docstring), or None when it is not speckled.

    ``resolution_angstrom``: the half-maps' own, which sets the resolution element.
    """
    labels, count = ndimage.label(np.asarray(mask) >= 0.5)
    if count <= SPECKS_MIN:
        return None
    sizes = np.bincount(labels.ravel())[1:]
    largest = int(sizes.max())
    element = resolution_element_voxels(voxel_size_angstrom, resolution_angstrom)
    below = max(math.ceil(SPECK_SHARE * largest), element)
    small = int((sizes < below).sum())
    return Specks(int(count), small, largest, below, element) if small >= SPECKS_MIN else None
