"""A numeric setting of a job refuses a boolean: ``soft_edge: yes`` is not a 1 px edge.

Pydantic's lax mode reads ``True`` as 1, so ``soft_edge: yes`` (YAML 1.1's true), meant as
"a soft edge, please", gave a 1 px edge, and ``version: true`` passed as version 1. Every
numeric field of the job models carries `number` with what to give instead (a model term's
lengths, which may also be ``vdw``, are checked by their own validator, through `refuse_a_boolean`), by kind of
field (`LENGTH`, `PIXELS`, `FRACTION`, ...): a boolean is refused with that fix, spelt as
the job file writes it by `maskrun.config.messages`. Lax mode stays otherwise: an int is a
float, and a length written as text is converted before (`maskrun.config.shape_base`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BeforeValidator

LENGTH = "give a length in px, '12 px' or '42 A'"
CENTER = "give x y (images) or x y z (maps), in px or with a unit: ['12 px', '42 A']"
WIDTH = "give a width in px, '12 px' or '42 A'"
PIXELS = "give a number of pixels, 0 for none"
FRACTION = "give a fraction between 0 and 1, 0.1 say"
Z_FRACTION = "give a fraction from 0.1 to 0.9 (0.3 = 30 %), or leave it out"
FILL_VALUE = "give the fill value, 0 say"
DENSITY = "give a density value of the map, 0.02 say"
COUNT = "give a whole number, 0 or more"
ANGSTROM = "give a number of Å, 15 say, or leave it out"
PIXEL_SIZE = "give the pixel size in Å/px, 1.06 say, or leave it out"
VOLTAGE = "give the voltage in kV, 300 say, or leave it out"
CS = "give the spherical aberration in mm, 2.7 say, or leave it out"
BATCH = 'give a number of particles, 10000 say, or a size such as "2 GB"'
VERSION = "write version: 1"


class NotANumber(ValueError):
    """A boolean given where a number goes; ``fix`` says what to give (`LENGTH`, ...)."""

    def __init__(self, value: bool, fix: str):
        super().__init__(f"got {str(value).lower()}, not a number; {fix}")
        self.value = value
        self.fix = fix


def refuse_a_boolean(value: Any, fix: str) -> None:
    """Raise `NotANumber` with ``fix`` when ``value`` is a boolean (NumPy's too, from the Python API)."""
    if isinstance(value, bool | np.bool_):
        raise NotANumber(bool(value), fix)


def _refuse_bools(fix: str) -> Any:
    def refuse(value: Any) -> Any:
        for item in value if isinstance(value, list | tuple) else (value,):  # a centre's or a box's numbers too
            refuse_a_boolean(item, fix)
        return value

    return refuse


def number(fix: str) -> BeforeValidator:
    """The mark of a numeric field (``Annotated[float, number(FRACTION)]``): a boolean, alone or in a list, is
    refused with ``fix``; anything else goes on to the field's own validation."""
    return BeforeValidator(_refuse_bools(fix))
