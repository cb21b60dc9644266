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


def apply_mask_inplace(
    chunk: np.ndarray,
    mask_values: np.ndarray,
    binary: bool,
    fills: np.ndarray | None,
) -> None:
    """Mask a chunk in place.

    Parameters
    ----------
    chunk
        float32 array ``(n, *mask_values.shape)`` or, for a volume slab, the same shape
        as ``mask_values``; overwritten with the result.
    mask_values
        Mask weights broadcastable against ``chunk``.
    binary
        Whether the mask holds only 0 and 1 (then kept pixels are left untouched).
    fills
        Per-image fill values ``(n,)`` for a stack chunk, a 1-element array for a volume
        slab, or ``None`` to multiply only (fill 0, or Xmipp's behaviour for soft masks).
    """
    if chunk.ndim == mask_values.ndim:
        per_image = fills.reshape((1,) * chunk.ndim) if fills is not None else None
    else:
        per_image = fills.reshape((-1,) + (1,) * mask_values.ndim) if fills is not None else None
    if binary:
        np.copyto(chunk, 0.0 if per_image is None else per_image.astype(np.float32),
                  where=mask_values == 0)
        return
    np.multiply(chunk, mask_values, out=chunk)
    if per_image is None or not np.any(per_image):
        return
    outside = (1.0 - mask_values).astype(np.float32)
    scratch = np.empty(mask_values.shape, dtype=np.float32)
    if chunk.ndim == mask_values.ndim:
        np.multiply(outside, np.float32(per_image.flat[0]), out=scratch)
        chunk += scratch
        return
    for image, value in zip(chunk, per_image.flat):
        np.multiply(outside, np.float32(value), out=scratch)
        image += scratch
