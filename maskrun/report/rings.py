"""Rings about the box centre: a mask's or an image's radial profile, which the report draws and its checks judge.

Kept apart from the figures (matplotlib), so that the checks, which ``validate`` and the
start of ``run`` make too, do not import a plotting library.
"""

from __future__ import annotations

import numpy as np


def radial_profile(values: np.ndarray, centre_shift_xyz: tuple[float, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``values`` in rings of 1 px around the box centre (``N // 2`` on every axis): radii and means."""
    rings = ring_index(values.shape, centre_shift_xyz)
    flat = values.astype(np.float64).ravel()
    finite = np.isfinite(flat)
    sums = np.bincount(rings[finite], weights=flat[finite])
    counts = np.bincount(rings[finite])
    radii = np.arange(len(sums))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    keep = counts > 0
    return radii[keep], means[keep]


def ring_sizes(values: np.ndarray) -> np.ndarray:
    """How many pixels each ring of ``radial_profile(values)`` averages (its finite ones; fewer in the corners)."""
    counts = np.bincount(ring_index(values.shape)[np.isfinite(values).ravel()])
    return counts[counts > 0]


def ring_index(shape: tuple[int, ...], centre_shift_xyz: tuple[float, ...] = ()) -> np.ndarray:
    """Each pixel's ring (its distance from the box centre, moved by ``centre_shift_xyz``, rounded), flattened."""
    grids = np.indices(shape, dtype=np.float64)
    shift = list(centre_shift_xyz)[::-1] or [0.0] * len(shape)
    r2 = sum((g - n // 2 - s) ** 2 for g, n, s in zip(grids, shape, shift))
    rings: np.ndarray = np.floor(np.sqrt(r2) + 0.5).astype(int).ravel()
    return rings
