"""A shape that follows the particles (``mask.follow``) is the fixed shape moved and turned: it keeps its size.

A RELION 5 user's look: a 30 × 12 box followed 4 helical segments and kept 360, 348, 320
and 360 pixels, a 0.3 Å shift losing a column and a 0.5° turn a row and a column.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from maskrun.config.shape_params import Box, Circular, Crown, RaisedCosine
from maskrun.engine.following_masks import followed_masks
from maskrun.geometry.masks import build_mask

N = 64
pytestmark = pytest.mark.filterwarnings("ignore::maskrun.errors.MaskrunWarning")


def followed(shape, x=0.0, y=0.0, psi=None) -> np.ndarray:
    turns = None if psi is None else np.array([psi], dtype=np.float64)
    return followed_masks(shape, (N, N), np.array([x]), np.array([y]), "maskrun", turns)[0]


def box(**fields) -> Box:
    return Box(box_size=(30, 12), **fields).resolve(n_x=N, ndim=2)


@pytest.mark.parametrize(
    "x, y, psi",
    [(0.0, 0.0, 0.0), (0.3, 0.0, 0.0), (0.0, 0.3, None), (0.5, 0.5, None), (-2.7, 1.25, None), (0.0, 0.0, 0.5)],
)
def test_a_box_moved_by_a_fraction_of_a_pixel_or_turned_a_little_keeps_its_pixels(x, y, psi):
    kept = followed(box(), x, y, psi)
    assert kept.sum() == 360  # 30 × 12, where the span of pixel centres kept 29 × 12, 30 × 11 or 29 × 11
    if psi is None:
        rows, columns = np.nonzero(kept)
        assert (len(np.unique(columns)), len(np.unique(rows))) == (30, 12)


def test_a_turned_box_keeps_its_area_to_rounding_at_any_angle_and_shift():
    rng = np.random.default_rng(3)
    x, y, psi = rng.uniform(-3, 3, 100), rng.uniform(-3, 3, 100), rng.uniform(-180, 180, 100)
    kept = followed_masks(box(), (N, N), x, y, "maskrun", psi).sum(axis=(1, 2))
    assert abs(kept.mean() - 360) < 1.5 and np.abs(kept - 360).max() <= 10  # lattice rounding along 84 px of edge
    assert [followed(box(), psi=a).sum() for a in (90, 180, 270, -90)] == [360] * 4


@pytest.mark.parametrize(
    "shape",
    [
        box(),
        box(soft_edge=4),
        box(invert=True),
        Box(box_size=(15, 8)).resolve(n_x=N, ndim=2),
        Circular(radius=20.5).resolve(n_x=N, ndim=2),
        Crown(inner_radius=6, outer_radius=12, soft_edge=3).resolve(n_x=N, ndim=2),
        RaisedCosine(inner_radius=8, outer_radius=12).resolve(n_x=N, ndim=2),
    ],
    ids=lambda s: s.shape,
)
def test_at_a_whole_pixel_offset_and_psi_0_a_followed_shape_is_the_fixed_one_moved(shape):
    assert followed(shape).tobytes() == build_mask(shape, (N, N)).values.tobytes()
    assert followed(shape, psi=0.0).tobytes() == build_mask(shape, (N, N)).values.tobytes()
    moved = build_mask(shape.model_copy(update={"center": (-3.0, 2.0)}), (N, N)).values
    assert followed(shape, 3, -2).tobytes() == moved.tobytes()


def test_the_fixed_box_is_xmipps_span_of_pixel_centres_still():
    """Xmipp's BinaryFrameMask keeps j in [x0 − b//2, x0 − b//2 + b − 1]: with x0 = 0.3, b − 1 columns."""
    fixed = build_mask(Box(box_size=(30, 12), center=(0.3, 0.0)).resolve(n_x=N, ndim=2), (N, N)).values
    assert fixed.sum() == 29 * 12
    assert followed(box(), -0.3, 0.0).sum() == 30 * 12


def test_a_soft_edged_box_keeps_its_weight_at_any_shift():
    soft = box(soft_edge=4)
    total = build_mask(soft, (N, N)).values.sum()
    for x in np.linspace(0, 1, 11):
        assert followed(soft, x, 0.0).sum() == pytest.approx(total, abs=0.7)  # it lost 12 + edge at 0.3 px
        assert np.count_nonzero(followed(soft, x, 0.0) == 1) == 360


@pytest.mark.parametrize("radius", [7.0, 20.0, 20.5])
def test_a_circle_keeps_its_pixel_count_to_rounding_at_any_sub_pixel_shift(radius):
    """A disc counts its pixel centres within r: no half-pixel span to lose, its count only rounds."""
    circle = Circular(radius=radius).resolve(n_x=N, ndim=2)
    rng = np.random.default_rng(5)
    x, y = rng.uniform(-1, 1, 200), rng.uniform(-1, 1, 200)
    kept = followed_masks(circle, (N, N), x, y, "maskrun").sum(axis=(1, 2))
    area = math.pi * radius**2
    assert abs(kept.mean() - area) < 1 and np.abs(kept - area).max() <= 2 * math.sqrt(2 * math.pi * radius)
