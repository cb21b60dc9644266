"""Mask arrays for every shape (docs/spec.md, "Shapes"), in 2D and 3D alike.

Every shape is built the same way: the one coordinate grid (`maskrun.geometry.grid`), the
shape's own `field` (a distance: from the centre, or outside its boundary), and a profile
that turns it into a weight: a hard or raised-cosine edge (`maskrun.config.shape_edges`) for the
hard-edged shapes, a raised cosine or a gaussian for the soft ones.
Distances are computed in float64 so that the kept pixel sets match Xmipp's exactly on
ring boundaries and with fractional radii or centres.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from maskrun.config.mask_spec import Compat
from maskrun.config.shape_base import Shape
from maskrun.errors import AllOrNothingWarning, BoxCutWarning, EdgeCutWarning, MaskrunWarning
from maskrun.geometry.box_edge import SHRINK_OR_MOVE, touches_the_box_edge, z_faces_only
from maskrun.geometry.grid import coordinate_grid, radius_squared


@dataclass(frozen=True)
class Mask:
    """A mask for one box shape.

    Attributes
    ----------
    values
        float32 weights ``m`` in array order ``(y, x)`` or ``(z, y, x)``; 1 keeps a pixel.
    binary
        True when every value is 0 or 1: then applying it substitutes the fill for the
        pixels where ``m == 0`` and leaves the others bit-for-bit untouched.
    notes
        What making it found that is worth a ``note:`` line, not a warning (how many atoms
        a model term selected, some of them outside the box).
    edge_terms
        An expression's terms that keep voxels (not under ``none_of``) and reach the box edge
        themselves, by key path (``all_of.0``): what to blame when the mask is cut by the box.
    """

    values: np.ndarray
    binary: bool
    notes: tuple[str, ...] = ()
    edge_terms: tuple[str, ...] = ()

    @classmethod
    def from_values(cls, values: np.ndarray, notes: tuple[str, ...] = ()) -> Mask:
        """Wrap a weight array (a created mask, say), detecting whether it is binary."""
        values = np.ascontiguousarray(values, dtype=np.float32)
        binary = bool(np.all((values == 0) | (values == 1)))
        return cls(values, binary, notes)

    @property
    def keep(self) -> np.ndarray:
        """Boolean array of the pixels kept as they are (binary masks)."""
        kept: np.ndarray = self.values == 1
        return kept

    @cached_property
    def outside(self) -> np.ndarray:
        """Boolean array of the pixels a binary mask replaces by the fill (``m == 0``)."""
        replaced: np.ndarray = self.values == 0
        return replaced

    @cached_property
    def complement(self) -> np.ndarray:
        """float32 ``1 − m``: the weight of the fill under a soft mask."""
        return (1 - self.values).astype(np.float32)


def keeps_all_or_nothing(values: np.ndarray) -> bool | None:
    """Whether a mask keeps everything (True: all 1) or nothing (False: all 0), for its `AllOrNothingWarning`;
    None when neither."""
    if values.max() == 0:
        return False
    if values.min() >= 1:
        return True
    return None


def unit_of(values: np.ndarray) -> str:
    """What a mask's elements are called in its warnings: ``voxel`` in 3D, else ``pixel``."""
    return "voxel" if values.ndim == 3 else "pixel"


def field_values(
    profile: Callable[[np.ndarray], np.ndarray], terms: Sequence[np.ndarray], shape_zyx: tuple[int, ...], slab: int = 16
) -> np.ndarray:
    """``profile(s)``, ``s = Σ term²``, over the grid as float32, built slab by slab along the first axis.

    With whole-valued terms (whole-pixel centres: every r², or a box's excess) every s is an
    integer held exactly in float64, so the profile is evaluated once per distinct s and
    looked up: the same values, far fewer square roots and cosines, and no full-size float64
    temporaries. Each term has one axis per grid axis (size 1 where it does not vary).
    """
    coords = list(terms)
    out = np.empty(shape_zyx, dtype=np.float32)
    integral = all(np.array_equal(c, np.round(c)) for c in coords)  # every coordinate, not one
    if integral:
        table = profile(np.arange(int(sum((c**2).max() for c in coords)) + 1, dtype=np.float64))
        table = np.asarray(table, dtype=np.float32)
        squares = [(c**2).astype(np.int64) for c in coords]
    for first in range(0, shape_zyx[0], slab):
        rows = slice(first, min(shape_zyx[0], first + slab))
        if integral:
            r2 = _rows(squares[0], rows)
            for sq in squares[1:]:
                r2 = r2 + _rows(sq, rows)
            np.take(table, np.broadcast_to(r2, out[rows].shape), out=out[rows])
        else:
            out[rows] = profile(radius_squared([_rows(c, rows) for c in coords]))
    return out


def _rows(term: np.ndarray, rows: slice) -> np.ndarray:
    """The part of an open-grid term for these rows of the first axis (all of it if it does not span that axis)."""
    return term[rows] if term.shape[0] > 1 else term


def build_mask(params: Shape, shape_zyx: tuple[int, ...], compat: Compat = "maskrun") -> Mask:
    """Build the mask of a resolved shape for one box.

    Parameters
    ----------
    params
        A shape model from `maskrun.params` after `resolve` (no ``-1`` left).
    shape_zyx
        Box shape in array order.
    compat
        ``"xmipp"`` makes the gaussian Xmipp's normalised density.

    Returns
    -------
    Mask
        Binary shapes give a binary mask; with ``invert`` they keep the complement,
        except the circular/sphere ring ``r == R``, which is kept in both modes as
        Xmipp does. Soft shapes give ``m`` or, inverted, ``1 - m``.

    Raises
    ------
    ValueError
        If ``params`` still holds ``-1`` defaults or no centre (it was not resolved):
        resolve it for the box first, or use `maskrun.make_mask`, which does.

    Warns
    -----
    MaskrunWarning
        When the mask keeps nothing or everything, a radius reaches past the box edge,
        or the centre lies outside the box.
    """
    unresolved = params.unresolved_fields()
    if unresolved:
        raise ValueError(
            f"{params.shape}: {', '.join(unresolved)} not resolved for a box; call "
            f"params.resolve(n_x={shape_zyx[-1]}, ndim={len(shape_zyx)}) first, or use "
            "maskrun.make_mask, which resolves -1 defaults for the box"
        )
    mask, suspicious = _build_cached(params, tuple(int(n) for n in shape_zyx), compat)
    for message in suspicious:  # on every call: a cached mask's warnings are not spent by the first
        warnings.warn(message, MaskrunWarning, stacklevel=2)
    return mask


@lru_cache(maxsize=8)
def _build_cached(
    params: Shape, shape_zyx: tuple[int, ...], compat: Compat
) -> tuple[Mask, tuple[str | MaskrunWarning, ...]]:
    field = params.field(coordinate_grid(shape_zyx, params.center), compat)
    weight = field.weight
    profile = (lambda s: 1.0 - weight(s)) if params.invert else weight
    mask = Mask(field_values(profile, field.terms, shape_zyx), binary=params.is_binary)
    mask.values.setflags(write=False)
    return mask, _suspicious(params, mask, shape_zyx)


def _suspicious(params: Shape, mask: Mask, shape_zyx: tuple[int, ...]) -> tuple[str | MaskrunWarning, ...]:
    """What a mask of these parameters probably did not mean to do, as warning messages."""
    found: list[str | MaskrunWarning] = []
    larger = "make it larger, or move its centre into the box"
    keeps_all = keeps_all_or_nothing(mask.values)
    if keeps_all is not None:
        fix = larger if keeps_all == params.invert else "make it smaller than the box"
        found.append(AllOrNothingWarning(f"the {params.shape} mask", keeps_all, fix, unit=unit_of(mask.values)))
    half_box = min(shape_zyx) / 2
    for name in ("radius", "outer_radius"):
        radius = getattr(params, name, None)
        if radius is not None and radius > half_box and keeps_all is None:  # all or nothing: no edge in the box
            cut = f"{name} {radius:g} px is larger than half the box ({half_box:g} px): the mask is cut by the box edge"
            found.append(BoxCutWarning(cut))
    shape_xyz = shape_zyx[::-1]
    moved = params.center is not None and any(params.center)  # centred, its size alone cuts it: the radius rule
    if params.center is not None and any(abs(c) > n / 2 for c, n in zip(params.center, shape_xyz)):
        found.append(f"center {list(params.center)} lies outside the box {list(shape_xyz)}")
    elif moved and keeps_all is None and not any(isinstance(w, BoxCutWarning) for w in found):  # a radius said it
        # a cylinder reaching only the z faces reaches them by its height, as it does centred: not the move's doing
        along_z = params.shape == "cylinder" and z_faces_only(mask.values) == 2
        edge_cut = None if along_z else touches_the_box_edge(mask.values, params.invert, SHRINK_OR_MOVE)
        if edge_cut is not None:
            found.append(EdgeCutWarning(edge_cut))
    return tuple(found)
