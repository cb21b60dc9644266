"""Map sets: a list of paths, a glob, one path, or a STAR/XMD listing of maps."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from maskrun.errors import UserError
from maskrun.io.image_info import ImageInfo
from maskrun.io.images import inspect_image
from maskrun.io.star import Blocks, Loop, read_metadata
from maskrun.jobs.particle_set import split_reference
from maskrun.jobs.scipion_set import read_set

MAP_COLUMNS = ("rlnReferenceImage", "rlnImageName", "rlnMapName", "image")
GLOB_CHARS = set("*?[")


@dataclass
class VolumeSet:
    """The maps to mask, in order, and the listing they came from (if any)."""

    maps: list[ImageInfo]
    is_set: bool
    listing: Path | None = None
    blocks: Blocks | None = None
    comments: list[str] = field(default_factory=list)
    block_name: str | None = None
    column: str | None = None
    set_ids: list[int] | None = None  # a Scipion set's item ids, in map order
    has_metadata: bool = True  # False for a listed set read back from a saved plan: the maps only


def load_volume_set(
    entries: str | list[str], folder: Path, field_name: str = "inputs.volumes", project_dir: Path | None = None
) -> VolumeSet:
    """Resolve the ``volumes`` input against ``folder`` (the job file's folder).

    Raises
    ------
    UserError
        If a path or glob matches no file, a listing has no map column, two maps share a
        file stem (their outputs would collide), or a map is not a readable MRC file.
    """
    if isinstance(entries, str) and Path(entries).suffix.lower() in (".star", ".xmd"):
        return _from_listing(Path(os.path.abspath(folder / entries)))
    if isinstance(entries, str) and Path(entries).suffix.lower() == ".sqlite":
        listing = Path(os.path.abspath(folder / entries))
        items = read_set(listing, project_dir)
        infos = [_inspect(path, field_name) for path in items.files]
        _check_unique_stems(infos, field_name)
        return VolumeSet(infos, True, listing, set_ids=items.ids)
    paths = []
    for entry in [entries] if isinstance(entries, str) else entries:
        pattern = str(folder / os.path.expanduser(entry))
        if GLOB_CHARS & set(entry):
            matches = sorted(glob.glob(pattern))
            if not matches:
                raise UserError(f"'{entry}' matches no file in {folder}; check the pattern", field=field_name)
            paths += matches
        else:
            paths.append(pattern)
    infos = [_inspect(Path(os.path.abspath(p)), field_name) for p in paths]
    _check_unique_stems(infos, field_name)
    is_set = not isinstance(entries, str) or bool(GLOB_CHARS & set(entries))
    return VolumeSet(infos, is_set)


def _inspect(path: Path, field_name: str) -> ImageInfo:
    if not path.is_file():
        raise UserError(f"map {path} not found; check the path (paths are relative to the job file)", field=field_name)
    return inspect_image(path)


def _check_unique_stems(infos: list[ImageInfo], field_name: str) -> None:
    seen: dict[str, Path] = {}
    for info in infos:
        stem = info.stem
        if stem in seen and seen[stem] != info.path:
            raise UserError(
                f"two maps are named {stem} ({seen[stem]} and {info.path}); outputs are named by stem, so rename one",
                field=field_name,
            )
        seen[stem] = info.path


def _from_listing(listing: Path) -> VolumeSet:
    blocks, comments = read_metadata(listing)
    found = [
        (name, col)
        for name, block in blocks.items()
        if isinstance(block, Loop)
        for col in MAP_COLUMNS
        if col in block.columns
    ]
    if not found:
        raise UserError(
            f"no map column ({', '.join('_' + c for c in MAP_COLUMNS)}); list the maps in one of those",
            source=str(listing),
        )
    block_name, column = found[0]
    infos = []
    table = blocks[block_name]
    assert isinstance(table, Loop)
    for row, text in enumerate(table.column(column)):
        _, relative = split_reference(str(text))
        path = Path(os.path.abspath(listing.parent / relative))
        if not path.is_file():
            raise UserError(
                f"row {row + 1}: map '{relative}' not found next to the listing; fix the path",
                source=str(listing),
                field=column,
            )
        infos.append(inspect_image(path))
    _check_unique_stems(infos, column)
    return VolumeSet(infos, True, listing, blocks, comments, block_name, column)
