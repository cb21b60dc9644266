"""Half-map pairs for the FSC tests: a few low-passed Gaussian blobs plus independent noise, and masks."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def phantom_halves(
    box: int,
    seed: int = 0,
    blobs: int = 6,
    noise: float = 0.6,
    blob_sigma_px: float = 2.5,
    centres: list[tuple[float, float, float]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two half-maps (float32, z y x) and the noise-free phantom: blobs within the central third of the box, or at
    ``centres`` (z, y, x voxels from the box's centre)."""
    rng = np.random.default_rng(seed)
    grid = np.indices((box,) * 3, dtype=np.float32) - box / 2
    signal = np.zeros((box,) * 3, np.float32)
    for index in range(blobs if centres is None else len(centres)):
        centre = rng.uniform(-box / 7, box / 7, 3) if centres is None else np.asarray(centres[index])
        r2 = sum((grid[i] - centre[i]) ** 2 for i in range(3))
        signal += np.exp(-r2 / (2 * blob_sigma_px**2)).astype(np.float32)
    # a fine texture inside the blobs gives signal out to high resolution, as a molecule's atoms do
    texture = ndimage.gaussian_filter(rng.normal(0, 1, signal.shape), 0.8).astype(np.float32)
    signal = signal * (1 + 1.5 * texture)
    scale = float(signal.std())
    halves = []
    for _ in range(2):
        n = ndimage.gaussian_filter(rng.normal(0, 1, signal.shape), 0.7).astype(np.float32)
        halves.append((signal + noise * scale / n.std() * n).astype(np.float32))
    return halves[0], halves[1], signal


def soft_mask(signal: np.ndarray, level: float, extend_px: float, edge_px: float) -> np.ndarray:
    """The phantom above ``level`` × its peak, grown by ``extend_px``, with a raised-cosine edge of ``edge_px``."""
    core = ndimage.gaussian_filter(signal, 1.5) >= level * float(ndimage.gaussian_filter(signal, 1.5).max())
    distance = ndimage.distance_transform_edt(~core)
    region = distance <= extend_px
    if edge_px <= 0:
        return region.astype(np.float32)
    d = ndimage.distance_transform_edt(~region)
    mask = np.where(region, 1.0, np.where(d < edge_px, 0.5 + 0.5 * np.cos(np.pi * d / edge_px), 0.0))
    return mask.astype(np.float32)


def low_resolution_halves(
    density: np.ndarray, voxel_size: float, cut_angstrom: float, noise: float, box: int = 64, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half-maps of a map whose signal ends at ``cut_angstrom`` (a hard low-pass), plus white noise, and the signal.

    As a RELION user made them from ``ref_model.mrc`` to try check-mask at 44 Å: ``density``'s
    central ``box``³ (the particle fits in 64³), cut off in Fourier space at ``cut_angstrom``,
    plus independent white noise ``noise`` × the signal's standard deviation in each half.
    """
    start = [(size - box) // 2 for size in density.shape]
    signal = np.ascontiguousarray(density[tuple(slice(s, s + box) for s in start)], dtype=np.float32)
    k = np.fft.fftfreq(box, 1 / box)
    radius2 = k[:, None, None] ** 2 + k[None, :, None] ** 2 + np.arange(box // 2 + 1)[None, None, :] ** 2
    kept = radius2 < (box * voxel_size / cut_angstrom) ** 2
    signal = np.fft.irfftn(np.fft.rfftn(signal) * kept, signal.shape, axes=(0, 1, 2)).astype(np.float32)
    rng = np.random.default_rng(seed)
    scale = noise * float(signal.std())
    h1, h2 = (signal + rng.normal(0, scale, signal.shape).astype(np.float32) for _ in range(2))
    return h1, h2, signal
