"""Fourier shell correlation of two half-maps, unmasked, masked and phase-randomised, as RELION 3.1.3's postprocess.

The numbers follow ``relion_postprocess`` (docs/spec.md, "Checking a mask"):

- a Fourier voxel of the (real-to-complex) transform at integer frequency ``(kz, ky, kx)``
  belongs to shell ``round(sqrt(kz² + ky² + kx²))``; shells run from 0 to ``n // 2``
  (``n // 2 + 1`` of them) and farther voxels (the corners of the cube) are left out;
- FSC = Σ Re(F1* F2) / sqrt(Σ|F1|² Σ|F2|²) over the voxels of the half transform;
- the phases are randomised from the first shell (after 0) where the unmasked FSC falls
  below 0.8: every voxel with ``kz² + ky² + kx² >= shell²`` keeps its amplitude and gets a
  uniform random phase, in each half independently; the mask is applied afterwards. The
  phases are RELION's own numbers: the C library's ``rand()`` after ``srand(0)``, first for
  half 1 then for half 2, in the transform's C order (`maskrun.geometry.c_rand`);
- corrected FSC = (FSC_masked − FSC_random) / (1 − FSC_random) from two shells past the
  randomisation shell; below that, the masked FSC (RELION moved it up two shells against
  artefacts near the randomisation shell);
- resolution: the last shell before the corrected FSC first falls below 0.143.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft, sparse

from maskrun.geometry.bounding_box import bounding_box
from maskrun.geometry.c_rand import c_rand, relion_uniform

RANDOMISE_AT_FSC = 0.8  # relion_postprocess's --randomize_at_fsc default
RESOLUTION_FSC = 0.143  # the gold-standard threshold
CORRECTION_SHELLS_PAST = 2  # the correction starts this many shells past the randomisation shell
SLAB_PLANES = 8  # planes of a transform randomised at a time
PRUNE_BELOW = 0.75  # a masked map's transform spares its 0 lines when its support covers this much of a plane or less


@dataclass(frozen=True)
class MaskedFsc:
    """The four FSC curves of a pair of half-maps and a mask (one value per shell from 0).

    ``corrected`` is the curve RELION reports: when the unmasked FSC reaches further than
    the mask-corrected one, RELION reports the unmasked curve instead (``mask_ignored``);
    ``corrected_with_mask`` is always the correction's own curve. ``reliable_average`` and
    ``reliable_noise`` (when asked for) are the half-maps' mean and half-difference, both cut
    off below the randomisation shell: the density the halves agree on, and its noise.
    """

    unmasked: np.ndarray
    masked: np.ndarray
    phase_randomised_masked: np.ndarray
    corrected: np.ndarray
    corrected_with_mask: np.ndarray
    voxels_per_shell: np.ndarray
    randomise_from_shell: int
    resolution_shell: int
    mask_ignored: bool
    box_px: int
    voxel_size_angstrom: float
    reliable_average: np.ndarray | None = None
    reliable_noise: np.ndarray | None = None
    independent_voxels_per_shell: np.ndarray | None = None  # a real map's: a Friedel pair counts once

    def shell_angstrom(self, shell: int) -> float:
        """The resolution of a shell in Å (``box × voxel size / shell``; infinite for shell 0)."""
        return self.box_px * self.voxel_size_angstrom / shell if shell > 0 else float("inf")

    @property
    def randomise_from_angstrom(self) -> float:
        """Where the phases are randomised from, Å (RELION's ``_rlnRandomiseFrom``)."""
        return self.shell_angstrom(self.randomise_from_shell)

    @property
    def resolution_angstrom(self) -> float | None:
        """The resolution at FSC 0.143 of the reported corrected curve, Å; None when shell 1 already falls below."""
        return self.shell_angstrom(self.resolution_shell) if self.resolution_shell > 0 else None


def _squared_radius(shape_zyx: tuple[int, int, int]) -> np.ndarray:
    nz, ny, nx = shape_zyx
    kz = np.fft.fftfreq(nz, 1.0 / nz).astype(np.int32)
    ky = np.fft.fftfreq(ny, 1.0 / ny).astype(np.int32)
    kx = np.arange(nx // 2 + 1, dtype=np.int32)
    return kz[:, None, None] ** 2 + ky[None, :, None] ** 2 + kx[None, None, :] ** 2


class _Shells:
    """Shell sums over a half transform, in two steps that never touch a voxel's shell index.

    A row of the transform (fixed kz, ky) has its shells set by ``q = kz² + ky²`` alone, so
    rows of one ``q`` are summed first (a 0/1 sparse matrix from rows to their ``q``, times
    the rows' real and imaginary parts side by side), then each ``(q, kx)`` sum goes to
    shell ``round(sqrt(q + kx²))`` by a small ``bincount``; the corners beyond the last shell
    are left out. Products of two transforms' float32 views (real, imaginary, real, ...) sum
    to Re(F1* F2) per shell.
    """

    def __init__(self, shape_zyx: tuple[int, int, int]):
        nz, ny, nx = shape_zyx
        self.count = nx // 2 + 1
        self.columns = 2 * self.count  # real and imaginary parts of a row
        kz = np.fft.fftfreq(nz, 1.0 / nz).astype(np.int64)
        ky = np.fft.fftfreq(ny, 1.0 / ny).astype(np.int64)
        row_q = (kz[:, None] ** 2 + ky[None, :] ** 2).ravel()
        q, row_group = np.unique(row_q, return_inverse=True)
        rows = np.arange(row_q.size)
        self.rows_to_groups = sparse.csr_matrix(
            (np.ones(row_q.size, np.float32), (row_group.ravel(), rows)), shape=(q.size, row_q.size)
        )
        kx = np.arange(self.count, dtype=np.int64)
        # sqrt of an integer is never within 1e-3 of a half-integer here: float32 and floor(x + 0.5) are RELION's ROUND
        radius = np.sqrt((q[:, None] + kx[None, :] ** 2).astype(np.float32)) + np.float32(0.5)
        shell = np.repeat(radius.astype(np.intp), 2, axis=1)
        self.inside = shell < self.count
        self.shell = shell[self.inside]
        group_rows = np.bincount(row_group.ravel()).astype(np.float64)
        parts = np.broadcast_to(group_rows[:, None], shell.shape)[self.inside]
        self.voxels = np.rint(np.bincount(self.shell, parts, minlength=self.count) / 2).astype(np.int64)
        # the full transform holds each column kx of the half one twice (kx and -kx), but kx = 0 and nx/2 once;
        # a real map's Friedel pairs are one value: its independent voxels are half the full transform's
        mates = np.repeat(np.where((kx == 0) | (2 * kx == nx), 1.0, 2.0), 2)  # per part, as `shell`'s columns
        weights = parts * np.broadcast_to(mates[None, :], shell.shape)[self.inside]
        self.independent = np.bincount(self.shell, weights, minlength=self.count) / 4  # 2 parts, 2 mates a pair

    def fsc(self, ft1: np.ndarray, ft2: np.ndarray) -> np.ndarray:
        parts1, parts2 = _parts(ft1), _parts(ft2)
        cross = self._sum(parts1 * parts2)
        power1 = self._sum(np.square(parts1))
        power2 = self._sum(np.square(parts2))
        with np.errstate(invalid="ignore", divide="ignore"):
            curve: np.ndarray = np.nan_to_num(cross / np.sqrt(power1 * power2))
        return curve

    def _sum(self, values: np.ndarray) -> np.ndarray:
        # float32 within a q (a few hundred rows at most), float64 across the shell
        per_q = self.rows_to_groups @ values.reshape(-1, self.columns)
        sums: np.ndarray = np.bincount(self.shell, per_q[self.inside], minlength=self.count)
        return sums


def _parts(ft: np.ndarray) -> np.ndarray:
    """A transform's real and imaginary parts, interleaved, as one float32 vector (a view when it can be)."""
    flat = np.ascontiguousarray(ft, dtype=np.complex64).reshape(-1)
    parts: np.ndarray = flat.view(np.float32)
    return parts


def _rfft(values: np.ndarray) -> np.ndarray:
    transform: np.ndarray = fft.rfftn(values, workers=-1)
    return transform


def _masked_rfft(values: np.ndarray, mask: np.ndarray, support: tuple[slice, ...] | None) -> np.ndarray:
    """`_rfft` of ``values × mask``, ``support`` bounding the mask's non-zero voxels, sparing the lines that are 0.

    The transform goes along x, then z, then y, as `scipy.fft.rfftn` goes: along x only the
    rows inside the block (the product is taken there only), along z only the columns of its
    y range; the numbers are `_rfft`'s, bit for bit. Worth it when the block covers at most
    `PRUNE_BELOW` of the (z, y) plane: a mask's support, with the solvent around it.
    """
    nz, ny = values.shape[:2]
    if support is None or (support[0].stop - support[0].start) * (support[1].stop - support[1].start) > (
        PRUNE_BELOW * nz * ny
    ):
        return _rfft(np.multiply(values, mask))
    z, y = support[0], support[1]
    rows = fft.rfft(np.multiply(values[z, y], mask[z, y]), axis=2, workers=-1)
    columns = np.zeros((nz, *rows.shape[1:]), dtype=rows.dtype)
    columns[z] = rows
    del rows
    columns = fft.fft(columns, axis=0, workers=-1, overwrite_x=True)
    transform = np.zeros((nz, ny, columns.shape[2]), dtype=columns.dtype)
    transform[:, y] = columns
    del columns
    out: np.ndarray = fft.fft(transform, axis=1, workers=-1, overwrite_x=True)
    return out


def fsc_curve(half1: np.ndarray, half2: np.ndarray) -> np.ndarray:
    """The FSC of two maps of one shape, per shell from 0 to ``nx // 2``."""
    shells = _Shells(half1.shape)
    return shells.fsc(_rfft(half1), _rfft(half2))


def randomise_phases_beyond(ft: np.ndarray, beyond: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Give a half transform's voxels where ``beyond`` holds random phases, amplitudes kept; in place.

    The phases are RELION's ``rnd_unif(0, 2π)`` of ``draws`` (``rand()`` values, one per such
    voxel in C order). ``ft`` is overwritten and returned; its other voxels are kept as they
    are. The work goes a slab of planes at a time, so that its temporaries stay small.
    """
    used = 0
    for start in range(0, ft.shape[0], SLAB_PLANES):
        part, where = ft[start : start + SLAB_PLANES], beyond[start : start + SLAB_PLANES]
        count = int(np.count_nonzero(where))
        kept = part[~where]
        phase = np.zeros(part.shape, dtype=np.float32)
        phase[where] = relion_uniform(draws[used : used + count], 0.0, 2.0 * np.pi)
        used += count
        amplitude = np.abs(part)
        np.multiply(amplitude, np.cos(phase), out=part.real)
        np.multiply(amplitude, np.sin(phase, out=phase), out=part.imag)
        part[~where] = kept
    return ft


def masked_fsc(
    half1: np.ndarray,
    half2: np.ndarray,
    mask: np.ndarray,
    voxel_size_angstrom: float,
    seed: int = 0,
    randomise_at_fsc: float = RANDOMISE_AT_FSC,
    reliable_maps: bool = False,
    reliable_box: int | None = None,
) -> MaskedFsc:
    """The unmasked, masked, phase-randomised masked and corrected FSC, as ``relion_postprocess``.

    Parameters
    ----------
    half1, half2
        The half-maps, cubic ``(n, n, n)`` arrays (z, y, x) of one shape, ``n`` even; not modified.
    mask
        Values in [0, 1], the maps' shape.
    voxel_size_angstrom
        For the resolutions in Å.
    seed
        Of the random phases: ``srand(seed)``, as RELION's ``--random_seed`` (default 0).
    randomise_at_fsc
        Randomise from the first shell (after 0) whose unmasked FSC falls below this.
    reliable_maps
        Also return the mean and half-difference of the halves, low-passed (a hard cut) to the
        shells below the randomisation shell.
    reliable_box
        The box of those maps (default the maps' own); a divisor of it samples them more
        coarsely (their transform cropped), which also cuts them off at its Nyquist shell.

    Returns
    -------
    MaskedFsc

    Raises
    ------
    ValueError
        Shapes differ, the box is not an even cube, or the unmasked FSC never falls below
        ``randomise_at_fsc`` (RELION stops there too).
    """
    halves = HalfMaps(half1, half2, voxel_size_angstrom, seed, randomise_at_fsc, reliable_maps, reliable_box)
    return halves.with_mask(mask)


class HalfMaps:
    """Two half-maps prepared for masks: their transforms, unmasked FSC and phase-randomised copies.

    All that does not depend on the mask is done once, so that trying many masks (``check-mask
    --search``) costs four transforms each. Arguments and errors as `masked_fsc`.
    """

    def __init__(
        self,
        half1: np.ndarray,
        half2: np.ndarray,
        voxel_size_angstrom: float,
        seed: int = 0,
        randomise_at_fsc: float = RANDOMISE_AT_FSC,
        reliable_maps: bool = False,
        reliable_box: int | None = None,
    ):
        shape = half1.shape
        if half2.shape != shape:
            raise ValueError(f"the half-maps differ in shape: {half1.shape}, {half2.shape}")
        if len(set(shape)) != 1 or shape[0] % 2:
            raise ValueError(f"the maps must be cubes of an even size, not {shape[::-1]} (x y z)")
        self.dtype = np.float32 if half1.dtype == np.float32 and half2.dtype == np.float32 else np.float64
        self.half1, self.half2 = (np.asarray(a, dtype=self.dtype) for a in (half1, half2))
        self.shape, self.voxel_size_angstrom = shape, voxel_size_angstrom
        self.shells = _Shells(shape)
        ft1, ft2 = _rfft(self.half1), _rfft(self.half2)
        self.unmasked = self.shells.fsc(ft1, ft2)
        below = np.flatnonzero(self.unmasked[1:] < randomise_at_fsc)
        if below.size == 0:
            raise ValueError(
                f"the unmasked FSC never falls below {randomise_at_fsc:g}: there is no shell to randomise from"
            )
        self.start = int(below[0]) + 1
        beyond = _squared_radius(shape) >= self.start * self.start
        self.average = self.noise = None
        if reliable_maps:
            self.average, self.noise = _reliable_maps(ft1, ft2, self.start, reliable_box)
        count = int(np.count_nonzero(beyond))
        draws = c_rand(seed, 2 * count)  # RELION's: half 1's phases, then half 2's
        # the transforms are not needed any more: randomised and inverted in place, to spare memory
        ft1 = randomise_phases_beyond(ft1, beyond, draws[:count])
        ft2 = randomise_phases_beyond(ft2, beyond, draws[count:])
        del draws  # before the inverse transforms, which can take its memory
        self.random1 = fft.irfftn(ft1, shape, workers=-1, overwrite_x=True)
        del ft1
        self.random2 = fft.irfftn(ft2, shape, workers=-1, overwrite_x=True)

    def with_mask(self, mask: np.ndarray) -> MaskedFsc:
        """The four curves with ``mask`` (values in [0, 1], the maps' shape)."""
        m, support = self._mask(mask)
        masked = self._fsc((self.half1, self.half2), m, support)
        randomised = self._fsc((self.random1, self.random2), m, support)
        shells = self.shells
        corrected = corrected_fsc(masked, randomised, self.start)
        masked_shell = resolution_shell(corrected)
        unmasked_shell = resolution_shell(self.unmasked)
        ignored = unmasked_shell > masked_shell
        return MaskedFsc(
            unmasked=self.unmasked,
            masked=masked,
            phase_randomised_masked=randomised,
            corrected=self.unmasked.copy() if ignored else corrected,
            corrected_with_mask=corrected,
            voxels_per_shell=shells.voxels,
            randomise_from_shell=self.start,
            resolution_shell=unmasked_shell if ignored else masked_shell,
            mask_ignored=ignored,
            box_px=self.shape[0],
            voxel_size_angstrom=self.voxel_size_angstrom,
            reliable_average=self.average,
            reliable_noise=self.noise,
            independent_voxels_per_shell=shells.independent,
        )

    @property
    def randomise_from_angstrom(self) -> float:
        """Where the phases are randomised from, Å: `MaskedFsc.randomise_from_angstrom`, before any mask."""
        return float(self.shape[0] * self.voxel_size_angstrom / self.start)

    def masked_curve(self, mask: np.ndarray) -> np.ndarray:
        """The masked FSC alone (`with_mask`'s, bit for bit): two transforms."""
        return self._fsc((self.half1, self.half2), *self._mask(mask))

    def phase_randomised_curve(self, mask: np.ndarray) -> np.ndarray:
        """The phase-randomised masked FSC alone (`with_mask`'s, bit for bit): two transforms."""
        return self._fsc((self.random1, self.random2), *self._mask(mask))

    def _mask(self, mask: np.ndarray) -> tuple[np.ndarray, tuple[slice, ...] | None]:
        """The mask in the maps' type, and the block bounding its non-zero voxels (the masked maps are 0 outside)."""
        if mask.shape != self.shape:
            raise ValueError(f"the mask's shape {mask.shape} differs from the half-maps' {self.shape}")
        m = np.asarray(mask, dtype=self.dtype)
        return m, bounding_box(m != 0)

    def _fsc(self, maps: tuple[np.ndarray, np.ndarray], m: np.ndarray, support: tuple[slice, ...] | None) -> np.ndarray:
        curve = self.shells.fsc(*(_masked_rfft(values, m, support) for values in maps))
        if curve[0] <= 0:  # "sometimes the FSC at the origin becomes -1", as RELION puts it
            curve[0] = 1.0
        return curve


def _reliable_maps(ft1: np.ndarray, ft2: np.ndarray, shell: int, box: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The halves' mean and half-difference below ``shell``, on a ``box``³ grid (Fourier cropping)."""
    full = ft1.shape[0]
    box = box or full
    half = box // 2
    rows = np.r_[0:half, full - half : full] if box < full else np.arange(full)
    crop = np.ix_(rows, rows, np.arange(half + 1))
    kept = _squared_radius((box, box, box)) < shell * shell
    scale = (box / full) ** 3  # an inverse transform divides by the box's voxels
    maps = []
    for combined in (ft1[crop] + ft2[crop], ft1[crop] - ft2[crop]):
        combined *= 0.5 * scale
        combined[~kept] = 0
        maps.append(fft.irfftn(combined, (box, box, box), workers=-1))
    return maps[0], maps[1]


def corrected_fsc(masked: np.ndarray, randomised: np.ndarray, randomise_from_shell: int) -> np.ndarray:
    """(FSC_masked − FSC_random) / (1 − FSC_random) from two shells past the randomisation shell; masked below."""
    out = masked.copy()
    start = randomise_from_shell + CORRECTION_SHELLS_PAST
    with np.errstate(invalid="ignore", divide="ignore"):
        out[start:] = (masked[start:] - randomised[start:]) / (1.0 - randomised[start:])
    return out


def resolution_shell(curve: np.ndarray, threshold: float = RESOLUTION_FSC) -> int:
    """The last shell before the curve first falls below ``threshold`` (0 when shell 0 already does)."""
    below = np.flatnonzero(curve < threshold)
    first = int(below[0]) if below.size else curve.size
    return max(first - 1, 0)
