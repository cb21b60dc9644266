"""The noise and background fills: what RELION and EMAN2 users expect, deterministic in every layout."""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest
import starfile

import maskrun
from maskrun.cli.main import main
from maskrun.engine import stream
from maskrun.jobs.runner import run_job

from conftest import write_mrc
from job_files import example_folder, job_with, write_job


def test_background_fill_is_the_weighted_mean_of_the_image():
    image = np.arange(16, dtype=np.float32).reshape(4, 4)
    mask = np.zeros((4, 4), np.float32)
    mask[1:3, 1:3] = [[1, 0.5], [1, 1]]
    out = maskrun.mask_array(image, mask, fill="background")
    weights = 1 - mask.astype(np.float64)
    background = (weights * image).sum() / weights.sum()  # 12 outside pixels and half of pixel (1, 2)
    np.testing.assert_allclose(out, mask * image + (1 - mask) * background, rtol=1e-6)
    assert background == pytest.approx((image.sum() - (5 + 9 + 10) - 0.5 * 6) / 12.5)


def test_noise_fill_keeps_the_inside_and_matches_the_outside_statistics(rng):
    stack = rng.normal(3.0, 2.0, (6, 64, 64)).astype(np.float32)
    disc = maskrun.make_mask({"shape": "circular", "radius": 20}, (64, 64))
    out = maskrun.mask_array(stack, disc, fill="noise", seed=5, kind="stack")
    inside, outside = disc == 1, disc == 0
    np.testing.assert_array_equal(out[:, inside], stack[:, inside])
    for image, masked in zip(stack, out):
        truth = image[outside].astype(np.float64)
        noise = masked[outside].astype(np.float64)
        n = noise.size
        assert abs(noise.mean() - truth.mean()) < 3 * truth.std() / np.sqrt(n)
        assert abs(noise.std() - truth.std()) < 3 * truth.std() / np.sqrt(2 * n)
        assert not np.array_equal(noise, truth)  # noise, not the image again
    again = maskrun.mask_array(stack, disc, fill="noise", seed=5, kind="stack")
    other = maskrun.mask_array(stack, disc, fill="noise", seed=6, kind="stack")
    np.testing.assert_array_equal(out, again)
    assert not np.array_equal(out[:, outside], other[:, outside])


def images_of(output_dir) -> np.ndarray:
    """Every masked particle of a finished job, in the order of its particles.star (its paths from the project folder
    the input's were from: the example's, two levels above ``results/NAME``)."""
    rows = starfile.read(output_dir / "particles.star")["particles"]["rlnImageName"]
    images = []
    for name in rows:
        index, stack = name.split("@")
        with mrcfile.mmap(output_dir.parent.parent / stack, permissive=True) as mrc:  # a 1-image stack reads as 2D
            images.append(mrc.data.reshape(-1, *mrc.data.shape[-2:])[int(index) - 1].copy())
    return np.array(images)


@pytest.mark.parametrize("fill", [{"with": "noise"}, {"with": "background"}])
def test_same_bytes_for_any_batch_size_and_workers(tmp_path, monkeypatch, fill):
    example_folder(tmp_path, particles=30, maps=0)
    geometry = {"shape": "raised_cosine", "inner_radius": 16, "outer_radius": 24}
    results = []
    for batch, workers in ((1, 2), (7, 1), (1000, 2)):
        monkeypatch.setattr(stream, "WORKERS", workers)
        job = job_with(name=f"b{batch}", batch_size=batch, fill=fill, mask__geometry=geometry)
        if fill["with"] == "noise":
            job["seed"] = 11
        results.append(images_of(run_job(write_job(tmp_path, job, f"b{batch}.yaml")).output_dir))
    assert results[0].shape == (30, 64, 64)
    for other in results[1:]:
        assert results[0].tobytes() == other.tobytes()


def test_a_different_job_seed_changes_the_noise(tmp_path):
    example_folder(tmp_path, particles=6, maps=0)
    outputs = []
    for seed in (0, 1):
        job = job_with(name=f"s{seed}", fill={"with": "noise"}, seed=seed)
        outputs.append(images_of(run_job(write_job(tmp_path, job, f"s{seed}.yaml")).output_dir))
    assert not np.array_equal(outputs[0], outputs[1])


def test_maskrun_mask_takes_the_new_fills(tmp_path, rng, capsys):
    path = write_mrc(tmp_path / "v.mrc", rng.normal(1.0, 0.5, (24, 24, 24)))
    for fill in (["--fill", "noise", "--seed", "3"], ["--fill", "background"]):
        out = tmp_path / f"o_{fill[1]}.mrc"
        assert main(["mask", str(path), str(out), "--shape", "sphere", "--radius", "8", *fill]) == 0
        masked, data = mrcfile.read(out), mrcfile.read(path)
        assert masked[12, 12, 12] == data[12, 12, 12]
        assert masked[0, 0, 0] != 0
    assert main(["mask", str(path), str(tmp_path / "x.mrc"), "--shape", "sphere", "--fill", "avg", "--seed", "3"]) == 2
    assert "'seed' is used only with 'with: noise'" in capsys.readouterr().err


def test_every_fill_is_registered_once_for_users_and_for_the_engine():
    from typing import get_args

    from maskrun.config.fill import FILL_KINDS, FillChoice
    from maskrun.engine.fills import FILLS
    from maskrun.jobs.examples import starter_job
    from maskrun.report.summary import fill_text

    assert set(get_args(FillChoice)) == set(FILL_KINDS) == set(FILLS)
    for kind in ("particles", "volumes"):
        assert " | ".join(FILL_KINDS) in starter_job(kind)
    assert fill_text({"with": "background"}) == "each image's mean outside the mask"
    assert (
        fill_text({"with": "noise", "seed": 4})
        == "white Gaussian noise with each image's background mean and σ (seed 4)"
    )
    assert [rule.needs_mask for rule in FILLS.values()] == [k in ("background", "noise") for k in FILLS]


@pytest.mark.parametrize("fill", ["avg", "min", "max"])
def test_an_image_holding_plus_and_minus_inf_gets_its_finite_fill_without_numpys_warning(fill):
    """The float16 fixer: `maskrun mask … --fill avg` on an image with +inf and −inf printed "maskrun:
    RuntimeWarning: invalid value encountered in reduce" (its sum is NaN, redone over the finite pixels)."""
    import warnings

    from maskrun.config.fill import FillParams
    from maskrun.engine.fills import FILLS

    images = np.arange(2 * 16, dtype=np.float32).reshape(2, 4, 4)
    images[0, 0, 0], images[0, 0, 1] = np.inf, -np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fills = FILLS[fill].images(images, FillParams.model_validate({"with": fill}), None, 0)
    finite = images[0][np.isfinite(images[0])]
    expected = {"avg": finite.mean(dtype=np.float64), "min": finite.min(), "max": finite.max()}[fill]
    assert fills[0] == pytest.approx(expected) and np.isfinite(fills).all()


def test_big_endian_images_get_the_fill_of_the_same_values_little_endian(tmp_path):
    fill = "avg"  # summed in float32 for float32 images: '>f4' was summed in float64, 1 ulp off
    stack = (np.random.default_rng(1).normal(size=(16, 96, 96)) + 3).astype(np.float32)
    disc = maskrun.make_mask({"shape": "circular", "radius": 30}, (96, 96))
    native = maskrun.mask_array(stack, disc, fill=fill, kind="stack")
    np.testing.assert_array_equal(maskrun.mask_array(stack.astype(">f4"), disc, fill=fill, kind="stack"), native)
    with mrcfile.new(tmp_path / "be.mrcs") as mrc:
        mrc.set_data(stack.astype(">f4"))
    with mrcfile.open(tmp_path / "be.mrcs") as mrc:
        assert mrc.data.dtype.byteorder == ">"
    maskrun.mask_file(tmp_path / "be.mrcs", tmp_path / "out.mrcs", mask={"shape": "circular", "radius": 30}, fill=fill)
    with mrcfile.open(tmp_path / "out.mrcs") as mrc:
        np.testing.assert_array_equal(mrc.data, native)
