"""The report's figures (matplotlib, Agg): particles before and after, map slices, the mask's radial profile.

Each function takes arrays and returns PNG bytes; none reads a file. Contrast is set by
percentiles (1 and 99) of the input shown, so that a few extreme pixels do not wash an
image out; the mask's 0.5 contour (solid) and its outer edge (where it reaches 0, dashed)
are drawn on the input.
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

MONTAGE_COLUMNS = 6  # pairs of (input, masked) per row: 12 panels
DPI = 100


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    plt.close(figure)
    return buffer.getvalue()


def _limits(image: np.ndarray) -> tuple[float, float]:
    finite = image[np.isfinite(image)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = np.percentile(finite, [1, 99])
    return float(low), float(high if high > low else low + 1)


def _contours(axes, mask: np.ndarray) -> None:
    if 0 < mask.min() < 1 or mask.min() < 0.5 < mask.max():
        axes.contour(mask, levels=[0.5], colors="#ffd21f", linewidths=0.8)
    if mask.min() == 0 and mask.max() > 0:
        axes.contour((mask > 0).astype(float), levels=[0.5], colors="#ff5a1f", linewidths=0.6, linestyles="dashed")


def montage(inputs: np.ndarray, outputs: np.ndarray, mask: np.ndarray, labels: list[str]) -> bytes:
    """Input and masked particles side by side, the mask's contours on the input; ``(n, ny, nx)`` arrays."""
    count = len(inputs)
    columns = min(MONTAGE_COLUMNS, count)
    rows = int(np.ceil(count / columns))
    figure, axes = plt.subplots(rows, 2 * columns, figsize=(2 * columns * 1.4, rows * 1.55), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for k in range(count):
        row, column = divmod(k, columns)
        low, high = _limits(inputs[k])
        left, right = axes[row, 2 * column], axes[row, 2 * column + 1]
        left.imshow(inputs[k], cmap="gray", vmin=low, vmax=high, origin="lower")
        _contours(left, mask)
        right.imshow(outputs[k], cmap="gray", vmin=low, vmax=high, origin="lower")
        left.set_title(labels[k], fontsize=6)
        right.set_title("masked", fontsize=6)
    figure.tight_layout(pad=0.3)
    return _png(figure)


def map_slices(volume: np.ndarray, masked: np.ndarray, mask: np.ndarray) -> bytes:
    """Central XY, XZ and YZ slices of the input (with the mask's contours) and the masked map, and MIPs."""
    nz, ny, nx = volume.shape
    cuts = [("XY", lambda a: a[nz // 2]), ("XZ", lambda a: a[:, ny // 2, :]), ("YZ", lambda a: a[:, :, nx // 2])]
    figure, axes = plt.subplots(3, 3, figsize=(7.5, 7.5), squeeze=False)
    for row, (name, cut) in enumerate(cuts):
        low, high = _limits(cut(volume))
        axes[row, 0].imshow(cut(volume), cmap="gray", vmin=low, vmax=high, origin="lower")
        _contours(axes[row, 0], cut(mask))
        axes[row, 0].set_title(f"input, central {name}", fontsize=8)
        axes[row, 1].imshow(cut(masked), cmap="gray", vmin=low, vmax=high, origin="lower")
        axes[row, 1].set_title(f"masked, central {name}", fontsize=8)
        projection = np.nanmax(masked, axis=row)
        axes[row, 2].imshow(projection, cmap="gray", origin="lower")
        axes[row, 2].set_title(f"masked, max projection along {'ZYX'[row]}", fontsize=8)
    for ax in axes.ravel():
        ax.axis("off")
    figure.tight_layout(pad=0.4)
    return _png(figure)


def radial_profile(values: np.ndarray, centre_shift_xyz: tuple[float, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``values`` in rings of 1 px around the box centre (``N // 2`` on every axis): radii and means."""
    grids = np.indices(values.shape, dtype=np.float64)
    shift = list(centre_shift_xyz)[::-1] or [0.0] * values.ndim
    r2 = sum((g - n // 2 - s) ** 2 for g, n, s in zip(grids, values.shape, shift))
    rings = np.floor(np.sqrt(r2) + 0.5).astype(int).ravel()
    flat = values.astype(np.float64).ravel()
    finite = np.isfinite(flat)
    sums = np.bincount(rings[finite], weights=flat[finite])
    counts = np.bincount(rings[finite])
    radii = np.arange(len(sums))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    keep = counts > 0
    return radii[keep], means[keep]


def profile_plot(
    mask_radii: np.ndarray,
    mask_values: np.ndarray,
    pixel_size: float,
    signal: tuple[np.ndarray, np.ndarray] | None = None,
) -> bytes:
    """The mask's radial profile (px, and Å on a second axis when the pixel size is known), and the signal's."""
    figure, axes = plt.subplots(figsize=(6.4, 3.4))
    axes.plot(mask_radii, mask_values, color="#1f6feb", label="mask")
    axes.set_xlabel("radius (px)")
    axes.set_ylabel("mask value")
    axes.set_ylim(-0.05, 1.05)
    axes.axhline(0.5, color="#999999", linewidth=0.5, linestyle=":")
    if signal is not None:
        radii, mean = signal
        span = np.nanmax(mean) - np.nanmin(mean)
        scaled = (mean - np.nanmin(mean)) / span if span > 0 else np.zeros_like(mean)
        axes.plot(radii, scaled, color="#d1242f", label="mean input image (scaled)")
    if pixel_size > 0:

        def to_angstrom(r: Any) -> Any:
            return np.asarray(r) * pixel_size

        def to_pixels(a: Any) -> Any:
            return np.asarray(a) / pixel_size

        top = axes.secondary_xaxis("top", functions=(to_angstrom, to_pixels))
        top.set_xlabel("radius (Å)")
    axes.legend(fontsize=8, loc="upper right")
    figure.tight_layout()
    return _png(figure)
