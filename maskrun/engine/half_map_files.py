"""The files of a mask check: two half-maps that fit each other, and the grid of the mask they judge.

What can be told of a pair of half-maps before their FSC is computed (docs/spec.md, "Checking
a mask"): both are readable 3D maps, two different files of different values, of one cubic box
of an even size, whose voxel sizes agree within 1 % (as a job's mask and its data must). Both
``check-mask`` and a job's ``check:`` (at planning) refuse here, naming the file, the field
(``--half2``, ``check.half2``) and the fix; what only the FSC shows (copies scaled apart, halves
not independent) `maskrun.engine.mask_check` refuses.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from maskrun.errors import UserError, in_field
from maskrun.io.image_info import ImageInfo, MappedRows
from maskrun.io.images import inspect_image
from maskrun.io.paths import file_not_found, is_file
from maskrun.io.pixel_size import usable_pixel_size

VOXEL_TOLERANCE = 0.01  # relative, as a job's mask against its data (maskrun.engine.created_mask)
COMPARED_ROWS = 16  # z-slices of the two halves compared at a time: independent halves differ in the first


def header_fix(path: Path, voxel_size_angstrom: float | str) -> str:
    """The command that sets a map's header voxel size (a number, or a placeholder) without resampling it.

    RELION 3.1's ``relion_image_handler``: its ``--angpix`` alone leaves the header as it was.
    """
    size = voxel_size_angstrom if isinstance(voxel_size_angstrom, str) else f"{voxel_size_angstrom:g}"
    fixed = path.with_name(f"{path.stem}_fixed{path.suffix}").name
    return f"relion_image_handler --i {path.name} --o {fixed} --force_header_angpix {size}"


def if_only_the_header(path: Path, voxel_size_angstrom: float) -> str:
    """The fix offered when only a map's header voxel size may be wrong (its box is the one wanted): ``if only its
    header is wrong, set 1.6 Å in it (relion_image_handler … --force_header_angpix 1.6)``, `header_fix`'s command.
    One wording for every map checked against a voxel size: a check's mask and half-maps, a 3D mask to project.
    """
    return f"if only its header is wrong, set {voxel_size_angstrom:g} Å in it ({header_fix(path, voxel_size_angstrom)})"


def fitting_half_maps(
    half1: str | os.PathLike[str], half2: str | os.PathLike[str], fields: tuple[str | None, str | None] = (None, None)
) -> tuple[ImageInfo, ImageInfo]:
    """The headers of two half-maps that could be the halves of one refinement.

    Parameters
    ----------
    half1, half2
        The files (MRC or SPIDER volumes); only their headers are read, and their values
        until the first that differ.
    fields
        How the caller names them (``--half1``, ``check.half1``), for the messages.

    Raises
    ------
    UserError
        Naming the file and the field: missing or unreadable, not a 3D map, one file given
        twice, boxes that differ or are not a cube of an even size, halves of the same values.
    """
    paths = [Path(half1), Path(half2)]
    infos = []
    for path, field in zip(paths, fields):
        if not is_file(path):
            raise file_not_found(path, "give an existing half-map", field)
        with in_field(field):
            info = inspect_image(path)
        if info.shape_zyx[0] == 1 or info.says_a_stack:
            raise UserError("is not a 3D map; give a half-map (an MRC volume)", source=str(path), field=field)
        infos.append(info)
    first, second = infos
    if os.path.samefile(paths[0], paths[1]):
        raise UserError(
            f"is the same file as {fields[0] or paths[0].name}; give the other half-map of the refinement (the FSC "
            "of a map with itself says nothing of the mask)",
            source=str(paths[1]),
            field=fields[1],
        )
    if second.shape_zyx != first.shape_zyx:
        raise UserError(
            f"box {box_text(second)} differs from {paths[0].name}'s {box_text(first)}; give the other half-map of "
            "the same refinement",
            source=str(paths[1]),
            field=fields[1],
        )
    nz, ny, nx = first.shape_zyx
    if not nz == ny == nx or nx % 2:
        raise UserError(
            f"box {box_text(first)} is not a cube of an even size, which maskrun's FSC shells need (relion_postprocess "
            "takes odd boxes; maskrun does not yet); re-box the half-maps and the mask alike to an even size "
            "(relion_image_handler --new_box)",
            source=str(paths[0]),
            field=fields[0],
        )
    if same_values(first, second):
        raise UserError(
            f"holds the same values as {paths[0].name}; give the other, independently refined half-map",
            source=str(paths[1]),
            field=fields[1],
        )
    return first, second


def half_maps_voxel_size(first: ImageInfo, second: ImageInfo, field: str | None = None) -> float | None:
    """The voxel size the half-maps' headers give (the first usable one), None when neither gives one.

    Raises
    ------
    UserError
        When both give one and they differ by more than 1 %, naming the second half-map.
    """
    sizes = [usable_pixel_size(info.voxel_size_xyz[0]) for info in (first, second)]
    if sizes[0] is not None and sizes[1] is not None:
        refuse_other_voxel_size(
            second, sizes[0], f"{first.path.name}'s", field, "give the other half-map of the same refinement"
        )
    return sizes[0] if sizes[0] is not None else sizes[1]


def refuse_other_voxel_size(info: ImageInfo, reference: float, of: str, field: str | None, remedy: str) -> None:
    """Refuse a map whose usable header voxel size is more than 1 % off ``reference`` Å (``of``: whose it is).

    The message offers ``remedy`` and, as the other voxel-size refusals do, setting the right
    size in the header when only the header is wrong (the box already matches).
    """
    size = usable_pixel_size(info.voxel_size_xyz[0])
    if size is None or abs(size - reference) <= VOXEL_TOLERANCE * reference:
        return
    raise UserError(
        f"voxel size {size:g} Å differs from {of} {reference:g} Å by more than 1%; {remedy}, or, "
        f"{if_only_the_header(info.path, reference)}",
        source=str(info.path),
        field=field,
    )


def same_values(first: ImageInfo, second: ImageInfo) -> bool:
    """Whether two maps of one box hold the same values (read until the first slab that differs)."""
    with MappedRows(first) as a, MappedRows(second) as b:
        for start in range(0, first.shape_zyx[0], COMPARED_ROWS):
            stop = min(start + COMPARED_ROWS, first.shape_zyx[0])
            equal = np.array_equal(a.rows(start, stop), b.rows(start, stop))
            a.release(start, stop)
            b.release(start, stop)
            if not equal:
                return False
    return True


def box_text(info: ImageInfo) -> str:
    """A map's box as ``nx x ny x nz``."""
    return " x ".join(map(str, info.shape_zyx[::-1]))
