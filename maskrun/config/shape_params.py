"""Shape parameters as strict Pydantic models (see docs/spec.md, "Shapes").

One model per shape, chosen by its ``shape`` tag; a parameter of another shape is an
error, never ignored. Lengths are in pixels; ``-1`` means the protocol default, which
`resolve` turns into a number for the actual box (X size ``N``): radius, outer_radius
and box_size become ``N // 2``, height ``N``, sigma ``N / 6``. A length may also be
written with a unit, ``"12 px"`` or ``"42 A"`` / ``"42 Å"``: Ångströms are kept aside
(`lengths_in_angstrom`) until `resolve` knows the data's pixel size.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from maskrun.errors import FieldError

DEFAULT = -1
SHAPES_2D = ("circular", "box", "crown", "gaussian", "raised_cosine", "raised_crown")
SHAPES_3D = ("sphere", "box", "crown", "cylinder", "gaussian", "raised_cosine", "raised_crown")
BINARY_SHAPES = ("circular", "sphere", "box", "crown", "cylinder")
LENGTH_FIELDS = ("radius", "inner_radius", "outer_radius", "box_size", "height", "sigma", "border_decay", "center")
LENGTH_TEXT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(px|A|\u00c5|\u212b)?\s*$")
_UNIT = re.compile(r"(px|A|\u00c5|\u212b)\s*$")
WHOLE_PIXEL_TOLERANCE = 1e-6  # relative: a length in Å this close to whole pixels is whole
_PLACEHOLDER = {"inner_radius": 0.0, "border_decay": 0.0}  # stand-ins that pass validation until resolve


def _parse_length(value: Any) -> tuple[float, bool] | None:
    """``(number, in Ångström)`` for a length written as text, None for anything else."""
    if not isinstance(value, str):
        return None
    match = LENGTH_TEXT.match(value)
    if match is None:
        raise ValueError(f"'{value}' is not a length: write a number of pixels, '12 px' or '42 A'")
    return float(match.group(1)), match.group(2) not in (None, "px")


def _pixels(angstrom: float, pixel_size_angstrom: float) -> float:
    """A length in Å as pixels; a whole number of pixels within `WHOLE_PIXEL_TOLERANCE` is that number.

    ``33 / 1.1`` is 29.999999999999996 in floating point, which would drop the ring r = 30
    that "33 A" at 1.1 Å/px means to keep.
    """
    pixels = angstrom / pixel_size_angstrom
    whole = round(pixels)
    return float(whole) if whole and abs(pixels - whole) <= WHOLE_PIXEL_TOLERANCE * abs(whole) else pixels


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
    # (field, value in Å) pairs: a tuple, so that a shape stays hashable (masks are cached by shape)
    lengths_in_angstrom: tuple[tuple[str, float | tuple[float, ...]], ...] = Field((), exclude=True)
    if TYPE_CHECKING:  # each shape's Literal tag, declared by the subclasses
        shape: str

    @model_validator(mode="before")
    @classmethod
    def _lengths_with_units(cls, data: Any) -> Any:
        """Pixels written as text become numbers; Ångströms wait in ``lengths_in_angstrom``."""
        if not isinstance(data, dict):
            return data
        data, angstrom = dict(data), dict(data.get("lengths_in_angstrom") or ())
        for name in LENGTH_FIELDS:
            value = data.get(name)
            parts = list(value) if isinstance(value, list | tuple) else [value]
            try:
                parsed = [_parse_length(part) for part in parts]
            except ValueError as exc:
                raise FieldError(name, str(exc)) from None
            if not any(parsed):
                continue
            numbers = [p[0] if p else part for p, part in zip(parsed, parts)]
            negative = [part for p, part in zip(parsed, parts) if p and p[0] < 0 and _UNIT.search(part)]
            if negative and name != "center":
                raise FieldError(
                    name, f"'{negative[0]}' is negative; a length must be > 0 (-1, without a unit, means the default)"
                )
            if any(p and p[1] for p in parsed):
                if not all(p and p[1] for p in parsed):
                    raise FieldError(name, "give every value in Å or none of them")
                several = isinstance(value, list | tuple)
                angstrom[name] = tuple(numbers) if several else numbers[0]
                data[name] = [0.0] * len(numbers) if several else _PLACEHOLDER.get(name, DEFAULT)
            else:
                data[name] = numbers if isinstance(value, list | tuple) else numbers[0]
        if angstrom:
            data["lengths_in_angstrom"] = tuple(angstrom.items())
        return data

    @property
    def is_binary(self) -> bool:
        return self.shape in BINARY_SHAPES

    def in_pixels(self, pixel_size_angstrom: float) -> Self:
        """This shape with every length given in Å converted to pixels of ``pixel_size_angstrom``.

        Raises
        ------
        FieldError
            If a length is in Å and the pixel size is unknown (0), or the converted lengths
            break a rule.
        """
        if not self.lengths_in_angstrom:
            return self
        first = self.lengths_in_angstrom[0][0]
        if pixel_size_angstrom <= 0:
            raise FieldError(
                first,
                "is given in Å, but the data's pixel size is unknown (0 in the header and the "
                "metadata); give it in pixels",
            )
        data = self.model_dump(exclude={"lengths_in_angstrom"})
        for name, value in self.lengths_in_angstrom:
            converted = [_pixels(v, pixel_size_angstrom) for v in (value if isinstance(value, tuple) else (value,))]
            if name == "box_size":
                converted = [round(v) for v in converted]
            data[name] = tuple(converted) if isinstance(value, tuple) else converted[0]
        try:
            return type(self).model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            message = str(error.get("ctx", {}).get("error", error["msg"]))
            raise FieldError(str(error["loc"][0]) if error["loc"] else first, message) from None

    def resolve(self, n_x: int, ndim: int, pixel_size_angstrom: float = 0.0) -> Self:
        """This shape with every ``-1`` replaced by its number for a box of X size ``n_x``, in pixels.

        Raises
        ------
        FieldError
            If the shape does not exist in ``ndim`` dimensions, the centre has the wrong
            number of entries, a length is in Å without a known pixel size, or resolved
            defaults break a rule (inner > outer radius).
        """
        if self.lengths_in_angstrom:
            return self.in_pixels(pixel_size_angstrom).resolve(n_x, ndim)
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
        """Fields still waiting for `resolve`: any length at ``-1`` or in Å, and a missing centre."""
        missing = ["center"] if self.center is None else []
        missing += [name for name, _ in self.lengths_in_angstrom if name != "center"]
        for name in type(self).model_fields:
            value = getattr(self, name)
            values = value if isinstance(value, tuple) else (value,)
            if name not in ("center", *missing) and any(v == DEFAULT for v in values if isinstance(v, int | float)):
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
