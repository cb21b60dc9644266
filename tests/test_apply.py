"""Fill rules (SPEC section 4): statistics per image over the original, blending, compat."""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest

from maskrun.apply import apply_mask_inplace, fill_values
from maskrun.masking import mask_mrc_file
from maskrun.masks import Mask, build_mask
from maskrun.params import Circular, FillParams, Gaussian, MaskSpec, RaisedCosine, Sphere


def fill(kind, value=None):
    return FillParams(**{"with": kind}, **({"value": value} if value is not None else {}))


@pytest.mark.parametrize("kind,reduce", [("min", np.min), ("max", np.max), ("avg", np.mean)])
def test_fill_statistics_are_per_image_over_the_whole_original(tmp_path, small_stack, kind, reduce):
    out = tmp_path / "o.mrcs"
    mask_mrc_file(small_stack, out, MaskSpec(geometry=Circular(radius=6)), fill(kind))
    original, masked = mrcfile.read(small_stack), mrcfile.read(out)
    keep = build_mask(Circular(radius=6).resolve(24, 2), (24, 24)).keep
    for before, after in zip(original, masked):
        expected = np.float32(reduce(before.astype(np.float64)))
        assert np.all(after[~keep] == expected)
        assert np.array_equal(after[keep], before[keep])  # kept pixels untouched, bit for bit


def test_soft_mask_blends_with_fill(tmp_path, small_stack):
    out = tmp_path / "o.mrcs"
    params = RaisedCosine(inner_radius=3, outer_radius=9)
    mask_mrc_file(small_stack, out, MaskSpec(geometry=params), fill("value", 2.5))
    m = build_mask(params.resolve(24, 2), (24, 24)).values.astype(np.float64)
    original = mrcfile.read(small_stack).astype(np.float64)
    assert np.allclose(mrcfile.read(out), m * original + (1 - m) * 2.5, atol=1e-5)


def test_compat_xmipp_soft_mask_ignores_fill(tmp_path, small_stack):
    out = tmp_path / "o.mrcs"
    params = Gaussian(sigma=4)
    mask_mrc_file(small_stack, out, MaskSpec(geometry=params), fill("avg"), compat="xmipp")
    m = build_mask(params.resolve(24, 2), (24, 24), "xmipp").values.astype(np.float64)
    assert m.max() == pytest.approx(1 / (2 * np.pi * 16), rel=1e-6)  # normalised 2D density
    assert np.allclose(mrcfile.read(out), m * mrcfile.read(small_stack), atol=1e-7)


def test_volume_fill_uses_the_whole_volume(tmp_path, small_volume):
    out = tmp_path / "o.mrc"
    mask_mrc_file(small_volume, out, MaskSpec(geometry=Sphere(radius=5)), fill("avg"))
    original, masked = mrcfile.read(small_volume), mrcfile.read(out)
    outside = build_mask(Sphere(radius=5).resolve(24, 3), original.shape).values == 0
    assert np.allclose(masked[outside], original.astype(np.float64).mean(), atol=1e-6)


def test_fill_values_in_float64():
    images = np.full((2, 3, 3), 1e7, dtype=np.float32)
    images[1, 0, 0] += 1
    avg = fill_values(images, fill("avg"))
    assert avg.dtype == np.float64 and avg[1] == pytest.approx(1e7 + 1 / 9, abs=1e-9)


def test_apply_inplace_binary_keeps_bits_and_substitutes_per_image():
    chunk = np.arange(2 * 2 * 2, dtype=np.float32).reshape(2, 2, 2)
    mask = Mask.from_values(np.array([[1, 0], [0, 1]], np.float32))
    assert mask.binary and mask.outside_runs.tolist() == [[0, 1, 2], [1, 0, 1]]
    apply_mask_inplace(chunk, mask, np.array([-1.0, -2.0]))
    assert chunk.tolist() == [[[0, -1], [-1, 3]], [[4, -2], [-2, 7]]]


def test_fragmented_binary_mask_falls_back_to_a_masked_copy():
    checker = (np.indices((16, 16)).sum(axis=0) % 2).astype(np.float32)
    mask = Mask.from_values(checker)
    assert mask.outside_runs is None  # 8 runs per row: not worth a loop
    chunk = np.full((3, 16, 16), 7.0, np.float32)
    apply_mask_inplace(chunk, mask, np.array([1.0, 2.0, 3.0]))
    assert np.array_equal(chunk[2], np.where(checker == 1, 7.0, 3.0))


@pytest.mark.parametrize("first_slice", [0, 3, 5])
def test_volume_slab_uses_its_own_slices_of_the_mask(first_slice):
    mask = build_mask(Sphere(radius=3).resolve(8, 3), (8, 8, 8))
    volume = np.random.default_rng(0).normal(size=(8, 8, 8)).astype(np.float32)
    slab = volume[first_slice:first_slice + 3].copy()
    apply_mask_inplace(slab, mask, np.array([9.0]), first_slice=first_slice)
    expected = np.where(mask.keep, volume, np.float32(9.0))[first_slice:first_slice + 3]
    assert np.array_equal(slab, expected)
