"""The report's figures (matplotlib, Agg): particles before and after, map slices, the mask's radial profile.

Each function takes arrays and returns PNG bytes; none reads a file. Contrast is set by
percentiles (1 and 99) of the input shown, so that a few extreme pixels do not wash an
image out; the mask's 0.5 contour (yellow) and its outer edge (where it reaches 0, orange)
are drawn on the input: as solid pixel outlines on particles, as a solid and a dashed line on
map slices.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import matplotlib
import matplotlib.image

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

MONTAGE_COLUMNS = 6  # pairs of (input, masked) per row: 12 panels
MONTAGE_MAX_WIDTH = 1800  # px: large boxes are binned rather than drawn as a huge PNG
DPI = 100


def _png(figure: Any, image_format: str = "png", tight: bool = False) -> bytes:
    """The figure's file in ``image_format`` (``png``, or ``pdf``/``svg`` that matplotlib also writes); closes it.

    ``tight``: cropped to what is drawn (a small margin kept).
    """
    buffer = io.BytesIO()
    cropped: dict[str, Any] = {"bbox_inches": "tight", "pad_inches": 0.2} if tight else {}
    figure.savefig(buffer, format=image_format, dpi=DPI, **cropped)
    plt.close(figure)
    return buffer.getvalue()


def _limits(image: np.ndarray) -> tuple[float, float]:
    finite = image[np.isfinite(image)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = np.percentile(finite, [1, 99])
    return float(low), float(high if high > low else low + 1)


def _contours(axes: Any, mask: np.ndarray) -> None:
    if 0 < mask.min() < 1 or mask.min() < 0.5 < mask.max():
        axes.contour(mask, levels=[0.5], colors="#ffd21f", linewidths=0.8)
    if mask.min() == 0 and mask.max() > 0:
        axes.contour((mask > 0).astype(float), levels=[0.5], colors="#ff5a1f", linewidths=0.6, linestyles="dashed")


def _edges(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels on the mask's 0.5 contour and on its outer edge (where it reaches 0), as boolean images."""

    def boundary(region: np.ndarray) -> np.ndarray:
        edge = np.zeros_like(region)
        for axis in range(region.ndim):
            step = np.diff(region, axis=axis)
            lead = [slice(None)] * region.ndim
            lead[axis] = slice(0, -1)
            edge[tuple(lead)] |= step
        return edge

    half = boundary(mask >= 0.5)
    outer = boundary(mask > 0) & ~half if mask.min() > 0 or mask.max() > 0 else np.zeros_like(half)
    return half, outer


def montage(inputs: np.ndarray, outputs: np.ndarray, mask: np.ndarray) -> bytes:
    """Input and masked particles side by side, the mask's contours on the input; ``(n, ny, nx)`` arrays.

    ``mask`` is one image's, shared, or ``(n, ny, nx)``: each particle's own (projected masks).

    Written straight as one RGB image (no figure to render: fast at any box size): each pair
    is scaled by its input's percentiles, the 0.5 contour is yellow and the outer edge
    orange, `MONTAGE_COLUMNS` pairs a row. Boxes are binned by a whole factor so that the
    PNG is at most `MONTAGE_MAX_WIDTH` wide: 24 particles of 64² give 816 × 276 px.
    """
    count = len(inputs)
    factor = 1
    while 2 * min(MONTAGE_COLUMNS, count) * (mask.shape[-1] // factor + 4) > MONTAGE_MAX_WIDTH:
        factor += 1
    inputs, outputs, mask = (_binned(a, factor) for a in (inputs, outputs, mask))
    ny, nx = mask.shape[-2:]
    columns = min(MONTAGE_COLUMNS, count)
    rows = int(np.ceil(count / columns))
    gap = 4
    canvas = np.ones((rows * (ny + gap) - gap, 2 * columns * (nx + gap) - gap, 3), np.float32)
    edges = [_edges(m) for m in mask] if mask.ndim == 3 else [_edges(mask)] * count  # (n, ny, nx): one each
    for k in range(count):
        half, outer = edges[k]
        row, column = divmod(k, columns)
        low, high = _limits(inputs[k])
        top, left = row * (ny + gap), 2 * column * (nx + gap)
        for offset, image in ((0, inputs[k]), (nx + gap, outputs[k])):
            tile = np.clip((np.nan_to_num(image, nan=low) - low) / (high - low), 0, 1)[::-1]
            block = canvas[top : top + ny, left + offset : left + offset + nx]
            block[:] = tile[..., None]
            if offset == 0:
                block[outer[::-1]] = (1.0, 0.35, 0.12)
                block[half[::-1]] = (1.0, 0.82, 0.12)
    buffer = io.BytesIO()
    matplotlib.image.imsave(buffer, canvas, format="png")
    return buffer.getvalue()


def _binned(values: np.ndarray, factor: int) -> np.ndarray:
    """Mean over ``factor × factor`` blocks of the last two axes (the edges beyond a whole block dropped)."""
    if factor == 1:
        return values
    ny, nx = (values.shape[-2] // factor) * factor, (values.shape[-1] // factor) * factor
    cut = values[..., :ny, :nx]
    binned: np.ndarray = cut.reshape(*cut.shape[:-2], ny // factor, factor, nx // factor, factor).mean(axis=(-3, -1))
    return binned


CUTS = ("XY", "XZ", "YZ")


def central_slices(volume: np.ndarray) -> list[np.ndarray]:
    """The central XY, XZ and YZ slices of a ``(z, y, x)`` map."""
    nz, ny, nx = volume.shape
    return [volume[nz // 2], volume[:, ny // 2, :], volume[:, :, nx // 2]]


def map_rows(rows: list[tuple[str, list[np.ndarray], list[np.ndarray], list[np.ndarray], np.ndarray]]) -> bytes:
    """One row per map: its name, then each central slice input (with the mask's contours) beside masked, and
    the masked map's maximum projection along Z.

    ``rows`` holds, per map, ``(name, input slices, masked slices, mask slices, projection)``,
    slices in `CUTS` order (see `central_slices`).
    """
    figure, axes = plt.subplots(len(rows), 7, figsize=(10.5, 1.6 * len(rows) + 0.2), squeeze=False)
    for row, (name, inputs, masked, masks, projection) in enumerate(rows):
        for k, cut in enumerate(CUTS):
            low, high = _limits(inputs[k])
            axes[row, 2 * k].imshow(inputs[k], cmap="gray", vmin=low, vmax=high, origin="lower")
            _contours(axes[row, 2 * k], masks[k])
            axes[row, 2 * k].set_title(f"{cut} input", fontsize=7)
            axes[row, 2 * k + 1].imshow(masked[k], cmap="gray", vmin=low, vmax=high, origin="lower")
            axes[row, 2 * k + 1].set_title(f"{cut} masked", fontsize=7)
        axes[row, 6].imshow(projection, cmap="gray", origin="lower")
        axes[row, 6].set_title("masked, max along Z", fontsize=7)
        axes[row, 0].text(
            -0.08, 0.5, name, transform=axes[row, 0].transAxes, rotation=90, va="center", ha="right", fontsize=8
        )
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    figure.tight_layout(pad=0.4)
    return _png(figure)


@dataclass
class ProfilePanel:
    """One panel of `profile_plot`: a mask's radial profile, its pixel size (0: unknown) and, for particles, the
    sampled images' mean profile; ``title`` names the maps of its box where a set has several (else empty)."""

    radii: np.ndarray
    values: np.ndarray
    pixel_size: float
    signal: tuple[np.ndarray, np.ndarray] | None = None
    title: str = ""


PANEL_INCHES = (6.4, 3.4)


def profile_plot(panels: list[ProfilePanel]) -> bytes:
    """The mask's radial profile (px, and Å on a second axis when the pixel size is known), and the signal's; one
    panel per mask, one above the other (maps of several boxes or voxel sizes, each with its own pixel size)."""
    width, height = PANEL_INCHES
    figure, rows = plt.subplots(len(panels), 1, figsize=(width, height * len(panels)), squeeze=False)
    for axes, panel in zip(rows[:, 0], panels):
        _profile_panel(axes, panel)
    figure.tight_layout()
    return _png(figure)


def _profile_panel(axes: Any, panel: ProfilePanel) -> None:
    axes.plot(panel.radii, panel.values, color="#1f6feb", label="mask")
    axes.set_xlabel("radius (px)")
    axes.set_ylabel("mask value")
    axes.set_ylim(-0.05, 1.05)
    axes.axhline(0.5, color="#999999", linewidth=0.5, linestyle=":")
    if panel.title:
        axes.set_title(panel.title, fontsize=9, loc="left")
    if panel.signal is not None:
        radii, mean = panel.signal
        span = np.nanmax(mean) - np.nanmin(mean)
        scaled = (mean - np.nanmin(mean)) / span if span > 0 else np.zeros_like(mean)
        axes.plot(radii, scaled, color="#d1242f", label="mean input image (scaled)")
    pixel_size = panel.pixel_size
    if pixel_size > 0:

        def to_angstrom(r: Any) -> Any:
            return np.asarray(r) * pixel_size

        def to_pixels(a: Any) -> Any:
            return np.asarray(a) / pixel_size

        top = axes.secondary_xaxis("top", functions=(to_angstrom, to_pixels))
        top.set_xlabel("radius (Å)")
    axes.legend(fontsize=8, loc="upper right")
