"""Apply a mask to a chunk of images: ``out = m·input + (1 − m)·fill`` (SPEC section 4).

A chunk is a float32 array whose first axis runs over images (a particle stack) or over
z-slices of one volume; the mask covers the remaining axes, or the chunk's slab of a
volume. Work happens in place, so memory stays at one chunk.
"""

from __future__ import annotations

import numpy as np

from maskrun.masks import Mask
from maskrun.params import Compat, FillParams


def fill_values(images: np.ndarray, fill: FillParams) -> np.ndarray:
    """The fill value of every image, from the whole original image, in float64.

    Parameters
    ----------
    images
        Array ``(n, ...)``; statistics run over all axes but the first.
    fill
        The fill choice.

    Returns
    -------
    numpy.ndarray
        float64 array of shape ``(n,)``.
    """
    n = images.shape[0]
    if fill.with_ == "value":
        return np.full(n, fill.value, dtype=np.float64)
    flat = images.reshape(n, -1)
    if fill.with_ == "min":
        return flat.min(axis=1).astype(np.float64)
    if fill.with_ == "max":
        return flat.max(axis=1).astype(np.float64)
    return flat.mean(axis=1, dtype=np.float64)


def ignores_fill(mask: Mask, compat: Compat) -> bool:
    """Xmipp multiplies by continuous masks and ignores the fill; ``compat: xmipp`` copies that."""
    return compat == "xmipp" and not mask.binary


def apply_mask_inplace(chunk: np.ndarray, mask: Mask, fills: np.ndarray | None,
                       first_slice: int | None = None) -> None:
    """Mask a chunk in place: ``m · chunk + (1 − m) · fill``.

    Parameters
    ----------
    chunk
        float32 ``(n, ny, nx)``: n images of a stack, or, with ``first_slice``, the z-slices
        ``first_slice:first_slice + n`` of one volume.
    mask
        The mask of one image ``(ny, nx)`` or of the whole volume ``(nz, ny, nx)``.
    fills
        Per-image fill values ``(n,)`` for a stack chunk, a 1-element array for a volume
        slab, or ``None`` to multiply only (fill 0, or Xmipp's behaviour for soft masks).
        Binary masks substitute the fill and leave kept pixels untouched.
    """
    n = chunk.shape[0]
    if first_slice is None:
        values = mask.values
        per_row = fills.astype(np.float32).reshape(n, 1) if fills is not None else None
    else:
        values = mask.values[first_slice:first_slice + n]
        per_row = np.float32(fills[0]) if fills is not None else None
    if mask.binary:
        _substitute(chunk, mask, values, per_row, first_slice)
        return
    np.multiply(chunk, values, out=chunk)
    if per_row is None or not np.any(per_row):
        return
    outside = (1.0 - values).astype(np.float32)
    if first_slice is not None:
        chunk += outside * per_row
        return
    scratch = np.empty(values.shape, dtype=np.float32)
    for image, value in zip(chunk, per_row[:, 0]):
        np.multiply(outside, value, out=scratch)
        image += scratch


def _substitute(chunk, mask: Mask, values, per_row, first_slice) -> None:
    fill = np.float32(0) if per_row is None else per_row
    runs = mask.outside_runs if first_slice is None else None
    if runs is None:
        # a volume slab: where= has the chunk's own shape, which copyto handles fast
        np.copyto(chunk, fill if np.ndim(fill) == 0 else fill[:, :, None], where=values == 0)
        return
    rows = chunk.reshape(chunk.shape[0], -1, chunk.shape[-1])  # the same runs in every image
    for row, start, stop in runs.tolist():
        rows[:, row, start:stop] = fill
