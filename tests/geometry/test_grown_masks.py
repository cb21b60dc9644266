"""The sizes a check tries of a mask are the masks make-mask (and relion_mask_create) makes by extending it."""

from __future__ import annotations

import numpy as np
import pytest

from maskrun.geometry.grown_masks import GrownMasks
from maskrun.geometry.map_mask import MapMaskSteps, mask_from_map


def ellipsoid_mask(box: int, edge_px: float) -> np.ndarray:
    z, y, x = np.mgrid[:box, :box, :box] - box // 2
    blob = (np.sqrt(x**2 + y**2 + (z / 1.4) ** 2) < box / 6).astype(np.float32)
    return mask_from_map(blob, MapMaskSteps(threshold=0.5, extend_px=2, soft_edge_px=edge_px))


def extended(mask: np.ndarray, extend_px: int, edge_px: float) -> np.ndarray:
    return mask_from_map(mask, MapMaskSteps(threshold=0.99, extend_px=extend_px, soft_edge_px=edge_px))


@pytest.mark.parametrize("extend_px", [-4, -2, 0, 2, 3, 7])
def test_unbinned_sizes_are_make_masks_own(extend_px):
    mask = ellipsoid_mask(48, 4.0)
    sizes = GrownMasks(mask, 4.0)
    np.testing.assert_allclose(sizes.values(extend_px), extended(mask, extend_px, 4.0), atol=1e-6)


@pytest.mark.parametrize("extend_px", [-3, 0, 4])
def test_unbinned_sizes_keep_make_masks_half_contour_where_the_edge_is_half_at_whole_distances(extend_px):
    """A hard edge's advice, a 6 px edge about the 0.5 contour shrunk by 3 px: the edge is 0.5 at whole distances (3
    px), which make-mask (float64) keeps at 0.5 and the sizes tried (float32 π/2, cos -4e-8) had at 0.49999998. The
    mask tried kept 57,771 voxels at or above 0.5, the one made 59,801: made as advised, it was too loose."""
    mask = ellipsoid_mask(48, 0.0)
    sizes = GrownMasks(mask, 6.0)
    made = mask_from_map(mask, MapMaskSteps(threshold=0.99, extend_px=extend_px, soft_edge_px=6.0))
    assert np.array_equal(sizes.values(extend_px), made)


@pytest.mark.parametrize("extend_px", [-3, 0, 4])
def test_a_size_tried_with_an_edge_of_a_fraction_of_a_pixel_is_the_mask_its_command_makes(extend_px):
    """The review: a 10 Å edge at 1.5 Å (6.667 px) was tried as 6.6667 px and printed as --soft-edge 6.67: the mask
    made from the command differed from the one judged by up to 4.6e-4 in 28-42 thousand voxels."""
    from maskrun.jobs.make_mask_commands import remake_command

    mask = ellipsoid_mask(48, 0.0)
    sizes = GrownMasks(mask, 10 / 1.5)
    printed = remake_command(sizes.remake(extend_px), "m.mrc").split("--soft-edge ")[1]
    assert printed == "6.67" and sizes.soft_edge_px == 6.67
    made = mask_from_map(mask, MapMaskSteps(threshold=0.99, extend_px=extend_px, soft_edge_px=float(printed)))
    assert np.array_equal(sizes.values(extend_px), made)


def test_growing_or_shrinking_by_one_voxel_changes_nothing_as_relion_extends():
    mask = ellipsoid_mask(48, 4.0)
    sizes = GrownMasks(mask, 4.0)
    assert np.array_equal(sizes.values(1), sizes.values(0))
    assert np.array_equal(sizes.values(-1), sizes.values(0))
    assert not np.array_equal(sizes.values(2), sizes.values(0))


def test_binned_sizes_are_make_masks_to_a_bin():
    """A 96³ mask's distances measured on 48³ and interpolated back: what make-mask makes, to within a bin."""
    mask = ellipsoid_mask(96, 6.0)
    sizes = GrownMasks(mask, 6.0, binning=2)
    for extend_px in (-4, 0, 4, 10):
        ours, theirs = sizes.values(extend_px), extended(mask, extend_px, 6.0)
        assert abs(float(ours.sum()) / float(theirs.sum()) - 1) < 0.05, extend_px
        looser, tighter = extended(mask, extend_px + 2, 6.0), extended(mask, extend_px - 2, 6.0)
        assert np.all(ours <= looser + 1e-6) and np.all(ours >= tighter - 1e-6), extend_px


def test_the_size_whose_core_fills_the_box_is_known_and_a_mask_below_1_keeps_its_maximum():
    mask = 0.8 * ellipsoid_mask(48, 4.0)
    sizes = GrownMasks(mask, 4.0)
    assert float(sizes.values(0).max()) == pytest.approx(0.8)
    assert float(sizes.values(sizes.filling_px).min()) == pytest.approx(0.8)
    assert float(sizes.values(sizes.filling_px - 1).min()) < 0.8


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_a_binned_core_keeps_the_blocks_at_least_half_in_it_as_their_mean_does(factor):
    """Counted a strided slice at a time, as the reshaped mean had it: ties (exactly half) count as in."""
    from maskrun.geometry.grown_masks import _mostly_true

    rng = np.random.default_rng(factor)
    region = rng.random((6 * factor, 4 * factor, 2 * factor)) < 0.5
    region[:factor, :factor, :factor] = np.arange(factor**3).reshape((factor,) * 3) < (factor**3 + 1) // 2
    blocks = [part for size in region.shape for part in (size // factor, factor)]
    by_mean = region.reshape(blocks).mean(axis=(1, 3, 5)) >= 0.5
    assert by_mean[0, 0, 0] and not by_mean.all() and by_mean.any()
    assert np.array_equal(_mostly_true(region, factor), by_mean)


def test_the_binned_distances_are_interpolated_between_block_centres_bit_for_bit():
    """In place or not, each finer voxel is low + (high - low) × weight along z, then y, then x, in float32."""
    from maskrun.geometry.grown_masks import _upsampled

    values = np.random.default_rng(0).normal(0, 5, (5, 6, 7)).astype(np.float32)
    expected = values
    for axis in range(3):
        count = expected.shape[axis]
        at = np.clip((np.arange(2 * count) - 0.5) / 2, 0, count - 1)
        below = np.floor(at).astype(np.intp)
        weight = (at - below).astype(np.float32).reshape([-1 if a == axis else 1 for a in range(3)])
        low = expected.take(below, axis)
        expected = low + (expected.take(np.minimum(below + 1, count - 1), axis) - low) * weight
    ours = _upsampled(values, 2)
    assert ours.dtype == np.float32 and ours.shape == (10, 12, 14)
    assert np.array_equal(ours, expected)
    assert ours[0, 0, 0] == values[0, 0, 0]  # the first block's centre lies half a voxel in: clipped
    assert ours[1, 0, 0] == pytest.approx(0.75 * values[0, 0, 0] + 0.25 * values[1, 0, 0], abs=1e-5)
