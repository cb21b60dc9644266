"""Mask arrays for every shape (docs/spec.md, "Shapes"), in 2D and 3D alike.

Each shape is a distance from the centre (from `maskrun.geometry.grid`) passed through an edge
profile: a hard edge for the binary shapes, a raised cosine or a gaussian for the soft ones.
Distances are computed in float64 so that the kept pixel sets match Xmipp's exactly on
ring boundaries and with fractional radii or centres.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from maskrun.config.mask_spec import Compat
from maskrun.config.shape_params import Box, Circular, Crown, Cylinder, Gaussian, RaisedCosine, RaisedCrown, _Shape
from maskrun.errors import MaskrunWarning
from maskrun.geometry.grid import coordinate_grid, radius_squared


@dataclass(frozen=True)
class Mask:
    """A mask for one box shape.

    Attributes
    ----------
    values
        float32 weights ``m`` in array order ``(y, x)`` or ``(z, y, x)``; 1 keeps a pixel.
    binary
        True when every value is 0 or 1: then applying it substitutes the fill for the
        pixels where ``m == 0`` and leaves the others bit-for-bit untouched.
    """

    values: np.ndarray
    binary: bool

    @classmethod
    def from_values(cls, values: np.ndarray) -> Mask:
        """Wrap a weight array (a created mask, say), detecting whether it is binary."""
        values = np.ascontiguousarray(values, dtype=np.float32)
        binary = bool(np.all((values == 0) | (values == 1)))
        return cls(values, binary)

    @property
    def keep(self) -> np.ndarray:
        """Boolean array of the pixels kept as they are (binary masks)."""
        kept: np.ndarray = self.values == 1
        return kept

    @cached_property
    def outside(self) -> np.ndarray:
        """Boolean array of the pixels a binary mask replaces by the fill (``m == 0``)."""
        replaced: np.ndarray = self.values == 0
        return replaced

    @cached_property
    def complement(self) -> np.ndarray:
        """float32 ``1 − m``: the weight of the fill under a soft mask."""
        return (1 - self.values).astype(np.float32)


def raised_cosine_profile(r: np.ndarray, inner: float, outer: float) -> np.ndarray:
    """1 up to ``inner``, a half cosine down to 0 at ``outer``, 0 beyond.

    With ``inner == outer`` it is a hard edge that keeps ``r <= inner``.
    """
    if outer <= inner:
        return (r <= inner).astype(np.float64)
    t = np.clip((r - inner) / (outer - inner), 0.0, 1.0)
    return 0.5 * (1.0 + np.cos(np.pi * t))


def _box_inside(coords: list[np.ndarray], sizes_xyz: int | tuple[int, ...]) -> np.ndarray:
    if isinstance(sizes_xyz, int):  # resolve() gives a tuple; a bare size means every axis
        sizes_xyz = (sizes_xyz,) * len(coords)
    inside = np.ones((1,) * len(coords), dtype=bool)
    for axis, c in enumerate(coords):
        size = sizes_xyz[len(coords) - 1 - axis]
        low = -(size // 2)
        inside = inside & (c >= low) & (c <= low + size - 1)
    return inside


def _box_or_cylinder_inside(params: Box | Cylinder, coords: list[np.ndarray]) -> np.ndarray:
    """Pixels inside a box or a cylinder (before inversion), as an open-grid product."""
    if isinstance(params, Box):
        return _box_inside(coords, params.box_size)
    rho2 = coords[-2] ** 2 + coords[-1] ** 2
    inside: np.ndarray = (rho2 <= params.radius**2) & (np.abs(coords[0]) <= params.height / 2)
    return inside


Profile = Callable[[np.ndarray], np.ndarray]
"""A radial shape's mask as a function of r² (an array in, an array of its shape out)."""


def radial_profile(params: _Shape, ndim: int, compat: Compat) -> Profile:
    """The mask of a radial shape as a function of r² (float64), inversion included."""
    invert = params.invert
    if isinstance(params, Circular):  # and Sphere; inverted, the ring r == R is kept too
        limit = params.radius**2
        return (lambda r2: r2 >= limit) if invert else (lambda r2: r2 <= limit)
    if isinstance(params, Crown):
        low, high = params.inner_radius**2, params.outer_radius**2
        return lambda r2: ((r2 >= low) & (r2 <= high)) != invert
    profile: Profile
    if isinstance(params, Gaussian):
        scale = (np.sqrt(2.0 * np.pi) * params.sigma) ** ndim if compat == "xmipp" else 1.0
        profile = lambda r2: np.exp(-r2 / (2.0 * params.sigma**2)) / scale  # noqa: E731
    elif isinstance(params, RaisedCosine):
        inner, outer = params.inner_radius, params.outer_radius
        profile = lambda r2: raised_cosine_profile(np.sqrt(r2), inner, outer)  # noqa: E731
    elif isinstance(params, RaisedCrown):
        w, inner, outer = params.border_decay, params.inner_radius, params.outer_radius

        def crown(r2: np.ndarray) -> np.ndarray:
            r = np.sqrt(r2)
            values: np.ndarray = (1.0 - raised_cosine_profile(r, inner - w, inner + w)) * raised_cosine_profile(
                r, outer - w, outer + w
            )
            return values

        profile = crown
    else:
        raise TypeError(f"not a radial shape: {params.shape}")
    return (lambda r2: 1.0 - profile(r2)) if invert else profile


def radial_values(profile: Profile, coords: list[np.ndarray], shape_zyx: tuple[int, ...], slab: int = 16) -> np.ndarray:
    """``profile(r²)`` over the grid as float32, built slab by slab along the first axis.

    With whole-pixel centres every r² is an integer held exactly in float64, so the profile
    is evaluated once per distinct r² and looked up: the same values, far fewer square roots
    and cosines, and no full-size float64 temporaries.
    """
    out = np.empty(shape_zyx, dtype=np.float32)
    integral = all(np.array_equal(c, np.round(c)) for c in coords)  # every coordinate, not one
    if integral:
        table = profile(np.arange(int(sum((c**2).max() for c in coords)) + 1, dtype=np.float64))
        table = np.asarray(table, dtype=np.float32)
        squares = [(c**2).astype(np.int64) for c in coords]
    for first in range(0, shape_zyx[0], slab):
        rows = slice(first, min(shape_zyx[0], first + slab))
        if integral:
            r2 = squares[0][rows]
            for sq in squares[1:]:
                r2 = r2 + sq
            np.take(table, r2, out=out[rows])
        else:
            out[rows] = profile(radius_squared([coords[0][rows], *coords[1:]]))
    return out


def build_mask(params: _Shape, shape_zyx: tuple[int, ...], compat: Compat = "maskrun") -> Mask:
    """Build the mask of a resolved shape for one box.

    Parameters
    ----------
    params
        A shape model from `maskrun.params` after `resolve` (no ``-1`` left).
    shape_zyx
        Box shape in array order.
    compat
        ``"xmipp"`` makes the gaussian Xmipp's normalised density.

    Returns
    -------
    Mask
        Binary shapes give a binary mask; with ``invert`` they keep the complement,
        except the circular/sphere ring ``r == R``, which is kept in both modes as
        Xmipp does. Soft shapes give ``m`` or, inverted, ``1 - m``.

    Raises
    ------
    ValueError
        If ``params`` still holds ``-1`` defaults or no centre (it was not resolved):
        resolve it for the box first, or use `maskrun.make_mask`, which does.

    Warns
    -----
    MaskrunWarning
        When the mask keeps nothing or everything, a radius reaches past the box edge,
        or the centre lies outside the box.
    """
    unresolved = params.unresolved_fields()
    if unresolved:
        raise ValueError(
            f"{params.shape}: {', '.join(unresolved)} not resolved for a box; call "
            f"params.resolve(n_x={shape_zyx[-1]}, ndim={len(shape_zyx)}) first, or use "
            "maskrun.make_mask, which resolves -1 defaults for the box"
        )
    return _build_cached(params, tuple(int(n) for n in shape_zyx), compat)


@lru_cache(maxsize=8)
def _build_cached(params: _Shape, shape_zyx: tuple[int, ...], compat: Compat) -> Mask:
    coords = coordinate_grid(shape_zyx, params.center)
    if isinstance(params, (Box, Cylinder)):
        inside = np.broadcast_to(_box_or_cylinder_inside(params, coords), shape_zyx)
        mask = Mask((~inside if params.invert else inside).astype(np.float32), binary=True)
    else:
        profile = radial_profile(params, len(shape_zyx), compat)
        mask = Mask(radial_values(profile, coords, shape_zyx), binary=params.is_binary)
    mask.values.setflags(write=False)
    _warn_if_suspicious(params, mask, shape_zyx)
    return mask


def _warn_if_suspicious(params: _Shape, mask: Mask, shape_zyx: tuple[int, ...]) -> None:
    if mask.values.max() == 0:
        warnings.warn(
            f"the {params.shape} mask keeps nothing: every pixel is replaced by the fill", MaskrunWarning, stacklevel=4
        )
    elif mask.values.min() == 1:
        warnings.warn(
            f"the {params.shape} mask keeps everything: the output equals the input", MaskrunWarning, stacklevel=4
        )
    half_box = min(shape_zyx) / 2
    for name in ("radius", "outer_radius"):
        radius = getattr(params, name, None)
        if radius is not None and radius > half_box:
            warnings.warn(
                f"{name} {radius:g} px is larger than half the box ({half_box:g} px): the mask is cut by the box edge",
                MaskrunWarning,
                stacklevel=4,
            )
    shape_xyz = shape_zyx[::-1]
    if params.center is not None and any(abs(c) > n / 2 for c, n in zip(params.center, shape_xyz)):
        warnings.warn(
            f"center {list(params.center)} lies outside the box {list(shape_xyz)}", MaskrunWarning, stacklevel=4
        )
