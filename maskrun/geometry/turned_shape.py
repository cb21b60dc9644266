"""A 2D shape moved off the pixel grid and turned in the image plane: the mask of ``mask.follow``
(docs/spec.md, "Shapes that follow").

The shape is the one it is on the grid, b pixels wide for a box wherever it lies
(`maskrun.config.shape_base.Shape.moved_field`): a box moved by 0.3 px or turned by 0.5°
keeps its b × h pixels, not (b − 1) × (h − 1).

The shape is evaluated in its own frame ``(x', y')``, turned by ``angle_deg`` counter-clockwise
from the image's +x towards +y (x the column, y the row): ``x' = x·cos θ + y·sin θ``,
``y' = −x·sin θ + y·cos θ``, with ``(x, y)`` measured from the shape's (shifted) centre. For
a particle with RELION in-plane angle psi the map's axes appear in the image turned by
``θ = −psi`` (``A = Rz(psi)…`` maps the map's x to ``(cos psi, −sin psi)``): a box long in x
follows a helical segment whose axis the refinement put along the map's x or z.
"""

from __future__ import annotations

import math

import numpy as np

from maskrun.config.mask_spec import Compat
from maskrun.config.shape_base import Shape
from maskrun.geometry.grid import coordinate_grid
from maskrun.geometry.masks import field_values


def turned_mask(params: Shape, shape_yx: tuple[int, int], angle_deg: float, compat: Compat = "maskrun") -> np.ndarray:
    """The float32 mask of a resolved 2D shape, at its (sub-pixel) centre, turned by ``angle_deg`` about it.

    At 0° and a centre of whole pixels it equals `maskrun.geometry.masks.build_mask`'s values.
    """
    y, x = coordinate_grid(shape_yx, params.center)
    if angle_deg % 360 != 0:
        # rounded so that quarter turns are exact (cos 90° is 6e-17, which would move pixels off a boundary)
        c, s = round(math.cos(math.radians(angle_deg)), 15), round(math.sin(math.radians(angle_deg)), 15)
        x, y = x * c + y * s, -x * s + y * c  # full (ny, nx) arrays now
    field = params.moved_field([y, x], compat)
    weight = field.weight
    profile = (lambda r2: 1.0 - weight(r2)) if params.invert else weight
    return field_values(profile, field.terms, shape_yx)
