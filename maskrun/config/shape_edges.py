"""Edge profiles: what turns a shape's distance into a mask weight (docs/spec.md, "Shapes").

A hard-edged shape gives, for every pixel, its distance ``d`` outside the shape's boundary
in pixels (exactly 0 inside). `edge_weight` turns it into a weight: 1 where ``d == 0``, and
with a soft edge of width ``w > 0`` the raised cosine ``0.5·(1 + cos(π·d/w))`` for
``0 < d < w``, 0 beyond. The same function serves every shape, so a soft edge means the
same thing on a sphere as on a box.
"""

from __future__ import annotations

import numpy as np

# An outside pixel's distance is never below this, so that rounding (sqrt(r²) − R == 0 for
# an r² just above R²) cannot turn it into an inside pixel, even once squared.
OUTSIDE_FLOOR = 1e-100


def raised_cosine_profile(r: np.ndarray, inner: float, outer: float) -> np.ndarray:
    """1 up to ``inner``, a half cosine down to 0 at ``outer``, 0 beyond.

    With ``inner == outer`` it is a hard edge that keeps ``r <= inner``.
    """
    if outer <= inner:
        return (r <= inner).astype(np.float64)
    with np.errstate(over="ignore"):  # an edge narrower than ~1e-300 px: t overflows to inf, clipped to 1
        t = np.clip((r - inner) / (outer - inner), 0.0, 1.0)
    return 0.5 * (1.0 + np.cos(np.pi * t))


def edge_weight(distance: np.ndarray, soft_edge: float) -> np.ndarray:
    """The weight (float64) of pixels at ``distance`` outside a boundary (0 inside).

    Parameters
    ----------
    distance
        Distance outside the boundary in pixels, exactly 0 for a pixel inside.
    soft_edge
        Width ``w`` of the raised-cosine fall-off in pixels; 0 is a hard edge.

    Returns
    -------
    numpy.ndarray
        1 where ``d == 0``; ``0.5·(1 + cos(π·d/w))`` for ``0 < d < w``; 0 where ``d >= w``
        (every ``d > 0`` for a hard edge).
    """
    if soft_edge <= 0:
        hard: np.ndarray = (distance == 0).astype(np.float64)
        return hard
    with np.errstate(over="ignore"):  # a soft edge of ~1e-300 px: as hard as 0
        t = np.clip(distance / soft_edge, 0.0, 1.0)
    weight: np.ndarray = 0.5 * (1.0 + np.cos(np.pi * t))
    return weight


def outside_by(excess: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """A distance outside a boundary: 0 where ``inside``, else ``excess`` (at least `OUTSIDE_FLOOR`).

    ``inside`` decides which pixels a hard edge keeps, with the exact comparisons the shape
    has always used (``r² <= R²``, say); ``excess`` only says how far out the others lie.
    """
    return np.where(inside, 0.0, np.maximum(excess, OUTSIDE_FLOOR))
