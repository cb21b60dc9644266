"""A density map given where a mask belongs: told apart from a mask by its values, and refused in words that say so.

A mask's values outside [0, 1] were refused with a fix meant for a resampled mask's small
overshoot (clip them), and a half-map or a reference map, whose values are small (ref_model.mrc:
-0.00014 to 0.0011), fell within that overshoot: clipped to [0, 1] and used as a mask, a map is
wrong science. `looks_like_a_map` tells the two apart; `MapAsMask` is the refusal, whose fix the
front end completes with the command that makes a mask from the map (`MapAsMask.made_with`).
"""

from __future__ import annotations

import numpy as np

from maskrun.errors import UserError

PLATEAU_BAND = 0.1  # of the value range: a value this near the top is on the plateau
PLATEAU_SHARE_LEAST = 0.15  # of the values in the upper half of the range: a mask's plateau holds at least this
HOW_MADE = "maskrun make-mask (a threshold on the map, an extension and a soft edge)"  # the API's words: no options


def plateau_share(values: np.ndarray) -> float:
    """Of the values in the upper half of their range, the share within `PLATEAU_BAND` of the range of the top."""
    v = np.asarray(values, dtype=np.float32)
    low, high = float(v.min()), float(v.max())
    span = high - low
    if span <= 0:
        return 1.0
    upper = int(np.count_nonzero(v >= low + 0.5 * span))
    return int(np.count_nonzero(v >= high - PLATEAU_BAND * span)) / max(upper, 1)


def looks_like_a_map(values: np.ndarray) -> bool:
    """Whether values given as a mask are a density map's: no plateau at their top.

    A mask keeps its region at its top value (1, or its own scale's top: 255) with a soft edge
    about it, a thin shell: of the values in the upper half of its range, most lie within
    `PLATEAU_BAND` of the range of its top. A density map peaks instead: few values lie near its
    maximum. Measured: 0.53 to 0.96 on every mask at hand (make-mask from maps and shapes,
    6 to 12 px edges; a cubic-spline resampled one, -0.007 to 1.023: 0.72); 0.17 for a 2 px core
    under a 12 px raised-cosine edge (the edge is above 0.9 for a fifth of its width only); and
    0.006 to 0.067 on maps (ref_model.mrc, half-maps of it with noise, EMD-3197, a masked map:
    its solvent flat at 0 does not count, its top does). So a share below `PLATEAU_SHARE_LEAST`
    is a map's (a mask nearly all edge would read as one: a 1 px core under a 12 px edge, 0.13).

    The range alone cannot tell: a map's small values (ref_model.mrc's -0.00014 to 0.0011) lie
    within a resampled mask's overshoot of [0, 1], and a negative value may be either's. Ask
    only of values already outside [0, 1]: within it a Gaussian mask peaks as a map does.
    """
    return plateau_share(values) < PLATEAU_SHARE_LEAST


class MapAsMask(UserError):
    """A map given as a mask (`looks_like_a_map`, or the very file given as a half-map): refused, with how to make a
    mask from it, in words the front end completes with its command (`made_with`).

    Parameters
    ----------
    what
        What is wrong (``mask values run from … : this looks like a map, not a mask``).
    map_path
        The map a mask could be made from (the file given).
    fix
        The fix, before the command that makes the mask (``make a mask from it``).
    source, field
        As `UserError`'s.
    """

    def __init__(
        self,
        what: str,
        map_path: str,
        fix: str = "make a mask from it",
        *,
        source: str | None = None,
        field: str | None = None,
    ):
        self.what, self.map_path, self.fix = what, map_path, fix
        super().__init__(f"{what}: {fix} with {HOW_MADE}", source=source, field=field)

    def made_with(self, command: str) -> UserError:
        """The same refusal, its fix ending with the command that makes a mask from the map."""
        return UserError(f"{self.what}: {self.fix} with {command}", source=self.source, field=self.field)


def map_as_mask(low: float, high: float, path: str, field: str | None) -> MapAsMask:
    """The refusal of values from ``low`` to ``high`` that `looks_like_a_map` calls a map's, in file ``path``."""
    return MapAsMask(
        f"mask values run from {low:g} to {high:g}, outside [0, 1], with no plateau at their top as a mask has: this "
        "looks like a map, not a mask",
        path,
        source=path,
        field=field,
    )
