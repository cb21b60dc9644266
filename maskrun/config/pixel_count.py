"""A length that counts pixels only (``extend_px``, ``soft_edge_px``): a number, never text with a unit.

A shape's lengths take ``"42 A"`` and wait for the data's pixel size
(`maskrun.config.shape_base`). The fields named ``_px`` say in their name that they count
pixels, as RELION's ``--extend_inimask`` and ``--width_soft_edge`` do: a length in Å given
there is refused with how to convert it (`maskrun.config.numeric.refuse_a_unit`), rather than
read as something other than the field's name says.
"""

from __future__ import annotations

from typing import Annotated

from maskrun.config.numeric import PIXELS, number

PixelCount = Annotated[float, number(PIXELS)]
"""A float field that counts pixels: `number` refuses a boolean, and a length with a unit (by the field's name,
``_px``), saying what number to give."""
