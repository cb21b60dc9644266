"""Warnings about a job's masks themselves, for the run record whether or not a report is written."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from maskrun.engine.expression_terms_kept import WHOLE_BOX
from maskrun.errors import all_or_nothing_does
from maskrun.geometry.masks import keeps_all_or_nothing, unit_of


def keeps_nothing_or_everything(mask: np.ndarray, warned: Iterable[str] = ()) -> str | None:
    """A sentence when the mask is all 0 or all 1, else None.

    None too for a whole-box mask that ``warned`` (planning's warnings) already explains: an
    expression's names the term that keeps every voxel and what to change in it.
    """
    keeps_all = keeps_all_or_nothing(mask)
    if keeps_all is None or (keeps_all and any(w.startswith(WHOLE_BOX) for w in warned)):
        return None
    return f"the mask keeps {'everything' if keeps_all else 'nothing'}: {all_or_nothing_does(keeps_all, unit_of(mask))}"


def mask_warnings(masks: Iterable[np.ndarray], warned: Iterable[str] = ()) -> list[str]:
    """The warnings of a job's masks (one per box: shape, file or map), once each, for ``run.json``'s ``warnings``;
    ``warned``: planning's, as `keeps_nothing_or_everything` takes them."""
    warned = list(warned)
    found = (keeps_nothing_or_everything(values, warned) for values in masks)
    return list(dict.fromkeys(w for w in found if w))


def check_warning(check: Mapping[str, Any]) -> str | None:
    """A sentence when a job's half-map check (``check.json`` or its gist) judged the mask not fine, else None.

    One line: the verdict, then each reason (worst first) with its measures and what to change,
    as the check's figure words them.
    """
    verdict = check.get("verdict")
    if verdict is None or verdict == "fine":
        return None
    reasons = [f"{r['verdict']}: {r['measured']} → {r['suggestion']}" for r in check.get("reasons") or []]
    found = "; ".join(reasons) if reasons else f"{verdict} (see check/check.json)"
    return f"the mask's check says {found}"
