"""The shapes, each one strict Pydantic model with its geometry (see docs/spec.md, "Shapes").

A shape is chosen by its ``shape`` tag; a parameter of another shape is an error, never
ignored. Each model is registered once with `register_shape`, and its `field` method is its
geometry; the lists below, the job-file union, the command-line options and the messages
all derive from that registry. To add a shape: one class here, its row in docs/spec.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

import numpy as np
from pydantic import Field, ValidationInfo, field_validator

from maskrun.config.numeric import LENGTH, number
from maskrun.config.shape_base import (
    DEFAULT,
    HardEdgedShape,
    Length,
    Shape,
    ShapeField,
    _default,
    _greater_than_inner,
    _positive_or_default,
    register_shape,
)
from maskrun.config.shape_base import (
    SHAPES as SHAPES,
)
from maskrun.config.shape_edges import outside_by, raised_cosine_profile
from maskrun.errors import FieldError

_Shape = Shape  # the name maskrun.api imports

ShapeLength = Annotated[float, Length(), number(LENGTH)]
"""A length field of a shape: pixels, or text with a unit; never a boolean."""
Radius = ShapeLength


@register_shape
class Circular(HardEdgedShape):
    """1 where r ≤ R (inverted, the ring r = R is kept too, as Xmipp does)."""

    dims: ClassVar[tuple[int, ...]] = (2,)
    instead: ClassVar[str] = "sphere"
    shape: Literal["circular"] = "circular"
    radius: Radius = Field(DEFAULT, description="radius (default N//2)")

    @field_validator("radius")
    @classmethod
    def _radius(cls, v: float) -> float:
        return _positive_or_default(v, "half the box, N // 2")

    def _resolved_lengths(self, n_x: int, ndim: int) -> dict[str, Any]:
        return {"radius": float(_default(self.radius, n_x // 2))}

    def field(self, coords: list[np.ndarray], compat: str) -> ShapeField:
        radius, limit, invert = self.radius, self.radius**2, self.invert

        def distance(r2: np.ndarray) -> np.ndarray:  # inverted, the ring r = R counts as outside: it is kept
            return outside_by(np.sqrt(r2) - radius, r2 < limit if invert else r2 <= limit)

        return self.edged(coords, distance)


@register_shape
class Sphere(Circular):
    """As ``circular``, in 3D: 1 where r ≤ R."""

    dims: ClassVar[tuple[int, ...]] = (3,)
    instead: ClassVar[str] = "circular"
    shape: Literal["sphere"] = "sphere"  # type: ignore[assignment]


@register_shape
class Box(HardEdgedShape):
    """1 inside a box of b pixels per axis, from ``−(b // 2)`` to ``−(b // 2) + b − 1``."""

    shape: Literal["box"] = "box"
    box_size: Annotated[int | tuple[int, int] | tuple[int, int, int], Length(), number(LENGTH)] = Field(
        DEFAULT, description="B, or BX BY [BZ] (default N//2)"
    )

    @field_validator("box_size")
    @classmethod
    def _sizes(cls, v: int | tuple[int, ...]) -> int | tuple[int, ...]:
        for size in v if isinstance(v, tuple) else (v,):
            _positive_or_default(size, "half the box, N // 2")
        return v

    def _resolved_lengths(self, n_x: int, ndim: int) -> dict[str, Any]:
        sizes = self.box_size if isinstance(self.box_size, tuple) else (self.box_size,) * ndim
        if len(sizes) != ndim:
            raise FieldError(
                "box_size",
                f"needs one number or {ndim} numbers ({'x, y' if ndim == 2 else 'x, y, z'}); got {len(sizes)}",
            )
        return {"box_size": tuple(int(_default(s, n_x // 2)) for s in sizes)}

    def field(self, coords: list[np.ndarray], compat: str) -> ShapeField:
        return self._excess_field(coords, continuous=False)

    def moved_field(self, coords: list[np.ndarray], compat: str) -> ShapeField:
        """The box b pixels wide: it keeps the pixels whose centres lie in ``[low − ½, high + ½)`` on each axis.

        On the pixel grid these are ``low … high``, as `field` keeps; moved by a fraction of a
        pixel or turned, `field`'s span of pixel centres (b − 1 long) would hold b − 1 of them.
        The soft edge is measured from the span of pixel centres, as `field`'s.
        """
        return self._excess_field(coords, continuous=True)

    def _excess_field(self, coords: list[np.ndarray], *, continuous: bool) -> ShapeField:
        sizes_xyz = self.box_size if isinstance(self.box_size, tuple) else (self.box_size,) * len(coords)
        excess = []  # per axis: how far outside the box's span, 0 within it
        for axis, c in enumerate(coords):
            low = -(sizes_xyz[len(coords) - 1 - axis] // 2)
            high = low + sizes_xyz[len(coords) - 1 - axis] - 1
            inside = (c >= low - 0.5) & (c < high + 0.5) if continuous else (c >= low) & (c <= high)
            excess.append(outside_by(np.maximum(low - c, c - high), inside))
        return self.edged(excess, np.sqrt)


class _Annulus(Shape):
    """Shapes between an inner and an outer radius."""

    # raised_cosine needs inner < outer; crowns allow inner == outer (a ring)
    outer_must_exceed_inner: ClassVar[bool] = False
    inner_radius: ShapeLength = Field(ge=0, description="inner radius R1")
    outer_radius: Radius = Field(DEFAULT, description="outer radius R2 (default N//2)")

    @field_validator("outer_radius")
    @classmethod
    def _outer(cls, v: float, info: ValidationInfo) -> float:
        return _greater_than_inner(_positive_or_default(v, "N // 2"), info, strict=cls.outer_must_exceed_inner)

    def _resolved_lengths(self, n_x: int, ndim: int) -> dict[str, Any]:
        return {"outer_radius": float(_default(self.outer_radius, n_x // 2))}

    def _check_resolved(self) -> None:
        too_small = (
            self.inner_radius >= self.outer_radius
            if self.outer_must_exceed_inner
            else self.inner_radius > self.outer_radius
        )
        if too_small:
            raise FieldError(
                "outer_radius",
                f"-1 means N // 2 = {self.outer_radius:g} here, "
                f"{'not above' if self.outer_must_exceed_inner else 'below'} inner_radius "
                f"{self.inner_radius:g}; set outer_radius explicitly",
            )


@register_shape
class Crown(_Annulus, HardEdgedShape):
    """1 where R1 ≤ r ≤ R2; R1 = 0 is a disc."""

    shape: Literal["crown"] = "crown"

    def field(self, coords: list[np.ndarray], compat: str) -> ShapeField:
        inner, outer = self.inner_radius, self.outer_radius

        def distance(r2: np.ndarray) -> np.ndarray:
            r = np.sqrt(r2)
            return outside_by(np.maximum(inner - r, r - outer), (r2 >= inner**2) & (r2 <= outer**2))

        return self.edged(coords, distance)


@register_shape
class Cylinder(HardEdgedShape):
    """1 where x² + y² ≤ R² and |z| ≤ H/2."""

    dims: ClassVar[tuple[int, ...]] = (3,)
    instead: ClassVar[str] = "crown or box"
    shape: Literal["cylinder"] = "cylinder"
    radius: Radius = Field(DEFAULT, description="radius (default N//2)")
    height: ShapeLength = Field(DEFAULT, description="full height along z (default N)")

    @field_validator("radius", "height")
    @classmethod
    def _lengths(cls, v: float, info: ValidationInfo) -> float:
        return _positive_or_default(v, "N // 2" if info.field_name == "radius" else "the box, N")

    def _resolved_lengths(self, n_x: int, ndim: int) -> dict[str, Any]:
        return {"radius": float(_default(self.radius, n_x // 2)), "height": float(_default(self.height, n_x))}

    def field(self, coords: list[np.ndarray], compat: str) -> ShapeField:
        rho2 = coords[-2] ** 2 + coords[-1] ** 2
        across = outside_by(np.sqrt(rho2) - self.radius, rho2 <= self.radius**2)
        along = outside_by(np.abs(coords[0]) - self.height / 2, np.abs(coords[0]) <= self.height / 2)
        return self.edged([along, across], np.sqrt)


@register_shape
class Gaussian(Shape):
    """exp(−r²/2σ²), peak 1 (``compat: xmipp``: divided by (√(2π)σ)^d)."""

    shape: Literal["gaussian"] = "gaussian"
    sigma: ShapeLength = Field(DEFAULT, description="σ (default N/6)")

    @field_validator("sigma")
    @classmethod
    def _sigma(cls, v: float) -> float:
        return _positive_or_default(v, "N / 6")

    def _resolved_lengths(self, n_x: int, ndim: int) -> dict[str, Any]:
        return {"sigma": float(_default(self.sigma, n_x / 6))}

    def field(self, coords: list[np.ndarray], compat: str) -> ShapeField:
        sigma = self.sigma
        scale = (np.sqrt(2.0 * np.pi) * sigma) ** len(coords) if compat == "xmipp" else 1.0
        return ShapeField(coords, lambda r2: np.exp(-r2 / (2.0 * sigma**2)) / scale)


@register_shape
class RaisedCosine(_Annulus):
    """1 up to R1, ½(1 + cos(π(r − R1)/(R2 − R1))) to R2, 0 beyond (R1 < R2)."""

    outer_must_exceed_inner: ClassVar[bool] = True
    shape: Literal["raised_cosine"] = "raised_cosine"

    def field(self, coords: list[np.ndarray], compat: str) -> ShapeField:
        inner, outer = self.inner_radius, self.outer_radius
        return ShapeField(coords, lambda r2: raised_cosine_profile(np.sqrt(r2), inner, outer))


@register_shape
class RaisedCrown(_Annulus):
    """(1 − RC(r; R1 − w, R1 + w)) · RC(r; R2 − w, R2 + w): a crown with raised-cosine edges (RC) 2w wide."""

    shape: Literal["raised_crown"] = "raised_crown"
    border_decay: ShapeLength = Field(ge=0, description="edge half-width w ≤ R1")

    @field_validator("border_decay")
    @classmethod
    def _decay(cls, v: float, info: ValidationInfo) -> float:
        inner = info.data.get("inner_radius")
        if inner is not None and v > inner:
            raise ValueError(
                f"must not exceed inner_radius ({v:g} > {inner:g}); "
                "the inner edge would reach past the centre: lower border_decay"
            )
        return v

    def field(self, coords: list[np.ndarray], compat: str) -> ShapeField:
        w, inner, outer = self.border_decay, self.inner_radius, self.outer_radius

        def weight(r2: np.ndarray) -> np.ndarray:
            r = np.sqrt(r2)
            rising: np.ndarray = 1.0 - raised_cosine_profile(r, inner - w, inner + w)
            kept: np.ndarray = rising * raised_cosine_profile(r, outer - w, outer + w)
            return kept

        return ShapeField(coords, weight)


@dataclass(frozen=True)
class XmippMaskType:
    """One of xmipp_transform_mask's ``--mask`` types as said here.

    A type with a twin: maskrun's shape on images and on maps (Xmipp's circular on a map is
    the sphere), the length fields Xmipp's numbers give, in Xmipp's order, and the compat that
    gives Xmipp's values (``xmipp`` for its normalised gaussian). ``soft``: Xmipp makes it a
    continuous mask, which it multiplies by, leaving ``--substitute`` out (``compat: xmipp``
    does that here). A type named otherwise or without a twin has ``instead``, what to give:
    the hint of the unknown-shape message, ``{file}`` the mask file's setting as the user
    writes it (``mask.file``, ``--mask-file``).
    """

    images: str = ""
    maps: str = ""
    lengths: tuple[str, ...] = ()
    compat: str = ""
    instead: str = ""
    soft: bool = False


XMIPP_MASK_TYPES = {
    "circular": XmippMaskType("circular", "sphere", ("radius",)),
    "rectangular": XmippMaskType(
        "box", "box", ("box_size",), instead="did you mean 'box'? (Xmipp's rectangular is box here)"
    ),
    "crown": XmippMaskType("crown", "crown", ("inner_radius", "outer_radius")),
    "cylinder": XmippMaskType("cylinder", "cylinder", ("radius", "height")),
    "gaussian": XmippMaskType("gaussian", "gaussian", ("sigma",), compat="xmipp", soft=True),  # normalised density
    "raised_cosine": XmippMaskType("raised_cosine", "raised_cosine", ("inner_radius", "outer_radius"), soft=True),
    "raised_crown": XmippMaskType(
        "raised_crown", "raised_crown", ("inner_radius", "outer_radius", "border_decay"), soft=True
    ),
    "blob_circular": XmippMaskType(
        instead="Xmipp's blob_circular has no twin here: 'raised_cosine' is the nearest soft disc", soft=True
    ),
    "blob_crown": XmippMaskType(
        instead="Xmipp's blob_crown has no twin here: 'raised_crown' is the nearest soft crown", soft=True
    ),
    "binary_file": XmippMaskType(instead="Xmipp's binary_file is a mask file here, not a shape: give it as {file}"),
    "real_file": XmippMaskType(instead="Xmipp's real_file is a mask file here, not a shape: give it as {file}"),
}


# Everything below derives from the registry.
SHAPES_2D = tuple(tag for tag, model in SHAPES.items() if 2 in model.dims)
SHAPES_3D = tuple(tag for tag, model in SHAPES.items() if 3 in model.dims)
BINARY_SHAPES = tuple(tag for tag, model in SHAPES.items() if model.hard_edged)
HARD_EDGED_SHAPES = BINARY_SHAPES  # binary unless given a soft_edge
_EVERY_SHAPE = ("soft_edge", "center")  # listed after each shape's own lengths
LENGTH_FIELDS = (
    *dict.fromkeys(n for model in SHAPES.values() for n in model.length_fields() if n not in _EVERY_SHAPE),
    *_EVERY_SHAPE,
)

if TYPE_CHECKING:
    GeometryParams = Shape
else:
    GeometryParams = Annotated[Union[tuple(SHAPES.values())], Field(discriminator="shape")]  # noqa: UP007
