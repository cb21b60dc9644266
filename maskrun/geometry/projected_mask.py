"""2D masks from projections of a 3D mask (docs/spec.md, "Projected masks").

A projection (`maskrun.geometry.projection`) holds path lengths through the 3D mask; a 2D
mask is made of it in one of two ways, each image on its own:

* ``scaled``: the projection divided by its own peak and clipped to [0, 1] (the slice's
  faint ringing below 0 becomes 0): a weight that follows the thickness of the masked
  region along each ray.
* ``support``: 1 where the projection is above ``threshold`` × its peak, then a raised-cosine
  edge ``0.5·(1 + cos(π·d/w))`` over the pixels within ``w = soft_edge_px`` of that support
  (`maskrun.config.shape_edges.edge_weight`, the same edge as the shapes').

An image whose projection has no positive value (the 3D mask is empty, or shifted out of
the box) gives an all-zero mask.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from maskrun.config.projection_params import ProjectionMode
from maskrun.config.shape_edges import edge_weight

BAND_WIDEST_EDGE_PX = 28  # from here on a distance transform is the quicker (at 256² they break even near 32 px)
CUT_FRACTION = 0.05  # a mask reaches the box edge where its edge pixels exceed this share of its peak


def masks_from_projections(
    projections: np.ndarray,
    mode: ProjectionMode,
    threshold: float = 0.05,
    soft_edge_px: float = 0.0,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """2D masks (float32, values in [0, 1]) from projections ``(n, ny, nx)``.

    Parameters
    ----------
    projections
        Projections of a 3D mask, one image per particle.
    mode
        ``"scaled"`` or ``"support"`` (see the module's docstring).
    threshold
        ``support``: the fraction of each image's peak above which a pixel is inside.
    soft_edge_px
        ``support``: the width of the raised-cosine edge outside the support, in px.
    out
        Where to put the masks: float32, the shape of ``projections`` (not the same array);
        a new array when None.

    Returns
    -------
    numpy.ndarray
        float32, the shape of ``projections``: ``out`` when given.
    """
    images = np.asarray(projections, dtype=np.float32)
    peaks = images.reshape(len(images), -1).max(axis=1) if images.size else np.zeros(0, np.float32)
    positive = peaks > 0
    masks = np.empty(images.shape, np.float32) if out is None else out
    if mode == "scaled":
        scale = np.where(positive, 1.0 / np.where(positive, peaks, 1.0), 0.0).astype(np.float32)
        np.multiply(images, scale[:, None, None], out=masks)
        np.clip(masks, 0.0, 1.0, out=masks)
        return masks
    from maskrun.geometry.projection_kernels import support_masks_into  # numba: only where masks are projected

    limits = np.where(positive, threshold * peaks, np.inf).astype(np.float32)
    banded = 0 < soft_edge_px < BAND_WIDEST_EDGE_PX
    reach = int(np.floor(soft_edge_px)) if banded else -1
    # the edge's weight at each squared distance a pixel within it can have (whole numbers on the grid)
    weights = edge_weight(np.sqrt(np.arange(int(soft_edge_px**2) + 1)), soft_edge_px) if banded else np.zeros(0)
    split: np.ndarray = support_masks_into(masks, images, limits, reach, weights)
    if soft_edge_px >= BAND_WIDEST_EDGE_PX:
        split = np.asarray(masks.any(axis=(1, 2)))
    for index in np.flatnonzero(split):
        _edges_by_transform(masks[index], masks[index] > 0, soft_edge_px)
    return masks


def _edges_by_transform(mask: np.ndarray, inside: np.ndarray, soft_edge_px: float) -> None:
    """Give one image's pixels near its support ``inside`` their edge weight, from a distance transform.

    It runs over the support's bounding box widened by the edge's width (exact there: the
    whole support lies inside); for supports whose rows hold several runs.
    """
    margin = int(np.ceil(soft_edge_px)) + 1
    ny, nx = inside.shape
    rows, columns = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    window = (_reach(rows, ny, margin), _reach(columns, nx, margin))
    mask[window] = edge_weight(ndimage.distance_transform_edt(~inside[window]), soft_edge_px)


def _reach(kept: np.ndarray, size: int, margin: int) -> slice:
    """The span of indices ``kept`` widened by ``margin`` on each side, within ``0..size``."""
    return slice(max(0, int(kept[0]) - margin), min(size, int(kept[-1]) + margin + 1))


def cut_by_box(masks: np.ndarray) -> np.ndarray:
    """Which masks ``(n, ny, nx)`` reach the edge of the box (a border pixel above `CUT_FRACTION` of the peak)."""
    values = np.asarray(masks)
    border = np.concatenate([values[:, 0, :], values[:, -1, :], values[:, :, 0], values[:, :, -1]], axis=1).max(axis=1)
    peaks = values.reshape(len(values), -1).max(axis=1)
    cut: np.ndarray = (peaks > 0) & (border > CUT_FRACTION * peaks)
    return cut
