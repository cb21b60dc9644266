"""Masking with one mask per image: ``out = m·x + (1 − m)·fill`` where each image has its own ``m``.

The per-image path of projected masks and of shapes that follow each particle
(`maskrun.engine.projected_masks`, `maskrun.engine.following_masks`); the shared-mask path
(`maskrun.engine.apply`) is left as it is.
"""

from __future__ import annotations

import numpy as np

from maskrun.config.fill import FillParams
from maskrun.engine.apply import fill_values
from maskrun.geometry.masks import Mask


def apply_each(
    source: np.ndarray, out: np.ndarray, masks: np.ndarray, fill: FillParams | None, first_index: int
) -> np.ndarray:
    """``out = m·source + (1 − m)·fill`` with one mask ``m`` per image; fills from each whole original image.

    A pixel the mask drops (m = 0) whose input is NaN or ±inf gets the fill, as with a
    shared mask.
    """
    fills: np.ndarray | None = None
    if fill is not None:
        if fill.with_ in ("background", "noise"):  # statistics outside each image's own mask
            fills = np.concatenate(
                [
                    fill_values(source[i : i + 1], fill, Mask.from_values(masks[i]), first_index + i)
                    for i in range(len(source))
                ]
            )
        else:
            fills = fill_values(source, fill, None, first_index)
    with np.errstate(invalid="ignore"):
        np.multiply(source, masks, out=out)
    if fills is not None:
        weight = fills.astype(np.float32)
        weight = weight if weight.ndim > 1 else weight.reshape(-1, 1, 1)
        out += weight * (1 - masks)
    if not np.isfinite(np.add.reduce(out, axis=None)):
        dropped = (masks == 0) & ~np.isfinite(out)
        replacement = np.zeros(out.shape, np.float32) if fills is None else np.broadcast_to(weight, out.shape)
        out[dropped] = replacement[dropped]
    return out
