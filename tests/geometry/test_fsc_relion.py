"""The FSC curves of check-mask against relion_postprocess (RELION 3.1.3) on phantom half-maps.

Targets (issue 26): unmasked and masked FSC within 0.005 in every shell; phase-randomised and
corrected within 0.005 up to the randomisation shell and within 3/sqrt(voxels in the shell)
beyond (maskrun draws RELION's own random phases, so they agree far closer); the same
randomise-from shell; the resolution within one shell.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import starfile
from fsc_phantoms import phantom_halves, soft_mask

from maskrun.geometry.fsc import masked_fsc
from maskrun.geometry.mask_verdict import judge, measure, noise_spread, randomised_fsc_limits

from conftest import write_mrc

RELION = shutil.which("relion_postprocess")
needs_relion = pytest.mark.skipif(RELION is None, reason="relion_postprocess (RELION 3.1.3) is not installed")

# (box, voxel size Å, noise, blob size px): several boxes and voxel sizes
MAPS = {"64 at 2.0 A": (64, 2.0, 1.5, 3.0), "96 at 1.3 A": (96, 1.3, 2.0, 4.0), "80 at 0.9 A": (80, 0.9, 1.0, 3.5)}
# a clearly fine mask of each: 10-15 Å of soft padding around the phantom
FINE = {"64 at 2.0 A": (0.05, 4, 8), "96 at 1.3 A": (0.03, 4, 8), "80 at 0.9 A": (0.02, 6, 10)}
# (level of the phantom's peak, extend px, soft edge px): tight and hard to loose and soft
MASKS = {
    "tight hard": (0.4, 0, 0),
    "tight": (0.2, 0, 2),
    "snug": (0.1, 2, 3),
    "soft": (0.02, 6, 10),
    "loose": (0.01, 16, 8),
}


def relion_postprocess(tmp_path, half1, half2, mask, voxel):
    paths = [
        write_mrc(tmp_path / f"{name}.mrc", a, voxel_size=voxel)
        for name, a in (("h1", half1), ("h2", half2), ("m", mask))
    ]
    command = [RELION, "--i", str(paths[0]), "--i2", str(paths[1]), "--mask", str(paths[2]), "--angpix", str(voxel)]
    command += ["--o", str(tmp_path / "pp"), "--auto_bfac", "false", "--adhoc_bfac", "0"]
    subprocess.run(command, capture_output=True, cwd=tmp_path)  # may exit 1 in the sharpening, after pp.star
    return starfile.read(tmp_path / "pp.star")


@needs_relion
@pytest.mark.parametrize("mask_name", MASKS)
@pytest.mark.parametrize("map_name", MAPS)
def test_curves_match_relion_postprocess(tmp_path, map_name, mask_name):
    box, voxel, noise, blob = MAPS[map_name]
    half1, half2, signal = phantom_halves(box, noise=noise, blob_sigma_px=blob)
    mask = soft_mask(signal, *MASKS[mask_name])
    star = relion_postprocess(tmp_path, half1, half2, mask, voxel)
    general, table = star["general"], star["fsc"]
    ours = masked_fsc(half1, half2, mask, voxel)

    assert len(table) == ours.unmasked.size == box // 2 + 1
    start = ours.randomise_from_shell
    assert float(general["rlnRandomiseFrom"]) == pytest.approx(box * voxel / start, rel=1e-5)
    np.testing.assert_allclose(ours.unmasked, table["rlnFourierShellCorrelationUnmaskedMaps"], atol=0.005)
    np.testing.assert_allclose(ours.masked, table["rlnFourierShellCorrelationMaskedMaps"], atol=0.005)
    beyond_tolerance = np.where(np.arange(box // 2 + 1) <= start, 0.005, 3 / np.sqrt(ours.voxels_per_shell))
    randomised = table["rlnCorrectedFourierShellCorrelationPhaseRandomizedMaskedMaps"].to_numpy()
    assert np.all(np.abs(ours.phase_randomised_masked - randomised) <= beyond_tolerance)
    # RELION's own random phases: closer than the target by far
    np.testing.assert_allclose(ours.phase_randomised_masked, randomised, atol=0.005)
    corrected = table["rlnFourierShellCorrelationCorrected"].to_numpy()
    assert np.all(np.abs(ours.corrected - corrected) <= beyond_tolerance)
    np.testing.assert_allclose(ours.corrected, corrected, atol=0.005)
    relion_shell = round(box * voxel / float(general["rlnFinalResolution"]))
    assert abs(ours.resolution_shell - relion_shell) <= 1  # the target; in fact the same shell:
    assert ours.resolution_shell == relion_shell


@needs_relion
@pytest.mark.parametrize("map_name", MAPS)
def test_verdict_flags_every_mask_whose_relion_curve_passes_its_shells_limit(tmp_path, map_name):
    """A phase-randomised masked FSC (RELION's curve) above its shell's limit past the randomisation shell is 'too
    tight': 0.1, or 3 × the shell's noise where that is more (the 64³ box's 'snug' mask passes 0.1 within the
    noise of its shells and is not flagged)."""
    box, voxel, noise, blob = MAPS[map_name]
    half1, half2, signal = phantom_halves(box, noise=noise, blob_sigma_px=blob)
    tight_seen = fine_seen = 0
    for name, params in {**MASKS, "fine": FINE[map_name]}.items():
        mask = soft_mask(signal, *params)
        folder = tmp_path / name.replace(" ", "_")
        folder.mkdir()
        table = relion_postprocess(folder, half1, half2, mask, voxel)["fsc"]
        curves = masked_fsc(half1, half2, mask, voxel, reliable_maps=True)
        verdict, reasons = judge(measure(curves, mask), voxel)
        first = curves.randomise_from_shell + 2
        last = max(curves.resolution_shell, first)
        randomised = table["rlnCorrectedFourierShellCorrelationPhaseRandomizedMaskedMaps"].to_numpy()
        assert curves.independent_voxels_per_shell is not None
        limits = randomised_fsc_limits(curves.independent_voxels_per_shell, noise_spread(mask))
        if (randomised[first : last + 1] > limits[first : last + 1]).any():
            tight_seen += 1
            assert "too tight" in [r.verdict for r in reasons], (name, verdict)
        if name == "fine":
            fine_seen += 1
            assert verdict == "fine", (name, reasons)
    assert tight_seen >= 2 and fine_seen == 1
