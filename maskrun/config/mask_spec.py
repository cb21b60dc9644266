"""The ``mask:`` section: a geometrical shape, a created mask file, a map to threshold or an expression of
terms; the compatibility mode."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from maskrun.config.expression_params import ExpressionParams
from maskrun.config.numeric import ANGSTROM, COUNT, Z_FRACTION, number
from maskrun.config.pixel_count import PixelCount
from maskrun.config.projection_params import ProjectionParams
from maskrun.config.shape_params import GeometryParams
from maskrun.config.threshold import Threshold
from maskrun.errors import FieldError

Compat = Literal["maskrun", "xmipp"]
HELIX_MIN_SOFT_EDGE = 0.001  # RELION's smallest soft edge for the helical crop (it divides by the width)


class MapMaskParams(BaseModel):
    """The ``mask.map`` section: make the mask from a map, as ``relion_mask_create`` does.

    See `maskrun.geometry.map_mask` for what each step means and in which order it runs.
    ``and``, ``or``, ``and_not``, ``or_not`` (at most one) name a second map of the same box
    that the seed combines with ``file``; ``helix`` crops the mask along z to the central
    ``z_percentage`` of the box (RELION's ``--helix``; it needs a soft edge).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True)

    file: Path
    threshold: Threshold  # a number, or a rule: '3 sigma', '250 kDa', '1.2e6 A3', 'auto'
    extend_px: PixelCount = 0.0
    soft_edge_px: PixelCount = Field(0.0, ge=0)
    lowpass_angstrom: Annotated[float | None, number(ANGSTROM)] = Field(None, gt=0)
    invert: bool = False
    keep_largest_component: bool = False
    min_component_voxels: Annotated[int, number(COUNT)] = Field(0, ge=0)
    fill_holes: bool = False
    and_: Path | None = Field(None, alias="and")
    or_: Path | None = Field(None, alias="or")
    and_not: Path | None = None
    or_not: Path | None = None
    helix: bool = False
    z_percentage: Annotated[float, number(Z_FRACTION)] = Field(
        0.3,
        ge=0.1,
        le=0.9,
        description="a fraction, not a percentage: the share of the box kept along z, from 0.1 to 0.9 (0.3 = 30 %)",
    )

    @model_validator(mode="after")
    def _one_combination(self) -> Self:
        given = [name for name, path in self.combinations.items() if path is not None]
        if len(given) > 1:
            raise FieldError(
                given[1], f"give at most one of and, or, and_not, or_not (got {', '.join(given)}); keep one"
            )
        if self.helix and self.soft_edge_px < HELIX_MIN_SOFT_EDGE:
            raise FieldError(
                "soft_edge_px",
                f"the helical crop needs a soft edge of at least {HELIX_MIN_SOFT_EDGE:g} px (RELION's minimum); "
                "set a soft edge, or leave out the helix",
            )
        if "z_percentage" in self.model_fields_set and not self.helix:
            raise FieldError("z_percentage", "is used only with the helical crop; add helix or remove it")
        return self

    @property
    def combinations(self) -> dict[str, Path | None]:
        """The second map of each combination (``and``, ``or``, ``and_not``, ``or_not``), None where not given."""
        return {"and": self.and_, "or": self.or_, "and_not": self.and_not, "or_not": self.or_not}

    @property
    def combination(self) -> tuple[str, Path] | None:
        """The combination asked for and its second map, if any."""
        return next(((name, path) for name, path in self.combinations.items() if path is not None), None)

    def with_second_map(self, path: Path) -> MapMaskParams:
        """These parameters with the second map's path replaced (made absolute by a job)."""
        name = self.combination[0] if self.combination else None
        field = {"and": "and_", "or": "or_"}.get(name or "", name)
        return self.model_copy(update={field: path}) if field else self


class MaskSpec(BaseModel):
    """The ``mask:`` section: a geometrical shape, a created mask read from an MRC file, a map, or an
    expression of terms (`maskrun.config.expression_params`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["geometry", "file", "map", "expression", "projection"] = "geometry"
    geometry: GeometryParams | None = None
    file: Path | None = None
    map: MapMaskParams | None = None
    expression: ExpressionParams | None = None
    projection: ProjectionParams | None = None  # a 3D mask projected at each particle's pose
    follow: Literal["offsets", "pose"] | None = Field(
        None,
        description=(
            "particle jobs, a 2D shape: 'offsets' places it at each particle's recorded centre (its origin), "
            "'pose' also turns it by the particle's psi (a box along each helical segment; use odd sizes)"
        ),
    )

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        given = {
            "geometry": self.geometry,
            "file": self.file,
            "map": self.map,
            "expression": self.expression,
            "projection": self.projection,
        }
        if given[self.source] is None:
            example = {
                "geometry": "a 'geometry' section with a shape",
                "file": "'file: path/to/mask.mrc'",
                "map": "a 'map' section (file, threshold, ...)",
                "expression": "an 'expression' section (all_of, any_of, none_of: lists of terms)",
                "projection": "a 'projection' section (file: the 3D mask, mode, ...)",
            }[self.source]
            raise ValueError(f"source '{self.source}' needs {example}")
        for name, value in given.items():
            if name != self.source and value is not None:
                raise ValueError(f"'{name}' is used only with source: {name}; remove it or set source: {name}")
        if self.follow is not None and self.source == "projection":  # the fix is removing it, not another source
            raise FieldError(
                "follow",
                "'follow' places a shape at each particle's centre, for source: geometry; remove mask.follow (a "
                "projected mask follows each particle's pose and origin already)",
            )
        if self.follow is not None and self.source != "geometry":
            raise ValueError(
                f"'follow' places a shape at each particle's centre; it needs source: geometry, not {self.source}"
            )
        return self

    @property
    def input_file(self) -> Path | None:
        """The file the mask is read or made from, if any."""
        if self.projection is not None:
            return self.projection.file
        return self.file if self.file is not None else (self.map.file if self.map is not None else None)

    @property
    def first_length_in_angstrom(self) -> str | None:
        """The key, in this section, of the first shape length given in Å (``geometry.radius``,
        ``expression.all_of.0.geometry.radius``), converted at the data's pixel size; None when there is none."""
        if self.geometry is not None and (first := self.geometry.first_length_in_angstrom) is not None:
            return f"geometry.{first}"
        for where, leaf in self.expression.leaves("") if self.expression is not None else []:
            if leaf.geometry is not None and (first := leaf.geometry.first_length_in_angstrom) is not None:
                return f"expression.{where}.geometry.{first}"
        return None

    @property
    def input_files(self) -> list[Path]:
        """Every file the mask is read or made from: a mask map's second map too."""
        if self.expression is not None:
            return self.expression.files
        second = self.map.combination if self.map is not None else None
        return [f for f in (self.input_file, second[1] if second else None) if f is not None]
