"""What every shape has, and the registry that lists the shapes (docs/spec.md, "Shapes").

A shape is one Pydantic model, subclass of `Shape` (or `HardEdgedShape`), registered with
`register_shape`; its one geometry method, `field`, says how far each pixel lies from the
shape (`ShapeField`), and for hard-edged shapes the shared edge profile of
`maskrun.config.shape_edges` turns that distance into a weight. Everything that lists shapes
(the job-file union, 2D/3D lists, command-line options, messages) derives from `SHAPES`.

Lengths are in pixels; ``-1`` means the protocol default, which `Shape.resolve` turns into a
number for the actual box. A length may also be written with a unit, ``"12 px"`` or
``"42 A"`` / ``"42 Å"``: Ångströms are kept aside (``lengths_in_angstrom``) until `resolve`
knows the data's pixel size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Self, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from maskrun.config.numeric import (
    ANGSTROM_UNIT,
    CENTER,
    LENGTH_UNITS,
    NM,
    PLAIN_NUMBER,
    WIDTH,
    WITH_UNIT,
    number,
    unit_written,
)
from maskrun.config.shape_edges import edge_weight
from maskrun.errors import FieldError

DEFAULT = -1
WHOLE_PIXEL_TOLERANCE = 1e-6  # relative: a length in Å this close to whole pixels is whole
# stand-ins that pass validation until resolve
_PLACEHOLDER = {"inner_radius": 0.0, "border_decay": 0.0, "soft_edge": 0.0}


def parse_length(value: Any) -> tuple[float, bool] | None:
    """``(number, in Ångström)`` for a length written as text, None for anything else.

    The units are spelt as every field named for its unit reads them (`maskrun.config.numeric.unit_written`):
    ``12``, ``12 px``, ``12 pixels``; ``42 A``, ``42Å``, ``42 angstrom``.

    Raises
    ------
    ValueError
        For text that is no length: a length in nm with the number of Å to give, else what to write.
    """
    if not isinstance(value, str):
        return None
    plain = PLAIN_NUMBER.fullmatch(value)
    if plain is not None:
        return float(plain.group(1)), False
    match = WITH_UNIT.fullmatch(value)
    unit = unit_written(match.group(2)) if match is not None else None
    if match is not None and unit in LENGTH_UNITS:
        return float(match.group(1)), unit == ANGSTROM_UNIT
    if match is not None and unit == NM:
        angstrom = float(match.group(1)) * 10
        raise ValueError(f"'{value}' is in nm; give it in Å, '{angstrom:g} A', or in pixels")
    raise ValueError(f"'{value}' is not a length: write a number of pixels, '12 px' or '42 A'")


def written_with_unit(value: Any) -> bool:
    """Whether ``value`` is text with a unit (``'-2 A'``), not a number alone (``-1``, ``'-1'``: the default)."""
    return isinstance(value, str) and PLAIN_NUMBER.fullmatch(value) is None


def angstrom_to_pixels(angstrom: float, pixel_size_angstrom: float) -> float:
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
        compared = ">" if inner > outer else "="
        raise ValueError(
            f"must be {relation} inner_radius (inner {inner:g} {compared} outer {outer:g}); "
            "swap the radii or enlarge outer_radius"
        )
    return outer


class Length:
    """Marks a field as a length: pixels, or text with a unit (``Annotated[float, Length()]``)."""


@dataclass(frozen=True)
class ShapeField:
    """A shape's geometry over a grid: ``weight(s)`` with ``s = Σ term²``, before inversion.

    Attributes
    ----------
    terms
        Open-grid arrays (one broadcastable array per axis or group of axes); with whole
        values, ``s`` is evaluated once per distinct value and looked up.
    weight
        float64 weight (1 keeps a pixel) as a function of float64 ``s``.
    """

    terms: Sequence[np.ndarray]
    weight: Callable[[np.ndarray], np.ndarray]


def with_lengths_in_angstrom(model: BaseModel, dumped: dict[str, Any]) -> dict[str, Any]:
    """``dumped`` (``model``'s JSON dump, by alias) with every shape's lengths given in Å written back as given.

    A dump leaves them out (they wait in ``lengths_in_angstrom`` for the data's pixel size,
    the fields holding a placeholder), so two jobs differing only in ``radius: "140 A"`` and
    ``"150 A"`` would dump alike; here each is its own field's value again, ``"150.0 A"``, at
    any depth (an expression's terms).
    """
    out = dict(dumped)
    if isinstance(model, Shape):
        for name, value in model.lengths_in_angstrom:
            out[name] = [f"{v!r} A" for v in value] if isinstance(value, tuple) else f"{value!r} A"
    for name, info in type(model).model_fields.items():
        key, value = info.serialization_alias or info.alias or name, getattr(model, name)
        if isinstance(value, BaseModel) and isinstance(out.get(key), dict):
            out[key] = with_lengths_in_angstrom(value, out[key])
        elif isinstance(value, list | tuple) and isinstance(out.get(key), list):
            out[key] = [
                with_lengths_in_angstrom(item, entry)
                if isinstance(item, BaseModel) and isinstance(entry, dict)
                else entry
                for item, entry in zip(value, out[key])
            ]
    return out


class Shape(BaseModel):
    """Fields every shape has: an optional centre shift and the inside/outside choice.

    A subclass sets its ``shape`` tag (a ``Literal``), its parameters, the dimensions it exists
    in (``dims``), the shape to suggest in the other ones (``instead``), and `field`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    dims: ClassVar[tuple[int, ...]] = (2, 3)
    instead: ClassVar[str] = "another shape"  # suggested for data of dimensions not in ``dims``
    hard_edged: ClassVar[bool] = False

    # one tuple type, its length bounded: as a union of a 2- and a 3-tuple, pydantic's serializer warned of a 3D
    # cylinder's or gaussian's centre ("Unexpected extra items present in tuple") on every job that had one
    center: Annotated[tuple[float, ...] | None, number(CENTER)] = Field(
        None, min_length=2, max_length=3, description="centre shift X Y [Z]"
    )
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
        for name in cls.length_fields():
            value = data.get(name)
            parts = list(value) if isinstance(value, list | tuple) else [value]
            try:
                parsed = [parse_length(part) for part in parts]
            except ValueError as exc:
                raise FieldError(name, str(exc)) from None
            if not any(parsed):
                continue
            numbers = [p[0] if p else part for p, part in zip(parsed, parts)]
            negative = [part for p, part in zip(parsed, parts) if p and p[0] < 0 and written_with_unit(part)]
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

    @classmethod
    def length_fields(cls) -> tuple[str, ...]:
        """The fields that are lengths (a unit allowed), ``center`` included."""
        marked = [name for name, f in cls.model_fields.items() if any(isinstance(m, Length) for m in f.metadata)]
        return (*marked, "center")

    @property
    def is_binary(self) -> bool:
        """Whether the mask holds only 0 and 1 (a hard edge)."""
        return False

    def field(self, coords: list[np.ndarray], compat: str) -> ShapeField:
        """The shape over an open grid of coordinates (`maskrun.geometry.grid.coordinate_grid`).

        Parameters
        ----------
        coords
            One open-grid array per axis, in array order, relative to the centre.
        compat
            ``"maskrun"`` or ``"xmipp"``.
        """
        raise NotImplementedError

    def moved_field(self, coords: list[np.ndarray], compat: str) -> ShapeField:
        """The shape's field where it is moved off the pixel grid or turned (a shape that follows particles).

        A shape whose `field` keeps as many pixels at any sub-pixel position (every round
        shape) keeps it; a box overrides it (`maskrun.config.shape_params.Box.moved_field`).
        """
        return self.field(coords, compat)

    @property
    def first_length_in_angstrom(self) -> str | None:
        """The field of the first length given in Å (``radius``), the one a refusal names; None when there is none."""
        return self.lengths_in_angstrom[0][0] if self.lengths_in_angstrom else None

    def in_pixels(self, pixel_size_angstrom: float) -> Self:
        """This shape with every length given in Å converted to pixels of ``pixel_size_angstrom``.

        Raises
        ------
        FieldError
            If a length is in Å and the pixel size is unknown (0), or the converted lengths
            break a rule.
        """
        first = self.first_length_in_angstrom
        if first is None:
            return self
        if pixel_size_angstrom <= 0:
            raise FieldError(
                first,
                "is given in Å, but the data's pixel size is unknown (0 in the header and the "
                "metadata); give it in pixels",
            )
        data = self.model_dump(exclude={"lengths_in_angstrom"})
        for name, value in self.lengths_in_angstrom:
            converted = [
                angstrom_to_pixels(v, pixel_size_angstrom) for v in (value if isinstance(value, tuple) else (value,))
            ]
            if name == "box_size":
                converted = [round(v) for v in converted]
            data[name] = tuple(converted) if isinstance(value, tuple) else converted[0]
        try:
            return type(self).model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            message = str(error.get("ctx", {}).get("error", error["msg"]))
            raise FieldError(str(error["loc"][0]) if error["loc"] else first, message) from None

    def refuse_if_not_in(self, ndim: int) -> None:
        """Refuse this shape on data of ``ndim`` dimensions when it does not exist in them.

        Raises
        ------
        FieldError
            On ``shape``, naming the shape of those dimensions to use instead.
        """
        if ndim not in self.dims:
            kind = "particle images (2D)" if ndim == 2 else "volumes (3D)"
            raise FieldError("shape", f"'{self.shape}' is not a shape for {kind}; use '{self.instead}'")

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
        self.refuse_if_not_in(ndim)
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


class HardEdgedShape(Shape):
    """A shape with a boundary: 1 inside, 0 outside, or a raised-cosine fall-off ``soft_edge`` wide.

    Its `field` gives each pixel's distance outside the boundary (exactly 0 inside) and
    `edged` turns it into a weight with `maskrun.config.shape_edges.edge_weight`, the one soft edge
    of every shape.
    """

    hard_edged: ClassVar[bool] = True
    soft_edge: Annotated[float, Length(), number(WIDTH)] = Field(
        0.0,
        exclude_if=lambda w: w == 0,  # a hard edge is recorded as it always was
        description="raised-cosine fall-off this wide outside the boundary (default 0: a hard edge)",
    )

    @field_validator("soft_edge")
    @classmethod
    def _soft_edge(cls, v: float) -> float:
        if v < 0:
            raise ValueError(f"must be >= 0 px (0, the default, is a hard edge); got {v:g}")
        return v

    @property
    def is_binary(self) -> bool:
        return self.soft_edge == 0

    def edged(self, terms: Sequence[np.ndarray], distance: Callable[[np.ndarray], np.ndarray]) -> ShapeField:
        """The field whose weight is the edge profile of ``distance(s)`` (distance outside, 0 inside)."""
        return ShapeField(terms, lambda s: edge_weight(distance(s), self.soft_edge))


SHAPES: dict[str, type[Shape]] = {}
"""Every shape by its tag, in the order registered (the order shapes are listed in)."""

S = TypeVar("S", bound=Shape)


def register_shape(model: type[S]) -> type[S]:
    """Class decorator: add a shape model to `SHAPES` under its ``shape`` tag."""
    tag = model.model_fields["shape"].default
    if tag in SHAPES:
        raise ValueError(f"shape '{tag}' is registered twice")
    SHAPES[tag] = model
    return model
