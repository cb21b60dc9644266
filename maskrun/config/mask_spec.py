"""The ``mask:`` section: a geometrical shape or a created mask file, and the compatibility mode."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, model_validator

from maskrun.config.shape_params import GeometryParams

Compat = Literal["maskrun", "xmipp"]


class MaskSpec(BaseModel):
    """The ``mask:`` section: a geometrical shape, or a created mask read from an MRC file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["geometry", "file"] = "geometry"
    geometry: GeometryParams | None = None
    file: Path | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.source == "geometry":
            if self.geometry is None:
                raise ValueError("source 'geometry' needs a 'geometry' section with a shape")
            if self.file is not None:
                raise ValueError("'file' is used only with source: file; remove it or set source: file")
        else:
            if self.file is None:
                raise ValueError("source 'file' needs 'file: path/to/mask.mrc'")
            if self.geometry is not None:
                raise ValueError("'geometry' is used only with source: geometry; remove it or set source: geometry")
        return self
