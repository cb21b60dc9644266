"""The ``inputs.optics`` section: microscope optics for a RELION STAR when the input does not say them.

A cryoSPARC ``.cs`` without ``ctf/accel_kv``, ``ctf/cs_mm`` or ``ctf/amp_contrast`` gives a
companion ``particles.star`` whose optics block RELION refuses; these fields fill the
gaps (the ``.cs``'s own values win where it has them). See docs/spec.md, "Inputs".
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Optics(BaseModel):
    """Voltage (kV), spherical aberration (mm) and amplitude contrast (fraction), each optional."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    voltage_kv: float | None = Field(None, ge=30, le=1000)  # 60-300 kV in practice
    cs_mm: float | None = Field(None, ge=0, le=20)  # 0 for a Cs-corrected microscope
    amplitude_contrast: float | None = Field(None, ge=0, le=1)  # a fraction, 0.07-0.1 in practice
