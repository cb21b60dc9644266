"""The report's summary: what was masked, with which mask and fill (px and Å), how long it took, how many warnings.

Read from the run record's job as resolved (every ``-1`` already a number of pixels), so the
summary states what the run did, not what the job file asked; the mask is worded as
``validate`` words it (`maskrun.jobs.plan.mask_lines`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from maskrun._version import __version__
from maskrun.config.fill import FILL_KINDS


def fill_text(fill: dict[str, Any]) -> str:
    """The fill in words."""
    kind = fill.get("with", "value")
    if kind == "value":
        return f"the value {fill.get('value', 0):g}"
    if kind == "noise":
        return f"{FILL_KINDS[kind].words} (seed {fill.get('seed', 0)})"
    return FILL_KINDS[kind].words if kind in FILL_KINDS else str(kind)


def duration(record: dict[str, Any]) -> str:
    """The run's wall time from its record's start and end, or ``"unknown"``."""
    try:
        seconds = (datetime.fromisoformat(record["end"]) - datetime.fromisoformat(record["start"])).total_seconds()
    except (KeyError, TypeError, ValueError):
        return "unknown"
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def summary_lines(record: dict[str, Any], what: str, masks: list[str], n_warnings: int, n_notes: int = 0) -> list[str]:
    """The lines at the top of the report; ``what`` counts the data with their box and pixel size (``"60 particles
    of 64 x 64 px in 3 stacks, 2 Å/px"``), ``masks`` says the mask (``Mask: ...``, or one line per box of maps)."""
    resolved = record.get("job_resolved", {})
    check = record.get("check")
    return [
        f"Masked: {what}",
        *masks,
        f"Fill: {fill_text(resolved.get('fill', {}))}",
        *([f"Check: {check_text(check)}"] if check else []),
        f"Time: {duration(record)} masking and gathering (the whole run also plans, and writes this report)",
        f"Warnings: {n_warnings}"
        + (f" (and {n_notes} note{'s' * (n_notes != 1)}, listed with them)" if n_notes else ""),
        f"Version: maskrun {record.get('versions', {}).get('maskrun') or __version__}",
    ]


def check_text(check: dict[str, Any]) -> str:
    """The half-map check of a run record (its gist) in words: verdict, resolution, and the search's answer if any."""
    from maskrun.geometry.fsc import RESOLUTION_FSC  # scipy: only for a job with a check, whose figure needs it too

    resolution = check.get("resolution_angstrom")
    words = f"{check.get('verdict', 'unknown')}, resolution {resolution:.2f} Å" if resolution else check.get("verdict")
    words = f"{words} (corrected FSC {RESOLUTION_FSC:g}, as relion_postprocess)"
    if "tightest_fine" not in check:
        return words
    best = check["tightest_fine"]
    if best is None and check.get("verdict") == "fine":
        return words + "; no mask the search tried is fine and tighter: keep this one"
    if best is None:  # its answer, if any: the tightest not too tight, or the verdict's mask
        words += "; no mask the search tried is fine"
        if "make_it" in check:
            make_it = check["make_it"]
            words += f"; the search's answer: make it with {make_it}, and give it to the job as mask.source: file"
        return words
    threshold = best.get("threshold", 0.5)  # the verdict's mask grows from the core (records of earlier versions: 0.5)
    contour = "the 0.5 contour" if threshold == 0.5 else f"the core (at least {threshold:g})"
    words += (
        f"; tightest fine mask from the search: extend {best['extend_px']:g} px, soft edge {best['soft_edge_px']:g} px "
        f"from {contour} of the mask applied, not from the job's mask settings (keeps "
        f"{best['kept_fraction']:.1%} of the box)"
    )
    if "make_it" in check:  # records of earlier versions lack it
        words += f"; make it with {check['make_it']}, and give it to the job as mask.source: file"
    if "search_note" in check:
        words += f" ({check['search_note']})"
    return words
