"""Warnings about a job's masks themselves, for the run record whether or not a report is written."""

from __future__ import annotations

import numpy as np

from maskrun.jobs.plan import JobPlan, unit_mask


def keeps_nothing_or_everything(mask: np.ndarray) -> str | None:
    """A sentence when the mask is all 0 or all 1, else None."""
    if mask.max() == 0:
        return "the mask keeps nothing: every pixel is replaced by the fill"
    if mask.min() == 1:
        return "the mask keeps everything: the output equals the input"
    return None


def mask_warnings(plan: JobPlan) -> list[str]:
    """The warnings of every box's mask (shape, file or map), once each, for ``run.json``'s ``warnings``."""
    found = (keeps_nothing_or_everything(unit_mask(plan, unit)[0].values) for unit in plan.mask_outputs().values())
    return list(dict.fromkeys(w for w in found if w))
