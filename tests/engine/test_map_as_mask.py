"""`looks_like_a_map`: a mask has a plateau at its top, a density map peaks; the API's words for the refusal."""

from __future__ import annotations

import mrcfile
import numpy as np
import pytest
from fsc_phantoms import phantom_halves, soft_mask
from scipy import ndimage

from maskrun.engine.map_as_mask import MapAsMask, looks_like_a_map, map_as_mask, plateau_share
from maskrun.geometry.map_mask import MapMaskSteps, mask_from_map

from conftest import shared_path


@pytest.fixture(scope="module")
def phantom():
    return phantom_halves(64, noise=1.5, blob_sigma_px=3.0)


def ball(core_px: float, edge_px: float, box: int = 64) -> np.ndarray:
    radius = np.sqrt(((np.indices((box,) * 3) - box / 2) ** 2).sum(0))
    return mask_from_map((radius <= core_px).astype(np.float32), MapMaskSteps(0.5, soft_edge_px=edge_px))


def test_masks_of_every_kind_have_a_plateau_and_maps_do_not(phantom):
    half1, _, signal = phantom
    masks = {
        "soft": soft_mask(signal, 0.05, 2, 8),
        "hard": soft_mask(signal, 0.1, 0, 0),
        "resampled": ndimage.shift(soft_mask(signal, 0.05, 2, 8), 0.5, order=3),  # overshoots [0, 1]
        "scaled": 255 * soft_mask(signal, 0.05, 2, 8),
        "small core, wide edge": ball(2, 12),
    }
    for name, values in masks.items():
        assert not looks_like_a_map(values), (name, plateau_share(values))
    maps = {"half-map": half1, "signal": signal, "signal scaled small": 1e-3 * signal}
    with mrcfile.open(shared_path("data", "public", "ref_model.mrc"), permissive=True) as mrc:
        maps["ref_model"] = np.asarray(mrc.data, dtype=np.float32)
    maps["ref_model masked"] = maps["ref_model"] * (maps["ref_model"] > 1e-4)  # solvent flat at 0
    for name, values in maps.items():
        assert looks_like_a_map(values), (name, plateau_share(values))


def test_the_refusal_without_a_front_end_names_make_mask_and_with_one_its_command():
    refusal = map_as_mask(-0.0004, 0.0013, "h.mrc", "mask")
    assert isinstance(refusal, MapAsMask) and refusal.exit_status == 2
    assert str(refusal) == (
        "h.mrc: mask: mask values run from -0.0004 to 0.0013, outside [0, 1], with no plateau at their top as a mask "
        "has: this looks like a map, not a mask: make a mask from it with maskrun make-mask (a threshold on the map, "
        "an extension and a soft edge)"
    )
    assert str(refusal.made_with("CMD")).endswith("this looks like a map, not a mask: make a mask from it with CMD")
