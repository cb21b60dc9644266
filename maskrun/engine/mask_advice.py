"""Advice a check can follow to the end: how far a too-tight mask must grow, or a too-loose one may shrink, tried.

`maskrun.geometry.mask_verdict.judge` words its advice from the measures alone. For a mask that
correlates the halves by itself (a phase-randomised masked FSC over 0.1) with no density left
out, that is a guess, the larger of the resolution and 2 voxels, whatever the mask: followed, it
could leave the mask too tight and earn the same words again. So a check tries the mask's core
grown and shrunk (`GrownMasks`, with the soft edge the mask has, or the one a hard edge is
advised) against the same prepared half-maps, and advises what it found (docs/spec.md,
"Checking a mask"):

- **too tight**: the guess first, doubled until a size is not too tight (no further than the
  size that fills the box), then halved between the last too tight and the first not, until
  they are a third of the larger apart (one voxel when the too-loose limit lies between their
  paddings); the advice is the first not too tight, so a mask grown as advised is not too
  tight, and one grown otherwise is advised from where it is;
- **too loose** (past the padding limit): the advised shrink is tried; too tight, the largest
  shrink found not too tight is advised instead (2 voxels first, then halving as above).

When the size that is no longer too tight reaches past the too-loose limit, and the density the
mask leaves out lies mostly in parts of the particle (`misses_a_part`), the mask is to be made
again taking those in, not grown all round (`left_out_part_reason`). Otherwise, no size of the
mask passes both tests on these half-maps (their density, blurred to a low resolution, reaches
further than the padding rules allow): the verdict is `CONFLICT`, advising that size, in one
reason, from either side, so that a mask grown or shrunk as told is told to keep its size. At
most `TRIALS_MAX` sizes are tried; each costs what decides "too tight" and the padding only
(`TightTest`: two transforms, four when the resolution shell matters), not a search candidate's
four transforms and every measure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from maskrun.geometry.fsc import HalfMaps, resolution_shell
from maskrun.geometry.grown_masks import GrownMasks
from maskrun.geometry.mask_verdict import (
    DENSITY_OUTSIDE_MAX,
    MaskMeasures,
    Reason,
    Remake,
    TightMeasures,
    TightTest,
    advised_edge_angstrom,
    advised_shrink_angstrom,
    limit_words,
    loose_limit,
    measure_binning,
    measured_edge_px,
    tight_words,
    too_tight,
)

CONFLICT = "tight and loose conflict"
TRIALS_MAX = 8
CLOSE_SHARE = 1 / 3  # sizes this share of the larger growth apart are close enough
LEFT_OUT_SHARE = 0.5  # of the density outside a mask, in parts left out: the mask misses a part, not a margin


@dataclass(frozen=True)
class Tried:
    """One size of the mask tried: its growth in voxels (negative: shrunk), whether too tight, its measures."""

    extend_px: int
    tight: bool
    measures: TightMeasures


def converging_advice(
    halves: HalfMaps, mask: np.ndarray, measures: MaskMeasures, reasons: list[Reason]
) -> tuple[str, list[Reason]]:
    """The verdict and reasons of a checked mask, its ``too tight`` or ``too loose`` advice found by trying sizes.

    ``reasons`` are `judge`'s for ``mask``; unchanged when neither applies, or when the density
    left out reaches past the too-loose limit (remaking the mask is advised then, not a size).
    """
    voxel = halves.voxel_size_angstrom
    limit = loose_limit(voxel)
    kinds = [reason.verdict for reason in reasons]
    if "too tight" in kinds:
        if measures.density_outside_reach_angstrom > limit:
            return reasons[0].verdict, reasons
        side = "too tight"
    elif "too loose" in kinds:
        side = "too loose"
    elif "hard edge" in kinds:
        softened = _softened_reasons(halves, mask, measures, reasons)
        return softened[0].verdict, softened
    else:
        return (reasons[0].verdict if reasons else "fine"), reasons
    hard = "hard edge" in kinds
    edge_px = advised_edge_angstrom(measures, voxel) / voxel if hard else measured_edge_px(measures, voxel)
    sizes = GrownMasks(mask, edge_px, measure_binning(mask.shape[0]))
    parts = measures.focused and measures.density_left_out_fraction > 0  # left out by design: not grown over
    test = TightTest(halves, measures.focused, mask if parts else None)
    given = Tried(0, side == "too tight", TightMeasures.of(measures))
    edge_words = f", with a soft edge of {edge_px * voxel:.0f} Å ({edge_px:.1f} px)" if hard else ""
    if side == "too tight":
        guess = math.ceil(max(measures.resolution_angstrom, 2 * voxel) / voxel)  # judge's own guess, in voxels
        most = min(sizes.filling_px - 1, math.floor(test.part_reach / voxel)) if parts else sizes.filling_px - 1
        low, high = grown(test, sizes, given, guess, limit, most)
        found = _grown_reason(measures, low, high, limit, halves, sizes, edge_words, most)
    else:
        shrink = max(1, round(advised_shrink_angstrom(measures, voxel) / voxel))
        first, (low, high) = shrunk(test, sizes, given, shrink, limit)
        if first is not None:  # shrunk as advised, the mask is not too tight: the advice holds, in whole voxels
            tried = f"shrink the mask by {-first.extend_px * voxel:.0f} Å (extend by {first.extend_px} px){edge_words}"
            held = [
                replace(r, suggestion=tried, remake=sizes.remake(first.extend_px)) if r.verdict == side else r
                for r in reasons
            ]
            return held[0].verdict, held
        found = _shrunk_reason(measures, low, high, limit, halves, edge_words)
        if high.extend_px != 0 or hard:  # else: keep the mask as it is
            found = replace(found, remake=sizes.remake(high.extend_px))
    others = [reason for reason in reasons if reason.verdict != side]
    ordered = [found, *others] if found.verdict == CONFLICT else sorted([found, *others], key=_rank)
    return ordered[0].verdict, ordered


def _softened_reasons(
    halves: HalfMaps, mask: np.ndarray, measures: MaskMeasures, reasons: list[Reason]
) -> list[Reason]:
    """``reasons`` with the ``hard edge`` advice tried: the edge widened to the advised width about the mask's 0.5
    contour (the contour shrunk by half the edge, so that the mask keeps its size), grown a voxel at a time while too
    tight or too loose; unchanged when every such size is either.

    The edge widened outward alone, as the advice read, grows the mask by half the edge: a verdict
    look's mask, softened so, was then too loose (3.84 Å where 3 px tighter gave 3.31 Å).
    """
    voxel = halves.voxel_size_angstrom
    edge_px = advised_edge_angstrom(measures, voxel) / voxel
    top = float(mask.max())
    # from the mask's 0.5 contour, not its core: a mask soft in part (a face cut off) keeps its size too
    contour = (np.asarray(mask) >= 0.5 * top).astype(np.float32)
    sizes = GrownMasks(contour, edge_px, measure_binning(mask.shape[0]))
    parts = measures.focused and measures.density_left_out_fraction > 0
    test = TightTest(halves, measures.focused, mask if parts else None)
    limit = loose_limit(voxel)
    for extend_px in range(-round(edge_px / 2), 1):
        size = tried_size(test, sizes, extend_px)
        if size.tight or size.measures.padding_angstrom > limit:
            continue
        kept = (
            f"; about its 0.5 contour, shrunk by {-extend_px} px (half the edge) so that the mask keeps its size"
            if extend_px < 0
            else "; from its 0.5 contour"
        )
        remake = Remake(0.5 * top, extend_px, edge_px)  # make-mask --from-map MASK --threshold 0.5
        return [
            replace(r, suggestion=f"{r.suggestion}{kept}: made so, it is not too tight", remake=remake)
            if r.verdict == "hard edge"
            else r
            for r in reasons
        ]
    return reasons


def _rank(reason: Reason) -> int:
    return ["too tight", "hard edge", "too loose"].index(reason.verdict)


def tried_size(test: TightTest, sizes: GrownMasks, extend_px: int) -> Tried:
    """The mask's core grown by ``extend_px`` voxels, judged too tight or not against the half-maps."""
    measures = test(sizes.values(extend_px))
    return Tried(extend_px, too_tight(measures), measures)


def grown(
    test: TightTest,
    sizes: GrownMasks,
    given: Tried,
    guess_px: int,
    limit_angstrom: float,
    most_px: int,
) -> tuple[Tried, Tried | None]:
    """The last size found too tight and the first found not (None: none was, up to ``most_px`` or in
    `TRIALS_MAX` trials)."""
    low, high = given, None
    probe = min(max(2, guess_px), max(2, most_px))  # growing by 1 voxel changes nothing
    for _ in range(TRIALS_MAX):
        tried = tried_size(test, sizes, probe)
        if tried.tight:
            low = tried
        else:
            high = tried
        if high is None:
            if low.extend_px >= most_px:
                break
            probe = min(2 * low.extend_px, most_px)
            continue
        between = _between(low, high)
        if close(low, high, limit_angstrom):
            break
        probe = between[len(between) // 2]
    return low, high


def shrunk(
    test: TightTest, sizes: GrownMasks, given: Tried, shrink_px: int, limit_angstrom: float
) -> tuple[Tried | None, tuple[Tried, Tried]]:
    """The advised shrink when it is not too tight; else None, and the last size too tight and the first not."""
    first = tried_size(test, sizes, -max(2, shrink_px))  # shrinking by 1 voxel changes nothing
    if not first.tight:
        return first, (given, first)
    low, high = first, given
    probe = -2  # a mask already as tight as it may be is found at once
    for _ in range(TRIALS_MAX - 1):
        if close(low, high, limit_angstrom):
            break
        tried = tried_size(test, sizes, probe)
        if tried.tight:
            low = tried
        else:
            high = tried
        between = _between(low, high)
        probe = between[len(between) // 2] if between else probe
    return None, (low, high)


def _between(low: Tried, high: Tried) -> list[int]:
    """The sizes strictly between two tried, that differ from the given mask (0; ±1 voxel change nothing)."""
    return [size for size in range(low.extend_px + 1, high.extend_px) if abs(size) > 1]


def close(low: Tried, high: Tried, limit_angstrom: float) -> bool:
    """Whether a too-tight size and a larger one not too tight are near enough to stop looking between them."""
    between = _between(low, high)
    if not between:
        return True
    if low.measures.padding_angstrom <= limit_angstrom < high.measures.padding_angstrom:
        return False  # whether a size passes both tests lies between them
    gap = high.extend_px - low.extend_px
    return gap <= CLOSE_SHARE * max(abs(low.extend_px), abs(high.extend_px))


def _what_fails(m: MaskMeasures | TightMeasures) -> str:
    """The too-tight test's failing numbers, briefly."""
    failing = []
    fsc = m.phase_randomised_fsc_max  # None: not over the limit
    if fsc is not None and fsc > m.phase_randomised_fsc_limit:
        limit = limit_words(m.phase_randomised_fsc_limit, m.phase_randomised_fsc_noise)
        failing.append(f"phase-randomised masked FSC {fsc:.3f}, {limit}")
    if m.density_outside_fraction > DENSITY_OUTSIDE_MAX:
        failing.append(
            f"{m.density_outside_fraction:.1%} of the reliable density outside, limit {DENSITY_OUTSIDE_MAX:.0%}"
        )
    beyond = m.density_beyond_z_ends_fraction if isinstance(m, MaskMeasures) else 0.0
    if beyond:
        failing.append(
            f"{beyond:.1%} of the reliable density beyond the mask's z ends, left out as a helical z crop does "
            "(not counted)"
        )
    return "; ".join(failing)


def half_maps_resolution(halves: HalfMaps) -> float:
    """The half-maps' own resolution, Å: where their unmasked FSC falls below 0.143 (as the mask leaves it)."""
    shell = max(resolution_shell(halves.unmasked), 1)
    return float(halves.shape[0] * halves.voxel_size_angstrom / shell)


def _why(resolution: float, limit: float) -> str:
    return (
        f"at the half-maps' resolution ({resolution:.1f} Å, unmasked) their density's blur reaches past the "
        f"too-loose limit ({limit:.1f} Å): no size of this mask passes both tests"
    )


ACCEPT = (
    "and let it be looser than the limit (too tight a mask makes the resolution look finer than it is; too loose "
    "only costs some), or refine the half-maps further before masking tighter"
)


def _grown_reason(
    m: MaskMeasures,
    low: Tried,
    high: Tried | None,
    limit: float,
    halves: HalfMaps,
    sizes: GrownMasks,
    edge_words: str,
    most_px: int,
) -> Reason:
    voxel, why = halves.voxel_size_angstrom, _why(half_maps_resolution(halves), limit)
    if high is None and low.extend_px >= most_px and most_px < sizes.filling_px - 1:
        return Reason(
            "too tight",
            f"{tight_words(m)}; grown by {low.extend_px} px ({low.extend_px * voxel:.0f} Å, as far as a margin "
            f"reaches), still {_what_fails(low.measures)}",
            "grow it no further, over the density it leaves out by design: widen its soft edge, or "
            "subtract the rest of the particle from the particles before refining with it (relion_particle_subtract)",
        )
    if high is None and low.extend_px >= sizes.filling_px - 1:
        return Reason(
            CONFLICT,
            f"{_what_fails(m)}; grown until it nearly fills the box ({low.extend_px} px), still "
            f"{_what_fails(low.measures)}: {why}",
            "no mask of this box passes the too-tight test: refine the half-maps further, or check that they are "
            "independent halves",
        )
    if high is None:
        return Reason(
            "too tight",
            tight_words(m),
            f"extend the mask by more than {low.extend_px * voxel:.0f} Å ({low.extend_px} px){edge_words}: grown so, "
            "it is still too tight",
        )
    grow = f"extend the mask by {high.extend_px * voxel:.0f} Å ({high.extend_px} px){edge_words}"
    remake = sizes.remake(high.extend_px)  # the size found, to make: not for a mask missing a part (made again)
    if high.measures.padding_angstrom <= limit:
        return Reason("too tight", tight_words(m), f"{grow}: grown so, it is not too tight", remake)
    if misses_a_part(m):
        return left_out_part_reason(m, high)
    return Reason(
        CONFLICT,
        f"{_what_fails(m)}; not too tight only when grown by {high.extend_px} px, where it reaches "
        f"{high.measures.padding_angstrom:.1f} Å past the reliable density: {why}",
        f"{grow}{',' if edge_words else ''} {ACCEPT}",
        remake,
    )


def misses_a_part(m: MaskMeasures) -> bool:
    """Whether the density a mask (not a focused one) leaves out is mostly one part or more of the particle (parts
    reaching past `part_reach_angstrom`, `split_outside`), not a margin all round."""
    parts = m.density_left_out_fraction
    return not m.focused and parts > DENSITY_OUTSIDE_MAX and parts >= LEFT_OUT_SHARE * m.density_outside_fraction


def left_out_part_reason(m: MaskMeasures, high: Tried) -> Reason:
    """The too-tight reason of a mask that misses a part of the particle and, grown all round until it takes that
    part in (by ``high``), reaches past the too-loose limit elsewhere: remake it, rather than grow it (a verdict
    look: grown as a conflict advised, a mask that missed a lobe lost 1.3 Å of resolution)."""
    count = m.density_left_out_parts
    return Reason(
        "too tight",
        f"{tight_words(m)}; it leaves out {count} part{'s' if count > 1 else ''} of the particle "
        f"({m.density_left_out_fraction:.1%} of the reliable density, reaching {m.density_left_out_reach_angstrom:.0f} "
        f"Å past the mask): grown all round until not too tight ({high.extend_px} px), it reaches "
        f"{high.measures.padding_angstrom:.1f} Å past the reliable density elsewhere",
        "make the mask again so that it takes in the part it leaves out (from the map at a lower threshold, or a "
        "larger shape), rather than grow it all round; if it is a mask of part of the particle by design, check it "
        "as a focused mask",
    )


def _shrunk_reason(m: MaskMeasures, low: Tried, high: Tried, limit: float, halves: HalfMaps, edge_words: str) -> Reason:
    voxel = halves.voxel_size_angstrom
    loose = (
        f"the mask reaches {m.padding_angstrom:.1f} Å past the reliable density (95th percentile; limit "
        f"{limit:.1f} Å); solvent fraction {m.solvent_fraction:.1%}"
    )
    tighter = f"shrunk by {-low.extend_px} px it is too tight ({_what_fails(low.measures)})"
    shrink = f"shrink the mask by {-high.extend_px * voxel:.0f} Å (extend by {high.extend_px} px){edge_words}"
    if high.measures.padding_angstrom <= limit:
        return Reason("too loose", f"{loose}; {tighter}", f"{shrink}, no further")
    keep = f"keep the mask's size{edge_words} (any smaller is too tight)"
    stay = f"{shrink}, no further," if high.extend_px < 0 else keep
    return Reason(
        CONFLICT,
        f"the mask reaches {m.padding_angstrom:.1f} Å past the reliable density, but {tighter}: "
        f"{_why(half_maps_resolution(halves), limit)}",
        f"{stay} {ACCEPT}",
    )
