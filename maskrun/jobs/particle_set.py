"""Particle sets: RELION STAR (3.0, 3.1+), Xmipp .xmd, or a bare .mrcs stack (docs/spec.md, "Inputs").

Every ``N@stack`` reference is resolved and checked against its stack's header once, when
the set is loaded: a mistake shows up before any work starts, naming the row and the fix.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from maskrun.config.optics import Optics
from maskrun.errors import UserError
from maskrun.io.image_info import ImageInfo
from maskrun.io.images import inspect_image
from maskrun.io.pixel_size import unusable_note, usable_pixel_size
from maskrun.io.star import Blocks, Loop, read_metadata
from maskrun.jobs.cryosparc_set import (
    cs_pixel_size,
    join_passthrough,
    read_cs,
    search_folders,
    stack_references,
    star_tables,
)
from maskrun.jobs.scipion_set import read_set

IMAGE_COLUMNS = ("rlnImageName", "image")
ANCESTORS_SEARCHED = 3  # RELION paths are relative to the project folder, e.g. two levels above Extract/job012/


@dataclass
class ParticleSet:
    """The particles to mask, in metadata order, with where each image lives.

    ``rows`` holds the kept rows (Xmipp rows with ``_enabled`` ≤ 0 are dropped) with every
    value as the text it was; row ``i`` is image ``image_index[i]`` (0-based) of
    ``stack_paths[stack_of_row[i]]``.
    """

    source: Path
    format: Literal["star", "xmd", "mrcs", "cs", "sqlite"]
    blocks: Blocks
    comments: list[str]
    block_name: str
    image_column: str
    rows: Loop
    stack_paths: list[Path]
    stack_of_row: np.ndarray
    image_index: np.ndarray
    stacks: dict[Path, ImageInfo]
    box_yx: tuple[int, int]
    pixel_size_angstrom: float
    dropped_rows: int = 0
    notes: list[str] = field(default_factory=list)
    cs_records: np.ndarray | None = None  # a cryoSPARC set's own table, written back with new blob fields
    set_ids: list[int] | None = None  # a Scipion set's item ids, in row order
    has_metadata: bool = True  # False for a set read back from a saved plan: images' places only

    def __len__(self) -> int:
        return len(self.stack_of_row)


def load_particle_set(
    path: str | os.PathLike,
    job_folder: Path | None = None,
    image_column: str | None = None,
    *,
    project_dir: Path | None = None,
    passthrough: Path | None = None,
    optics: Optics | None = None,
) -> ParticleSet:
    """Read a particle set and check every image reference.

    Parameters
    ----------
    path
        ``.star``, ``.xmd`` or ``.mrcs``.
    job_folder
        Folder of the job file: searched for stacks after the metadata's own folder and
        its parents, before the working directory.
    image_column
        The column of the images to mask (``_imageRef``, say; Xmipp programs write several);
        default ``rlnImageName`` or ``image``. The output rewrites that column only.
    project_dir
        Where relative stack paths start, searched first (cryoSPARC's project folder, or the
        folder an Xmipp program ran in).
    passthrough
        A cryoSPARC passthrough ``.cs``, joined on ``uid``.
    optics
        Voltage, Cs and amplitude contrast for the RELION STAR written beside a ``.cs``
        output, where the ``.cs`` lacks them (``inputs.optics``).

    Raises
    ------
    UserError
        On a missing file, no image column, an unresolvable stack, an index past a
        stack's end, or stacks of different box sizes.
    """
    path = Path(os.path.abspath(path))
    suffix = path.suffix.lower()
    if suffix == ".mrcs":
        return _bare_stack(path)
    if suffix == ".cs":
        return _cryosparc_set(path, job_folder, project_dir, passthrough, optics)
    if suffix == ".sqlite":
        return _scipion_set(path, project_dir)
    if suffix not in (".star", ".xmd"):
        raise UserError(
            f"particles must be a .star, .xmd, .cs, .sqlite or .mrcs file, not '{suffix or path.name}'",
            source=str(path),
        )
    blocks, comments, block_name, column, table, dropped = _star_rows(path, image_column)
    if not len(table):
        raise UserError(f"block data_{block_name} lists no (enabled) particles", source=str(path))
    bases = [path.parent, *list(path.parent.parents)[:ANCESTORS_SEARCHED], job_folder, project_dir, Path.cwd()]
    references = np.array(table.column_bytes(column), dtype=bytes)
    stack_paths, stack_of_row, image_index = _resolve_references(
        references, path, column, [b for b in bases if b is not None]
    )
    stacks = {p: inspect_image(p) for p in stack_paths}
    _check_ranges(stacks, stack_paths, stack_of_row, image_index, references, path, column)
    box = _common_box(stacks, path)
    pixel, notes = _pixel_size(blocks, block_name, stacks, stack_paths)
    if dropped:
        notes.append(f"{dropped} disabled rows (_enabled <= 0) dropped, as Xmipp does")
    return ParticleSet(
        path,
        "xmd" if suffix == ".xmd" else "star",
        blocks,
        comments,
        block_name,
        column,
        table,
        stack_paths,
        stack_of_row,
        image_index,
        stacks,
        box,
        pixel,
        dropped,
        notes,
    )


def _star_rows(path: Path, image_column: str | None) -> tuple[Blocks, list[str], str, str, Loop, int]:
    """A STAR/XMD set's blocks and comments, its particle block and image column, the kept rows, the dropped count."""
    blocks, comments = read_metadata(path)
    block_name, column = _image_block(blocks, path, image_column)
    table = blocks[block_name]
    assert isinstance(table, Loop)  # _image_block picks loop blocks only
    dropped = 0
    if "enabled" in table.columns:
        enabled = np.nan_to_num(table.numbers("enabled"), nan=1.0) > 0
        dropped = int((~enabled).sum())
        if dropped:
            table = table.take(enabled)
    return blocks, comments, block_name, column, table, dropped


def with_star_metadata(particles: ParticleSet) -> ParticleSet | None:
    """A STAR/XMD set read back from a saved plan, with its metadata read again (and not its images:
    the plan has them); None for other formats, which are read whole.

    Raises
    ------
    UserError
        When the metadata no longer has the rows the plan was made from.
    """
    if particles.format not in ("star", "xmd"):
        return None
    blocks, comments, block_name, _column, table, dropped = _star_rows(particles.source, particles.image_column)
    if len(table) != len(particles) or block_name != particles.block_name:
        raise UserError("changed since the job was planned; run the job again", source=str(particles.source))
    return dataclasses.replace(
        particles, blocks=blocks, comments=comments, rows=table, dropped_rows=dropped, has_metadata=True
    )


def _cryosparc_set(
    path: Path, job_folder: Path | None, project_dir: Path | None, passthrough: Path | None, optics: Optics | None
) -> ParticleSet:
    own = records = read_cs(path)
    if passthrough is not None:  # for the STAR (micrographs); the .cs written back keeps its own fields
        records = join_passthrough(records, read_cs(passthrough, need_blob=False), passthrough)
    texts, bases = stack_references(records, path, search_folders(path, job_folder, project_dir))
    files = [Path(os.path.abspath(base / text.lstrip(">"))) for text, base in zip(texts, bases)]
    image_index = records["blob/idx"].astype(np.int64)
    names = [f"{i + 1}@{t.lstrip('>')}" for i, t in zip(image_index.tolist(), texts)]
    stack_paths, stack_of_row, stacks, box = _stacks_of(files, image_index, names, path, "blob/idx")
    pixel, notes = cs_pixel_size(records, stacks[stack_paths[0]].voxel_size_xyz[0])
    blocks = star_tables(records, list(names), pixel, box[1], optics=optics, source=path)
    return ParticleSet(
        path,
        "cs",
        dict(blocks),
        ["# version 30001"],
        "particles",
        "rlnImageName",
        blocks["particles"],
        stack_paths,
        stack_of_row,
        image_index,
        stacks,
        box,
        pixel,
        0,
        notes,
        cs_records=own,
    )


def _scipion_set(path: Path, project_dir: Path | None) -> ParticleSet:
    items = read_set(path, project_dir)
    image_index = np.array(items.indices, dtype=np.int64)
    names = [f"{i + 1}@{f}" for i, f in zip(image_index.tolist(), items.files)]
    stack_paths, stack_of_row, stacks, box = _stacks_of(items.files, image_index, names, path, "_filename")
    pixel = items.sampling_angstrom or (usable_pixel_size(stacks[stack_paths[0]].voxel_size_xyz[0]) or 0.0)
    notes = [
        *items.notes,
        *([f"{items.disabled} disabled items (enabled = 0) are not masked"] if items.disabled else []),
    ]
    rows = Loop.from_columns({"image": names})
    return ParticleSet(
        path,
        "sqlite",
        {},
        [],
        "",
        "image",
        rows,
        stack_paths,
        stack_of_row,
        image_index,
        stacks,
        box,
        pixel,
        items.disabled,
        notes,
        set_ids=items.ids,
    )


def _stacks_of(files: list[Path], image_index: np.ndarray, names: list[str], source: Path, field: str):
    """The distinct stacks of per-row files, each row's stack, their headers and the common box (checked)."""
    import pandas as pd  # only where a set is read: a unit that reads a saved plan does without

    codes, uniques = pd.factorize(pd.Series([str(f) for f in files], dtype=object))
    stack_of_row = codes.astype(np.int64)
    stack_paths = [Path(u) for u in uniques]
    stacks = {p: inspect_image(p) for p in stack_paths}
    _check_ranges(stacks, stack_paths, stack_of_row, image_index, names, source, field)
    return stack_paths, stack_of_row, stacks, _common_box(stacks, source)


def _bare_stack(path: Path) -> ParticleSet:
    info = inspect_image(path)
    n, ny, nx = info.shape_zyx
    names = [f"{i:06d}@{path.name}" for i in range(1, n + 1)]
    rows = Loop.from_columns({"rlnImageName": names, "rlnOpticsGroup": ["1"] * n})
    optics = Loop.from_columns(
        {
            "rlnOpticsGroup": ["1"],
            "rlnOpticsGroupName": ["opticsGroup1"],
            "rlnImagePixelSize": [f"{info.voxel_size_xyz[0]:.6f}"],
            "rlnImageSize": [str(nx)],
            "rlnImageDimensionality": ["2"],
        }
    )
    return ParticleSet(
        path,
        "mrcs",
        {"optics": optics, "particles": rows},
        ["# version 30001"],
        "particles",
        "rlnImageName",
        rows,
        [path.resolve()],
        np.zeros(n, np.int64),
        np.arange(n, dtype=np.int64),
        {path.resolve(): info},
        (ny, nx),
        info.voxel_size_xyz[0],
        0,
        list(info.notes),
    )


def _image_block(blocks: Blocks, path: Path, image_column: str | None = None) -> tuple[str, str]:
    wanted = (image_column.lstrip("_"),) if image_column else IMAGE_COLUMNS
    found = [
        (name, column)
        for name, block in blocks.items()
        if isinstance(block, Loop)
        for column in wanted
        if column in block.columns
    ]
    if not found and image_column:
        columns = sorted({c for b in blocks.values() if isinstance(b, Loop) for c in b.columns if "image" in c.lower()})
        raise UserError(
            f"no block has the column _{wanted[0]} (image columns here: "
            f"{', '.join('_' + c for c in columns) or 'none'}); fix inputs.image_column",
            source=str(path),
            field="inputs.image_column",
        )
    if not found:
        raise UserError(
            "no block has an image column (_rlnImageName in RELION STAR, _image in Xmipp "
            ".xmd); is this a particle file?",
            source=str(path),
        )
    if len(found) > 1:
        preferred = [f for f in found if f[0] == "particles"]
        if not preferred:
            names = ", ".join(f"data_{name}" for name, _ in found)
            raise UserError(f"several blocks have image columns ({names}); keep one particle block", source=str(path))
        return preferred[0]
    return found[0]


def split_reference(text: str) -> tuple[int, str]:
    """``"000012@Extract/a.mrcs"`` → ``(11, "Extract/a.mrcs")``; a bare path is image 0."""
    if "@" not in text:
        return 0, text
    number, _, stack = text.partition("@")
    if not number.isdigit() or int(number) < 1:
        raise ValueError("the image number before '@' must be a whole number from 1")
    return int(number) - 1, stack


def _resolve_references(texts: np.ndarray, path: Path, name: str, bases: list[Path]):
    """Each row's stack (an index into the stack paths found) and image (0-based), for ``N@stack`` texts.

    ``texts`` is a bytes array (``S`` dtype). Vectorised with `numpy.strings` and one
    factorisation, so a million rows take about half a second; each distinct stack is
    looked up once.
    """
    number, at, stack = np.strings.partition(texts, b"@")
    bare = at != b"@"
    number = np.where(bare, b"1", number)  # a bare path is image 1
    stack = np.where(bare, texts, stack)
    digits = np.strings.lstrip(number, b"0")
    good = np.strings.isdigit(number) & (digits != b"") & (np.strings.str_len(digits) <= 18)  # fits int64
    if not good.all():
        row = int(np.flatnonzero(~good)[0])
        raise UserError(
            f"row {row + 1}: '{texts[row].decode(errors='replace')}': the image number before '@' must be a "
            "whole number from 1 (and below 10^18)",
            source=str(path),
            field=name,
        )
    image_index = number.astype(np.int64) - 1
    import pandas as pd  # only where a set is read: a unit that reads a saved plan does without

    codes, uniques = pd.factorize(stack)
    stack_paths: list[Path] = []
    for code, raw in enumerate(uniques):
        text = raw.decode(errors="replace")
        hit = next((base / text for base in bases if _is_file(base / text)), None)
        if hit is None:
            row = int(np.argmax(codes == code))
            looked = ", ".join(dict.fromkeys(str(b) for b in bases))
            raise UserError(
                f"row {row + 1}: stack '{text}' not found (looked in {looked}); fix the "
                "path or run from the project folder",
                source=str(path),
                field=name,
            )
        stack_paths.append(Path(os.path.abspath(hit)))
    return stack_paths, codes.astype(np.int64), image_index


def _check_ranges(stacks, stack_paths, stack_of_row, image_index, column, path, name) -> None:
    sizes = np.array([stacks[p].shape_zyx[0] for p in stack_paths])
    beyond = np.nonzero(image_index >= sizes[stack_of_row])[0]
    if beyond.size:
        row = int(beyond[0])
        stack = stack_paths[stack_of_row[row]]
        raise UserError(
            f"row {row + 1}: '{_text(column[row])}' is beyond the end of {stack.name}, which "
            f"holds {sizes[stack_of_row[row]]} images"
            + (f" ({beyond.size} rows in all)" if beyond.size > 1 else "")
            + "; fix the index or the stack",
            source=str(path),
            field=name,
        )


def _is_file(path: Path) -> bool:
    """Whether ``path`` is a file; False for a name the system refuses (too long, say)."""
    try:
        return path.is_file()
    except OSError:
        return False


def _text(value: str | bytes) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _common_box(stacks: dict[Path, ImageInfo], path: Path) -> tuple[int, int]:
    boxes = {p: info.shape_zyx[1:] for p, info in stacks.items()}
    distinct = sorted(set(boxes.values()))
    if len(distinct) > 1:
        examples = ", ".join(
            f"{next(p.name for p, b in boxes.items() if b == box)} is {box[1]} x {box[0]}" for box in distinct[:3]
        )
        raise UserError(
            f"stacks have different box sizes ({examples}); mask each box size in its own job", source=str(path)
        )
    return distinct[0]


def _pixel_size(blocks: Blocks, block_name: str, stacks, stack_paths) -> tuple[float, list[str]]:
    """Pixel size from the metadata when it says (headers are often wrong), else the first header.

    A metadata value that is NaN, ≤ 0 or absurd (`usable_pixel_size`) is set aside for
    the header's, with a note; it is never written into outputs.
    """
    header = usable_pixel_size(stacks[stack_paths[0]].voxel_size_xyz[0]) or 0.0
    raw = _metadata_pixel_size(blocks, block_name)
    if raw is None:
        return header, []
    from_metadata = usable_pixel_size(raw)
    if from_metadata is None:
        return header, [unusable_note("the metadata's pixel size", f"{raw:g}", header)]
    notes = []
    if header > 0 and abs(header - from_metadata) > 0.01 * from_metadata:
        notes.append(
            f"stack headers give {header:g} Å/px but the metadata {from_metadata:g} Å/px; "
            "the masked stacks use the metadata's"
        )
    return from_metadata, notes


def _metadata_pixel_size(blocks: Blocks, block_name: str) -> float | None:
    def unique(table: Loop, column: str):
        values = np.unique(table.numbers(column))
        return float(values[0]) if len(values) == 1 else None

    optics = blocks.get("optics")
    if isinstance(optics, Loop) and "rlnImagePixelSize" in optics.columns:
        return unique(optics, "rlnImagePixelSize")
    table = blocks[block_name]
    if isinstance(table, Loop) and {"rlnDetectorPixelSize", "rlnMagnification"} <= set(table.columns):
        detector, magnification = unique(table, "rlnDetectorPixelSize"), unique(table, "rlnMagnification")
        if detector and magnification:
            return detector / magnification * 1e4
    return None
