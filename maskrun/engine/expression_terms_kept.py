"""An expression's terms that keep every voxel of the box, or none, in words: which term, what it did, what to change.

A term's own mask keeping everything is no mask's output "equal to the input": the expression
combines it with its other terms. What is said is what it does there: the whole mask keeps
the box (the output then equals the input) because of it; or it changes nothing (an
``all_of`` term keeping every voxel), adds nothing (an ``any_of`` term keeping none), removes
nothing (a ``none_of`` term keeping none).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from maskrun.config.expression_params import ExpressionParams, Term
from maskrun.config.threshold import threshold_rule
from maskrun.errors import MaskrunWarning, WholeBoxWarning, all_or_nothing_does

WHOLE_BOX = "the mask keeps the whole box"  # how the sentence for a whole-box expression mask begins
_EFFECT = {  # (the group a term is in, whether it keeps every voxel) -> what that does to the group
    ("all_of", True): "so it changes nothing",
    ("all_of", False): "so its all_of keeps nothing",
    ("any_of", True): "so its any_of keeps every voxel",
    ("any_of", False): "so it adds nothing",
    ("none_of", True): "so it removes every voxel",
    ("none_of", False): "so it removes nothing",
}


@dataclass(frozen=True)
class KeptAllOrNothing:
    """A leaf term whose binary mask keeps every voxel (``every``) or none, and what would change that."""

    term: Term
    every: bool
    fix: str


def term_fix(term: Term, every: bool) -> str:
    """What to change in a term that keeps every voxel (``every``) or none, when its own warning did not say."""
    if term.map is not None:
        return f"{'raise' if every else 'lower'} its threshold ({threshold_rule(term.map.threshold).text})"
    if term.model is not None:
        return "make its radius or extend smaller" if every else "make its radius larger or its extend less negative"
    if term.geometry is not None:
        larger = "make it larger, or move its centre into the box"
        return "make it smaller than the box" if every != term.geometry.invert else larger
    assert term.file is not None
    return f"check {term.file.name}: {'every' if every else 'no'} voxel of it is at 0.5 or above"


def kept_all_or_nothing_sentences(
    params: ExpressionParams,
    found: dict[str, KeptAllOrNothing],
    binary: np.ndarray,
    values: np.ndarray,
    label: Callable[[str], str],
) -> list[MaskrunWarning]:
    """The warnings about ``found`` (by key path, ``all_of.0``) and a whole-box mask (a `WholeBoxWarning`), one
    sentence each.

    Parameters
    ----------
    params
        The expression.
    found
        Its leaves whose mask keeps every voxel or none.
    binary, values
        The terms' combination, and the mask once extended and softened.
    label
        Writes a key path under ``mask`` as the user wrote it.
    """

    def named(key: str) -> str:
        return f"{label(f'expression.{key}')} ({found[key].term.describe()})"

    said: list[MaskrunWarning] = []
    if values.min() >= 1:
        every = [key for key, kept in found.items() if kept.every]
        if every and len(list(params.leaves(""))) == 1:
            cause = f"its one term, {named(every[0])}, keeps every voxel; {found[every[0]].fix}"
        elif every:
            cause = "; ".join(f"{named(key)} keeps every voxel; {found[key].fix}" for key in every)
        elif binary.all():
            cause = "its terms together keep every voxel; tighten them (their thresholds, radii, shapes)"
        else:
            cause = (
                f"{label('expression.extend_px')} ({params.extend_px:g} px) grows the {binary.mean():.1%} of the box "
                "its terms keep over all of it; make it smaller"
            )
        said.append(WholeBoxWarning(f"{WHOLE_BOX}, so {all_or_nothing_does(True)}: {cause}"))  # applied, as it is
        found = {key: kept for key, kept in found.items() if not kept.every}
    for key, kept in found.items():
        group = key.split(".")[-2]
        effect = _EFFECT[group, kept.every]
        words = f"{named(key)} keeps {'every' if kept.every else 'no'} voxel of the box, {effect}; {kept.fix}"
        said.append(MaskrunWarning(words))
    return said
