"""Whether a mask's kept region is cut by the box edge: the one rule for a shape, a job's mask and a report.

A mask reaching the box's faces above `EDGE_SHARE` of its peak has an edge the box cuts off:
the region it was meant to keep goes on outside the data. Less than that there is a tail
(a gaussian is nowhere 0), not a cut.
"""

from __future__ import annotations

import numpy as np

EDGE_SHARE = 0.05  # of a mask's peak: less at the box edge is a tail, not a cut (as for projected masks)
SHRINK_OR_MOVE = "make it smaller or move its centre"
ALONG_Z = "it reaches only the box's two z faces"


def touches_the_box_edge(mask: np.ndarray, inverted: bool = False, advice: str = SHRINK_OR_MOVE) -> str | None:
    """A mask whose kept part reaches the box edge (above `EDGE_SHARE` of its peak there): an edge cut by the box.

    The one rule a mask is judged by: a shape as it is built (`maskrun.geometry.masks`), a
    job's mask when the job is planned (`maskrun validate` says it, as `maskrun run` does), a
    report's. The sentence ends with ``advice``: a shape's by default, the mask source's own
    for a job.

    An inverted mask keeps the box's edge by design. A mask that merely tails off there (a
    gaussian is nowhere 0) is not cut: it was warned of at 7e-7, beside a tight-mask warning
    asking to widen it. (A mask keeping most of the box used to be taken for inverted and
    never warned of: a map mask 1 on the box's faces said nothing.) A mask keeping the whole
    box touches every edge: the warning that it keeps everything says enough.
    """
    peak = float(mask.max())
    if inverted or peak <= 0 or mask.min() >= 1:
        return None
    border = max(face_peaks(mask))
    if border > EDGE_SHARE * peak:
        return (
            f"the mask's kept region touches the box edge (up to {border:.2g} there): its edge is cut by the box; "
            f"{advice}"
        )
    return None


def z_faces_only(mask: np.ndarray) -> int:
    """How many of the box's two z faces a 3D mask's kept part reaches (above `EDGE_SHARE` of its peak) when it
    reaches no other face; 0 when it does, or reaches none, or is 2D. Two: a density running along z through the
    box, as a helix's or a full-height cylinder's does."""
    if mask.ndim != 3:
        return 0
    limit = EDGE_SHARE * float(mask.max())
    z_low, z_high, *others = face_peaks(mask)
    return 0 if max(others) > limit else int(z_low > limit) + int(z_high > limit)


def face_peaks(mask: np.ndarray) -> list[float]:
    """The largest value on each face of the box, the first axis's two faces first (z's, in a 3D mask)."""
    return [float(np.moveaxis(mask, axis, 0)[end].max()) for axis in range(mask.ndim) for end in (0, -1)]
