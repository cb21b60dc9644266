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

BAND_WIDEST_EDGE_PX = 13  # from here on a distance transform is the quicker (they break even near 16 px)
CUT_FRACTION = 0.05  # a mask reaches the box edge where its edge pixels exceed this share of its peak


def masks_from_projections(
    projections: np.ndarray, mode: ProjectionMode, threshold: float = 0.05, soft_edge_px: float = 0.0
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

    Returns
    -------
    numpy.ndarray
        float32, the shape of ``projections``.
    """
    images = np.asarray(projections, dtype=np.float32)
    peaks = images.reshape(len(images), -1).max(axis=1) if images.size else np.zeros(0, np.float32)
    positive = peaks > 0
    if mode == "scaled":
        scale = np.where(positive, 1.0 / np.where(positive, peaks, 1.0), 0.0).astype(np.float32)
        scaled: np.ndarray = np.clip(images * scale[:, None, None], 0.0, 1.0)
        return scaled
    limits = np.where(positive, threshold * peaks, np.inf).astype(np.float32)
    support = images > limits[:, None, None]
    masks = support.astype(np.float32)
    if soft_edge_px <= 0 or not support.any():
        return masks
    nx = support.shape[2]
    count = np.count_nonzero(support, axis=2)
    first = support.argmax(axis=2)
    last = nx - 1 - support[:, :, ::-1].argmax(axis=2)
    filled = count > 0
    one_run = (~filled | (count == last - first + 1)).all(axis=1)  # every row's support is one run of pixels
    one_run &= soft_edge_px < BAND_WIDEST_EDGE_PX
    if one_run.any():
        _edges_of_one_run_rows(masks, np.flatnonzero(one_run), first, last, filled, soft_edge_px)
    for index in np.flatnonzero(~one_run & filled.any(axis=1)):
        _edges_by_transform(masks[index], support[index], soft_edge_px)
    return masks


def _edges_of_one_run_rows(
    masks: np.ndarray, which: np.ndarray, first: np.ndarray, last: np.ndarray, filled: np.ndarray, soft_edge_px: float
) -> None:
    """Give the pixels near the support their edge weight in images ``which``, each row's support one run.

    Exact Euclidean distances, with no transform: a pixel within ``w`` of the support has
    its nearest support pixel within ``K = floor(w)`` rows, and in a row ``y'`` whose run is
    ``first..last`` the nearest is ``max(first − x, x − last, 0)`` columns away, so ``d² =
    min over |dy| ≤ K of dy² + that²``. Only the pixels that can be that near are visited:
    in each row, from ``K`` left of the leftmost run of the rows within ``K`` to ``K`` right of
    the rightmost, less the row's own run; a few thousand pixels an image at 256², where a
    distance transform of the support's window covers tens of thousands (three times the time).
    """
    count, ny, nx = len(which), masks.shape[1], masks.shape[2]
    reach = int(np.floor(soft_edge_px))
    far = 2 * (reach + 1) ** 2 + 1  # above any squared distance kept; from here the weight is 0
    small = nx + 4 * reach + 4 < np.iinfo(np.int16).max and far < np.iinfo(np.int16).max
    kind = np.int16 if small else np.int32
    # each image's rows with `reach` empty rows above and below: a shift by dy never leaves the image
    height = ny + 2 * reach
    nowhere_first, nowhere_last = nx + 2 * reach + 2, -2 * reach - 2  # an empty row's run: beyond reach
    starts = np.full((count, height), nowhere_first, kind)
    ends = np.full((count, height), nowhere_last, kind)
    rows = filled[which]
    starts[:, reach : reach + ny] = np.where(rows, first[which], nowhere_first)
    ends[:, reach : reach + ny] = np.where(rows, last[which], nowhere_last)
    low = np.maximum(ndimage.minimum_filter1d(starts, 2 * reach + 1, axis=1)[:, reach : reach + ny] - reach, 0)
    high = np.minimum(ndimage.maximum_filter1d(ends, 2 * reach + 1, axis=1)[:, reach : reach + ny] + reach, nx - 1)
    near = high >= low
    # each row's span low..high, less its own run: a piece left of the run and a piece right of it
    run_first = np.where(rows, first[which], high + 1)
    run_after = np.where(rows, last[which] + 1, high + 1)
    begin = np.concatenate([low[near], run_after[near]])
    length = np.maximum(np.concatenate([run_first[near], (high + 1)[near]]) - begin, 0)
    row = np.tile(np.flatnonzero(near), 2)  # (image, y) flattened, over `which`
    keep = length > 0
    begin, length, row = begin[keep], length[keep], row[keep]
    offset = np.cumsum(length) - length
    x = (np.arange(int(length.sum())) + np.repeat(begin - offset, length)).astype(kind)
    image, y = np.divmod(row, ny)
    padded_row = image * height + y + reach
    flat_starts, flat_ends = starts.ravel(), ends.ravel()
    squared = np.full(x.size, far, kind)
    cap = kind(reach + 1)
    for dy in range(-reach, reach + 1):
        across = np.repeat(flat_starts[padded_row + dy], length) - x
        np.maximum(across, x - np.repeat(flat_ends[padded_row + dy], length), out=across)
        np.clip(across, 0, cap, out=across)
        across *= across
        across += kind(dy * dy)
        np.minimum(squared, across, out=squared)
    flat = masks.reshape(len(masks), -1)
    flat[np.repeat(which[image], length), np.repeat(y * nx, length) + x] = edge_weight(
        np.sqrt(squared.astype(np.float64)), soft_edge_px
    )


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
