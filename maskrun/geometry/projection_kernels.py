"""The compiled inner loops of projected masks: a Fourier slice's interpolation, the rows a support needs, and a
support with its soft edge.

Why compiled (numba) and not a library call: each particle of a projected-mask job needs a
central slice of a padded 3D transform (a few thousand trilinear interpolations at
points no grid shares) and a 2D mask with a raised-cosine edge. In NumPy each step is a
pass over temporaries: 0.47 ms a projection and 0.39 ms a mask at 256² (3/8 sampling),
more than twice the cost of reading, masking and writing the particle.
`scipy.ndimage.map_coordinates` interpolates such points three times slower than those
NumPy gathers, and a distance transform covers the whole support where only its edge
matters. One loop over the points (and one over each image's pixels) does the same
arithmetic in the same precision without the temporaries: the masks are bit-identical to
the NumPy version's; the projections are within 3e-7 of their peak (the slice's steps fused
multiply-adds, one rounding each).

`rows_reaching` bounds each row of an image from its coefficients (a few thousand moduli,
stopping at the first row on each side that may reach a support). The functions fill arrays
given to them or return numbers, and hold the GIL-free part of the work (``nogil``): the
callers own the buffers, the formulas and their docstrings (`maskrun.geometry.projection`,
`maskrun.geometry.projected_mask`).
"""

from __future__ import annotations

import numba
import numpy as np

from maskrun.compiled import compiled


# fused multiply-adds (each step a + (b − a)·t one rounding): 20-30 % quicker, the values within 3e-7 of their peak
@compiled(fastmath={"contract"})
def slices_into(
    half: np.ndarray,
    table: np.ndarray,
    rows_of_a: np.ndarray,
    fx: np.ndarray,
    fy: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    reach: int,
    shift_x: np.ndarray,
    shift_y: np.ndarray,
) -> None:
    """Put each image's central slice into its half transform: ``half[i, rows[p], cols[p]]``.

    Parameters
    ----------
    half
        complex64 ``(k, N, > max(cols))``: written at ``(rows, cols)`` only.
    table
        complex64 ``(2R+1, 2R+1, R+1)``, C-contiguous: the padded transform centred at ``R =
        reach`` in y and z, its zero border ensuring every interpolation stays inside.
    rows_of_a
        float32 ``(k, 2, 3)``: the first two rows of each ``padding · A``.
    fx, fy
        float32: the 2D frequencies of the slice's points.
    rows, cols
        int: where each point goes in ``half``.
    shift_x, shift_y
        complex64 ``(k, ≥ max(cols) + 1)``, ``(k, N)``: the phase ramps each value is multiplied by
        (y first, then x).

    The point is ``(x, y, z) = (fx, fy) · rows_of_a``; where ``x < 0`` its Friedel mate is
    read and conjugated. Trilinear interpolation along x, then y, then z, each step ``a +
    (b − a)·t`` in float32 (a fused multiply-add where the compiler makes one).
    """
    flat = table.reshape(-1)  # indexed by unsigned offsets: no check for negative indices at each read
    plane, row_length = table.shape[1] * table.shape[2], table.shape[2]
    reach_f = np.float32(reach)
    for i in range(rows_of_a.shape[0]):
        a = rows_of_a[i]
        for p in range(fx.size):
            x, y, z, sign = _slice_point(a, fx[p], fy[p], reach_f)
            real, imag = _trilinear(flat, plane, row_length, x, y, z)
            imag *= sign
            row, col = rows[p], cols[p]
            sy, sx = shift_y[i, row], shift_x[i, col]
            yr, yi = real * sy.real - imag * sy.imag, real * sy.imag + imag * sy.real
            half[i, row, col] = complex(yr * sx.real - yi * sx.imag, yr * sx.imag + yi * sx.real)


# as `slices_into`'s, so that a streamed reference's points are the projector's to the last bit
@compiled(fastmath={"contract"})
def slice_points(rows_of_a: np.ndarray, fx: np.ndarray, fy: np.ndarray, reach: int) -> np.ndarray:
    """Each slice point's place in a table centred at ``reach`` (``x ≥ 0``: a Friedel mate where needed).

    Parameters
    ----------
    rows_of_a, fx, fy, reach
        As `slices_into`'s.

    Returns
    -------
    numpy.ndarray
        float32 ``(k, fx.size, 4)``: ``x``, ``y + reach``, ``z + reach`` and the sign of the
        imaginary part (−1 for a Friedel mate), for `points_into`.
    """
    points = np.empty((rows_of_a.shape[0], fx.size, 4), np.float32)
    reach_f = np.float32(reach)
    for i in range(rows_of_a.shape[0]):
        a = rows_of_a[i]
        for p in range(fx.size):
            x, y, z, sign = _slice_point(a, fx[p], fy[p], reach_f)
            points[i, p, 0], points[i, p, 1], points[i, p, 2], points[i, p, 3] = x, y, z, sign
    return points


@compiled(fastmath={"contract"})
def points_into(values: np.ndarray, block: np.ndarray, first_x: int, points: np.ndarray, which: np.ndarray) -> None:
    """Interpolate the points ``which`` (of ``points``, `slice_points`' flattened to ``(m, 4)``) from a block of a
    table: ``values[q]`` for each ``q`` in ``which``.

    ``block`` holds the table's x frequencies ``first_x, first_x + 1, …`` (all of z and y); each
    point's ``floor(x)`` and the next lie in it. The value is `slices_into`'s before its
    phase ramps.
    """
    flat = block.reshape(-1)
    plane, row_length = block.shape[1] * block.shape[2], block.shape[2]
    offset = np.float32(first_x)
    for q in which:
        real, imag = _trilinear(flat, plane, row_length, points[q, 0] - offset, points[q, 1], points[q, 2])
        values[q] = complex(real, imag * points[q, 3])


@compiled
def ball_into(
    out: np.ndarray, spectrum: np.ndarray, first_y: int, first_x: int, limit: int, reach: int, padded: int
) -> None:
    """Put a block of a padded transform into a table's block, zero beyond the ball of radius ``limit``.

    Parameters
    ----------
    out
        complex64 ``(2·reach + 1, 2·reach + 1, c)``: the table's x frequencies ``first_x ..
        first_x + c − 1`` (z, y centred at ``reach``), written in full.
    spectrum
        complex64 ``(padded, m, ≤ c)``: the transform's z frequencies in FFT order, of the y
        frequencies ``first_y .. first_y + m − 1`` and the x frequencies from ``first_x``; none
        elsewhere (0 there).
    padded
        The transform's size: z frequency ``−padded/2`` is not held (``+padded/2`` is, as RELION
        reads it).
    """
    side, columns = out.shape[0], out.shape[2]
    limit2 = limit * limit
    for dz in range(side):
        kz = dz - reach
        z_held = -padded // 2 < kz <= padded // 2
        src_z = kz % padded
        for dy in range(side):
            j = dy - reach - first_y
            row_held = z_held and 0 <= j < spectrum.shape[1]
            left = limit2 - kz * kz - (dy - reach) ** 2
            for x in range(columns):
                kx = first_x + x
                if row_held and x < spectrum.shape[2] and kx * kx <= left:
                    out[dz, dy, x] = spectrum[src_z, j, x]
                else:
                    out[dz, dy, x] = 0


@numba.njit(inline="always")
def _slice_point(a: np.ndarray, u: np.float32, v: np.float32, reach_f: np.float32) -> tuple[np.float32, ...]:
    """``(x, y, z) = (u, v) · a`` in a table centred at ``reach_f``, with its Friedel sign: x ≥ 0."""
    x = a[0, 0] * u + a[1, 0] * v
    y = a[0, 1] * u + a[1, 1] * v
    z = a[0, 2] * u + a[1, 2] * v
    sign = np.float32(1.0)
    if x < 0:
        x, y, z, sign = -x, -y, -z, np.float32(-1.0)
    return x, y + reach_f, z + reach_f, sign


@numba.njit(inline="always")
def _trilinear(
    flat: np.ndarray, plane: int, row_length: int, x: np.float32, y: np.float32, z: np.float32
) -> tuple[np.float32, np.float32]:
    """A table's value at ``(x, y, z)`` (all ≥ 0, within it): along x, then y, then z, each ``a + (b − a)·t``."""
    ix, iy, iz = np.uint32(x), np.uint32(y), np.uint32(z)  # all ≥ 0: truncation is the floor
    tx, ty, tz = x - np.float32(ix), y - np.float32(iy), z - np.float32(iz)
    at = np.intp(iz) * plane + np.intp(iy) * row_length + np.intp(ix)
    up, out = at + row_length, at + plane
    c00 = _along_x(flat[at], flat[at + 1], tx)
    c01 = _along_x(flat[up], flat[up + 1], tx)
    c10 = _along_x(flat[out], flat[out + 1], tx)
    c11 = _along_x(flat[out + row_length], flat[out + row_length + 1], tx)
    c0r, c0i = c00[0] + (c01[0] - c00[0]) * ty, c00[1] + (c01[1] - c00[1]) * ty
    c1r, c1i = c10[0] + (c11[0] - c10[0]) * ty, c10[1] + (c11[1] - c10[1]) * ty
    return c0r + (c1r - c0r) * tz, c0i + (c1i - c0i) * tz


@compiled
def rows_reaching(spectrum: np.ndarray, weights: np.ndarray, limit: float) -> tuple[int, int]:
    """The span ``start:stop`` of the rows of an image that may hold a value above ``limit``, from its spectrum
    transformed along y.

    Parameters
    ----------
    spectrum
        complex64 ``(N, ≥ weights.size)``: each row's coefficients along x (a half spectrum).
    weights
        float32: 2 for a column that stands for its mirror too, else 1.
    limit
        A row whose values are all at most ``limit`` may be left out.

    A row's values are at most ``Σ weights[k]·|spectrum[y, k]|``: the span runs from the
    first row whose bound exceeds ``limit`` to the last (``0, 0`` for none).
    """
    ny = spectrum.shape[0]
    start, stop = ny, 0
    for y in range(ny):
        if _row_bound(spectrum[y], weights) > limit:
            start = y
            break
    for y in range(ny - 1, start - 1, -1):
        if _row_bound(spectrum[y], weights) > limit:
            stop = y + 1
            break
    return (start, stop) if stop > start else (0, 0)


@numba.njit(inline="always")
def _row_bound(row: np.ndarray, weights: np.ndarray) -> np.float32:
    total = np.float32(0)
    for k in range(weights.size):
        value = row[k]
        total += weights[k] * np.sqrt(value.real * value.real + value.imag * value.imag)
    return total


@numba.njit(inline="always")
def _along_x(a: complex, b: complex, t: np.float32) -> tuple[np.float32, np.float32]:
    return a.real + (b.real - a.real) * t, a.imag + (b.imag - a.imag) * t


@compiled
def support_masks_into(
    masks: np.ndarray, images: np.ndarray, limits: np.ndarray, reach: int, weights: np.ndarray
) -> np.ndarray:
    """Each image's support (1 above its limit, else 0) and, where every row's support is one run, its soft edge.

    Parameters
    ----------
    masks
        float32 ``(n, ny, nx)``, written in full.
    images
        float32 ``(n, ny, nx)``.
    limits
        float32 ``(n,)``: a pixel is inside where its value exceeds its image's limit.
    reach
        ``floor(w)`` for an edge of ``w`` px; negative: no edge.
    weights
        float64: the edge's weight at each squared distance ``0, 1, 2, …`` (0 from ``w²`` on).

    Returns
    -------
    numpy.ndarray
        bool ``(n,)``: the images left without their edge because a row's support is split
        (the caller gives them theirs from a distance transform).

    The edge: a pixel within ``w`` of the support has its nearest support pixel within
    ``reach`` rows, and in a row whose run is ``first..last`` the nearest is ``max(first − x,
    x − last, 0)`` columns away, so its squared distance is the least ``dy² + that²`` over
    those rows (exact, integers). Only pixels from ``reach`` left of the nearby rows' runs to
    ``reach`` right of them, outside the row's own run, are visited, each against the runs
    of the rows within ``reach`` only (packed, not looked for again at each pixel).
    """
    count, ny, nx = images.shape
    split = np.zeros(count, np.bool_)
    first = np.empty(ny, np.int64)
    last = np.empty(ny, np.int64)
    near_first = np.empty(2 * max(reach, 0) + 1, np.int64)
    near_last = np.empty(2 * max(reach, 0) + 1, np.int64)
    near_dy2 = np.empty(2 * max(reach, 0) + 1, np.int64)
    for i in range(count):
        limit = limits[i]
        one_run = True
        for y in range(ny):
            inside = 0
            for x in range(nx):  # no branch: the compiler makes it a vector loop
                above = images[i, y, x] > limit
                masks[i, y, x] = np.float32(above)
                inside += above
            first[y], last[y] = -1, -1
            if inside:
                first[y], last[y] = _first_above(images[i, y], limit), _last_above(images[i, y], limit)
                one_run &= inside == last[y] - first[y] + 1
        if reach < 0:
            continue
        if not one_run:
            split[i] = True
            continue
        for y in range(ny):
            runs, low, high = 0, nx, -1  # the runs of the rows within reach, packed
            for yy in range(max(0, y - reach), min(ny, y + reach + 1)):
                if first[yy] >= 0:
                    near_first[runs], near_last[runs], near_dy2[runs] = first[yy], last[yy], (yy - y) ** 2
                    runs += 1
                    low, high = min(low, first[yy]), max(high, last[yy])
            if runs == 0:
                continue
            start, stop = max(0, low - reach), min(nx, high + reach + 1)
            if first[y] < 0:
                _edge_into(masks[i, y], start, stop, near_first, near_last, near_dy2, runs, weights)
            else:  # left and right of the row's own run
                _edge_into(masks[i, y], start, first[y], near_first, near_last, near_dy2, runs, weights)
                _edge_into(masks[i, y], last[y] + 1, stop, near_first, near_last, near_dy2, runs, weights)
    return split


@numba.njit(inline="always")
def _edge_into(
    row: np.ndarray,
    start: int,
    stop: int,
    near_first: np.ndarray,
    near_last: np.ndarray,
    near_dy2: np.ndarray,
    runs: int,
    weights: np.ndarray,
) -> None:
    """Pixels ``start:stop`` of ``row`` get the weight of their least squared distance to the ``runs`` nearby runs."""
    far = weights.size
    for x in range(start, stop):
        nearest = far
        for j in range(runs):
            across = max(near_first[j] - x, x - near_last[j], 0)
            nearest = min(nearest, near_dy2[j] + across * across)
        if nearest < far:
            row[x] = weights[nearest]


@numba.njit(inline="always")
def _first_above(row: np.ndarray, limit: np.float32) -> int:
    x = 0
    while not row[x] > limit:
        x += 1
    return x


@numba.njit(inline="always")
def _last_above(row: np.ndarray, limit: np.float32) -> int:
    x = row.size - 1
    while not row[x] > limit:
        x -= 1
    return x
