"""Check a mask against two half-maps: read the files, compute the FSC curves, judge the mask.

What ``maskrun check-mask`` does (docs/spec.md, "Checking a mask"), without the printing:
`check_mask` reads the half-maps and the mask, refusing maps that do not fit together
(`maskrun.engine.half_map_files`), and returns the curves, the measures and the verdict;
`check_mask_values` does the same for a mask held in memory (a job's, before it saves it),
a too-tight or too-loose mask's size advice tried on the half-maps
(`maskrun.engine.mask_advice`); `check_json` and `check_summary` phrase it.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from maskrun._version import __version__
from maskrun.engine.half_map_files import box_text, fitting_half_maps, half_maps_voxel_size, refuse_other_voxel_size
from maskrun.engine.map_as_mask import MapAsMask, looks_like_a_map, map_as_mask
from maskrun.engine.mask_advice import Tighter, converging_advice
from maskrun.engine.speckled_mask import speckled_advice
from maskrun.errors import MaskrunWarning, UserError, in_field
from maskrun.geometry.fsc import RANDOMISE_AT_FSC, RESOLUTION_FSC, HalfMaps, MaskedFsc, fsc_curve
from maskrun.geometry.mask_verdict import (
    FOCUSED_HOW,
    MaskMeasures,
    Reason,
    Remake,
    Remap,
    judge,
    measure,
    measure_binning,
    measured_edge_px,
    outside_words,
    shell_noise,
    verdict_notes,
)
from maskrun.io.image_info import ImageInfo, read_rows
from maskrun.io.images import inspect_image
from maskrun.io.pixel_size import usable_pixel_size

MASK_RANGE_SLACK = 1e-6  # RELION's tolerance on a mask's range [0, 1]
RESAMPLED_OVERSHOOT = 0.1  # within this of [0, 1]: a mask's interpolation overshoot, not another kind of map
DEPENDENT_FSC = 2**-0.5  # a half-map's FSC with the full map where noise rules: (N²/2) / √(N² · N²/2)
DEPENDENT_SLACK = 0.12  # the outer shells' FSC within this of DEPENDENT_FSC ...
DEPENDENT_SPREAD = 0.1  # ... and this flat: a plateau, not a falling curve that passes 0.7
DEPENDENT_OUTER = 0.2  # the share of the shells below Nyquist looked at
SUMMARY_ROWS = 24
TIGHTER_SHARE = 1 / 3  # a fine mask is tried this share of its padding tighter ...
TIGHTER_LEAST_PX = 2.0  # ... and at least this much
TIGHTER_SHELLS_GAINED = 2  # a tighter mask that is not too tight resolving this many shells further: too loose ...
TIGHTER_MARGIN_SIGMAS = 2.0  # ... its corrected FSC above 0.143 by this many times the noise where the mask stops


@dataclass(frozen=True)
class MaskCheck:
    """A mask checked against two half-maps: the files, the curves, the measures and the verdict."""

    half1: Path
    half2: Path
    mask: Path
    curves: MaskedFsc
    measures: MaskMeasures
    verdict: str
    reasons: list[Reason]
    halves: HalfMaps | None = None  # kept for more masks (check-mask --search)
    mask_values: np.ndarray | None = None


def check_mask(
    half1: str | Path,
    half2: str | Path,
    mask: str | Path,
    voxel_size_angstrom: float | None = None,
    seed: int = 0,
    fields: tuple[str | None, str | None, str | None] = (None, None, None),
    focused: bool = False,
) -> MaskCheck:
    """Check ``mask`` against the half-maps ``half1`` and ``half2`` (MRC or SPIDER volumes).

    Parameters
    ----------
    half1, half2, mask
        The files; never modified.
    voxel_size_angstrom
        Overrides the half-maps' header voxel size.
    seed
        Of the random phases (RELION's ``--random_seed``, default 0: RELION's own numbers).
    fields
        How the caller names the three files (``--half1``, ...), for the messages.
    focused
        The mask is of part of the particle (``--focused``): the parts of the density it leaves
        out are left out by design (docs/spec.md, "Parts left out").

    Raises
    ------
    MapAsMask
        The mask the very file given as a half-map, or values outside [0, 1] that look like a
        density map's (`maskrun.engine.map_as_mask.looks_like_a_map`).
    UserError
        As `maskrun.engine.half_map_files.fitting_half_maps`; the mask of another box, or of
        a voxel size more than 1 % off the halves' (or the one given); no voxel size; and as
        `check_mask_values`; a mask that keeps nothing or the whole box.
    """
    first, second = fitting_half_maps(half1, half2, fields[:2])
    with in_field(fields[2]):
        mask_info = inspect_image(mask)
    for half, field in zip((half1, half2), fields):
        if os.path.samefile(mask, half):
            raise MapAsMask(
                f"is the same file as {field or Path(half).name}, a half-map, not a mask",
                str(mask),
                "give the mask to judge, or make one from the map",
                source=str(mask),
                field=fields[2],
            )
    if mask_info.shape_zyx != first.shape_zyx:
        raise UserError(
            f"box {box_text(mask_info)} differs from the half-maps' {box_text(first)}; give a mask of their box "
            "(resample or re-box it alike)",
            source=str(mask),
            field=fields[2],
        )
    voxel = _voxel_size(first, second, voxel_size_angstrom, fields[1])
    whose = "the half-maps'" if voxel_size_angstrom is None else "the given"
    refuse_other_voxel_size(mask_info, voxel, whose, fields[2], f"resample the mask to {voxel:g} Å")
    values = _volume(mask_info, fields[2])
    high, low = float(values.max()), float(values.min())
    if high <= MASK_RANGE_SLACK or low >= 1 - MASK_RANGE_SLACK:  # (a job's such mask is warned of, not refused)
        kept = "nothing (every value is 0)" if high <= MASK_RANGE_SLACK else "the whole box (every value is 1)"
        raise UserError(
            f"the mask keeps {kept}: there is no mask to check; give the mask you mean to use (maskrun make-mask "
            "or relion_mask_create make one from the map)",
            source=str(mask),
            field=fields[2],
        )
    return check_mask_values(half1, half2, values, mask, voxel, seed, fields[:2], focused, mask_field=fields[2])


def check_mask_values(
    half1: str | Path,
    half2: str | Path,
    mask_values: np.ndarray,
    mask: str | Path,
    voxel_size_angstrom: float,
    seed: int = 0,
    fields: tuple[str | None, str | None] = (None, None),
    focused: bool = False,
    mask_field: str | None = None,
) -> MaskCheck:
    """Check a mask's values (named ``mask``) against half-maps that `fitting_half_maps` passed.

    A job checks the mask it saves so, before saving it: a refusal here leaves nothing written.
    ``focused``: as `check_mask`'s. ``mask_field``: how the caller names the mask (``--mask``), for
    the refusal of its values (a job's own mask has none).

    Raises
    ------
    MapAsMask
        Values outside [0, 1] with no plateau at their top: a map's, not a mask's
        (`maskrun.engine.map_as_mask.looks_like_a_map`).
    UserError
        A half-map with NaN or infinite values, a mask outside [0, 1] otherwise (a resampled
        mask's overshoot, within `RESAMPLED_OVERSHOOT`, told so), or halves whose FSC never
        falls below 0.8 (not independent: copies scaled apart, say).

    Warns
    -----
    MaskrunWarning
        When the halves' FSC rests near 0.71 over the outer shells (`dependent_halves`).
    """
    h1, h2 = (_volume(inspect_image(path), field) for path, field in zip((half1, half2), fields))
    m = np.asarray(mask_values, dtype=np.float32)
    low, high = float(m.min()), float(m.max())
    if low < -MASK_RANGE_SLACK or high > 1 + MASK_RANGE_SLACK:
        if looks_like_a_map(m):  # a half-map or a reference map: clipped to [0, 1], still no mask
            raise map_as_mask(low, high, str(mask), mask_field)
        overshoot = low > -RESAMPLED_OVERSHOOT and high < 1 + RESAMPLED_OVERSHOOT
        raise UserError(
            f"mask values run from {low:g} to {high:g}, outside [0, 1]; "
            + (
                "a resampled mask overshoots so: resample the map and make the mask again at its new size (maskrun "
                "make-mask or relion_mask_create), or clip these values to [0, 1]"
                if overshoot
                else "give a mask (1 = keep, 0 = solvent), e.g. from maskrun make-mask"
            ),
            source=str(mask),
            field=mask_field,
        )
    try:
        box = h1.shape[0]
        halves = HalfMaps(
            h1, h2, voxel_size_angstrom, seed=seed, reliable_maps=True, reliable_box=box // measure_binning(box)
        )
    except ValueError as exc:
        raise _copies(half1, half2, fields[1]) from exc
    found = dependent_halves(halves.unmasked, h1.shape[0])
    if found is not None:
        warnings.warn(f"{Path(half1).name} and {Path(half2).name}: {found}", MaskrunWarning, stacklevel=2)
    curves, measures, verdict, reasons = judged(halves, m, focused)
    speckled = speckled_advice(halves, m, reasons)
    if speckled is not None:  # made again, not grown nor shrunk
        return MaskCheck(Path(half1), Path(half2), Path(mask), curves, measures, *speckled, halves, m)
    verdict, reasons = converging_advice(halves, m, measures, reasons, looser_by(halves, focused))
    if verdict == "fine":
        looser = tighter_resolves_further(halves, m, curves, measures)
        verdict, reasons = ("too loose", [looser]) if looser is not None else (verdict, reasons)
    return MaskCheck(Path(half1), Path(half2), Path(mask), curves, measures, verdict, reasons, halves, m)


def check_halves_independent(
    half1: str | Path, half2: str | Path, fields: tuple[str | None, str | None] = (None, None)
) -> str | None:
    """Judge two half-maps by their unmasked FSC alone, as a check does, before a job masks anything.

    A job checks its mask once every unit is done; copies found only then failed the run at
    its end. Here the same refusal comes at planning, and the same warning.

    Returns
    -------
    str or None
        Why the halves look dependent (`dependent_halves`, with their names), or None.

    Raises
    ------
    UserError
        A half-map with NaN or infinite values, or halves whose FSC never falls below
        `RANDOMISE_AT_FSC` (copies, scaled apart say), naming ``half2`` and its field.
    """
    h1, h2 = (_volume(inspect_image(Path(path)), field) for path, field in zip((half1, half2), fields))
    curve = fsc_curve(h1, h2)
    if not (curve[1:] < RANDOMISE_AT_FSC).any():
        raise _copies(half1, half2, fields[1])
    found = dependent_halves(curve, h1.shape[0])
    return None if found is None else f"{Path(half1).name} and {Path(half2).name}: {found}"


def _copies(half1: str | Path, half2: str | Path, field: str | None) -> UserError:
    return UserError(
        f"its unmasked FSC with {Path(half1).name} never falls below {RANDOMISE_AT_FSC:g}, so there is no shell "
        "to randomise phases from (the two agree at every resolution, as copies do): give the other, "
        "independently refined half-map",
        source=str(half2),
        field=field,
    )


def dependent_halves(unmasked_fsc: np.ndarray, box: int) -> str | None:
    """Why two half-maps look dependent (one of them the full map), or None.

    Where noise rules, independent halves' FSC falls to 0 and a half-map's with the full map
    (the halves' mean, or ``run_class001.mrc``) rests at 1/√2: a plateau near `DEPENDENT_FSC`
    over the outer `DEPENDENT_OUTER` of the shells. Data whose signal reaches Nyquist (binned
    far) has a falling curve there, wider than `DEPENDENT_SPREAD`.
    """
    nyquist = box // 2
    outer = unmasked_fsc[max(1, math.ceil((1 - DEPENDENT_OUTER) * nyquist)) : nyquist]
    if len(outer) < 3:
        return None
    near = np.abs(outer - DEPENDENT_FSC).max() <= DEPENDENT_SLACK
    if not near or outer.max() - outer.min() >= DEPENDENT_SPREAD:
        return None
    return (
        f"the half-maps' FSC rests at {float(outer.mean()):.2f} over the outer shells, as a half-map's with the full "
        "map does (independent halves fall to 0 where noise rules): if one of them is the full map "
        "(run_class001.mrc), give the other half (run_half2_class001_unfil.mrc); any verdict on a mask from these "
        "halves assumes they are independent"
    )  # one wording for validate (no verdict yet, the job's check to come), a run and check-mask (its verdict below)


def judged(
    halves: HalfMaps, mask: np.ndarray, focused: bool = False
) -> tuple[MaskedFsc, MaskMeasures, str, list[Reason]]:
    """A mask's curves, measures, verdict and reasons with prepared half-maps (``focused``: as `measure`'s)."""
    curves = halves.with_mask(mask)
    measures = measure(curves, mask, focused)
    verdict, reasons = judge(measures, halves.voxel_size_angstrom)
    return curves, measures, verdict, reasons


def tighter_resolves_further(
    halves: HalfMaps, mask: np.ndarray, curves: MaskedFsc, measures: MaskMeasures
) -> Reason | None:
    """A ``too loose`` reason when the mask made tighter resolves `TIGHTER_SHELLS_GAINED` shells further, else None.

    The padding limit alone misses a loose mask where noise is strong: every voxel of solvent
    kept adds noise to the masked FSC. So a mask judged fine is also tried tighter: its core
    (≥ 0.99) shrunk by `TIGHTER_SHARE` of its padding (at least `TIGHTER_LEAST_PX`), with the
    soft edge it has, and, while that is too tight, by less (`_tighter_found`: halving, then
    between, to the voxel). If the largest shrink not too tight is fine, its corrected
    FSC reaches 0.143 at least `TIGHTER_SHELLS_GAINED` shells further, and at the first shell
    the given mask does not resolve it stands above 0.143 by more than `TIGHTER_MARGIN_SIGMAS`
    × that shell's noise (`maskrun.geometry.mask_verdict.shell_noise`, the tighter mask's),
    the given one is too loose.

    The margin: where the corrected FSC runs near 0.143 over several shells, where it crosses
    moves by shells with the seed of the random phases, and a fine mask was called too loose
    at some seeds by a gain of a few shells that was noise. Over six seeds the fine masks
    tried stood 0.3 to 1.1 × the noise above 0.143 there; a mask that cost 7 to 14 shells,
    1.7 to 2.6 ×.
    """
    found = _tighter_found(halves, mask, curves, measures)
    if found is None:
        return None
    voxel = halves.voxel_size_angstrom
    stop = curves.resolution_shell + 1
    return Reason(
        "too loose",
        f"{found.words()} ({found.gained} shells further; at {curves.shell_angstrom(stop):.2f} Å its corrected FSC "
        f"is {RESOLUTION_FSC:g} + {found.above:.3f}, over {TIGHTER_MARGIN_SIGMAS:g} × the noise there, "
        f"{found.noise:.3f})",
        f"shrink the mask by {found.shrink_px * voxel:.0f} Å (extend by -{found.shrink_px} px), or let the check "
        f"search around it: the solvent it keeps adds noise (solvent fraction {measures.solvent_fraction:.1%})",
        Remake(0.99, -found.shrink_px, found.edge_px),
    )


class _TighterFound(NamedTuple):
    """A mask made tighter that resolves further (`tighter_resolves_further`): by how much, and its numbers."""

    shrink_px: int
    edge_px: float
    resolution_angstrom: float  # the tighter mask's
    given_angstrom: float  # the mask's own
    gained: int  # shells
    above: float  # the tighter mask's corrected FSC above 0.143 at the first shell the mask does not resolve
    noise: float  # that shell's noise

    def words(self) -> str:
        return (
            f"the mask made {self.shrink_px} px tighter (its core shrunk, the same soft edge) is not too tight and "
            f"resolves to {self.resolution_angstrom:.2f} Å against {self.given_angstrom:.2f} Å"
        )


def _tighter_found(
    halves: HalfMaps, mask: np.ndarray, curves: MaskedFsc, measures: MaskMeasures
) -> _TighterFound | None:
    """`tighter_resolves_further`'s finding in numbers, or None.

    The largest shrink not too tight is judged: `tighter_by_px` first; while too tight, half as
    much (rounded up, down to `TIGHTER_LEAST_PX`: 1 px changes nothing); then between the last
    too tight and the first not, halving the gap, to the voxel. One shrink alone left a mask
    loose whenever that shrink was too tight (a hard AK sphere's advice hung on it). A fine mask
    reaches at most the padding limit, so the first shrink is at most a third of it: 4 px where
    the limit is 12 px (4, 2, 3: three masks judged at most), 7 px at 20 Å on 1 Å voxels (five
    at most); each costs four transforms and its measures.
    """
    voxel = halves.voxel_size_angstrom
    edge_px = measured_edge_px(measures, voxel)
    tried: dict[int, _Tried] = {}

    def at(shrink_px: int) -> _Tried:
        if shrink_px not in tried:
            tried[shrink_px] = _tried_tighter(halves, mask, measures.focused, shrink_px, edge_px)
        return tried[shrink_px]

    shrink, tight = int(tighter_by_px(measures, voxel)), None
    while at(shrink).tight and shrink > TIGHTER_LEAST_PX:
        tight, shrink = shrink, max(int(TIGHTER_LEAST_PX), math.ceil(shrink / 2))
    if at(shrink).tight:
        return None
    while tight is not None and tight - shrink > 1:  # the largest not too tight, between
        middle = (tight + shrink) // 2
        tight, shrink = (middle, shrink) if at(middle).tight else (tight, middle)
    found = at(shrink)
    if found.verdict != "fine" or found.curves is None or found.measures is None:
        return None
    return _gain(halves, curves, found.curves, found.measures, shrink, edge_px)


class _Tried(NamedTuple):
    """A mask made tighter, judged: its verdict (None: nothing of it is left) and, when judged, its curves, measures."""

    verdict: str | None
    curves: MaskedFsc | None = None
    measures: MaskMeasures | None = None

    @property
    def tight(self) -> bool:
        """Too tight, or nothing left: a smaller shrink is tried."""
        return self.verdict in (None, "too tight")


def _tried_tighter(halves: HalfMaps, mask: np.ndarray, focused: bool, shrink_px: int, edge_px: float) -> _Tried:
    from maskrun.errors import FieldError
    from maskrun.geometry.map_mask import MapMaskSteps, mask_from_map

    try:
        tighter = mask_from_map(mask, MapMaskSteps(threshold=0.99, extend_px=-shrink_px, soft_edge_px=edge_px))
    except FieldError:  # no core to shrink
        return _Tried(None)
    if not tighter.any():
        return _Tried(None)
    curves, measures, verdict, _ = judged(halves, tighter, focused)
    return _Tried(verdict, curves, measures)


def _gain(
    halves: HalfMaps, curves: MaskedFsc, tight_curves: MaskedFsc, tight: MaskMeasures, shrink_px: int, edge_px: float
) -> _TighterFound | None:
    """What a tighter mask (not too tight) gains over the mask, if past `TIGHTER_SHELLS_GAINED` and the margin."""
    gained = tight_curves.resolution_shell - curves.resolution_shell
    if gained < TIGHTER_SHELLS_GAINED or curves.resolution_shell <= 0:
        return None
    stop = curves.resolution_shell + 1  # the first shell the given mask does not resolve (the tighter one does)
    noise = shell_noise(halves.shells.independent[stop], tight.phase_randomised_fsc_noise)  # its noise_spread
    above = float(tight_curves.corrected[stop]) - RESOLUTION_FSC
    if above <= TIGHTER_MARGIN_SIGMAS * noise:
        return None
    return _TighterFound(
        int(shrink_px),
        edge_px,
        tight_curves.shell_angstrom(tight_curves.resolution_shell),
        curves.shell_angstrom(curves.resolution_shell),
        gained,
        above,
        float(noise),
    )


def looser_by(halves: HalfMaps, focused: bool = False) -> Callable[[np.ndarray], Tighter | None]:
    """How many voxels tighter `tighter_resolves_further` has a mask's size tried, and why in words, or None when it
    does not find it too loose (nor `judge` anything): `converging_advice`'s ``looser``, so that the size a too-loose
    or hard-edged mask is advised is not found too loose by this rule when made (a verdict look's loose sphere, shrunk
    as told to within the padding limit, was then too loose by it).
    """

    def looser(values: np.ndarray) -> Tighter | None:
        curves, measures, verdict, _ = judged(halves, values, focused)
        found = _tighter_found(halves, values, curves, measures) if verdict == "fine" else None
        if found is None:
            return None
        words = (
            f"made {found.shrink_px} px tighter it is not too tight and resolves to {found.resolution_angstrom:.2f} Å "
            f"against {found.given_angstrom:.2f} Å"
        )
        return Tighter(found.shrink_px, words)

    return looser


def tighter_by_px(measures: MaskMeasures, voxel_size_angstrom: float) -> float:
    """How much tighter `tighter_resolves_further` tries a mask, px: `TIGHTER_SHARE` of its padding, at least 2."""
    return float(max(TIGHTER_LEAST_PX, math.ceil(TIGHTER_SHARE * measures.padding_angstrom / voxel_size_angstrom)))


def _voxel_size(first: ImageInfo, second: ImageInfo, given: float | None, field: str | None) -> float:
    if given is not None:
        if usable_pixel_size(given) is None:
            raise UserError(f"{given:g} Å is no voxel size; give one between 0.01 and 100 Å", field="voxel size")
        return float(given)
    size = half_maps_voxel_size(first, second, field)
    if size is None:
        raise UserError("the header gives no voxel size; give the voxel size in Å", source=str(first.path))
    return size


def _volume(info: ImageInfo, field: str | None = None) -> np.ndarray:
    values = read_rows(info, 0, info.shape_zyx[0])
    if not np.isfinite(values).all():
        raise UserError("holds NaN or infinite values; fix or replace the map", source=str(info.path), field=field)
    return values


def _shell_angstrom(curves: MaskedFsc, shell: int) -> float | None:
    value = curves.shell_angstrom(shell)
    return None if math.isinf(value) else round(value, 4)


def check_json(check: MaskCheck, how_focused: str = FOCUSED_HOW) -> dict[str, object]:
    """The check as JSON-ready data: the four curves (one value per shell from 0), the verdict, reasons and notes
    (``how_focused``: how the caller's user checks a focused mask as one, `left_out_note`)."""
    curves = check.curves

    def rounded(values: np.ndarray) -> list[float]:
        return [round(float(v), 6) for v in values]

    return {
        "maskrun_version": __version__,
        "half1": str(check.half1),
        "half2": str(check.half2),
        "mask": str(check.mask),
        "box_px": curves.box_px,
        "voxel_size_angstrom": round(curves.voxel_size_angstrom, 6),
        "shell_resolution_angstrom": [_shell_angstrom(curves, i) for i in range(curves.unmasked.size)],
        "voxels_per_shell": [int(v) for v in curves.voxels_per_shell],
        "fsc": {
            "unmasked": rounded(curves.unmasked),
            "masked": rounded(curves.masked),
            "phase_randomised_masked": rounded(curves.phase_randomised_masked),
            "corrected": rounded(curves.corrected),
        },
        "randomise_at_fsc": RANDOMISE_AT_FSC,
        "randomise_from_shell": curves.randomise_from_shell,
        "randomise_from_angstrom": _shell_angstrom(curves, curves.randomise_from_shell),
        "resolution_fsc": RESOLUTION_FSC,
        "resolution_shell": curves.resolution_shell,
        "resolution_angstrom": round(curves.resolution_angstrom, 4) if curves.resolution_angstrom else None,
        "mask_ignored": curves.mask_ignored,
        "measures": asdict(check.measures),
        "verdict": check.verdict,
        "reasons": [asdict(reason) for reason in check.reasons],
        "notes": verdict_notes(check.measures, how_focused),
    }


def check_summary(
    check: MaskCheck,
    remade: Callable[[Remake], str] | None = None,
    how_focused: str = FOCUSED_HOW,
    remapped: Callable[[Remap], str | None] | None = None,
) -> str:
    """A readable summary: the numbers, a table of the curves, the verdict and what to do.

    ``remade`` words how to make the size a reason advises (`Reason.remake`), as the caller's
    commands do; without it, the advice alone. ``how_focused``: as `check_json`'s. ``remapped``
    words how to make a speckled mask again from its map low-passed (`Reason.remap`), or None
    where the caller cannot tell how it was made.
    """
    curves, m = check.curves, check.measures
    resolution = curves.resolution_angstrom
    lines = [
        f"{check.mask.name} on {check.half1.name} + {check.half2.name}: box {curves.box_px}, "
        f"{curves.voxel_size_angstrom:g} Å/px",
        f"phases randomised from {curves.randomise_from_angstrom:.2f} Å (shell {curves.randomise_from_shell}, "
        f"where the unmasked FSC first falls below {RANDOMISE_AT_FSC:g})",
        "resolution (corrected FSC = 0.143): "
        + (f"{resolution:.2f} Å (shell {curves.resolution_shell})" if resolution else "none (below 0.143 at once)")
        + (
            " — the unmasked FSC reaches further, so this is the unmasked one, as RELION reports"
            if curves.mask_ignored
            else ""
        ),
        "",
        f"{'shell':>5} {'Å':>8} {'unmasked':>9} {'masked':>9} {'rand.mask':>9} {'corrected':>9}",
    ]
    count = curves.unmasked.size
    step = max(1, math.ceil(count / SUMMARY_ROWS))
    for i in sorted(set(range(0, count, step)) | {curves.randomise_from_shell, curves.resolution_shell, count - 1}):
        angstrom = _shell_angstrom(curves, i)
        lines.append(
            f"{i:>5} {'inf' if angstrom is None else f'{angstrom:.2f}':>8} {curves.unmasked[i]:>9.4f} "
            f"{curves.masked[i]:>9.4f} {curves.phase_randomised_masked[i]:>9.4f} {curves.corrected[i]:>9.4f}"
        )
    lines += [
        "",
        f"solvent fraction {m.solvent_fraction:.1%}; soft edge {m.edge_width_angstrom:.1f} Å "
        f"({m.hard_surface_fraction:.0%} of the surface hard); mask reaches "
        f"{m.padding_angstrom:.1f} Å past the reliable density; {outside_words(m)}",
        f"verdict: {check.verdict}",
    ]
    for reason in check.reasons:
        lines.append(f"  {reason.verdict}: {reason.measured}")
        lines.append(f"    → {reason.suggestion}")
        if reason.remake is not None and remade is not None:
            lines.append(f"    make it: {remade(reason.remake)}")
        again = None if reason.remap is None or remapped is None else remapped(reason.remap)
        if again is not None:
            lines.append(f"    make it: {again}")
    lines += [f"  note: {note}" for note in verdict_notes(m, how_focused)]
    return "\n".join(lines)
