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
- **too loose** (past the padding limit): the advised shrink is tried, and tighter again while a
  size is still too loose, by its padding or, with the check's ``looser``, by the rule a check
  applies to a mask it finds fine (a tighter mask resolves further); once a size is too tight,
  the largest shrink found not too tight is advised instead (2 voxels first, then halving as
  above). So the mask made as advised is not told to shrink again;
- **hard edge**: the advised edge is laid about the mask's 0.5 contour, shrunk by half the edge
  so that the mask keeps its size (a focused mask leaving parts out: by just over half, so that
  the contour is never past the given one, `contour_kept_px`), and that size tried: grown a voxel
  at a time while too tight, shrunk as above while too loose. A mask both too loose and
  hard-edged gets one size that mends both, tried with the advised edge, under ``too loose``,
  which leads (`_resized_advice`).

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
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import NamedTuple

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
    loose_limit,
    measure_binning,
    measured_edge_px,
    part_reach_angstrom,
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


class Tighter(NamedTuple):
    """What the check's second too-loose rule found of a size (`maskrun.engine.mask_check.looser_by`): how many voxels
    tighter to try it, and why, in words (``made 5 px tighter it is not too tight and resolves to …``)."""

    px: int
    words: str


Looser = Callable[[np.ndarray], "Tighter | None"]


def converging_advice(
    halves: HalfMaps,
    mask: np.ndarray,
    measures: MaskMeasures,
    reasons: list[Reason],
    looser: Looser | None = None,
) -> tuple[str, list[Reason]]:
    """The verdict and reasons of a checked mask, its ``too tight``, ``too loose`` or ``hard edge`` advice found by
    trying sizes.

    ``reasons`` are `judge`'s for ``mask``; unchanged when none applies, or when the density
    left out reaches past the too-loose limit (remaking the mask is advised then, not a size).
    ``looser``: how many voxels tighter a size, neither too tight nor past the padding limit, is
    to be tried by the rule a check applies to a mask it finds fine (None: it is fine); without
    it, the padding limit alone ends a shrink.
    """
    voxel = halves.voxel_size_angstrom
    limit = loose_limit(voxel)
    kinds = [reason.verdict for reason in reasons]
    if "too tight" not in kinds:
        if "too loose" in kinds or "hard edge" in kinds:
            return _resized_advice(halves, mask, measures, reasons, looser)
        return (reasons[0].verdict if reasons else "fine"), reasons
    if measures.density_outside_reach_angstrom > limit:
        return reasons[0].verdict, reasons
    hard = "hard edge" in kinds
    edge_px = advised_edge_angstrom(measures, voxel) / voxel if hard else measured_edge_px(measures, voxel)
    sizes = GrownMasks(mask, edge_px, measure_binning(mask.shape[0]))
    test = _tight_test(halves, measures)
    given = Tried(0, True, TightMeasures.of(measures))
    edge_words = f", with a soft edge of {width_words(edge_px, voxel)}" if hard else ""
    guess = math.ceil(max(measures.resolution_angstrom, 2 * voxel) / voxel)  # judge's own guess, in voxels
    most = sizes.filling_px - 1
    if leaves_parts_out(measures):  # left out by design: not grown over
        most = min(most, grown_within_px(test.part_reach / voxel, edge_px if hard else 0.0))
        if most < 0:  # softened outward, its 0.5 contour is past a margin already
            return _ordered(_margin_reason(measures, None, halves, sizes, hard), reasons)
    low, high = grown(test, sizes, given, guess, limit, most, softened_first=hard)
    if _may_shrink_softened(measures, high, limit, hard):
        assert high is not None
        high = shrunk(test, sizes, high, 2, limit).found  # softened, the core may shrink: as far as not too tight
    found = _grown_reason(measures, low, high, limit, halves, sizes, edge_words, most, hard)
    return _ordered(found, reasons)


def _may_shrink_softened(m: MaskMeasures, high: Tried | None, limit: float, hard: bool) -> bool:
    """Whether a hard mask, too tight but not with the advised soft edge outside its core (size 0), where that reaches
    past the too-loose limit, is tried with its core shrunk (`shrunk`, at most `TRIALS_MAX` sizes more): the largest
    shrink not too tight is advised. Tried grown only, a hard r100 mask (its edge alone too tight) was advised 2 px
    more than its core, then told to shrink 3 px, then kept: three checks for what the first could have found. Not for a
    mask missing a part (made again) or leaving parts out by design (its contour is kept within a margin)."""
    if not hard or high is None or high.extend_px != 0 or high.measures.padding_angstrom <= limit:
        return False
    return not misses_a_part(m) and not leaves_parts_out(m)


def grown_within_px(reach_px: float, new_edge_px: float) -> int:
    """The most a focused mask's core may grow, voxels, so that its 0.5 contour moves no further than ``reach_px``
    (the margin, `part_reach_angstrom`): the growth and, for a hard edge given the soft edge ``new_edge_px`` outward,
    half that edge (0: the mask keeps the edge it has). -1: no size is within it; 0 where 0 or 1 is (1 voxel
    changes nothing).

    The limit once held the core's growth alone: a focused hard mask advised --extend 2 --soft-edge 6 had its
    contour 4.7 px (7 Å) past the cut, beyond the margin (6.9 Å), swallowed half the side it left out by design,
    and its check said `fine`, not grown over.
    """
    most = math.floor(reach_px - new_edge_px / 2)
    return -1 if most < 0 else 0 if most < 2 else most


def _tight_test(halves: HalfMaps, measures: MaskMeasures) -> TightTest:
    """The `TightTest` of a checked mask's sizes: each judged as its own check judges it, a focused mask's sizes by the
    parts each leaves out.

    Not by the given mask's parts: a size grown towards a part that reaches little past
    `part_reach_angstrom` leaves what is left of it within that reach, where the check of the
    size counts it. Tried with the given mask's parts kept out, such a size was advised and its
    check was too tight again (a two-domain phantom: 1.3 % of the density outside), or a
    conflict (8.2 %).
    """
    return TightTest(halves, measures.focused)


def _ordered(found: Reason, reasons: list[Reason]) -> tuple[str, list[Reason]]:
    """The verdict and reasons with ``found`` in place of `judge`'s reason of its side, worst first (`CONFLICT` first);
    a ``hard edge`` reason says that the size ``found`` makes has the edge it advises."""
    side = "too tight" if any(reason.verdict == "too tight" for reason in reasons) else "too loose"
    others = [
        replace(reason, suggestion=f"{reason.suggestion} (the mask advised above has it)")
        if reason.verdict == "hard edge" and found.remake is not None
        else reason
        for reason in reasons
        if reason.verdict != side
    ]
    ordered = [found, *others] if found.verdict == CONFLICT else sorted([found, *others], key=_rank)
    return ordered[0].verdict, ordered


@dataclass(frozen=True)
class Resizing:
    """The sizes a check tries of a mask too loose or with a hard edge, and how ``make-mask --from-map`` makes each.

    With a hard edge: the advised edge about the mask's 0.5 contour (the contour, not the core: a
    mask soft in part keeps its size too), from ``start_px`` (`softened_start_px`), where the mask
    keeps its size (the edge widened outward alone grows the mask by half the edge: a verdict
    look's mask, softened so, was then too loose). Otherwise the mask's core with the soft edge
    it has, from 0. ``contour_kept``: ``start_px`` is `contour_kept_px`, not half the edge.
    """

    sizes: GrownMasks
    threshold: float
    start_px: int
    voxel: float
    hard: bool
    contour_kept: bool = False

    @classmethod
    def of(cls, mask: np.ndarray, measures: MaskMeasures, voxel: float, hard: bool) -> Resizing:
        """The sizes of ``mask`` (`judge`'s ``measures``; ``hard``: a ``hard edge`` reason) on voxels of ``voxel`` Å."""
        binning = measure_binning(mask.shape[0])
        if not hard:
            sizes = GrownMasks(mask, measured_edge_px(measures, voxel), binning)
            return cls(sizes, sizes.remake(0).threshold, 0, voxel, False)
        edge_px = advised_edge_angstrom(measures, voxel) / voxel
        top = float(mask.max())
        contour = GrownMasks((np.asarray(mask) >= 0.5 * top).astype(np.float32), edge_px, binning)
        kept = leaves_parts_out(measures)
        return cls(contour, 0.5 * top, softened_start_px(contour.soft_edge_px, kept), voxel, True, kept)

    def keeps_size(self, extend_px: int) -> bool:
        """Whether the size ``extend_px`` is the mask's own, softened: ``start_px``, or a voxel larger where
        ``start_px`` is too tight (less than half the edge's rounding apart)."""
        return self.start_px <= extend_px <= self.start_px + 1

    def start_words(self, extend_px: int) -> str:
        """How far in from the 0.5 contour the size ``extend_px`` (`keeps_size`) starts, in words."""
        if extend_px == self.start_px:
            return self.half_words
        return f"{self.half_words} less a voxel: shrunk by {-self.start_px} px it is too tight"

    @property
    def half_words(self) -> str:
        """How far in from the 0.5 contour the softened size starts: ``half the edge`` (or ``just over``, with
        ``contour_kept``)."""
        return "just over half the edge" if self.contour_kept else "half the edge"

    def remake(self, extend_px: int) -> Remake:
        """How make-mask makes the size ``extend_px`` from the checked mask."""
        return Remake(self.threshold, extend_px, self.sizes.soft_edge_px)

    def resized_words(self, extend_px: int) -> str:
        """The advice to make the size ``extend_px``: ``shrink the mask by …`` (or ``extend``, larger than the mask)."""
        shrink = self.start_px - extend_px
        if not self.hard:
            return f"shrink the mask by {angstrom_words(shrink * self.voxel)} (extend by {extend_px} px)"
        if self.keeps_size(extend_px):
            return self.kept_words(extend_px)
        how = "shrink" if shrink > 0 else "extend"
        # the size counted from the softened one, the flag from the contour: both said, as a size too tight is
        return (
            f"{how} the mask by {angstrom_words(abs(shrink) * self.voxel)} ({abs(shrink)} px: from its 0.5 contour, "
            f"extend by {extend_px} px){self._softened(extend_px)}"
        )

    def kept_words(self, extend_px: int) -> str:
        """The advice to keep the mask's size (softened, with a hard edge, as the size ``extend_px``, `keeps_size`)."""
        return f"keep the mask's size{self._softened(extend_px) if self.hard else ''}"

    def _softened(self, extend_px: int) -> str:
        width = width_words(self.sizes.soft_edge_px, self.voxel)
        if self.keeps_size(extend_px):
            how = self.start_words(extend_px)
            return (
                f" and widen its soft edge to {width} about its 0.5 contour (from that contour, extend by {extend_px} "
                f"px: {how})"
            )
        half = self.half_words
        how = f"{half} and the shrink" if extend_px < self.start_px else f"{half}, less the growth"
        return f" and widen its soft edge to {width} about that contour ({how})"


def leaves_parts_out(m: MaskMeasures) -> bool:
    """Whether a focused mask leaves out parts of the particle by design: its sizes are not grown over them, and
    softened it keeps its 0.5 contour (`contour_kept_px`), so that they stay as far from it."""
    return m.focused and m.density_left_out_fraction > 0


def width_words(edge_px: float, voxel: float) -> str:
    """A soft edge's width as the advice prints it: ``10 Å (6.7 px)``."""
    return f"{angstrom_words(edge_px * voxel)} ({edge_px:.1f} px)"


def angstrom_words(angstrom: float) -> str:
    """A length in Å as the advice prints it: whole Å, or with one decimal where it is not (3 px at 1.5 Å: 4.5 Å, not
    "4 Å"; 1 px: 1.5 Å, not "2 Å")."""
    whole = abs(angstrom - round(angstrom)) < 0.05
    return f"{angstrom:.0f} Å" if whole else f"{angstrom:.1f} Å"


def softened_start_px(soft_edge_px: float, contour_kept: bool) -> int:
    """The ``--extend`` from a hard mask's 0.5 contour that keeps its size softened with an edge ``soft_edge_px`` wide:
    ``-round(W/2)``, half the edge (the size kept in volume), or, ``contour_kept`` (a focused mask leaving parts
    out), `contour_kept_px`.

    The contour kept is where it is needed only: a part a focused mask leaves out by design must
    not come nearer once softened (three rounds, below). Elsewhere it cost a voxel all round,
    and more where the trials' rules then said nothing: a hard sphere was called fine 1 Å
    looser than half the edge left it (4.57 Å, truth 4.80 Å, against 3.84 Å, 3.69 Å), and 5 of
    20 hard AK masks, too tight at that start, read ``too tight`` (19 % of an irregular mask's
    volume off, not a sphere's 11 %).
    """
    return contour_kept_px(soft_edge_px) if contour_kept else -round(soft_edge_px / 2)


def contour_kept_px(soft_edge_px: float) -> int:
    """The ``--extend`` that keeps a mask's 0.5 contour where it is when the mask is remade from that contour with a
    soft edge ``soft_edge_px`` wide (``make-mask --from-map M --threshold 0.5 --extend E --soft-edge W``): -(⌊W/2⌋ + 1).

    ``--extend -e`` takes off the voxels closer than e to the outside, e - 1 layers, and the edge
    puts the voxels within W/2 of what is left at 0.5 or above: ⌊W/2⌋ layers back. So the
    contour comes back where it was, never past it (a voxel outside it lies at least e > W/2
    from what is left). Half the edge rounded, as before, grew the mask by a voxel all round
    for most edges (W 6: -3 left the voxels 3 px out at 0.5 exactly): a focused mask's other
    domain, 7.5 Å past it, then reached 6 Å past the softened mask, under the part/margin line
    (6.9 Å), and its next check grew it over that domain.
    """
    return -(math.floor(soft_edge_px / 2) + 1)


def _resized_advice(
    halves: HalfMaps, mask: np.ndarray, measures: MaskMeasures, reasons: list[Reason], looser: Looser | None
) -> tuple[str, list[Reason]]:
    """`converging_advice` for a mask not too tight: too loose, with a hard edge, or both (one size that mends both).

    With both, ``too loose`` leads: the solvent a loose mask keeps costs resolution, while its
    hard edge, out in the solvent, costs little (the phase-randomised correction takes the
    correlation an edge makes; one that makes the mask too tight is told so first). On a verdict
    look's loose sphere with a 2 px edge, softening alone left 6.40 Å as it was, shrinking alone
    gave 4.36 Å, and both 3.84 Å.
    """
    voxel = halves.voxel_size_angstrom
    limit = loose_limit(voxel)
    hard = any(reason.verdict == "hard edge" for reason in reasons)
    resizing = Resizing.of(mask, measures, voxel, hard)
    test = _tight_test(halves, measures)
    if not any(reason.verdict == "too loose" for reason in reasons):
        return _softened_advice(test, resizing, measures, reasons, looser)
    given = Tried(resizing.start_px, False, TightMeasures.of(measures))  # softened at its size, as the mask measures
    shrink = max(1, round(advised_shrink_angstrom(measures, voxel) / voxel))
    high, low, ended = shrunk(test, resizing.sizes, given, shrink, limit, looser)
    if high is given and hard and low is not None:  # every shrink too tight: keep the softened size, tried here
        kept = _least_not_tight(test, resizing)
        if kept is None:
            return _ordered(_soft_too_tight_reason(measures, low, limit, halves, resizing), reasons)
        high = kept
    if low is None:
        advised = given.extend_px - max(2, shrink)
        suggestion = resizing.resized_words(high.extend_px) + (
            ": made so, it is neither too tight nor too loose"
            if ended
            else f", at least: shrunk so, it is still too loose ({high.measures.padding_angstrom:.1f} Å past the "
            "reliable density, or a tighter mask resolves further)"
        )
        if high.extend_px < advised:
            suggestion += (
                f" (shrunk by {given.extend_px - advised} px, to half the padding limit, it is still too loose)"
            )
        found = Reason("too loose", _loose_words(measures, limit), suggestion, resizing.remake(high.extend_px))
    else:
        found = _shrunk_reason(measures, low, high, limit, halves, resizing)
        if high.extend_px != resizing.start_px or hard:  # else: keep the mask as it is
            found = replace(found, remake=resizing.remake(high.extend_px))
    return _ordered(found, reasons)


def _least_not_tight(test: TightTest, resizing: Resizing) -> Tried | None:
    """The first size not too tight from the size that keeps the mask's size (``start_px``) up to the contour's
    core (0), a voxel at a time; None when every one is too tight."""
    for extend_px in range(resizing.start_px, 1):
        size = tried_size(test, resizing.sizes, extend_px)
        if not size.tight:
            return size
    return None


def _softened_advice(
    test: TightTest, resizing: Resizing, measures: MaskMeasures, reasons: list[Reason], looser: Looser | None
) -> tuple[str, list[Reason]]:
    """``reasons`` of a mask with a hard edge alone with its advice tried: the edge widened to the advised width about
    the mask's 0.5 contour (its size kept), grown a voxel at a time while too tight, or shrunk while too loose
    (`shrunk`); unchanged when no size is neither.

    Softened at its size, the mask keeps the hard edge's reason and its `make it:` line. Where the
    size advised is grown or shrunk besides, that is the bigger problem, read first, as with a
    mask too loose and hard-edged (`_resized_advice`): ``too tight`` (softened at its size it is)
    or ``too loose`` leads with the `make it:` line, and the hard edge's reason follows. A verdict
    look's hard sphere within the padding limit read ``hard edge`` with a line that shrank it by
    5 px more than softening does.
    """
    limit = loose_limit(resizing.voxel)
    start = resizing.start_px
    at_size = size = tried_size(test, resizing.sizes, start)
    for extend_px in range(start + 1, 1):  # grown back towards the contour while too tight
        if not size.tight:
            break
        size = tried_size(test, resizing.sizes, extend_px)
    if size.tight or (size.extend_px > start and size.measures.padding_angstrom > limit):
        return reasons[0].verdict, reasons
    remake = resizing.remake(size.extend_px)  # make-mask --from-map MASK --threshold 0.5
    if not resizing.keeps_size(size.extend_px):
        grown = Reason(
            "too tight",
            f"softened at its size (the hard edge's advice, below), it is too tight: {_what_fails(at_size.measures)}",
            f"{resizing.resized_words(size.extend_px)}: made so, it is not too tight",
            remake,
        )
        return _ordered(grown, reasons)
    further = None if size.extend_px > start else _further(test, resizing.sizes, size, limit, looser)
    if further is None:
        words = (
            f"; about its 0.5 contour, shrunk by {-size.extend_px} px ({resizing.start_words(size.extend_px)}) so that "
            "the mask keeps its size: made so, it is not too tight"
        )
        softened = [
            replace(r, suggestion=f"{r.suggestion}{words}", remake=remake) if r.verdict == "hard edge" else r
            for r in reasons
        ]
        return softened[0].verdict, softened
    size, low, ended = shrunk(test, resizing.sizes, size, further.px, limit, looser)
    if not ended and (low is None or size.extend_px == start or size.measures.padding_angstrom > limit):
        return reasons[0].verdict, reasons  # no size found neither too tight nor too loose
    found = Reason(
        "too loose",
        f"{_loose_words(measures, limit)}; softened at its size (the hard edge's advice, below), {further.words}",
        resizing.resized_words(size.extend_px)
        + (": made so, it is neither too tight nor too loose" if ended else ", no further (any smaller is too tight)"),
        resizing.remake(size.extend_px),
    )
    return _ordered(found, reasons)


def _rank(reason: Reason) -> int:
    return ["too tight", "too loose", "hard edge"].index(reason.verdict)


def _further(test: TightTest, sizes: GrownMasks, size: Tried, limit: float, looser: Looser | None) -> Tighter | None:
    """How many voxels tighter than ``size`` (not too tight) to try next, and why: to half the padding limit while it
    reaches past it, as ``looser`` says within it; None when neither asks, the size to advise."""
    voxel = test.halves.voxel_size_angstrom
    padding = size.measures.padding_angstrom
    if padding > limit:
        return Tighter(
            max(1, round(advised_shrink_angstrom(size.measures, voxel) / voxel)),
            f"it reaches {padding:.1f} Å past the reliable density (limit {limit:.1f} Å)",
        )
    return None if looser is None else looser(sizes.values(size.extend_px))


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
    softened_first: bool = False,
) -> tuple[Tried, Tried | None]:
    """The last size found too tight and the first found not (None: none was, up to ``most_px`` or in
    `TRIALS_MAX` trials).

    ``softened_first``: a hard mask given the advised edge (``sizes``), whose core with that edge
    outside it (size 0, its 0.5 contour half the edge out) is tried first: not too tight, it is
    the size found. Grown by 2 px first, a hard r100 mask was advised 7 Å more than it needed,
    then told to shrink back 3 px, and kept there: three checks, where the core with the edge
    outside it was fine.
    """
    low, high = given, None
    trials = TRIALS_MAX
    if softened_first:
        tried = tried_size(test, sizes, 0)
        trials -= 1
        if not tried.tight:
            return low, tried
        low = tried
    probe = min(max(2, guess_px), most_px) if most_px >= 2 else 0  # growing by 1 voxel changes nothing
    for _ in range(trials):
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


class Shrunk(NamedTuple):
    """Where `shrunk` ended: the size to advise, the last size found too tight (None: none was), and whether the size
    is neither too tight nor too loose (False: a size was too tight first, or the trials ran out)."""

    found: Tried
    tight: Tried | None
    ended: bool


def shrunk(
    test: TightTest,
    sizes: GrownMasks,
    given: Tried,
    shrink_px: int,
    limit_angstrom: float,
    looser: Looser | None = None,
) -> Shrunk:
    """The size a mask too loose at ``given`` (not too tight) is advised.

    ``shrink_px`` tighter first (at least 2 voxels: 1 changes nothing), then, while a size is not
    too tight but still too loose (`_further`: its padding, or ``looser``), tighter again;
    once one is too tight, the largest shrink found not too tight, halving between as `grown`
    does. At most `TRIALS_MAX` sizes in all; when they run out still too loose, the tightest tried.
    """
    high, low = given, None
    probe = given.extend_px - max(2, shrink_px)
    trials = 0
    while trials < TRIALS_MAX:
        tried = tried_size(test, sizes, probe)
        trials += 1
        if tried.tight:
            low = tried
            break
        high = tried
        further = _further(test, sizes, tried, limit_angstrom, looser)
        if further is None:
            return Shrunk(tried, None, True)
        probe = tried.extend_px - max(2, further.px)
    if low is None:
        return Shrunk(high, None, False)
    next_probe: int | None = given.extend_px - 2 if high is given else None  # a mask as tight as it may be: at once
    while trials < TRIALS_MAX and not close(low, high, limit_angstrom):
        between = _between(low, high)
        tried = tried_size(test, sizes, next_probe if next_probe in between else between[len(between) // 2])
        trials += 1
        if tried.tight:
            low = tried
        else:
            high = tried
        next_probe = None
    return Shrunk(high, low, False)


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
    """The too-tight test's failing numbers, briefly: a limit over 0.1 named as 3 × its shell's noise, not derived as
    the too-tight reason derives it (`limit_words`: in a conflict's reason, beside the sizes and why, that ran to 400
    characters)."""
    failing = []
    fsc = m.phase_randomised_fsc_max  # None: not over the limit
    if fsc is not None and fsc > m.phase_randomised_fsc_limit:
        limit = m.phase_randomised_fsc_limit
        failing.append(f"phase-randomised masked FSC {fsc:.3f}, limit {limit:.3g}")
    if m.density_outside_fraction > DENSITY_OUTSIDE_MAX:
        failing.append(
            f"{m.density_outside_fraction:.1%} of the reliable density outside, limit {DENSITY_OUTSIDE_MAX:.0%}"
        )
    beyond = m.density_beyond_z_ends_fraction if isinstance(m, MaskMeasures) else 0.0
    if beyond:
        failing.append(
            f"{beyond:.1%} of the reliable density beyond the mask's z ends (a helical z crop's: not counted)"
        )
    return "; ".join(failing)


def half_maps_resolution(halves: HalfMaps) -> float:
    """The half-maps' own resolution, Å: where their unmasked FSC falls below 0.143 (as the mask leaves it)."""
    shell = max(resolution_shell(halves.unmasked), 1)
    return float(halves.shape[0] * halves.voxel_size_angstrom / shell)


def accept_words(halves: HalfMaps) -> str:
    """The end of a conflict's advice: let the mask be looser than the too-loose limit, or refine the half-maps further,
    and why no size passes both tests, after the reason has named that limit (their blur at their resolution)."""
    return (
        "and let it be looser than the limit, or refine the half-maps further: their blur at "
        f"{half_maps_resolution(halves):.1f} Å (unmasked) reaches past it"
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
    hard: bool = False,
) -> Reason:
    voxel, accept = halves.voxel_size_angstrom, accept_words(halves)
    if high is None and low.extend_px >= most_px and most_px < sizes.filling_px - 1:
        return _margin_reason(m, low, halves, sizes, hard)
    if high is None and low.extend_px >= sizes.filling_px - 1:
        return Reason(
            CONFLICT,
            f"{_what_fails(m)}; grown until it nearly fills the box ({low.extend_px} px), still "
            f"{_what_fails(low.measures)}",
            "no mask of this box passes the too-tight test: refine the half-maps further, or check that they are "
            "independent halves",
        )
    if high is None:
        return Reason(
            "too tight",
            tight_words(m),
            f"extend the mask by more than {angstrom_words(low.extend_px * voxel)} ({low.extend_px} px){edge_words}: "
            "grown so, "
            "it is still too tight",
        )
    if high.extend_px > 1:
        grow = f"extend the mask by {angstrom_words(high.extend_px * voxel)} ({high.extend_px} px){edge_words}"
    elif high.extend_px < -1:  # softened outward, its core shrunk (a hard mask too tight by its edge alone)
        shrink = angstrom_words(-high.extend_px * voxel)
        grow = f"shrink the mask's core by {shrink} (extend by {high.extend_px} px){edge_words} outside it"
    else:
        grow = f"keep the mask's core{edge_words} outside it"
    remake = sizes.remake(high.extend_px)  # the size found, to make: not for a mask missing a part (made again)
    if high.measures.padding_angstrom <= limit:
        made_so = (
            "made so, it is neither too tight nor too loose" if high.extend_px < -1 else "grown so, it is not too tight"
        )
        return Reason("too tight", tight_words(m), f"{grow}: {made_so}", remake)
    if misses_a_part(m):
        return left_out_part_reason(m, high)
    return Reason(
        CONFLICT,
        f"{_what_fails(m)}; not too tight only {_grown_words(high.extend_px)}, where it reaches "
        f"{high.measures.padding_angstrom:.1f} Å past the reliable density (limit {limit:.1f} Å)",
        f"{grow}{',' if edge_words else ''} {accept}",
        remake,
    )


def _grown_words(extend_px: int) -> str:
    """How a size of a too-tight mask was made, after ``not too tight only``: grown, or, a hard mask given a soft edge
    outside its core, that core kept or shrunk."""
    if extend_px > 1:
        return f"when grown by {extend_px} px"
    if extend_px < -1:
        return f"with its core shrunk by {-extend_px} px (extend by {extend_px} px) and the soft edge outside it"
    return "with the soft edge outside its core"


def _margin_reason(m: MaskMeasures, low: Tried | None, halves: HalfMaps, sizes: GrownMasks, hard: bool) -> Reason:
    """The too-tight reason of a focused mask still too tight at ``low``, the largest size whose 0.5 contour stays
    within a margin of the given one (`grown_within_px`; None: none does): grow it no further, over the density it
    leaves out by design."""
    voxel, reach = halves.voxel_size_angstrom, part_reach_angstrom(halves.randomise_from_angstrom)
    edge = sizes.soft_edge_px / 2 if hard else 0.0  # a hard mask's new edge moves its 0.5 contour out by half
    softened = f"with a soft edge of {width_words(sizes.soft_edge_px, voxel)} outside it"
    still = ""
    if low is None:
        grown_words = f"{softened}, its 0.5 contour would move {edge * voxel:.1f} Å, past a margin ({reach:.1f} Å)"
    else:
        contour = (low.extend_px if low.extend_px > 1 else 0) + edge
        how = f"grown by {low.extend_px} px" if low.extend_px > 1 else "not grown"
        grown_words = (
            f"{how}{f', {softened}' if hard else ''} ({contour * voxel:.1f} Å at its 0.5 contour, as far as a margin "
            "reaches), it is still too tight"
        )
        still = f" (so grown, still {_what_fails(low.measures)})"
    return Reason(
        "too tight",
        f"{_what_fails(m)}; {grown_words}",
        f"grow it no further, over the density it leaves out by design{still}: widen its soft edge, or subtract the "
        "rest of the particle before refining with it (relion_particle_subtract)",
    )


def misses_a_part(m: MaskMeasures) -> bool:
    """Whether the density a mask (not a focused one) leaves out is mostly one part or more of the particle (parts
    reaching past `part_reach_angstrom`, `split_outside`), not a margin all round."""
    parts = m.density_left_out_fraction
    return not m.focused and parts > DENSITY_OUTSIDE_MAX and parts >= LEFT_OUT_SHARE * m.density_outside_fraction


def left_out_part_reason(m: MaskMeasures, high: Tried) -> Reason:
    """The too-tight reason of a mask that misses a part of the particle and, grown all round until it takes that
    part in (by ``high``), reaches past the too-loose limit elsewhere: remake it, rather than grow it (a verdict
    look: grown as a conflict advised, a mask that missed a lobe lost 1.3 Å of resolution). Its numbers are what
    fails (`_what_fails`), not the whole too-tight test's words: with those it ran to 430 characters."""
    count = m.density_left_out_parts
    return Reason(
        "too tight",
        f"{_what_fails(m)}; it leaves out {count} part{'s' if count > 1 else ''} of the particle "
        f"({m.density_left_out_fraction:.1%} of the reliable density, reaching {m.density_left_out_reach_angstrom:.0f} "
        "Å past the mask)",
        "make the mask again so that it takes in the part it leaves out (from the map at a lower threshold, or a "
        f"larger shape), rather than grow it all round: grown until not too tight ({high.extend_px} px), it reaches "
        f"{high.measures.padding_angstrom:.1f} Å past the reliable density elsewhere; if it is a mask of part of the "
        "particle by design, check it as a focused mask",
    )


def _loose_words(m: MaskMeasures, limit: float) -> str:
    return (
        f"the mask reaches {m.padding_angstrom:.1f} Å past the reliable density (95th percentile; limit "
        f"{limit:.1f} Å); solvent fraction {m.solvent_fraction:.1%}"
    )


def _soft_too_tight_reason(m: MaskMeasures, low: Tried, limit: float, halves: HalfMaps, resizing: Resizing) -> Reason:
    """The conflict of a mask too loose and hard-edged whose every size tried with the advised edge is too tight: from
    the shrinks to the size that keeps its contour and the larger ones up to its core (`_least_not_tight`). No size
    to make: keep the mask as it is."""
    made = f" (from its 0.5 contour, extend by {low.extend_px} px)"
    return Reason(
        CONFLICT,
        f"the mask reaches {m.padding_angstrom:.1f} Å past the reliable density (limit {limit:.1f} Å), but softened as "
        f"advised below it is too tight at every size tried, from shrunk by {resizing.start_px - low.extend_px} px"
        f"{made} ({_what_fails(low.measures)}) to its 0.5 contour with the whole edge outside it (extend by 0 px)",
        f"keep the mask as it is, {accept_words(halves)}",
    )


def _shrunk_reason(
    m: MaskMeasures, low: Tried, high: Tried, limit: float, halves: HalfMaps, resizing: Resizing
) -> Reason:
    # softened, the size is counted from the contour less half the edge: its --extend named too
    made = f" (from its 0.5 contour, extend by {low.extend_px} px)" if resizing.hard else ""
    tighter = f"shrunk by {resizing.start_px - low.extend_px} px{made} it is too tight ({_what_fails(low.measures)})"
    shrink = resizing.resized_words(high.extend_px)
    if high.measures.padding_angstrom <= limit:
        return Reason("too loose", f"{_loose_words(m, limit)}; {tighter}", f"{shrink}, no further")
    if high.extend_px < resizing.start_px:
        stay = f"{shrink}, no further,"
    elif resizing.keeps_size(high.extend_px):
        stay = f"{resizing.kept_words(high.extend_px)} (any smaller is too tight)"
    else:  # softened at its size it is too tight (`_least_not_tight`)
        stay = f"{shrink} (softened at its size, it is too tight),"
    return Reason(
        CONFLICT,
        f"the mask reaches {m.padding_angstrom:.1f} Å past the reliable density (limit {limit:.1f} Å), but {tighter}",
        f"{stay} {accept_words(halves)}",
    )
