"""A check's advice on a speckled mask: make it again from the map low-passed, the specks dropped, rather than grow it.

`maskrun.geometry.mask_pieces.specks` finds a mask of many small disconnected pieces (the
noise peaks of a map thresholded unfiltered). Grown as a too-tight mask is, each speck becomes a
blob of noise, and the conflict that followed blamed the density's blur. An expert low-passes the
map before thresholding it (``make-mask --lowpass``, ``relion_mask_create --lowpass``), to about
the half-maps' resolution, and drops what is left of the noise: pieces smaller than one
resolution element (``make-mask --min-component-voxels``; low-passed to 7 Å alone, the verdict
look's AK map still kept 78 specks at its ``auto`` threshold). The reason says so in place of the
size advice; where the mask's MRC labels say how ``make-mask`` made it from a map, the check's
``make it:`` line is that command, its threshold rule kept, with both (docs/spec.md, "Checking a
mask").
"""

from __future__ import annotations

import numpy as np

from maskrun.engine.mask_advice import half_maps_resolution
from maskrun.geometry.fsc import HalfMaps
from maskrun.geometry.mask_pieces import Specks, specks
from maskrun.geometry.mask_verdict import Reason, Remap

SIZE_VERDICTS = ("too tight", "too loose")  # the reasons whose size advice a speckled mask's replaces


def speckled_advice(halves: HalfMaps, mask: np.ndarray, reasons: list[Reason]) -> tuple[str, list[Reason]] | None:
    """The verdict and reasons of a speckled mask (`judge`'s ``reasons`` for it), or None when it is not speckled.

    The speckled reason takes the place of a ``too tight`` or ``too loose`` one, with its
    verdict (``too loose`` when there is none: the specks are solvent the mask keeps); a
    ``hard edge`` reason follows as it was. No size is tried: the mask is to be made again.
    """
    resolution = half_maps_resolution(halves)
    found = specks(mask, halves.voxel_size_angstrom, resolution)
    if found is None:
        return None
    sides = [reason.verdict for reason in reasons if reason.verdict in SIZE_VERDICTS]
    remap = Remap(float(max(1, round(resolution))), found.element_voxels)
    speckled = Reason(sides[0] if sides else "too loose", speck_words(found), remap_words(remap), remap=remap)
    others = [reason for reason in reasons if reason.verdict not in SIZE_VERDICTS]
    return speckled.verdict, [speckled, *others]


def speck_words(found: Specks) -> str:
    """The speckled reason's finding, in one line."""
    return (
        f"speckled: {found.small} of its {found.pieces} pieces are specks (under {found.small_below_voxels} voxels "
        f"each; the largest {found.largest_voxels}), noise peaks of a map thresholded unfiltered: grown, each becomes "
        "a blob of noise"
    )


def remap_words(remap: Remap) -> str:
    """The speckled reason's advice: the map low-passed to about the half-maps' resolution, the specks dropped."""
    return (
        f"make it again from the map low-passed to {remap.lowpass_angstrom:g} Å, about the half-maps' resolution, "
        f"with the same threshold rule, dropping pieces under {remap.min_component_voxels} voxels (a resolution "
        "element), rather than grow it"
    )
