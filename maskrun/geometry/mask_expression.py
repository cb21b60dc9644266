"""Combine binary terms into one mask, then extend and soften it once (docs/spec.md, "Mask expressions").

A group keeps a voxel when it is in every term of ``all_of``, in at least one of ``any_of``
(when that list is given) and in none of ``none_of``. The result then goes through the steps
of a map mask (`maskrun.geometry.map_mask.mask_from_map`) as a binary map thresholded at 0.5:
the extension and the raised-cosine soft edge are RELION's, applied once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from maskrun.config.expression_params import Term
from maskrun.errors import FieldError
from maskrun.geometry.map_mask import MapMaskSteps, mask_from_map

LeafValues = Callable[[str, Term], np.ndarray]  # (key path, leaf term) -> its binary mask
KeyLabel = Callable[[str], str]  # a key path (``all_of.0``) as the message names it
LeafFix = Callable[[str, Term, bool], str | None]  # (key path, leaf, keeps every voxel) -> what to change in it
EMPTY = "the combined terms keep no voxel"


def combine_terms(
    term: Term,
    leaf: LeafValues,
    shape: tuple[int, ...],
    where: str = "",
    *,
    label: KeyLabel | None = None,
    fix: LeafFix | None = None,
) -> np.ndarray:
    """The binary mask of a term: a leaf's own (from ``leaf``), or a group's combination.

    Parameters
    ----------
    term
        A leaf, or a group with ``all_of``, ``any_of``, ``none_of``.
    leaf
        Makes a leaf's binary mask of ``shape``, given its key path (``all_of.0``) and itself.
    shape
        The box, in array order.
    where
        The key path of ``term`` (empty for the expression itself).
    label, fix
        For the message when the combination keeps no voxel: how to write a key path (None: as
        it is; a term is named with what it is, ``all_of.0 (map.mrc ≥ 0.5)``), and what to
        change in a leaf that keeps every voxel or none (None: no advice of its own).

    Returns
    -------
    numpy.ndarray
        bool, ``shape``; a new array.

    Raises
    ------
    FieldError
        ``expression``, when the combination keeps no voxel, naming the first term that empties it: one
        keeping no voxel itself, one with no voxel in common with the terms before it, a ``none_of`` term
        covering all they keep. Every term is still made first (their warnings and notes are said).
    """
    written = label or (lambda key: key)

    def name(key: str, part: Term | None = None) -> str:
        return f"{written(key)} ({part.describe()})" if part is not None else written(key)

    result, cause = _combined(term, leaf, shape, where, name, fix or (lambda key, term, every: None))
    if not result.any():
        raise FieldError("expression", f"{EMPTY}: {cause}" if cause else _EMPTY_ADVICE)
    return result


_EMPTY_ADVICE = f"{EMPTY}; check each term's threshold, and that the terms overlap where all_of needs them to"


def _combined(
    term: Term, leaf: LeafValues, shape: tuple[int, ...], where: str, name: Callable[..., str], fix: LeafFix
) -> tuple[np.ndarray, str | None]:
    """A term's binary mask, and why it keeps no voxel when it keeps none (None when it keeps some)."""
    if term.kind != "group":
        kept = np.array(leaf(where, term), dtype=bool, copy=True)
        return kept, None if kept.any() else _keeps(name(where, term), fix(where, term, False), "no")
    path = f"{where}." if where else ""
    result, cause = np.ones(shape, bool), None
    before: list[str] = []  # the terms combined so far, named
    for index, part in enumerate(term.all_of):
        key = f"{path}all_of.{index}"
        kept, why = _combined(part, leaf, shape, key, name, fix)
        if cause is None and result.any() and not (result & kept).any():
            cause = why or _apart(name(key, part), before)
        result &= kept
        before.append(name(key, part))
    if term.any_of:
        union, whys = np.zeros(shape, bool), []
        for index, part in enumerate(term.any_of):
            kept, why = _combined(part, leaf, shape, f"{path}any_of.{index}", name, fix)
            union |= kept
            whys.append(why)
        if cause is None and result.any() and not (result & union).any():
            if not union.any():
                cause = (
                    whys[0]
                    if len(whys) == 1
                    else f"no term of {name(f'{path}any_of')} keeps a voxel: {'; '.join(map(str, whys))}"
                )
            else:
                cause = _apart(f"{name(f'{path}any_of')} ({' or '.join(t.describe() for t in term.any_of)})", before)
        result &= union
        before.append(name(f"{path}any_of"))
    positive, removing = result.copy(), []  # what the terms before none_of keep; the none_of terms so far, named
    for index, part in enumerate(term.none_of):
        key = f"{path}none_of.{index}"
        kept, _ = _combined(part, leaf, shape, key, name, fix)
        removing.append(name(key, part))
        if cause is None and result.any() and not (result & ~kept).any():
            if kept.all():
                cause = _keeps(name(key, part), fix(key, part, True), "every", ", so it removes every voxel")
            elif not (positive & ~kept).any():
                cause = f"{name(key, part)} covers every voxel kept by {' and '.join(before)}; make it smaller"
            else:  # no one term does it: those removed so far do together
                together = f"{', '.join(removing[:-1])} and {removing[-1]}"
                cause = f"{together} together cover every voxel kept by {' and '.join(before)}; make them smaller"
        result &= ~kept
    return result, cause


def _keeps(named: str, fix: str | None, which: str, effect: str = "") -> str:
    """``all_of.0 (map.mrc ≥ 9) keeps no voxel; lower its threshold``."""
    return f"{named} keeps {which} voxel{effect}" + (f"; {fix}" if fix else "")


def _apart(named: str, before: list[str]) -> str:
    """A term with no voxel in common with those combined before it, and what to check."""
    return (
        f"{named} has no voxel in common with {' and '.join(before)}; check that they overlap (a shape's centre, "
        "a model's fit in the map)"
    )


def finish_expression(binary: np.ndarray, extend_px: float = 0.0, soft_edge_px: float = 0.0) -> np.ndarray:
    """Extend and soften the combined binary mask once, as ``mask.map`` does; float32 in [0, 1].

    Raises
    ------
    FieldError
        ``expression``, when the combination keeps no voxel; ``extend_px``, when a negative
        extension removes every voxel.
    """
    if not binary.any():
        raise FieldError(
            "expression",
            "the combined terms keep no voxel; check each term's threshold, and that the terms overlap "
            "where all_of needs them to",
        )
    if not (extend_px or soft_edge_px):
        return binary.astype(np.float32)
    steps = MapMaskSteps(threshold=0.5, extend_px=extend_px, soft_edge_px=soft_edge_px)
    values = mask_from_map(binary.astype(np.float32), steps)
    if not values.any():
        raise FieldError(
            "extend_px",
            f"shrinking by {-extend_px:g} px removes every voxel the terms keep; shrink less, or not at all",
        )
    return values
