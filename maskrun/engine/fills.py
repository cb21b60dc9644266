"""The fills, one entry each: how a fill is computed for the images of a stack and for a whole map.

A fill is registered once, in `FILLS`, beside its name and words in `maskrun.config.fill`
(`FILL_KINDS`; a test holds the two lists equal). Each `FillRule` gives

- ``images``: the fill of every image of a block, from the whole original images;
- ``gathers``: what a map's first pass collects, slab by slab: ``nothing`` (a value),
  ``values`` (`RunningStats`: min, max, mean) or ``background`` (`VolumeBackground`);
- ``volume``: the map's fill from what was gathered (1 value, or mean and σ for noise);
- ``slab``: for fills that differ pixel by pixel (noise), the fill of z-slices of a map.

A new fill is its `FillKind` in ``config/fill.py``, its name in ``FillChoice``, and its rule
here; the CLI's help, the example jobs' comments and the report's words follow from
`FILL_KINDS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from maskrun.config.fill import FillParams
from maskrun.engine.background_fills import (
    VolumeBackground,
    background_means,
    noise_images,
    noise_slab,
    outside_statistics,
)
from maskrun.geometry.masks import Mask
from maskrun.io.header_stats import RunningStats

ImageFill = Callable[[np.ndarray, FillParams, "Mask | None", int], np.ndarray]
VolumeFill = Callable[[RunningStats, VolumeBackground, FillParams], np.ndarray]
SlabFill = Callable[[np.ndarray, tuple[int, ...], FillParams, int, range], np.ndarray]


@dataclass(frozen=True)
class FillRule:
    """How one fill is computed (see the module's docstring)."""

    images: ImageFill
    volume: VolumeFill
    gathers: Literal["nothing", "values", "background"]
    slab: SlabFill | None = None

    @property
    def needs_mask(self) -> bool:
        """Whether the fill is taken relative to the mask (outside it)."""
        return self.gathers == "background"


def _value(images: np.ndarray, fill: FillParams, mask: Mask | None, first_index: int) -> np.ndarray:
    return np.full(images.shape[0], fill.value, dtype=np.float64)


def _statistic(name: Literal["min", "max", "avg"]) -> ImageFill:
    """Each image's own minimum, maximum or mean, over its finite pixels (0 if it has none).

    Means of float32 images are summed in float32 (pairwise, good to ~1e-7 relative: the
    precision of the float32 output they go into, at half the cost of float64), each image
    on its own, so a value does not depend on how images are grouped into blocks; integer
    images are summed exactly.
    """

    def fills(images: np.ndarray, fill: FillParams, mask: Mask | None, first_index: int) -> np.ndarray:
        flat = images.reshape(images.shape[0], -1)
        if name != "avg":
            reduce = np.minimum.reduce if name == "min" else np.maximum.reduce
            extreme = np.asarray(reduce(flat, axis=1), dtype=np.float64)
            return extreme if np.isfinite(extreme).all() else _over_finite_pixels(flat, extreme, name, np.float64)
        sum_dtype = np.float32 if flat.dtype == np.float32 else np.float64
        with np.errstate(invalid="ignore", over="ignore"):  # +inf and −inf sum to NaN: redone over the finite pixels
            means = np.add.reduce(flat, axis=1, dtype=sum_dtype).astype(np.float64) / flat.shape[1]
        return _over_finite_pixels(flat, means, name, sum_dtype)

    return fills


def _over_finite_pixels(flat: np.ndarray, fills: np.ndarray, name: str, sum_dtype: type) -> np.ndarray:
    """Recompute, over its finite pixels only, the fill of each image whose fill is not finite.

    Only images holding NaN or ±inf get here; an image with no finite pixel gets 0.
    """
    for i in np.flatnonzero(~np.isfinite(fills)):
        finite = flat[i][np.isfinite(flat[i])]
        if finite.size == 0:
            fills[i] = 0.0
        elif name == "min":
            fills[i] = float(np.minimum.reduce(finite))
        elif name == "max":
            fills[i] = float(np.maximum.reduce(finite))
        else:
            fills[i] = float(np.add.reduce(finite, dtype=sum_dtype)) / finite.size
    return fills


def _background(images: np.ndarray, fill: FillParams, mask: Mask | None, first_index: int) -> np.ndarray:
    assert mask is not None  # fill_values checks it
    return background_means(images, mask.values)


def _noise(images: np.ndarray, fill: FillParams, mask: Mask | None, first_index: int) -> np.ndarray:
    assert mask is not None
    positions = np.arange(first_index, first_index + images.shape[0])
    return noise_images(outside_statistics(images, mask.values), images.shape[1:], fill.seed, positions)


def _noise_slab(
    mean_std: np.ndarray, shape_yx: tuple[int, ...], fill: FillParams, map_position: int, slices: range
) -> np.ndarray:
    mean, std = mean_std
    return noise_slab(float(mean), float(std), shape_yx, fill.seed, map_position, slices)


def _map_statistic(index: int) -> VolumeFill:
    """The map's minimum (0), maximum (1) or mean (2), from its first pass."""
    return lambda stats, background, fill: np.array([stats.header_values()[index]])


FILLS: dict[str, FillRule] = {
    "value": FillRule(_value, lambda stats, background, fill: np.array([fill.value]), "nothing"),
    "min": FillRule(_statistic("min"), _map_statistic(0), "values"),
    "max": FillRule(_statistic("max"), _map_statistic(1), "values"),
    "avg": FillRule(_statistic("avg"), _map_statistic(2), "values"),
    "background": FillRule(_background, lambda stats, background, fill: np.array([background.mean()]), "background"),
    "noise": FillRule(
        _noise, lambda stats, background, fill: np.array(background.outside_mean_std()), "background", _noise_slab
    ),
}
