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


def combine_terms(term: Term, leaf: LeafValues, shape: tuple[int, ...], where: str = "") -> np.ndarray:
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

    Returns
    -------
    numpy.ndarray
        bool, ``shape``; a new array.
    """
    if term.kind != "group":
        return np.array(leaf(where, term), dtype=bool, copy=True)
    path = f"{where}." if where else ""
    result = np.ones(shape, bool)
    for index, part in enumerate(term.all_of):
        result &= combine_terms(part, leaf, shape, f"{path}all_of.{index}")
    if term.any_of:
        union = np.zeros(shape, bool)
        for index, part in enumerate(term.any_of):
            union |= combine_terms(part, leaf, shape, f"{path}any_of.{index}")
        result &= union
    for index, part in enumerate(term.none_of):
        result &= ~combine_terms(part, leaf, shape, f"{path}none_of.{index}")
    return result


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
