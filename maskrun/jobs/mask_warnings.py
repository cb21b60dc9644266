"""Warnings about a job's masks themselves, for the run record whether or not a report is written."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np


def keeps_nothing_or_everything(mask: np.ndarray) -> str | None:
    """A sentence when the mask is all 0 or all 1, else None."""
    if mask.max() == 0:
        return "the mask keeps nothing: every pixel is replaced by the fill"
    if mask.min() == 1:
        return "the mask keeps everything: the output equals the input"
    return None


def mask_warnings(masks: Iterable[np.ndarray]) -> list[str]:
    """The warnings of a job's masks (one per box: shape, file or map), once each, for ``run.json``'s ``warnings``."""
    found = (keeps_nothing_or_everything(values) for values in masks)
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
