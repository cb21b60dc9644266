"""The FSC's fast paths give the plain computation's numbers: shell sums by rows, pruned transforms, rand() in runs.

The reference here is the textbook computation in float64 (every voxel's shell, its sum), and
`scipy.fft.rfftn` of the whole map; relion_postprocess itself is tests/geometry/test_fsc_relion.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import fft

from maskrun.geometry.bounding_box import bounding_box
from maskrun.geometry.fsc import _masked_rfft, _Shells, fsc_curve, masked_fsc


def textbook_fsc(half1: np.ndarray, half2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FSC and voxels per shell: round(|k|) per voxel of the half transform, sums in float64."""
    nz, ny, nx = half1.shape
    f1, f2 = (np.fft.rfftn(h.astype(np.float64)).ravel() for h in (half1, half2))
    kz, ky, kx = np.meshgrid(
        np.fft.fftfreq(nz, 1 / nz), np.fft.fftfreq(ny, 1 / ny), np.arange(nx // 2 + 1), indexing="ij"
    )
    shell = np.floor(np.sqrt(kz**2 + ky**2 + kx**2) + 0.5).astype(int).ravel()
    count = nx // 2 + 1
    inside = shell < count
    sums = [
        np.bincount(shell[inside], v[inside], minlength=count)
        for v in ((f1.conj() * f2).real, abs(f1) ** 2, abs(f2) ** 2)
    ]
    return sums[0] / np.sqrt(sums[1] * sums[2]), np.bincount(shell[inside], minlength=count)


@pytest.mark.parametrize("shape", [(32, 32, 32), (40, 48, 36), (64, 64, 64)])
def test_shell_sums_are_the_textbook_fsc(shape):
    rng = np.random.default_rng(sum(shape))
    signal = rng.standard_normal(shape).astype(np.float32)
    half1 = signal + rng.standard_normal(shape).astype(np.float32)
    half2 = signal + rng.standard_normal(shape).astype(np.float32)
    expected, voxels = textbook_fsc(half1, half2)
    np.testing.assert_allclose(fsc_curve(half1, half2), expected, atol=2e-6)
    np.testing.assert_array_equal(_Shells(shape).voxels, voxels)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "block",
    [
        (slice(10, 40), slice(5, 60), slice(0, 64)),  # a support inside the box
        (slice(0, 64), slice(20, 30), slice(3, 60)),  # every plane, a few rows
        (slice(63, 64), slice(0, 1), slice(7, 8)),  # one voxel in a corner
    ],
)
def test_a_masked_transform_within_the_support_is_the_whole_transform_bit_for_bit(dtype, block):
    rng = np.random.default_rng(5)
    values = rng.standard_normal((64, 64, 64)).astype(dtype)
    mask = np.zeros((64, 64, 64), dtype)
    mask[block] = rng.uniform(0, 1, mask[block].shape)
    support = bounding_box(mask != 0)
    np.testing.assert_array_equal(_masked_rfft(values, mask, support), fft.rfftn(values * mask))


def test_masked_curves_do_not_depend_on_how_much_solvent_the_mask_leaves():
    """The same mask, in a box with solvent (pruned transforms) and padded to fill it (whole transforms)."""
    rng = np.random.default_rng(11)
    shape = (48, 48, 48)
    z, y, x = np.ogrid[:48, :48, :48]
    signal = np.exp(-((z - 24.0) ** 2 + (y - 22.0) ** 2 + (x - 25.0) ** 2) / 30).astype(np.float32)
    half1, half2 = (signal + 0.3 * rng.standard_normal(shape).astype(np.float32) for _ in range(2))
    tight = np.clip(1.5 - np.sqrt((z - 24.0) ** 2 + (y - 22.0) ** 2 + (x - 25.0) ** 2) / 8, 0, 1).astype(np.float32)
    whole = tight + np.float32(1e-30)  # no exact 0: the support is the whole box
    pruned, plain = masked_fsc(half1, half2, tight, 1.0), masked_fsc(half1, half2, whole, 1.0)
    assert bounding_box(tight != 0) != bounding_box(whole != 0)
    np.testing.assert_allclose(pruned.masked, plain.masked, atol=1e-6)
    np.testing.assert_allclose(pruned.phase_randomised_masked, plain.phase_randomised_masked, atol=1e-6)
