"""Masks from atomic models: what to make from the model (docs/spec.md, "Masks from atomic models").

Lengths are pixels of the grid's X axis, or text with a unit (``"3 A"``, ``"3 Å"``, ``"2 px"``),
as for shapes; a radius may also be ``"vdw"`` (each element's van der Waals radius, gemmi's).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from maskrun.config.messages import echoed
from maskrun.config.numeric import ANGSTROM, FRACTION, LENGTH, WIDTH, number, refuse_a_boolean
from maskrun.config.shape_base import angstrom_to_pixels, parse_length

VDW = "vdw"
MOLMAP_THRESHOLD_DEFAULT = 0.1  # a fraction of the molmap's peak (maskrun.geometry.model_mask.MOLMAP_THRESHOLD)


def _length(value: Any, *, negative: bool, fix: str = LENGTH) -> float | str:
    """A number of pixels, or a length with a unit kept as text (checked now, converted with the voxel size); a
    boolean is refused with ``fix``."""
    refuse_a_boolean(value, fix)
    parsed = parse_length(value)
    if parsed is None:
        if not isinstance(value, int | float):
            raise ValueError(f"must be a length ('3 A', '2 px' or a number of pixels); got {echoed(value)}")
        number = float(value)
        if number < 0 and not negative:
            raise ValueError(f"must be ≥ 0; got {number:g}")
        return number
    number, in_angstrom = parsed
    if number <= 0:
        raise ValueError(f"a length with a unit must be positive; got '{value}'")
    return value if in_angstrom else number


class ModelMaskParams(BaseModel):
    """Make a mask from an atomic model on a map's grid: spheres around atoms, or a molmap.

    Exactly one of ``radius`` (spheres) and ``molmap_resolution_angstrom`` is given.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    file: Path
    select: str | None = None
    radius: float | str | None = None
    molmap_resolution_angstrom: Annotated[float | None, number(ANGSTROM)] = Field(None, gt=0)
    threshold: Annotated[float | None, number(FRACTION)] = Field(None, gt=0, lt=1)
    extend: float | str = 0.0
    soft_edge: float | str = 0.0
    invert: bool = False

    @field_validator("radius", mode="before")
    @classmethod
    def _radius(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and value.strip().lower() == VDW):
            return None if value is None else VDW
        # one message for 0, -3 and '-2 A' (they were told "≥ 0", "> 0" and "must be positive")
        parsed = parse_length(value)
        number = parsed[0] if parsed is not None else value
        if isinstance(number, int | float) and not isinstance(number, bool) and not 0 < number < math.inf:
            shown = f"'{value}'" if isinstance(value, str) else f"{number:g}"
            raise ValueError(f"must be a number > 0 (a length: '3 A', '2 px', 2; or 'vdw'); got {shown}")
        return _length(value, negative=False, fix=f"{LENGTH}, or 'vdw'")

    @field_validator("extend", mode="before")
    @classmethod
    def _extend(cls, value: Any) -> Any:
        return _length(value, negative=True)

    @field_validator("soft_edge", mode="before")
    @classmethod
    def _soft_edge(cls, value: Any) -> Any:
        return _length(value, negative=False, fix=WIDTH)

    @model_validator(mode="after")
    def _one_mode(self) -> Self:
        if (self.radius is None) == (self.molmap_resolution_angstrom is None):
            raise ValueError(
                "give either a radius (spheres around the atoms: '3 A', or 'vdw') or a molmap resolution (Å), "
                "one of them"
            )
        if self.threshold is not None and self.molmap_resolution_angstrom is None:
            raise ValueError("a threshold goes with a molmap (a fraction of its peak); spheres need none")
        return self

    @property
    def molmap_threshold(self) -> float:
        """The molmap's threshold as a fraction of its peak (the default when none is given)."""
        return self.threshold if self.threshold is not None else MOLMAP_THRESHOLD_DEFAULT

    def radius_angstrom(self, voxel_x_angstrom: float) -> float | None:
        """The spheres' radius in Å (a radius in pixels is in the grid's X voxels); None for ``vdw``."""
        if self.radius is None or self.radius == VDW:
            return None
        return _angstrom(self.radius, voxel_x_angstrom)

    def extend_px(self, voxel_x_angstrom: float) -> float:
        """The extension in voxels of the grid's X size."""
        return _px(self.extend, voxel_x_angstrom)

    def soft_edge_px(self, voxel_x_angstrom: float) -> float:
        """The soft edge's width in voxels of the grid's X size."""
        return _px(self.soft_edge, voxel_x_angstrom)


def _angstrom(length: float | str, voxel_x_angstrom: float) -> float:
    if isinstance(length, str):
        parsed = parse_length(length)
        assert parsed is not None  # checked by the model
        return parsed[0]
    return float(length) * voxel_x_angstrom


def _px(length: float | str, voxel_x_angstrom: float) -> float:
    if isinstance(length, str):
        parsed = parse_length(length)
        assert parsed is not None  # checked by the model
        return angstrom_to_pixels(parsed[0], voxel_x_angstrom)
    return float(length)
