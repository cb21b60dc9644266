"""A judgement of a mask from its FSC curves and its shape: too tight, hard edge, too loose, or fine.

The rules and their thresholds are docs/spec.md's ("Checking a mask"); every number a rule
uses is measured here and reported with the verdict:

- ``phase_randomised_fsc_max``: the phase-randomised masked FSC, from two shells past the
  randomisation shell (where RELION's correction starts) up to the resolution shell, at the
  shell where it stands highest against that shell's limit (``phase_randomised_fsc_limit``,
  `randomised_fsc_limits`: the larger of `TIGHT_RANDOMISED_FSC` and `TIGHT_SIGMAS` × the
  shell's noise, ``phase_randomised_fsc_noise``/√n for its n independent voxels, the factor
  `noise_spread` of the mask). Above it the mask itself correlates the
  halves: too tight. Reported with where it is (``phase_randomised_fsc_max_angstrom``) and its
  value at the resolution shell (``phase_randomised_fsc_at_resolution``), the one shell
  ``relion_postprocess`` warns at. Where the resolution shell comes before the first shell
  corrected (a curve that falls from 0.8 to 0.143 within two shells: a map low-passed hard), the
  maximum is that first shell's value, past the resolution, and the resolution shell's value is
  where the phase-randomised curve has not yet fallen beside the shells left unrandomised (why
  RELION corrects only from two shells on; ``resolution_before_correction``): RELION warns of it,
  whatever the mask.
- ``density_outside_fraction``: the share of the reliable density that lies where the mask
  is below 0.5; above `DENSITY_OUTSIDE_MAX`: too tight (the mask cuts density), and
  ``density_outside_reach_angstrom`` (99th percentile) says how far. The reliable density
  is the halves' mean cut off at the randomisation shell, above the solvent's median by
  `DENSITY_SIGMAS` × its noise (the halves' half-difference, cut off alike) and by
  `DENSITY_PEAK_FRACTION` of its peak (99.9th percentile), whichever is higher. A mask cropped
  along z (its voxels ≥ 0.5 in fewer slices than the box's) over density that runs through
  the box about uniformly (a helix's, masked as ``relion_mask_create --helix --z_percentage``
  does; `maskrun.geometry.along_z`) leaves
  the density beyond its z ends out by design: that share is ``density_beyond_z_ends_fraction``,
  and the two measures above count the rest, the slices between the mask's z ends (`left_out`).
  Connected parts of the density outside that reach past `part_reach_angstrom` (half the
  randomisation shell's resolution) are parts left out (`split_outside`): their share, reach,
  count and centre are ``density_left_out_*``. They count in the two measures above, unless
  the mask is checked as a focused mask (``focused``: another domain left out by design),
  when those count the rest.
- ``edge_width_angstrom``: how far the soft edge reaches from the mask's core (values ≥ 0.99);
  narrower than `EDGE_MEASURED_SHARE` of the larger of `EDGE_MIN_PX` voxels and
  `EDGE_MIN_RESOLUTIONS` × the resolution (up to `EDGE_ALWAYS_SOFT_ANGSTROM`): hard edge (the
  share, as an edge of w measures about 0.94 w: ``relion_mask_create``'s 3 px edge passes a 3 px
  minimum). The advice is `EDGE_SUGGESTED_PX` voxels or
  `EDGE_SUGGESTED_RESOLUTIONS` × the resolution, the resolution counting up to the same cap
  (a 30 Å map needs no 60 Å edge).
- ``hard_surface_fraction``: the share of the mask's outer surface (its voxels above 0.001
  beside one at or below it) above half the mask's maximum: where the mask drops from over
  0.5 to nothing from one voxel to the next (a face cut off with a plane or a box, say; a
  raised-cosine edge of 3 px or more drops from 0.25 at most). Above
  `HARD_SURFACE_MAX`: hard edge, however soft the rest (``edge_width_angstrom`` is the
  edge's farthest reach, so a cut face would not show in it). Measured on the mask as given,
  not binned: binning blurs a one-voxel drop into a soft-looking one.
- ``padding_angstrom``: the 95th percentile of the distance from a voxel of the mask (≥ 0.5)
  to the nearest reliable density; beyond `LOOSE_MIN_ANGSTROM` and `LOOSE_MIN_PX` voxels:
  too loose. A mask whose left-out density reaches beyond that limit is told to be made again
  at a lower threshold (extending it that far would leave the rest of it too loose).

Distances are measured on a grid binned to at most `MEASURE_BOX` voxels a side (a 256³ map:
2 × 2 × 2 bins; the reliable maps are sampled on it directly), so they are good to a bin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np
from scipy import ndimage

from maskrun.geometry.along_z import uniform_along_z
from maskrun.geometry.bounding_box import bounding_box
from maskrun.geometry.fsc import CORRECTION_SHELLS_PAST, HalfMaps, MaskedFsc, corrected_fsc, resolution_shell

TIGHT_RANDOMISED_FSC = 0.1
TIGHT_SIGMAS = 3.0  # the shell's limit: at least this many times its noise, 1/√(independent voxels)
DENSITY_SIGMAS = 3.0
DENSITY_PEAK_FRACTION = 0.2
DENSITY_PEAK_PERCENTILE = 99.9
DENSITY_OUTSIDE_MAX = 0.01
EDGE_MIN_PX = 3.0
EDGE_MIN_RESOLUTIONS = 1.0
EDGE_ALWAYS_SOFT_ANGSTROM = 6.0  # an edge this wide is soft at any resolution
EDGE_SUGGESTED_PX = 6.0  # relion_mask_create's customary soft edge
EDGE_SUGGESTED_RESOLUTIONS = 2.0
EDGE_MEASURED_SHARE = 0.9  # a raised-cosine edge of w measures ~0.94 w (its core starts at 0.99): 3 px reads 2.83
HARD_SURFACE_MAX = 0.05  # a cut face of a sphere through its centre is a third of its surface
LOOSE_MIN_ANGSTROM = 20.0
LOOSE_MIN_PX = 12.0
MEASURE_BOX = 128
CORE = 0.99
PART_REACH_RESOLUTIONS = 0.5  # outside density reaching past this × the randomisation resolution: a part left out
FOCUSED_HOW = "check it as a focused mask"  # `left_out_note`'s advice, unless the caller spells its setting


@dataclass(frozen=True)
class MaskMeasures:
    """What the verdict is judged from (lengths in Å)."""

    resolution_angstrom: float
    phase_randomised_fsc_max: float
    phase_randomised_fsc_max_angstrom: float  # the shell where it is, Å
    phase_randomised_fsc_at_resolution: float  # at the resolution shell, where relion_postprocess warns
    masked_corrected_gap_max: float
    solvent_fraction: float
    density_outside_fraction: float
    density_outside_reach_angstrom: float
    edge_width_angstrom: float
    padding_angstrom: float
    hard_surface_fraction: float
    density_beyond_z_ends_fraction: float = 0.0  # left out by a z crop, not counted above (`left_out`)
    phase_randomised_fsc_limit: float = TIGHT_RANDOMISED_FSC  # at phase_randomised_fsc_max's shell
    phase_randomised_fsc_noise: float = 1.0  # the FSC's noise in a shell of n independent voxels, × 1/√n
    density_left_out_fraction: float = 0.0  # in parts reaching past `part_reach_angstrom` (`split_outside`)
    density_left_out_reach_angstrom: float = 0.0  # how far those parts reach past the mask (99th percentile)
    density_left_out_parts: int = 0
    density_left_out_centre_px: tuple[int, int, int] | None = None  # the largest part's centre, voxel x, y, z
    focused: bool = False  # checked as a focused mask (--focused): the parts are left out by design, not counted
    resolution_before_correction: bool = False  # the resolution shell comes before the first shell corrected


@dataclass(frozen=True)
class Remake:
    """A size of a checked mask as ``make-mask --from-map MASK`` makes it: the mask's core (where it is at least
    ``threshold``), grown by ``extend_px`` (shrunk when negative), with a soft edge ``soft_edge_px`` wide.

    The size a check tried when it advised growing or shrinking the mask: made so, the user
    gets the mask the check judged, not one grown another way (from its 0.5 contour, say, which
    holds half the soft edge already) that the next check judges otherwise.
    """

    threshold: float
    extend_px: int
    soft_edge_px: float


@dataclass(frozen=True)
class Remap:
    """A speckled mask made again from the map it was made from (`maskrun.engine.speckled_mask`): the map low-passed
    to ``lowpass_angstrom`` first, and the pieces under ``min_component_voxels`` dropped (make-mask's ``--lowpass``
    and ``--min-component-voxels``)."""

    lowpass_angstrom: float
    min_component_voxels: int


@dataclass(frozen=True)
class Reason:
    """One finding: what, the measured value against its threshold, what to do, and the mask that does it: a size
    tried (``remake``), or the map the mask came from, low-passed (``remap``)."""

    verdict: str
    measured: str
    suggestion: str
    remake: Remake | None = None
    remap: Remap | None = None


def tight_words(m: MaskMeasures) -> str:
    """The too-tight test's measures in words, against their limits.

    Where the phase-randomised FSC passes its limit at a shell before the resolution's while
    at the resolution shell it does not, that is said too: ``relion_postprocess`` warns from
    that one shell, and is silent on such a mask. Where no shell passes its limit but the
    resolution shell's value is above 0.1 (its limit above 0.1, for its noise), that is said:
    ``relion_postprocess`` warns on such a mask.
    """
    where = f"at {m.phase_randomised_fsc_max_angstrom:.1f} Å" + (
        ", the first shell corrected" if m.resolution_before_correction else ""
    )
    randomised = (
        f"phase-randomised masked FSC up to {m.phase_randomised_fsc_max:.3f} {where} "
        f"({limit_words(m.phase_randomised_fsc_limit, m.phase_randomised_fsc_noise)}"
    )
    at_resolution = f"{m.phase_randomised_fsc_at_resolution:.3f} at the resolution shell"
    if m.resolution_before_correction and m.phase_randomised_fsc_at_resolution > TIGHT_RANDOMISED_FSC:
        randomised += f"; relion_postprocess warns of {at_resolution}, before it"
    elif m.phase_randomised_fsc_max > m.phase_randomised_fsc_limit and (
        m.phase_randomised_fsc_at_resolution <= TIGHT_RANDOMISED_FSC
    ):
        randomised += f"; {at_resolution}, the only one relion_postprocess warns from"
    elif m.phase_randomised_fsc_max <= m.phase_randomised_fsc_limit and (
        m.phase_randomised_fsc_at_resolution > TIGHT_RANDOMISED_FSC
    ):  # every shell within its limit, the resolution shell's above 0.1: RELION's fixed 0.1 warns there
        randomised += f"; {at_resolution}: relion_postprocess warns here (above 0.1); within this shell's noise"
    return f"{randomised}); {_tight_outside_words(m)} (limit {DENSITY_OUTSIDE_MAX:.0%})"


def _tight_outside_words(m: MaskMeasures) -> str:
    """`outside_words` as the too-tight reason says them: what is not counted in brief (the summary's measures line
    and the note say where the parts lie and how far they reach)."""
    outside = f"{m.density_outside_fraction:.1%} of the reliable density outside"
    left_out = []
    if m.density_beyond_z_ends_fraction:
        left_out.append(f"{m.density_beyond_z_ends_fraction:.1%} beyond its z ends, as a helical z crop leaves it")
    if m.focused and m.density_left_out_fraction:
        left_out.append(f"{m.density_left_out_fraction:.1%} in parts left out by design")
    return f"{outside} ({'; '.join(left_out)}: not counted)" if left_out else outside


def limit_words(limit: float, noise: float = 1.0) -> str:
    """A shell's limit on the phase-randomised masked FSC, in words: with why, when it is over 0.1 (``limit 0.215, 3 ×
    noise 1.40/√381``: 3 × the shell's noise, the mask's noise factor over the root of its independent voxels)."""
    if limit <= TIGHT_RANDOMISED_FSC:
        return f"limit {limit:.3g}"
    voxels = round((TIGHT_SIGMAS * noise / limit) ** 2)
    return f"limit {limit:.3f}, {TIGHT_SIGMAS:g} × noise {noise:.2f}/√{voxels}"


def noise_spread(mask: np.ndarray) -> float:
    """How much a mask widens the FSC's noise in a shell, against 1/√n for its n independent voxels (at least 1).

    Two uncorrelated maps' FSC over a shell of n independent voxels scatters by 1/√(2n) (real
    and imaginary parts), but a mask ties each voxel of the transform to its neighbours over
    the footprint of its own transform (of the mask squared): the shell holds fewer independent
    values by the factor g that footprint covers in a plane through the origin (a shell is
    locally a plane). By the projection-slice theorem and Parseval, g is the face's voxels ×
    Σ P² / (Σ P)², P the mask squared summed along an axis, averaged over the three axes: 1 for
    no mask, the inverse of the share of the face the projected mask fills. The noise is then
    √(g / 2) / √n; measured over seeds on masks from 0.5 to 90 % of the box, within about 15 %.
    """
    squared = np.square(np.asarray(mask, dtype=np.float64))
    spreads = []
    for axis in range(squared.ndim):
        projected = squared.sum(axis=axis)
        total = float(projected.sum())
        spreads.append(projected.size * float(np.square(projected).sum()) / total**2 if total > 0 else 1.0)
    return max(1.0, math.sqrt(float(np.mean(spreads)) / 2))


def shell_noise(independent_voxels: float | np.ndarray, noise: float = 1.0) -> float | np.ndarray:
    """The FSC's noise in a shell of n independent voxels (a Friedel pair counts once): ``noise`` / √n, ``noise``
    the mask's `noise_spread`."""
    result: float | np.ndarray = noise / np.sqrt(np.maximum(independent_voxels, 1.0))
    return result


def randomised_fsc_limits(independent_voxels: np.ndarray, noise: float = 1.0) -> np.ndarray:
    """Each shell's limit on the phase-randomised masked FSC: the larger of `TIGHT_RANDOMISED_FSC` and
    `TIGHT_SIGMAS` × ``noise`` / √n, n the shell's independent voxels (a Friedel pair counts once)
    and ``noise`` the mask's `noise_spread`.

    RELION's 0.1 is a fixed limit, but the FSC of uncorrelated maps scatters by about noise/√n
    per shell: a few hundred voxels, the shells just past the randomisation shell of a 64³ box,
    put 0.1 within the noise, and a fine mask was called too tight by one shell, depending on
    the seed. `TIGHT_SIGMAS` = 3: over the ten or so shells judged, uncorrelated noise passes it
    in about 1 case in 70.
    """
    floor = TIGHT_SIGMAS * shell_noise(independent_voxels, noise)
    limits: np.ndarray = np.maximum(TIGHT_RANDOMISED_FSC, floor)
    return limits


def worst_shell(randomised: np.ndarray, limits: np.ndarray, first: int, last: int) -> int:
    """The shell from ``first`` to ``last`` where the phase-randomised FSC stands highest against its limit."""
    return first + int(np.argmax(randomised[first : last + 1] / limits[first : last + 1]))


def _limits(curves: MaskedFsc, noise: float) -> np.ndarray:
    if curves.independent_voxels_per_shell is None:
        raise ValueError("the curves hold no independent voxel counts: use HalfMaps.with_mask")
    return randomised_fsc_limits(curves.independent_voxels_per_shell, noise)


def outside_words(m: MaskMeasures) -> str:
    """The share of the reliable density outside the mask, in words: with a z crop's (`left_out`) and, for a focused
    mask, the parts it leaves out (`split_outside`), where it is counted and what is not."""
    outside = f"{m.density_outside_fraction:.1%} outside the mask"
    if m.focused and m.density_left_out_fraction:
        outside = f"{parts_words(m)} (not counted); of the rest, {outside}"
    elif not m.density_beyond_z_ends_fraction:
        return f"{m.density_outside_fraction:.1%} of the reliable density outside the mask"
    if not m.density_beyond_z_ends_fraction:
        return outside
    return (
        f"{m.density_beyond_z_ends_fraction:.1%} of the reliable density lies beyond the mask's z ends, left out "
        f"as a helical z crop leaves it out by design (not counted); of the density between them, {outside}"
    )


def parts_words(m: MaskMeasures) -> str:
    """The parts of the reliable density the mask leaves out, in words: their share, how far they reach and where."""
    count = m.density_left_out_parts
    where = f", {_centre_words(m)}" if m.density_left_out_centre_px is not None else ""
    return (
        f"the mask leaves out {m.density_left_out_fraction:.1%} of the reliable density, in "
        f"{count} part{'s' if count > 1 else ''} reaching {m.density_left_out_reach_angstrom:.0f} Å past it{where}"
    )


def _centre_words(m: MaskMeasures) -> str:
    """Where the parts left out lie (the largest's centre, of several): ``centred near voxel x 22, y 32, z 32``."""
    assert m.density_left_out_centre_px is not None
    x, y, z = m.density_left_out_centre_px
    return f"{'the largest ' if m.density_left_out_parts > 1 else ''}centred near voxel x {x}, y {y}, z {z}"


def left_out_note(m: MaskMeasures, how_focused: str = FOCUSED_HOW) -> str | None:
    """What a verdict adds on the parts the mask leaves out (`split_outside`), or None when there are none.

    For a focused mask (checked as one), that they are left out by design and not counted; else,
    where they count, that they are parts and how to check a focused mask as one: ``how_focused``,
    as the caller spells its setting (maskrun cannot tell a mask of one domain from a mask that
    misses part of the particle; the user can).
    """
    if not m.density_left_out_fraction:
        return None
    if m.focused:
        return (
            f"{parts_words(m)}: left out by design, as a focused mask (one domain, or without the micelle) leaves "
            "the rest of the particle out (checked as one): not counted, not grown over; the verdict judges the mask "
            "on what it holds"
        )
    count = m.density_left_out_parts
    where = f" ({_centre_words(m)})" if m.density_left_out_centre_px is not None else ""
    return (
        f"the density left out lies in {count} part{'s' if count > 1 else ''} ({m.density_left_out_fraction:.1%} of "
        f"the reliable density) reaching {m.density_left_out_reach_angstrom:.0f} Å past the mask{where}: if the "
        f"mask is of part of the particle (a focused mask), {how_focused}"
    )


def relion_warning_note(m: MaskMeasures) -> str | None:
    """That ``relion_postprocess`` would warn of a mask this verdict does not find too tight, or None.

    RELION warns when the phase-randomised masked FSC is above 0.1 at the resolution shell; a
    wide mask's FSC scatters past 0.1 by noise alone (`randomised_fsc_limits`), so the verdict's
    limit there can be higher. The user who then meets RELION's warning is told why it is not
    counted here; a too-tight verdict says it in its reason (`tight_words`).
    """
    if too_tight(m) or m.phase_randomised_fsc_at_resolution <= TIGHT_RANDOMISED_FSC:
        return None
    if m.resolution_before_correction:
        return (
            f"relion_postprocess warns of this mask (the phase-randomised masked FSC is "
            f"{m.phase_randomised_fsc_at_resolution:.3f} at the resolution shell, {m.resolution_angstrom:.1f} Å, "
            f"above its fixed 0.1): that shell comes before the first shell corrected (two past the randomisation "
            f"shell), where the phase-randomised curve has not yet fallen beside the shells left unrandomised, "
            f"whatever the mask; from that first shell on it is within its limit, so not too tight"
        )
    return (
        f"relion_postprocess warns of this mask (the phase-randomised masked FSC is "
        f"{m.phase_randomised_fsc_at_resolution:.3f} at the resolution shell, above its fixed 0.1); within that "
        f"shell's noise here ({limit_words(m.phase_randomised_fsc_limit, m.phase_randomised_fsc_noise)}), so not "
        "too tight"
    )


def verdict_notes(m: MaskMeasures, how_focused: str = FOCUSED_HOW) -> list[str]:
    """What a verdict adds beside its reasons: the parts left out (`left_out_note`), RELION's warning
    (`relion_warning_note`)."""
    return [note for note in (left_out_note(m, how_focused), relion_warning_note(m)) if note is not None]


def measure_binning(box: int) -> int:
    """The binning of a ``box``³ map for the measures: the smallest that leaves at most `MEASURE_BOX` voxels a side."""
    factor = max(1, math.ceil(box / MEASURE_BOX))
    while box % factor:
        factor += 1
    return factor


def measure(curves: MaskedFsc, mask: np.ndarray, focused: bool = False) -> MaskMeasures:
    """The measures of a mask, from its curves and the mask itself.

    The curves are ``masked_fsc(..., reliable_maps=True, reliable_box=box // measure_binning(box))``.
    The parts the mask leaves out (`split_outside`) are measured either way; ``focused`` (a mask
    of part of the particle, by the user's word) leaves them out of ``density_outside_fraction``
    and its reach, which otherwise count them.
    """
    if curves.reliable_average is None or curves.reliable_noise is None:
        raise ValueError("measure needs the reliable maps: masked_fsc(..., reliable_maps=True)")
    voxel = curves.voxel_size_angstrom
    resolution = curves.shell_angstrom(max(curves.resolution_shell, 1)) if curves.resolution_shell else 2 * voxel
    first = curves.randomise_from_shell + CORRECTION_SHELLS_PAST
    last = max(curves.resolution_shell, first)  # the first shell corrected alone, when the resolution is before it
    at_resolution = min(curves.resolution_shell, curves.phase_randomised_masked.size - 1)
    beyond = slice(first, last + 1)
    randomised = curves.phase_randomised_masked[beyond]
    gap = curves.masked[beyond] - curves.corrected_with_mask[beyond]
    factor = measure_binning(mask.shape[0])
    binned_mask = _binned(np.asarray(mask, dtype=np.float32), factor)
    average = curves.reliable_average
    if average.shape != binned_mask.shape:
        raise ValueError(f"the reliable maps must be sampled on the {binned_mask.shape} grid: use measure_binning")
    step = voxel * factor
    noise = float(np.std(curves.reliable_noise))
    inside = binned_mask >= 0.5
    density = _reliable_density(average, noise, float(np.percentile(average, DENSITY_PEAK_PERCENTILE)), inside)
    counted, beyond_z = left_out(density, inside)
    part_reach = part_reach_angstrom(curves.randomise_from_angstrom)
    outside = counted & ~inside
    split = split_outside(outside, inside, step, part_reach)
    parts, part_labels = split.parts, split.labels
    in_parts = parts[outside] if split.distances.size else np.zeros(0, bool)  # of the outside's voxels, C order
    outside_density = split.margin if focused else outside
    reach = split.distances[~in_parts] if focused else split.distances
    part_distances = split.distances[in_parts]
    padding = _distances(inside, density, step) if density.any() else np.zeros(0)
    noise = noise_spread(mask)
    limits = _limits(curves, noise)
    peak_shell = worst_shell(curves.phase_randomised_masked, limits, first, last) if randomised.size else last
    return MaskMeasures(
        resolution_angstrom=resolution,
        phase_randomised_fsc_max=float(curves.phase_randomised_masked[peak_shell]) if randomised.size else 0.0,
        phase_randomised_fsc_limit=float(limits[peak_shell]),
        phase_randomised_fsc_noise=noise,
        phase_randomised_fsc_max_angstrom=curves.shell_angstrom(peak_shell),
        phase_randomised_fsc_at_resolution=float(curves.phase_randomised_masked[at_resolution]),
        masked_corrected_gap_max=float(gap.max()) if gap.size else 0.0,
        solvent_fraction=float(1.0 - mask.mean(dtype=np.float64)),
        density_outside_fraction=outside_fraction(outside_density, counted, parts if focused else None),
        density_outside_reach_angstrom=float(np.percentile(reach, 99)) if reach.size else 0.0,
        edge_width_angstrom=_edge_width(binned_mask, step),
        padding_angstrom=float(np.percentile(padding, 95)) if padding.size else 0.0,
        hard_surface_fraction=hard_surface_fraction(mask),
        density_beyond_z_ends_fraction=beyond_z,
        density_left_out_fraction=float(parts.sum() / max(counted.sum(), 1)),
        density_left_out_reach_angstrom=float(np.percentile(part_distances, 99)) if part_distances.size else 0.0,
        density_left_out_parts=len(part_labels),
        density_left_out_centre_px=_largest_centre(split, factor) if part_labels else None,
        focused=focused,
        resolution_before_correction=curves.resolution_shell < first,
    )


def part_reach_angstrom(randomise_from_angstrom: float) -> float:
    """How far past a mask the reliable density it leaves out may reach and still be a margin, Å: beyond, a part.

    `PART_REACH_RESOLUTIONS` × the resolution the reliable density is cut off at (the
    randomisation shell's): a mask cutting through density leaves out a layer as thick as the
    density's blur there, about half that resolution (the half-period of the cut-off); what
    reaches further is a body of density (another domain, a micelle, a neighbour).
    """
    return PART_REACH_RESOLUTIONS * randomise_from_angstrom


class OutsideSplit(NamedTuple):
    """`split_outside`'s answer: ``margin`` and ``parts`` (boolean grids), the parts' ``labels`` in ``label_grid``,
    largest first, and ``distances``: each voxel of the outside's distance to the mask, Å, in C order (empty
    without a mask)."""

    margin: np.ndarray
    parts: np.ndarray
    labels: list[int]
    label_grid: np.ndarray | None
    distances: np.ndarray


def split_outside(outside: np.ndarray, inside: np.ndarray, step: float, reach_angstrom: float) -> OutsideSplit:
    """The reliable density outside a mask split into the margin a too-tight mask leaves and the parts it leaves out.

    A part is a connected component of ``outside`` (face neighbours) with a voxel more than
    ``reach_angstrom`` from ``inside`` (`part_reach_angstrom`): the whole component,
    what of it lies near the mask too (growing the mask over its near end would only move the
    far end). Returns the rest of ``outside``, the parts, their labels (largest first) and the
    outside's distances to the mask, which the measures take their reaches from. With no
    ``inside``, no parts.
    """
    if not inside.any() or not outside.any():
        return OutsideSplit(outside, np.zeros(outside.shape, bool), [], None, np.zeros(0))
    distances = _distances(outside, inside, step)
    labels, _ = ndimage.label(outside)
    far = np.unique(labels[outside][distances > reach_angstrom])
    if far.size == 0:
        return OutsideSplit(outside, np.zeros(outside.shape, bool), [], labels, distances)
    parts = np.isin(labels, far)
    sizes = np.bincount(labels[parts])[far]
    ordered = [int(label) for label in far[np.argsort(-sizes, kind="stable")]]
    return OutsideSplit(outside & ~parts, parts, ordered, labels, distances)


def outside_fraction(outside: np.ndarray, counted: np.ndarray, parts: np.ndarray | None) -> float:
    """``density_outside_fraction``: the reliable density outside the mask, of what is counted but the ``parts`` (a
    focused mask's; None: all of it)."""
    left_out = 0 if parts is None else int(parts.sum())
    return float(outside.sum() / max(int(counted.sum()) - left_out, 1))


def _largest_centre(split: OutsideSplit, factor: int) -> tuple[int, int, int]:
    """The centre of the largest part (labelled by `split_outside`), in voxels x, y, z of the unbinned map."""
    assert split.label_grid is not None and split.labels
    z, y, x = ndimage.center_of_mass(split.label_grid == split.labels[0])
    return (
        round(x * factor + (factor - 1) / 2),
        round(y * factor + (factor - 1) / 2),
        round(z * factor + (factor - 1) / 2),
    )


def left_out(density: np.ndarray, inside: np.ndarray) -> tuple[np.ndarray, float]:
    """The reliable density a mask is judged by, and the share of it beyond the mask's z ends that is not.

    All of ``density``, and 0, unless the mask (``inside``: its voxels ≥ 0.5) is cropped along
    z, in fewer slices than the box's, while the density runs through the box about uniformly
    (`uniform_along_z`: each slice beyond the mask's z ends holds most of the median slice's
    between them): a helix's, which a helical z crop (RELION's ``--helix --z_percentage``) leaves
    out beyond its ends by design. Then the density between the mask's z ends, and the share
    beyond them. A particle's density, even long enough to reach every slice, falls towards its
    ends: what a mask cut short in z leaves of it counts.
    """
    slices = np.flatnonzero(inside.any(axis=(1, 2))) if inside.ndim == 3 else np.zeros(0, int)
    if slices.size == 0 or slices.size == inside.shape[0]:
        return density, 0.0
    if not uniform_along_z(density.sum(axis=(1, 2)), int(slices[0]), int(slices[-1])):
        return density, 0.0
    between = np.zeros(inside.shape[0], bool)
    between[slices[0] : slices[-1] + 1] = True
    counted = density & between[:, None, None]
    return counted, float(1 - counted.sum() / max(density.sum(), 1))


def _reliable_density(average: np.ndarray, noise: float, top: float, inside: np.ndarray) -> np.ndarray:
    """Where the reliable density is, given the halves' mean, its noise's deviation and peak, and the mask's inside."""
    baseline = float(np.median(average[~inside])) if not inside.all() else float(np.median(average))
    peak = top - baseline
    level = baseline + max(DENSITY_SIGMAS * noise, DENSITY_PEAK_FRACTION * peak)
    density: np.ndarray = average > level
    return density


@dataclass(frozen=True)
class TightMeasures:
    """What decides whether a mask is too tight, and how far it reaches: `measure`'s numbers of these names.

    ``phase_randomised_fsc_max`` is None when it is at most its limit (the mask is not too
    tight by it) and finding it would take the resolution shell.
    """

    phase_randomised_fsc_max: float | None
    density_outside_fraction: float
    padding_angstrom: float
    phase_randomised_fsc_limit: float = TIGHT_RANDOMISED_FSC
    phase_randomised_fsc_noise: float = 1.0

    @classmethod
    def of(cls, measures: MaskMeasures) -> TightMeasures:
        """The measures of these names among `measure`'s."""
        return cls(*(getattr(measures, field.name) for field in fields(cls)))


def too_tight(measures: MaskMeasures | TightMeasures) -> bool:
    """Whether the measures make a mask too tight: the mask correlates the halves, or it leaves density out."""
    m = measures
    correlates = m.phase_randomised_fsc_max is not None and m.phase_randomised_fsc_max > m.phase_randomised_fsc_limit
    return correlates or m.density_outside_fraction > DENSITY_OUTSIDE_MAX


class TightTest:
    """`too_tight`'s measures of many masks against one pair of prepared half-maps, at a fraction of `measure`'s cost.

    The numbers are `measure`'s, bit for bit, with none of the others (edge, hard surface, the
    density left out's reach), and what does not depend on the mask measured once. The
    phase-randomised masked FSC's largest value runs to the resolution shell, which is never
    before the unmasked FSC's (`HalfMaps.with_mask` reports the unmasked curve when it
    reaches further): the masked FSC, two more transforms, is computed only when the curve
    rises past that shell above its limit (`randomised_fsc_limits`). Where it stays at or
    below, the mask is not too tight by it wherever the resolution lies, and the value is left
    out (None).

    Parameters
    ----------
    halves
        Prepared with ``reliable_maps=True, reliable_box=box // measure_binning(box)``.
    focused
        The masks are of part of the particle: the parts each leaves out (`split_outside`) are
        not counted, as `measure` with ``focused``.
    """

    def __init__(self, halves: HalfMaps, focused: bool = False):
        if halves.average is None or halves.noise is None:
            raise ValueError("TightTest needs the reliable maps: HalfMaps(..., reliable_maps=True)")
        self.halves = halves
        self.factor = measure_binning(halves.shape[0])
        if halves.average.shape != tuple(size // self.factor for size in halves.shape):
            raise ValueError("the reliable maps must be sampled on the measures' grid: use measure_binning")
        self.average = halves.average
        self.noise = float(np.std(halves.noise))
        self.top = float(np.percentile(halves.average, DENSITY_PEAK_PERCENTILE))
        self.unmasked_shell = resolution_shell(halves.unmasked)
        self.part_reach = part_reach_angstrom(halves.randomise_from_angstrom)
        self.step = halves.voxel_size_angstrom * self.factor
        self.focused = focused

    def __call__(self, mask: np.ndarray) -> TightMeasures:
        """The measures of ``mask`` (values in [0, 1], the half-maps' shape)."""
        inside = _binned(np.asarray(mask, dtype=np.float32), self.factor) >= 0.5
        density = _reliable_density(self.average, self.noise, self.top, inside)
        counted = left_out(density, inside)[0]
        step = self.step
        outside_density, parts = counted & ~inside, None
        if self.focused:
            outside_density, parts = split_outside(outside_density, inside, step, self.part_reach)[:2]
        padding = _distances(inside, density, step) if density.any() else np.zeros(0)
        noise = noise_spread(mask)
        value, limit = self._randomised_max(mask, noise)
        return TightMeasures(
            phase_randomised_fsc_max=value,
            density_outside_fraction=outside_fraction(outside_density, counted, parts),
            padding_angstrom=float(np.percentile(padding, 95)) if padding.size else 0.0,
            phase_randomised_fsc_limit=limit,
            phase_randomised_fsc_noise=noise,
        )

    def _randomised_max(self, mask: np.ndarray, noise: float) -> tuple[float | None, float]:
        """`measure`'s ``phase_randomised_fsc_max`` and its limit: from two shells past the randomisation shell to
        the resolution, where the curve stands highest against its limit."""
        halves = self.halves
        randomised = halves.phase_randomised_curve(mask)
        limits = randomised_fsc_limits(halves.shells.independent, noise)
        first = halves.start + CORRECTION_SHELLS_PAST
        if first >= randomised.size:
            return 0.0, TIGHT_RANDOMISED_FSC
        top = randomised.size - 1
        earliest = max(self.unmasked_shell, first)  # the resolution shell is never before this
        known = worst_shell(randomised, limits, first, earliest)
        highest = worst_shell(randomised, limits, first, top)
        if known == highest:  # no shell after it stands higher: where the resolution lies is moot
            return float(randomised[known]), float(limits[known])
        if randomised[highest] <= limits[highest]:  # not too tight by it, wherever the resolution lies
            return None, float(limits[highest])
        corrected = corrected_fsc(halves.masked_curve(mask), randomised, halves.start)
        last = max(self.unmasked_shell, resolution_shell(corrected), first)  # as with_mask's resolution_shell
        worst = worst_shell(randomised, limits, first, last)
        return float(randomised[worst]), float(limits[worst])


def judge(measures: MaskMeasures, voxel_size_angstrom: float) -> tuple[str, list[Reason]]:
    """The verdict (``too tight``, ``hard edge``, ``too loose`` or ``fine``) and every reason found, in that order.

    A check puts ``too loose`` before ``hard edge`` once it has tried a size that mends both
    (`maskrun.engine.mask_advice.converging_advice`); a search's candidates keep this order.
    """
    m = measures
    reasons = []
    limit = loose_limit(voxel_size_angstrom)
    if too_tight(m):
        extend = math.ceil(max(m.density_outside_reach_angstrom, m.resolution_angstrom, 2 * voxel_size_angstrom))
        if m.density_outside_reach_angstrom > limit:  # a part of the particle left out, not a margin
            remedy = (
                f"remake the mask from the map at a lower threshold: the density it leaves out reaches "
                f"{m.density_outside_reach_angstrom:.0f} Å past it (extending it by {extend} Å would leave the "
                "rest of it too loose)"
            )
        else:
            remedy = f"extend the mask by {extend} Å ({extend / voxel_size_angstrom:.1f} px)"
        reasons.append(
            Reason(
                "too tight",
                tight_words(m),
                remedy,
            )
        )
    edge_min = least_edge_angstrom(m.resolution_angstrom, voxel_size_angstrom)
    width = advised_edge_angstrom(m, voxel_size_angstrom)
    if m.edge_width_angstrom < EDGE_MEASURED_SHARE * edge_min:
        reasons.append(
            Reason(
                "hard edge",
                f"soft edge {m.edge_width_angstrom:.1f} Å wide (the least it may be is about {edge_min:.1f} Å: the "
                f"larger of {EDGE_MIN_PX:g} px and the resolution, {m.resolution_angstrom:.2f} Å, counted up to "
                f"{EDGE_ALWAYS_SOFT_ANGSTROM:g} Å)",
                f"widen the soft edge to {width} Å ({width / voxel_size_angstrom:.1f} px), past that least with room "
                f"to spare: the larger of {EDGE_SUGGESTED_PX:g} px and {EDGE_SUGGESTED_RESOLUTIONS:g} × the resolution",
            )
        )
    elif m.hard_surface_fraction > HARD_SURFACE_MAX:
        reasons.append(
            Reason(
                "hard edge",
                f"{m.hard_surface_fraction:.0%} of the mask's surface drops from over 0.5 to 0 from one voxel to "
                "the next "
                f"(limit {HARD_SURFACE_MAX:.0%}): a face cut off without a soft edge, however soft the rest "
                f"({m.edge_width_angstrom:.1f} Å)",
                f"give the whole surface a soft edge of {width} Å ({width / voxel_size_angstrom:.1f} px): soften "
                "the mask after cutting it, not before",
            )
        )
    if m.padding_angstrom > limit and not any(r.verdict == "too tight" for r in reasons):
        shrink = advised_shrink_angstrom(m, voxel_size_angstrom)
        reasons.append(
            Reason(
                "too loose",
                f"the mask reaches {m.padding_angstrom:.1f} Å past the reliable density (95th percentile; limit "
                f"{limit:.1f} Å); solvent fraction {m.solvent_fraction:.1%}",
                f"shrink the mask by {shrink} Å (extend by -{shrink / voxel_size_angstrom:.1f} px)",
            )
        )
    return (reasons[0].verdict if reasons else "fine"), reasons


def least_edge_angstrom(resolution_angstrom: float, voxel_size_angstrom: float) -> float:
    """The least soft edge a mask may have, Å: the larger of `EDGE_MIN_PX` voxels and `EDGE_MIN_RESOLUTIONS` × the
    resolution, counted up to `EDGE_ALWAYS_SOFT_ANGSTROM` (past it the resolution asks no wider edge: of the
    criterion nor of the advice). An edge measures about 0.94 of its width: the hard-edge rule allows
    `EDGE_MEASURED_SHARE` of this."""
    counted_resolution = min(resolution_angstrom, EDGE_ALWAYS_SOFT_ANGSTROM / EDGE_MIN_RESOLUTIONS)
    return max(EDGE_MIN_PX * voxel_size_angstrom, EDGE_MIN_RESOLUTIONS * counted_resolution)


def advised_shrink_angstrom(measures: MaskMeasures | TightMeasures, voxel_size_angstrom: float) -> int:
    """How far a mask reaching past the too-loose limit is advised to shrink, Å: to half the limit (0 within it)."""
    limit = loose_limit(voxel_size_angstrom)
    return math.floor(measures.padding_angstrom - limit / 2) if measures.padding_angstrom > limit else 0


def loose_limit(voxel_size_angstrom: float) -> float:
    """The padding past which a mask is too loose, Å: the larger of `LOOSE_MIN_ANGSTROM` and `LOOSE_MIN_PX` voxels."""
    return max(LOOSE_MIN_ANGSTROM, LOOSE_MIN_PX * voxel_size_angstrom)


def advised_edge_angstrom(measures: MaskMeasures, voxel_size_angstrom: float) -> int:
    """The soft edge a hard-edged mask is advised, Å: `EDGE_SUGGESTED_PX` voxels or twice the resolution (up to 6 Å)."""
    counted_resolution = min(measures.resolution_angstrom, EDGE_ALWAYS_SOFT_ANGSTROM / EDGE_MIN_RESOLUTIONS)
    return math.ceil(max(EDGE_SUGGESTED_PX * voxel_size_angstrom, EDGE_SUGGESTED_RESOLUTIONS * counted_resolution))


def measured_edge_px(measures: MaskMeasures, voxel_size_angstrom: float) -> float:
    """The soft edge a mask was made with, voxels (at least 1): a raised-cosine edge of w measures about 0.94 w."""
    return max(1.0, round(measures.edge_width_angstrom / voxel_size_angstrom / 0.94))


def _binned(values: np.ndarray, factor: int) -> np.ndarray:
    """The mean of each ``factor``³ block (the shape a multiple of ``factor``)."""
    if factor == 1:
        return values
    total = np.zeros([size // factor for size in values.shape], dtype=np.float32)
    for dz in range(factor):
        for dy in range(factor):
            for dx in range(factor):
                total += values[dz::factor, dy::factor, dx::factor]
    total /= factor**3
    return total


def _distances(points: np.ndarray, region: np.ndarray, step: float) -> np.ndarray:
    """The distance of each voxel of ``points`` (in C order) to the nearest voxel of ``region`` (not empty), Å.

    The distance transform runs on the bounding box of both only: the nearest voxel of
    ``region`` lies in it, so the distances are the whole grid's, at a fraction of the cost.
    """
    box = bounding_box(points | region) if points.any() else None
    if box is None:
        return np.zeros(0)
    distance: np.ndarray = ndimage.distance_transform_edt(~region[box], sampling=step)
    measured: np.ndarray = distance[points[box]]
    return measured


def hard_surface_fraction(mask: np.ndarray) -> float:
    """The share of a mask's outer surface where a value above half its maximum meets nothing (≤ 0.001).

    The surface is every voxel above 0.001 with a face neighbour at or below it (the box's
    own faces are not neighbours: a mask that runs out of the box, a helix's, is not cut
    there). 0 for an empty mask or one without such neighbours.
    """
    whole = np.asarray(mask)
    box = bounding_box(whole > 1e-3, reach=1)  # every surface voxel and its neighbours: a fraction of the box
    if box is None:
        return 0.0
    values = whole[box]
    present = values > 1e-3
    high = values > 0.5 * float(values.max())
    surface = np.zeros(values.shape, bool)
    hard = np.zeros(values.shape, bool)
    for axis in range(values.ndim):
        for here, there in ((slice(None, -1), slice(1, None)), (slice(1, None), slice(None, -1))):
            at = [slice(None)] * values.ndim
            beside = [slice(None)] * values.ndim
            at[axis], beside[axis] = here, there
            touching = present[tuple(at)] & ~present[tuple(beside)]
            surface[tuple(at)] |= touching
            hard[tuple(at)] |= touching & high[tuple(at)]
    count = int(surface.sum())
    return float(hard.sum() / count) if count else 0.0


def _edge_width(mask: np.ndarray, step: float) -> float:
    """How far the values between 0 and the core reach from the core, Å (0: a hard edge)."""
    core = mask >= CORE * float(mask.max())
    edge = (mask > 1e-3) & ~core
    if not edge.any() or not core.any():
        return 0.0
    # a hard edge binned still shows partial bins one bin deep: they do not count as width
    reach = float(_distances(edge, core, step).max())
    return reach if reach > step * 1.01 else 0.0
