"""Fill rules (docs/spec.md, "Fills"): statistics per image over the original, blending, compat."""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest

from maskrun.config.fill import FillParams
from maskrun.config.mask_spec import MaskSpec
from maskrun.config.shape_params import Circular, Gaussian, RaisedCosine, Sphere
from maskrun.engine.apply import apply_mask, fill_values, mask_images
from maskrun.engine.one_file import mask_mrc_file
from maskrun.geometry.masks import Mask, build_mask


def fill(kind, value=None):
    return FillParams(**{"with": kind}, **({"value": value} if value is not None else {}))


@pytest.mark.parametrize("kind,reduce", [("min", np.min), ("max", np.max), ("avg", np.mean)])
def test_fill_statistics_are_per_image_over_the_whole_original(tmp_path, small_stack, kind, reduce):
    out = tmp_path / "o.mrcs"
    mask_mrc_file(small_stack, out, mask=MaskSpec(geometry=Circular(radius=6)), fill=fill(kind))
    original, masked = mrcfile.read(small_stack), mrcfile.read(out)
    keep = build_mask(Circular(radius=6).resolve(24, 2), (24, 24)).keep
    for before, after in zip(original, masked):
        expected = np.float32(reduce(before.astype(np.float64)))
        assert np.all(after[~keep] == expected)
        assert np.array_equal(after[keep], before[keep])  # kept pixels untouched, bit for bit


def test_soft_mask_blends_with_fill(tmp_path, small_stack):
    out = tmp_path / "o.mrcs"
    params = RaisedCosine(inner_radius=3, outer_radius=9)
    mask_mrc_file(small_stack, out, mask=MaskSpec(geometry=params), fill=fill("value", 2.5))
    m = build_mask(params.resolve(24, 2), (24, 24)).values.astype(np.float64)
    original = mrcfile.read(small_stack).astype(np.float64)
    assert np.allclose(mrcfile.read(out), m * original + (1 - m) * 2.5, atol=1e-5)


def test_compat_xmipp_soft_mask_ignores_fill(tmp_path, small_stack):
    out = tmp_path / "o.mrcs"
    params = Gaussian(sigma=4)
    mask_mrc_file(small_stack, out, mask=MaskSpec(geometry=params), fill=fill("avg"), compat="xmipp")
    m = build_mask(params.resolve(24, 2), (24, 24), "xmipp").values.astype(np.float64)
    assert m.max() == pytest.approx(1 / (2 * np.pi * 16), rel=1e-6)  # normalised 2D density
    assert np.allclose(mrcfile.read(out), m * mrcfile.read(small_stack), atol=1e-7)


def test_volume_fill_uses_the_whole_volume(tmp_path, small_volume):
    out = tmp_path / "o.mrc"
    mask_mrc_file(small_volume, out, mask=MaskSpec(geometry=Sphere(radius=5)), fill=fill("avg"))
    original, masked = mrcfile.read(small_volume), mrcfile.read(out)
    outside = build_mask(Sphere(radius=5).resolve(24, 3), original.shape).values == 0
    assert np.allclose(masked[outside], original.astype(np.float64).mean(), atol=1e-6)


def test_fill_avg_is_good_to_float32_precision_even_far_from_zero():
    rng = np.random.default_rng(3)
    images = (1e4 + rng.normal(size=(5, 64, 64))).astype(np.float32)
    images[1, 0, 0] += 1000
    exact = images.astype(np.float64).mean(axis=(1, 2))
    avg = fill_values(images, fill("avg"))
    # the fill lands in a float32 file: within one float32 step of the true mean
    assert avg.dtype == np.float64 and np.all(np.abs(avg - exact) <= np.spacing(exact.astype(np.float32)))


def test_fill_avg_of_one_image_does_not_depend_on_its_neighbours_in_the_block():
    images = (100 + 3 * np.random.default_rng(4).normal(size=(7, 32, 32))).astype(np.float32)
    together = fill_values(images, fill("avg"))
    alone = np.concatenate([fill_values(images[i : i + 1], fill("avg")) for i in range(7)])
    assert together.tobytes() == alone.tobytes()  # a job's batch size cannot change a pixel


def test_fill_avg_of_integer_images_is_exact():
    images = np.full((2, 3, 3), 30000, dtype=np.int16)
    images[1, 0, 0] = 30001
    assert fill_values(images, fill("avg")).tolist() == [30000.0, 30000 + 1 / 9]


def test_binary_mask_keeps_bits_and_substitutes_per_image():
    chunk = np.arange(2 * 2 * 2, dtype=np.float32).reshape(2, 2, 2)
    chunk[0, 0, 0] = -0.0
    mask = Mask.from_values(np.array([[1, 0], [0, 1]], np.float32))
    assert mask.binary
    apply_mask(chunk, chunk, mask, np.array([-1.0, -2.0]))  # in place
    assert chunk.tolist() == [[[0, -1], [-1, 3]], [[4, -2], [-2, 7]]]
    assert np.signbit(chunk[0, 0, 0])  # a kept -0.0 stays -0.0: kept pixels are copied, not computed


def test_binary_mask_replaces_non_finite_pixels_outside():
    source = np.full((2, 4, 4), np.nan, dtype=np.float32)
    source[1] = np.inf
    mask = Mask.from_values(np.pad(np.ones((2, 2), np.float32), 1))
    out = apply_mask(source, np.empty_like(source), mask, None)
    assert np.all(out[:, mask.outside] == 0) and np.isnan(out[0, 1, 1]) and np.isinf(out[1, 2, 2])


def test_mask_reads_any_mrc_dtype_into_float32():
    source = np.arange(2 * 4 * 4, dtype=np.int16).reshape(2, 4, 4)
    mask = build_mask(RaisedCosine(inner_radius=1, outer_radius=2).resolve(4, 2), (4, 4))
    out = apply_mask(source, np.empty(source.shape, np.float32), mask, np.array([1.0, 2.0]))
    expected = mask.values * source.astype(np.float32) + (1 - mask.values) * np.array([1, 2], np.float32)[:, None, None]
    assert out.dtype == np.float32 and np.allclose(out, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("first_slice", [0, 3, 5])
def test_volume_slab_uses_its_own_slices_of_the_mask(first_slice):
    mask = build_mask(Sphere(radius=3).resolve(8, 3), (8, 8, 8))
    volume = np.random.default_rng(0).normal(size=(8, 8, 8)).astype(np.float32)
    slab = apply_mask(
        volume[first_slice : first_slice + 3],
        np.empty((3, 8, 8), np.float32),
        mask,
        np.array([9.0]),
        first_slice=first_slice,
    )
    expected = np.where(mask.keep, volume, np.float32(9.0))[first_slice : first_slice + 3]
    assert np.array_equal(slab, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.int16, np.float16])
@pytest.mark.parametrize("shape", [Circular(radius=9), RaisedCosine(inner_radius=4, outer_radius=10)])
@pytest.mark.parametrize("kind", ["avg", "min", "max", "value", None])
def test_mask_images_gives_the_bytes_of_fills_from_the_source(rng, dtype, shape, kind):
    source = (rng.normal(5, 40, (5, 24, 24))).astype(dtype)
    mask = build_mask(shape.resolve(24, 2), (24, 24))
    if dtype == np.float32 and mask.binary:  # fills of nan and inf are copied too
        source[1, 0, 3], source[2, 12, 12] = np.nan, np.inf  # outside and inside the circle
    chosen = None if kind is None else fill(kind, 1.5 if kind == "value" else None)
    expected = apply_mask(
        source, np.empty(source.shape, np.float32), mask, None if chosen is None else fill_values(source, chosen)
    )
    got = mask_images(source, np.empty(source.shape, np.float32), mask, chosen)
    assert got.tobytes() == expected.tobytes()
    if dtype == np.float32:  # in place too
        in_place = source.copy()
        assert mask_images(in_place, in_place, mask, chosen).tobytes() == expected.tobytes()
