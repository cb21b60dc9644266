"""Per-particle masks from a 3D mask projected at each particle's pose (issue 25; docs/spec.md, "Projected masks").

`read_projection_volume` reads the 3D mask and checks it against the particles (a cube of
their box, at their pixel size); `ProjectedMasks` gives the masks (or the raw projections)
of any run of particles, in blocks, from poses in RELION's convention
(`maskrun.formats.poses`): the padded transform of the 3D mask is made once.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from maskrun.config.fill import FillParams
from maskrun.config.mask_spec import Compat
from maskrun.config.projection_params import ProjectionParams
from maskrun.engine.stream import PerImageMasking
from maskrun.errors import MaskrunWarning, UserError, in_field
from maskrun.geometry.masks import Mask
from maskrun.io.image_info import ImageInfo, read_rows
from maskrun.io.images import inspect_image
from maskrun.io.pixel_size import usable_pixel_size

if TYPE_CHECKING:
    from maskrun.geometry.projection import SliceProjector

PIXEL_TOLERANCE = 0.01  # relative: the 3D mask's voxel and the particles' pixel are the same size
RANGE_SLACK = 0.01  # a resampled mask's interpolation may overshoot [0, 1] by this much
MASK_PEAK_LEAST = 0.5  # a mask's largest value (1 where it keeps; less only if resampled very coarsely)
BLOCK = 256  # particles projected per block: bounds memory at ~BLOCK·N²·12 bytes


def read_projection_volume(
    path: str | os.PathLike[str],
    box_yx: tuple[int, int],
    pixel_size_angstrom: float,
    field: str = "mask.projection.file",
    box_from: str = "",
    header: ImageInfo | None = None,
) -> np.ndarray:
    """The 3D mask to project, checked against the particles' box and pixel size.

    ``box_from`` says where the particles' box was read when not from their stacks (``rlnImageSize in
    run_data.star``), for the refusal of a mask of another box. ``header``: its `projection_header`, when
    the caller read it already (not read again).

    Raises
    ------
    UserError
        When it is not a 3D map, not a cube of the particles' box, or its voxel size differs
        from the particles' pixel size by more than 1 % (a header without a voxel size
        passes: there is nothing to compare); when it holds NaN or infinite values.
    """
    info = check_projection_volume(path, box_yx, pixel_size_angstrom, field, box_from, header)
    volume: np.ndarray = read_rows(info, 0, info.shape_zyx[0]).astype(np.float32, copy=False)
    if not np.isfinite(volume).all():
        raise UserError("holds NaN or infinite values; fix the 3D mask", source=str(path), field=field)
    return volume


def check_projection_volume(
    path: str | os.PathLike[str],
    box_yx: tuple[int, int],
    pixel_size_angstrom: float,
    field: str = "mask.projection.file",
    box_from: str = "",
    header: ImageInfo | None = None,
) -> ImageInfo:
    """`read_projection_volume`'s checks that its header answers (a 3D map, a cube of the particles' box, their pixel
    size), without reading its values; returns the header.

    Raises
    ------
    UserError
        As `read_projection_volume`, but for the values.
    """
    info = header if header is not None else projection_header(path, field)
    source = str(path)
    ny, nx = box_yx
    if info.shape_zyx != (ny, ny, nx) or ny != nx:
        shape = " x ".join(str(n) for n in info.shape_zyx[::-1])
        said = f" ({box_from})" if box_from else ""
        raise UserError(
            f"is {shape} but the particles are {nx} x {ny}{said}: give a 3D mask of the particles' box "
            f"({nx} x {nx} x {nx}; resample or re-box it, with relion_image_handler say)",
            source=source,
            field=field,
        )
    voxel = float(info.voxel_size_xyz[0])
    if (
        voxel > 0
        and pixel_size_angstrom > 0
        and abs(voxel - pixel_size_angstrom) > PIXEL_TOLERANCE * pixel_size_angstrom
    ):
        from maskrun.engine.half_map_files import if_only_the_header  # imported here: a refusal's words only

        # of the particles' box already: made for them, its header likely wrong (resampled alone, it would not be)
        resampled = Path(path).with_name(f"{Path(path).stem}_{pixel_size_angstrom:g}A{Path(path).suffix}").name
        raise UserError(
            f"has {voxel:g} Å voxels but the particles {pixel_size_angstrom:g} Å pixels, in the same box "
            f"({nx} x {nx} x {nx}): {if_only_the_header(Path(path), pixel_size_angstrom)}; else resample it to "
            f"{pixel_size_angstrom:g} Å and bring it back to their box (relion_image_handler --i {Path(path).name} "
            f"--o {resampled} --rescale_angpix {pixel_size_angstrom:g} --new_box {nx})",
            source=source,
            field=field,
        )
    return info


def projection_header(path: str | os.PathLike[str], field: str = "mask.projection.file") -> ImageInfo:
    """The header of the 3D mask to project, for `projection_frame` and `read_projection_volume`.

    Raises
    ------
    UserError
        When it is not a 3D map (or not readable), naming ``field``.
    """
    with in_field(field):
        info = inspect_image(Path(path))
    if info.shape_zyx[0] == 1 or info.says_a_stack:
        raise UserError("is not a 3D map; give the 3D mask to project (an MRC volume)", source=str(path), field=field)
    return info


def axis_order_note(info: ImageInfo) -> str | None:
    """A note for a 3D mask stored in another axis order than x, y, z (mapc, mapr, maps ≠ 1, 2, 3), else None.

    It is projected along its stored axes, as ``relion_project`` reads it (the projections agree
    with RELION's either way), but a mask saved so by another tool than the map the poses were
    refined against sits turned in the poses' frame, and its masks are then wrong for every
    particle: nothing in the numbers shows it, so the user is told.
    """
    if info.axis_map == (1, 2, 3):
        return None
    order = ", ".join(map(str, info.axis_map))
    return (
        f"{info.path.name} stores its axes as {info.stored_axes} (mapc, mapr, maps = {order}): it is projected along "
        "its stored axes, as relion_project reads it; if the particles' poses were refined against a map stored x, y, "
        "z, store the 3D mask in that order too"
    )


def projection_frame(
    path: str | os.PathLike[str], field: str = "mask.projection.file", header: ImageInfo | None = None
) -> tuple[tuple[int, int], float]:
    """The box (N, N) and voxel size in Å (0 when the header gives none) of the 3D mask to project, a cube N³: the
    particles' box and pixel size when nothing else gives them, as relion_project takes them. ``header`` as
    `read_projection_volume`'s.

    Raises
    ------
    UserError
        When it is not a 3D map, or not a cube.
    """
    info = header if header is not None else projection_header(path, field)
    nz, ny, nx = info.shape_zyx
    if not nz == ny == nx:
        raise UserError(
            f"is {nx} x {ny} x {nz}, not a cube; give a 3D mask of the particles' box (N x N x N)",
            source=str(path),
            field=field,
        )
    return (ny, nx), usable_pixel_size(info.voxel_size_xyz[0]) or 0.0


def warn_if_not_a_mask(volume_zyx: np.ndarray, path: str | os.PathLike[str]) -> None:
    """Warn when the 3D mask to project is not a mask's 0 to 1: values outside it, or no value near 1 (a density map).

    It projects all the same (a support above a fraction of each projection's peak follows a
    map's density too), but a mask elsewhere in maskrun must lie in [0, 1], and a user who
    gave a map where a mask was meant should hear of it.

    Warns
    -----
    MaskrunWarning
        When a value lies below −`RANGE_SLACK` or above 1 + `RANGE_SLACK`, or the largest is
        positive but below `MASK_PEAK_LEAST` (a mask keeps its region at 1).
    """
    low, high = float(volume_zyx.min()), float(volume_zyx.max())
    if low < -RANGE_SLACK or high > 1 + RANGE_SLACK or 0 < high < MASK_PEAK_LEAST:
        warnings.warn(
            f"{path}: values run from {low:.4g} to {high:.4g}, not a mask's 0 to 1 (a density map?); each "
            "particle's mask follows its projection all the same; to mask a region you choose, give a mask "
            "(relion_mask_create, or maskrun make-mask from the map)",
            MaskrunWarning,
            stacklevel=2,
        )


class ProjectedMasks:
    """The masks (or raw projections) of particles at given poses, from one 3D mask.

    Parameters
    ----------
    volume_zyx
        The 3D mask, a cube of the particles' box (`read_projection_volume`).
    params
        Mode, threshold and soft edge; ignored with ``raw``.
    raw
        Give the projections themselves (line integrals, as ``relion_project`` writes them).
    workers
        Threads per batch of projections (−1: every core); 1 where workers already share the cores.
    coarsening
        `SliceProjector`'s: 1 (``relion_project``'s projections) unless a job's check allows more
        (`maskrun.engine.projection_sampling`).
    projector
        A `SliceProjector` of ``volume_zyx`` at ``coarsening`` made already (planning's check made
        it): used instead of making one.
    """

    def __init__(
        self,
        volume_zyx: np.ndarray,
        params: ProjectionParams | None = None,
        raw: bool = False,
        workers: int = -1,
        coarsening: float = 1,
        projector: SliceProjector | None = None,
    ) -> None:
        from maskrun.geometry.projection import SliceProjector  # scipy.fft: only where projections are made

        if projector is None:
            projector = SliceProjector(volume_zyx, workers=workers, coarsening=coarsening)
        self._projector = projector
        self._kept = threading.local()  # each thread's room for its projections (`_room`)
        self.box = self._projector.box
        self.params = params
        self.raw = raw

    def masks(
        self,
        rot_deg: np.ndarray,
        tilt_deg: np.ndarray,
        psi_deg: np.ndarray,
        origin_x_px: np.ndarray,
        origin_y_px: np.ndarray,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """The masks of particles at these poses (degrees, RELION origins in px), float32 ``(n, N, N)``.

        ``out``: where to put them (returned), float32 ``(n, N, N)``; a new array when None.
        """
        from maskrun.geometry.projected_mask import masks_from_projections

        params = self.params
        # a support needs only the values above its threshold: the rows below it everywhere are not transformed
        floor = params.threshold if params is not None and params.mode == "support" and not self.raw else 0.0
        poses = rot_deg, tilt_deg, psi_deg, origin_x_px, origin_y_px
        if self.raw or params is None:
            return self._projector.project(*poses, floor=floor, out=out)
        projections = self._projector.project(*poses, floor=floor, out=self._room(len(rot_deg)))
        return masks_from_projections(projections, params.mode, params.threshold, params.soft_edge_px, out=out)

    def _room(self, count: int) -> np.ndarray:
        """Room for ``count`` projections, this thread's, kept from call to call (not 16 MB of new pages each)."""
        room: np.ndarray | None = getattr(self._kept, "projections", None)
        if room is None or len(room) < count:
            room = np.empty((count, self.box, self.box), np.float32)
            self._kept.projections = room
        return room[:count]

    def blocks(
        self,
        rot_deg: np.ndarray,
        tilt_deg: np.ndarray,
        psi_deg: np.ndarray,
        origin_x_px: np.ndarray,
        origin_y_px: np.ndarray,
    ) -> Iterator[tuple[int, np.ndarray]]:
        """``(first row, masks)`` for successive blocks of at most `BLOCK` particles."""
        for start in range(0, len(rot_deg), BLOCK):
            part = slice(start, start + BLOCK)
            yield start, self.masks(rot_deg[part], tilt_deg[part], psi_deg[part], origin_x_px[part], origin_y_px[part])


@dataclass(frozen=True)
class ProjectedMasking(PerImageMasking):
    """`Masking` with each particle's own mask, projected a run of particles at a time (the fixed-mask path is
    untouched).

    ``poses`` are the unit's rows (rot, tilt, psi in degrees, RELION origins in px), row 0
    being the unit's first particle (``first_index`` in the set). ``mask`` is unused (a
    box of ones: the shared mask the parent class needs).
    """

    projected: ProjectedMasks | None = None
    poses: tuple[np.ndarray, ...] = ()

    def masks_into(self, first_row: int, out: np.ndarray) -> None:
        """The masks of the unit's rows ``first_row .. first_row + len(out)``, projected into ``out``."""
        assert self.projected is not None  # `projected_masking` sets it
        rows = slice(first_row, first_row + len(out))
        rot, tilt, psi, x, y = (values[rows] for values in self.poses)
        self.projected.masks(rot, tilt, psi, x, y, out=out)


def projected_masking(
    projected: ProjectedMasks, poses: tuple[np.ndarray, ...], fill: FillParams, compat: Compat, first_index: int
) -> ProjectedMasking:
    """The masking of a unit's particles (``poses`` its rows) by their projected masks.

    The fill is blended in as for any soft mask: none for a zero fill, nor with ``compat:
    xmipp`` for a mask with a soft edge (Xmipp multiplies by soft masks).
    """
    params = projected.params
    soft = params is None or params.mode == "scaled" or params.soft_edge_px > 0
    blended = None if fill.is_zero or (compat == "xmipp" and soft) else fill
    n = projected.box
    return ProjectedMasking(Mask(np.ones((n, n), np.float32), True), blended, None, first_index, projected, poses)
