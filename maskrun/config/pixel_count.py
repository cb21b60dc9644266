"""A length that counts pixels only (``extend_px``, ``soft_edge_px``): a number, never text with a unit.

A shape's lengths take ``"42 A"`` and wait for the data's pixel size
(`maskrun.config.shape_base`). The fields named ``_px`` say in their name that they count
pixels, as RELION's ``--extend_inimask`` and ``--width_soft_edge`` do: a length in Å given
there is refused with how to convert it, rather than read as something other than the
field's name says.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationInfo

from maskrun.config.numeric import PIXELS, number
from maskrun.config.shape_base import LENGTH_TEXT


def _a_number(value: Any, info: ValidationInfo) -> Any:
    """``value`` as given, unless it is a length with a unit: refused, saying what number to give."""
    match = LENGTH_TEXT.match(value) if isinstance(value, str) else None
    if match is None or match.group(2) is None:  # a number, or text Pydantic refuses as no number
        return value
    number, unit, field = float(match.group(1)), match.group(2), info.field_name
    if unit == "px":
        raise ValueError(f"'{value}': {field} counts pixels already; write the number alone: {number:g}")
    raise ValueError(
        f"'{value}' is in Å, but {field} counts pixels: give the number of pixels, {number:g} ÷ the pixel size (Å/px)"
    )


PixelCount = Annotated[float, BeforeValidator(_a_number), number(PIXELS)]
"""A float field that counts pixels (`_a_number` refuses a length with a unit, `number` a boolean)."""
