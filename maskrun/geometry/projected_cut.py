"""The warning that the box cuts the particles' projected masks: one rule and one sentence (docs/spec.md,
"Projected masks").

A projected mask reaches the box edge where its border rises above `CUT_FRACTION` of its peak
(`maskrun.geometry.projected_mask.cut_by_box`); when more than `CUT_SHARE` of the particles'
masks do, the box cuts the region the 3D mask keeps. A job's report and run record say it of
a sample of its particles (`maskrun.report.projected`), ``maskrun project-mask`` of every mask
it writes, in the same words.
"""

from __future__ import annotations

import numpy as np

CUT_SHARE = 0.03  # warn when more than this share of the particles' masks reach the box edge
OFF_CENTRE = 0.1  # of the box: cut particles whose recorded centres lie this far off (median) want re-centring
# (less is the usual scatter of refined origins: 3 px at 64 px said "re-extract them re-centred")


def checked_said(checked: int, count: int) -> str:
    """How many particles a share is of: ``all particles``, or ``1000 particles checked`` of a sample."""
    return f"{checked} particle{'s' * (checked != 1)} checked" if checked < count else "all particles"


def projected_cut_warning(
    cut: np.ndarray, origin_x_px: np.ndarray, origin_y_px: np.ndarray, box_nx: int, count: int
) -> str | None:
    """The warning when more than `CUT_SHARE` of the particles' projected masks reach the box edge, else None.

    Parameters
    ----------
    cut
        Whether each checked particle's mask reaches the box edge (`cut_by_box`).
    origin_x_px, origin_y_px
        Those particles' origins (RELION's, in px).
    box_nx
        The particles' box width (px).
    count
        The particles in all (more than ``len(cut)`` when a sample was checked).

    The advice: re-centring, when the cut particles' recorded centres lie a median
    `OFF_CENTRE` of the box or more from its centre; else a tighter 3D mask or a larger box.
    """
    share = float(cut.mean()) if len(cut) else 0.0
    if share <= CUT_SHARE:
        return None
    found = (
        f"{share:.0%} of the particles' projected masks reach the box edge ({checked_said(len(cut), count)}): the box "
        "cuts them; "
    )
    off = float(np.median(np.hypot(origin_x_px[cut], origin_y_px[cut])))
    if off >= OFF_CENTRE * box_nx:  # the particles sit off-centre: re-centring is the cure
        return found + (
            f"their recorded centres lie a median {off:.0f} px from the box centre: re-extract them re-centred "
            "on those centres (RELION: Extract, re-center refined coordinates), or use a tighter 3D mask"
        )
    return found + "use a tighter 3D mask, or re-extract the particles in a larger box"
