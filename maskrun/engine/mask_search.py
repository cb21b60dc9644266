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
edge, so a candidate can be looser than the mask it was made from.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from maskrun.engine.mask_check import MaskCheck, judged, tighter_by_px, tighter_resolves_further
from maskrun.errors import FieldError
from maskrun.geometry.fsc import MaskedFsc
from maskrun.geometry.map_mask import MapMaskSteps, mask_from_map
from maskrun.geometry.mask_verdict import MaskMeasures, advised_shrink_angstrom, least_edge_angstrom

SEARCH_EXTEND_PX = (-2.0, 0.0, 2.0, 4.0, 6.0, 8.0)
SEARCH_SOFT_EDGE_PX = (3.0, 6.0, 9.0, 12.0)
TIGHTER_ROUNDS_MAX = 4  # 2 px each past the tightest tried: 8 px, 16 candidates at most (the review: 24 became 44)


@dataclass(frozen=True)
class Candidate:
    """One mask tried: how it was made, how much it keeps, and its verdict."""

    extend_px: float
    soft_edge_px: float
    kept_fraction: float
    verdict: str
    resolution_angstrom: float | None
    phase_randomised_fsc_max: float


def search_masks(
    check: MaskCheck,
    extends_px: tuple[float, ...] = SEARCH_EXTEND_PX,
    soft_edges_px: tuple[float, ...] = SEARCH_SOFT_EDGE_PX,
) -> tuple[list[Candidate], Candidate | None]:
    """Every candidate around the checked mask, and the tightest (least kept) judged ``fine``, if any."""
    if check.halves is None or check.mask_values is None:
        raise ValueError("search_masks needs the check's prepared half-maps: use check_mask")
    soft_edges_px = search_edges_px(check, soft_edges_px)
    shrink_px = advised_shrink_px(check)
    extends_px = tuple(sorted({*extends_px, *(-2.0 * k for k in range(1, math.ceil(shrink_px / 2) + 1))}))
    judgements: dict[tuple[float, float], _Judged] = {}  # each candidate's, once: the best is asked of again
    tried = [c for extend in extends_px for edge in soft_edges_px if (c := _tried(check, extend, edge, judgements))]
    given_kept = float(check.mask_values.mean(dtype=np.float64))
    attempted = set(extends_px)
    rounds = 0  # past the grid's tight end, while its tightest is fine: at most `TIGHTER_ROUNDS_MAX`
    while True:
        fine = [c for c in tried if c.verdict == "fine" and (check.verdict != "fine" or c.kept_fraction < given_kept)]
        best = min(fine, key=lambda c: c.kept_fraction) if fine else None
        further = _further_extends(check, best, attempted, judgements)
        tightest = min(attempted)
        if not further and rounds < TIGHTER_ROUNDS_MAX and _fine_may_lie_tighter(check, best, tried, tightest):
            further = [tightest - 2.0]
            rounds += 1
        if not further:
            return sorted(tried, key=lambda c: (c.extend_px, c.soft_edge_px)), best
        attempted.update(further)
        tried += [c for extend in further for edge in soft_edges_px if (c := _tried(check, extend, edge, judgements))]


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
        values = mask_from_map(check.mask_values, MapMaskSteps(threshold=0.5, extend_px=extend, soft_edge_px=edge))
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


def search_json(
    tried: list[Candidate], best: Candidate | None, make_it: str | None = None, note: str | None = None
) -> dict[str, object]:
    """The search as JSON-ready data; ``make_it``: the command that makes the tightest fine one, if any; ``note``:
    `grown_all_round_note`'s."""
    found: dict[str, object] = {
        "candidates": [asdict(c) for c in tried],
        "tightest_fine": asdict(best) if best else None,
    }
    if best is not None and make_it is not None:
        found["make_it"] = make_it
    if note is not None:
        found["note"] = note
    return found


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


def search_summary(
    tried: list[Candidate],
    best: Candidate | None,
    voxel_size_angstrom: float,
    mask_name: str,
    given_fine: bool = False,
    conflict: bool = False,
) -> str:
    """A table of the candidates and the tightest fine one, in words.

    ``given_fine``: the checked mask is fine; ``conflict``: its verdict is `CONFLICT` (no mask
    passes both tests), so that none is fine is no surprise, and the tightest candidate that is
    not too tight (too loose by its padding only) is named instead.
    """
    lines = ["", "search (the mask's 0.5 contour, extended and softened):"]
    lines.append(f"{'extend px':>10} {'edge px':>8} {'kept':>7} {'res. Å':>7} {'rand.FSC':>9}  verdict")
    for c in tried:
        res = f"{c.resolution_angstrom:.2f}" if c.resolution_angstrom else "-"
        lines.append(
            f"{c.extend_px:>10g} {c.soft_edge_px:>8g} {c.kept_fraction:>7.1%} {res:>7} "
            f"{c.phase_randomised_fsc_max:>9.3f}  {c.verdict}"
        )
    if best is None and given_fine:
        lines.append(f"no candidate tighter than {mask_name} is fine: keep it as it is")
    elif best is None and conflict:
        wide = [c for c in tried if c.verdict == "too loose"]  # not too tight, and no hard edge
        least = min(wide, key=lambda c: c.kept_fraction) if wide else None
        lines.append(
            "no candidate is fine, as the verdict found no size of the mask that is: "
            + (
                f"the tightest that is not too tight is extend {least.extend_px:g} px, soft edge "
                f"{least.soft_edge_px:g} px (too loose by its padding only); or follow the verdict's advice"
                if least is not None
                else "none is wide enough to pass the too-tight test; follow the verdict's advice"
            )
        )
    elif best is None:
        lines.append("no candidate is fine: see the reasons above, or widen the search by hand")
    else:
        lines.append(
            f"tightest fine mask: extend {best.extend_px:g} px ({best.extend_px * voxel_size_angstrom:g} Å), "
            f"soft edge {best.soft_edge_px:g} px ({best.soft_edge_px * voxel_size_angstrom:g} Å) "
            f"from the 0.5 contour of {mask_name}"
        )
    return "\n".join(lines)
