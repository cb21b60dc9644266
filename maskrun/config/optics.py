"""The ``inputs.optics`` section: microscope optics for a RELION STAR when the input does not say them.

A cryoSPARC ``.cs`` without ``ctf/accel_kv``, ``ctf/cs_mm`` or ``ctf/amp_contrast`` gives a
companion ``particles.star`` whose optics block RELION refuses; these fields fill the
gaps (the ``.cs``'s own values win where it has them). See docs/spec.md, "Inputs".
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from maskrun.config.numeric import CS, FRACTION, VOLTAGE, number


class Optics(BaseModel):
    """Voltage (kV), spherical aberration (mm) and amplitude contrast (fraction), each optional."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    voltage_kv: Annotated[float | None, number(VOLTAGE)] = Field(None, ge=30, le=1000)  # 60-300 kV in practice
    cs_mm: Annotated[float | None, number(CS)] = Field(None, ge=0, le=20)  # 0 for a Cs-corrected microscope
    amplitude_contrast: Annotated[float | None, number(FRACTION)] = Field(
        None, ge=0, le=1
    )  # a fraction, 0.07-0.1 in practice
