"""Masks from atomic models: atoms (positions in Å) → a mask on a map's grid; no file I/O.

The grid is the ``--like`` map's: a voxel with array index ``(k, j, i)`` has its centre at
``origin_zyx + (k, j, i) · step_zyx`` Å (docs/spec.md, "Masks from atomic models", says how
the origin is read from an MRC header). Two ways to make the binary mask:

* spheres: a voxel is 1 when its centre lies within R Å of an atom (``d ≤ R``, R per atom
  or one for all). Each atom marks the voxels of a small box around it (of half-width
  ``ceil(R / step) + 1`` voxels on each axis, clipped to the grid), in chunks of atoms, so the
  time grows with the number of atoms times the box, not with the grid.
* molmap: a sum of Gaussians, one per atom, weighted by its atomic number, of standard
  deviation ``σ = sigma_factor · resolution`` (UCSF ChimeraX's ``molmap``; its default
  ``sigmaFactor`` is 1/(π√2) ≈ 0.225), cut off at 5σ on each axis as ChimeraX does;
  scaled to a peak of 1 and thresholded at a fraction of the peak.

The extension, soft edge and inversion are those of map masks: the binary mask (or the
scaled molmap with its threshold) goes through `maskrun.geometry.map_mask.mask_from_map`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from maskrun.geometry.map_mask import MapMaskSteps, mask_from_map

MOLMAP_SIGMA_FACTOR = 1 / (math.pi * math.sqrt(2))  # ChimeraX molmap's default sigmaFactor, σ / resolution
MOLMAP_CUTOFF_SIGMAS = 5.0  # ChimeraX molmap's default cutoffRange, in σ
MOLMAP_THRESHOLD = 0.1  # default threshold of a molmap, as a fraction of its peak
_CHUNK_VALUES = 131_072  # atoms × box voxels handled at once: temporaries that stay in the CPU's cache (1 MB)
_MOLMAP_CHUNK_VALUES = 1_048_576  # the same for molmap, whose sums go through one bincount per chunk


def spheres_mask(
    atoms_zyx_angstrom: np.ndarray,
    radii_angstrom: float | np.ndarray,
    shape_zyx: Sequence[int],
    origin_zyx_angstrom: Sequence[float],
    step_zyx_angstrom: Sequence[float],
) -> np.ndarray:
    """Voxels whose centre lies within R Å of an atom (``d ≤ R``).

    Parameters
    ----------
    atoms_zyx_angstrom
        ``(n, 3)`` atom positions in Å, columns in the order of the array axes.
    radii_angstrom
        One radius for every atom, or one per atom (``(n,)``), in Å; > 0.
    shape_zyx
        The grid's shape ``(nz, ny, nx)``.
    origin_zyx_angstrom
        Position of the centre of voxel ``(0, 0, 0)``, in Å, per array axis.
    step_zyx_angstrom
        Voxel size per array axis, in Å; > 0.

    Returns
    -------
    numpy.ndarray
        bool, ``shape_zyx``.
    """
    atoms = np.asarray(atoms_zyx_angstrom, np.float64).reshape(-1, 3)
    radii = np.broadcast_to(np.asarray(radii_angstrom, np.float64), (len(atoms),))
    shape = tuple(int(n) for n in shape_zyx)
    origin = np.asarray(origin_zyx_angstrom, np.float64)
    step = np.asarray(step_zyx_angstrom, np.float64)
    if not len(atoms):
        return np.zeros(shape, bool)
    half = [math.ceil(float(radii.max()) / s) + 1 for s in step]  # the box each atom marks, per axis
    near = _near_the_grid(atoms, origin, step, shape, half)
    atoms, radii = atoms[near], radii[near]
    order = np.argsort(atoms[:, 0], kind="stable")  # chunks of atoms near each other write near each other
    atoms, radii = atoms[order], radii[order]
    windows = _Windows(shape, half)
    grid = np.zeros(math.prod(shape), bool)
    chunk = max(1, _CHUNK_VALUES // windows.size)
    for start in range(0, len(atoms), chunk):
        part, r = atoms[start : start + chunk], radii[start : start + chunk]
        first, centres = windows.place(part, origin, step)
        squared = [(centres[axis] - part[:, axis, None]) ** 2 for axis in range(3)]  # (atoms, window) per axis
        distance2 = squared[0][:, :, None, None] + squared[1][:, None, :, None] + squared[2][:, None, None, :]
        inside = distance2.reshape(len(part), -1) <= (r * r)[:, None]
        grid[windows.flat_indices(first)[inside]] = True
    return grid.reshape(shape)


def molmap_density(
    atoms_zyx_angstrom: np.ndarray,
    weights: np.ndarray,
    resolution_angstrom: float,
    shape_zyx: Sequence[int],
    origin_zyx_angstrom: Sequence[float],
    step_zyx_angstrom: Sequence[float],
    sigma_factor: float = MOLMAP_SIGMA_FACTOR,
) -> np.ndarray:
    """A sum of Gaussians ``w · exp(−d² / 2σ²)``, ``σ = sigma_factor · resolution``, cut off at 5σ per axis.

    Parameters
    ----------
    atoms_zyx_angstrom, shape_zyx, origin_zyx_angstrom, step_zyx_angstrom
        As `spheres_mask`.
    weights
        ``(n,)`` weight of each atom (ChimeraX: its atomic number).
    resolution_angstrom
        The resolution the map stands for, in Å.
    sigma_factor
        σ / resolution.

    Returns
    -------
    numpy.ndarray
        float64, ``shape_zyx``; not normalised (a threshold is taken relative to its peak).
    """
    atoms = np.asarray(atoms_zyx_angstrom, np.float64).reshape(-1, 3)
    weights = np.asarray(weights, np.float64)
    shape = tuple(int(n) for n in shape_zyx)
    origin = np.asarray(origin_zyx_angstrom, np.float64)
    step = np.asarray(step_zyx_angstrom, np.float64)
    sigma = sigma_factor * resolution_angstrom
    half = [math.ceil(MOLMAP_CUTOFF_SIGMAS * sigma / s) + 1 for s in step]
    near = _near_the_grid(atoms, origin, step, shape, half)
    atoms, weights = atoms[near], weights[near]
    order = np.argsort(atoms[:, 0], kind="stable")  # a chunk's sums then fall in one slab of the grid
    atoms, weights = atoms[order], weights[order]
    windows = _Windows(shape, half)
    total = np.zeros(math.prod(shape), np.float64)
    chunk = max(1, _MOLMAP_CHUNK_VALUES // windows.size)
    for start in range(0, len(atoms), chunk):
        part, w = atoms[start : start + chunk], weights[start : start + chunk]
        first, centres = windows.place(part, origin, step)
        factors = []
        for axis in range(3):  # separable: one factor per axis, zero beyond the cut-off
            delta = centres[axis] - part[:, axis, None]
            gaussian = np.exp(-(delta**2) / (2 * sigma**2))
            factors.append(np.where(np.abs(delta) <= MOLMAP_CUTOFF_SIGMAS * sigma, gaussian, 0))
        z_factor = (w[:, None] * factors[0])[:, :, None, None]
        values = z_factor * factors[1][:, None, :, None] * factors[2][:, None, None, :]
        index = windows.flat_indices(first).reshape(-1)
        low = int(index.min())
        sums = np.bincount(index - low, values.reshape(-1))
        total[low : low + sums.size] += sums
    return total.reshape(shape)


def finish_model_mask(
    binary_or_density: np.ndarray,
    threshold: float = 0.5,
    extend_px: float = 0.0,
    soft_edge_px: float = 0.0,
    invert: bool = False,
) -> np.ndarray:
    """Extend, soften and invert as map masks do (`maskrun.geometry.map_mask.mask_from_map`).

    ``binary_or_density``: a binary spheres mask (threshold 0.5), or a molmap scaled to a peak
    of 1 with the threshold as a fraction of it. Returns float32 in [0, 1].

    Raises
    ------
    FieldError
        ``threshold``, when it keeps nothing.
    """
    if not (extend_px or soft_edge_px):  # nothing for the distance transforms to do
        mask = np.asarray(binary_or_density >= threshold, np.float32)
        return np.subtract(1, mask, out=mask) if invert else mask
    steps = MapMaskSteps(threshold=threshold, extend_px=extend_px, soft_edge_px=soft_edge_px, invert=invert)
    return mask_from_map(np.asarray(binary_or_density, np.float32), steps)


def atoms_in_box(
    atoms_zyx_angstrom: np.ndarray,
    shape_zyx: Sequence[int],
    origin_zyx_angstrom: Sequence[float],
    step_zyx_angstrom: Sequence[float],
) -> np.ndarray:
    """Which atoms lie inside the box (the voxels' extent: centres ± half a voxel); bool ``(n,)``."""
    atoms = np.asarray(atoms_zyx_angstrom, np.float64).reshape(-1, 3)
    origin = np.asarray(origin_zyx_angstrom, np.float64)
    step = np.asarray(step_zyx_angstrom, np.float64)
    position = (atoms - origin) / step  # in voxels from the centre of voxel 0
    inside: np.ndarray = np.all((position >= -0.5) & (position <= np.asarray(shape_zyx) - 0.5), axis=1)
    return inside


def box_extent_text(
    shape_zyx: Sequence[int],
    origin_zyx_angstrom: Sequence[float],
    step_zyx: Sequence[float],
    axes_xyz: Sequence[int] = (2, 1, 0),
) -> str:
    """The box's extent in Å, ``x a…b, y …, z …`` (voxel centres ± half a voxel).

    ``axes_xyz`` names the spatial axis (0 = x) each array axis holds (``MapGrid.axes_xyz``):
    a map stored in another order is described along x, y, z all the same.
    """
    parts = []
    for name in range(3):
        axis = list(axes_xyz).index(name)  # the array axis that holds x (then y, z)
        low = origin_zyx_angstrom[axis] - 0.5 * step_zyx[axis]
        parts.append(f"{'xyz'[name]} {low:.4g}…{low + shape_zyx[axis] * step_zyx[axis]:.4g}")
    return ", ".join(parts)


def _near_the_grid(
    atoms: np.ndarray, origin: np.ndarray, step: np.ndarray, shape: Sequence[int], half: Sequence[int] | np.ndarray
) -> np.ndarray:
    """Atoms whose box (``half`` voxels around their nearest voxel) can reach the grid."""
    with np.errstate(invalid="ignore"):
        nearest = np.rint((atoms - origin) / step)
        near: np.ndarray = np.all(
            (nearest >= -np.array(half)) & (nearest <= np.array(shape) - 1 + np.array(half)), axis=1
        )
        return near


class _Windows:
    """The voxels each atom reaches, as a window of the grid per axis: ``2 · half + 1`` voxels centred on the atom's
    nearest voxel, shifted to lie inside the grid, and never longer than the grid's side.

    A window that stays inside the grid needs no padded grid around it, and one clipped to the
    grid's side costs at most the grid, however far an atom reaches (a molmap of 500 Å on a 64³
    map took (64 + 4 · 250)³ voxels). The voxels of a window beyond the atom's reach are left to
    the caller's distance test.
    """

    def __init__(self, shape: Sequence[int], half: Sequence[int]):
        self.shape = np.array(shape, np.int64)
        self.half = np.array(half, np.int64)
        self.length = np.minimum(2 * self.half + 1, self.shape)
        self.strides = np.array([shape[1] * shape[2], shape[2], 1], np.int64)
        self.offsets = [np.arange(n) for n in self.length]
        self.box_offsets = (
            self.offsets[0][:, None, None] * self.strides[0]
            + self.offsets[1][None, :, None] * self.strides[1]
            + self.offsets[2][None, None, :]
        ).reshape(-1)
        self.size = int(self.box_offsets.size)

    def place(self, atoms: np.ndarray, origin: np.ndarray, step: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each atom's window: its first voxel ``(atoms, 3)`` and, per axis, its voxels' centres ``(atoms, length)``."""
        nearest = np.rint((atoms - origin) / step).astype(np.int64)
        first = np.clip(nearest - self.half, 0, self.shape - self.length)
        index = [first[:, axis, None] + self.offsets[axis][None, :] for axis in range(3)]
        return first, [origin[axis] + index[axis] * step[axis] for axis in range(3)]

    def flat_indices(self, first: np.ndarray) -> np.ndarray:
        """The flat grid index of every voxel of each atom's window, ``(atoms, size)``."""
        index: np.ndarray = (first @ self.strides)[:, None] + self.box_offsets[None, :]
        return index
