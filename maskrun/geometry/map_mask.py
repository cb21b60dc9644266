"""Masks made from a map, with the operations of ``relion_mask_create`` and their meaning.

In order: an optional low-pass (a raised-cosine edge two Fourier shells wide, centred on the
shell of the requested resolution); voxels at or above the threshold seed a binary mask (with
a second map, RELION's ``--and``/``--or``/``--and_not``/``--or_not``, the seed is a voxel-wise
combination of the two maps, each compared strictly with the threshold: `combined_seed`);
optional clean-up (keep the largest connected component, remove components smaller than a
number of voxels, fill enclosed holes); the mask grows by every voxel closer than
``extend_px`` to it (or, negative, loses every voxel closer than that to the outside); a
raised-cosine soft edge ``0.5 + 0.5·cos(π·d / w)`` falls over the voxels at distance
0 < d < w outside it; optionally a crop along z for helices (`helix_crop`); inversion last.
RELION finds each distance by searching a cube around every voxel; here one Euclidean
distance transform (`scipy.ndimage.distance_transform_edt`) gives the same distances,
exactly, in a time that does not grow with the edge width.
Matches RELION 3.1.3's own masks to 1e-5 (``tests/geometry/test_map_mask.py``,
``tests/geometry/test_map_mask_combine.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from maskrun.config.mask_spec import HELIX_MIN_SOFT_EDGE
from maskrun.errors import FieldError
from maskrun.geometry.bounding_box import bounding_box

FILTER_EDGE_SHELLS = 2  # relion_mask_create's width of the low-pass edge, in Fourier shells
COMBINATIONS = ("and", "or", "and_not", "or_not")
HELIX_MIN_Z = 5  # RELION's smallest z size for the helical crop


@dataclass(frozen=True)
class MapMaskSteps:
    """What to do to a map to make a mask (the ``mask.map`` section, without the file)."""

    threshold: float
    extend_px: float = 0.0
    soft_edge_px: float = 0.0
    lowpass_angstrom: float | None = None
    invert: bool = False
    keep_largest_component: bool = False
    min_component_voxels: int = 0
    fill_holes: bool = False
    combine: str | None = None  # one of COMBINATIONS, with a second map
    helix: bool = False
    z_percentage: float = 0.3


class ThresholdAboveTheMap(FieldError):
    """A threshold above every value of the map; a caller that chose it by a rule words it with `worded`.

    ``after``: how the map was changed before (``" after its low-pass to 8 Å"``), or "".
    """

    def __init__(self, threshold: float, low: float, high: float, after: str):
        self.threshold, self.low, self.high, self.after = threshold, low, high, after
        super().__init__("threshold", self.worded(f"{threshold:g}"))

    def worded(self, threshold: str) -> str:
        """The message, the threshold said as ``threshold`` (its number, or the rule that chose it and how)."""
        return (
            f"threshold {threshold} is above every value of the map{self.after} (its range is {self.low:g} to "
            f"{self.high:g}); lower the threshold"
        )


def mask_from_map(
    density: np.ndarray,
    steps: MapMaskSteps,
    voxel_size_angstrom: float = 0.0,
    second: np.ndarray | None = None,
    low_passed: np.ndarray | None = None,
) -> np.ndarray:
    """A float32 mask in [0, 1] from a 3D (or 2D) map, and a second map to combine it with.

    Parameters
    ----------
    density
        The map, in array order; not modified.
    steps
        Threshold, combination, clean-up, extension, soft edge, helical crop, inversion.
    voxel_size_angstrom
        Needed for ``lowpass_angstrom``.
    second
        The map that ``steps.combine`` combines with ``density`` (its shape; never
        low-passed), or None without a combination.
    low_passed
        ``density`` already low-passed as ``steps.lowpass_angstrom`` asks (`low_pass`), when
        the caller has it: the map is then low-passed once for its mask and its numbers.

    Returns
    -------
    numpy.ndarray
        float32, the map's shape.

    Raises
    ------
    FieldError
        Naming the step at fault (``lowpass_angstrom``, ``threshold``, the combination,
        ``min_component_voxels``, ``helix``, ``soft_edge_px``): a low-pass without a voxel
        size, a threshold that keeps nothing (naming the map's range, so that a threshold can
        be chosen), a combination that keeps nothing, a clean-up that removes every
        component (naming the largest), a helical crop of a map that is not 3D with at least
        `HELIX_MIN_Z` slices, or without a soft edge.
    """
    _check_helix(density.shape, steps)
    values = np.asarray(density)
    if steps.lowpass_angstrom:
        if voxel_size_angstrom <= 0:
            raise FieldError(
                "lowpass_angstrom",
                "a low-pass needs the map's voxel size, and its header gives none; set it in the header, "
                "or leave out the low-pass",
            )
        if low_passed is None:
            low_passed = low_pass(values.astype(np.float64), steps.lowpass_angstrom, voxel_size_angstrom)
        values = low_passed
    if steps.combine is not None:
        if second is None or second.shape != values.shape:
            raise ValueError(f"'{steps.combine}' needs a second map of the map's shape {values.shape}")
        binary = combined_seed(values, second, steps.threshold, steps.combine)
        if not binary.any():
            raise FieldError(
                steps.combine,
                f"the combination '{steps.combine}' of the two maps at threshold {steps.threshold:g} keeps "
                "no voxel; lower the threshold, or check that the maps overlap",
            )
    else:
        binary = values >= steps.threshold
        if not binary.any():
            after = f" {after_low_pass(steps.lowpass_angstrom)}" if steps.lowpass_angstrom else ""
            raise ThresholdAboveTheMap(steps.threshold, float(values.min()), float(values.max()), after)
    seeded = binary
    binary = clean_up(binary, steps)
    if not binary.any():
        largest = int(np.bincount(_ndimage().label(seeded)[0].ravel())[1:].max())
        raise FieldError(
            "min_component_voxels",
            f"the clean-up removes every component the threshold keeps (the largest has {largest} voxels); "
            f"ask for at most {largest} voxels, or lower the threshold",
        )
    mask = np.zeros(binary.shape, np.float32)
    # Only voxels within reach of the mask can change: the distance transforms run on that box.
    near = bounding_box(binary, math.ceil(max(steps.extend_px, 0)) + math.ceil(steps.soft_edge_px) + 2)
    assert near is not None  # the binary mask has voxels: checked above
    region = binary[near]
    if steps.extend_px > 0:
        region = region | (_distance_to(region) < steps.extend_px)
    elif steps.extend_px < 0:
        region = region & ~(_distance_to(~region) < -steps.extend_px)
    part = region.astype(np.float32)
    if steps.soft_edge_px > 0 and region.any():
        distance = _distance_to(region)
        edge = ~region & (distance < steps.soft_edge_px)
        part[edge] = 0.5 + 0.5 * np.cos(np.pi * distance[edge] / steps.soft_edge_px)
    mask[near] = part
    if steps.helix:
        mask = helix_crop(mask, steps.z_percentage, steps.soft_edge_px)
    if steps.invert:
        np.subtract(1, mask, out=mask)
    return mask


def after_low_pass(lowpass_angstrom: float | None) -> str:
    """How words about a map's values say they are the low-passed map's: ``after low-pass to 30 Å``; "" without one.

    The threshold meets the map low-passed, so its range, levels and a rule's numbers are the
    low-passed map's, which messages say, lest they be read as the map's own.
    """
    return f"after low-pass to {lowpass_angstrom:g} Å" if lowpass_angstrom else ""


def combined_seed(first: np.ndarray, second: np.ndarray, threshold: float, combine: str) -> np.ndarray:
    """The seed of a mask made from two maps: each compared strictly with ``threshold``.

    ``and``: both above; ``or``: either above; ``and_not``: the first above and the second
    below; ``or_not``: the first above or the second below (a voxel equal to the threshold is
    neither above nor below it). RELION's ``--and``, ``--or``, ``--and_not``, ``--or_not``.
    """
    above = first > threshold
    if combine == "and":
        return above & (second > threshold)
    if combine == "or":
        return above | (second > threshold)
    if combine == "and_not":
        return above & (second < threshold)
    if combine == "or_not":
        return above | (second < threshold)
    raise ValueError(f"unknown combination {combine!r}; one of {', '.join(COMBINATIONS)}")


def _check_helix(shape: tuple[int, ...], steps: MapMaskSteps) -> None:
    if not steps.helix:
        return
    if len(shape) != 3 or shape[0] < HELIX_MIN_Z:
        size = " × ".join(map(str, shape[::-1]))
        raise FieldError(
            "helix",
            f"the helical crop needs a 3D map of at least {HELIX_MIN_Z} slices in z, and this map is {size} "
            "(x × y[ × z]); leave out the helix",
        )
    if steps.soft_edge_px < HELIX_MIN_SOFT_EDGE:
        raise FieldError(
            "soft_edge_px",
            f"the helical crop needs a soft edge of at least {HELIX_MIN_SOFT_EDGE:g} px (RELION's minimum); "
            "set a soft edge, or leave out the helix",
        )
    if not 0.1 <= steps.z_percentage <= 0.9:
        raise FieldError("z_percentage", f"must lie from 0.1 to 0.9; got {steps.z_percentage:g}")


def helix_crop(mask: np.ndarray, z_percentage: float, width: float) -> np.ndarray:
    """Keep the central ``z_percentage`` of a 3D mask along z, with a raised-cosine fall of ``width`` slices.

    With k a slice's z index from the centre (``z − nz // 2``) and e = nz · z_percentage / 2:
    slices with |k| ≤ e keep their values; beyond e, they are multiplied by
    0.5 + 0.5·cos(π·(|k| − e)/width); beyond e + width, they are 0. RELION's ``--helix``
    (applied after the soft edge, before inversion).

    Returns
    -------
    numpy.ndarray
        float32, a new array.
    """
    nz = mask.shape[0]
    half = nz * z_percentage / 2
    beyond = np.abs(np.arange(nz, dtype=np.float64) - nz // 2) - half
    factor = np.where(beyond <= 0, 1.0, np.where(beyond > width, 0.0, 0.5 + 0.5 * np.cos(np.pi * beyond / width)))
    return (mask * factor[:, None, None]).astype(np.float32)


def _distance_to(region: np.ndarray) -> np.ndarray:
    """Euclidean distance of every voxel to the nearest voxel of ``region`` (0 inside it)."""
    if not region.any():
        return np.full(region.shape, np.inf)
    distance: np.ndarray = _ndimage().distance_transform_edt(~region)
    return distance


def clean_up(binary: np.ndarray, steps: MapMaskSteps) -> np.ndarray:
    """Keep the largest component, drop small ones, fill holes (face-connected), as asked."""
    if steps.keep_largest_component or steps.min_component_voxels > 0:
        labels, count = _ndimage().label(binary)
        if count:
            sizes = np.bincount(labels.ravel())[1:]
            keep = np.zeros(count + 1, bool)
            if steps.keep_largest_component:
                keep[1 + int(np.argmax(sizes))] = True
            else:
                keep[1:] = True
            if steps.min_component_voxels > 0:
                keep[1:] &= sizes >= steps.min_component_voxels
            binary = keep[labels]
    if steps.fill_holes:
        binary = _ndimage().binary_fill_holes(binary)
    return binary


def low_pass_beyond_nyquist(
    resolution_angstrom: float, voxel_size_angstrom: float, shape: tuple[int, ...]
) -> str | None:
    """Why a low-pass (`low_pass`) to ``resolution_angstrom`` leaves a map of ``shape`` as it is, up to Nyquist; None
    when it filters some frequency within Nyquist.

    Its raised cosine starts one shell below the cut-off shell: when that shell lies at or past
    Nyquist (N/2), every frequency to Nyquist keeps its weight 1, and, when it lies past the box's
    corners too, the map is returned unchanged (`relion_mask_create --lowpass 5` on an 11.4 Å/px
    map makes the mask it makes without it, silently). A value a little finer than Nyquist
    (2 × the voxel size) may still filter within it: the shell is rounded and the edge is 2 shells wide.

    Examples
    --------
    >>> low_pass_beyond_nyquist(5, 11.4, (20, 20, 20)).partition(";")[0]
    "5 Å is finer than the map's Nyquist, 22.8 Å: the low-pass changes nothing"
    >>> low_pass_beyond_nyquist(30, 11.4, (20, 20, 20)) is None
    True
    """
    size = shape[-1]
    low = (_round_half_away(size * voxel_size_angstrom / resolution_angstrom) - FILTER_EDGE_SHELLS // 2) / size
    if low < 0.5:  # in cycles per voxel, as `low_pass` measures a frequency's radius: Nyquist is 0.5
        return None
    corner = float(np.sqrt(sum(((n // 2) / n) ** 2 for n in shape)))
    does = (
        "changes nothing"
        if low >= corner
        else "keeps every frequency up to it, taking off only the box's corners beyond it"
    )
    nyquist = 2 * voxel_size_angstrom
    return (
        f"{resolution_angstrom:g} Å is finer than the map's Nyquist, {nyquist:g} Å: the low-pass {does}; give a value "
        f"above {nyquist:g} Å or leave it out"
    )


def low_pass(values: np.ndarray, resolution_angstrom: float, voxel_size_angstrom: float) -> np.ndarray:
    """Low-pass a map as RELION does: a raised cosine from one shell below to one above the cut-off.

    The cut-off shell is ``round(N · voxel size / resolution)`` for a box of N voxels (the X
    size); the edge is `FILTER_EDGE_SHELLS` shells wide. A frequency's radius is taken in
    true units (cycles per voxel, ``k / n`` on an axis of n voxels), so that a box that is
    not a cube has the same cut-off in Å on every axis; on a cube this is RELION's filter.
    """
    size = values.shape[-1]
    shell = _round_half_away(size * voxel_size_angstrom / resolution_angstrom)
    half = FILTER_EDGE_SHELLS // 2
    low = max(0.0, (shell - half) / size)
    high = min(size // 2 + 1, (shell + half) / size)
    spectrum = np.fft.rfftn(values)
    frequencies = np.meshgrid(  # in shells of the X size: k · N / n (k itself on a cube)
        *[np.fft.fftfreq(n) * n * (size / n) for n in values.shape[:-1]],
        np.fft.rfftfreq(values.shape[-1]) * values.shape[-1],
        indexing="ij",
        sparse=True,
    )
    radius = np.sqrt(sum(f.astype(np.float64) ** 2 for f in frequencies)) / size
    weight = np.where(
        radius < low,
        1.0,
        np.where(radius > high, 0.0, 0.5 + 0.5 * np.cos(np.pi * (radius - low) / max(high - low, 1e-300))),
    )
    return np.fft.irfftn(spectrum * weight, s=values.shape, axes=tuple(range(values.ndim)))


def _round_half_away(x: float) -> int:
    return math.floor(x + 0.5) if x > 0 else math.ceil(x - 0.5)


def _ndimage() -> ModuleType:
    """scipy.ndimage, imported when a mask is made from a map (0.2 s that no other job needs)."""
    from scipy import ndimage

    module: ModuleType = ndimage  # scipy has no type information: Any, named for what it is
    return module
