"""Masks from atomic models on a map's grid (``maskrun make-mask --from-model``; docs/spec.md,
"Masks from atomic models"): the model file and the map's header in, the mask's values out."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskrun.config.model_mask_params import ModelMaskParams
from maskrun.errors import AllOrNothingWarning, FieldError, MaskrunWarning, UserError, in_field
from maskrun.geometry import model_mask
from maskrun.geometry.masks import keeps_all_or_nothing, unit_of
from maskrun.io.atomic_model import read_atomic_model
from maskrun.io.image_info import ImageInfo
from maskrun.io.images import inspect_image, metadata_kind
from maskrun.io.model_file import model_format

ANISOTROPY_TOLERANCE = 1e-3  # relative: voxel sizes closer than this count as one for extend and soft edge


@dataclass(frozen=True)
class MapGrid:
    """Where a map's voxels are, in Å, per array axis ``(z, y, x)`` as stored.

    ``axes_xyz`` names the spatial axis (0 = x, 1 = y, 2 = z) of each array axis (``maps,
    mapr, mapc`` − 1): atom coordinates are taken in that order.
    """

    shape_zyx: tuple[int, int, int]
    origin_zyx_angstrom: tuple[float, float, float]
    step_zyx_angstrom: tuple[float, float, float]
    axes_xyz: tuple[int, int, int]
    origin_from: str = "header"  # "header" (its origin), "nstart" (nxstart… × the voxel size) or "none"

    def along_xyz(self, per_array_axis: tuple[float, ...]) -> list[float]:
        """Values given per array axis ``(z, y, x)`` as stored, per spatial axis x, y, z."""
        return [per_array_axis[self.axes_xyz.index(axis)] for axis in range(3)]


def map_grid(info: ImageInfo) -> MapGrid:
    """The grid of an MRC map as UCSF ChimeraX places it.

    Voxel ``(k, j, i)`` (array order) is centred at ``origin + index · voxel size`` on each axis;
    the origin is the header's ``origin`` (x, y, z) when any of it is non-zero, else
    ``nxstart, nystart, nzstart`` (columns, rows, sections) times the voxel size.
    """
    axes = tuple(info.axis_map[2 - a] - 1 for a in range(3))
    step = tuple(float(info.voxel_size_xyz[axis]) for axis in axes)
    if any(info.origin_xyz) and all(np.isfinite(info.origin_xyz)):
        origin, origin_from = tuple(float(info.origin_xyz[axis]) for axis in axes), "header"
    else:
        origin = tuple(info.nstart_xyz[2 - a] * step[a] for a in range(3))
        origin_from = "nstart" if any(info.nstart_xyz) else "none"
    return MapGrid(info.shape_zyx, origin, step, axes, origin_from)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ModelMask:
    """A mask made from a model, the map it was made for, and notes on what was used."""

    values: np.ndarray
    info: ImageInfo
    notes: tuple[str, ...]


def mask_from_model_file(
    params: ModelMaskParams, like: str | os.PathLike[str], label: Callable[[str], str]
) -> ModelMask:
    """The mask ``params`` make from their model on the grid of the map ``like``.

    ``label`` names a parameter (``radius``, ``file``) as the user wrote it, for messages.

    Raises
    ------
    UserError
        A map that is not 3D or has no voxel size; an unreadable model, a bad or empty
        selection; a model with no atom inside the box (naming both extents); spheres that
        reach no voxel centre; a molmap resolution coarser than the box's longest side; extend
        or soft edge on voxels that are not cubes.

    Warns
    -----
    MaskrunWarning
        When more than half the atoms lie outside the box (some outside are a note), a molmap
        finer than 2 × the voxel size (counting the atoms it leaves out), or when the mask
        keeps nothing (an extend that shrinks it away) or the whole box.
    """
    _refuse_a_like_that_is_no_map(like, label)
    with in_field(label("like")):
        info = inspect_image(like)
    source = str(info.path)
    if info.shape_zyx[0] == 1 or info.says_a_stack:
        raise UserError(
            "a mask from a model needs a map (3D) to take its grid from", source=source, field=label("like")
        )
    if min(info.voxel_size_xyz) <= 0:
        raise UserError(
            "has no voxel size, so atoms (in Å) cannot be placed on its grid; set the voxel size in its header",
            source=source,
            field=label("like"),
        )
    grid = map_grid(info)
    model = read_atomic_model(params.file, params.select, field=label("file"), select_field=label("select"))
    atoms = model.positions_xyz_angstrom[:, list(grid.axes_xyz)]
    inside = model_mask.atoms_in_box(atoms, grid.shape_zyx, grid.origin_zyx_angstrom, grid.step_zyx_angstrom)
    chosen = f"{len(atoms)} atoms" + (f" selected by '{params.select}'" if params.select else "")
    outside = int((~inside).sum())

    def extents() -> str:
        low, high = model.positions_xyz_angstrom.min(axis=0), model.positions_xyz_angstrom.max(axis=0)
        extent = ", ".join(f"{n} {a:.4g}…{b:.4g}" for n, a, b in zip("xyz", low, high))
        box = model_mask.box_extent_text(
            grid.shape_zyx, grid.origin_zyx_angstrom, grid.step_zyx_angstrom, grid.axes_xyz
        )
        return f"(atoms: {extent} Å; box: {box} Å)"

    if not inside.any():
        raise UserError(
            f"all {chosen} lie outside the map's box {extents()}; fit the model into the map, give the map it was "
            f"built in, or {_placement_checks(model.positions_xyz_angstrom, grid)}",
            source=str(model.path),
            field=label("file"),
        )
    notes = [f"{model.path.name}: {chosen} of {model.atoms_in_model} in {model.which_model}"]
    if 2 * outside > len(atoms):  # a model mostly outside is rarely meant: likely another map's, or misplaced
        warnings.warn(
            f"{model.path.name}: {outside} of the {chosen} lie outside the box of {info.path.name} {extents()}: the "
            "model is likely not fitted in this map; fit it into the map, give the map it was built in, or "
            f"{_placement_checks(model.positions_xyz_angstrom, grid)}",
            MaskrunWarning,
            stacklevel=2,
        )
    elif outside:
        notes.append(f"{model.path.name}: {outside} of the {chosen} lie outside the box of {info.path.name}")
    voxel_x = grid.step_zyx_angstrom[2]
    extend_px, soft_edge_px = params.extend_px(voxel_x), params.soft_edge_px(voxel_x)
    steps = np.asarray(grid.step_zyx_angstrom)
    if (extend_px or soft_edge_px) and np.ptp(steps) > ANISOTROPY_TOLERANCE * steps.max():
        raise UserError(
            f"extend and soft edge need cubic voxels, and this map's are {' × '.join(f'{s:g}' for s in steps[::-1])} Å "
            f"(x × y × z); resample the map, or leave out {label('extend')} and {label('soft_edge')}",
            source=source,
            field=label("extend" if extend_px else "soft_edge"),
        )
    resolution = params.molmap_resolution_angstrom
    if resolution is not None:
        _refuse_a_molmap_wider_than_the_box(resolution, grid, label("molmap_resolution_angstrom"))
    try:
        if params.molmap_resolution_angstrom is not None:
            density = model_mask.molmap_density(
                atoms,
                model.atomic_numbers,
                params.molmap_resolution_angstrom,
                grid.shape_zyx,
                grid.origin_zyx_angstrom,
                grid.step_zyx_angstrom,
            )
            peak = float(density.max())
            if peak <= 0:
                raise UserError(
                    "the selected atoms have no known element, so the molmap (weighted by atomic number) is empty; "
                    f"fix the element column, or use {label('radius')}",
                    source=str(model.path),
                    field=label("file"),
                )
            scaled = density / peak  # one grid-sized array (1 GB in float64 at 512³), for the check and the mask
            _warn_if_undersampled(scaled, atoms[inside], params, grid, label)
            values = model_mask.finish_model_mask(
                scaled, params.molmap_threshold, extend_px, soft_edge_px, params.invert
            )
        else:
            radius = params.radius_angstrom(voxel_x)
            radii = model.vdw_radii_angstrom if radius is None else radius
            binary = model_mask.spheres_mask(
                atoms, radii, grid.shape_zyx, grid.origin_zyx_angstrom, grid.step_zyx_angstrom
            )
            if not binary.any():
                raise UserError(
                    f"no voxel centre lies within the radius of an atom (voxel size {voxel_x:g} Å); enlarge the radius",
                    field=label("radius"),
                )
            values = model_mask.finish_model_mask(binary, 0.5, extend_px, soft_edge_px, params.invert)
    except FieldError as exc:  # a molmap threshold that keeps nothing
        raise UserError(
            f"{params.molmap_threshold:g} of the molmap's peak keeps no voxel; lower the threshold",
            field=label(exc.field),
        ) from None
    _warn_if_all_or_nothing(values, params, model.path.name, voxel_x, extend_px)
    return ModelMask(values, info, tuple(notes))


ORIGIN_WORDS = {  # where `map_grid` took a map's origin from, for `_placement_checks`
    "header": "its header's origin",
    "nstart": "nxstart, nystart, nzstart × the voxel size",
    "none": "none in its header: cropping or re-boxing may have reset it",
}


def _placement_checks(atoms_xyz: np.ndarray, grid: MapGrid) -> str:
    """What to check of a map that a model lies outside: its voxel size (the model's extent against the box's, in Å)
    and its origin (and where it comes from); the voxel size first when the model is wider than the box.

    A binned map whose header kept the unbinned voxel size is half the size in Å it should be;
    a map cropped by a program that resets the origin (``relion_image_handler --new_box``) has
    its box at 0.
    """
    span = np.ptp(atoms_xyz, axis=0)
    step = grid.along_xyz(grid.step_zyx_angstrom)
    side = [n * v for n, v in zip(grid.along_xyz(grid.shape_zyx), step)]
    voxel = f"{step[0]:g}" if np.ptp(step) <= ANISOTROPY_TOLERANCE * max(step) else " × ".join(f"{v:g}" for v in step)
    spans = " × ".join(f"{v:.4g}" for v in span)
    sides = " × ".join(f"{v:.4g}" for v in side)
    where = ORIGIN_WORDS[grid.origin_from]
    origin = f"origin ({', '.join(f'{v:.4g}' for v in grid.along_xyz(grid.origin_zyx_angstrom))} Å, {where})"
    wider = [name for name, a, b in zip("xyz", span, side) if a > b]
    if wider:
        return (
            f"check the map's voxel size first ({voxel} Å: the model spans {spans} Å, wider than the box's "
            f"{sides} Å along {', '.join(wider)}: a binned map whose header kept the unbinned voxel size?), then its "
            f"{origin}"
        )
    return f"check the map's {origin} and voxel size ({voxel} Å: the model spans {spans} Å, the box {sides} Å)"


def _refuse_a_like_that_is_no_map(like: str | os.PathLike[str], label: Callable[[str], str]) -> None:
    """Refuse, naming the option and what it needs, a model or a metadata file given for the map whose grid is taken.

    Read as an image, they were told they are no MRC image, with the fix for a stack's STAR file
    ("give the image or stack it lists"), which is then refused as no map.
    """
    needs = f"{label('like')} takes the map (3D) whose grid (box, voxel size, origin) the mask is made on"
    if model_format(Path(like)) != "unknown":
        raise UserError(
            f"is an atomic model, not a map; {needs}, and {label('file')} the model: were the two swapped?",
            source=str(like),
            field=label("like"),
        )
    kind = metadata_kind(like)
    if kind is not None:
        raise UserError(
            f"is {kind} metadata file, not a map; {needs}: give it the map the model was fitted in",
            source=str(like),
            field=label("like"),
        )


def _refuse_a_molmap_wider_than_the_box(resolution: float, grid: MapGrid, field: str) -> None:
    """Refuse a molmap resolution coarser than the map's box is long: each atom's Gaussian would fill the box.

    At the default threshold (0.1 of the peak) one atom's blob is about as wide as the
    resolution (2 · 2.15σ = 0.97 × it): past the box's longest side the mask is the whole box,
    a typo (500 for 5.00) more likely than a wish.
    """
    sides = np.asarray(grid.shape_zyx) * np.asarray(grid.step_zyx_angstrom)
    if resolution <= sides.max():
        return
    box = " × ".join(f"{sides[grid.axes_xyz.index(axis)]:.4g}" for axis in range(3))
    sigma = model_mask.MOLMAP_SIGMA_FACTOR * resolution
    raise UserError(
        f"{resolution:g} Å exceeds the map's box ({box} Å, x × y × z): each atom's Gaussian (σ {sigma:.3g} Å) "
        f"would fill it; give the resolution in Å, at most {sides.max():.4g} (6 for 6 Å)",
        field=field,
    )


def _warn_if_undersampled(
    scaled: np.ndarray, atoms: np.ndarray, params: ModelMaskParams, grid: MapGrid, label: Callable[[str], str]
) -> None:
    """Warn of a molmap finer than the grid samples (2 × its voxel size), counting the atoms it leaves out.

    Its Gaussians are then narrower than a voxel: an atom between voxel centres adds less than
    the threshold to each, and falls out of the mask. ChimeraX's molmap never meets this (it
    samples at resolution / 3 on a grid of its own); here the grid is the map's. The mask is
    not widened behind the user's back: it is the molmap asked for, and the warning names the
    fix. ``scaled``: the molmap scaled to a peak of 1; ``atoms``: those inside the box.
    """
    resolution = params.molmap_resolution_angstrom
    nyquist = 2 * max(grid.step_zyx_angstrom)
    if resolution is None or resolution >= nyquist:
        return
    origin, step = np.asarray(grid.origin_zyx_angstrom), np.asarray(grid.step_zyx_angstrom)
    nearest = np.clip(np.rint((atoms - origin) / step).astype(np.int64), 0, np.asarray(grid.shape_zyx) - 1)
    lost = int((scaled[tuple(nearest.T)] < params.molmap_threshold).sum())
    if lost:
        left_out = f"{lost} of the {len(atoms)} atoms in the box {'is' if lost == 1 else 'are'} left out of the mask"
    else:
        left_out = "no atom of this model is left out of the mask, but an atom between voxel centres can be"
    warnings.warn(
        f"{label('molmap_resolution_angstrom')}: {resolution:g} Å is finer than the map's grid samples (2 × its "
        f"voxel size, {nyquist:g} Å): {left_out} (Gaussians narrower than a voxel fall below the threshold "
        f"at every voxel centre); give a resolution of {nyquist:g} Å or more, or {label('radius')} for spheres "
        "around the atoms",
        MaskrunWarning,
        stacklevel=3,
    )


def _warn_if_all_or_nothing(
    values: np.ndarray, params: ModelMaskParams, name: str, voxel_x: float, extend_px: float
) -> None:
    """Warn, as map masks do, when a model's mask keeps nothing or the whole box; say what to change."""
    keeps_all = keeps_all_or_nothing(values)
    if keeps_all is None:
        return
    covers_the_box = keeps_all != params.invert  # before the inversion: every voxel, or none
    extend = f"the extend ({extend_px:g} px)" if extend_px else "the extend"
    if params.molmap_resolution_angstrom is not None:
        size = f"the threshold ({params.molmap_threshold:g} of the peak)"
        fix = f"raise {size} or make {extend} smaller" if covers_the_box else f"make {extend} less negative"
    else:
        radius = params.radius_angstrom(voxel_x)
        if radius is None:  # van der Waals radii: only the extend can change
            fix = f"make {extend} {'smaller' if covers_the_box else 'less negative'}"
        elif covers_the_box:
            fix = f"make the radius ({radius:g} Å) or {extend} smaller"
        else:
            fix = f"make {extend} less negative or the radius ({radius:g} Å) larger"
    warning = AllOrNothingWarning(f"the mask made from {name}", keeps_all, fix, unit=unit_of(values), advice=fix)
    warnings.warn(warning, stacklevel=3)
