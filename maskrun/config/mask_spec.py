"""The ``mask:`` section: a geometrical shape, a created mask file or a map to threshold; the compatibility mode."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from maskrun.config.shape_params import GeometryParams

Compat = Literal["maskrun", "xmipp"]


class MapMaskParams(BaseModel):
    """The ``mask.map`` section: make the mask from a map, as ``relion_mask_create`` does.

    See `maskrun.geometry.map_mask` for what each step means and in which order it runs.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    file: Path
    threshold: float
    extend_px: float = 0.0
    soft_edge_px: float = Field(0.0, ge=0)
    lowpass_angstrom: float | None = Field(None, gt=0)
    invert: bool = False
    keep_largest_component: bool = False
    min_component_voxels: int = Field(0, ge=0)
    fill_holes: bool = False


class MaskSpec(BaseModel):
    """The ``mask:`` section: a geometrical shape, a created mask read from an MRC file, or a map."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["geometry", "file", "map"] = "geometry"
    geometry: GeometryParams | None = None
    file: Path | None = None
    map: MapMaskParams | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        given = {"geometry": self.geometry, "file": self.file, "map": self.map}
        if given[self.source] is None:
            example = {
                "geometry": "a 'geometry' section with a shape",
                "file": "'file: path/to/mask.mrc'",
                "map": "a 'map' section (file, threshold, ...)",
            }[self.source]
            raise ValueError(f"source '{self.source}' needs {example}")
        for name, value in given.items():
            if name != self.source and value is not None:
                raise ValueError(f"'{name}' is used only with source: {name}; remove it or set source: {name}")
        return self

    @property
    def input_file(self) -> Path | None:
        """The file the mask is read or made from, if any."""
        return self.file if self.file is not None else (self.map.file if self.map is not None else None)
