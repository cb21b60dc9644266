"""Mask one MRC map or stack into a new file: the code path of ``maskrun mask`` and of each map of a job.

Everything a user can get wrong is checked before the first byte is written: the input
header, the shape for the data's dimensionality, resolved defaults, the created mask,
the output path. Then the file streams through in blocks (`maskrun.engine.stream`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from maskrun.config.fill import FillParams, beyond_range
from maskrun.config.job_file import OutputDtype
from maskrun.config.mask_spec import Compat, MaskSpec
from maskrun.engine.apply import fill_left_out_notes, fill_to_apply
from maskrun.engine.created_mask import VoxelSizeMismatch, load_created_mask, map_mask
from maskrun.engine.expression_mask import expression_mask
from maskrun.engine.stream import Masking, whole_volume_fill, write_masked
from maskrun.errors import (
    FieldError,
    MaskrunWarning,
    SettingError,
    Spelling,
    UserError,
    held_warnings,
    keyword_setting,
)
from maskrun.geometry.masks import Mask, build_mask
from maskrun.io.atomic import remove_stale_parts
from maskrun.io.header_stats import NOTED_ROWS, RunningStats
from maskrun.io.image_info import ImageInfo, Kind, MappedRows
from maskrun.io.images import inspect_image
from maskrun.io.mrc_writer import MrcStreamWriter, check_mrc_name, warn_of_a_stack_named_mrc, written_dtype
from maskrun.io.output_space import (
    check_not_an_input,
    check_output_location,
    refuse_folder,
    refuse_taken,
)
from maskrun.io.pixel_size import PLACEHOLDER_ANGSTROM, given_over_header

InputKind = Literal["auto", "stack", "volume"]
ZERO_FILL = FillParams()


def job_file_key(name: str) -> str:
    """How a mask parameter is written in a job file (``map.threshold`` is a key of ``mask.map``)."""
    ours = name in ("file", "expression") or name.startswith(("map.", "expression."))
    return f"mask.{name}" if ours else f"mask.geometry.{name}"


@dataclass
class MaskResult:
    """What a masking run did, for summaries and provenance."""

    input: Path
    output: Path
    kind: Kind
    shape_zyx: tuple[int, int, int]  # as stored
    box_xyz: tuple[int, int, int]  # along x, y, z, whatever order the axes are stored in
    resolved_geometry: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)
    nonfinite_pixels: int = 0
    dtype: str = "float32"  # of the output: float16 for float16 input (unless asked for float32)


def decide_kind(
    info: ImageInfo, requested: InputKind = "auto", setting: Spelling = keyword_setting
) -> tuple[Kind, list[str]]:
    """Whether a file holds a stack of 2D images or one volume, and why.

    A SPIDER file is what its header says (ISTACK, `ImageInfo.declared_kind`), whatever its
    name. An MRC file's ispg is written either way, so: ``.mrcs`` files, single-slice files
    and files whose header marks a stack (ispg 0 and mz 1, see `ImageInfo.marks_a_stack`) are
    stacks, other files volumes: RELION writes 3D maps with ispg 0 (and mz = nz), and stacks
    saved as ``.mrc`` with ispg 1 exist. ``requested`` overrides the header or the guess;
    ``setting`` spells how the caller asks for the other kind (``input_kind='stack'``,
    ``--input-kind stack``) in the notes.
    """
    nz, ny, nx = info.shape_zyx
    if requested != "auto":
        return requested, []
    as_stack = setting("input_kind", "stack")
    if info.declared_kind is not None:
        if info.declared_kind == "volume" and nz != nx:
            box = " x ".join(map(str, info.box_xyz))
            return "volume", [
                f"read as a {box} volume, as its SPIDER header says (ISTACK 0, NZ {nz}); pass {as_stack} if it is a "
                "stack of particle images"
            ]
        return info.declared_kind, []
    by_name = info.says_a_stack or nz == 1
    kind: Kind = "stack" if by_name or info.marks_a_stack else "volume"
    notes = []
    if kind == "stack" and not by_name:
        notes.append(
            f"read as a stack of {nz} images of {nx} x {ny}: its header marks one (ispg 0, mz 1), as cryoSPARC "
            f"writes its particles; pass {setting('input_kind', 'volume')} if it is a map"
        )
    elif kind == "volume" and info.ispg == 0:
        notes.append(
            "ispg 0 declares an image stack, but a .mrc/.map file is read as a volume "
            f"(RELION writes maps so, with mz = nz); pass {as_stack} if it is a particle stack"
        )
    elif kind == "volume" and nz != nx:
        box = " x ".join(map(str, info.box_xyz))
        notes.append(f"read as a {box} volume; pass {as_stack} if it is a stack of particle images")
    return kind, notes


def two_d_shape_on_a_volume(shape: str, instead: str, info: ImageInfo, as_stack: str) -> str:
    """Why a 2D shape does not mask the volume ``info``: ``as_stack`` is the caller's way to read it as a stack."""
    box = " x ".join(map(str, info.box_xyz))
    return (
        f"'{shape}' is a 2D shape, but this {info.path.suffix} file is read as one {box} volume: {as_stack} if it "
        f"is a stack of particle images, or use '{instead}' for a map"
    )


def image_shape(info: ImageInfo, kind: Kind) -> tuple[int, ...]:
    """Shape of what one mask covers: one image of a stack, or the whole volume."""
    return info.shape_zyx[1:] if kind == "stack" else info.shape_zyx


def prepare_mask(
    spec: MaskSpec,
    shape_zyx: tuple[int, ...],
    voxel_size_xyz: tuple[float, float, float],
    compat: Compat,
    label: Callable[[str], str] = job_file_key,
    grid: ImageInfo | None = None,
) -> tuple[Mask, dict[str, Any] | None]:
    """Resolve defaults for this box and build (or load) the mask.

    ``label`` turns a parameter name into what the user wrote (a job-file key path or a
    command-line option), for error messages. ``grid`` is the header of the map the mask is
    for, which places an expression's atomic models (None for particle images).

    Raises
    ------
    UserError
        On a shape of the wrong dimensionality, a centre of the wrong length, defaults
        that resolve into an invalid shape, or a created mask that does not fit.
    """
    if spec.file is not None:
        return load_created_mask(spec.file, shape_zyx, voxel_size_xyz, field=label("file")), None
    if spec.map is not None:
        return map_mask(spec.map, shape_zyx, voxel_size_xyz, label), None
    if spec.expression is not None:
        return expression_mask(spec.expression, tuple(shape_zyx), voxel_size_xyz, compat, label, grid), None
    if spec.geometry is None:  # MaskSpec's own validation makes this impossible
        raise ValueError("a mask needs a geometry or a file")
    try:
        resolved = spec.geometry.resolve(n_x=shape_zyx[-1], ndim=len(shape_zyx), pixel_size_angstrom=voxel_size_xyz[0])
    except FieldError as exc:  # for a map of a set, name the map: one of many may lack what the job needs
        raise UserError(exc.message, source=None if grid is None else str(grid.path), field=label(exc.field)) from None
    return build_mask(resolved, shape_zyx, compat), resolved.model_dump(mode="json")


def check_output_path(inputs: list[Path | None], output_path: Path, overwrite: bool, kind: Kind) -> None:
    """Refuse to write over an input (the data, a mask file or map), or over an existing file unless asked
    to, or under a name that does not say MRC."""
    check_not_an_input(output_path, inputs)
    check_mrc_name(output_path, kind)
    refuse_taken(output_path, overwrite)
    refuse_folder(output_path)


def mask_mrc_file(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    mask: MaskSpec,
    fill: FillParams = ZERO_FILL,
    compat: Compat = "maskrun",
    input_kind: InputKind = "auto",
    overwrite: bool = False,
    image_index: int = 0,
    progress: Callable[[float], None] | None = None,
    label: Callable[[str], str] = job_file_key,
    setting: Spelling = keyword_setting,
    workers: int | None = None,
    check_space: bool = True,
    pixel_size: float | None = None,
    doubt_header_pixel_size: bool = True,
    output_dtype: OutputDtype = "same",
) -> MaskResult:
    """Mask a map or a particle stack into a new float32 MRC file (float16 for float16 input).

    Parameters
    ----------
    input_path, output_path
        Input MRC and the file to create (written atomically).
    mask
        The shape, or the created mask file.
    fill
        What replaces the masked-out part; statistics are per image (per volume).
    compat
        ``"xmipp"`` reproduces Xmipp: normalised gaussian, fill ignored by soft masks.
    input_kind
        ``"auto"`` decides from the extension and the header's stack mark (see `decide_kind`).
    overwrite
        Replace an existing output file.
    image_index
        The map's position in its set (seeds noise).
    progress
        Called with the fraction done as the file streams (see `write_masked`).
    label
        Maps a parameter name to how the user wrote it, for messages.
    setting
        Spells a setting of this function's (``input_kind='stack'``) as the caller takes it,
        for notes; refusals are `maskrun.errors.SettingError`, which the caller rephrases.
    workers
        How many processes mask (default: `maskrun.engine.stream.WORKERS`).
    check_space
        Refuse a folder without room for the output (plus a margin) before any work. A job's
        run checked the room for its whole output before it started; a unit checking again,
        after others wrote, would call a full disk a mistake in the request.
    pixel_size
        The data's true pixel size (Å), instead of the header's: lengths in Å are converted at
        it, and the output header carries it. None: the header's.
    doubt_header_pixel_size
        Without ``pixel_size``, warn when lengths in Å are converted at the header's 1 Å/px
        (the value RELION writes in particle stacks whatever the pixel size), and refuse them
        when the header has none, naming ``label("pixel_size")`` as the fix; a mask file (or
        mask map) of another voxel size over a header's 1 Å/px is refused proposing
        ``pixel_size`` at the mask's (`maskrun.errors.SettingError`). False when the caller
        has no way to give the pixel size (a job's maps).
    output_dtype
        ``"same"``: float16 input (MRC mode 12) is written as float16, masked in float32 and
        rounded to nearest; any other mode as float32. ``"float32"``: float32 whatever the input.

    Returns
    -------
    MaskResult

    Raises
    ------
    UserError
        For every mistake in the request or the inputs; nothing is written then.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    with held_warnings():  # until every check passed: a refused request prints its one error line only
        info = inspect_image(input_path)
        kind, kind_notes = decide_kind(info, input_kind, setting)
        geometry = mask.geometry
        pixel_notes: list[str] = []
        if pixel_size is not None:
            pixel_notes = _given_pixel_size_notes(info, pixel_size, label)
            info = info.with_voxel_size(pixel_size)
        elif doubt_header_pixel_size and (first_length := _first_length_in_angstrom(mask)) is not None:
            _doubt_header_pixel_size(info, first_length, label, kind == "stack")
        if input_kind == "auto" and kind == "volume" and geometry is not None and 3 not in geometry.dims:
            raise SettingError(
                two_d_shape_on_a_volume(geometry.shape, geometry.instead, info, "pass {setting}"),
                setting="input_kind",
                value="stack",
                source=str(info.path),
            )
        if kind == "volume" and output_path.suffix.lower() == ".mrcs":
            _refuse_a_volume_named_mrcs(info, output_path, input_kind)
        shape = image_shape(info, kind)
        try:
            built, resolved = prepare_mask(
                mask, shape, info.voxel_size_xyz, compat, label, grid=info if kind == "volume" else None
            )
        except VoxelSizeMismatch as exc:  # the images' 1 Å/px may be their header's placeholder, the mask's theirs
            placeholder = info.voxel_size_xyz[0] == PLACEHOLDER_ANGSTROM
            if pixel_size is None and doubt_header_pixel_size and placeholder:
                raise exc.over_placeholder() from None
            raise
        dtype = written_dtype([info.dtype], keep_float16=output_dtype == "same")
        check_fill_stored(fill, dtype, str(info.path))
        check_output_path([input_path, *mask.input_files], output_path, overwrite, kind)
        remove_stale_parts(output_path)  # a killed maskrun mask's: before the space check, which they would fail
        if kind == "stack":
            warn_of_a_stack_named_mrc(output_path, info.shape_zyx[0])
        if check_space:
            check_output_location(output_path.parent, 1024 + int(np.prod(info.shape_zyx)) * dtype.itemsize)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    volume_fill = None
    if kind == "volume":  # a first pass over the volume only when its statistics are used
        volume_fill = np.zeros(1) if fill_to_apply(built, fill, compat) is None else _volume_fill(info, fill, built)
    with (
        MrcStreamWriter(
            output_path,
            info.shape_zyx,
            kind,
            info.voxel_size_xyz,
            info.origin_xyz,
            info.nstart_xyz,
            info.labels,
            info.axis_map,
            info.cell_angstrom,
            info.sampling_xyz,
            dtype=dtype,
        ) as writer,
        MappedRows(info) as rows,
    ):
        masking = Masking.of(built, fill, compat, volume_fill, first_index=image_index)
        write_masked(writer, [(rows, 0, info.shape_zyx[0])], masking, workers, progress)
    notes = list(info.notes) + pixel_notes + kind_notes + nonfinite_notes(writer.statistics, kind)
    notes += fill_left_out_notes(built, fill, compat, setting)
    box, nonfinite = info.box_xyz, nonfinite_count(writer)
    return MaskResult(input_path, output_path, kind, info.shape_zyx, box, resolved, notes, nonfinite, dtype.name)


def check_fill_stored(fill: FillParams, dtype: np.dtype, source: str | None = None) -> None:
    """Refuse a fill value that a float16 output cannot hold: beyond ±65504 it would be stored as inf (one beyond
    float32's range is refused with the fill's settings, `FillParams`; both by `beyond_range`).

    Raises
    ------
    SettingError
        Naming the value, float16's range and ``output_dtype='float32'``, which keeps it.
    """
    beyond = None if fill.with_ != "value" else beyond_range(fill.value, dtype)
    if beyond is None:
        return
    raise SettingError(
        f"the fill value {fill.value:g} {beyond}, in which float16 images are written: give a value within it, "
        "or keep the output float32 ({setting})",
        setting="output_dtype",
        value="float32",
        source=source,
    )


def _given_pixel_size_notes(info: ImageInfo, pixel_size: float, label: Callable[[str], str]) -> list[str]:
    """Warn of a given pixel size that replaces a header's more than 1 % off; a note for a header's 1 Å/px."""
    differs = given_over_header(info.voxel_size_xyz[0], pixel_size, label("pixel_size"))
    if differs is None:
        return []
    text, warn = differs
    if not warn:
        return [text]
    warnings.warn(f"{info.path}: {text}", MaskrunWarning, stacklevel=3)
    return []


def _first_length_in_angstrom(mask: MaskSpec) -> str | None:
    """The first length given in Å: the shape's field (``radius``), or an expression term's key
    (``expression.all_of.0.geometry.radius``); None when there is none."""
    return mask.geometry.first_length_in_angstrom if mask.geometry is not None else mask.first_length_in_angstrom


def _doubt_header_pixel_size(info: ImageInfo, first_length: str, label: Callable[[str], str], stack: bool) -> None:
    """Refuse lengths in Å at a header without a voxel size, or at a stack header's 1 Å/px
    (`refuse_angstrom_at_the_header`); warn of them at a map header's 1 Å/px."""
    refuse_angstrom_at_the_header(info, first_length, label, stack)
    if info.voxel_size_xyz[0] == 1.0:
        warnings.warn(
            f"{info.path}: lengths in Å were converted at its header's 1 Å/px, the value many programs write when "
            f"they do not know it (RELION in particle stacks); if that is not the pixel size, pass "
            f"{label('pixel_size')} (Å per pixel) or give the lengths in pixels",
            MaskrunWarning,
            stacklevel=3,
        )


def refuse_angstrom_at_the_header(info: ImageInfo, first_length: str, label: Callable[[str], str], stack: bool) -> None:
    """Refuse a length in Å where the header is the only pixel size and cannot be trusted for it.

    Shared by `mask_mrc_file` and ``maskrun make-mask --like``, in the same words.

    Parameters
    ----------
    info
        The file's header, with no pixel size given instead of its own.
    first_length
        The first length given in Å, by its parameter name (``radius``).
    label
        Maps a parameter name to how the user wrote it (``pixel_size`` → ``--pixel-size``).
    stack
        Whether the file is read as a stack of images, whose header's 1 Å/px is RELION's
        placeholder in particle stacks (a job refuses lengths in Å on it alike); a map's 1 Å/px
        is not refused.

    Raises
    ------
    UserError
        When the header gives no voxel size, or a stack's gives 1 Å/px: on ``label(first_length)``,
        proposing ``label("pixel_size")``.
    """
    voxel = info.voxel_size_xyz[0]
    if voxel <= 0:
        raise UserError(
            f"is given in Å, but the pixel size is unknown (0 in the header of {info.path}): pass "
            f"{label('pixel_size')} (Å per pixel), or give it in pixels",
            field=label(first_length),
        )
    if voxel == 1.0 and stack:
        raise UserError(
            f"is given in Å, but the only pixel size of {info.path} is its header's 1 Å/px, the placeholder RELION "
            f"writes in particle stacks: pass {label('pixel_size')} (Å per pixel), or give it in pixels",
            field=label(first_length),
        )


def _refuse_a_volume_named_mrcs(info: ImageInfo, output_path: Path, input_kind: InputKind) -> None:
    """A volume written under a ``.mrcs`` name is read by RELION as a stack: refuse it when the input was
    taken as a volume by guess (the name says the user expects a stack), warn when asked for."""
    volume = f"{' x '.join(map(str, info.shape_zyx[::-1]))} volume"
    if input_kind == "auto":
        raise SettingError(
            f"is read as one {volume}, but the output {output_path.name} is named as a stack: pass {{setting}} if "
            f"it is a stack of particle images, or name the output {output_path.with_suffix('.mrc').name}",
            setting="input_kind",
            value="stack",
            source=str(info.path),
        )
    warnings.warn(
        f"{output_path}: a {volume} named .mrcs is read by RELION as a stack of {info.shape_zyx[0]} images; "
        f"name it {output_path.with_suffix('.mrc').name} for a map",
        MaskrunWarning,
        stacklevel=3,
    )


def nonfinite_count(writer: MrcStreamWriter) -> int:
    """How many NaN or ±inf values the input held: those the output keeps, and those the fill replaced."""
    stats = writer.statistics
    return stats.nonfinite + stats.replaced_nonfinite if stats is not None else 0


def nonfinite_notes(stats: RunningStats | None, kind: Kind) -> list[str]:
    """A note on the non-finite pixels of the input, if any: kept, or replaced by the fill."""
    if stats is None or not (stats.nonfinite or stats.replaced_nonfinite):
        return []
    where = "images" if kind == "stack" else "z-slices"
    first = ", ".join(str(row + 1) for row in stats.nonfinite_rows)
    return [
        f"{stats.nonfinite + stats.replaced_nonfinite} NaN or inf pixels in the input (in {where} {first}"
        f"{', …' if len(stats.nonfinite_rows) >= NOTED_ROWS else ''}): {stats.nonfinite} kept where the mask "
        f"keeps the input, {stats.replaced_nonfinite} given the fill; fills and header statistics use the "
        "finite pixels only"
    ]


def _volume_fill(info: ImageInfo, fill: FillParams, mask: Mask) -> np.ndarray:
    """The fill value of a whole volume file (see `whole_volume_fill`)."""
    with MappedRows(info) as rows:
        return whole_volume_fill(rows.rows, info.shape_zyx[0], info.shape_zyx[1:], fill, rows.release, mask)
