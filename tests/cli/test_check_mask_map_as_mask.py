"""maskrun check-mask given a map as its mask: the very file given as a half-map refused outright, and values that
look like a density map's (no plateau at their top) told to make a mask from the map, not to clip them to [0, 1]."""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest
from fsc_phantoms import phantom_halves, soft_mask
from scipy import ndimage

from maskrun.cli.main import main

from conftest import shared_path, write_mrc

BOX, VOXEL = 64, 2.0
REF_VOXEL = 3.54


@pytest.fixture(scope="module")
def phantom():
    return phantom_halves(BOX, noise=1.5, blob_sigma_px=3.0)


@pytest.fixture
def halves(tmp_path, phantom):
    return [write_mrc(tmp_path / f"h{i + 1}.mrc", phantom[i], voxel_size=VOXEL) for i in (0, 1)]


def refused(capsys, *argv) -> str:
    """check-mask's one-line refusal (exit 2, no traceback)."""
    status = main(["check-mask", *map(str, argv)])
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err.strip()


def test_a_half_map_given_as_the_mask_is_refused_naming_both_options_before_any_fsc(
    tmp_path, capsys, halves, monkeypatch
):
    """The RELION user's look: --mask h1.mrc (the file given as --half1) read "mask values run from -0.000443109 to
    0.00127198, outside [0, 1]; a resampled mask overshoots so: … or clip these values to [0, 1]"."""
    import maskrun.engine.mask_check

    def computed(*args, **kwargs):
        raise AssertionError("the FSC was computed for a mistake the paths show")

    monkeypatch.setattr(maskrun.engine.mask_check, "HalfMaps", computed)
    h1, h2 = halves
    err = refused(capsys, "--half1", h1, "--half2", h2, "--mask", h1)
    assert err == (
        f"maskrun check-mask: error: {h1}: --mask: is the same file as --half1, a half-map, not a mask: give the mask "
        f"to judge, or make one from the map with maskrun make-mask OUT.mrc --from-map {h1} --threshold auto "
        "--soft-edge 6"
    )
    link = tmp_path / "mask.mrc"
    link.symlink_to(h2)  # another name, the same file
    err = refused(capsys, "--half1", h1, "--half2", h2, "--mask", link)
    assert err.startswith(f"maskrun check-mask: error: {link}: --mask: is the same file as --half2, a half-map")
    assert "clip" not in err


@pytest.fixture(scope="module")
def ref_halves(tmp_path_factory):
    """Half-maps as the look made them: ref_model.mrc plus smooth noise as strong as its signal, in each half."""
    path = shared_path("data", "public", "ref_model.mrc")
    with mrcfile.open(path, permissive=True) as mrc:
        density = np.asarray(mrc.data, dtype=np.float32)
    rng = np.random.default_rng(3)
    folder = tmp_path_factory.mktemp("ref")
    written = []
    for i in (1, 2):
        noise = ndimage.gaussian_filter(rng.normal(0, 1, density.shape), 1.0).astype(np.float32)
        half = density + noise * (density.std() / noise.std())
        written.append(write_mrc(folder / f"h{i}.mrc", half, voxel_size=REF_VOXEL))
    return path, written


def test_a_density_map_given_as_the_mask_is_told_to_make_a_mask_from_it_and_that_command_works(
    tmp_path, capsys, ref_halves
):
    """The look: --mask ref_model.mrc (values -0.00014 to 0.0011, within a resampled mask's overshoot of [0, 1]) and a
    half-map copied under another name were both told to clip their values to [0, 1] and use them as masks."""
    ref_model, (h1, h2) = ref_halves
    copied = write_mrc(tmp_path / "copy_of_h1.mrc", mrcfile.read(h1), voxel_size=REF_VOXEL)
    for given in (ref_model, copied):
        err = refused(capsys, "--half1", h1, "--half2", h2, "--mask", given)
        low, high = (float(v) for v in err.split("mask values run from ")[1].split(", outside")[0].split(" to "))
        assert -0.1 < low < 0 and 0 < high < 0.01  # within a resampled mask's overshoot: the old advice's case
        assert err.startswith(f"maskrun check-mask: error: {given}: --mask: mask values run from ")
        assert err.endswith(
            "outside [0, 1], with no plateau at their top as a mask has: this looks like a map, not a mask: make a "
            f"mask from it with maskrun make-mask OUT.mrc --from-map {given} --threshold auto --soft-edge 6"
        )
        assert "clip" not in err and "resampled" not in err
    made = tmp_path / "OUT.mrc"
    command = f"make-mask {made} --from-map {ref_model} --threshold auto --soft-edge 6".split()
    assert main(command) == 0
    assert main(["check-mask", "--half1", str(h1), "--half2", str(h2), "--mask", str(made)]) == 0
    assert "verdict: " in capsys.readouterr().out


def test_a_resampled_masks_overshoot_keeps_its_own_advice(tmp_path, capsys, halves, phantom):
    """A real mask shifted by half a voxel with a cubic spline (as a resampling interpolates) overshoots [0, 1] a
    little: still a mask, told how to resample it, not called a map."""
    mask = soft_mask(phantom[2], 0.05, 2, 8)
    shifted = ndimage.shift(mask, 0.5, order=3)
    assert shifted.min() < -1e-3 and shifted.max() > 1 + 1e-3
    path = write_mrc(tmp_path / "resampled.mrc", shifted, voxel_size=VOXEL)
    err = refused(capsys, "--half1", halves[0], "--half2", halves[1], "--mask", path)
    assert "a resampled mask overshoots so: resample the map and make the mask again" in err
    assert "looks like a map" not in err
