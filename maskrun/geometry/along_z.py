"""Whether an amount per z slice (density, a mask's sum) is about constant along z, as a helix's is.

One rule for what is said of a helix: a mask cropped along z leaves density beyond its ends
out by design only over such density (`maskrun.geometry.mask_verdict.left_out`), and a map
mask reaching the box's two z faces is told of the helical crop only when it is such a mask
(`maskrun.jobs.mask_warnings.edge_advice`). A helix's slices hold the same density turned; a
particle's, however long (an ellipsoid of σz 34 px in a 64 px box), holds less towards its
ends: about 0.64 of the middle's at the box's z faces, where a fibril's holds 0.96.
"""

from __future__ import annotations

import numpy as np

UNIFORM_SHARE = 0.8  # of the median slice: the least every slice judged holds along a helix


def uniform_along_z(per_slice: np.ndarray, first: int = 0, last: int | None = None) -> bool:
    """Whether every slice outside ``first``..``last`` holds at least `UNIFORM_SHARE` of the median slice between.

    Parameters
    ----------
    per_slice
        The amount in each z slice, in order.
    first, last
        The slices the median is taken over (``last`` included; the last slice by default).
        When they span every slice, every slice is judged against their median.

    Returns
    -------
    bool
        False when the median is 0.
    """
    amounts = np.asarray(per_slice, dtype=np.float64)
    end = amounts.size - 1 if last is None else last
    reference = float(np.median(amounts[first : end + 1]))
    judged = np.concatenate([amounts[:first], amounts[end + 1 :]])
    if judged.size == 0:
        judged = amounts
    return reference > 0 and bool(judged.min() >= UNIFORM_SHARE * reference)
