"""RELION STAR particle sets (3.0, and 3.1+ with ``data_optics``) and STAR map listings; Xmipp's .xmd
shares the reading and writing (`maskrun.formats.xmd_set`).

The syntax is `maskrun.io.star`'s; this module knows which block and column hold the
images, where the pixel size is, and how a masked set is written: the input's blocks,
columns and row order kept, only the image column rewritten.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from maskrun.errors import UserError, first_named
from maskrun.formats.map_set import VolumeSet, check_unique_stems, refuse_listed_images
from maskrun.formats.particle_set import (
    ANCESTORS_SEARCHED,
    SEVERAL_SIZES_MEAN,
    ExampleParticles,
    Masked,
    ParticleSet,
    ReadOptions,
    RowNames,
    SeveralBoxes,
    WithoutStacks,
    checked_stacks,
    differing_pixel_sizes,
    given_as,
    given_is_used,
    missing_stacks,
    resolve_references,
    sizes_said,
    take_given_pixel_size,
)
from maskrun.formats.poses import Poses, no_table_offsets, offsets_from_table, poses_from_table
from maskrun.formats.references import (
    MAP_FORMAT,
    STACK_FORMAT,
    absolute_reference,
    bare_references,
    formats_as_given,
    split_format,
    split_numbers,
)
from maskrun.formats.setting_names import NO_NAMES, SettingNames
from maskrun.formats.star_optics import (
    GROUP,
    GROUPS_NAMED,
    ParticleGroups,
    boxes_by_group,
    group_name,
    groups_named,
    of_used_groups,
    particle_groups,
    refuse_subtomograms,
    used_optics_rows,
    warn_of_image_sizes,
)
from maskrun.io.image_info import ImageInfo
from maskrun.io.images import inspect_image, metadata_kind
from maskrun.io.paths import is_file, named_from
from maskrun.io.pixel_size import header_disagreement, unusable_note, usable_pixel_size, usable_pixel_sizes
from maskrun.io.star import Blocks, Loop, read_metadata, write_metadata

NAME = "star"
LABEL = "RELION STAR"
SUFFIXES = (".star",)
OUTPUTS = ("particles.star",)
MAP_OUTPUT = "volumes.star"
IMAGE_COLUMNS = ("rlnImageName", "image")
MAP_COLUMNS = ("rlnReferenceImage", "rlnImageName", "rlnMapName", "image")
PROJECT_OF = {NAME: "RELION", "xmd": "Xmipp"}  # whose project folder a set's relative image paths start in
SAME_PIXEL_SIZE = 0.01  # relative: optics groups' pixel sizes closer than this are one pixel size
LABEL_OF = {NAME: LABEL, "xmd": "Xmipp XMD"}  # as `maskrun.formats.xmd_set.LABEL`, which imports this module
RELION_30_PIXEL_SIZE = ("rlnDetectorPixelSize", "rlnMagnification")  # a 3.0 row's pixel size: their ratio × 10⁴
MAGNIFICATION_WRITTEN = 10000  # RELION's own when it writes a pixel size as 3.0 columns: the detector pixel is it


def read_particles(path: Path, options: ReadOptions) -> ParticleSet:
    """A RELION STAR particle set (see `read_table_set`)."""
    return read_table_set(path, options, NAME)


def read_table_set(path: Path, options: ReadOptions, name: str, row_pixel_size: str = "") -> ParticleSet:
    """A STAR or XMD particle set (format ``name``), every image reference resolved and checked.

    ``row_pixel_size``: the column of the particle block that holds each row's pixel size in Å
    where the format keeps one there (Xmipp's ``samplingRate``), read as RELION 3.0's rows are
    (`_pixel_size`); "" for none.
    """
    image_column, job_folder, project_dir = options.image_column, options.job_folder, options.project_dir
    blocks, comments, block_name, column, table, dropped, numbers = _star_rows(
        path, image_column, options.names, options.block
    )
    if not len(table):
        raise UserError(no_enabled_rows(block_name, dropped, "particles"), source=str(path))
    refuse_subtomograms(blocks, path, options.names)
    row_names = RowNames(numbers=numbers)
    of_group = particle_groups(blocks, table, path, row_names)
    bases = _searched_folders(path, job_folder, project_dir)
    references = np.array(table.column_bytes(column), dtype=bytes)
    try:
        stack_paths, stack_of_row, image_index, base = resolve_references(
            references,
            path,
            column,
            bases,
            PROJECT_OF[name],
            missing_ok=not options.need_stacks,
            setting_names=options.names,
            rows=row_names,
            project_dir=project_dir,
        )
    except UserError:  # a metadata file not found (Xmipp's output.xmd copied out of its run) is that first
        _refuse_named_metadata(references, bases, table, column, path, options.names)
        raise
    _refuse_listed_metadata(stack_paths, table, column, path, options.names)
    missing = [] if options.need_stacks else missing_stacks(stack_paths)
    without = None
    if missing:  # read from the metadata alone: the box from it, else unknown (0, 0)
        box, box_field = _metadata_box(blocks, of_group, table, path)
        stacks: dict[Path, ImageInfo] = {}
        header, pixel_field = 0.0, _metadata_pixel_field(blocks, table, row_pixel_size)
        without = WithoutStacks(missing, len(stack_paths), box_field, pixel_field)
        stack_paths, stack_of_row = [], np.full(len(table), -1, dtype=np.int64)
    else:
        try:
            stacks, box = checked_stacks(
                stack_paths,
                stack_of_row,
                image_index,
                references,
                path,
                column,
                options.names,
                row_names,
                bare=bare_references(references),
            )
        except SeveralBoxes as refused:  # RELION users know their boxes by optics group
            boxes = [refused.boxes[p] for p in stack_paths]
            by_group = of_group and boxes_by_group(of_group, stack_of_row, boxes, path, base, options.names)
            raise by_group or refused from None
        warn_of_image_sizes(blocks, of_group, box, path)
        header = usable_pixel_size(stacks[stack_paths[0]].voxel_size_xyz[0]) or 0.0
    given = options.pixel_size_angstrom if without is None else None  # the caller's, for a set that gives none
    pixel, notes, several, groups, lacking = _pixel_size(
        blocks, table, of_group, header, options if given is not None else None, name, row_names, path, row_pixel_size
    )
    if without is not None and not pixel:
        without = dataclasses.replace(without, pixel_field="")
    if given is not None:
        own = _own_pixel_size(pixel, several, blocks, table, row_pixel_size)
        notes += take_given_pixel_size(options, path, LABEL_OF[name], lacking, own, header)
    notes += disabled_rows_note(dropped)
    return ParticleSet(
        source=path,
        format=name,
        blocks=blocks,
        comments=comments,
        block_name=block_name,
        image_column=column,
        rows=table,
        stack_paths=stack_paths,
        stack_of_row=stack_of_row,
        image_index=image_index,
        stacks=stacks,
        box_yx=box,
        pixel_size_angstrom=pixel,
        dropped_rows=dropped,
        notes=notes,
        references_base=base,
        pixel_sizes_angstrom=several,
        pixel_sizes_field=_metadata_pixel_field(blocks, table, row_pixel_size) if several and row_pixel_size else "",
        without_stacks=without,
        pixel_size_groups=groups,
        row_numbers=numbers,
        pixel_size_given=given is not None,
        pixel_size_lacking=lacking,
        optics_groups=of_group,
    )


def _own_pixel_size(
    pixel: float, several: tuple[float, ...], blocks: Blocks, table: Loop, row_pixel_size: str = ""
) -> str:
    """A set's own pixel size in words, with the field it is read from: ``2.806 Å/px (rlnImagePixelSize)``."""
    field = _metadata_pixel_field(blocks, table, row_pixel_size)
    if several:
        return f"{sizes_said(several)} ({field})"
    return f"{pixel:g} Å/px ({field})"


def _metadata_box(
    blocks: Blocks, groups: ParticleGroups | None, table: Loop, path: Path
) -> tuple[tuple[int, int], str]:
    """The particles' box (ny, nx) as the metadata gives it, and the field: RELION 3.1's ``rlnImageSize`` (of the
    optics groups the particles use, ``groups``), Xmipp's ``xSize``/``ySize``; ((0, 0), "") when it gives none.

    Raises
    ------
    UserError
        When the particles' groups (or rows) give different boxes, or a value is not a size in pixels.
    """
    optics = blocks.get("optics")
    if isinstance(optics, Loop) and "rlnImageSize" in optics.columns and len(optics):
        size = _one_size(of_used_groups(optics, groups, "rlnImageSize")[1], "rlnImageSize", "optics groups", path)
        return (size, size), "rlnImageSize"
    if {"xSize", "ySize"} <= set(table.columns):
        x_sizes, y_sizes = table.numbers_of(["xSize", "ySize"])
        return (_one_size(y_sizes, "ySize", "rows", path), _one_size(x_sizes, "xSize", "rows", path)), "xSize/ySize"
    return (0, 0), ""


def _one_size(sizes: np.ndarray, field: str, of: str, path: Path) -> int:
    """The one box size in pixels that ``sizes`` (``field`` of the particles' ``of``) hold, checked."""
    distinct = _distinct(sizes)
    if len(distinct) > 1:
        listed = " and ".join(f"{s:g}" for s in distinct[:3])
        raise UserError(
            f"the particles' {of} have different box sizes ({listed} px) and their stacks are not here; "
            "project each box size on its own",
            source=str(path),
            field=field,
        )
    size = distinct[0]
    if not (np.isfinite(size) and size >= 1 and size == int(size)):
        raise UserError(
            f"is {size:g}, not a box size in pixels (a whole number from 1); fix it", source=str(path), field=field
        )
    return int(size)


def _metadata_pixel_field(blocks: Blocks, table: Loop, row_pixel_size: str = "") -> str:
    """The metadata field `_metadata_pixel_sizes` reads the pixel size from (Xmipp's ``row_pixel_size`` as an .xmd
    writes it: ``_samplingRate``); "" when none."""
    optics = blocks.get("optics")
    if isinstance(optics, Loop) and "rlnImagePixelSize" in optics.columns:
        return "rlnImagePixelSize"
    if {"rlnDetectorPixelSize", "rlnMagnification"} <= set(table.columns):
        return "rlnDetectorPixelSize/rlnMagnification"
    if row_pixel_size and row_pixel_size in table.columns:
        return f"_{row_pixel_size}"
    return ""


def _searched_folders(source: Path, job_folder: Path | None, project_dir: Path | None) -> list[Path]:
    """Where a STAR/XMD file's references (a set's stacks, a listing's maps) are looked up, in order: beside it, in
    `ANCESTORS_SEARCHED` of its parent folders, beside the job file, in the project folder, in the working folder."""
    searched = [source.parent, *list(source.parent.parents)[:ANCESTORS_SEARCHED], job_folder, project_dir, Path.cwd()]
    return [folder for folder in searched if folder is not None]


def _refuse_named_metadata(
    references: np.ndarray, bases: list[Path], table: Loop, column: str, path: Path, names: SettingNames
) -> None:
    """Refuse, as `_refuse_listed_metadata`, an image column of which a reference (``N@path`` or ``path``) names a
    metadata file by its name, found in ``bases`` or not: a metadata file whether or not it is there. Each distinct
    file is looked at once (a million rows name a few thousand stacks)."""
    import pandas as pd  # only where a set is read: a unit that reads a saved plan does without

    for raw in pd.unique(split_numbers(references)[2]):
        text = split_format(raw.decode("utf-8", "replace"))[0]
        if metadata_kind(text):
            found = next((base / text for base in bases if is_file(base / text)), Path(text))
            _refuse_listed_metadata([Path(os.path.abspath(found))], table, column, path, names)


def _refuse_listed_metadata(stack_paths: list[Path], table: Loop, column: str, path: Path, names: SettingNames) -> None:
    """Refuse an image column naming metadata files, pointing at the columns that name images (and the caller's
    setting that picks one, ``names.image_column``).

    Xmipp programs write ``_image`` as ``N@`` their own output ``.xmd`` (the images they made
    are in ``_imageRef``, ``_imageResidual``, …): the column to mask is then another one.
    """
    listed = next((p for p in stack_paths if metadata_kind(p)), None)
    if listed is None:
        return
    first = table.take(np.arange(len(table)) < 1)
    others = [
        c
        for c in table.columns
        if "image" in c.lower() and c != column and not metadata_kind(first.column(c)[0].partition("@")[2])
    ]
    itself = listed.exists() and os.path.samefile(listed, path)  # a file Xmipp named in another folder may be gone
    which = f"{listed.name} itself" if itself else listed.name
    listing = f" (image columns here: {', '.join('_' + c for c in others)})" if others else ""
    if names.image_column is not None:
        fix = f"give the column of the images to mask as {names.image_column}{listing}"
    else:
        elsewhere = f"the images to mask are in another column{listing}"
        fix = names.without(elsewhere, elsewhere)
    raise UserError(
        f"names {which}, {metadata_kind(listed)} metadata file, not an image stack; {fix}",
        source=str(path),
        field=f"_{column}",
    )


def _star_rows(
    path: Path, image_column: str | None, names: SettingNames = NO_NAMES, block: str | None = None
) -> tuple[Blocks, dict[str, list[str]], str, str, Loop, int, np.ndarray | None]:
    """A STAR/XMD set's blocks and comments, its particle block (``block`` when given) and image column, the kept
    rows, the dropped count, and each kept row's number in the file (from 1 among all the block's rows; None when
    none was dropped), by which messages name a row as the user finds it in the file."""
    blocks, comments = read_metadata(path)
    block_name, column = _image_block(blocks, path, image_column, names, block)
    table = blocks[block_name]
    assert isinstance(table, Loop)  # _image_block picks loop blocks only
    table, dropped, numbers = _enabled_rows(table)
    return blocks, comments, block_name, column, table, dropped, numbers


def _enabled_rows(table: Loop) -> tuple[Loop, int, np.ndarray | None]:
    """The rows of ``table`` Xmipp reads (those with ``_enabled`` > 0, or all without the column), how many were
    dropped, and each kept row's number in the file (from 1; None when none was dropped)."""
    if "enabled" not in table.columns:
        return table, 0, None
    enabled = np.nan_to_num(table.numbers("enabled"), nan=1.0) > 0
    dropped = int((~enabled).sum())
    if not dropped:
        return table, 0, None
    return table.take(enabled), dropped, np.flatnonzero(enabled) + 1


def disabled_rows_note(dropped: int) -> list[str]:
    """The note of a set or listing whose disabled rows were dropped; none when none were."""
    if not dropped:
        return []
    return [f"{dropped} disabled row{'s' * (dropped != 1)} (_enabled <= 0) dropped, as Xmipp does"]


def no_enabled_rows(block_name: str, dropped: int, what: str) -> str:
    """The refusal of a block that lists no ``what`` (``particles``, ``maps``) once its disabled rows are dropped."""
    if not dropped:
        return f"block data_{block_name} lists no {what}"
    every = f"all {dropped} rows have" if dropped > 1 else "its one row has"
    return f"block data_{block_name} lists no enabled {what}: {every} _enabled <= 0; enable those to mask (_enabled 1)"


def read_poses(particles: ParticleSet) -> Poses:
    """Each row's pose (`maskrun.formats.poses`): ``rlnOriginX/YAngst`` (3.1+) or ``rlnOriginX/Y`` (3.0)."""
    return poses_from_table(
        particles,
        ("rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi"),
        ("rlnOriginX", "rlnOriginY"),
        ("rlnOriginXAngst", "rlnOriginYAngst"),
    )


def read_offsets(particles: ParticleSet) -> tuple[np.ndarray, np.ndarray]:
    """Each row's origin in px (`maskrun.formats.poses.offsets_of`)."""
    return offsets_from_table(particles, ("rlnOriginX", "rlnOriginY"), ("rlnOriginXAngst", "rlnOriginYAngst"))


def no_offsets(particles: ParticleSet) -> UserError | None:
    """The refusal of a set without origin columns (`maskrun.formats.poses.offsets_of`); None when it has them."""
    takes = "a 3D refinement or a 2D classification (RELION's Refine3D, Class3D or Class2D)"
    return no_table_offsets(particles, (("rlnOriginXAngst", "rlnOriginYAngst"), ("rlnOriginX", "rlnOriginY")), takes)


def reread_metadata(particles: ParticleSet, options: ReadOptions) -> ParticleSet:
    """A STAR/XMD set read back from a saved plan, with its metadata read again (and not its images:
    the plan has them). Formats without this are read whole again (`maskrun.formats.registry.with_metadata`).
    A pixel size the caller gives (``options``) is the plan's: planning refused it for a set that has its own.

    Raises
    ------
    UserError
        When the metadata no longer has the rows the plan was made from.
    """
    blocks, comments, block_name, _column, table, dropped, numbers = _star_rows(
        particles.source, particles.image_column, block=particles.block_name
    )
    if len(table) != len(particles) or block_name != particles.block_name:
        raise UserError("changed since the job was planned; run the job again", source=str(particles.source))
    return dataclasses.replace(
        particles,
        blocks=blocks,
        comments=comments,
        rows=table,
        dropped_rows=dropped,
        has_metadata=True,
        row_numbers=numbers,
        pixel_size_given=options.pixel_size_angstrom is not None,
    )


def write_particles(particles: ParticleSet, masked: Masked, output_dir: Path, project_dir: Path | None) -> list[Path]:
    """``particles.star``: the input's blocks with only the image column rewritten, and the pixel size the caller
    gave for a set without one (`with_pixel_size`)."""
    if particles.pixel_size_given:
        particles = with_pixel_size(particles, particles.pixel_size_angstrom)
    return [write_table(particles, masked, output_dir / OUTPUTS[0])]


def with_pixel_size(particles: ParticleSet, pixel: float) -> ParticleSet:
    """A RELION STAR set whose metadata says its pixel size is ``pixel``, as RELION reads it: the optics block's
    ``rlnImagePixelSize`` (3.1+), else each row's ``rlnDetectorPixelSize`` and ``rlnMagnification`` (3.0, with
    RELION's own `MAGNIFICATION_WRITTEN`), added or, where they give none usable, replaced: an optics group's usable
    pixel size (one no particle uses: those the particles use give none, `_pixel_size`) is kept."""
    optics = particles.blocks.get("optics")
    if isinstance(optics, Loop) and particles.block_name != "optics":
        written = f"{pixel:.6f}"
        if "rlnImagePixelSize" in optics.columns:
            own = optics.column("rlnImagePixelSize")
            kept = usable_pixel_sizes(optics.numbers("rlnImagePixelSize"))
            values = [value if keep else written for value, keep in zip(own, kept)]
            optics = Loop(optics.columns, list(optics.rendered({"rlnImagePixelSize": values})))
        else:
            optics = optics.with_columns({"rlnImagePixelSize": [written] * len(optics)})
        return dataclasses.replace(particles, blocks={**particles.blocks, "optics": optics})
    columns = dict(zip(RELION_30_PIXEL_SIZE, (f"{pixel:.6f}", f"{MAGNIFICATION_WRITTEN:.6f}")))
    rows = _holding(particles.rows, columns)
    return dataclasses.replace(particles, rows=rows, blocks={**particles.blocks, particles.block_name: rows})


def _holding(loop: Loop, values: dict[str, str]) -> Loop:
    """``loop`` with each column of ``values`` holding that value in every row: replaced where it has the column,
    else added after its own."""
    held = {column: [value] * len(loop) for column, value in values.items() if column in loop.columns}
    if held:
        loop = Loop(loop.columns, list(loop.rendered(held)))
    return loop.with_columns({column: [value] * len(loop) for column, value in values.items() if column not in held})


def write_table(particles: ParticleSet, masked: Masked, target: Path) -> Path:
    """Write the set's blocks to ``target`` (STAR or, by its suffix, XMD) with the masked images' names.

    Where the input's references were relative to a project folder (``references_base``) and
    ``target`` lies outside it, the masked images are named by absolute paths
    (`maskrun.jobs.output_metadata.output_image_names`), and so is every other value that
    named a file from that folder (`_named_from_anywhere`): ``rlnMicrographName``,
    ``rlnImageOriginalName``, Xmipp's ``imageOriginal``, ``micrograph``, … would otherwise
    point nowhere from where the output is read.
    """
    blocks = dict(particles.blocks)
    blocks[particles.block_name] = particles.rows
    images = masked.image_names
    if particles.rows.holds(b":"):  # Xmipp's format suffixes, in few sets: a quick look first (0.04 s per 1M rows)
        images = formats_as_given(images, particles.rows.column_bytes(particles.image_column), STACK_FORMAT)
    replace = {particles.block_name: {particles.image_column: images}}
    base = particles.references_base
    if base is not None and not Path(os.path.abspath(target.parent)).is_relative_to(base):
        blocks, replace = _named_from_anywhere(blocks, replace, base)
    return write_metadata(blocks, target, particles.comments, replace)


def _named_from_anywhere(
    blocks: Blocks, replace: dict[str, dict[str, list[str]]], base: Path
) -> tuple[Blocks, dict[str, dict[str, list[str]]]]:
    """``blocks`` and ``replace`` with every value that names a file from ``base`` (``N@path`` or ``path``) by its
    absolute path, as the masked images are named outside the project folder; other values as they were.

    A loop's column is looked at when its first row names such a file (a column of numbers
    costs nothing); then each of its values that does is rewritten. Columns ``replace``
    already rewrites are left to it.
    """
    blocks, replace = dict(blocks), {name: dict(columns) for name, columns in replace.items()}
    found: dict[str, str | None] = {}  # each distinct path's absolute path, or None: it names no file from base
    for name, block in blocks.items():
        if isinstance(block, dict):
            blocks[name] = {key: absolute_reference(value, base, found) or value for key, value in block.items()}
            continue
        if not len(block):
            continue
        first = next(block.rows())
        for column, value in zip(block.columns, first):
            if column in replace.get(name, {}) or absolute_reference(value, base, found) is None:
                continue
            values = block.column(column)
            replace.setdefault(name, {})[column] = [absolute_reference(v, base, found) or v for v in values]
    return blocks, replace


def write_example(example: ExampleParticles) -> Path:
    """The example is a RELION STAR already."""
    return example.star


def _blocks_with(blocks: Blocks, columns: tuple[str, ...]) -> list[tuple[str, str]]:
    """Every (loop block, column) pair with one of ``columns``, in file order (block first, then ``columns``'s)."""
    return [
        (name, column)
        for name, block in blocks.items()
        if isinstance(block, Loop)
        for column in columns
        if column in block.columns
    ]


def _image_block(
    blocks: Blocks,
    path: Path,
    image_column: str | None = None,
    setting_names: SettingNames = NO_NAMES,
    block: str | None = None,
) -> tuple[str, str]:
    """The particle block and its image column: ``block`` (Xmipp's ``block@file``) when given, else the one loop
    block with an image column (``image_column``, else `IMAGE_COLUMNS`), or the one named ``particles``."""
    if block is not None:
        if not isinstance(blocks.get(block), Loop):
            raise UserError(
                f"{'has no loop block' if block in blocks else 'has no block'} data_{block} "
                f"({_block_list(list(blocks))}); fix the block before '@'",
                source=str(path),
                field=setting_names.particles,
            )
        blocks = {block: blocks[block]}
    wanted = (image_column.lstrip("_"),) if image_column else IMAGE_COLUMNS
    found = _blocks_with(blocks, wanted)
    if not found and image_column:
        columns = sorted({c for b in blocks.values() if isinstance(b, Loop) for c in b.columns if "image" in c.lower()})
        where = f"data_{block} has no column" if block is not None else "no block has the column"
        raise UserError(
            f"{where} _{wanted[0]} (image columns here: "
            f"{', '.join('_' + c for c in columns) or 'none'}); fix {setting_names.image_column or 'the image column'}",
            source=str(path),
            field=setting_names.image_column,
        )
    if not found and block is not None:
        raise UserError(
            f"data_{block} has no image column (_rlnImageName in RELION STAR, _image in Xmipp .xmd); is it a block "
            "of particles?",
            source=str(path),
        )
    if not found:
        columns = sorted({c for b in blocks.values() if isinstance(b, Loop) for c in b.columns if "image" in c.lower()})
        setting = setting_names.image_column
        others = ", ".join("_" + c for c in columns)
        if columns and setting:
            fix = f"to mask the images of {others}, name the column with {setting}"
        else:
            named = f" ({setting} names an image column of another name)" if setting else ""
            fix = f"is this a particle file?{named}"
        raise UserError(
            f"no block has an image column (_rlnImageName in RELION STAR, _image in Xmipp .xmd); {fix}",
            source=str(path),
        )
    if len(found) > 1:
        preferred = [f for f in found if f[0] == "particles"]
        if not preferred:
            names = _block_list(list(dict.fromkeys(name for name, _ in found)))
            raise UserError(
                f"several blocks have image columns ({names}); name the one to mask as block@file, as Xmipp does "
                f"({found[1][0]}@{path.name}), or keep one particle block",
                source=str(path),
                field=setting_names.particles,
            )
        return preferred[0]
    return found[0]


BLOCKS_NAMED = 4  # the blocks a message names, the others counted


def _block_list(names: list[str]) -> str:
    """Block names for a message: `BLOCKS_NAMED` of them as ``data_x``, the others counted.

    Examples
    --------
    >>> _block_list(["classes", "class000001_images"])
    'data_classes, data_class000001_images'
    >>> _block_list([f"b{i}" for i in range(6)])
    'data_b0, data_b1, data_b2, data_b3 and 2 more'
    """
    return first_named([f"data_{name}" for name in names], BLOCKS_NAMED)


def named_block(path: Path) -> tuple[str | None, Path]:
    """Xmipp's ``block@file``: the block a particles path names and its file, when ``path`` names no file and one of
    its folders or its name starts with ``block@`` whose rest names a STAR/XMD file (``class000001_images@classes.xmd``
    resolved from a job's folder: ``…/class000001_images@Runs/000010_X/classes.xmd``); else (None, ``path``).

    A block is not a number (``3@stack.mrcs`` is an image). A path that names a file is that file, ``@`` or not.
    """
    if is_file(path):
        return None, path
    parts = path.parts
    for i, part in enumerate(parts):
        block, at, rest = part.partition("@")
        if not (at and block) or block.isdigit():
            continue
        # "block@/abs/file.xmd" resolved from a folder: the rest of the path is absolute
        file = Path(*parts[:i], rest, *parts[i + 1 :]) if rest else Path(path.anchor, *parts[i + 1 :])
        if file.suffix.lower() in (*SUFFIXES, ".xmd") and is_file(file):
            return block, file
    return None, path


def _pixel_size(
    blocks: Blocks,
    table: Loop,
    groups: ParticleGroups | None,
    header: float,
    caller: ReadOptions | None,
    name: str,
    rows: RowNames,
    path: Path,
    row_pixel_size: str = "",
) -> tuple[float, list[str], tuple[float, ...], tuple[str, ...], str | None]:
    """Pixel size from the metadata when it says (headers are often wrong), else the caller's (``caller``: its options
    when it gives a ``pixel_size_angstrom``, else None), else the first stack's ``header``'s (0: none, or the stacks
    were not read).

    The metadata gives each particle's: its optics group's ``rlnImagePixelSize`` (``groups``: the
    groups the particles use), or its RELION 3.0 row's, or its row's ``row_pixel_size`` (an
    .xmd's ``samplingRate``: `maskrun.formats.xmd_set.PIXEL_SIZE_COLUMN`). A value that is NaN, ≤ 0 or absurd
    (`usable_pixel_size`) is none; when no particle has one, the metadata gives none: the header's
    (or the caller's) is used, with a note, and the value is never written into outputs. Particles
    of optics groups (or rows) whose pixel sizes differ by more than `SAME_PIXEL_SIZE`
    have none: 0, with a note, and the sizes are returned (the third value, the fourth naming each
    one's optics groups, `_optics_groups_of`, or its rows counted, ``4 rows``, for ``row_pixel_size``) for the job
    to say why a length in Å is refused. The
    fifth says what the metadata (of format ``name``) lacks when it gives no pixel size
    (`_lacking`); None when it gives one.

    Raises
    ------
    UserError
        When some particles have a pixel size and others none (`_refuse_some_without`); ``rows`` names RELION 3.0's.
    """
    values = _metadata_pixel_sizes(blocks, table, groups, row_pixel_size)
    field = _metadata_pixel_field(blocks, table, row_pixel_size)
    instead = header if caller is None else float(caller.pixel_size_angstrom or 0.0)
    if values is None or not len(values):
        lacking = _lacking(blocks, table) if name == NAME else f"no _{row_pixel_size}" if row_pixel_size else ""
        return instead, [], (), (), lacking
    usable = usable_pixel_sizes(values)
    if not usable.any():
        raw = float(values[0])
        used = None if caller is None else given_is_used(caller)
        note = unusable_note("the metadata's pixel size", f"{raw:g}", header, used)
        return instead, [note], (), (), f"its {field} is {raw:g}"
    if not usable.all():
        raise _refuse_some_without(blocks, table, groups, values, usable, caller, rows, path, field)
    sizes = _distinct(values)
    in_rows = field == f"_{row_pixel_size}"  # a row's own pixel size, not an optics group's
    if len(sizes) > 1 and max(sizes) > (1 + SAME_PIXEL_SIZE) * min(sizes):
        named = _rows_holding(values, sizes) if in_rows else _optics_groups_of(blocks, groups, sizes)
        note = f"the particles' {differing_pixel_sizes(sizes, named, field if in_rows else '')}{SEVERAL_SIZES_MEAN}"
        return 0.0, [note], sizes, named, None
    said = f"the metadata ({field})" if in_rows else "the metadata"
    return sizes[0], header_disagreement(header, sizes[0], said), (), (), None


def _rows_holding(values: np.ndarray, sizes: tuple[float, ...]) -> tuple[str, ...]:
    """For each of ``sizes``, how many of the rows' ``values`` hold it, in words (``4 rows``), as a cryoSPARC set's
    rows of several pixel sizes are told.

    Examples
    --------
    >>> _rows_holding(np.array([2.0, 2.0, 3.0]), (2.0, 3.0))
    ('2 rows', '1 row')
    """
    counts = [int(np.count_nonzero(values == size)) for size in sizes]
    return tuple(f"{count} row{'s' * (count != 1)}" for count in counts)


def _refuse_some_without(
    blocks: Blocks,
    table: Loop,
    groups: ParticleGroups | None,
    values: np.ndarray,
    usable: np.ndarray,
    caller: ReadOptions | None,
    rows: RowNames,
    path: Path,
    field: str,
) -> UserError:
    """The refusal of particles of which some have a pixel size (``values`` where ``usable``) and others none: their
    optics groups (or RELION 3.0 rows) named, and the fix.

    RELION 3.1.3 reads a group's ``nan`` as 0 Å/px and goes on (``relion_reconstruct``: "Taking
    angpix from the first optics group: 0"); a pixel size the caller gives (``caller``) is for a set that gives
    none: taken for some groups only, it would make a set of several pixel sizes that the user
    never wrote. ``field`` is the metadata's field of pixel sizes (`_metadata_pixel_field`).
    """
    alone = f" ({given_as(caller)} is for a set that gives none)" if caller is not None else ""
    optics = blocks.get("optics")
    if isinstance(optics, Loop) and field == "rlnImagePixelSize":
        used = used_optics_rows(optics, groups)
        without = sorted(row for row, ok in zip(used, usable) if not ok)
        having = sorted(row for row, ok in zip(used, usable) if ok)
        one = len(without) == 1
        nan = " (RELION reads nan as 0 Å/px)" if np.isnan(values[~usable]).any() else ""
        return UserError(
            f"{_optics_rows_named(optics, without)} give{'s' * one} {_values_said(values[~usable])}, not "
            f"{'a pixel size' if one else 'pixel sizes'}{nan}, where {_optics_rows_named(optics, having)} "
            f"give{'s' * (len(having) == 1)} {sizes_said(_distinct(values[usable]))}; set {'its' if one else 'their'} "
            f"rlnImagePixelSize in data_optics{alone}",
            source=str(path),
            field=field,
        )
    bad = np.flatnonzero(~usable)
    shown = [str(rows.number(row)) for row in bad[:GROUPS_NAMED]]
    more = f" and {len(bad) - len(shown)} more" if len(bad) > len(shown) else ""
    one, other = len(bad) == 1, int(np.argmax(usable))
    named = rows.named(int(bad[0])) if one else f"{rows.word} {', '.join(shown)}{more}"
    return UserError(
        f"{named} give{'s' * one} "
        f"{_values_said(values[~usable])} Å, not {'a pixel size' if one else 'pixel sizes'}, where "
        f"{rows.named(other)} gives {values[other]:g} Å; fix {'its' if one else 'their'} "
        f"{' and '.join(RELION_30_PIXEL_SIZE) if field.startswith('rln') else field}{alone}",
        source=str(path),
        field=field,
    )


def _optics_rows_named(optics: Loop, rows: list[int]) -> str:
    """Rows of ``optics`` as messages name them: by their optics groups (`groups_named`), else as its rows."""
    if GROUP in optics.columns:
        return groups_named([group_name(optics, row) for row in rows])
    return f"data_optics row{'s' * (len(rows) > 1)} {first_named([row + 1 for row in rows], GROUPS_NAMED)}"


def _values_said(values: np.ndarray) -> str:
    """Values that are not pixel sizes, in words: ``nan``, ``nan and 0`` (`GROUPS_NAMED` named, the others counted)."""
    said = [f"{value:g}" for value in _distinct(values)]
    return " and ".join(said) if len(said) < 3 else first_named(said, GROUPS_NAMED)


def _lacking(blocks: Blocks, table: Loop) -> str:
    """The columns a set without a pixel size lacks, in words: ``no rlnImagePixelSize in data_optics`` (RELION 3.1+),
    ``no rlnDetectorPixelSize and rlnMagnification`` (3.0: the rows')."""
    if isinstance(blocks.get("optics"), Loop):
        return "no rlnImagePixelSize in data_optics"
    return "no " + " and ".join(c for c in RELION_30_PIXEL_SIZE if c not in table.columns)


def _metadata_pixel_sizes(
    blocks: Blocks, table: Loop, groups: ParticleGroups | None, row_pixel_size: str = ""
) -> np.ndarray | None:
    """The particles' pixel sizes as the metadata gives them, NaN where a value is not a number: the optics block's
    ``rlnImagePixelSize`` of the groups the particles use (`of_used_groups`: the first particle's first), else
    RELION 3.0's ``rlnDetectorPixelSize`` / ``rlnMagnification`` of each row, else each row's ``row_pixel_size``
    (Xmipp's ``samplingRate``); None when the metadata has none."""
    optics = blocks.get("optics")
    if isinstance(optics, Loop) and "rlnImagePixelSize" in optics.columns:
        return of_used_groups(optics, groups, "rlnImagePixelSize")[1]
    if set(RELION_30_PIXEL_SIZE) <= set(table.columns):
        detector, magnification = table.numbers_of(RELION_30_PIXEL_SIZE)
        with np.errstate(divide="ignore", invalid="ignore"):
            sizes: np.ndarray = detector / magnification * 1e4
        return sizes
    if row_pixel_size and row_pixel_size in table.columns:
        return table.numbers(row_pixel_size)
    return None


def _optics_groups_of(blocks: Blocks, groups: ParticleGroups | None, sizes: tuple[float, ...]) -> tuple[str, ...]:
    """For each of ``sizes`` (the particles' distinct pixel sizes), the optics groups the particles use of that size,
    in words (``optics group 2 'og2'``: `groups_named`); () without optics groups (RELION 3.0's rows)."""
    optics = blocks.get("optics")
    if not (isinstance(optics, Loop) and {"rlnImagePixelSize", GROUP} <= set(optics.columns)):
        return ()
    used, values = of_used_groups(optics, groups, "rlnImagePixelSize")
    return tuple(
        groups_named([group_name(optics, row) for row in sorted(r for r, v in zip(used, values) if v == size)])
        for size in sizes
    )


def _distinct(sizes: np.ndarray) -> tuple[float, ...]:
    """The distinct values of ``sizes``, the first one first (NaN counts as a value: `usable_pixel_size` says no)."""
    if not len(sizes):  # an optics block without rows
        return ()
    first = float(sizes[0])
    rest = np.unique(sizes[1:])
    return (first, *(float(s) for s in rest if not (s == first or (np.isnan(s) and np.isnan(first)))))


def read_maps(
    listing: Path, project_dir: Path | None, names: SettingNames, job_folder: Path | None = None
) -> VolumeSet:
    """The maps a STAR listing names (see `read_listing`)."""
    return read_listing(listing, project_dir, names, job_folder, NAME)


def read_listing(
    listing: Path, project_dir: Path | None, names: SettingNames, job_folder: Path | None, name: str
) -> VolumeSet:
    """The maps a STAR/XMD listing (format ``name``) names in its first map column, each looked up as a particle
    set's stacks are (`read_table_set`): beside the listing, in its parent folders, beside the job file
    (``job_folder``), in ``project_dir`` and in the working folder. RELION and Xmipp name them from the project
    folder they run in (``Runs/000004_X/extra/v1.mrc``), or from the listing's folder.

    Raises
    ------
    UserError
        When the listing has no map column, or a map is not found (naming the row, the folders searched and
        the caller's project folder setting, ``names.project_dir``), is not a readable image, or shares its
        stem with another.
    """
    blocks, comments = read_metadata(listing)
    found = _blocks_with(blocks, MAP_COLUMNS)
    if not found:
        raise UserError(
            f"no map column ({', '.join('_' + c for c in MAP_COLUMNS)}); list the maps in one of those",
            source=str(listing),
        )
    block_name, column = found[0]
    blocks, dropped, numbers = _listing_rows(blocks, block_name)
    table = blocks[block_name]
    assert isinstance(table, Loop)
    if dropped and not len(table):
        raise UserError(no_enabled_rows(block_name, dropped, "maps"), source=str(listing))
    rows = RowNames(numbers=numbers)
    places = [rows.named(row) for row in range(len(table))] if numbers is not None else None
    refuse_listed_images(table.column(column), listing, column, names, places)
    paths, map_of_row, _, base = resolve_references(
        np.array(table.column_bytes(column), dtype=bytes),
        listing,
        column,
        _searched_folders(listing, job_folder, project_dir),
        PROJECT_OF[name],
        setting_names=names,
        rows=rows,
        item="map",
        project_dir=project_dir,
    )
    infos = [inspect_image(paths[code]) for code in map_of_row]
    check_unique_stems(infos, column)
    return VolumeSet(
        infos,
        True,
        listing,
        blocks,
        comments,
        block_name,
        column,
        references_base=base,
        row_numbers=None if numbers is None else numbers.tolist(),
        notes=disabled_rows_note(dropped),
    )


def _listing_rows(blocks: Blocks, block_name: str) -> tuple[Blocks, int, np.ndarray | None]:
    """A listing's blocks with its map block's disabled rows dropped (Xmipp reads only the enabled maps; the
    listing written back lists the maps masked, as a particle set's does), how many, and each kept row's number in
    the file (None when none was dropped)."""
    table = blocks[block_name]
    assert isinstance(table, Loop)  # _blocks_with finds loop blocks only
    kept, dropped, numbers = _enabled_rows(table)
    return ({**blocks, block_name: kept} if dropped else blocks), dropped, numbers


def reread_listing(volumes: VolumeSet) -> VolumeSet:
    """A listing read back from a saved plan (its maps, found then, and ``references_base`` kept), with its
    metadata read again to be written back: the maps are not looked for again (the gather runs elsewhere).

    Raises
    ------
    UserError
        When the listing no longer lists the maps the plan was made from.
    """
    assert volumes.listing is not None
    blocks, comments = read_metadata(volumes.listing)
    found = _blocks_with(blocks, MAP_COLUMNS)
    if found:
        blocks, _, numbers = _listing_rows(blocks, found[0][0])
    table = blocks[found[0][0]] if found else None
    if not found or not isinstance(table, Loop) or len(table) != len(volumes.maps):
        raise UserError("changed since the job was planned; run the job again", source=str(volumes.listing))
    block_name, column = found[0]
    return dataclasses.replace(
        volumes,
        blocks=blocks,
        comments=comments,
        block_name=block_name,
        column=column,
        has_metadata=True,
        row_numbers=None if numbers is None else numbers.tolist(),
    )


def write_maps(volumes: VolumeSet, masked: list[str], output_dir: Path, project_dir: Path | None) -> list[Path]:
    """``volumes.star``: the listing with its map column naming the masked maps."""
    return [write_listing(volumes, masked, output_dir / MAP_OUTPUT)]


def write_listing(volumes: VolumeSet, masked: list[str], target: Path) -> Path:
    """Write a STAR/XMD listing's blocks to ``target`` with the masked maps (``masked``, relative to ``target``'s
    folder) in its map column, named as `write_table` names a particle set's masked stacks.

    That is from the folder the input's map paths were relative to (``references_base``: the
    RELION or Xmipp project folder, or the listing's own folder) when ``target`` lies inside
    it (``MaskJobs/results/x/volumes/v1.mrc``), else by their absolute paths, and then so is
    every other value that named a file from that folder (a mask, a reference, a half-map:
    `_named_from_anywhere`), or it would point nowhere from where the output is read.
    """
    assert volumes.blocks is not None and volumes.block_name is not None and volumes.column  # read by read_maps
    blocks: Blocks = volumes.blocks
    folder = Path(os.path.abspath(target.parent))
    base = volumes.references_base
    names = masked if base is None else [named_from(folder / name, base) for name in masked]
    table = volumes.blocks[volumes.block_name]
    assert isinstance(table, Loop)
    replace = {volumes.block_name: {volumes.column: formats_as_given(names, table.column(volumes.column), MAP_FORMAT)}}
    if base is not None and not folder.is_relative_to(base):
        blocks, replace = _named_from_anywhere(blocks, replace, base)
    return write_metadata(blocks, target, volumes.comments, replace)
