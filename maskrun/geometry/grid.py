"""The one coordinate grid every mask shape is built on.

Convention (Xmipp's; docs/spec.md, "Conventions"): arrays are ``(z, y, x)`` or ``(y, x)``; the centre of
every axis is at index ``N // 2`` for even and odd ``N`` alike; a centre shift is given in
``(x, y[, z])`` order, x being the last array axis.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def coordinate_grid(
    shape_zyx: Sequence[int],
    center_shift_xyz: Sequence[float] | None = None,
    dtype: type = np.float64,
) -> list[np.ndarray]:
    """Logical coordinates of every pixel, relative to the (shifted) mask centre.

    Parameters
    ----------
    shape_zyx
        Array shape, ``(ny, nx)`` or ``(nz, ny, nx)``.
    center_shift_xyz
        Shift of the centre in pixels, ``(x, y)`` or ``(x, y, z)``; ``None`` for none.
    dtype
        Floating dtype of the coordinates.

    Returns
    -------
    list of numpy.ndarray
        One array per axis, in array order, shaped to broadcast against each other
        (an open grid): axis ``k`` has length ``shape_zyx[k]`` and size 1 elsewhere.

    Raises
    ------
    ValueError
        If the shift does not have one entry per axis.
    """
    ndim = len(shape_zyx)
    shift_xyz = tuple(center_shift_xyz) if center_shift_xyz is not None else (0.0,) * ndim
    if len(shift_xyz) != ndim:
        raise ValueError(f"centre shift has {len(shift_xyz)} entries for a {ndim}D grid")
    shift_zyx = shift_xyz[::-1]
    coords = []
    for axis, (n, shift) in enumerate(zip(shape_zyx, shift_zyx)):
        view = [1] * ndim
        view[axis] = n
        coords.append((np.arange(n, dtype=dtype) - (n // 2) - dtype(shift)).reshape(view))
    return coords


def radius_squared(coords: Sequence[np.ndarray]) -> np.ndarray:
    """Squared distance from the centre, broadcast from an open grid to the full shape."""
    total = coords[0] ** 2
    for c in coords[1:]:
        total = total + c**2
    return total
