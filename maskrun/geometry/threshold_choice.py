"""Choose a map's threshold by a rule: a σ level, an enclosed volume or mass, or ``auto``.

- ``sigma``: mean + k × standard deviation of the whole map (Chimera's "σ level");
- ``volume`` (a mass is its volume at 0.81 Da/Å³): the value at which exactly the asked
  number of voxels (volume / voxel volume, rounded) lies at or above it; where that number
  ends inside a run of equal values (a masked map's plateau of zeros), the value just above
  them, keeping fewer voxels than asked (more only when the tie is the map's largest value);
  its words give the count truly at or above the value chosen;
- ``auto``: the noise is the map's box corners (beyond `CORNER_RADIUS` of the half box from
  the centre): their median m and robust σₙ (1.4826 × median absolute deviation); where the
  corners outside the inscribed sphere are flattened (σₙ below `FLAT_CORNERS` of the shell's
  just inside it, as in RELION's reconstructions), that shell alone. Of the
  levels m + k σₙ for k in `AUTO_SIGMAS`, the lowest at which speckles — face-connected
  pieces smaller than `AUTO_SPECKLE` of the voxels at or above the level, or than
  `AUTO_SMALLEST_PIECE` voxels — hold less than
  `AUTO_SPECKLES_MAX` of them: the lowest threshold that keeps the density in one piece or
  a few large ones and leaves the noise out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maskrun.config.threshold import PROTEIN_DALTON_PER_A3, ThresholdRule
from maskrun.errors import FieldError
from maskrun.geometry.map_mask import after_low_pass

CORNER_RADIUS = 0.9
AUTO_SIGMAS = (3.0, 3.5, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, 15.0, 20.0, 30.0)
AUTO_SPECKLE = 0.005
AUTO_SPECKLES_MAX = 0.05
AUTO_SMALLEST_PIECE = 27  # voxels: a piece smaller than a 3³ cube is a speckle at any level
MIN_NOISE_VOXELS = 1000
FLAT_CORNERS = 0.5  # corners this much quieter than the shell inside them were masked, not solvent


@dataclass(frozen=True)
class ChosenThreshold:
    """The number a rule chose, and how, in words; ``low_passed``: `after_low_pass`'s words for the map it looked at."""

    value: float
    rule: str
    how: str
    low_passed: str = ""

    @property
    def told(self) -> str:
        """How, in words, saying first when the rule looked at the map low-passed."""
        return f"{self.low_passed}, {self.how}" if self.low_passed else self.how


class NoLevelAboveNoise(FieldError):
    """``auto`` found no level above the noise free of speckles; its fix names the low-pass as the caller does.

    ``noise``: the noise it measured, in words. The message names the setting ``lowpass_angstrom``
    and proposes a first low-pass; a caller knowing its name for the setting and the low-pass
    the map had words it with `worded`.
    """

    def __init__(self, noise: str):
        self.noise = noise
        super().__init__("threshold", self.worded("lowpass_angstrom", None))

    def worded(self, lowpass_name: str, lowpass_angstrom: float | None) -> str:
        """The message, naming the low-pass ``lowpass_name`` (``--lowpass``, ``mask.map.lowpass_angstrom``).

        With ``lowpass_angstrom`` (Å, the low-pass the map had), a coarser one is proposed, twice it.
        """
        if not lowpass_angstrom:
            return (
                f"'auto' found no level above the noise free of speckles ({self.noise}); low-pass the map first "
                f"({lowpass_name}), or give a number or a σ level"
            )
        return (
            f"'auto' found no level above the noise free of speckles in the map {after_low_pass(lowpass_angstrom)} "
            f"({self.noise}); give {lowpass_name} a coarser resolution than "
            f"{lowpass_angstrom:g} Å (say {2 * lowpass_angstrom:g}), or a σ level ('4 sigma') or a number"
        )


def choose_threshold(density: np.ndarray, rule: ThresholdRule, voxel_size_angstrom: float) -> ChosenThreshold:
    """The threshold ``rule`` chooses for ``density`` (a 3D or 2D map; not modified).

    Raises
    ------
    FieldError
        On ``threshold``: a volume without a voxel size, or (`NoLevelAboveNoise`) ``auto``
        finding no level that keeps one piece.
    """
    if rule.kind == "value":
        return ChosenThreshold(rule.amount, rule.text, "given")
    values = np.asarray(density, dtype=np.float64)
    if rule.kind == "sigma":
        mean, sigma = float(values.mean()), float(values.std())
        value = mean + rule.amount * sigma
        return ChosenThreshold(value, rule.text, f"mean {mean:.4g} + {rule.amount:g} × σ {sigma:.4g}")
    if rule.kind == "volume":
        return _enclosing(values, rule, voxel_size_angstrom)
    return _auto(values, rule)


def _enclosing(values: np.ndarray, rule: ThresholdRule, voxel_size_angstrom: float) -> ChosenThreshold:
    if voxel_size_angstrom <= 0:
        raise FieldError(
            "threshold",
            f"'{rule.text}' needs the map's voxel size, and its header gives none; set it, or give a number",
        )
    voxel_volume = voxel_size_angstrom**values.ndim
    count = round(rule.amount / voxel_volume)
    flat = values.ravel()
    if count >= flat.size or count < 1:
        raise FieldError(
            "threshold",
            f"'{rule.text}' is {rule.amount:.4g} Å³, {count} voxels of {voxel_volume:.4g} Å³, but the box holds "
            f"{flat.size}; give a volume between one voxel and the box",
        )
    value = float(np.partition(flat, flat.size - count)[flat.size - count])
    kept = int(np.count_nonzero(flat >= value))
    tie = ""
    if kept > count:  # the asked count ends inside a plateau (a masked map's zeros): keep what lies above it
        above = flat[flat > value]
        tied = kept - int(above.size)
        if above.size:
            tie = f"; fewer than the {count:,} asked: {tied:,} voxels share the value {value:.6g}"
            value, kept = float(above.min()), int(above.size)
        else:
            tie = f"; more than the {count:,} asked: {tied:,} voxels share the value {value:.6g}, the map's largest"
    volume = kept * voxel_volume
    mass_kda = volume * PROTEIN_DALTON_PER_A3 / 1000
    return ChosenThreshold(
        value,
        rule.text,
        f"{kept} voxels, {volume:.4g} Å³ ({mass_kda:.4g} kDa at 0.81 Da/Å³) at or above it{tie}",
    )


def _auto(values: np.ndarray, rule: ThresholdRule) -> ChosenThreshold:
    from scipy import ndimage  # only for auto: every command imports this module

    median, sigma, where = _corner_noise(values)
    structure = ndimage.generate_binary_structure(values.ndim, 1)
    for k in AUTO_SIGMAS:
        level = median + k * sigma
        above = values >= level
        total = int(above.sum())
        if total == 0:
            break
        labels, _ = ndimage.label(above, structure)
        sizes = np.bincount(labels.ravel())[1:]
        large = sizes >= max(AUTO_SPECKLE * total, AUTO_SMALLEST_PIECE)
        speckles = int(sizes[~large].sum())
        if large.any() and speckles < AUTO_SPECKLES_MAX * total:
            return ChosenThreshold(
                level,
                rule.text,
                f"{where} noise median {median:.4g} + {k:g} × σ {sigma:.4g}, the lowest such level free of noise "
                f"speckles ({int(large.sum())} piece(s) of {total - speckles} voxels; {speckles} in speckles)",
            )
    raise NoLevelAboveNoise(f"median {median:.4g}, σ {sigma:.4g} in the {where}")


def _corner_noise(values: np.ndarray) -> tuple[float, float, str]:
    """Median and robust σ of the voxels far from the centre (the whole map when too few), and where they are."""
    grids = np.ogrid[tuple(slice(0, n) for n in values.shape)]
    radius2 = sum(((g - (n - 1) / 2) / (n / 2)) ** 2 for g, n in zip(grids, values.shape))
    far = radius2 > CORNER_RADIUS**2
    if np.count_nonzero(far) < MIN_NOISE_VOXELS:
        return (*_robust(values.ravel()), "whole map")
    shell, outside = values[far & (radius2 <= 1)], values[radius2 > 1]
    if shell.size >= MIN_NOISE_VOXELS and outside.size >= MIN_NOISE_VOXELS:
        shell_noise = _robust(shell)
        if _robust(outside)[1] < FLAT_CORNERS * shell_noise[1]:
            return (*shell_noise, "box-edge (inside the inscribed sphere: the corners are flattened)")
    return (*_robust(values[far]), "box-corner")


def _robust(sample: np.ndarray) -> tuple[float, float]:
    """Median and robust σ (1.4826 × the median absolute deviation; the standard deviation if that is 0)."""
    median = float(np.median(sample))
    sigma = 1.4826 * float(np.median(np.abs(sample - median)))
    if sigma == 0:
        sigma = float(sample.std()) or 1e-12
    return median, sigma
