"""The check-mask figure (matplotlib, Agg): the four FSC curves, the verdict and reasons, the mask over the map.

One PNG: on the left the unmasked, masked, phase-randomised masked and corrected FSC against
1/resolution, with the 0.143 and 0.8 levels and the randomisation and resolution shells; on
the right the central XY, XZ and YZ slices of the half-maps' mean with the mask's 0.5 contour
(solid) and outer edge (dashed), as the report draws them on map slices; the verdict and reasons below.
It draws from the check's JSON data (`maskrun.engine.mask_check.check_json`), so that a job's
report draws the check its gather saved (``check/check.json``) without checking again.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np

from maskrun.engine.mask_check import MaskCheck, check_json
from maskrun.geometry.fsc import RANDOMISE_AT_FSC, RESOLUTION_FSC
from maskrun.report.figures import central_slices

CURVES = (
    ("unmasked", "unmasked", "#2ca02c"),
    ("masked", "masked", "#1f77b4"),
    ("phase_randomised_masked", "phase-randomised masked", "#d62728"),
    ("corrected", "corrected", "#000000"),
)
PLOTS_INCHES = 4.8  # the curves and the slices
LINE_INCHES = 0.16  # a line of the verdict's 9 pt text


def fsc_figure(
    check: dict[str, Any], average: np.ndarray, mask: np.ndarray, title: str, image_format: str = "png"
) -> bytes:
    """The figure's file (PNG, or ``image_format``: ``pdf``, ``svg``), from a check's JSON data.

    ``average`` and ``mask``: ``(z, y, x)`` maps of one shape.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from maskrun.report.figures import _contours, _limits, _png

    lines = [f"verdict: {check['verdict']}"]
    for reason in check["reasons"]:
        lines += textwrap.wrap(f"{reason['verdict']}: {reason['measured']} → {reason['suggestion']}", 125)
    text_inches = 0.45 + LINE_INCHES * len(lines)  # the verdict's lines and the axis label above them, no more
    figure = plt.figure(figsize=(13, PLOTS_INCHES + text_inches))
    grid = figure.add_gridspec(
        2, 4, height_ratios=[PLOTS_INCHES, text_inches], width_ratios=[2.2, 1, 1, 1], hspace=0.25
    )  # room between the curves' axis label and the verdict below it
    axes = figure.add_subplot(grid[0, 0])
    curves = check["fsc"]
    shells = np.arange(len(curves["unmasked"]))
    frequency = shells / (check["box_px"] * check["voxel_size_angstrom"])
    for name, label, colour in CURVES:
        axes.plot(frequency, curves[name], label=label, color=colour, linewidth=1.4 if name == "corrected" else 1)
    axes.axhline(RESOLUTION_FSC, color="grey", linewidth=0.7, linestyle="dotted")
    axes.axhline(RANDOMISE_AT_FSC, color="grey", linewidth=0.5, linestyle="dotted")
    axes.axvline(frequency[check["randomise_from_shell"]], color="#d62728", linewidth=0.6, linestyle="dashed")
    if check["resolution_angstrom"]:
        axes.axvline(1 / check["resolution_angstrom"], color="black", linewidth=0.6, linestyle="dashed")
    axes.set_xlabel("resolution (1/Å)")
    axes.set_ylabel("Fourier shell correlation")
    axes.set_ylim(-0.1, 1.02)
    axes.legend(fontsize=8, loc="upper right")
    resolution = f"{check['resolution_angstrom']:.2f} Å" if check["resolution_angstrom"] else "none"
    randomised = check["randomise_from_angstrom"]  # None: shell 0, infinite
    randomised_text = "inf" if randomised is None else f"{randomised:.2f}"
    axes.set_title(f"resolution {resolution}; phases randomised from {randomised_text} Å", fontsize=9)
    for column, (image, outline, name) in enumerate(
        zip(central_slices(average), central_slices(mask), ("XY", "XZ", "YZ"), strict=True), start=1
    ):
        panel = figure.add_subplot(grid[0, column])
        low, high = _limits(image)
        panel.imshow(image, cmap="gray", vmin=low, vmax=high, origin="lower")
        _contours(panel, outline)
        panel.set_title(f"central {name}", fontsize=9)
        panel.set_xticks([])
        panel.set_yticks([])
    text = figure.add_subplot(grid[1, :])
    text.axis("off")
    text.text(0, 1, "\n".join(lines), va="top", ha="left", fontsize=9, family="monospace")
    figure.suptitle(title, fontsize=10)
    return _png(figure, image_format, tight=True)  # cropped to what is drawn: no blank band below the verdict


def check_figure(check: MaskCheck, image_format: str = "png") -> bytes:
    """A check's figure (PNG, or ``image_format``): its curves, verdict and reasons, the mask over the halves' mean."""
    if check.halves is None or check.mask_values is None:
        raise ValueError("check_figure needs the check's half-maps: use check_mask")
    average = np.add(check.halves.half1, check.halves.half2) / 2
    title = f"{check.mask.name} on {check.half1.name} + {check.half2.name}"
    return fsc_figure(check_json(check), average, check.mask_values, title, image_format)
