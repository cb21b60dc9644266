"""Projections of a 3D map at particle poses, as ``relion_project`` makes them.

Method: Fourier slice (central-section theorem), chosen for parity with RELION 3.1's
``relion_project``, the reference users compare against. The facts of that program carry
over (formulas, not code): the map is divided by sinc² of its radius over the padded size
(the gridding correction for linear interpolation), zero-padded ``padding`` times
(default 2) and Fourier transformed once, frequencies beyond the 2D Nyquist radius are
dropped; each projection is the central slice at ``Aᵀ (x, y, 0)``, trilinearly
interpolated (Friedel mates for negative x), shifted in Fourier space by −origin and
inverse transformed. Values are line integrals (sums along rays) in voxel units.

A real-space line integral (rotate the map, sum along z) differs from this slice by
more than the 1e-3 relative RMS target near the mask's edges (its interpolation filters
differently) and costs O(N³) per particle; the slice costs one O(M³ log M) transform
plus O(N² log N) per particle.

Conventions: arrays ``(z, y, x)``; the centre of every axis at ``N // 2``; Euler angles
``rot, tilt, psi`` in degrees, RELION's ZYZ (`euler_matrices`); ``origin_x_px,
origin_y_px`` as RELION's ``rlnOriginX/Y``: the shift that centres the particle, so the
projection is drawn at −origin.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import scipy.fft
from numpy.typing import ArrayLike

from maskrun.geometry.padded_transform import BLOCK_BYTES, PaddedTransform
from maskrun.geometry.projection_kernels import rows_reaching, slices_into

BATCH = 8  # projections per inverse transform: small, so that each batch's transforms stay in the cache
FLOOR_MARGIN = 1e-3  # relative: a row skipped under a floor stays below it by far more than float32 rounding


def euler_matrices(rot_deg: ArrayLike, tilt_deg: ArrayLike, psi_deg: ArrayLike) -> np.ndarray:
    """RELION's rotation matrices ``A = Rz(psi) · Ry(tilt) · Rz(rot)`` (shape ``(n, 3, 3)``).

    Parameters
    ----------
    rot_deg, tilt_deg, psi_deg
        Euler angles in degrees (scalars or arrays of one length).

    Returns
    -------
    numpy.ndarray
        ``A`` maps a map's coordinates ``(x, y, z)`` to the particle's frame; the
        projection direction is ``Aᵀ (0, 0, 1)``.
    """
    a, b, g = (np.radians(np.atleast_1d(np.asarray(v, dtype=np.float64))) for v in (rot_deg, tilt_deg, psi_deg))
    ca, sa, cb, sb, cg, sg = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(g), np.sin(g)
    cc, cs, sc, ss = cb * ca, cb * sa, sb * ca, sb * sa
    matrices = np.empty((a.size, 3, 3))
    matrices[:, 0, 0] = cg * cc - sg * sa
    matrices[:, 0, 1] = cg * cs + sg * ca
    matrices[:, 0, 2] = -cg * sb
    matrices[:, 1, 0] = -sg * cc - cg * sa
    matrices[:, 1, 1] = -sg * cs + cg * ca
    matrices[:, 1, 2] = sg * sb
    matrices[:, 2, 0] = sc
    matrices[:, 2, 1] = ss
    matrices[:, 2, 2] = cb
    return matrices


class SliceProjector:
    """A 3D map's padded Fourier transform, ready to give projections at any pose.

    Parameters
    ----------
    volume_zyx
        The map, a cube ``(N, N, N)``.
    padding
        Oversampling of the 3D transform (RELION's ``--pad``, 2).
    workers
        Threads for each projection batch's inverse transforms (scipy.fft's ``workers``; −1:
        every core). The 3D transform always uses every core.
    coarsening
        1 (default): every frequency of the box, ``relion_project``'s projection. ``f > 1``
        (``N/f`` an even whole number: ``f`` need not be, 8/3 say): the map is first resampled to ``N/f`` voxels a side
        (its transform cropped) and only frequencies within ``N/(2f)`` cycles per box are
        projected; the images are still ``N × N`` (their spectrum zero-padded): the
        projection low-passed at ``1/(2f)`` of the box's Nyquist, ``f²`` fewer points to
        interpolate and an ``f³`` smaller transform (`maskrun.engine.projection_sampling`
        says when a mask allows it).
    spectrum
        The map's `map_spectrum`, when the caller has it: a coarser sampling crops it rather
        than transforming the map again.

    The padded transform kept is ``(2m+5)²·(m+3)`` complex64 values for ``m = N/f``: 550 MB
    at 256³ in full, 4.4 GB at 512³ in full, 34 MB at 256³ sampled at 3/8.
    """

    def __init__(
        self,
        volume_zyx: np.ndarray,
        padding: int = 2,
        workers: int = -1,
        coarsening: float = 1,
        spectrum: np.ndarray | None = None,
    ) -> None:
        self.workers = workers
        volume = _cube(volume_zyx)
        n = volume.shape[0]
        size = sampled_size(n, coarsening)
        if size is None:
            raise ValueError(f"a box of {n} cannot be sampled {coarsening:g} times coarser")
        self.box = n
        self.coarsening = coarsening
        if size < n:
            volume = fourier_crop(volume, size, spectrum)
        output_box, n = n, volume.shape[0]
        padded, limit = _padded_size(n, padding)
        self.padding = padded / n
        transform = PaddedTransform(_corrected(volume, padded, output_box), padded, limit)
        data = np.zeros(transform.table_shape, np.complex64)
        for first, stop in transform.blocks():
            transform.columns_into(data[:, :, first:stop], first, stop)
        self._table, self._reach = data, transform.reach
        self._fx, self._fy, self._rows, self._cols = _slice_frequencies(n, output_box)
        self._width = n // 2 + 1  # the half transform's columns that can hold a value
        self._kept = threading.local()  # each thread's batch rooms (`_rooms`)

    def project(
        self,
        rot_deg: ArrayLike,
        tilt_deg: ArrayLike,
        psi_deg: ArrayLike,
        origin_x_px: ArrayLike = 0.0,
        origin_y_px: ArrayLike = 0.0,
        *,
        floor: float = 0.0,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Projections at each pose, drawn at −origin (as ``relion_project --ang``).

        Parameters
        ----------
        rot_deg, tilt_deg, psi_deg
            Euler angles in degrees (RELION's ZYZ), one per projection.
        origin_x_px, origin_y_px
            RELION origins in pixels (scalars or one per projection).
        floor
            0 (default): every value. A fraction in (0, 1): only the values above ``floor`` × their
            image's peak are wanted (a support, `maskrun.geometry.projected_mask`): the rows that
            cannot reach it are left 0, not transformed along x (`rows_reaching`). The peak, and
            every value of the other rows, are those of ``floor`` 0 to the bit.
        out
            Where to put them: float32 ``(n, N, N)``, C-contiguous, written in full; a new array
            when None.

        Returns
        -------
        numpy.ndarray
            float32, ``(n, N, N)``: ``out`` when given.
        """
        matrices = euler_matrices(rot_deg, tilt_deg, psi_deg)
        count = matrices.shape[0]
        ox, oy = _origins(origin_x_px, origin_y_px, count)
        if out is None:
            out = np.empty((count, self.box, self.box), dtype=np.float32)
        columns, half = self._rooms()
        for start in range(0, count, BATCH):
            k = min(start + BATCH, count) - start
            part = slice(start, start + k)
            self._batch_into(out[part], columns[:k], half[:k], matrices[part], ox[part], oy[part], floor)
        return out

    def _rooms(self) -> tuple[np.ndarray, np.ndarray]:
        """A batch's rooms, made once per thread and kept (a job projects a few particles at a time).

        The slices' points only are written into ``columns`` (the y transform reads it, does not
        overwrite it), the y transforms into the first columns of ``half``: the rest of both stays 0.
        """
        rooms: tuple[np.ndarray, np.ndarray] | None = getattr(self._kept, "rooms", None)
        if rooms is None:
            columns = np.zeros((BATCH, self.box, self._width), dtype=np.complex64)
            rooms = columns, np.zeros((BATCH, self.box, self.box // 2 + 1), dtype=np.complex64)
            self._kept.rooms = rooms
        return rooms

    def _batch_into(
        self,
        images: np.ndarray,
        columns: np.ndarray,
        half: np.ndarray,
        matrices: np.ndarray,
        ox: np.ndarray,
        oy: np.ndarray,
        floor: float,
    ) -> None:
        """The projections of one batch into ``images``, by way of the rooms ``columns`` and ``half`` (`project`'s)."""
        shift_x, shift_y = _phase_ramps(ox, oy, self.box, self._width)
        rows_of_a = _rows_of_a(matrices, self.padding)
        slices_into(
            columns, self._table, rows_of_a, self._fx, self._fy, self._rows, self._cols, self._reach, shift_x, shift_y
        )
        _images_from_columns(images, columns, half, floor, self.workers)


def streamed_projections(
    volume_zyx: np.ndarray,
    rot_deg: ArrayLike,
    tilt_deg: ArrayLike,
    psi_deg: ArrayLike,
    origin_x_px: ArrayLike = 0.0,
    origin_y_px: ArrayLike = 0.0,
    *,
    padding: int = 2,
) -> np.ndarray:
    """``SliceProjector(volume_zyx, padding).project(...)`` at a few poses, without ever holding the padded transform.

    The table is made a block of x frequencies at a time (`PaddedTransform`), and the points of
    every slice that fall in a block are interpolated from it before the next is made: the
    memory of the map's transform along x and of one block (about 200 MB at 256³ and 1.2 GB
    at 512³, against the projector's 0.8 and 6 GB), and none of the projector's first touch
    of its table's pages. The projections are the projector's, to within 1e-6 of their
    peak (the same interpolated values; the phase ramps are applied after, in NumPy).

    Parameters
    ----------
    volume_zyx
        The map, a cube ``(N, N, N)``.
    rot_deg, tilt_deg, psi_deg, origin_x_px, origin_y_px
        As `SliceProjector.project`'s: meant for tens of poses (every slice's points are held).
    padding
        As `SliceProjector`'s.

    Returns
    -------
    numpy.ndarray
        float32 ``(n, N, N)``.
    """
    from maskrun.geometry.projection_kernels import points_into, slice_points

    volume = _cube(volume_zyx)
    n = volume.shape[0]
    padded, limit = _padded_size(n, padding)
    transform = PaddedTransform(_corrected(volume, padded, n), padded, limit)
    fx, fy, rows, cols = _slice_frequencies(n, n)
    matrices = euler_matrices(rot_deg, tilt_deg, psi_deg)
    count = matrices.shape[0]
    rows_of_a = _rows_of_a(matrices, padded / n)
    points = slice_points(rows_of_a, fx, fy, transform.reach).reshape(-1, 4)
    floors = points[:, 0].astype(np.intp)  # x ≥ 0: truncation is the floor
    order = np.argsort(floors, kind="stable")
    floors = floors[order]
    values = np.zeros(len(points), np.complex64)
    blocks = list(transform.blocks(stop=transform.reach + 1))  # to the zero border: every point's x + 1 is in one
    side, step = transform.table_shape[0], blocks[0][1] - blocks[0][0]
    block = np.zeros((side, side, step + 1), np.complex64)  # its column 0: the previous block's last, x = first − 1
    for first, stop in blocks:
        transform.columns_into(block[:, :, 1 : stop - first + 1], first, stop)
        block[:, :, stop - first + 1 :] = 0  # a last block narrower than the others
        low, high = np.searchsorted(floors, [first - 1, stop - 1])
        points_into(values, block, first - 1, points, order[low:high])
        block[:, :, 0] = block[:, :, stop - first]
    width = n // 2 + 1
    ox, oy = _origins(origin_x_px, origin_y_px, count)
    shift_x, shift_y = _phase_ramps(ox, oy, n, width)
    columns = np.zeros((count, n, width), np.complex64)
    columns[:, rows, cols] = values.reshape(count, -1) * shift_y[:, rows] * shift_x[:, cols]
    images = np.empty((count, n, n), np.float32)
    _images_from_columns(images, columns, np.zeros_like(columns), 0.0, -1)
    return images


def _cube(volume_zyx: np.ndarray) -> np.ndarray:
    """The map as float32, refused unless a cube ``(N, N, N)``."""
    volume = np.asarray(volume_zyx, dtype=np.float32)
    n = volume.shape[0]
    if volume.ndim != 3 or volume.shape != (n, n, n):
        raise ValueError(f"a projector needs a cube, not {volume.shape}")
    return volume


def _origins(origin_x_px: ArrayLike, origin_y_px: ArrayLike, count: int) -> tuple[np.ndarray, np.ndarray]:
    """RELION origins in px, scalars or one per projection, as ``count`` of each (float64)."""
    ox = np.broadcast_to(np.asarray(origin_x_px, dtype=np.float64), (count,))
    oy = np.broadcast_to(np.asarray(origin_y_px, dtype=np.float64), (count,))
    return ox, oy


def _rows_of_a(matrices: np.ndarray, padding: float) -> np.ndarray:
    """The slice's axes in the padded table, float32 ``(k, 2, 3)``: (xp, yp, zp) = padding · Aᵀ (x, y, 0), and Aᵀ's
    first two columns are A's first two rows."""
    return np.ascontiguousarray((matrices[:, :2, :] * padding).astype(np.float32))


def _padded_size(n: int, padding: float) -> tuple[int, int]:
    """The padded transform's size (RELION's ``ROUND(padding · n)``, made even) and the largest frequency kept in it."""
    padded = math.floor(padding * n + 0.5)  # RELION's ROUND: halves away from zero
    padded += padded % 2
    return padded, math.floor((n // 2) * (padded / n) + 0.5)


def _corrected(volume: np.ndarray, padded: int, output_box: int) -> np.ndarray:
    """The map divided by sinc² of its radius over ``padded`` (linear interpolation's gridding correction), scaled.

    RELION normalises its forward transform by the size and scales by padding³·N: net 1/N²; a
    resampled map (N/f a side) has f³ fewer voxels to sum, f² of which the smaller pixels'
    sums restore. So the scale is ``output_box / n³``, applied to the map before its
    transform (a quarter of the values).
    """
    n = volume.shape[0]
    # sinc² of the radius, looked up by its integer square, a plane at a time (not an index of n³ voxels)
    axis = (np.arange(n) - n // 2) ** 2
    plane = axis[:, None] + axis[None, :]
    sinc = np.sinc(np.sqrt(np.arange(3 * axis.max() + 1)) / padded).astype(np.float32)  # sin(πx)/(πx)
    squared_sinc = sinc * sinc
    scale = np.float32(output_box / n**3)
    corrected = np.empty_like(volume)
    for z, z2 in enumerate(axis):
        np.divide(volume[z], squared_sinc[plane + z2], out=corrected[z])
        corrected[z] *= scale
    return corrected


def _slice_frequencies(n: int, output_box: int) -> tuple[np.ndarray, ...]:
    """The 2D frequencies within the Nyquist circle of an ``n`` box, ``fx, fy`` (float32), and their places ``rows,
    cols`` in the ``output_box``² half transform."""
    y = np.arange(n)
    y = np.where(y <= n // 2, y, y - n)
    x = np.arange(n // 2 + 1)
    yy, xx = np.meshgrid(y, x, indexing="ij")
    inside = xx * xx + yy * yy <= (n // 2) ** 2
    rows, cols = (yy[inside] % output_box).astype(np.intp), xx[inside].astype(np.intp)
    return xx[inside].astype(np.float32), yy[inside].astype(np.float32), rows, cols


def _phase_ramps(ox: np.ndarray, oy: np.ndarray, n: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Each image's phase ramps along x (``width`` columns) and y: the shift by −origin, and the centre from 0 to
    N // 2 (fftshift's move, for free): exp(+2πi (x·(ox − N//2) + y·(oy − N//2)) / N), separable in x and y."""
    freq_y = np.where(np.arange(n) <= n // 2, np.arange(n), np.arange(n) - n)
    shift_x = np.exp((2j * np.pi / n) * (ox[:, None] - n // 2) * np.arange(width)).astype(np.complex64)
    shift_y = np.exp((2j * np.pi / n) * (oy[:, None] - n // 2) * freq_y).astype(np.complex64)
    return shift_x, shift_y


def _images_from_columns(images: np.ndarray, columns: np.ndarray, half: np.ndarray, floor: float, workers: int) -> None:
    """Images from their slices in the half transform's first columns (``columns``), by way of ``half`` (zero beyond
    those columns); ``floor`` as `SliceProjector.project`'s."""
    n, width = images.shape[-1], columns.shape[-1]
    # RELION's inverse transform is unnormalised (norm "forward"); along y only the columns that hold values
    half[:, :, :width] = scipy.fft.ifft(columns, axis=1, norm="forward", workers=workers)
    if floor <= 0:
        images[...] = scipy.fft.irfft(half, n=n, axis=2, norm="forward", workers=workers)
        return
    # a support's rows: the row of the largest sum is transformed first, its largest value a lower bound of the
    # peak; the rows that can reach ``floor`` × that lie within one span (`rows_reaching`), the others stay 0
    centre = half[:, :, 0].real.argmax(axis=1)
    lows = scipy.fft.irfft(half[np.arange(len(half)), centre], n=n, axis=1, norm="forward").max(axis=1)
    weights = np.full(width, 2, np.float32)  # each column stands for its mirror as well ...
    weights[0] = 1  # ... but the first
    if width == n // 2 + 1 and n % 2 == 0:
        weights[-1] = 1  # and the Nyquist column
    for image, spectrum, low in zip(images, half, lows, strict=True):
        start, stop = rows_reaching(spectrum, weights, floor * low / (1 + FLOOR_MARGIN)) if low > 0 else (0, n)
        image[start:stop] = scipy.fft.irfft(spectrum[start:stop], n=n, axis=1, norm="forward", workers=workers)
        image[:start] = 0
        image[stop:] = 0


def sampled_size(box: int, coarsening: float) -> int | None:
    """The side ``box / coarsening`` of the resampled map, when it is an even whole number (or the box); else None."""
    size = box / coarsening
    whole = round(size)
    if coarsening < 1 or abs(size - whole) > 1e-6 or (whole != box and whole % 2):
        return None
    return whole


def projector_peak_bytes(box: int, coarsening: float = 1) -> int:
    """The most memory a `SliceProjector` of a ``box``³ map takes while it is made (padding 2), with the map itself.

    The padded transform it keeps is ``(2m+5)²·(m+3)`` complex64 values for ``m = box /
    coarsening`` (550 MB at 256³ in full, 4.4 GB at 512³); making it takes that plus the map's
    transform along x (``8·m²·(m+1)`` bytes) and one block of x frequencies in the making
    (`maskrun.geometry.padded_transform`: at most ``1.5 × BLOCK_BYTES``). A coarser sampling
    first transforms the whole map to crop it (about 12 bytes a voxel). Measured: 0.96-1.0 × these
    sums; 5 % is added for what NumPy and scipy hold besides.
    """
    size = sampled_size(box, coarsening) or box
    reach = size + 2
    kept = (2 * reach + 1) ** 2 * (reach + 1) * 8
    along_x = 8 * size * size * (size + 1)
    block = min(3 * BLOCK_BYTES // 2, 48 * size * size * (size + 1))
    cropping = 12 * box**3 if coarsening > 1 else 0
    return int(1.05 * max(kept + along_x + block, cropping)) + 4 * box**3


def fourier_crop(volume_zyx: np.ndarray, size: int, spectrum: np.ndarray | None = None) -> np.ndarray:
    """A cube resampled to ``size`` voxels a side (even, at most its own) by cropping its transform.

    The centre (index ``N // 2``) stays the centre (``size // 2``); values keep their scale
    (a constant map stays that constant); the crop's Nyquist planes are dropped (zero).
    ``spectrum``: the cube's `map_spectrum`, when the caller has it (not computed again).
    """
    n = volume_zyx.shape[0]
    spectrum = map_spectrum(volume_zyx) if spectrum is None else spectrum
    keep = np.r_[0 : size // 2, n - size // 2 + 1 : n]  # frequencies −size/2+1 .. size/2−1
    cropped = np.zeros((size, size, size // 2 + 1), np.complex64)
    rows = np.r_[0 : size // 2, size // 2 + 1 : size]
    cropped[np.ix_(rows, rows, np.arange(size // 2))] = spectrum[np.ix_(keep, keep, np.arange(size // 2))]
    resampled = scipy.fft.irfftn(cropped, s=(size,) * 3, workers=-1) * np.float32((size / n) ** 3)
    centred: np.ndarray = scipy.fft.fftshift(resampled).astype(np.float32)
    return centred


def map_spectrum(volume_zyx: np.ndarray) -> np.ndarray:
    """A cube's real transform with its centre (index ``N // 2``) at the origin: what `fourier_crop` crops."""
    spectrum: np.ndarray = scipy.fft.rfftn(scipy.fft.ifftshift(volume_zyx), workers=-1)
    return spectrum
