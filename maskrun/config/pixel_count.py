"""A length that counts pixels only (``extend_px``, ``soft_edge_px``): a number, or one written in px (``"6 px"``).

A shape's lengths take ``"42 A"`` and wait for the data's pixel size
(`maskrun.config.shape_base`). The fields named ``_px`` say in their name that they count
pixels, as RELION's ``--extend_inimask`` and ``--width_soft_edge`` do: a length in Å given
there is refused with the number of pixels to give (`maskrun.config.numeric.in_field_unit`),
rather than read as something other than the field's name says.
"""

from __future__ import annotations

from typing import Annotated

from maskrun.config.numeric import PIXELS, number

PixelCount = Annotated[float, number(PIXELS)]
"""A float field that counts pixels: `number` refuses a boolean, takes ``"6 px"`` as 6 and refuses a length in
another unit (by the field's name, ``_px``), saying what number to give."""
