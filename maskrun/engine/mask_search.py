"""``check-mask --search``: masks around a mask, from tight to loose, and the tightest one judged fine.

The candidates are the mask's 0.5 contour grown by each of `SEARCH_EXTEND_PX` and softened by
each of `SEARCH_SOFT_EDGE_PX` (none narrower than the least edge the hard-edge rule asks at the mask's
resolution, `search_edges_px`), as ``relion_mask_create`` (threshold 0.5, ``--extend_inimask``,
``--width_soft_edge``) would make them from the mask; each is judged against the same prepared
half-maps (docs/spec.md, "Checking a mask"), as the given mask was (a focused mask's as focused
masks: "Parts left out"). A mask judged too loose is also shrunk as far as its verdict advises,
in steps of 2 px. The tightest fine candidate is itself tried tighter, as a check does
(`tighter_resolves_further`): while that finds it too loose, the search goes on, 2 px at a
time, as far as that advises; and while the tightest fine candidate is one of the tightest
tried, the search goes on 2 px tighter, until none there is fine (or nothing is left, or
`TIGHTER_ROUNDS_MAX` rounds), so that "tightest fine" is not the grid's end. Around a fine
given mask the search goes on so too while any candidate at the tightest extend tried is not
too tight (`_fine_may_lie_tighter`). The tightest fine candidate is named only if it keeps less
than the given mask when that is fine itself: the 0.5 contour already holds half the given soft
edge, so a candidate can be looser than the mask it was made from. The verdict's mask (its
``make it`` size, grown from the mask's core) is judged beside the candidates (`verdict_mask`),
and while none is fine the rows go on toward it (`_toward_verdict`); which one mask to make of
them all, `maskrun.engine.search_answer` says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from maskrun.engine.mask_check import MaskCheck, judged, tighter_by_px, tighter_resolves_further
from maskrun.errors import FieldError
from maskrun.geometry.fsc import MaskedFsc
from maskrun.geometry.map_mask import MapMaskSteps, mask_from_map
from maskrun.geometry.mask_verdict import MaskMeasures, Remake, advised_shrink_angstrom, least_edge_angstrom

SEARCH_EXTEND_PX = (-2.0, 0.0, 2.0, 4.0, 6.0, 8.0)
SEARCH_SOFT_EDGE_PX = (3.0, 6.0, 9.0, 12.0)
TIGHTER_ROUNDS_MAX = 4  # 2 px each past the tightest tried: 8 px, 16 candidates at most (the review: 24 became 44)
TOWARD_VERDICT_ROUNDS_MAX = 6  # 2 px each toward the verdict's mask: 12 px, 24 candidates at most
CONTOUR = 0.5  # the grid's masks grow from the given mask's 0.5 contour


@dataclass(frozen=True)
class Candidate:
    """One mask tried: how it was made, how much it keeps, and its verdict.

    Made as ``make-mask --from-map MASK`` makes a mask: the given mask's voxels at or above
    ``threshold`` (0.5: its 0.5 contour, as the grid's; the verdict's mask, 0.99 × its top: its
    core), grown by ``extend_px``, with a soft edge ``soft_edge_px`` wide outside.
    """

    extend_px: float
    soft_edge_px: float
    kept_fraction: float
    verdict: str
    resolution_angstrom: float | None
    phase_randomised_fsc_max: float
    threshold: float = CONTOUR


class Search(NamedTuple):
    """What `search_masks` found: the grid's candidates, the tightest fine mask (of those, or the verdict's mask), and
    the verdict's mask judged as a candidate (its first ``make it`` size, `verdict_remake`; None without one)."""

    tried: list[Candidate]
    best: Candidate | None
    verdict_mask: Candidate | None


def search_masks(
    check: MaskCheck,
    extends_px: tuple[float, ...] = SEARCH_EXTEND_PX,
    soft_edges_px: tuple[float, ...] = SEARCH_SOFT_EDGE_PX,
) -> Search:
    """Every candidate around the checked mask, the tightest (least kept) judged ``fine``, if any, and the verdict's
    mask judged alike (`verdict_mask`), which may be that tightest fine one."""
    if check.halves is None or check.mask_values is None:
        raise ValueError("search_masks needs the check's prepared half-maps: use check_mask")
    soft_edges_px = search_edges_px(check, soft_edges_px)
    shrink_px = advised_shrink_px(check)
    extends_px = tuple(sorted({*extends_px, *(-2.0 * k for k in range(1, math.ceil(shrink_px / 2) + 1))}))
    judgements: dict[tuple[float, float], _Judged] = {}  # each candidate's, once: the best is asked of again
    tried = [c for extend in extends_px for edge in soft_edges_px if (c := _tried(check, extend, edge, judgements))]
    verdict = verdict_mask(check)
    given_kept = float(check.mask_values.mean(dtype=np.float64))

    def tighter_fine(candidates: list[Candidate]) -> Candidate | None:
        fine = [
            c for c in candidates if c.verdict == "fine" and (check.verdict != "fine" or c.kept_fraction < given_kept)
        ]
        return min(fine, key=lambda c: c.kept_fraction) if fine else None

    attempted = set(extends_px)
    rounds = 0  # past the grid's tight end, while its tightest is fine: at most `TIGHTER_ROUNDS_MAX`
    toward = 0  # toward the verdict's mask, while no candidate is fine: at most `TOWARD_VERDICT_ROUNDS_MAX`
    while True:
        best = tighter_fine(tried)
        further = _further_extends(check, best, attempted, judgements)
        tightest = min(attempted)
        if not further and rounds < TIGHTER_ROUNDS_MAX and _fine_may_lie_tighter(check, best, tried, tightest):
            further = [tightest - 2.0]
            rounds += 1
        if not further and best is None and toward < TOWARD_VERDICT_ROUNDS_MAX:
            further = _toward_verdict(verdict, tried, attempted)
            toward += bool(further)
        if not further:
            ordered = sorted(tried, key=lambda c: (c.extend_px, c.soft_edge_px))
            return Search(ordered, tighter_fine(tried + ([verdict] if verdict is not None else [])), verdict)
        attempted.update(further)
        tried += [c for extend in further for edge in soft_edges_px if (c := _tried(check, extend, edge, judgements))]


def verdict_remake(check: MaskCheck) -> Remake | None:
    """The size the check's verdict advises making (its first reason's, the first ``make it`` line), or None."""
    return next((reason.remake for reason in check.reasons if reason.remake is not None), None)


def verdict_mask(check: MaskCheck) -> Candidate | None:
    """The verdict's mask (`verdict_remake`), made as its ``make it`` line makes it and judged as a candidate is; None
    when the verdict advises no size.

    The verdict grows a mask with a soft edge from its core (where it is at least 0.99 of its
    top), the grid from its 0.5 contour: sizes of one name are not one size (a look: the
    verdict's extend -5 px kept 8.6 % of the box, the grid's -8 px 14.8 %). Judged beside the
    candidates, the verdict's advice is one of the masks the search weighs.
    """
    remake = verdict_remake(check)
    if remake is None or check.halves is None or check.mask_values is None:
        return None
    steps = MapMaskSteps(threshold=remake.threshold, extend_px=remake.extend_px, soft_edge_px=remake.soft_edge_px)
    try:
        values = mask_from_map(check.mask_values, steps)
    except FieldError:
        return None
    if not values.any():
        return None
    curves, measures, verdict, _ = judged(check.halves, values, check.measures.focused)
    kept = float(values.mean(dtype=np.float64))
    return Candidate(
        float(remake.extend_px),
        remake.soft_edge_px,
        kept,
        verdict,
        curves.resolution_angstrom,
        measures.phase_randomised_fsc_max,
        remake.threshold,
    )


def _toward_verdict(verdict: Candidate | None, tried: list[Candidate], attempted: set[float]) -> list[float]:
    """The next extend, 2 px past the grid's end, toward the verdict's mask, while no candidate is fine: tighter while
    the tightest row's candidate of the edge nearest the verdict's is too loose and keeps more than the verdict's mask,
    looser while the loosest row's is too tight and keeps less ([] otherwise).

    The look: every row of the grid too loose down to extend -2 px, and the verdict advising a
    mask that kept less than any of them; the search then said the tightest not too tight was -2
    px, the verdict -5 px from another contour, and the user could not tell which to follow.
    """
    if verdict is None or any(c.verdict == "fine" for c in tried):
        return []

    def nearest(extend: float) -> Candidate | None:
        row = [c for c in tried if c.extend_px == extend]
        return min(row, key=lambda c: abs(c.soft_edge_px - verdict.soft_edge_px)) if row else None

    tightest, loosest = min(attempted), max(attempted)
    end = nearest(tightest)
    if end is not None and end.verdict == "too loose" and end.kept_fraction > verdict.kept_fraction:
        return [tightest - 2.0]
    end = nearest(loosest)
    if end is not None and end.verdict == "too tight" and end.kept_fraction < verdict.kept_fraction:
        return [loosest + 2.0]
    return []


def search_edges_px(check: MaskCheck, soft_edges_px: tuple[float, ...]) -> tuple[float, ...]:
    """The soft edges the search tries: ``soft_edges_px``, each at least the least edge the check's hard-edge rule
    asks at the given mask's resolution (`least_edge_angstrom`: the larger of 3 px and the resolution, counted up to
    6 Å), to the hundredth of a voxel, rounded up.

    The search once advised 3 px edges (AK at 1.5 Å/px: 4.5 Å) where that least was 4.8 Å: a
    tighter candidate resolving further passed its own rule, whose least is counted at its own
    resolution, and the 0.94 an edge measures of its width. A candidate is judged at its own
    resolution still; a narrower edge is not tried.
    """
    voxel = check.curves.voxel_size_angstrom
    least = math.ceil(100 * least_edge_angstrom(check.measures.resolution_angstrom, voxel) / voxel - 1e-9) / 100
    return tuple(sorted({max(edge, least) for edge in soft_edges_px}))


def _fine_may_lie_tighter(check: MaskCheck, best: Candidate | None, tried: list[Candidate], tightest: float) -> bool:
    """Whether the search goes on 2 px past ``tightest``, the tightest extend tried.

    It does when the tightest fine candidate is there, and, around a fine given mask, while
    any candidate there is not too tight: a ``hard edge`` one, say, whose softer edges further
    in may be fine (the look: fine at 4.80 Å and "keep it", while 8 px tighter was fine at 3.20 Å).
    """
    row = [c for c in tried if c.extend_px == tightest]
    if best is not None and best.extend_px == tightest:
        return True
    return check.verdict == "fine" and any(c.verdict != "too tight" for c in row)


def _candidate_values(check: MaskCheck, extend: float, edge: float) -> np.ndarray | None:
    """The candidate made from the mask's 0.5 contour, or None when nothing of it is left."""
    assert check.mask_values is not None
    try:
        values = mask_from_map(check.mask_values, MapMaskSteps(threshold=CONTOUR, extend_px=extend, soft_edge_px=edge))
    except FieldError:  # nothing at or above 0.5
        return None
    return values if values.any() else None  # else shrunk away


@dataclass(frozen=True)
class _Judged:
    """A candidate's curves and measures, kept for the search's further rounds (not its values: a map each)."""

    curves: MaskedFsc
    measures: MaskMeasures


def _tried(
    check: MaskCheck, extend: float, edge: float, judgements: dict[tuple[float, float], _Judged]
) -> Candidate | None:
    """One candidate judged (and kept in ``judgements``), or None when nothing of it is left."""
    assert check.halves is not None
    values = _candidate_values(check, extend, edge)
    if values is None:
        return None
    curves, measures, verdict, _ = judged(check.halves, values, check.measures.focused)
    judgements[extend, edge] = _Judged(curves, measures)
    kept = float(values.mean(dtype=np.float64))
    return Candidate(extend, edge, kept, verdict, curves.resolution_angstrom, measures.phase_randomised_fsc_max)


def _further_extends(
    check: MaskCheck, best: Candidate | None, done: set[float], judgements: dict[tuple[float, float], _Judged]
) -> list[float]:
    """Extends not yet tried, 2 px apart, as far below ``best``'s as its being tried tighter advises (none if fine).

    ``best`` is one of the candidates tried: its curves and measures are those kept in
    ``judgements`` (the search judged it once), not measured again each round.
    """
    assert check.halves is not None
    values = None if best is None else _candidate_values(check, best.extend_px, best.soft_edge_px)
    if best is None or values is None:
        return []
    kept = judgements[best.extend_px, best.soft_edge_px]
    curves, measures = kept.curves, kept.measures
    found = tighter_resolves_further(check.halves, values, curves, measures)
    if found is None:
        return []
    shrink = (
        -found.remake.extend_px
        if found.remake is not None
        else tighter_by_px(measures, check.halves.voxel_size_angstrom)
    )
    steps = [best.extend_px - 2.0 * k for k in range(1, math.ceil(shrink / 2) + 1)]
    return [extend for extend in steps if extend not in done]


def advised_shrink_px(check: MaskCheck) -> float:
    """How far the check's ``too loose`` reason advises shrinking the mask, px (0 without one)."""
    if not any(r.verdict == "too loose" for r in check.reasons):
        return 0.0
    voxel = check.curves.voxel_size_angstrom
    by_padding = advised_shrink_angstrom(check.measures, voxel) / voxel
    return by_padding if by_padding > 0 else tighter_by_px(check.measures, voxel)  # found loose by a tighter mask


def grown_all_round_note(check: MaskCheck) -> str | None:
    """What the search's answer is, for a mask that leaves out a part of the particle (`misses_a_part`), else None.

    Its candidates grow or shrink the mask all round; the verdict may advise making it again to
    take that part in, which a candidate of the search can be fine beside and still resolve less
    (the review: 7.11 Å grown all round, 6.00 Å taking the lobe in).
    """
    from maskrun.engine.mask_advice import misses_a_part

    if not misses_a_part(check.measures):
        return None
    return (
        "the candidates grow or shrink this mask all round, and it leaves out a part of the particle: made again "
        "taking that part in, as the verdict advises, it may resolve further than any of them"
    )
