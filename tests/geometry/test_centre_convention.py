"""Literal arrays for the centre convention: index N // 2 for even and odd N, 2D and 3D."""

from __future__ import annotations

import numpy as np
import pytest

from maskrun.config.shape_params import Box, Circular, Sphere
from maskrun.geometry.masks import build_mask


def disc(shape, radius, center=None):
    params = (Circular if len(shape) == 2 else Sphere)(radius=radius, center=center)
    return build_mask(params.resolve(shape[-1], len(shape)), shape).values.astype(int)


def box(shape, size, center=None):
    return build_mask(Box(box_size=size, center=center).resolve(shape[-1], len(shape)), shape).values.astype(int)


def test_disc_n4_centre_is_index_2():
    assert disc((4, 4), 1).tolist() == [
        [0, 0, 0, 0],
        [0, 0, 1, 0],
        [0, 1, 1, 1],
        [0, 0, 1, 0],
    ]


def test_disc_n5_centre_is_index_2():
    assert disc((5, 5), 1).tolist() == [
        [0, 0, 0, 0, 0],
        [0, 0, 1, 0, 0],
        [0, 1, 1, 1, 0],
        [0, 0, 1, 0, 0],
        [0, 0, 0, 0, 0],
    ]


def test_disc_shift_moves_x_along_last_axis():
    shifted = disc((5, 5), 0.5, center=(1, -1))  # x + 1 (column), y - 1 (row)
    expected = np.zeros((5, 5), int)
    expected[1, 3] = 1
    assert shifted.tolist() == expected.tolist()


def test_box_n4_even_size():
    # size 2 spans logical [-1, 0] -> indices 1..2
    assert box((4, 4), 2).tolist() == [
        [0, 0, 0, 0],
        [0, 1, 1, 0],
        [0, 1, 1, 0],
        [0, 0, 0, 0],
    ]


def test_box_n5_odd_size():
    # size 3 spans logical [-1, 1] -> indices 1..3
    assert box((5, 5), 3).tolist() == [
        [0, 0, 0, 0, 0],
        [0, 1, 1, 1, 0],
        [0, 1, 1, 1, 0],
        [0, 1, 1, 1, 0],
        [0, 0, 0, 0, 0],
    ]


@pytest.mark.parametrize("n", [4, 5])
def test_sphere_3d_is_seven_voxels_around_n_div_2(n):
    m = disc((n, n, n), 1)
    c = n // 2
    expected = np.zeros((n, n, n), int)
    for dz, dy, dx in [(0, 0, 0), (1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)]:
        expected[c + dz, c + dy, c + dx] = 1
    assert m.tolist() == expected.tolist()


def test_box_3d_per_axis_sizes_are_x_y_z():
    m = box((4, 5, 5), (3, 1, 2))  # bx=3, by=1, bz=2 on a (z=4, y=5, x=5) volume
    z, y, x = np.nonzero(m)
    assert sorted(set(x)) == [1, 2, 3]  # x: logical [-1, 1] around 2
    assert sorted(set(y)) == [2]  # y: logical [0, 0] around 2
    assert sorted(set(z)) == [1, 2]  # z: logical [-1, 0] around 2
    assert m.sum() == 3 * 1 * 2
