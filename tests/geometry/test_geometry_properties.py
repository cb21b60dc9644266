"""Properties every mask must have, checked on random shapes, sizes and centres."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from maskrun.config.shape_params import Box, Circular, Crown, Cylinder, Gaussian, RaisedCosine, RaisedCrown, Sphere
from maskrun.geometry.grid import coordinate_grid, radius_squared
from maskrun.geometry.masks import build_mask

pytestmark = pytest.mark.filterwarnings("ignore::maskrun.errors.MaskrunWarning")  # random shapes warn by design

sizes = st.integers(min_value=4, max_value=24)
radii = st.floats(min_value=0.5, max_value=12, allow_nan=False)
shifts = st.floats(min_value=-3, max_value=3, allow_nan=False)


def make(params, shape):
    return build_mask(params.resolve(shape[-1], len(shape)), shape)


@st.composite
def any_shape(draw):
    ndim = draw(st.sampled_from([2, 3]))
    shape = tuple(draw(sizes) for _ in range(ndim))
    center = tuple(draw(shifts) for _ in range(ndim))
    r1 = draw(st.floats(min_value=0, max_value=8))
    r2 = r1 + draw(st.floats(min_value=0.5, max_value=8))
    w = draw(st.floats(min_value=0, max_value=r1))
    invert = draw(st.booleans())
    choices = [
        Box(box_size=draw(st.integers(1, 20)), center=center, invert=invert),
        Crown(inner_radius=r1, outer_radius=r2, center=center, invert=invert),
        Gaussian(sigma=draw(st.floats(0.5, 10)), center=center, invert=invert),
        RaisedCosine(inner_radius=r1, outer_radius=r2, center=center, invert=invert),
        RaisedCrown(inner_radius=r1, outer_radius=r2, border_decay=w, center=center, invert=invert),
    ]
    choices.append((Circular if ndim == 2 else Sphere)(radius=r2, center=center, invert=invert))
    if ndim == 3:
        choices.append(Cylinder(radius=r2, height=draw(st.floats(1, 20)), center=center, invert=invert))
    return draw(st.sampled_from(choices)), shape


@settings(max_examples=150, deadline=None)
@given(any_shape())
@example(  # an edge of 2e-313 px overflowed the profile's division (a warning, so an error in tests)
    (RaisedCrown(inner_radius=2.225073858507203e-309, outer_radius=1.0, border_decay=2.2250738585e-313), (4, 4))
)
def test_values_lie_in_unit_interval(case):
    params, shape = case
    values = make(params, shape).values
    assert values.shape == shape and values.dtype == np.float32
    assert values.min() >= 0.0 and values.max() <= 1.0


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([2, 3]), sizes, st.floats(0, 8), st.floats(0.5, 8), shifts)
def test_crown_is_outer_disc_minus_inner_disc(ndim, n, r1, dr, shift):
    shape, center = (n,) * ndim, (shift,) * ndim
    disc = Circular if ndim == 2 else Sphere
    crown = make(Crown(inner_radius=r1, outer_radius=r1 + dr, center=center), shape).keep
    outer = make(disc(radius=r1 + dr, center=center), shape).keep
    inner_open = radius_squared(coordinate_grid(shape, center)) < r1 * r1
    assert np.array_equal(crown, outer & ~inner_open)
    if r1 > 0:  # the inner ring r == r1 is kept by both the crown and the inner disc
        inner = make(disc(radius=r1, center=center), shape).keep
        ring = radius_squared(coordinate_grid(shape, center)) == r1 * r1
        assert np.array_equal(crown, (outer & ~inner) | ring)


@settings(max_examples=150, deadline=None)
@given(
    st.tuples(sizes, sizes, sizes),
    st.tuples(st.integers(1, 20), st.integers(1, 20), st.integers(1, 20)),
    st.tuples(st.integers(-3, 3), st.integers(-3, 3), st.integers(-3, 3)),
)
def test_box_extent_is_right_on_every_axis_of_a_non_cubic_volume(shape_zyx, sizes_xyz, center_xyz):
    keep = make(Box(box_size=sizes_xyz, center=center_xyz), shape_zyx).keep
    expected = []
    for axis in range(3):
        n, size, shift = shape_zyx[axis], sizes_xyz[2 - axis], center_xyz[2 - axis]
        low = n // 2 + shift - size // 2
        expected.append([i for i in range(low, low + size) if 0 <= i < n])
    assert keep.sum() == np.prod([len(e) for e in expected])
    if keep.any():
        for axis in range(3):
            other = tuple(a for a in range(3) if a != axis)
            assert np.nonzero(keep.any(axis=other))[0].tolist() == expected[axis], f"axis {axis}"


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from([2, 3]),
    st.integers(22, 30),
    st.floats(1, 4),  # 2·(4 + 2 + 3) + 2 < 22: no wrap
    st.lists(st.integers(-3, 3), min_size=3, max_size=3),
)
def test_integer_centre_shift_equals_roll(ndim, n, radius, shift_xyz):
    shape = (n,) * ndim
    shift = tuple(shift_xyz[:ndim])
    disc = Circular if ndim == 2 else Sphere
    centred = make(RaisedCosine(inner_radius=radius, outer_radius=radius + 2), shape).values
    moved = make(RaisedCosine(inner_radius=radius, outer_radius=radius + 2, center=shift), shape).values
    rolled = np.roll(centred, shift[::-1], axis=tuple(range(ndim)))
    assert np.array_equal(moved, rolled)  # the mask is far from the borders, so no wrap-around
    hard = make(disc(radius=radius, center=shift), shape).values
    assert np.array_equal(hard, np.roll(make(disc(radius=radius), shape).values, shift[::-1], axis=tuple(range(ndim))))


@settings(max_examples=150, deadline=None)
@given(any_shape())
def test_inverted_binary_mask_is_complement_except_circular_ring(case):
    params, shape = case
    assume(params.is_binary)
    plain = make(params.model_copy(update={"invert": False}), shape).keep
    inverted = make(params.model_copy(update={"invert": True}), shape).keep
    resolved = params.resolve(shape[-1], len(shape))
    if isinstance(params, Circular):
        ring = radius_squared(coordinate_grid(shape, resolved.center)) == resolved.radius**2
        assert np.array_equal(inverted, ~plain | ring)
        assert np.array_equal(plain & inverted, ring)
    else:
        assert np.array_equal(inverted, ~plain)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([2, 3]), sizes, st.floats(0, 6), st.floats(0.5, 6), st.floats(0.5, 8))
def test_soft_profiles_are_monotone_in_r(ndim, n, r1, dr, sigma):
    shape = (n,) * ndim
    r2 = radius_squared(coordinate_grid(shape)).ravel()
    order = np.argsort(r2, kind="stable")
    for params in (RaisedCosine(inner_radius=r1, outer_radius=r1 + dr), Gaussian(sigma=sigma)):
        values = make(params, shape).values.ravel()[order].astype(np.float64)
        assert np.all(np.diff(values) <= 1e-7), params.shape
        inverted = make(params.model_copy(update={"invert": True}), shape).values.ravel()[order]
        assert np.all(np.diff(inverted.astype(np.float64)) >= -1e-7), params.shape
