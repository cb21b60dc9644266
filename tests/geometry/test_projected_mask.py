"""2D masks made of projections: the support's soft edge is the raised cosine of the exact Euclidean distance."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from maskrun.config.shape_edges import edge_weight
from maskrun.geometry.projected_mask import masks_from_projections

BOX = 64


def blobs(seed: int = 5) -> np.ndarray:
    """Projection-like images: soft ellipses anywhere (some cut by the box), two or three at once, nothing positive."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:BOX, :BOX].astype(np.float32)
    images = []
    for index in range(40):
        image = np.zeros((BOX, BOX), np.float32)
        for _ in range(1 + index % 3):  # two or three blobs: rows that cross two of them hold two runs
            cy, cx = rng.uniform(-4, BOX + 4, 2)
            ry, rx = rng.uniform(2, 20, 2)
            turn = rng.uniform(0, np.pi)
            u = (x - cx) * np.cos(turn) + (y - cy) * np.sin(turn)
            v = -(x - cx) * np.sin(turn) + (y - cy) * np.cos(turn)
            image += np.clip(1 - (u / rx) ** 2 - (v / ry) ** 2, 0, None)
        images.append(image)
    images += [np.zeros((BOX, BOX), np.float32), -np.ones((BOX, BOX), np.float32)]
    return np.stack(images)


def by_transform(images: np.ndarray, threshold: float, soft_edge_px: float) -> np.ndarray:
    """The definition, image by image: a distance transform of the whole image outside its support."""
    masks = np.zeros(images.shape, np.float32)
    for mask, image in zip(masks, images, strict=True):
        peak = image.max()
        if peak > 0:
            mask[...] = edge_weight(ndimage.distance_transform_edt(image <= threshold * peak), soft_edge_px)
    return masks


@pytest.mark.parametrize("soft_edge_px", [0.7, 2.5, 6.0, 12.9, 20.0, 27.9, 30.0])  # band < 28 px ≤ transform
def test_the_soft_edge_follows_the_exact_distance_from_the_support(soft_edge_px):
    images = blobs()
    ours = masks_from_projections(images, "support", 0.05, soft_edge_px)
    np.testing.assert_array_equal(ours, by_transform(images, 0.05, soft_edge_px))
    assert ours[-2:].max() == 0  # nothing positive: no mask


def test_a_support_of_one_pixel_has_the_raised_cosine_around_it():
    image = np.zeros((1, 21, 21), np.float32)
    image[0, 10, 10] = 1
    mask = masks_from_projections(image, "support", 0.5, 6.0)[0]
    assert mask[10, 10] == 1
    assert mask[10, 13] == pytest.approx(0.5)  # d = 3 = w / 2
    assert mask[13, 14] == pytest.approx(0.5 * (1 + np.cos(np.pi * 5 / 6)))  # d = 5
    assert mask[10, 16] == 0 and mask[14, 15] == 0  # d = 6, d = √41 > 6


def test_scaled_masks_are_the_projection_over_its_peak_clipped():
    images = blobs()[:3] - 0.01
    scaled = masks_from_projections(images, "scaled")
    np.testing.assert_allclose(scaled, np.clip(images / images.max(axis=(1, 2))[:, None, None], 0, 1), rtol=1e-6)
