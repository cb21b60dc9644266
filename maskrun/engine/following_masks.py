"""A 2D shape placed at each particle's recorded centre (``mask.follow: offsets``; docs/spec.md, "Shapes that follow").

A particle whose origin is ``(x, y)`` px (RELION's convention, `maskrun.formats.poses`)
sits at ``N // 2 − origin``: its mask is the job's shape with its centre moved by
``−origin`` (on top of the shape's own ``center``), sub-pixel positions included
(`maskrun.geometry.turned_shape`: a box keeps its b pixels per axis at any of them). At a
whole-pixel centre and psi 0 it is the fixed mask (`maskrun.geometry.masks.build_mask`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maskrun.config.fill import FillParams
from maskrun.config.mask_spec import Compat
from maskrun.config.shape_base import Shape
from maskrun.engine.stream import PerImageMasking
from maskrun.geometry.masks import Mask
from maskrun.geometry.turned_shape import turned_mask

BLOCK = 256  # particles' masks made at a time by the report: bounds memory at BLOCK·N²·4 bytes


def followed_masks(
    shape: Shape,
    box_yx: tuple[int, int],
    origin_x_px: np.ndarray,
    origin_y_px: np.ndarray,
    compat: Compat,
    psi_deg: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """The masks ``(n, ny, nx)`` of a resolved 2D shape moved to each particle's centre (by −origin).

    With ``psi_deg`` (``follow: pose``) each is also turned by −psi about its centre
    (`maskrun.geometry.turned_shape`, which also places the unturned ones). ``out``: where to
    put them (returned), float32 ``(n, ny, nx)``; a new array when None.
    """
    center = tuple(shape.center) if shape.center is not None else (0.0, 0.0)
    base_x, base_y = center[0], center[1]
    if out is None:
        out = np.empty((len(origin_x_px), *box_yx), np.float32)
    xs, ys = np.asarray(origin_x_px).tolist(), np.asarray(origin_y_px).tolist()
    angles = np.zeros(len(xs)).tolist() if psi_deg is None else (-np.asarray(psi_deg, dtype=np.float64)).tolist()
    for i, (x, y, angle) in enumerate(zip(xs, ys, angles)):
        moved = shape.model_copy(update={"center": (base_x - x, base_y - y)})
        out[i] = turned_mask(moved, box_yx, angle, compat)
    return out


@dataclass(frozen=True)
class FollowingMasking(PerImageMasking):
    """`Masking` with the shape moved to each particle's centre; ``origins`` are the unit's rows (x, y in px)."""

    shape: Shape | None = None
    origins: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))
    compat: Compat = "maskrun"
    psi_deg: np.ndarray | None = None  # follow: pose

    def masks_into(self, first_row: int, out: np.ndarray) -> None:
        """The masks of the unit's rows ``first_row .. first_row + len(out)``, the shape placed (and turned), into
        ``out``."""
        assert self.shape is not None  # `following_masking` sets it
        rows = slice(first_row, first_row + len(out))
        psi = None if self.psi_deg is None else self.psi_deg[rows]
        box = (out.shape[1], out.shape[2])
        followed_masks(self.shape, box, self.origins[0][rows], self.origins[1][rows], self.compat, psi, out=out)


def following_masking(
    shape: Shape,
    mask: Mask,
    origins: tuple[np.ndarray, np.ndarray],
    fill: FillParams,
    compat: Compat,
    first_index: int,
    psi_deg: np.ndarray | None = None,
) -> FollowingMasking:
    """The masking of a unit's particles by the shape at each one's centre (turned by −psi when given).

    ``mask`` is the shape's fixed mask: whether it is binary decides Xmipp's treatment of the fill.
    """
    blended = None if fill.is_zero or (compat == "xmipp" and not mask.binary) else fill
    return FollowingMasking(mask, blended, None, first_index, shape, origins, compat, psi_deg)
