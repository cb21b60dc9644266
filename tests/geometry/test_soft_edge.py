"""``soft_edge``: one raised-cosine fall-off outside the boundary of every hard-edged shape."""

from __future__ import annotations

import numpy as np
import pytest

import maskrun
from maskrun.config.shape_edges import edge_weight
from maskrun.config.shape_params import (
    BINARY_SHAPES,
    SHAPES,
    Box,
    Circular,
    Crown,
    Cylinder,
    RaisedCosine,
    Sphere,
)
from maskrun.errors import UserError
from maskrun.geometry.grid import coordinate_grid
from maskrun.geometry.masks import build_mask

pytestmark = pytest.mark.filterwarnings("ignore::maskrun.errors.MaskrunWarning")

W = 5.0
CASES = [  # (shape, box, distance outside the boundary of every pixel, the Euclidean truth)
    (Circular(radius=9.5, center=(0.5, -1.0)), (40, 40)),
    (Sphere(radius=7), (32, 32, 32)),
    (Box(box_size=(10, 14)), (40, 40)),
    (Box(box_size=(8, 12, 6), center=(0.25, 0, -1)), (30, 30, 30)),
    (Crown(inner_radius=6, outer_radius=10), (40, 40)),
    (Cylinder(radius=6, height=9), (32, 32, 32)),
]


def truth_distance(params, shape_zyx) -> np.ndarray:
    """Distance outside the boundary, written out plainly per shape (not the code under test)."""
    z_y_x = np.meshgrid(*coordinate_grid(shape_zyx, params.center), indexing="ij", sparse=False)
    c = [np.broadcast_to(a, shape_zyx) for a in z_y_x]
    r = np.sqrt(sum(a**2 for a in c))
    if isinstance(params, Circular):
        return np.maximum(r - params.radius, 0)
    if isinstance(params, Crown):
        return np.maximum(np.maximum(params.inner_radius - r, r - params.outer_radius), 0)
    if isinstance(params, Cylinder):
        rho = np.sqrt(c[-1] ** 2 + c[-2] ** 2)
        return np.hypot(np.maximum(rho - params.radius, 0), np.maximum(np.abs(c[0]) - params.height / 2, 0))
    sizes = params.box_size[::-1]
    excess = [np.maximum(np.maximum(-(b // 2) - a, a - (-(b // 2) + b - 1)), 0) for a, b in zip(c, sizes)]
    return np.sqrt(sum(e**2 for e in excess))


def soft(params, shape_zyx, w=W, **update):
    resolved = params.model_copy(update={"soft_edge": w, **update}).resolve(shape_zyx[-1], len(shape_zyx))
    return build_mask(resolved, shape_zyx)


def test_every_hard_edged_shape_takes_a_soft_edge_and_no_other():
    assert set(BINARY_SHAPES) == {"circular", "sphere", "box", "crown", "cylinder"}
    for tag, model in SHAPES.items():
        assert ("soft_edge" in model.model_fields) == (tag in BINARY_SHAPES)


@pytest.mark.parametrize("params, shape_zyx", CASES, ids=lambda v: getattr(v, "shape", ""))
def test_soft_edge_zero_is_the_hard_mask_byte_for_byte(params, shape_zyx):
    for invert in (False, True):
        hard = params.model_copy(update={"invert": invert}).resolve(shape_zyx[-1], len(shape_zyx))
        zero = hard.model_copy(update={"soft_edge": 0.0})
        assert zero.model_dump() == hard.model_dump()  # recorded as before: no soft_edge key
        a, b = build_mask(hard, shape_zyx), build_mask(zero, shape_zyx)
        assert a.binary and b.binary and a.values.tobytes() == b.values.tobytes()


@pytest.mark.parametrize("params, shape_zyx", CASES, ids=lambda v: getattr(v, "shape", ""))
def test_weights_are_one_inside_zero_beyond_w_and_follow_the_formula(params, shape_zyx):
    mask = soft(params, shape_zyx)
    hard = build_mask(params.resolve(shape_zyx[-1], len(shape_zyx)), shape_zyx).values
    d = truth_distance(params.resolve(shape_zyx[-1], len(shape_zyx)), shape_zyx)
    assert not mask.binary
    assert np.all(mask.values[hard == 1] == 1)  # the hard mask's pixels stay whole
    assert np.all(mask.values[d >= W] == 0)
    edge = (d > 0) & (d < W)
    assert edge.any()
    expected = 0.5 * (1 + np.cos(np.pi * d[edge] / W))
    np.testing.assert_allclose(mask.values[edge], expected, atol=1e-6)


@pytest.mark.parametrize("params, shape_zyx", CASES, ids=lambda v: getattr(v, "shape", ""))
def test_weights_fall_monotonically_with_the_distance(params, shape_zyx):
    values = soft(params, shape_zyx).values.ravel()
    d = truth_distance(params.resolve(shape_zyx[-1], len(shape_zyx)), shape_zyx).ravel()
    order = np.argsort(d, kind="stable")
    assert np.all(np.diff(values[order].astype(np.float64)) <= 1e-6)


def test_inverted_soft_edge_is_one_minus_the_mask():
    params, shape_zyx = CASES[2]
    inverted, mask = soft(params, shape_zyx, invert=True).values, soft(params, shape_zyx).values
    np.testing.assert_allclose(inverted, 1 - mask, rtol=0, atol=1e-7)  # 1 − m taken in float64


@pytest.mark.parametrize("radius, center", [(9, (0, 0)), (7.3, (0.5, -1.25))])
@pytest.mark.parametrize("ndim", [2, 3])
def test_a_soft_circle_is_the_raised_cosine_from_r_to_r_plus_w(radius, center, ndim):
    shape_zyx = (28,) * ndim
    center = center + (0.0,) * (ndim - 2)
    model = Circular if ndim == 2 else Sphere
    circle = build_mask(model(radius=radius, soft_edge=W, center=center), shape_zyx)
    cosine = build_mask(RaisedCosine(inner_radius=radius, outer_radius=radius + W, center=center), shape_zyx)
    np.testing.assert_allclose(circle.values, cosine.values, rtol=0, atol=1e-6)


def test_edge_weight_formula():
    d = np.array([0.0, 1e-100, 1.25, 2.5, 3.75, 5.0, 7.0])
    expected = [1, 1, 0.5 * (1 + np.cos(np.pi / 4)), 0.5, 0.5 * (1 + np.cos(3 * np.pi / 4)), 0, 0]
    np.testing.assert_allclose(edge_weight(d, 5.0), expected, atol=1e-15)
    assert edge_weight(d, 0.0).tolist() == [1, 0, 0, 0, 0, 0, 0]


def test_soft_edge_from_the_api_in_px_and_angstrom():
    px = maskrun.make_mask({"shape": "box", "box_size": 40, "soft_edge": 6}, (64, 64))
    angstrom = maskrun.make_mask({"shape": "box", "box_size": 40, "soft_edge": "12 A"}, (64, 64), pixel_size=2.0)
    assert px.tobytes() == angstrom.tobytes()
    assert px[32, 12] == 1 and px[32, 6] == 0 and px[32, 9] == pytest.approx(0.5)


@pytest.mark.parametrize(
    "shape, message",
    [
        ({"shape": "box", "soft_edge": -2}, "soft_edge: must be >= 0 px"),
        ({"shape": "gaussian", "soft_edge": 2}, "does not apply to shape 'gaussian'"),
        ({"shape": "raised_cosine", "inner_radius": 2, "soft_edge": 2}, "does not apply to shape 'raised_cosine'"),
        ({"shape": "circular", "soft_edge": "2 A"}, "is given in Å"),
    ],
)
def test_bad_soft_edges_are_refused_naming_the_field(shape, message):
    with pytest.raises(UserError, match=message):
        maskrun.make_mask(shape, (16, 16))
