"""Shape parameters as strict Pydantic models (see docs/spec.md, "Shapes").

One model per shape, chosen by its ``shape`` tag; a parameter of another shape is an
error, never ignored. Lengths are in pixels; ``-1`` means the protocol default, which
`resolve` turns into a number for the actual box (X size ``N``): radius, outer_radius
and box_size become ``N // 2``, height ``N``, sigma ``N / 6``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from maskrun.errors import FieldError

DEFAULT = -1
SHAPES_2D = ("circular", "box", "crown", "gaussian", "raised_cosine", "raised_crown")
SHAPES_3D = ("sphere", "box", "crown", "cylinder", "gaussian", "raised_cosine", "raised_crown")
BINARY_SHAPES = ("circular", "sphere", "box", "crown", "cylinder")


def _positive_or_default(value: float, default_text: str) -> float:
    if value == DEFAULT or value > 0:
        return value
    raise ValueError(f"must be > 0, or -1 for the default ({default_text}); got {value:g}")


def _greater_than_inner(outer: float, info: ValidationInfo, *, strict: bool) -> float:
    inner = info.data.get("inner_radius")
    if inner is None or outer == DEFAULT:
        return outer
    if outer < inner or (strict and outer == inner):
        relation = "greater than" if strict else "at least"
        raise ValueError(
            f"must be {relation} inner_radius ({inner:g} ≥ {outer:g}); swap the radii or enlarge outer_radius"
        )
    return outer


class _Shape(BaseModel):
    """Fields every shape has: an optional centre shift and the inside/outside choice."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    dims: ClassVar[tuple[int, ...]] = (2, 3)

    center: tuple[float, float] | tuple[float, float, float] | None = None
    invert: bool = False
    if TYPE_CHECKING:  # each shape's Literal tag, declared by the subclasses
        shape: str

    @property
    def is_binary(self) -> bool:
        return self.shape in BINARY_SHAPES

    def resolve(self, n_x: int, ndim: int) -> Self:
        """This shape with every ``-1`` replaced by its number for a box of X size ``n_x``.

        Raises
        ------
        FieldError
            If the shape does not exist in ``ndim`` dimensions, the centre has the wrong
            number of entries, or resolved defaults break a rule (inner > outer radius).
        """
        if ndim not in self.dims:
            other = {"sphere": "circular", "circular": "sphere", "cylinder": "crown or box"}
            kind = "particle images (2D)" if ndim == 2 else "volumes (3D)"
            raise FieldError(
                "shape", f"'{self.shape}' is not a shape for {kind}; use '{other.get(self.shape, 'another shape')}'"
            )
        center = self.center if self.center is not None else (0.0,) * ndim
        if len(center) != ndim:
            raise FieldError(
                "center",
                f"needs {ndim} numbers ({'x, y' if ndim == 2 else 'x, y, z'}) for {ndim}D data; got {len(center)}",
            )
        updates = {"center": tuple(float(c) for c in center)}
        updates.update(self._resolved_lengths(n_x, ndim))
        resolved = self.model_copy(update=updates)
        resolved._check_resolved()
        return resolved

    def unresolved_fields(self) -> list[str]:
        """Fields still waiting for `resolve`: any length at ``-1``, and a missing centre."""
        missing = ["center"] if self.center is None else []
        for name in type(self).model_fields:
            value = getattr(self, name)
            values = value if isinstance(value, tuple) else (value,)
            if name != "center" and any(v == DEFAULT for v in values if isinstance(v, int | float)):
                missing.append(name)
        return missing

    def _resolved_lengths(self, n_x: int, ndim: int) -> dict[str, Any]:
        return {}

    def _check_resolved(self) -> None:
        return None


def _default(value: float, number: float) -> float:
    return number if value == DEFAULT else value


class Circular(_Shape):
    dims: ClassVar[tuple[int, ...]] = (2,)
    shape: Literal["circular"] = "circular"
    radius: float = DEFAULT

    @field_validator("radius")
    @classmethod
    def _radius(cls, v: float) -> float:
        return _positive_or_default(v, "half the box, N // 2")

    def _resolved_lengths(self, n_x: int, ndim: int) -> dict[str, Any]:
        return {"radius": float(_default(self.radius, n_x // 2))}


class Sphere(Circular):
    dims: ClassVar[tuple[int, ...]] = (3,)
    shape: Literal["sphere"] = "sphere"  # type: ignore[assignment]


class Box(_Shape):
    shape: Literal["box"] = "box"
    box_size: int | tuple[int, int] | tuple[int, int, int] = DEFAULT

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


class _Annulus(_Shape):
    """Shapes between an inner and an outer radius."""

    # raised_cosine needs inner < outer; crowns allow inner == outer (a ring)
    outer_must_exceed_inner: ClassVar[bool] = False
    inner_radius: float = Field(ge=0)
    outer_radius: float = DEFAULT

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


class Crown(_Annulus):
    shape: Literal["crown"] = "crown"


class Cylinder(_Shape):
    dims: ClassVar[tuple[int, ...]] = (3,)
    shape: Literal["cylinder"] = "cylinder"
    radius: float = DEFAULT
    height: float = DEFAULT

    @field_validator("radius", "height")
    @classmethod
    def _lengths(cls, v: float, info: ValidationInfo) -> float:
        return _positive_or_default(v, "N // 2" if info.field_name == "radius" else "the box, N")

    def _resolved_lengths(self, n_x: int, ndim: int) -> dict[str, Any]:
        return {"radius": float(_default(self.radius, n_x // 2)), "height": float(_default(self.height, n_x))}


class Gaussian(_Shape):
    shape: Literal["gaussian"] = "gaussian"
    sigma: float = DEFAULT

    @field_validator("sigma")
    @classmethod
    def _sigma(cls, v: float) -> float:
        return _positive_or_default(v, "N / 6")

    def _resolved_lengths(self, n_x: int, ndim: int) -> dict[str, Any]:
        return {"sigma": float(_default(self.sigma, n_x / 6))}


class RaisedCosine(_Annulus):
    outer_must_exceed_inner: ClassVar[bool] = True
    shape: Literal["raised_cosine"] = "raised_cosine"


class RaisedCrown(_Annulus):
    shape: Literal["raised_crown"] = "raised_crown"
    border_decay: float = Field(ge=0)

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


GeometryParams = Annotated[
    Circular | Sphere | Box | Crown | Cylinder | Gaussian | RaisedCosine | RaisedCrown,
    Field(discriminator="shape"),
]
