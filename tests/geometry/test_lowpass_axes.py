"""The low-pass of a map that is not a cube has one cut-off in Å on every axis (issue 22)."""

from __future__ import annotations

import numpy as np
import pytest

from maskrun.geometry.map_mask import low_pass

from commands import digest, maskrun
from conftest import write_mrc

SHAPE_ZYX = (64, 80, 96)  # 96 × 80 × 64 voxels (x, y, z) of 1 Å


def _wave(axis: int, period_angstrom: float = 16.0) -> np.ndarray:
    coordinate = np.arange(SHAPE_ZYX[axis]).reshape([-1 if a == axis else 1 for a in range(3)])
    return np.broadcast_to(np.cos(2 * np.pi * coordinate / period_angstrom), SHAPE_ZYX).astype(np.float64)


@pytest.mark.parametrize("period", [8.0, 16.0])  # whole cycles on 64, 80 and 96 voxels
def test_the_same_frequency_in_angstrom_is_passed_alike_on_every_axis(period):
    gains = [np.abs(low_pass(_wave(axis, period), 15.0, 1.0)).max() for axis in range(3)]
    np.testing.assert_allclose(gains, gains[0], atol=1e-9)
    assert gains[0] == pytest.approx({8.0: 0.0, 16.0: 0.5}[period], abs=1e-9)


def test_a_cube_is_filtered_as_before():
    density = np.random.default_rng(0).normal(size=(24, 24, 24))
    size, shell = 24, round(24 * 1.0 / 6.0)
    k = [np.fft.fftfreq(24) * 24] * 2 + [np.fft.rfftfreq(24) * 24]
    radius = np.sqrt(sum(f**2 for f in np.meshgrid(*k, indexing="ij", sparse=True))) / size
    low, high = (shell - 1) / size, (shell + 1) / size
    weight = np.where(
        radius < low, 1.0, np.where(radius > high, 0.0, 0.5 + 0.5 * np.cos(np.pi * (radius - low) / (high - low)))
    )
    expected = np.fft.irfftn(np.fft.rfftn(density) * weight, s=density.shape, axes=(0, 1, 2))
    np.testing.assert_array_equal(low_pass(density, 6.0, 1.0), expected)


def test_make_mask_filters_z_as_it_filters_x(tmp_path):
    """A 16 Å wave along z was kept whole (the z cut-off was 10.3 Å for 15 Å asked): now halved as along x."""
    source = write_mrc(tmp_path / "wave.mrc", _wave(0), voxel_size=1.0)
    before = digest(tmp_path)
    proc = maskrun("make-mask", tmp_path / "m.mrc", "--from-map", source, "--threshold", "0.75", "--lowpass", "15")
    assert proc.returncode == 2 and "--threshold: threshold 0.75 is above every value of the map" in proc.stderr
    assert digest(tmp_path) == before
    along_x = write_mrc(tmp_path / "x.mrc", _wave(2), voxel_size=1.0)
    proc = maskrun("make-mask", tmp_path / "m.mrc", "--from-map", along_x, "--threshold", "0.45", "--lowpass", "15")
    assert proc.returncode == 0, proc.stderr
