"""Thresholds that choose themselves: '3 sigma', '250 kDa', '1.2e6 A3', 'auto' (docs/spec.md, "Masks from maps")."""

from __future__ import annotations

import json

import mrcfile
import numpy as np
import pytest
from scipy import ndimage

from maskrun.cli.main import main
from maskrun.config.mask_spec import MapMaskParams
from maskrun.config.threshold import threshold_rule
from maskrun.geometry.threshold_choice import choose_threshold
from maskrun.jobs.runner import run_job

from conftest import write_mrc
from job_files import write_job

VOXEL = 1.5


def blob_map(box: int = 40, noise: float = 0.02, seed: int = 0) -> np.ndarray:
    """Two touching Gaussian blobs plus a little white noise."""
    rng = np.random.default_rng(seed)
    z, y, x = np.ogrid[:box, :box, :box]
    c = box / 2
    density = np.exp(-((z - c) ** 2 + (y - c) ** 2 + (x - c + 4) ** 2) / 18.0)
    density += 0.7 * np.exp(-((z - c) ** 2 + (y - c) ** 2 + (x - c - 4) ** 2) / 12.0)
    return (density + noise * rng.standard_normal(density.shape)).astype(np.float32)


@pytest.mark.parametrize(
    ("text", "kind", "amount"),
    [
        ("3 sigma", "sigma", 3.0),
        ("2.5σ", "sigma", 2.5),
        ("250 kDa", "volume", 250e3 / 0.81),
        ("1.2 MDa", "volume", 1.2e6 / 0.81),
        ("1.2e6 A3", "volume", 1.2e6),
        ("1.2e6 Å³", "volume", 1.2e6),
        ("800 nm3", "volume", 8e5),
        ("auto", "auto", 0.0),
        ("0.25", "value", 0.25),
        (0.25, "value", 0.25),
    ],
)
def test_threshold_text_reads_as_its_rule(text, kind, amount):
    rule = threshold_rule(text)
    assert rule.kind == kind and rule.amount == pytest.approx(amount)


@pytest.mark.parametrize("text", ["3 furlongs", "sigma", "-5 kDa", "0 A3", "lots"])
def test_unreadable_thresholds_are_refused_when_the_job_is_read(text):
    with pytest.raises(ValueError, match="threshold"):
        MapMaskParams(file="m.mrc", threshold=text)


def test_sigma_level_is_mean_plus_k_sigma():
    density = blob_map()
    chosen = choose_threshold(density, threshold_rule("3 sigma"), VOXEL)
    assert chosen.value == pytest.approx(density.mean(dtype=np.float64) + 3 * density.std(dtype=np.float64))


@pytest.mark.parametrize("text", ["1e3 A3", "5 kDa"])
def test_volume_and_mass_enclose_that_many_voxels(text):
    density = blob_map()
    rule = threshold_rule(text)
    chosen = choose_threshold(density, rule, VOXEL)
    assert int((density >= chosen.value).sum()) == round(rule.amount / VOXEL**3)


def test_auto_keeps_the_blobs_and_leaves_out_the_noise():
    density = blob_map(noise=0.05)
    chosen = choose_threshold(density, threshold_rule("auto"), VOXEL)
    kept = density >= chosen.value
    labels, _ = ndimage.label(kept)
    sizes = np.bincount(labels.ravel())[1:]
    assert sizes.max() >= 0.95 * kept.sum()  # the blobs, in one piece, and few speckles
    assert kept[20, 20, 16] and kept[20, 20, 24]  # both blob centres
    assert 3 * 0.05 < chosen.value < 0.5  # above the noise, well below the blobs' peaks


def test_auto_takes_the_noise_inside_the_sphere_when_the_corners_are_flattened_as_relion_reconstructs():
    """The verdict look: RELION's reconstructions are near noise-free beyond the inscribed sphere, so 'auto' took
    σ 0.044 where the solvent's is 0.12 and kept 71 % of the box (the sensible mask keeps 27 %)."""
    box = 64
    rng = np.random.default_rng(3)
    z, y, x = np.ogrid[:box, :box, :box]
    r2 = (z - box / 2) ** 2 + (y - box / 2) ** 2 + (x - box / 2) ** 2
    density = np.exp(-r2 / (2 * 6.0**2))
    solvent = ndimage.gaussian_filter(rng.standard_normal((box,) * 3), 1.0)
    solvent *= 0.08 / solvent.std()  # smooth noise, as a low-passed map's: its pieces are large
    flattened = np.where(r2 <= (box / 2) ** 2, 1.0, 0.1)  # RELION's reconstruction fades outside its sphere
    reconstructed = (density + solvent * flattened).astype(np.float32)
    chosen = choose_threshold(reconstructed, threshold_rule("auto"), VOXEL)
    assert chosen.how.startswith("box-edge (inside the inscribed sphere: the corners are flattened) noise")
    assert chosen.value >= 3 * 0.08 * 0.8  # above the solvent's noise (robust σ of a smooth field: ~0.8 of it)
    kept = float((reconstructed >= chosen.value).mean())
    assert kept < 2 * float((density >= chosen.value).mean()) + 0.01  # the particle, not the solvent
    unflattened = (density + solvent).astype(np.float32)  # corners as noisy as the rest: as before
    assert choose_threshold(unflattened, threshold_rule("auto"), VOXEL).how.startswith("box-corner noise")


def test_auto_on_pure_noise_is_refused_with_a_fix():
    noise = np.random.default_rng(1).standard_normal((32, 32, 32)).astype(np.float32)
    with pytest.raises(ValueError, match="low-pass the map first"):
        choose_threshold(noise, threshold_rule("auto"), VOXEL)


def test_make_mask_prints_the_chosen_number(tmp_path, capsys):
    source = write_mrc(tmp_path / "map.mrc", blob_map(), voxel_size=VOXEL)
    out = tmp_path / "mask.mrc"
    assert main(["make-mask", str(out), "--from-map", str(source), "--threshold", "2 kDa"]) == 0
    err = capsys.readouterr().err
    density = blob_map()
    count = round(2e3 / 0.81 / VOXEL**3)
    value = np.sort(density.ravel())[-count]
    assert f"threshold '2 kDa' is {value:.6g}" in err
    np.testing.assert_array_equal(mrcfile.read(out) == 1, density >= value)


def test_make_mask_refuses_an_unknown_rule(tmp_path, capsys):
    source = write_mrc(tmp_path / "map.mrc", blob_map(), voxel_size=VOXEL)
    out = tmp_path / "mask.mrc"
    assert main(["make-mask", str(out), "--from-map", str(source), "--threshold", "3 furlongs"]) == 2
    err = capsys.readouterr().err
    assert "--threshold" in err and "unknown unit" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_job_records_the_number_its_rule_chose(tmp_path):
    density = blob_map()
    write_mrc(tmp_path / "map.mrc", density, voxel_size=VOXEL)
    write_mrc(tmp_path / "vol.mrc", density, voxel_size=VOXEL)
    job = {
        "version": 1,
        "name": "rule",
        "inputs": {"volumes": "vol.mrc"},
        "mask": {"source": "map", "map": {"file": "map.mrc", "threshold": "2 sigma"}},
        "fill": {"with": "value", "value": 0},
    }
    summary = run_job(write_job(tmp_path, job))
    record = json.loads((summary.output_dir / "provenance" / "run.json").read_text())
    resolved = record["job_resolved"]["mask"]["map"]
    expected = density.mean(dtype=np.float64) + 2 * density.std(dtype=np.float64)
    assert resolved["threshold"] == pytest.approx(expected)
    assert resolved["threshold_rule"]["rule"] == "2 sigma"
    masked = mrcfile.read(summary.output_dir / "volumes" / "vol.mrc")
    np.testing.assert_array_equal(masked != 0, density >= expected)


def test_a_job_records_its_rule_as_met_on_the_low_passed_map(tmp_path):
    """With ``lowpass_angstrom`` the rule's numbers are the low-passed map's, and the record says so."""
    from maskrun.geometry.map_mask import low_pass

    density = blob_map(noise=0.2)
    write_mrc(tmp_path / "map.mrc", density, voxel_size=VOXEL)
    write_mrc(tmp_path / "vol.mrc", density, voxel_size=VOXEL)
    job = {
        "version": 1,
        "name": "rule-lowpass",
        "inputs": {"volumes": "vol.mrc"},
        "mask": {"source": "map", "map": {"file": "map.mrc", "threshold": "2 sigma", "lowpass_angstrom": 9}},
        "fill": {"with": "value", "value": 0},
    }
    summary = run_job(write_job(tmp_path, job))
    resolved = json.loads((summary.output_dir / "provenance" / "run.json").read_text())["job_resolved"]["mask"]["map"]
    filtered = low_pass(density.astype(np.float64), 9, VOXEL)
    mean, sigma = filtered.mean(), filtered.std()
    assert resolved["threshold"] == pytest.approx(mean + 2 * sigma)
    assert resolved["threshold_rule"]["how"] == f"after low-pass to 9 Å, mean {mean:.4g} + 2 × σ {sigma:.4g}"


def masked_map() -> np.ndarray:
    """A postprocess `_masked.mrc`: a blob on a plateau of exact zeros (and a few negative voxels in it)."""
    density = blob_map(box=32, noise=0.01)
    density[density < 0.05] = 0.0
    density[0, 0, :5] = -0.01
    return density


def test_a_mass_ending_inside_a_plateau_keeps_what_lies_above_it_and_says_so():
    """The look: AK.mrc has 252,678 zeros and 9,142 positive voxels; '25 kDa' (9,145 voxels) chose 0, said 9,145
    voxels at or above it and kept 99.9 % of the box."""
    density = masked_map()
    positive = int((density > 0).sum())
    mass_kda = (positive + 3) * VOXEL**3 * 0.81 / 1000  # 3 voxels more than the positive ones: into the zeros
    chosen = choose_threshold(density, threshold_rule(f"{mass_kda:.6g} kDa"), VOXEL)
    assert chosen.value == pytest.approx(float(density[density > 0].min()))
    assert int((density >= chosen.value).sum()) == positive
    zeros = int((density == 0).sum())
    assert chosen.how.startswith(f"{positive} voxels, ")
    assert chosen.how.endswith(f"; fewer than the {positive + 3:,} asked: {zeros:,} voxels share the value 0")


def test_a_mass_ending_among_distinct_values_keeps_exactly_that_many():
    density = masked_map()
    count = int((density > 0).sum()) - 10
    chosen = choose_threshold(density, threshold_rule(f"{count * VOXEL**3:.10g} A3"), VOXEL)
    assert int((density >= chosen.value).sum()) == count
    assert chosen.how.startswith(f"{count} voxels, ") and "asked" not in chosen.how


def test_a_threshold_on_a_plateau_is_not_blamed_on_noise(tmp_path, capsys):
    source = write_mrc(tmp_path / "masked.mrc", masked_map(), voxel_size=VOXEL)
    out = tmp_path / "mask.mrc"
    assert main(["make-mask", str(out), "--from-map", str(source), "--threshold", "0"]) == 0
    warning = next(line for line in capsys.readouterr().err.splitlines() if "warning:" in line)
    zeros = int((masked_map() == 0).sum())
    assert f"the threshold 0 is met by {zeros:,} voxels of the map that all equal it" in warning
    assert "noise" not in warning and "pieces" not in warning
    assert warning.endswith("raise it above 0")
