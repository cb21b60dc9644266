"""A map's zero-padded Fourier transform as RELION's projector holds it, made a block of x frequencies at a time.

The table a projection interpolates (`maskrun.geometry.projection`) holds the transform of
the map zero-padded to ``padded``³ (its centre moved to the origin first), frequencies
``-reach..reach`` in z and y and ``0..reach`` in x (the other half is its Friedel mate),
zero beyond the ball of radius ``limit`` (and so on a border of two beyond it, where
interpolations end). A table is 32 bytes a voxel of the map at padding 2 (550 MB at
256³, 4.4 GB at 512³).

It is made axis by axis, transforming only the lines that hold data (the padding is
zeros): along x once for the whole map (a slab of z planes at a time), then, for a block
of x frequencies, along y and along z. A block is complete once made: a caller that needs
only a few slices of the table (the sampling check's reference projections) interpolates
each block's points and drops it, and never holds the table.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import scipy.fft

BLOCK_BYTES = 64 << 20  # the y and z transforms of a block of x frequencies, about this much at a time


class PaddedTransform:
    """The transform along x of a map zero-padded ``padded`` times, from which `columns_into` makes table blocks.

    Parameters
    ----------
    volume_zyx
        The map, a cube ``(n, n, n)``, already corrected and scaled as the projector needs it.
    padded
        The padded size (even).
    limit
        The largest frequency kept (the ball's radius, in the padded transform's units).

    Holds the map's transform along x, ``8·n²·(limit + 1)`` bytes (134 MB at 256³, padding 2).
    """

    def __init__(self, volume_zyx: np.ndarray, padded: int, limit: int) -> None:
        n = volume_zyx.shape[0]
        self.n, self.padded, self.limit = n, padded, limit
        self.reach = limit + 2  # a zero border: every interpolation stays inside
        self.width = min(limit, padded // 2) + 1  # the x frequencies that may hold a value
        self._along_x = np.empty((n, n, self.width), np.complex64)
        planes = max(1, BLOCK_BYTES // (4 * n * padded))
        rows = np.zeros((min(planes, n), n, padded), np.float32)
        for first in range(0, n, planes):
            last = min(n, first + planes)
            _place(rows[: last - first], 2, volume_zyx[first:last], n, padded)
            self._along_x[first:last] = scipy.fft.rfft(rows[: last - first], axis=2, workers=-1)[:, :, : self.width]

    @property
    def table_shape(self) -> tuple[int, int, int]:
        """The whole table's shape, ``(2·reach + 1, 2·reach + 1, reach + 1)`` (z, y, x)."""
        side = 2 * self.reach + 1
        return side, side, self.reach + 1

    def blocks(self, stop: int | None = None) -> Iterator[tuple[int, int]]:
        """``(first, stop)`` ranges of x frequencies, from 0 to ``stop`` (default: the last that may hold a value),
        each about `BLOCK_BYTES` to make."""
        stop = self.width if stop is None else stop
        per_column = 8 * self.padded * self.padded
        step = max(1, BLOCK_BYTES // per_column)
        for first in range(0, stop, step):
            yield first, min(stop, first + step)

    def columns_into(self, out: np.ndarray, first: int, stop: int) -> None:
        """Write the table's x frequencies ``first..stop − 1`` into ``out`` (``(2·reach + 1, 2·reach + 1, stop −
        first)``, a view of the table may do), zero beyond the ball and beyond `width`."""
        from maskrun.geometry.projection_kernels import ball_into  # numba: loaded where a table is made

        n, padded, limit = self.n, self.padded, self.limit
        made = min(stop, self.width)
        if first >= made:
            out[...] = 0
            return
        planes = np.zeros((n, padded, made - first), np.complex64)
        _place(planes, 1, self._along_x[:, :, first:made], n, padded)
        along_xy = scipy.fft.fft(planes, axis=1, workers=-1, overwrite_x=True)
        del planes
        # y beyond the ball at the block's smallest x is beyond it for the whole block: not transformed along z
        reach_y = math.isqrt(limit * limit - first * first)
        ys = np.arange(-min(reach_y, padded // 2 - 1), min(reach_y, padded // 2) + 1)  # −padded/2 is not held
        lines = np.zeros((padded, ys.size, made - first), np.complex64)
        negative = -int(ys[0])  # the lines of y < 0 come first, then y ≥ 0
        _place(lines[:, :negative], 0, along_xy[:, padded - negative :], n, padded)
        _place(lines[:, negative:], 0, along_xy[:, : ys.size - negative], n, padded)
        del along_xy
        spectrum = scipy.fft.fft(lines, axis=0, workers=-1, overwrite_x=True)
        ball_into(out, spectrum, int(ys[0]), first, limit, self.reach, padded)


def _place(target: np.ndarray, axis: int, values: np.ndarray, n: int, padded: int) -> None:
    """Put ``values`` (n long on ``axis``) into ``target`` (padded long) with index n // 2 at 0 (ifftshift's place)."""
    low, high = [slice(None)] * target.ndim, [slice(None)] * target.ndim
    head, tail = [slice(None)] * values.ndim, [slice(None)] * values.ndim
    low[axis], head[axis] = slice(0, n - n // 2), slice(n // 2, n)
    high[axis], tail[axis] = slice(padded - n // 2, padded), slice(0, n // 2)
    target[tuple(low)] = values[tuple(head)]
    target[tuple(high)] = values[tuple(tail)]
