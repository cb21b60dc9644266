"""The fills RELION and EMAN2 users expect: the background's own mean, and noise of the background's mean and σ.

``background``: each image's (1 − m)-weighted mean, the value RELION's particle masking uses
where it says "zeros". ``noise``: white Gaussian noise (each pixel drawn on its own) with the
mean and standard deviation of the image's pixels outside the mask (m = 0): not the
background's texture, which is often correlated pixel to pixel (docs/spec.md, Fills). Noise
is drawn per image from a generator seeded with the job's seed and the image's position in
the input set (for a map, its position in the set and the z-slice), so the bytes never
depend on batch size, workers or threads.
Non-finite pixels are left out of both statistics.
"""

from __future__ import annotations

import numpy as np

from maskrun.io.header_stats import RunningStats


def background_means(images: np.ndarray, mask_values: np.ndarray) -> np.ndarray:
    """``Σ(1 − m)·x / Σ(1 − m)`` of each image ``(n, ...)`` over its finite pixels (0 where no weight is left)."""
    weights = (1.0 - mask_values.astype(np.float64)).reshape(-1)
    flat = images.reshape(images.shape[0], -1)
    means = np.empty(len(flat))
    for i, row in enumerate(flat):
        finite = np.isfinite(row)
        w = weights if finite.all() else weights * finite
        total = w.sum()
        means[i] = float(np.dot(np.where(finite, row, 0).astype(np.float64), w) / total) if total > 0 else 0.0
    return means


def outside_statistics(images: np.ndarray, mask_values: np.ndarray) -> np.ndarray:
    """Mean and standard deviation ``(n, 2)`` of every image's finite pixels where m = 0 (0, 0 if none)."""
    outside = mask_values.reshape(-1) == 0
    flat = images.reshape(images.shape[0], -1)
    result = np.zeros((len(flat), 2))
    for i, row in enumerate(flat):
        values = row[outside].astype(np.float64)
        values = values[np.isfinite(values)]
        if values.size:
            result[i] = values.mean(), values.std()
    return result


def noise_images(statistics: np.ndarray, shape: tuple[int, ...], seed: int, positions: np.ndarray) -> np.ndarray:
    """float32 Gaussian noise ``(n, *shape)``: image k from ``statistics[k]``, seeded by ``(seed, positions[k])``."""
    return np.array(
        [_gaussian(shape, mean, std, [seed, int(position)]) for (mean, std), position in zip(statistics, positions)],
        dtype=np.float32,
    ).reshape(-1, *shape)


def noise_slab(
    mean: float, std: float, shape_yx: tuple[int, ...], seed: int, map_position: int, slices: range
) -> np.ndarray:
    """float32 noise for z-slices ``slices`` of one map, each slice seeded by ``(seed, map, z)``."""
    return np.array(
        [_gaussian(shape_yx, mean, std, [seed, map_position, z]) for z in slices], dtype=np.float32
    ).reshape(-1, *shape_yx)


def _gaussian(shape: tuple[int, ...], mean: float, std: float, key: list[int]) -> np.ndarray:
    """float32 N(mean, std) of ``shape`` from a generator seeded by ``key`` (the same bytes wherever drawn)."""
    return np.random.default_rng(key).standard_normal(shape, dtype=np.float32) * np.float32(std) + np.float32(mean)


class VolumeBackground:
    """The background statistics of a whole volume, gathered slab by slab (a first pass)."""

    def __init__(self) -> None:
        self.weighted_sum = 0.0
        self.weight = 0.0
        self.outside = RunningStats()

    def add(self, slab: np.ndarray, mask_slab: np.ndarray) -> None:
        finite = np.isfinite(slab)
        weights = (1.0 - mask_slab.astype(np.float64)) * finite
        self.weighted_sum += float(np.dot(np.where(finite, slab, 0).astype(np.float64).ravel(), weights.ravel()))
        self.weight += float(weights.sum())
        self.outside.add(np.ascontiguousarray(slab[mask_slab == 0], dtype=np.float32))

    def mean(self) -> float:
        return self.weighted_sum / self.weight if self.weight > 0 else 0.0

    def outside_mean_std(self) -> tuple[float, float]:
        _, _, mean, std = self.outside.header_values()
        return mean, std
