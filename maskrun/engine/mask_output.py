"""Masks written as files: ``maskrun make-mask``, and the mask saved beside every job's output."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from maskrun.config.mask_spec import MapMaskParams
from maskrun.engine.created_mask import map_mask, thresholded_map
from maskrun.io.atomic import remove_stale_parts
from maskrun.io.image_info import ImageInfo, Kind
from maskrun.io.images import inspect_image
from maskrun.io.mrc_writer import MrcStreamWriter, check_mrc_name
from maskrun.io.output_space import check_output_location, refuse_folder, refuse_taken


def write_mask(
    path: str | os.PathLike[str],
    values: np.ndarray,
    voxel_size_xyz: tuple[float, float, float],
    origin_xyz: tuple[float, float, float] = (0.0, 0.0, 0.0),
    *,
    overwrite: bool = False,
    like: ImageInfo | None = None,
    check_space: bool = True,
    holds: str = "a mask",
    labels: tuple[str, ...] = (),
) -> Path:
    """Write a mask as a float32 MRC file (atomically): 2D as one image, 3D as a volume.

    ``like``: a map whose placement the mask takes whole (``nxstart``…, axis order, cell),
    so that viewers put the mask where they put the map. ``holds``: what its maskrun label
    says it is (`maskrun.io.mrc_writer.maskrun_label`); ``labels``: up to 9 more, before it (how it
    was made, say). ``check_space``: refuse a folder
    without room for it (plus a margin) first; not in a job's gather, whose run checked the
    room for its whole output before it started.

    Raises
    ------
    UserError
        If the file exists and ``overwrite`` is false, or its folder cannot take it.
        (That it is none of the caller's inputs is the caller's check, made before any
        work: `maskrun.io.output_space.check_not_an_input`.)
    """
    path = Path(path)
    kind: Kind = "stack" if values.ndim == 2 else "volume"
    check_mrc_name(path, kind, one_image=values.ndim == 2)
    refuse_taken(path, overwrite)
    refuse_folder(path, "mask")
    remove_stale_parts(path)  # a killed make-mask's: before the space check, which they would fail
    if check_space:
        check_output_location(path.parent, 1024 + values.size * 4)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = values.reshape((1, *values.shape) if values.ndim == 2 else values.shape).astype(np.float32, copy=False)
    placement: dict[str, tuple[Any, ...]] = {}
    if like is not None:
        placement = {"nstart_xyz": like.nstart_xyz, "axis_map": like.axis_map, "cell_angstrom": like.cell_angstrom}
        placement["sampling_xyz"] = like.sampling_xyz
    float32 = np.dtype(np.float32)  # a mask is float32, whatever the data it is for
    with MrcStreamWriter(
        path, rows.shape, kind, voxel_size_xyz, origin_xyz, **placement, labels=labels, holds=holds, dtype=float32
    ) as writer:
        writer.write(rows)
    return path


PERCENTILES = (50, 90, 99, 99.9)
SIGMAS = (1, 2, 3)


def map_levels(params: MapMaskParams, pixel_size: float) -> str | None:
    """The map's name, range, a few percentiles and mean + kσ levels: where a threshold may sit.

    Those of the map as the threshold meets it: low-passed first when ``params`` low-pass it
    (at ``pixel_size``, Å), which the name's ``after low-pass to 30 Å`` says. None for a map that
    is itself a mask (its values in [0, 1]) given a number as its threshold: a mask remade
    (check-mask's ``make it:`` lines, ``--threshold 0.5``) needs no help choosing one.
    """
    density, low_passed = thresholded_map(params, pixel_size)
    finite = density[np.isfinite(density)].astype(np.float64)
    if not isinstance(params.threshold, str) and finite.size and finite.min() >= 0 and finite.max() <= 1:
        return None
    mean, sigma = float(finite.mean()), float(finite.std())
    percentiles = np.percentile(finite, PERCENTILES)
    name = f"{params.file.name} {low_passed}" if low_passed else params.file.name
    return (
        f"{name}: values from {finite.min():.4g} to {finite.max():.4g}; percentiles "
        + ", ".join(f"{p:g}%: {v:.4g}" for p, v in zip(PERCENTILES, percentiles))
        + f"; mean {mean:.4g}, σ {sigma:.4g}: "
        + ", ".join(f"mean + {k}σ = {mean + k * sigma:.4g}" for k in SIGMAS)
    )


def kept_volume(values: np.ndarray, voxel_size_xyz: tuple[float, float, float]) -> str:
    """The mask's kept volume (its sum: soft edges count by their weight), in Å³ when the voxel size is known."""
    kept = float(values.sum(dtype=np.float64))
    share = kept / values.size
    voxel = float(np.prod(voxel_size_xyz[: values.ndim]))
    unit = "Å²" if values.ndim == 2 else "Å³"
    amount = f"{kept * voxel:.4g} {unit}" if voxel > 0 else f"{kept:.4g} voxels (voxel size unknown)"
    return f"keeps {amount}, {share:.1%} of the box"


def mask_from_map_file(
    params: MapMaskParams, label: Callable[[str], str], pixel_size: float | None = None
) -> tuple[np.ndarray, ImageInfo]:
    """The mask ``params`` make from their map, at the map's own box; and the map's header.

    ``label`` names a parameter (``map.threshold``) as the user wrote it, for messages.
    ``pixel_size`` (Å), when given, is the map's voxel size instead of its header's (RELION's
    ``--angpix``): the low-pass and a threshold's volume use it, and the header returned has it.

    Raises
    ------
    UserError
        As `maskrun.engine.created_mask.map_mask`.
    """
    info = inspect_image(params.file)
    if pixel_size is not None:
        info = info.with_voxel_size(pixel_size)
    nz, ny, nx = info.shape_zyx
    shape = (ny, nx) if nz == 1 else (nz, ny, nx)
    mask = map_mask(params, shape, info.voxel_size_xyz, label, own_box=True)
    return mask.values, info
