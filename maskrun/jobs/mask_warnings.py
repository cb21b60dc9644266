"""Warnings about a job's masks themselves, for the run record whether or not a report is written."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

import numpy as np

from maskrun.errors import all_or_nothing_does
from maskrun.geometry.masks import keeps_all_or_nothing, unit_of


def keeps_nothing_or_everything(mask: np.ndarray, said: Collection[bool] = ()) -> str | None:
    """A sentence when the mask is all 0 or all 1, else None.

    None too when planning's warnings ``said`` it already (`JobPlan.kept_all_or_nothing_said`:
    True for everything, False for nothing), in their own words: a shape's or map's names the
    mask and what to change, an expression's the term that keeps every voxel.
    """
    keeps_all = keeps_all_or_nothing(mask)
    if keeps_all is None or keeps_all in said:
        return None
    return f"the mask keeps {'everything' if keeps_all else 'nothing'}: {all_or_nothing_does(keeps_all, unit_of(mask))}"


def mask_warnings(masks: Iterable[np.ndarray], said: Collection[bool] = ()) -> list[str]:
    """The warnings of a job's masks (one per box: shape, file or map), once each, for ``run.json``'s ``warnings``;
    ``said``: what planning said they keep, as `keeps_nothing_or_everything` takes it."""
    found = (keeps_nothing_or_everything(values, said) for values in masks)
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
