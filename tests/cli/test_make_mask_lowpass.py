"""make-mask --from-map --lowpass speaks of the map it thresholds: the low-passed one (docs/spec.md)."""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest

from maskrun.cli.main import main
from maskrun.geometry.map_mask import MapMaskSteps, low_pass, mask_from_map

from commands import digest
from conftest import write_mrc

VOXEL = 2.0
LOWPASS = 12.0


def noisy_blob(box: int = 32, seed: int = 3) -> np.ndarray:
    """A Gaussian blob in white noise: the low-pass shrinks the noise, so its range and σ are far from the file's."""
    z, y, x = np.ogrid[:box, :box, :box]
    c = box / 2
    density = np.exp(-((z - c) ** 2 + (y - c) ** 2 + (x - c) ** 2) / 18.0)
    return (density + 0.3 * np.random.default_rng(seed).standard_normal(density.shape)).astype(np.float32)


@pytest.fixture
def blob(tmp_path):
    return write_mrc(tmp_path / "blob.mrc", noisy_blob(), voxel_size=VOXEL)


def low_passed() -> np.ndarray:
    return low_pass(noisy_blob().astype(np.float64), LOWPASS, VOXEL)


def test_the_notes_give_the_low_passed_maps_levels_and_sigma(blob, tmp_path, capsys):
    """The levels were the file's (σ 0.3) while the threshold met the low-passed map (σ ≈ 0.05)."""
    out = tmp_path / "m.mrc"
    assert main(["make-mask", str(out), "--from-map", str(blob), "--threshold", "3 sigma", "--lowpass", "12"]) == 0
    levels, chosen, _kept = capsys.readouterr().err.splitlines()
    filtered = low_passed()
    mean, sigma = float(filtered.mean()), float(filtered.std())
    assert sigma < 0.5 * float(noisy_blob().std())  # the low-pass matters here
    assert levels.startswith(
        f"maskrun: note: blob.mrc after low-pass to 12 Å: values from {filtered.min():.4g} to {filtered.max():.4g}; "
    )
    assert levels.endswith(
        f"; mean {mean:.4g}, σ {sigma:.4g}: mean + 1σ = {mean + sigma:.4g}, "
        f"mean + 2σ = {mean + 2 * sigma:.4g}, mean + 3σ = {mean + 3 * sigma:.4g}"
    )
    assert chosen == (
        f"maskrun: note: threshold '3 sigma' is {mean + 3 * sigma:.6g}: after low-pass to 12 Å, "
        f"mean {mean:.4g} + 3 × σ {sigma:.4g}"
    )


def test_without_a_low_pass_the_notes_are_the_files(blob, tmp_path, capsys):
    assert main(["make-mask", str(tmp_path / "m.mrc"), "--from-map", str(blob), "--threshold", "3 sigma"]) == 0
    levels, chosen, _kept = capsys.readouterr().err.splitlines()
    density = noisy_blob().astype(np.float64)
    assert levels.startswith(f"maskrun: note: blob.mrc: values from {density.min():.4g} to {density.max():.4g}; ")
    assert chosen.endswith(f": mean {density.mean():.4g} + 3 × σ {density.std():.4g}")


def test_a_threshold_above_the_low_passed_map_names_its_range_as_such(blob, tmp_path, capsys):
    filtered = low_passed()
    threshold = f"{1.1 * filtered.max():.4g}"  # below the file's maximum: only the low-passed map is under it
    assert float(threshold) < float(noisy_blob().max())
    before = digest(tmp_path)
    assert (
        main(
            ["make-mask", str(tmp_path / "m.mrc"), "--from-map", str(blob), "--threshold", threshold, "--lowpass", "12"]
        )
        == 2
    )
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(
            f"{blob}: --threshold: threshold {threshold} is above every value of the map after low-pass to 12 Å "
            f"(its range is {filtered.min():g} to {filtered.max():g}); lower the threshold"
        )
    )
    assert digest(tmp_path) == before


@pytest.fixture
def noise(tmp_path):
    return write_mrc(tmp_path / "noise.mrc", np.random.default_rng(1).standard_normal((32, 32, 32)), voxel_size=1.0)


def test_auto_failing_on_a_low_passed_map_proposes_a_coarser_low_pass_by_the_option(noise, tmp_path, capsys):
    """It said "low-pass the map first (lowpass_angstrom)" although --lowpass 4 was given, and named the job's key."""
    before = digest(tmp_path)
    args = ["make-mask", str(tmp_path / "m.mrc"), "--from-map", str(noise), "--threshold", "auto", "--lowpass", "4"]
    assert main(args) == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith(
        f"maskrun make-mask: error: {noise}: --threshold: 'auto' found no level above the noise free of speckles in "
        "the map after low-pass to 4 Å (median "
    )
    assert line.endswith(
        "); give --lowpass a coarser resolution than 4 Å (say 8), or a σ level ('4 sigma') or a number"
    )
    assert digest(tmp_path) == before


def test_auto_failing_without_a_low_pass_proposes_one_by_the_option(noise, tmp_path, capsys):
    assert main(["make-mask", str(tmp_path / "m.mrc"), "--from-map", str(noise), "--threshold", "auto"]) == 2
    assert (
        capsys.readouterr().err.strip().endswith("); low-pass the map first (--lowpass), or give a number or a σ level")
    )


def test_auto_failing_in_a_job_names_the_job_files_key(noise, tmp_path, capsys):
    from job_files import job_with, write_job

    mask = {"source": "map", "map": {"file": "noise.mrc", "threshold": "auto", "lowpass_angstrom": 4}}
    job = write_job(tmp_path, job_with(inputs__particles=None, inputs__volumes="noise.mrc", mask=mask))
    assert main(["validate", str(job)]) == 2
    line = capsys.readouterr().err.strip()
    assert f"{noise}: mask.map.threshold: 'auto' found no level above the noise" in line
    assert line.endswith(
        "; give mask.map.lowpass_angstrom a coarser resolution than 4 Å (say 8), or a σ level ('4 sigma') or a number"
    )


@pytest.mark.parametrize("threshold", ["3 sigma", "0.1"])
def test_the_map_is_low_passed_once_for_its_notes_rule_and_mask(blob, tmp_path, capsys, monkeypatch, threshold):
    """The review: the note, a rule's threshold and the mask each low-passed the map (2-3 transforms of a map that
    may be 1 GB in float64); the mask is the same as the map's own low-pass gives."""
    import maskrun.engine.created_mask as created
    import maskrun.geometry.map_mask as geometry

    calls = []

    def counted(*args, **kwargs):
        calls.append(args[1:])
        return low_pass(*args, **kwargs)

    monkeypatch.setattr(created, "low_pass", counted)
    monkeypatch.setattr(geometry, "low_pass", counted)
    out = tmp_path / "m.mrc"
    command = ["make-mask", str(out), "--from-map", str(blob), "--threshold", threshold, "--lowpass", "12"]
    assert main([*command, "--soft-edge", "2"]) == 0
    assert calls == [(LOWPASS, VOXEL)]
    filtered = low_passed()
    value = float(filtered.mean() + 3 * filtered.std()) if threshold == "3 sigma" else 0.1
    steps = MapMaskSteps(threshold=value, soft_edge_px=2.0, lowpass_angstrom=LOWPASS)
    expected = mask_from_map(noisy_blob(), steps, VOXEL)  # its own low-pass
    np.testing.assert_allclose(mrcfile.read(out), expected, atol=1e-6)
    assert created._low_passed.cache_info().currsize == 0  # let go once the mask is made


NYQUIST_CASES = [(2.0, "changes nothing"), (2.2, "changes nothing"), (3.5, "taking off only the box's corners")]


@pytest.mark.parametrize("resolution, does", [*NYQUIST_CASES, (3.9, None), (4.0, None), (8.0, None)])
def test_a_low_pass_finer_than_nyquist_is_said_exactly_where_it_leaves_the_map_as_it_is(resolution, does):
    """At 2 Å/px (Nyquist 4 Å) on 32³: the sentence says what `low_pass` does, for `relion_mask_create --lowpass 5`
    on an 11.4 Å/px map changes nothing, silently. A value a little finer than Nyquist still filters within it (3.9 Å
    here is shell 16, whose 2-shell edge starts at 15): it is not warned of; 4 Å and coarser always filter."""
    from maskrun.geometry.map_mask import low_pass_beyond_nyquist

    density = noisy_blob().astype(np.float64)
    said = low_pass_beyond_nyquist(resolution, VOXEL, density.shape)
    before, after = np.fft.rfftn(density), np.fft.rfftn(low_pass(density, resolution, VOXEL))
    k = np.sqrt(sum(f**2 for f in np.meshgrid(*[np.fft.fftfreq(32)] * 2, np.fft.rfftfreq(32), indexing="ij")))
    within = k <= 0.5  # the Nyquist sphere, in cycles per voxel
    if does is None:
        assert said is None and not np.allclose(before[within], after[within])
        return
    assert said == (
        f"{resolution:g} Å is finer than the map's Nyquist, 4 Å: the low-pass "
        + ("changes nothing" if does == "changes nothing" else f"keeps every frequency up to it, {does} beyond it")
        + "; give a value above 4 Å or leave it out"
    )
    np.testing.assert_allclose(after[within], before[within], rtol=0, atol=1e-9 * np.abs(before).max())
    assert np.allclose(before, after) == (does == "changes nothing")


def test_make_mask_and_a_job_warn_of_a_low_pass_finer_than_nyquist_and_make_the_mask_without_it(blob, tmp_path, capsys):
    """`--lowpass 5` on an 11.4 Å/px map was accepted without a word, as relion_mask_create accepts it: a warning,
    for the mask is RELION's (made all the same), and the user likely meant a value for another map."""
    from job_files import write_job

    said = (
        "5 Å is finer than the map's Nyquist, 22.8 Å: the low-pass changes nothing; give a value above 22.8 Å or "
        "leave it out"
    )
    write_mrc(tmp_path / "coarse.mrc", noisy_blob(20), voxel_size=11.4)
    made = {}
    for lowpass in (["--lowpass", "5"], []):
        out = tmp_path / f"m{len(lowpass)}.mrc"
        assert (
            main(["make-mask", str(out), "--from-map", str(tmp_path / "coarse.mrc"), "--threshold", "0.5", *lowpass])
            == 0
        )
        warned = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
        assert warned == ([f"maskrun: warning: coarse.mrc: --lowpass: {said}"] if lowpass else [])
        made[len(lowpass)] = mrcfile.read(out)
    np.testing.assert_array_equal(made[2], made[0])
    mask = {"source": "map", "map": {"file": "coarse.mrc", "threshold": 0.5, "lowpass_angstrom": 5, "soft_edge_px": 2}}
    job = {"version": 1, "name": "lp", "inputs": {"volumes": "coarse.mrc"}, "mask": mask}
    assert main(["validate", str(write_job(tmp_path, job))]) == 0
    assert f"maskrun: warning: coarse.mrc: mask.map.lowpass_angstrom: {said}" in capsys.readouterr().err.splitlines()
